"""BACnet framing layers: BVLC (Annex J), LLC (clause 7), NPDU (clause 6), APDU header (20.1).

Pure functions, bytes in, records out; they raise only ``Malformed`` with the codes
``bacnet.bad_bvlc``, ``bacnet.bad_llc``, ``bacnet.bad_npdu`` and ``bacnet.bad_apdu``.

- BVLC for BACnet/IPv4 (J.2): type 0x81, function, 2-octet length of the whole BVLL message;
  Forwarded-NPDU carries the original B/IP address (J.2.5), Register-Foreign-Device a TTL
  (J.2.6), the BDT/FDT functions their tables (J.2.2-J.2.8), BVLC-Result a result code (J.2.1).
- BACnet/Ethernet (7.1): ISO 8802-2 LLC header DSAP 0x82, SSAP 0x82, control 0x03 (UI).
- NPDU (6.2): version 1, control octet, DNET/DLEN/DADR, SNET/SLEN/SADR, hop count, and for
  network-layer messages the message type (6.2.4) and its parameters (6.4).
- APDU header (20.1.2-20.1.9): PDU type and flags, max segments / max APDU, invoke id,
  sequence number and window of segmented messages, service choice, reasons.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed

__all__ = [
    "Apdu",
    "Bvlc",
    "Npdu",
    "parse_apdu",
    "parse_bvlc",
    "parse_llc",
    "parse_network_message",
    "parse_npdu",
    "probe",
]

_H = struct.Struct("!H")
_BDT_ENTRY = struct.Struct("!4sH4s")
_FDT_ENTRY = struct.Struct("!4sHHH")
_ADDR = struct.Struct("!4sH")
_NPDU_FUNCTIONS = frozenset({0x04, 0x09, 0x0A, 0x0B})
_BVLC_FIXED: dict[int, int] = {0x00: 2, 0x02: 0, 0x05: 2, 0x06: 0, 0x08: 6}
"""Functions with a fixed body size (after the 4-octet header)."""
MAX_TABLE = 64
"""BDT/FDT entries kept of one message (the count is always given)."""


def _ip(raw: bytes) -> str:
    return ".".join(map(str, raw))


class Bvlc:
    """One BVLL message (J.2)."""

    __slots__ = ("entries", "function", "length", "npdu_offset", "origin", "result", "ttl")

    def __init__(self, function: int, length: int) -> None:
        self.function = function
        self.length = length
        self.npdu_offset = 0
        """Where the NPDU starts, 0 if the function carries none."""
        self.origin: str | None = None
        """Forwarded-NPDU: the originating B/IP address; Delete-FDT-Entry: the entry."""
        self.result: int | None = None
        self.ttl: int | None = None
        self.entries: list[str] | None = None
        """BDT (``ip:port/mask``) or FDT (``ip:port ttl=N remaining=N``) entries."""


def probe(buf: bytes, from_client: bool) -> bool:
    """A BVLL message for BACnet/IPv4 at the head of ``buf`` (the engine may join a flow's first
    datagrams): type 0x81, a defined function, a length that fits, and NPDU version 1 where
    the function carries an NPDU."""
    if len(buf) < 4 or buf[0] != 0x81 or buf[1] > 0x0C:
        return False
    length = _H.unpack_from(buf, 2)[0]
    if length < 4 or length > len(buf):
        return False
    function = buf[1]
    if function in _NPDU_FUNCTIONS:
        at = 10 if function == 0x04 else 4
        return length > at + 1 and buf[at] == 1
    fixed = _BVLC_FIXED.get(function)
    return fixed is None or length == 4 + fixed


def parse_bvlc(buf: bytes) -> Bvlc:
    """The BVLC header and function parameters of a UDP payload."""
    if len(buf) < 4:
        raise Malformed("bacnet.bad_bvlc", f"{len(buf)} octets, a BVLC header has 4")
    if buf[0] != 0x81:
        raise Malformed("bacnet.bad_bvlc", f"BVLC type 0x{buf[0]:02x} (BACnet/IPv4 is 0x81)")
    function = buf[1]
    length = _H.unpack_from(buf, 2)[0]
    if length != len(buf):
        raise Malformed("bacnet.bad_bvlc", f"BVLC length {length}, datagram {len(buf)} octets")
    bvlc = Bvlc(function, length)
    body = length - 4
    if function in _NPDU_FUNCTIONS:
        if function == 0x04:
            if body < 6:
                raise Malformed("bacnet.bad_bvlc", "Forwarded-NPDU without the original address")
            ip, port = _ADDR.unpack_from(buf, 4)
            bvlc.origin = f"{_ip(ip)}:{port}"
            bvlc.npdu_offset = 10
        else:
            bvlc.npdu_offset = 4
        return bvlc
    fixed = _BVLC_FIXED.get(function)
    if fixed is not None:
        if body != fixed:
            raise Malformed("bacnet.bad_bvlc",
                            f"function 0x{function:02x} with {body} octets (expects {fixed})")
        if function == 0x00:
            bvlc.result = _H.unpack_from(buf, 4)[0]
        elif function == 0x05:
            bvlc.ttl = _H.unpack_from(buf, 4)[0]
        elif function == 0x08:
            ip, port = _ADDR.unpack_from(buf, 4)
            bvlc.origin = f"{_ip(ip)}:{port}"
        return bvlc
    if function in (0x01, 0x03):
        if body % 10:
            raise Malformed("bacnet.bad_bvlc", f"BDT of {body} octets (10 per entry)")
        bvlc.entries = [f"{_ip(ip)}:{port}/{_ip(mask)}" for ip, port, mask in
                        (_BDT_ENTRY.unpack_from(buf, 4 + 10 * i)
                         for i in range(min(body // 10, MAX_TABLE)))]
        return bvlc
    if function == 0x07:
        if body % 10:
            raise Malformed("bacnet.bad_bvlc", f"FDT of {body} octets (10 per entry)")
        bvlc.entries = [f"{_ip(ip)}:{port} ttl={ttl} remaining={left}"
                        for ip, port, ttl, left in
                        (_FDT_ENTRY.unpack_from(buf, 4 + 10 * i)
                         for i in range(min(body // 10, MAX_TABLE)))]
        return bvlc
    if function == 0x0C:
        return bvlc  # Secure-BVLL (J.2.13): security wrapper, not decoded
    raise Malformed("bacnet.bad_bvlc", f"undefined BVLC function 0x{function:02x}")


def parse_llc(buf: bytes) -> int:
    """Offset of the NPDU in an LLC frame starting at the DSAP (7.1)."""
    if len(buf) < 3:
        raise Malformed("bacnet.bad_llc", f"LLC header of {len(buf)} octets")
    if buf[0] != 0x82 or buf[1] != 0x82 or buf[2] != 0x03:
        raise Malformed("bacnet.bad_llc",
                        f"LLC {buf[0]:02x} {buf[1]:02x} {buf[2]:02x} (BACnet uses 82 82 03)")
    return 3


class Npdu:
    """Network layer protocol control information (6.2) and network-layer message (6.4)."""

    __slots__ = ("apdu_offset", "control", "dadr", "dnet", "expecting_reply", "hop_count",
                 "message", "networks", "ports", "priority", "reason", "sadr", "snet",
                 "vendor_id")

    def __init__(self, control: int) -> None:
        self.control = control
        self.priority = control & 0x03
        self.expecting_reply = bool(control & 0x04)
        self.dnet: int | None = None
        self.dadr: str | None = None
        """Destination MAC address (hex); "" for a broadcast on DNET (DLEN 0)."""
        self.snet: int | None = None
        self.sadr: str | None = None
        self.hop_count: int | None = None
        self.message: int | None = None
        """Network-layer message type; None for an APDU."""
        self.vendor_id: int | None = None
        self.apdu_offset = 0
        """Where the APDU (or the network message parameters) start."""
        self.networks: list[int] | None = None
        """Network numbers a network-layer message lists."""
        self.reason: int | None = None
        """Reject-Message-To-Network reason; I-Could-Be-Router performance index;
        Establish-Connection termination time; Network-Number-Is flag."""
        self.ports: int | None = None
        """Initialize-Routing-Table(-Ack): number of ports in the routing table."""


def parse_npdu(buf: bytes, pos: int) -> Npdu:
    """The NPDU header starting at ``pos`` (for a network-layer message, up to the message type
    and vendor id: :func:`parse_network_message` reads its parameters)."""
    end = len(buf)
    if pos + 2 > end:
        raise Malformed("bacnet.bad_npdu", "NPDU shorter than its 2-octet header")
    if buf[pos] != 1:
        raise Malformed("bacnet.bad_npdu", f"protocol version {buf[pos]} (must be 1)")
    control = buf[pos + 1]
    if control & 0x50:
        raise Malformed("bacnet.bad_npdu", f"reserved control bits set (0x{control:02x})")
    npdu = Npdu(control)
    pos += 2
    if control & 0x20:
        if pos + 3 > end:
            raise Malformed("bacnet.bad_npdu", "DNET/DLEN truncated")
        npdu.dnet = _H.unpack_from(buf, pos)[0]
        dlen = buf[pos + 2]
        pos += 3
        if pos + dlen > end:
            raise Malformed("bacnet.bad_npdu", f"DADR of {dlen} octets truncated")
        npdu.dadr = buf[pos:pos + dlen].hex()
        pos += dlen
    if control & 0x08:
        if pos + 3 > end:
            raise Malformed("bacnet.bad_npdu", "SNET/SLEN truncated")
        npdu.snet = _H.unpack_from(buf, pos)[0]
        slen = buf[pos + 2]
        pos += 3
        if slen == 0 or pos + slen > end:
            raise Malformed("bacnet.bad_npdu", f"SADR of {slen} octets invalid or truncated")
        npdu.sadr = buf[pos:pos + slen].hex()
        pos += slen
    if control & 0x20:
        if pos >= end:
            raise Malformed("bacnet.bad_npdu", "hop count missing")
        npdu.hop_count = buf[pos]
        pos += 1
    if control & 0x80:
        if pos >= end:
            raise Malformed("bacnet.bad_npdu", "network-layer message type missing")
        msg = npdu.message = buf[pos]
        pos += 1
        if msg >= 0x80:
            if pos + 2 > end:
                raise Malformed("bacnet.bad_npdu", "proprietary message without vendor id")
            npdu.vendor_id = _H.unpack_from(buf, pos)[0]
            pos += 2
        npdu.apdu_offset = pos
    else:
        npdu.apdu_offset = pos
        if pos >= end:
            raise Malformed("bacnet.bad_npdu", "NPDU without an APDU")
    return npdu


def _networks(buf: bytes, pos: int) -> list[int]:
    count = (len(buf) - pos) // 2
    if (len(buf) - pos) % 2:
        raise Malformed("bacnet.bad_npdu", "odd octet count in a network number list")
    return [_H.unpack_from(buf, pos + 2 * i)[0] for i in range(min(count, MAX_TABLE))]


def parse_network_message(npdu: Npdu, buf: bytes) -> None:
    """Fill in the parameters of the network-layer message of ``npdu`` (6.4), which start at
    ``npdu.apdu_offset``."""
    msg = npdu.message
    pos = npdu.apdu_offset
    left = len(buf) - pos
    if msg == 0x00:  # Who-Is-Router-To-Network: optional DNET
        if left not in (0, 2):
            raise Malformed("bacnet.bad_npdu", f"Who-Is-Router-To-Network with {left} octets")
        npdu.networks = _networks(buf, pos) if left else None
    elif msg in (0x01, 0x04, 0x05):  # I-Am-Router, Router-Busy, Router-Available
        npdu.networks = _networks(buf, pos)
    elif msg in (0x02, 0x03, 0x08):
        if left < 3:
            raise Malformed("bacnet.bad_npdu", f"message 0x{msg:02x} with {left} octets")
        if msg == 0x03:  # Reject-Message-To-Network: reason, DNET
            npdu.reason = buf[pos]
            npdu.networks = [_H.unpack_from(buf, pos + 1)[0]]
        else:  # I-Could-Be-Router / Establish-Connection: DNET, one octet
            npdu.networks = [_H.unpack_from(buf, pos)[0]]
            npdu.reason = buf[pos + 2]
    elif msg == 0x09:  # Disconnect-Connection-To-Network
        if left < 2:
            raise Malformed("bacnet.bad_npdu", "Disconnect-Connection-To-Network without DNET")
        npdu.networks = [_H.unpack_from(buf, pos)[0]]
    elif msg in (0x06, 0x07):  # Initialize-Routing-Table(-Ack): count, port entries
        if left < 1 and msg == 0x06:
            raise Malformed("bacnet.bad_npdu", "Initialize-Routing-Table without a port count")
        if left == 0:
            npdu.ports = 0
            return
        count = buf[pos]
        p = pos + 1
        nets: list[int] = []
        for _ in range(count):
            if p + 4 > len(buf) or p + 4 + buf[p + 3] > len(buf):
                raise Malformed("bacnet.bad_npdu", "routing table entry truncated")
            if len(nets) < MAX_TABLE:
                nets.append(_H.unpack_from(buf, p)[0])
            p += 4 + buf[p + 3]
        npdu.ports = count
        npdu.networks = nets or None
    elif msg == 0x13:  # Network-Number-Is: network number, flag
        if left < 3:
            raise Malformed("bacnet.bad_npdu", "Network-Number-Is truncated")
        npdu.networks = [_H.unpack_from(buf, pos)[0]]
        npdu.reason = buf[pos + 2]


class Apdu:
    """The fixed part of an APDU (20.1.2-20.1.9)."""

    __slots__ = ("body", "invoke_id", "max_apdu", "max_segments", "more_follows", "pdu_type",
                 "reason", "segmented", "segmented_accepted", "sequence", "server", "service",
                 "window")

    def __init__(self, pdu_type: int) -> None:
        self.pdu_type = pdu_type
        self.invoke_id: int | None = None
        self.service: int | None = None
        """Service choice (confirmed/unconfirmed/ACK PDUs, Error PDU)."""
        self.segmented = False
        self.more_follows = False
        self.segmented_accepted = False
        self.max_segments = 0
        self.max_apdu = 0
        self.sequence: int | None = None
        self.window: int | None = None
        self.reason: int | None = None
        """Reject and Abort reason."""
        self.server = False
        """Segment-ACK and Abort: sent by the server (SRV bit)."""
        self.body = 0
        """Offset of the service parameters."""


def parse_apdu(buf: bytes, pos: int) -> Apdu:
    """The APDU header starting at ``pos``."""
    end = len(buf)
    if pos >= end:
        raise Malformed("bacnet.bad_apdu", "empty APDU")
    first = buf[pos]
    pdu_type = first >> 4
    apdu = Apdu(pdu_type)
    if pdu_type == 0:  # Confirmed-Request (20.1.2)
        apdu.segmented = bool(first & 0x08)
        apdu.more_follows = bool(first & 0x04)
        apdu.segmented_accepted = bool(first & 0x02)
        head = 6 if apdu.segmented else 4
        if pos + head > end:
            raise Malformed("bacnet.bad_apdu", "Confirmed-Request header truncated")
        apdu.max_segments = (buf[pos + 1] >> 4) & 0x07
        apdu.max_apdu = buf[pos + 1] & 0x0F
        apdu.invoke_id = buf[pos + 2]
        if apdu.segmented:
            apdu.sequence = buf[pos + 3]
            apdu.window = buf[pos + 4]
        apdu.service = buf[pos + head - 1]
        apdu.body = pos + head
    elif pdu_type == 1:  # Unconfirmed-Request (20.1.3)
        if pos + 2 > end:
            raise Malformed("bacnet.bad_apdu", "Unconfirmed-Request without a service choice")
        apdu.service = buf[pos + 1]
        apdu.body = pos + 2
    elif pdu_type == 2:  # SimpleACK (20.1.4)
        if pos + 3 > end:
            raise Malformed("bacnet.bad_apdu", "SimpleACK truncated")
        apdu.invoke_id = buf[pos + 1]
        apdu.service = buf[pos + 2]
        apdu.body = pos + 3
    elif pdu_type == 3:  # ComplexACK (20.1.5)
        apdu.segmented = bool(first & 0x08)
        apdu.more_follows = bool(first & 0x04)
        head = 5 if apdu.segmented else 3
        if pos + head > end:
            raise Malformed("bacnet.bad_apdu", "ComplexACK header truncated")
        apdu.invoke_id = buf[pos + 1]
        if apdu.segmented:
            apdu.sequence = buf[pos + 2]
            apdu.window = buf[pos + 3]
        apdu.service = buf[pos + head - 1]
        apdu.body = pos + head
    elif pdu_type == 4:  # SegmentACK (20.1.6)
        if pos + 4 > end:
            raise Malformed("bacnet.bad_apdu", "SegmentACK truncated")
        apdu.server = bool(first & 0x01)
        apdu.more_follows = bool(first & 0x02)  # the NAK bit
        apdu.invoke_id = buf[pos + 1]
        apdu.sequence = buf[pos + 2]
        apdu.window = buf[pos + 3]
        apdu.body = pos + 4
    elif pdu_type == 5:  # Error (20.1.7)
        if pos + 3 > end:
            raise Malformed("bacnet.bad_apdu", "Error PDU truncated")
        apdu.invoke_id = buf[pos + 1]
        apdu.service = buf[pos + 2]
        apdu.body = pos + 3
    elif pdu_type in (6, 7):  # Reject (20.1.8), Abort (20.1.9)
        if pos + 3 > end:
            raise Malformed("bacnet.bad_apdu", "Reject/Abort PDU truncated")
        apdu.server = bool(first & 0x01) if pdu_type == 7 else True
        apdu.invoke_id = buf[pos + 1]
        apdu.reason = buf[pos + 2]
        apdu.body = pos + 3
    else:
        raise Malformed("bacnet.bad_apdu", f"reserved PDU type {pdu_type}")
    return apdu
