"""Builders for MMS test data: BER (X.690), TPKT/COTP DT, ISO 8327 session SPDUs, ISO 8823
presentation PPDUs, ISO 8650 ACSE APDUs and MMS PDUs (ISO 9506-2), whole captures, and a decoder
limited to the mms protocol.

Written from the standards' layouts, independently of the decoder (no decoder constants), so
tests built with it can catch decoder mistakes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from conversation import named_split, write_conversation
from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.events import Event
from otshield.protocols.mms import SPEC
from support import decode_only

CLIENT_IP, IED_IP = "10.61.0.10", "10.61.0.20"
CLIENT_PORT, IED_PORT = 50200, 102
MMS_CTX, ACSE_CTX = 3, 1


# -- BER -----------------------------------------------------------------------------------------
def tlv(tag: int | bytes, content: bytes) -> bytes:
    """Identifier octet(s), definite length (short or long form), contents."""
    ident = bytes([tag]) if isinstance(tag, int) else tag
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return ident + length + content


def ctx(number: int, content: bytes, constructed: bool = True) -> bytes:
    """Context-specific tag [number]; numbers from 31 use the high tag number form."""
    base = 0xA0 if constructed else 0x80
    if number < 31:
        return tlv(base | number, content)
    return tlv(bytes([base | 0x1F, number]), content)  # numbers below 128: one octet


def app(number: int, content: bytes, constructed: bool = True) -> bytes:
    return tlv((0x60 if constructed else 0x40) | number, content)


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(items))


def int_content(value: int) -> bytes:
    """Two's complement, minimal octets."""
    n = 1
    while not -(1 << (8 * n - 1)) <= value < (1 << (8 * n - 1)):
        n += 1
    return value.to_bytes(n, "big", signed=True)


def integer(value: int) -> bytes:
    return tlv(0x02, int_content(value))


def vstr(text: str) -> bytes:
    return tlv(0x1A, text.encode())


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = [40 * arcs[0] + arcs[1], *arcs[2:]]
    out = b""
    for arc in body:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(chunk)
    return tlv(0x06, out)


def bits_content(bits: str) -> bytes:
    """BIT STRING contents from '0'/'1' text: unused-bits octet, then the bits padded."""
    unused = (8 - len(bits) % 8) % 8
    padded = bits + "0" * unused
    return bytes([unused]) + bytes(int(padded[i:i + 8], 2) for i in range(0, len(padded), 8))


# -- MMS Data (ISO 9506-2 14.4.1) -----------------------------------------------------------------
def d_bool(v: bool) -> bytes:
    return ctx(3, b"\xff" if v else b"\x00", False)


def d_bits(bits: str) -> bytes:
    return ctx(4, bits_content(bits), False)


def d_int(v: int) -> bytes:
    return ctx(5, int_content(v), False)


def d_uint(v: int) -> bytes:
    return ctx(6, int_content(v), False)


def d_float(v: float) -> bytes:
    return ctx(7, b"\x08" + struct.pack(">f", v), False)  # exponent width 8: single precision


def d_vstr(text: str) -> bytes:
    return ctx(10, text.encode(), False)


def d_octets(data: bytes) -> bytes:
    return ctx(9, data, False)


def d_utc(seconds: int, fraction: int, quality: int) -> bytes:
    return ctx(17, seconds.to_bytes(4, "big") + fraction.to_bytes(3, "big") + bytes([quality]),
               False)


def d_btime(ms: int, days: int) -> bytes:
    return ctx(12, struct.pack(">IH", ms, days), False)


def d_struct(*items: bytes) -> bytes:
    return ctx(2, b"".join(items))


def d_array(*items: bytes) -> bytes:
    return ctx(1, b"".join(items))


# -- MMS names and PDUs ------------------------------------------------------------------------
def dom_name(domain: str, item: str) -> bytes:
    """ObjectName domain-specific [1] { domainId, itemId }."""
    return ctx(1, vstr(domain) + vstr(item))


def vmd_name(name: str) -> bytes:
    return ctx(0, name.encode(), False)


def list_of_variable(*names: bytes) -> bytes:
    """VariableAccessSpecification listOfVariable [0]: SEQUENCE { name [0] ObjectName }."""
    return ctx(0, b"".join(seq(ctx(0, n)) for n in names))


def variable_list_name(name: bytes) -> bytes:
    return ctx(1, name)


def confirmed_request(invoke: int, service: int, body: bytes, constructed: bool = True) -> bytes:
    return ctx(0, integer(invoke) + ctx(service, body, constructed))


def confirmed_response(invoke: int, service: int, body: bytes, constructed: bool = True) -> bytes:
    return ctx(1, integer(invoke) + ctx(service, body, constructed))


def service_error(error_class: int, code: int, description: str | None = None) -> bytes:
    out = ctx(0, ctx(error_class, int_content(code), False))
    if description is not None:
        out += ctx(2, description.encode(), False)
    return out


