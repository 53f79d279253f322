"""Pure decoders for the RDP connection sequence: TPKT (RFC 1006 section 6), X.224 Connection
Request/Confirm (ITU-T X.224 13.3/13.4) with the RDP negotiation structures, and the MCS
Connect Initial/Response user data (T.125 BER + T.124 GCC PER, read as far as RDP needs).

[MS-RDPBCGR] 2.2.1.1 (Client X.224 Connection Request: routing token or cookie, RDP_NEG_REQ,
RDP_NEG_CORRELATION_INFO), 2.2.1.2 (Server X.224 Connection Confirm: RDP_NEG_RSP or
RDP_NEG_FAILURE), 2.2.1.3 (MCS Connect Initial, client data blocks), 2.2.1.4 (MCS Connect
Response, server data blocks). The GCC conference create request/response is located by its
H.221 key ("Duca" / "McDn", [MS-RDPBCGR] 2.2.1.3 and 2.2.1.4), then the user data blocks are
walked; the rest of T.124 is not needed.

Raises only ``Malformed``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.rdp.constants import (
    CS_CORE,
    CS_NET,
    CS_SECURITY,
    SC_CORE,
    SC_SECURITY,
    X224_CC,
    X224_CR,
    X224_DT,
)

__all__ = [
    "ClientData",
    "ConnectionConfirm",
    "ConnectionRequest",
    "ServerData",
    "parse_confirm",
    "parse_connect_initial",
    "parse_connect_response",
    "parse_request",
    "tpkt_length",
]

_COOKIE = b"Cookie: "
_MSTSHASH = b"Cookie: mstshash="
_MAX_CHANNELS = 31  # [MS-RDPBCGR] 2.2.1.3.4: channelCount is at most 31
_MAX_BLOCKS = 16


@dataclass(slots=True)
class ConnectionRequest:
    cookie: str | None = None
    routing_token: str | None = None
    neg_present: bool = False
    requested_protocols: int | None = None
    neg_flags: int = 0
    correlation_id: str | None = None


@dataclass(slots=True)
class ConnectionConfirm:
    selected_protocol: int | None = None
    neg_flags: int = 0
    failure_code: int | None = None


@dataclass(slots=True)
class ClientData:
    version: int | None = None
    desktop_width: int | None = None
    desktop_height: int | None = None
    keyboard_layout: int | None = None
    client_build: int | None = None
    client_name: str | None = None
    encryption_methods: int | None = None
    channels: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ServerData:
    version: int | None = None
    requested_protocols: int | None = None
    encryption_method: int | None = None
    encryption_level: int | None = None


def tpkt_length(buf: bytes) -> int | None:
    """Total length of the TPKT at the head of ``buf`` (RFC 1006 section 6: version 3,
    reserved, 16-bit length including the 4-byte header); None if fewer than 4 bytes."""
    if len(buf) < 4:
        return None
    if buf[0] != 3:
        raise Malformed("rdp.invalid_tpkt", f"TPKT version {buf[0]}")
    length = (buf[2] << 8) | buf[3]
    if length < 7:
        raise Malformed("rdp.invalid_tpkt", f"TPKT length {length}")
    return length


def _x224(pdu: bytes, code: int) -> tuple[int, int]:
    """Check the X.224 header after the TPKT; ``(start, end)`` of the variable part."""
    if len(pdu) < 11:
        raise Malformed("rdp.invalid_x224", f"{len(pdu)}-byte connection TPDU")
    li = pdu[4]
    if pdu[5] & 0xF0 != code:
        raise Malformed("rdp.invalid_x224", f"TPDU code 0x{pdu[5]:02x}")
    end = 5 + li
    if li < 6 or end > len(pdu):
        raise Malformed("rdp.invalid_x224", f"length indicator {li} in {len(pdu)} bytes")
    return 11, end


def parse_request(pdu: bytes) -> ConnectionRequest:
    """A whole TPKT holding the client's X.224 Connection Request."""
    pos, end = _x224(pdu, X224_CR)
    req = ConnectionRequest()
    if pdu[pos:pos + len(_COOKIE)] == _COOKIE:
        nl = pdu.find(b"\r\n", pos, end)
        if nl < 0:
            raise Malformed("rdp.invalid_x224", "cookie without CR LF")
        token = pdu[pos:nl]
        if token.startswith(_MSTSHASH):
            req.cookie = token[len(_MSTSHASH):].decode("utf-8", "replace")
        else:
            req.routing_token = token[len(_COOKIE):].decode("latin-1")
        pos = nl + 2
    if end - pos >= 8 and pdu[pos] == 0x01:
        flags, length, protocols = struct.unpack_from("<BHI", pdu, pos + 1)
        if length != 8:
            raise Malformed("rdp.invalid_negotiation", f"RDP_NEG_REQ length {length}")
        req.neg_present = True
        req.neg_flags = flags
        req.requested_protocols = protocols
        pos += 8
        # RDP_NEG_CORRELATION_INFO ([MS-RDPBCGR] 2.2.1.1.2): type 6, length 36, a 16-byte id
        if end - pos >= 36 and pdu[pos] == 0x06:
            req.correlation_id = pdu[pos + 4:pos + 20].hex()
    elif end > pos and pdu[pos] in (0x01, 0x06):
        raise Malformed("rdp.invalid_negotiation", f"{end - pos} bytes of negotiation data")
    return req


