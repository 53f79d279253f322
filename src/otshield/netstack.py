"""Layer 2 to 4 decoding: link types, Ethernet and VLAN tags, ARP, IPv4, IPv6, TCP, UDP, ICMP.

This is the hottest code in otshield: it runs once per packet, so it is written with
``struct.unpack_from`` into one reused :class:`Packet` and returns an anomaly code (or None)
instead of raising. Link types follow the tcpdump.org LINKTYPE registry; IPv4 is RFC 791,
IPv6 RFC 8200 (extension headers section 4), TCP RFC 9293, UDP RFC 768.
"""

from __future__ import annotations

import os
import struct

__all__ = [
    "ETHERTYPE_NAMES",
    "LINKTYPE_NAMES",
    "Packet",
    "decode",
    "decode_l4",
    "format_ip",
    "format_mac",
]

LINKTYPE_NAMES: dict[int, str] = {
    0: "null",
    1: "ethernet",
    12: "raw",
    14: "raw",
    101: "raw",
    108: "loop",
    113: "linux_sll",
    228: "ipv4",
    229: "ipv6",
    276: "linux_sll2",
}

ETHERTYPE_NAMES: dict[int, str] = {
    0x0800: "ipv4",
    0x0806: "arp",
    0x86DD: "ipv6",
    0x8100: "vlan",
    0x88A8: "qinq",
    0x88B8: "goose",
    0x88B9: "gse",
    0x88BA: "sv",
    0x8892: "profinet",
    0x88A4: "ethercat",
    0x88AB: "powerlink",
    0x88CC: "lldp",
    0x88F7: "ptp",
    0x88E3: "mrp",
    0x8809: "slow",
    0x888E: "eapol",
    0x22F0: "avtp",
    0x0842: "wol",
    0x9000: "loopback",
    0x88E1: "homeplug",
    0x893A: "ieee1905",
}

_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100))
# hop-by-hop, routing, destination options, AH, mobility, HIP, shim6
_IPV6_EXT = frozenset((0, 43, 60, 51, 135, 139, 140))

_H = struct.Struct("!H")
_TCP = struct.Struct("!HHIIH")
_UDP = struct.Struct("!HHH")
_IP4 = struct.Struct("!BBHHHBB")
_IP6 = struct.Struct("!IHBB")
_SLL = struct.Struct("!HHH")
_SLL2 = struct.Struct("!HHIHBB")


class Packet:
    """The decoded layers of the packet being processed; one instance is reused per engine."""

    __slots__ = (
        "ack", "dport", "dst", "dst_mac", "ethertype", "frag", "ident", "ip_end", "ipver",
        "l2_payload", "l3_off", "l4_off", "payload", "proto", "seq", "sport", "src", "src_mac",
        "tcp_flags", "ttl", "vlan",
    )

    def __init__(self) -> None:
        self.src_mac: bytes = b""
        self.dst_mac: bytes = b""
        self.vlan: int | None = None
        self.ethertype = 0
        self.l2_payload: bytes = b""
        self.l3_off = 0
        self.ipver = 0
        self.src: bytes = b""
        self.dst: bytes = b""
        self.proto = 0
        self.ttl = 0
        self.ident = 0
        self.frag = 0  # IPv4: MF flag << 13 | offset in 8-byte units; non-zero means fragment
        self.ip_end = 0
        self.l4_off = 0
        self.sport = 0
        self.dport = 0
        self.seq = 0
        self.ack = 0
        self.tcp_flags = 0
        self.payload: bytes = b""


