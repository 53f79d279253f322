"""Builders for S7comm / S7comm-plus test data: TPKT (RFC 1006), COTP TPDUs (ISO 8073), S7comm
PDUs and S7comm-plus frames, whole captures, and a decoder limited to the s7comm protocol.

Written from the protocol layouts independently of the decoder (no decoder constants are used),
so tests built with it can catch decoder mistakes.
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
from otshield.protocols.s7comm import SPEC
from support import decode_only

CLIENT_IP, PLC_IP = "10.30.0.10", "10.30.0.20"
CLIENT_PORT, PLC_PORT = 50100, 102


# -- TPKT / COTP ---------------------------------------------------------------------------------
def tpkt(tpdu: bytes) -> bytes:
    """RFC 1006: version 3, reserved 0, length including this 4-byte header."""
    return struct.pack(">BBH", 3, 0, 4 + len(tpdu)) + tpdu


def dt(payload: bytes, eot: bool = True, nr: int = 0) -> bytes:
    """A class 0 DT TPDU in TPKT: LI 2, code 0xF0, EOT bit + TPDU number, then user data."""
    return tpkt(bytes([2, 0xF0, (0x80 if eot else 0) | nr]) + payload)


def _params(src_tsap: bytes | None, dst_tsap: bytes | None, size_code: int | None) -> bytes:
    out = b""
    if size_code is not None:
        out += bytes([0xC0, 1, size_code])
    if src_tsap is not None:
        out += bytes([0xC1, len(src_tsap)]) + src_tsap
    if dst_tsap is not None:
        out += bytes([0xC2, len(dst_tsap)]) + dst_tsap
    return out


def cr(src_ref: int, src_tsap: bytes | None, dst_tsap: bytes | None,
       size_code: int | None = 0x0A) -> bytes:
    """Connection request: code 0xE0, dst-ref 0, src-ref, class 0, parameters."""
    body = bytes([0xE0]) + struct.pack(">HH", 0, src_ref) + b"\x00" + _params(
        src_tsap, dst_tsap, size_code)
    return tpkt(bytes([len(body)]) + body)


def cc(dst_ref: int, src_ref: int, src_tsap: bytes | None, dst_tsap: bytes | None,
       size_code: int | None = 0x0A) -> bytes:
    """Connection confirm: code 0xD0, dst-ref (the caller's), src-ref (ours), class 0."""
    body = bytes([0xD0]) + struct.pack(">HH", dst_ref, src_ref) + b"\x00" + _params(
        src_tsap, dst_tsap, size_code)
    return tpkt(bytes([len(body)]) + body)


def dr(dst_ref: int, src_ref: int, reason: int) -> bytes:
    """Disconnect request: code 0x80, dst-ref, src-ref, reason."""
    body = bytes([0x80]) + struct.pack(">HH", dst_ref, src_ref) + bytes([reason])
    return tpkt(bytes([len(body)]) + body)


def er(dst_ref: int, cause: int) -> bytes:
    """TPDU error: code 0x70, dst-ref, reject cause."""
    body = bytes([0x70]) + struct.pack(">H", dst_ref) + bytes([cause])
    return tpkt(bytes([len(body)]) + body)


# -- S7comm ----------------------------------------------------------------------------------------
def s7(rosctr: int, pdu_ref: int, param: bytes = b"", data: bytes = b"",
       error: tuple[int, int] | None = None) -> bytes:
    """S7comm header (0x32, ROSCTR, redundancy id 0, PDU ref, parameter and data lengths; error
    class and code for ack/ack-data) followed by parameter and data parts."""
    head = struct.pack(">BBHHHH", 0x32, rosctr, 0, pdu_ref, len(param), len(data))
    if rosctr in (2, 3):
        head += bytes(error or (0, 0))
    return head + param + data


def job(pdu_ref: int, param: bytes, data: bytes = b"") -> bytes:
    return s7(1, pdu_ref, param, data)


def ack_data(pdu_ref: int, param: bytes, data: bytes = b"",
             error: tuple[int, int] | None = None) -> bytes:
    return s7(3, pdu_ref, param, data, error)


def setup_comm(amq_calling: int, amq_called: int, pdu_size: int) -> bytes:
    """Setup communication parameter: 0xF0, reserved, max AmQ calling/called, PDU size."""
    return struct.pack(">BBHHH", 0xF0, 0, amq_calling, amq_called, pdu_size)


def any_item(area: int, db: int, byte: int, bit: int, tsize: int, count: int) -> bytes:
    """S7ANY variable specification: 0x12, length 10, syntax 0x10, transport size, count,
    DB, area, 3-byte address byte << 3 | bit."""
    addr = (byte << 3) | bit
    return struct.pack(">BBBBHHB", 0x12, 0x0A, 0x10, tsize, count, db, area) + addr.to_bytes(
        3, "big")


def read_var(items: Sequence[bytes]) -> bytes:
    return bytes([0x04, len(items)]) + b"".join(items)


def write_var(items: Sequence[bytes]) -> bytes:
    return bytes([0x05, len(items)]) + b"".join(items)


def data_items(entries: Sequence[tuple[int, int, bytes]], bits: bool = True) -> bytes:
    """Data part items: return code, transport size, length (bits for tsize 3/4/5), value,
    and a fill byte after odd-length values except the last."""
    out = b""
    for i, (ret, tsize, value) in enumerate(entries):
        length = len(value) * 8 if bits and tsize in (3, 4, 5) else len(value)
        if tsize == 3:
            length = 1
        out += struct.pack(">BBH", ret, tsize, length) + value
        if len(value) % 2 and i < len(entries) - 1:
            out += b"\x00"
    return out


def block_file(block_type: str, number: int, fs: str = "P", ident: str = "_") -> bytes:
    """Block file name ``_`` + type (2 chars) + number (5 digits) + file system letter."""
    return (ident + block_type + f"{number:05d}" + fs).encode("ascii")


def pi_service(service: str, block: bytes) -> bytes:
    """PI service parameter: 0x28, 7 unknown bytes, parameter block length + block, name."""
    name = service.encode("ascii")
    return (bytes([0x28]) + bytes(6) + b"\xfd" + struct.pack(">H", len(block)) + block
            + bytes([len(name)]) + name)


def plc_stop() -> bytes:
    """PLC stop parameter: 0x29, 5 unknown bytes, length-prefixed ``P_PROGRAM``."""
    return bytes([0x29]) + bytes(5) + bytes([9]) + b"P_PROGRAM"


def userdata_param(kind: int, group: int, sub: int, seq: int, ext: bool = False,
                   dur: int = 0, last: bool = True, err: int = 0) -> bytes:
    """Userdata parameter: 00 01 12, length 4 (request, syntax 0x11) or 8 (response, syntax
    0x12), type << 6 | group, subfunction, sequence, [data unit ref, last flag, error code]."""
    head = bytes([0x00, 0x01, 0x12, 8 if ext else 4, 0x12 if ext else 0x11,
                  (kind << 6) | group, sub, seq])
    if ext:
        head += bytes([dur, 0 if last else 1]) + struct.pack(">H", err)
    return head


def ud_data(payload: bytes, ret: int = 0xFF, tsize: int = 0x09) -> bytes:
    """Userdata data part: return code, transport size, length, payload."""
    return struct.pack(">BBH", ret, tsize, len(payload)) + payload


def userdata(pdu_ref: int, param: bytes, data: bytes) -> bytes:
    return s7(7, pdu_ref, param, data)


def szl_answer(szl_id: int, index: int, rec_len: int, records: Sequence[bytes]) -> bytes:
    return struct.pack(">HHHH", szl_id, index, rec_len, len(records)) + b"".join(records)


def szl_0011_record(index: int, mlfb: str, bgtyp: int, ausbg: int, ausbe: int) -> bytes:
    return struct.pack(">H20sHHH", index, mlfb.encode("ascii").ljust(20, b" "), bgtyp, ausbg,
                       ausbe)


def szl_001c_record(index: int, text: str) -> bytes:
    return struct.pack(">H32s", index, text.encode("ascii"))


def bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def s7_clock(year: int, month: int, day: int, hour: int, minute: int, second: int,
             millis: int, weekday: int) -> bytes:
    """10-byte clock: reserved, century, year, month, day, hour, minute, second (BCD), then
    milliseconds (3 BCD digits) and weekday in the last 12 + 4 bits."""
    return bytes([0, bcd(year // 100), bcd(year % 100), bcd(month), bcd(day), bcd(hour),
                  bcd(minute), bcd(second), bcd(millis // 10),
                  ((millis % 10) << 4) | weekday])


# -- S7comm-plus -----------------------------------------------------------------------------------
def vlq(value: int) -> bytes:
    """7-bit groups, most significant first, top bit = more follows."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def plus_frame(version: int, data: bytes, trailer: bool = True,
               digest: bytes | None = None) -> bytes:
    """0x72, version, data length, [V3: digest length + digest], data, [trailer 72 vv 00 00]."""
    if digest is not None:
        data = bytes([len(digest)]) + digest + data
    out = struct.pack(">BBH", 0x72, version, len(data)) + data
    if trailer:
        out += bytes([0x72, version, 0, 0])
    return out


def plus_request(function: int, seq: int, session: int, flags: int, rest: bytes = b"") -> bytes:
    """Opcode 0x31, reserved, function, reserved, sequence, session id, transport flags."""
    return struct.pack(">BHHHHIB", 0x31, 0, function, 0, seq, session, flags) + rest


def plus_response(function: int, seq: int, flags: int, retval: bytes, rest: bytes = b"") -> bytes:
    """Opcode 0x32, reserved, function, reserved, sequence, transport flags, return value."""
    return struct.pack(">BHHHHB", 0x32, 0, function, 0, seq, flags) + retval + rest


def plus_string_attr(attr: int, text: str) -> bytes:
    """Attribute element 0xA3, attribute id (VLQ), flags 0, WString 0x15, length, UTF-8."""
    raw = text.encode("utf-8")
    return b"\xa3" + vlq(attr) + b"\x00\x15" + vlq(len(raw)) + raw


# -- captures and decoding -------------------------------------------------------------------------
Exchange = tuple[bool, bytes]  # (from client, TCP payload)


def write_capture(path: Path, exchanges: Sequence[Exchange], split: str | None = None,
                  seed: int = 7, handshake: bool = True, close: bool = True) -> Path:
    """One TCP connection carrying ``exchanges``. ``split``: None (one segment each), ``"byte"``
    (1-byte segments) or ``"random"`` (seeded random sizes 1..9)."""
    write_conversation(path, exchanges, named_split(split, seed, 9),
                       (CLIENT_IP, CLIENT_PORT),
                       (PLC_IP, PLC_PORT), handshake=handshake, close=close)
    return path


def decode_s7(path: Path, settings: Settings | None = None) -> list[Event]:
    """Every event for a capture, with only the s7comm decoder registered."""
    return decode_only(path, SPEC, settings=settings)


_DROP = {"@timestamp", "frame", "flow_id", "network.community_id", "source.ip",
         "destination.ip", "network.transport", "source.port", "destination.port"}


def plain(events: Sequence[Event], datasets: Sequence[str] = ("s7comm", "s7commplus", "cotp",
                                                              "anomaly")) -> list[dict[str, Any]]:
    """Events of the given datasets as dicts without position/addressing fields, plus a
    ``dir`` key: ``c`` when the event's source is the client, ``s`` when it is the PLC."""
    out = []
    for e in events:
        if e.__struct_config__.tag not in datasets:
            continue
        d = msgspec.to_builtins(e)
        direction = "c" if d.get("source.port") == CLIENT_PORT else "s"
        d = {k: v for k, v in d.items() if k not in _DROP}
        d["dir"] = direction
        out.append(d)
    return out


class FakeFlow(RecordingFlow):
    """Session-test flow collecting what a session emits."""

    protocol = "s7comm"

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__((CLIENT_IP, CLIENT_PORT), (PLC_IP, PLC_PORT), "tcp", settings,
                         frame=1, flow_id=1)

    def step(self) -> None:
        """Next packet: one frame later, 1 ms later."""
        self.frame += 1
        self.ts += 0.001

    def tags(self) -> list[str]:
        out = []
        for e in self.events:
            tag = e.__struct_config__.tag
            out.append(f"anomaly:{e.code}" if tag == "anomaly" else str(tag))  # type: ignore[attr-defined]
        return out


