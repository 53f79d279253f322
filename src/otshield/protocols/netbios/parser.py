"""Pure NetBIOS name service (UDP 137) and datagram service (UDP 138) decoders.

Name service: RFC 1002 section 4.2 (header 4.2.1.1, question 4.2.1.2, resource records
4.2.1.3, name compression pointers as in DNS, NB address entries 4.2.2.2/4.2.13, node status
response 4.2.18). Datagram service: RFC 1002 section 4.4 (header 4.4.1-4.4.3); its user data is
an SMB1 TRANSACTION to a mailslot ([MS-MAIL] 2.2, decoded with the SMB decoder) and, for
\\MAILSLOT\\BROWSE and \\MAILSLOT\\LANMAN, a browser frame ([MS-BRWS] 2.2).

Raises only ``Malformed``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.netbios.names import display, name_text, read_name

__all__ = ["BrowserFrame", "NbdgmMessage", "NbnsMessage", "decode_browser", "decode_dgm",
           "decode_ns"]

_NS_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_DGM_HEADER = struct.Struct("!BBH4sH")
_MAX_RECORDS = 32
_MAX_ADDRESSES = 16
_MAX_NAMES = 32
_MAX_POINTERS = 8


@dataclass(slots=True)
class NbnsMessage:
    transaction_id: int
    response: bool
    opcode: int
    flags: int
    rcode: int
    name: str | None = None
    suffix: int | None = None
    scope: str | None = None
    qtype: int | None = None
    rr_type: int | None = None
    ttl: int | None = None
    addresses: list[str] = field(default_factory=list)
    group: bool | None = None
    node_type: int | None = None
    node_names: list[str] = field(default_factory=list)
    mac: str | None = None
    truncated: bool = False
    """Records beyond 32, addresses beyond 16 or node names beyond 32 were left out."""

    @property
    def broadcast(self) -> bool:
        return bool(self.flags & 0x0010)

    @property
    def display_name(self) -> str | None:
        if self.name is None or self.suffix is None:
            return None
        return display(self.name, self.suffix, self.scope or "")


def _name_at(data: bytes, pos: int) -> tuple[str, int, str, int]:
    """A name at ``pos``, following compression pointers (RFC 1002 4.2.1.3 uses RFC 1035's);
    returns the name and the position after it in the original record."""
    end = len(data)
    after = -1
    for _ in range(_MAX_POINTERS):
        if pos >= end:
            break
        if data[pos] & 0xC0 == 0xC0:
            if pos + 2 > end:
                break
            if after < 0:
                after = pos + 2
            pos = struct.unpack_from("!H", data, pos)[0] & 0x3FFF
            continue
        got = read_name(data, pos, end)
        if got is None:
            break
        name, suffix, scope, nxt = got
        return name, suffix, scope, after if after >= 0 else nxt
    raise Malformed("nbns.bad_name", f"no valid NetBIOS name at offset {pos}")


def decode_ns(data: bytes) -> NbnsMessage:
    """Decode one NetBIOS name service packet."""
    if len(data) < 12:
        raise Malformed("nbns.truncated", f"{len(data)} bytes, header needs 12")
    tid, flags, qd, an, ns, ar = _NS_HEADER.unpack_from(data)
    msg = NbnsMessage(tid, bool(flags & 0x8000), (flags >> 11) & 0xF, flags, flags & 0xF)
    pos = 12
    if qd:
        msg.name, msg.suffix, scope, pos = _name_at(data, pos)
        msg.scope = scope or None
        if pos + 4 > len(data):
            raise Malformed("nbns.truncated", "question type/class missing")
        msg.qtype = struct.unpack_from("!H", data, pos)[0]
        pos += 4
    if an + ns + ar > _MAX_RECORDS:
        msg.truncated = True
    for _ in range(min(an + ns + ar, _MAX_RECORDS)):
        if pos >= len(data):
            raise Malformed("nbns.truncated", "fewer resource records than counted")
        name, suffix, scope, pos = _name_at(data, pos)
        if pos + 10 > len(data):
            raise Malformed("nbns.truncated", "resource record header cut")
        rtype, _rclass, ttl, rdlen = _RR.unpack_from(data, pos)
        pos += 10
        rdata = data[pos:pos + rdlen]
        if len(rdata) < rdlen:
            raise Malformed("nbns.truncated", f"rdata of {rdlen} bytes cut")
        pos += rdlen
        if msg.name is None:  # responses carry the name in the answer, not a question
            msg.name, msg.suffix, msg.scope = name, suffix, scope or None
        if msg.rr_type is None:
            msg.rr_type, msg.ttl = rtype, ttl
        if rtype == 0x0020:
            _nb_rdata(rdata, msg)
        elif rtype == 0x0021:
            _nbstat_rdata(rdata, msg)
    return msg


def _nb_rdata(rdata: bytes, msg: NbnsMessage) -> None:
    """NB_FLAGS (G bit, ONT) + IPv4 address entries (RFC 1002 section 4.2.2.2)."""
    for i in range(0, len(rdata) - 5, 6):
        nb_flags = struct.unpack_from("!H", rdata, i)[0]
        if msg.group is None:
            msg.group = bool(nb_flags & 0x8000)
            msg.node_type = (nb_flags >> 13) & 0x3
        if len(msg.addresses) < _MAX_ADDRESSES:
            msg.addresses.append(socket.inet_ntoa(rdata[i + 2:i + 6]))
        else:
            msg.truncated = True


def _nbstat_rdata(rdata: bytes, msg: NbnsMessage) -> None:
    """Node status: the node's name table and its unit id (MAC) (RFC 1002 section 4.2.18)."""
    if not rdata:
        return
    count = rdata[0]
    pos = 1
    for _ in range(count):
        if pos + 18 > len(rdata):
            return
        raw = rdata[pos:pos + 16]
        if len(msg.node_names) < _MAX_NAMES:
            msg.node_names.append(display(name_text(raw[:15]), raw[15]))
        else:
            msg.truncated = True
        pos += 18
    if pos + 6 <= len(rdata):
        msg.mac = rdata[pos:pos + 6].hex(":")


@dataclass(slots=True)
class BrowserFrame:
    opcode: int
    server_name: str | None = None
    os_major: int | None = None
    os_minor: int | None = None
    server_type: int | None = None
    browser_version: str | None = None
    comment: str | None = None
    criteria: int | None = None


@dataclass(slots=True)
class NbdgmMessage:
    msg_type: int
    flags: int
    datagram_id: int
    source_ip: str
    source_port: int
    source_name: str | None = None
    destination_name: str | None = None
    error_code: int | None = None
    user_data: bytes | None = None


def decode_dgm(data: bytes) -> NbdgmMessage:
    """Decode one NetBIOS datagram service packet (the SMB user data is left as bytes)."""
    if len(data) < 10:
        raise Malformed("nbdgm.truncated", f"{len(data)} bytes, header needs 10")
    mtype, flags, dgm_id, src, sport = _DGM_HEADER.unpack_from(data)
    msg = NbdgmMessage(mtype, flags, dgm_id, socket.inet_ntoa(src), sport)
    end = len(data)
    if mtype in (0x10, 0x11, 0x12):
        if end < 14:
            raise Malformed("nbdgm.truncated", "datagram length/offset missing")
        dgm_length, _offset = struct.unpack_from("!HH", data, 10)
        s = read_name(data, 14, end)
        if s is None:
            raise Malformed("nbdgm.bad_name", "invalid source name")
        d = read_name(data, s[3], end)
        if d is None:
            raise Malformed("nbdgm.bad_name", "invalid destination name")
        msg.source_name = display(s[0], s[1], s[2])
        msg.destination_name = display(d[0], d[1], d[2])
        # DGM_LENGTH counts the names and user data (RFC 1002 4.4.2); trust the datagram if
        # it is shorter (a fragment) and cut it when it is longer.
        msg.user_data = data[d[3]:min(end, 14 + dgm_length)]
    elif mtype == 0x13:
        if end < 11:
            raise Malformed("nbdgm.truncated", "error code missing")
        msg.error_code = data[10]
    elif mtype in (0x14, 0x15, 0x16):
        d = read_name(data, 10, end)
        if d is None:
            raise Malformed("nbdgm.bad_name", "invalid destination name")
        msg.destination_name = display(d[0], d[1], d[2])
    else:
        raise Malformed("nbdgm.bad_type", f"message type 0x{mtype:02x}")
    return msg


def _cstring(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1")


def decode_browser(data: bytes) -> BrowserFrame | None:
    """A browser frame ([MS-BRWS] 2.2): announcements (2.2.1, 2.2.6, 2.2.10: same layout) and
    election requests (2.2.3); other opcodes are recognised by number only."""
    if not data:
        return None
    op = data[0]
    frame = BrowserFrame(op)
    if op in (0x01, 0x0C, 0x0F) and len(data) >= 32:
        # opcode, update count, periodicity (4), name (16), OS major/minor, server type (4),
        # browser version major/minor, signature (2), comment (NUL-terminated)
        frame.server_name = _cstring(data[6:22])
        frame.os_major, frame.os_minor = data[22], data[23]
        frame.server_type = struct.unpack_from("<I", data, 24)[0]
        frame.browser_version = f"{data[28]}.{data[29]}"
        frame.comment = _cstring(data[32:]) or None
    elif op == 0x08 and len(data) >= 14:
        # opcode, version, criteria (4), uptime (4), reserved (4), server name
        frame.criteria = struct.unpack_from("<I", data, 2)[0]
        frame.server_name = _cstring(data[14:]) or None
    return frame