def decode(linktype: int, data: bytes, p: Packet) -> str | None:
    """Fill ``p`` from the frame. Returns None when an IP packet was decoded down to L4,
    ``""`` for a well-formed non-IP frame (``p.ethertype``/``p.l2_payload`` say what), or an
    anomaly code naming what is wrong."""
    p.vlan = None
    if linktype == 1:
        if len(data) < 14:
            p.src_mac = p.dst_mac = b""
            return "eth.truncated"
        p.dst_mac = data[0:6]
        p.src_mac = data[6:12]
        et = data[12] << 8 | data[13]
        off = 14
        if et == 0x0800 and len(data) >= 54 and data[14] == 0x45:
            # Fast path for the common case: untagged IPv4 without options, TCP or UDP.
            _vhl, _tos, total, ident, frag, ttl, proto = _IP4.unpack_from(data, 14)
            end = 14 + total
            if not frag & 0x3FFF and total >= 20 and end <= len(data) and proto in (6, 17):
                p.ethertype = 0x0800
                p.l3_off = 14
                p.ipver = 4
                p.src = data[26:30]
                p.dst = data[30:34]
                p.proto = proto
                p.ttl = ttl
                p.ident = ident
                p.frag = 0
                p.ip_end = end
                p.l4_off = 34
                if proto == 6:
                    p.sport, p.dport, p.seq, p.ack, offflags = _TCP.unpack_from(data, 34)
                    doff = (offflags >> 12) * 4
                    if doff >= 20 and 34 + doff <= end:
                        p.tcp_flags = offflags & 0x01FF
                        p.payload = data[34 + doff:end]
                        return None
                elif end >= 42:
                    p.sport, p.dport, ulen = _UDP.unpack_from(data, 34)
                    if ulen >= 8:
                        p.payload = data[42:min(end, 34 + ulen)]
                        return None
            # anything unusual: the general path below
        while et in _VLAN_TYPES:
            if len(data) < off + 4:
                return "vlan.truncated"
            tci, et = struct.unpack_from("!HH", data, off)
            if p.vlan is None:
                p.vlan = tci & 0x0FFF
            off += 4
        if et <= 1500:  # IEEE 802.3 length field: LLC frame (STP, ...)
            p.ethertype = 0
            p.l2_payload = data[off:off + et]  # the length bounds it: padding is not LLC data
            return ""
    elif linktype == 113:  # Linux cooked capture v1
        p.src_mac = p.dst_mac = b""
        if len(data) < 16:
            return "sll.truncated"
        et = _H.unpack_from(data, 14)[0]
        alen = _H.unpack_from(data, 4)[0]
        p.src_mac = data[6:6 + min(alen, 8)] if alen == 6 else b""
        off = 16
        if et in _VLAN_TYPES and len(data) >= 20:
            tci, et = struct.unpack_from("!HH", data, 16)
            p.vlan = tci & 0x0FFF
            off = 20
    elif linktype == 276:  # Linux cooked capture v2
        p.src_mac = p.dst_mac = b""
        if len(data) < 20:
            return "sll2.truncated"
        et = _H.unpack_from(data, 0)[0]
        alen = data[11]
        p.src_mac = data[12:18] if alen == 6 else b""
        off = 20
    elif linktype in (101, 12, 14):
        p.src_mac = p.dst_mac = b""
        if not data:
            return "ip.truncated"
        et = 0x0800 if data[0] >> 4 == 4 else 0x86DD if data[0] >> 4 == 6 else 0
        off = 0
        if et == 0:
            return "ip.bad_version"
    elif linktype == 228:
        p.src_mac = p.dst_mac = b""
        et, off = 0x0800, 0
    elif linktype == 229:
        p.src_mac = p.dst_mac = b""
        et, off = 0x86DD, 0
    elif linktype in (0, 108):
        p.src_mac = p.dst_mac = b""
        if len(data) < 4:
            return "null.truncated"
        fam = (struct.unpack_from("!I", data, 0)[0] if linktype == 108
               else struct.unpack_from("=I", data, 0)[0])
        if fam > 0xFFFF:  # written on a host of the other byte order
            fam = int.from_bytes(data[0:4], "little" if linktype == 108 else "big")
        off = 4
        et = 0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else 0
        if et == 0:
            return "null.unknown_family"
    else:
        p.src_mac = p.dst_mac = b""
        return "link.unsupported_linktype"
    p.ethertype = et
    p.l3_off = off
    if et == 0x0800:
        return _ipv4(data, off, p)
    if et == 0x86DD:
        return _ipv6(data, off, p)
    p.l2_payload = data[off:]
    return ""


def _ipv4(data: bytes, off: int, p: Packet) -> str | None:
    if len(data) < off + 20:
        return "ipv4.truncated"
    vhl, _tos, total, ident, frag, ttl, proto = _IP4.unpack_from(data, off)
    if vhl >> 4 != 4:
        return "ipv4.bad_version"
    ihl = (vhl & 0x0F) * 4
    if total == 0:
        # TCP segmentation offload: captured on the sending host before the NIC filled in the
        # length; the frame itself is the datagram (Wireshark assumes the same).
        total = len(data) - off
    if ihl < 20 or total < ihl:
        return "ipv4.bad_header_length"
    end = off + total
    if end > len(data):
        # Snapped by the capture's snaplen: decode what is there; TCP sees the rest as a gap.
        end = len(data)
        if end < off + ihl:
            return "ipv4.truncated"
    p.ipver = 4
    p.src = data[off + 12:off + 16]
    p.dst = data[off + 16:off + 20]
    p.proto = proto
    p.ttl = ttl
    p.ident = ident
    p.frag = frag & 0x3FFF
    p.ip_end = end
    if p.frag:
        p.l4_off = off + ihl
        p.payload = data[off + ihl:end]
        return None
    return py_decode_l4(data, off + ihl, end, proto, p)