def confirmed_error(invoke: int, error_class: int, code: int) -> bytes:
    return ctx(2, ctx(0, int_content(invoke), False) + ctx(2, service_error(error_class, code)))


def information_report(spec: bytes, *results: bytes) -> bytes:
    return ctx(3, ctx(0, spec + ctx(0, b"".join(results))))


def reject(invoke: int | None, reason_tag: int, code: int) -> bytes:
    body = b"" if invoke is None else ctx(0, int_content(invoke), False)
    return ctx(4, body + ctx(reason_tag, int_content(code), False))


def initiate_request(services: str, cbb: str = "11100001", local: int = 65000) -> bytes:
    return ctx(8, ctx(0, int_content(local), False) + ctx(1, b"\x05", False)
               + ctx(2, b"\x05", False) + ctx(3, b"\x0a", False)
               + ctx(4, ctx(0, b"\x01", False) + ctx(1, bits_content(cbb), False)
                     + ctx(2, bits_content(services), False)))


def initiate_response(services: str, cbb: str = "11100001", local: int = 32000) -> bytes:
    return ctx(9, ctx(0, int_content(local), False) + ctx(1, b"\x05", False)
               + ctx(2, b"\x04", False) + ctx(3, b"\x06", False)
               + ctx(4, ctx(0, b"\x01", False) + ctx(1, bits_content(cbb), False)
                     + ctx(2, bits_content(services), False)))


def file_name(*parts: str) -> bytes:
    return b"".join(tlv(0x19, p.encode()) for p in parts)  # GraphicString


# -- ACSE (ISO 8650-1) ---------------------------------------------------------------------------
def external(pdu: bytes, context: int = MMS_CTX) -> bytes:
    """EXTERNAL: indirect-reference (presentation context), single-ASN1-type [0]."""
    return tlv(0x28, integer(context) + ctx(0, pdu))


def aarq(pdu: bytes, mechanism: str | None = None, password: bytes | None = None) -> bytes:
    body = (ctx(1, oid("1.0.9506.2.3")) + ctx(2, oid("1.1.999.1")) + ctx(3, integer(12))
            + ctx(6, oid("1.1.999")) + ctx(7, integer(33)))
    if mechanism is not None:
        body += ctx(10, b"\x07\x80", False)  # sender-acse-requirements: authentication
        body += ctx(11, oid(mechanism)[2:], False)
    if password is not None:
        body += ctx(12, ctx(0, password, False))
    return app(0, body + ctx(30, external(pdu)))


def aare(pdu: bytes, result: int = 0, diagnostic: int = 0) -> bytes:
    body = (ctx(1, oid("1.0.9506.2.3")) + ctx(2, integer(result))
            + ctx(3, ctx(1, integer(diagnostic))) + ctx(4, oid("1.1.999.2")) + ctx(5, integer(7)))
    return app(1, body + ctx(30, external(pdu)))


def rlrq(reason: int = 0) -> bytes:
    return app(2, ctx(0, int_content(reason), False))


def rlre(reason: int = 0) -> bytes:
    return app(3, ctx(0, int_content(reason), False))


def abrt(source: int) -> bytes:
    return app(4, ctx(0, int_content(source), False))


# -- presentation (ISO 8823-1) ----------------------------------------------------------------
def fully_encoded(context: int, pdu: bytes) -> bytes:
    """User-data fully-encoded-data [APPLICATION 1]: one PDV-list."""
    return app(1, seq(integer(context) + ctx(0, pdu)))


def cp(acse_apdu: bytes) -> bytes:
    """CP-type SET: mode normal, normal-mode-parameters with selectors, the two contexts."""
    contexts = ctx(4, seq(integer(ACSE_CTX), oid("2.2.1.0.1"), seq(oid("2.1.1")))
                   + seq(integer(MMS_CTX), oid("1.0.9506.2.1"), seq(oid("2.1.1"))))
    normal = ctx(2, ctx(0, b"\x06\x80", False) + ctx(1, b"\x00\x00\x00\x01", False)
                 + ctx(2, b"\x00\x00\x00\x02", False) + contexts
                 + fully_encoded(ACSE_CTX, acse_apdu))
    return set_of(ctx(0, ctx(0, b"\x01", False)), normal)


def cpa(acse_apdu: bytes) -> bytes:
    results = ctx(5, seq(ctx(0, b"\x00", False), ctx(1, oid("2.1.1")[2:], False))
                  + seq(ctx(0, b"\x00", False), ctx(1, oid("2.1.1")[2:], False)))
    normal = ctx(2, ctx(0, b"\x06\x80", False) + ctx(3, b"\x00\x00\x00\x01", False) + results
                 + fully_encoded(ACSE_CTX, acse_apdu))
    return set_of(ctx(0, ctx(0, b"\x01", False)), normal)