def parse_confirm(pdu: bytes) -> ConnectionConfirm:
    """A whole TPKT holding the server's X.224 Connection Confirm."""
    pos, end = _x224(pdu, X224_CC)
    cc = ConnectionConfirm()
    if end - pos >= 8:
        kind, flags, length, value = struct.unpack_from("<BBHI", pdu, pos)
        if length != 8 or kind not in (0x02, 0x03):
            raise Malformed("rdp.invalid_negotiation", f"type {kind} length {length}")
        if kind == 0x02:
            cc.selected_protocol, cc.neg_flags = value, flags
        else:
            cc.failure_code = value
    elif end > pos:
        raise Malformed("rdp.invalid_negotiation", f"{end - pos} bytes of negotiation data")
    return cc


def _ber(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """One BER element (T.125 uses X.690 with the two-byte tags 0x7F65/0x7F66)."""
    if pos + 2 > end:
        raise Malformed("rdp.invalid_mcs", "BER element past the end")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        tag = (tag << 8) | data[pos]
        pos += 1
    if pos >= end:
        raise Malformed("rdp.invalid_mcs", "BER length past the end")
    n = data[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > end:
            raise Malformed("rdp.invalid_mcs", f"BER length of {k} bytes")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    return tag, pos, min(pos + n, end)


def _mcs_user_data(pdu: bytes, app_tag: int, skip: int) -> bytes:
    """The userData OCTET STRING of an MCS Connect-Initial (skip 6 elements) or
    Connect-Response (skip 3) after the TPKT + X.224 Data header."""
    if len(pdu) < 8 or pdu[5] != X224_DT:
        raise Malformed("rdp.invalid_mcs", "not an X.224 Data TPDU")
    tag, pos, end = _ber(pdu, 7, len(pdu))
    if tag != app_tag:
        raise Malformed("rdp.invalid_mcs", f"MCS tag 0x{tag:x}")
    for _ in range(skip):
        _t, _s, pos = _ber(pdu, pos, end)
    tag, start, stop = _ber(pdu, pos, end)
    if tag != 0x04:
        raise Malformed("rdp.invalid_mcs", f"userData tag 0x{tag:x}")
    return pdu[start:stop]


def _blocks(data: bytes, key: bytes) -> list[tuple[int, bytes]]:
    """The TS_UD_HEADER blocks after the GCC H.221 key and its PER length."""
    i = data.find(key)
    if i < 0:
        raise Malformed("rdp.invalid_mcs", f"no GCC {key.decode()} key")
    pos = i + 4
    if pos >= len(data):
        return []
    pos += 2 if data[pos] & 0x80 else 1  # PER length determinant (X.691 10.9)
    out: list[tuple[int, bytes]] = []
    while pos + 4 <= len(data) and len(out) < _MAX_BLOCKS:
        btype, blen = struct.unpack_from("<HH", data, pos)
        if blen < 4 or pos + blen > len(data):
            break
        out.append((btype, data[pos + 4:pos + blen]))
        pos += blen
    return out


def parse_connect_initial(pdu: bytes) -> ClientData:
    """Client core, security and network data of an MCS Connect Initial PDU."""
    cd = ClientData()
    for btype, body in _blocks(_mcs_user_data(pdu, 0x7F65, 6), b"Duca"):
        if btype == CS_CORE and len(body) >= 52:
            (cd.version, cd.desktop_width, cd.desktop_height, _depth, _sas, cd.keyboard_layout,
             cd.client_build) = struct.unpack_from("<IHHHHII", body)
            cd.client_name = body[20:52].decode("utf-16-le", "replace").split("\x00", 1)[0]
        elif btype == CS_SECURITY and len(body) >= 4:
            cd.encryption_methods = struct.unpack_from("<I", body)[0]
        elif btype == CS_NET and len(body) >= 4:
            count = min(struct.unpack_from("<I", body)[0], _MAX_CHANNELS)
            for k in range(count):
                off = 4 + 12 * k
                if off + 12 > len(body):
                    break
                cd.channels.append(body[off:off + 8].split(b"\x00", 1)[0].decode("latin-1"))
    return cd


def parse_connect_response(pdu: bytes) -> ServerData:
    """Server core and security data of an MCS Connect Response PDU."""
    sd = ServerData()
    for btype, body in _blocks(_mcs_user_data(pdu, 0x7F66, 3), b"McDn"):
        if btype == SC_CORE and len(body) >= 8:
            sd.version, sd.requested_protocols = struct.unpack_from("<II", body)
        elif btype == SC_SECURITY and len(body) >= 8:
            sd.encryption_method, sd.encryption_level = struct.unpack_from("<II", body)
    return sd