def _ipv6(data: bytes, off: int, p: Packet) -> str | None:
    if len(data) < off + 40:
        return "ipv6.truncated"
    vtcfl, plen, nxt, hlim = _IP6.unpack_from(data, off)
    if vtcfl >> 28 != 6:
        return "ipv6.bad_version"
    p.ipver = 6
    p.src = data[off + 8:off + 24]
    p.dst = data[off + 24:off + 40]
    p.ttl = hlim
    p.frag = 0
    end = off + 40 + plen
    if plen == 0 or end > len(data):  # jumbogram or bogus: take the frame length
        end = len(data)
    pos = off + 40
    hops = 0
    while nxt in _IPV6_EXT or nxt == 44:
        hops += 1
        if pos + 8 > end or hops > 16:
            return "ipv6.bad_extension_header"
        if nxt == 44:  # fragment header: offset, M flag, identification
            fo = _H.unpack_from(data, pos + 2)[0]
            p.ident = struct.unpack_from("!I", data, pos + 4)[0]
            p.frag = (fo >> 3) | ((fo & 1) << 13)
            nxt = data[pos]
            pos += 8
            if p.frag:
                p.proto = nxt
                p.l4_off = pos
                p.ip_end = end
                p.payload = data[pos:end]
                return None
            continue
        hdr_len = (data[pos + 1] + 2) * 4 if nxt == 51 else (data[pos + 1] + 1) * 8
        nxt = data[pos]
        pos += hdr_len
    if pos > end:
        return "ipv6.bad_extension_header"
    p.ip_end = end
    p.proto = nxt
    return py_decode_l4(data, pos, end, nxt, p)


def decode_l4(data: bytes, off: int, end: int, proto: int, p: Packet) -> str | None:
    """TCP/UDP/ICMP header at ``off``; ``end`` is where the IP payload ends."""
    p.l4_off = off
    if proto == 6:
        if end - off < 20:
            p.payload = b""
            return "tcp.truncated"
        p.sport, p.dport, p.seq, p.ack, offflags = _TCP.unpack_from(data, off)
        doff = (offflags >> 12) * 4
        if doff < 20 or off + doff > end:
            p.payload = b""
            return "tcp.bad_header_length"
        p.tcp_flags = offflags & 0x01FF
        p.payload = data[off + doff:end]
        return None
    if proto == 17:
        if end - off < 8:
            p.payload = b""
            return "udp.truncated"
        p.sport, p.dport, ulen = _UDP.unpack_from(data, off)
        if ulen < 8:
            p.payload = b""
            return "udp.bad_length"
        p.payload = data[off + 8:min(end, off + ulen)]
        return None
    if proto in (1, 58):
        if end - off < 4:
            p.payload = b""
            return "icmp.truncated"
        # ICMP has no ports: type and code are kept here; the engine keys ICMP flows on 0/0.
        p.sport = data[off]
        p.dport = data[off + 1]
        p.payload = data[off + 4:end]
        return None
    p.sport = p.dport = 0
    p.payload = data[off:end]
    return None


def format_mac(mac: bytes) -> str:
    return mac.hex(":") if mac else ""


def format_ip(raw: bytes) -> str:
    """Text form of a 4- or 16-byte address (IPv6 compressed per RFC 5952)."""
    if len(raw) == 4:
        return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


# -- the C accelerator -----------------------------------------------------------------------------
# Everything above is the reference implementation. otshield._cnetstack (built from _cnetstack.c
# when a C compiler is there at install time) implements Packet, decode and decode_l4 with the same
# results, 10 to 40 times faster, and replaces them here unless OTSHIELD_PURE_PYTHON=1.
# tests/test_cnetstack.py holds the two to each other; the Python versions stay reachable under
# the names below (the Python decode always uses the Python decode_l4).
PyPacket = Packet
py_decode = decode
py_decode_l4 = decode_l4
ACCELERATED = False
"""True when Packet/decode/decode_l4 are the C versions from otshield._cnetstack."""

if os.environ.get("OTSHIELD_PURE_PYTHON") != "1":
    try:
        from otshield._cnetstack import Packet, decode, decode_l4  # type: ignore[assignment]
    except ImportError:  # not built (no C compiler at install): the Python versions serve
        pass
    else:
        ACCELERATED = True