# -- session (ISO 8327-1) ---------------------------------------------------------------------
def spdu(si: int, params: bytes) -> bytes:
    n = len(params)
    return bytes([si]) + (bytes([n]) if n < 255 else b"\xff" + n.to_bytes(2, "big")) + params


def param(pi: int, value: bytes) -> bytes:
    n = len(value)
    return bytes([pi]) + (bytes([n]) if n < 255 else b"\xff" + n.to_bytes(2, "big")) + value


def cn(user: bytes) -> bytes:
    """CONNECT: connect/accept item (protocol options, version 2), session requirements
    (duplex), calling/called SSAP, user data PI 193."""
    return spdu(13, param(5, param(19, b"\x00") + param(22, b"\x02")) + param(20, b"\x00\x02")
                + param(51, b"\x00\x01") + param(52, b"\x00\x02") + param(193, user))


def ac(user: bytes) -> bytes:
    return spdu(14, param(5, param(19, b"\x00") + param(22, b"\x02")) + param(20, b"\x00\x02")
                + param(193, user))


def rf(reason: int, user: bytes = b"") -> bytes:
    return spdu(12, param(50, bytes([reason]) + user))


def gt_dt(user: bytes) -> bytes:
    """GIVE TOKENS (category 0, no parameters) + DATA TRANSFER; the user information follows."""
    return spdu(1, b"") + spdu(1, b"") + user


def fn(user: bytes) -> bytes:
    return spdu(9, param(193, user))


def dn(user: bytes) -> bytes:
    return spdu(10, param(193, user))


def ab(user: bytes) -> bytes:
    return spdu(25, param(17, b"\x09") + param(193, user))


def data(pdu: bytes) -> bytes:
    """An MMS PDU as it travels in an established association: GT+DT, fully-encoded PDV."""
    return gt_dt(fully_encoded(MMS_CTX, pdu))


# -- TPKT / COTP ---------------------------------------------------------------------------------
def tpkt(tpdu: bytes) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(tpdu)) + tpdu


def dt(payload: bytes, eot: bool = True) -> bytes:
    """Class 0 DT TPDU: LI 2, code 0xF0, EOT bit."""
    return tpkt(bytes([2, 0xF0, 0x80 if eot else 0x00]) + payload)


def cr(src_ref: int = 1) -> bytes:
    body = b"\xe0" + struct.pack(">HH", 0, src_ref) + b"\x00" + bytes(
        [0xC0, 1, 0x0A, 0xC1, 2, 0, 1, 0xC2, 2, 0, 1])
    return tpkt(bytes([len(body)]) + body)


def cc(dst_ref: int = 1, src_ref: int = 2) -> bytes:
    body = b"\xd0" + struct.pack(">HH", dst_ref, src_ref) + b"\x00" + bytes(
        [0xC0, 1, 0x0A, 0xC1, 2, 0, 1, 0xC2, 2, 0, 1])
    return tpkt(bytes([len(body)]) + body)


# -- captures and decoding -------------------------------------------------------------------------
Exchange = tuple[bool, bytes]  # (from client, TCP payload)


def write_capture(path: Path, exchanges: Sequence[Exchange], split: str | None = None,
                  seed: int = 7, handshake: bool = True, close: bool = True) -> Path:
    """One TCP connection carrying ``exchanges``. ``split``: None (one segment each), ``"byte"``
    (1-byte segments) or ``"random"`` (seeded random sizes 1..40)."""
    write_conversation(path, exchanges, named_split(split, seed, 40),
                       (CLIENT_IP, CLIENT_PORT),
                       (IED_IP, IED_PORT), handshake=handshake, close=close)
    return path


def decode_mms(path: Path, settings: Settings | None = None) -> list[Event]:
    """Every event for a capture, with only the mms decoder registered."""
    return decode_only(path, SPEC, settings=settings)


_DROP = {"@timestamp", "frame", "flow_id", "network.community_id", "source.ip",
         "destination.ip", "network.transport", "source.port", "destination.port",
         "request_frame"}


def plain(events: Sequence[Event], datasets: Sequence[str] = ("mms", "mms_report", "cotp",
                                                              "anomaly")) -> list[dict[str, Any]]:
    """Events of the given datasets as dicts without position/addressing fields, plus ``dir``:
    ``c`` when the event's source is the client, ``s`` when it is the IED."""
    out = []
    for e in events:
        if e.__struct_config__.tag not in datasets:
            continue
        d = msgspec.json.decode(msgspec.json.encode(e))  # as written to the JSON-lines output
        direction = "c" if d.get("source.port") == CLIENT_PORT else "s"
        d = {k: v for k, v in d.items() if k not in _DROP}
        d["dir"] = direction
        out.append(d)
    return out


class FakeFlow(RecordingFlow):
    """Session-test flow collecting what a session emits."""

    protocol = "mms"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__((CLIENT_IP, CLIENT_PORT), (IED_IP, IED_PORT), "tcp", settings,
                         frame=1, flow_id=1)
