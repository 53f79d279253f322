"""The C layer 2-4 decoder (otshield._cnetstack) against the pure-Python reference in netstack.py.

Both are run on the same input and must give the same return value (or raise the same exception
type) and leave every Packet field identical, including the fields a path does not write: before
each comparison both packets are filled with the same sentinel values, so a field written by one
and left alone by the other shows. Inputs: hand-built frames of every link type and header
variant (truncated at every length), hypothesis mutations and random bytes, sequences decoded into
one reused packet, decode_l4 with arbitrary offsets, and every packet of the third-party corpus.
"""

from __future__ import annotations

import gc
import ipaddress
import operator
import os
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield import netstack
from otshield.capture import open_capture
from otshield.errors import CaptureError
from otshield.netstack import PyPacket, py_decode, py_decode_l4
from otshield.pcapwriter import ethernet, ipv4, mac_bytes, tcp_segment, udp_datagram
from support import PCAPS, CorpusFile, corpus, corpus_params

cnet: Any = pytest.importorskip(
    "otshield._cnetstack",
    reason="the C accelerator otshield._cnetstack is not built (no C compiler at install time)")
CPacket = cnet.Packet
c_decode = cnet.decode
c_decode_l4 = cnet.decode_l4

FIELDS: tuple[str, ...] = tuple(PyPacket.__slots__)
_snap = operator.attrgetter(*FIELDS)
BYTES_FIELDS = ("src_mac", "dst_mac", "l2_payload", "src", "dst", "payload")
SENTINEL: dict[str, Any] = {f: (b"\xee\xee\xee" if f in BYTES_FIELDS else 0x5EED_5EED)
                            for f in FIELDS}
SENTINEL["vlan"] = 4242
LINKTYPES = (0, 1, 12, 14, 101, 108, 113, 228, 229, 276)


def snapshot(p: Any) -> list[tuple[type, Any]]:
    """Every field with its type (bytes must stay bytes, ints ints)."""
    return [(type(v), v) for v in _snap(p)]


def fill(p: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(p, name, value)


def outcome(fn: Callable[..., str | None], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # compared by type: both must fail the same way
        return "raised", type(exc)


def check_decode(linktype: int, frame: bytes, cp: Any = None, pp: Any = None) -> str | None:
    """Decode with both (into fresh sentinel-filled packets unless given) and compare."""
    if cp is None:
        cp, pp = CPacket(), PyPacket()
        fill(cp, SENTINEL)
        fill(pp, SENTINEL)
    want = outcome(py_decode, linktype, frame, pp)
    got = outcome(c_decode, linktype, frame, cp)
    assert got == want, (linktype, frame.hex())
    assert snapshot(cp) == snapshot(pp), (linktype, frame.hex(), diff(cp, pp))
    return want[1] if want[0] == "ok" else None


def diff(cp: Any, pp: Any) -> dict[str, tuple[Any, Any]]:
    return {f: (getattr(cp, f), getattr(pp, f)) for f in FIELDS
            if getattr(cp, f) != getattr(pp, f) or type(getattr(cp, f)) is not type(getattr(pp, f))}


# -- frames of every link type and header variant -------------------------------------------------
A, B = "10.0.0.1", "10.0.0.2"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"
V6_A = ipaddress.IPv6Address("fe80::1").packed
V6_B = ipaddress.IPv6Address("2001:db8::2").packed

TCP_SEG = tcp_segment(A, B, 40000, 502, 0x11223344, 0x55667788, 0x18, b"\x00\x01\x00\x00\x00\x06")
UDP_DG = udp_datagram(A, B, 5353, 53, b"\x12\x34\x01\x00" + bytes(8))
ICMP_ECHO = b"\x08\x00\xf7\xfe\x00\x01\x00\x01" + b"ping"  # type 8 code 0, csum, id, seq, data


def tcp_with_options(payload: bytes) -> bytes:
    # sport, dport, seq, ack, data offset 8 words, flags PSH|ACK, window, csum, urgent
    head = struct.pack("!HHIIBBHHH", 44818, 1024, 7, 9, 8 << 4, 0x18, 1000, 0, 0)
    return head + b"\x01\x01\x08\x0a" + bytes(8) + payload  # NOP NOP timestamp(10)


def ip4_raw(proto: int, l4: bytes, vhl: int = 0x45, frag: int = 0x4000, opts: bytes = b"",
            ident: int = 0x1234, ttl: int = 64, total: int | None = None) -> bytes:
    """IPv4 header without a checksum (the decoders do not check it)."""
    length = 4 * (vhl & 0x0F) + len(l4) if total is None else total
    return struct.pack("!BBHHHBBH4s4s", vhl, 0, length, ident, frag, ttl, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + opts + l4


def ip6(nxt: int, ext: bytes, l4: bytes, plen: int | None = None) -> bytes:
    length = len(ext) + len(l4) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28 | 0x12345, length, nxt, 57) + V6_A + V6_B + ext + l4


def eth(et: int, payload: bytes, vlan: int | None = None) -> bytes:
    return ethernet(MAC_A, MAC_B, et, payload, vlan)


def tagged(tags: list[tuple[int, int]], et: int, payload: bytes) -> bytes:
    head = mac_bytes(MAC_B) + mac_bytes(MAC_A)
    for tpid, tci in tags:
        head += struct.pack("!HH", tpid, tci)
    return head + struct.pack("!H", et) + payload


def sll(et: int, payload: bytes, alen: int = 6) -> bytes:
    # packet type, ARPHRD, address length, address (8), protocol
    return struct.pack("!HHH", 0, 1, alen) + mac_bytes(MAC_A) + b"\0\0" + \
        struct.pack("!H", et) + payload


def sll2(et: int, payload: bytes, alen: int = 6) -> bytes:
    # protocol, reserved, ifindex, ARPHRD, packet type, address length, address (8)
    return struct.pack("!HHIHBB", et, 0, 3, 1, 4, alen) + mac_bytes(MAC_B) + b"\0\0" + payload


IP_TCP = ipv4(A, B, 6, TCP_SEG, ident=77, ttl=128)
IP_UDP = ipv4(A, B, 17, UDP_DG)
UDP6 = struct.pack("!HHHH", 5000, 7777, 8 + 6, 0) + b"TOY:hi"
TCP6 = struct.pack("!HHIIBBHHH", 50000, 443, 1, 2, 5 << 4, 0x02, 1000, 0, 0)
IP6_UDP = ip6(17, b"", UDP6)
IP6_TCP = ip6(6, b"", TCP6)
ARP = bytes.fromhex("0001080006040001") + mac_bytes(MAC_A) + bytes([10, 0, 0, 1]) + bytes(6) + \
    bytes([10, 0, 0, 2])
HOP_BY_HOP = bytes([60, 0]) + bytes(6)  # next: destination options, 8 bytes
DEST_OPTS = bytes([17, 0]) + bytes(6)   # next: UDP
ROUTING = bytes([6, 0, 0, 0]) + bytes(4)  # next: TCP, type 0, segments left 0
AH = bytes([17, 4, 0, 0]) + struct.pack("!II", 0x100, 1) + bytes(12)  # next UDP, (4+2)*4 bytes
FRAG_FIRST = bytes([17, 0]) + struct.pack("!HI", 0 << 3 | 1, 0xABCDEF01)   # offset 0, M
FRAG_LATER = bytes([17, 0]) + struct.pack("!HI", 63 << 3, 0xABCDEF01)      # offset 63*8, last
FRAG_ATOMIC = bytes([17, 0]) + struct.pack("!HI", 0, 5)                    # offset 0, no M
MOBILITY = bytes([59, 0]) + bytes(6)  # next: no next header

TEMPLATES: list[tuple[str, int, bytes]] = [
    ("eth-ipv4-tcp", 1, eth(0x0800, IP_TCP)),
    ("eth-ipv4-udp", 1, eth(0x0800, IP_UDP)),
    ("eth-ipv4-tcp-padded", 1, eth(0x0800, ipv4(A, B, 6, tcp_segment(A, B, 1, 2, 3, 4, 0x10)))
     + bytes(6)),
    ("eth-ipv4-short-tcp-padded", 1, eth(0x0800, ip4_raw(6, TCP_SEG[:12])) + b"\x77" * 30),
    ("eth-ipv4-tcp-bad-offset-padded", 1, eth(0x0800, ip4_raw(6, TCP_SEG[:12] + b"\x30"
                                                             + TCP_SEG[13:])) + bytes(30)),
    ("eth-ipv4-udp-bad-length-padded", 1, eth(0x0800, ip4_raw(17, UDP_DG[:4] + b"\0\1"
                                                             + UDP_DG[6:])) + bytes(30)),
    ("eth-ipv4-tcp-options", 1, eth(0x0800, ipv4(A, B, 6, tcp_with_options(b"cip")))),
    ("eth-ipv4-options-udp", 1, eth(0x0800, ip4_raw(17, UDP_DG, vhl=0x46, opts=b"\x94\x04\0\0"))),
    ("eth-ipv4-first-fragment", 1, eth(0x0800, ipv4(A, B, 17, UDP_DG, flags_frag=0x2000))),
    ("eth-ipv4-last-fragment", 1, eth(0x0800, ip4_raw(17, b"tail-of-datagram", frag=0x0005))),
    ("eth-ipv4-icmp", 1, eth(0x0800, ip4_raw(1, ICMP_ECHO))),
    ("eth-ipv4-gre", 1, eth(0x0800, ip4_raw(47, b"\x00\x00\x08\x00" + IP_UDP))),
    ("eth-vlan-ipv4-udp", 1, eth(0x0800, IP_UDP, vlan=0x123)),
    ("eth-qinq-ipv4-tcp", 1, tagged([(0x88A8, 0x2064), (0x8100, 200)], 0x0800, IP_TCP)),
    ("eth-9100-vlan-ipv6-udp", 1, tagged([(0x9100, 7), (0x8100, 8)], 0x86DD, IP6_UDP)),
    ("eth-vlan-arp", 1, tagged([(0x8100, 5)], 0x0806, ARP)),
    ("eth-vlan-llc", 1, tagged([(0x8100, 5)], 0x0026, b"\x42\x42\x03" + bytes(35))),
    ("eth-ipv6-tcp", 1, eth(0x86DD, IP6_TCP)),
    ("eth-ipv6-udp", 1, eth(0x86DD, IP6_UDP)),
    ("eth-ipv6-hbh-dest-udp", 1, eth(0x86DD, ip6(0, HOP_BY_HOP + DEST_OPTS, UDP6))),
    ("eth-ipv6-routing-tcp", 1, eth(0x86DD, ip6(43, ROUTING, TCP6))),
    ("eth-ipv6-ah-udp", 1, eth(0x86DD, ip6(51, AH, UDP6))),
    ("eth-ipv6-first-fragment", 1, eth(0x86DD, ip6(44, FRAG_FIRST, UDP6))),
    ("eth-ipv6-later-fragment", 1, eth(0x86DD, ip6(44, FRAG_LATER, b"more bytes"))),
    ("eth-ipv6-atomic-fragment", 1, eth(0x86DD, ip6(44, FRAG_ATOMIC, UDP6))),
    ("eth-ipv6-mobility-none", 1, eth(0x86DD, ip6(135, MOBILITY, b"trailing"))),
    ("eth-ipv6-icmpv6", 1, eth(0x86DD, ip6(58, b"", b"\x80\x00\x00\x00\x00\x01\x00\x01"))),
    ("eth-ipv6-16-ext-headers", 1, eth(0x86DD, ip6(0, (b"\x00\x00" + bytes(6)) * 15
                                                   + b"\x11" + bytes(7), UDP6))),
    ("eth-ipv6-jumbo-plen0", 1, eth(0x86DD, ip6(17, b"", UDP6, plen=0))),
    ("eth-arp", 1, eth(0x0806, ARP)),
    ("eth-lldp", 1, eth(0x88CC, b"\x02\x07\x04" + bytes(20))),
    ("eth-llc", 1, mac_bytes(MAC_B) + mac_bytes(MAC_A) + b"\x00\x26\x42\x42\x03" + bytes(35)),
    ("sll-ipv4-udp", 113, sll(0x0800, IP_UDP)),
    ("sll-vlan-ipv4-tcp", 113, sll(0x8100, struct.pack("!HH", 99, 0x0800) + IP_TCP)),
    ("sll-alen4-ipv6", 113, sll(0x86DD, IP6_UDP, alen=4)),
    ("sll-arp", 113, sll(0x0806, ARP)),
    ("sll2-ipv6-tcp", 276, sll2(0x86DD, IP6_TCP)),
    ("sll2-ipv4-udp-alen0", 276, sll2(0x0800, IP_UDP, alen=0)),
    ("sll2-vlan", 276, sll2(0x8100, struct.pack("!HH", 9, 0x0800) + IP_UDP)),
    ("raw101-ipv4", 101, IP_TCP),
    ("raw101-ipv6", 101, IP6_UDP),
    ("raw12-ipv4", 12, IP_UDP),
    ("raw14-ipv6", 14, IP6_TCP),
    ("ipv4-228", 228, IP_UDP),
    ("ipv6-229", 229, ip6(0, HOP_BY_HOP + DEST_OPTS, UDP6)),
    ("null-host-order", 0, struct.pack("=I", 2) + IP_UDP),
    ("null-swapped", 0, struct.pack(">I" if sys.byteorder == "little" else "<I", 2) + IP_TCP),
    ("null-ipv6-24", 0, struct.pack("=I", 24) + IP6_UDP),
    ("null-ipv6-28", 0, struct.pack("=I", 28) + IP6_TCP),
    ("null-ipv6-30", 0, struct.pack("=I", 30) + IP6_UDP),
    ("null-ipv6-10", 0, struct.pack("=I", 10) + IP6_UDP),
    ("loop-network-order", 108, struct.pack("!I", 2) + IP_UDP),
    ("loop-little-endian", 108, struct.pack("<I", 2) + IP_TCP),
    ("loop-ipv6", 108, struct.pack("!I", 24) + IP6_TCP),
    ("loop-unknown-family", 108, struct.pack("!I", 7) + IP_UDP),
    ("unsupported-linktype", 147, IP_UDP),
]
TEMPLATE_IDS = [t[0] for t in TEMPLATES]


@pytest.mark.parametrize(("linktype", "frame"), [t[1:] for t in TEMPLATES], ids=TEMPLATE_IDS)
def test_template_and_every_truncation_match(linktype: int, frame: bytes) -> None:
    for k in range(len(frame) + 1):
        check_decode(linktype, frame[:k])
    check_decode(linktype, frame + b"\x00" * 17)  # trailer / Ethernet padding


def test_templates_decode_as_intended() -> None:
    """The templates reach the paths they are named after (so the comparisons cover them)."""
    results = {name: check_decode(lt, frame) for name, lt, frame in TEMPLATES}
    non_ip = {"eth-vlan-arp", "eth-vlan-llc", "eth-arp", "eth-lldp", "eth-llc", "sll-arp",
              "sll2-vlan"}
    errors = {"eth-ipv4-short-tcp-padded": "tcp.truncated",
              "eth-ipv4-tcp-bad-offset-padded": "tcp.bad_header_length",
              "eth-ipv4-udp-bad-length-padded": "udp.bad_length",
              "loop-unknown-family": "null.unknown_family",
              "unsupported-linktype": "link.unsupported_linktype"}
    for name, result in results.items():
        assert result == errors.get(name, "" if name in non_ip else None), name
    p = CPacket()
    assert c_decode(1, TEMPLATES[0][2], p) is None
    assert (p.sport, p.dport, p.seq, p.ack, p.tcp_flags, p.ttl, p.ident) == (
        40000, 502, 0x11223344, 0x55667788, 0x18, 128, 77)
    assert p.payload == b"\x00\x01\x00\x00\x00\x06" and p.vlan is None
    assert c_decode(1, tagged([(0x88A8, 0x2064), (0x8100, 200)], 0x0800, IP_TCP), p) is None
    assert p.vlan == 0x064 and p.l3_off == 22


# The anomaly codes the decoder can return, each reached by a hand-built frame.
ANOMALIES: list[tuple[str, int, bytes]] = [
    ("eth.truncated", 1, bytes(13)),
    ("vlan.truncated", 1, tagged([], 0x8100, b"\x00")),
    ("sll.truncated", 113, bytes(15)),
    ("sll2.truncated", 276, bytes(19)),
    ("ip.truncated", 101, b""),
    ("ip.bad_version", 101, b"\x50" + bytes(30)),
    ("null.truncated", 0, b"\x02\x00\x00"),
    ("null.unknown_family", 0, struct.pack("=I", 99) + IP_UDP),
    ("link.unsupported_linktype", 9999, IP_UDP),
    ("ipv4.truncated", 1, eth(0x0800, IP_UDP[:19])),
    ("ipv4.truncated", 101, IP_UDP[:19]),
    ("ipv4.bad_version", 228, b"\x65" + IP_UDP[1:]),
    ("ipv4.bad_header_length", 1, eth(0x0800, b"\x44" + IP_UDP[1:])),
    ("ipv4.bad_header_length", 1, eth(0x0800, ip4_raw(17, UDP_DG, total=19))),
    ("ipv6.truncated", 229, IP6_UDP[:39]),
    ("ipv6.bad_version", 229, b"\x40" + IP6_UDP[1:]),
    ("ipv6.bad_extension_header", 229, ip6(0, b"\x00\x00" + bytes(6), b"")),
    ("ipv6.bad_extension_header", 229, ip6(0, b"\x3b\x05" + bytes(6), b"")),
    ("ipv6.bad_extension_header", 229, ip6(0, (b"\x00\x00" + bytes(6)) * 16 + b"\x11" + bytes(7),
                                          UDP6)),  # 17 extension headers: one too many
    ("tcp.truncated", 1, eth(0x0800, ipv4(A, B, 6, TCP_SEG[:19]))),
    ("tcp.bad_header_length", 1, eth(0x0800, ipv4(A, B, 6, TCP_SEG[:12] + b"\x40" + TCP_SEG[13:]))),
    ("tcp.bad_header_length", 229, ip6(6, b"", TCP6[:12] + b"\xf0" + TCP6[13:])),
    ("udp.truncated", 1, eth(0x0800, ipv4(A, B, 17, UDP_DG[:7]))),
    ("udp.bad_length", 1, eth(0x0800, ipv4(A, B, 17, UDP_DG[:4] + b"\x00\x07" + UDP_DG[6:]))),
    ("icmp.truncated", 229, ip6(58, b"", b"\x80\x00\x00")),
]


@pytest.mark.parametrize(("code", "linktype", "frame"), ANOMALIES,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(ANOMALIES)])
def test_each_anomaly_code_matches(code: str, linktype: int, frame: bytes) -> None:
    assert check_decode(linktype, frame) == code


# -- hypothesis ---------------------------------------------------------------------------------
# Byte values that are lengths, versions, next-header numbers, EtherType halves and extremes.
INTERESTING = (0, 1, 2, 4, 5, 6, 8, 0x11, 0x14, 0x1C, 0x20, 0x28, 0x2C, 0x33, 0x3A, 0x3B, 0x3C,
               0x40, 0x45, 0x46, 0x4F, 0x60, 0x81, 0x86, 0x87, 0x88, 0x91, 0xA8, 0xDD, 0xF0, 0xFF)
byte_value = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255))
mutation = st.lists(st.tuples(st.integers(0, 120), byte_value), max_size=6)
template = st.integers(0, len(TEMPLATES) - 1)


def mutate(frame: bytes, changes: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(frame)
    for pos, value in changes:
        if pos < len(buf):
            buf[pos] = value
    return bytes(buf if cut is None else buf[:cut])


@pytest.mark.parametrize(("linktype", "frame"), [t[1:] for t in TEMPLATES], ids=TEMPLATE_IDS)
def test_every_header_byte_set_to_interesting_values(linktype: int, frame: bytes) -> None:
    """Systematic single-byte mutations of the first 80 bytes (all the headers)."""
    cp, pp = CPacket(), PyPacket()
    for pos in range(min(80, len(frame))):
        for value in INTERESTING:
            fill(cp, SENTINEL)
            fill(pp, SENTINEL)
            check_decode(linktype, frame[:pos] + bytes([value]) + frame[pos + 1:], cp, pp)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template, mutation, st.one_of(st.none(), st.integers(0, 200)))
def test_mutated_frames_match(index: int, changes: list[tuple[int, int]], cut: int | None) -> None:
    _, linktype, frame = TEMPLATES[index]
    check_decode(linktype, mutate(frame, changes, cut))


@settings(max_examples=600, deadline=None)
@given(template, mutation, st.sampled_from(LINKTYPES))
def test_mutated_frames_under_another_linktype_match(index: int, changes: list[tuple[int, int]],
                                                      linktype: int) -> None:
    check_decode(linktype, mutate(TEMPLATES[index][2], changes, None))


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.sampled_from((*LINKTYPES, 147, -1, 2**40)), st.integers(-(2**70), 2**70)),
       st.binary(max_size=160))
def test_random_bytes_match(linktype: int, data: bytes) -> None:
    check_decode(linktype, data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(template, mutation, st.one_of(st.none(), st.integers(0, 120))),
                min_size=1, max_size=12))
def test_sequences_into_one_packet_match(frames: list[tuple[int, list[tuple[int, int]],
                                                             int | None]]) -> None:
    """The engine reuses one Packet: what one frame leaves behind must match too."""
    cp, pp = CPacket(), PyPacket()
    for index, changes, cut in frames:
        _, linktype, frame = TEMPLATES[index]
        check_decode(linktype, mutate(frame, changes, cut), cp, pp)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=80), st.integers(0, 100), st.integers(0, 100),
       st.one_of(st.sampled_from((6, 17, 1, 58, 0, 47, 132)), st.integers(-(2**40), 2**40)))
def test_decode_l4_matches(data: bytes, off: int, end: int, proto: int) -> None:
    cp, pp = CPacket(), PyPacket()
    fill(cp, SENTINEL)
    fill(pp, SENTINEL)
    want = outcome(py_decode_l4, data, off, end, proto, pp)
    got = outcome(c_decode_l4, data, off, end, proto, cp)
    assert got == want
    assert snapshot(cp) == snapshot(pp), diff(cp, pp)


def test_decode_l4_offsets_around_every_bound() -> None:
    """Every small data length, offset and end (also past the data, where Python's struct and
    indexing raise), for each kind of L4 header."""
    base = TCP_SEG[:12] + b"\x50\x18" + b"\x00\x10\x00\x00\x00\x00" + b"\x00\x09extra"
    cp, pp = CPacket(), PyPacket()
    for size in range(len(base) + 1):
        data = base[:size]
        for off in range(size + 3):
            for end in (*range(off + 24), size + 9):
                for proto in (6, 17, 1, 58, 47):
                    fill(cp, SENTINEL)
                    fill(pp, SENTINEL)
                    want = outcome(py_decode_l4, data, off, end, proto, pp)
                    got = outcome(c_decode_l4, data, off, end, proto, cp)
                    assert got == want, (size, off, end, proto)
                    assert _snap(cp) == _snap(pp), (size, off, end, proto, diff(cp, pp))


def test_decode_l4_on_a_reassembled_datagram() -> None:
    """What the engine does after IP reassembly."""
    for proto, l4 in ((6, TCP_SEG), (17, UDP_DG), (1, ICMP_ECHO), (47, b"gre")):
        cp, pp = CPacket(), PyPacket()
        assert c_decode_l4(l4, 0, len(l4), proto, cp) == py_decode_l4(l4, 0, len(l4), proto, pp)
        assert snapshot(cp) == snapshot(pp)


# -- the corpus -----------------------------------------------------------------------------------
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(c for c in corpus() if c.label != "labels"))
def test_corpus_packets_match(capture: CorpusFile) -> None:
    """Every packet: once into packets reused across the capture (as the engine does), once
    into sentinel-filled ones."""
    cp, pp = CPacket(), PyPacket()
    cs, ps = CPacket(), PyPacket()
    packets = 0
    try:
        reader = open_capture(capture.path)
    except CaptureError as exc:
        pytest.skip(f"not readable as a capture: {exc}")
    with reader:
        for _ts, linktype, frame in reader:
            packets += 1
            want = outcome(py_decode, linktype, frame, pp)
            got = outcome(c_decode, linktype, frame, cp)
            if got != want or _snap(cp) != _snap(pp):
                pytest.fail(f"{capture.path.relative_to(PCAPS)} packet {packets}: C {got} "
                            f"Python {want}; differing fields {diff(cp, pp)}")
            fill(cs, SENTINEL)
            fill(ps, SENTINEL)
            check_decode(linktype, frame, cs, ps)
    print(f"{capture.path.relative_to(PCAPS)}: {packets} packets identical")


# -- the Packet type and the entry points --------------------------------------------------------
def test_packet_defaults_and_attributes() -> None:
    p = CPacket()
    assert snapshot(p) == snapshot(PyPacket())
    for name in FIELDS:
        value = b"\x01\x02" if name in BYTES_FIELDS else 65535 if name != "vlan" else 12
        setattr(p, name, value)
        assert getattr(p, name) == value
    p.vlan = None
    assert p.vlan is None
    p.seq = 0xFFFFFFFF
    assert p.seq == 0xFFFFFFFF
    with pytest.raises(TypeError):
        p.sport = "80"
    with pytest.raises(TypeError):
        p.vlan = "1"
    p.__init__()  # resets, like the Python class
    assert snapshot(p) == snapshot(PyPacket())
    with pytest.raises(TypeError):
        CPacket(1)

    class Sub(CPacket):  # type: ignore[misc, valid-type]
        pass

    s = Sub()
    assert c_decode(1, TEMPLATES[0][2], s) is None and s.dport == 502


def test_entry_point_argument_errors() -> None:
    p = CPacket()
    with pytest.raises(TypeError):
        c_decode(1, TEMPLATES[0][2], PyPacket())
    with pytest.raises(TypeError):
        c_decode("1", TEMPLATES[0][2], p)
    with pytest.raises(TypeError):
        c_decode(1, "not bytes", p)
    with pytest.raises(TypeError):
        c_decode(1, TEMPLATES[0][2])
    with pytest.raises(ValueError):
        c_decode_l4(TCP_SEG, -1, len(TCP_SEG), 6, p)
    with pytest.raises(TypeError):
        c_decode_l4(TCP_SEG, 0, len(TCP_SEG), 6, object())


@pytest.mark.parametrize(("name", "linktype", "frame"), TEMPLATES, ids=TEMPLATE_IDS)
def test_bytearray_and_memoryview_give_the_same_values(name: str, linktype: int,
                                                       frame: bytes) -> None:
    ref = CPacket()
    want = c_decode(linktype, frame, ref)
    for variant in (bytearray(frame), memoryview(frame)):
        p = CPacket()
        assert c_decode(linktype, variant, p) == want
        assert snapshot(p) == snapshot(ref)  # always bytes fields, whatever the input


def test_reused_address_objects_are_equal_values() -> None:
    """The C side reuses the previous packet's address/MAC objects when the bytes match."""
    p = CPacket()
    fwd = TEMPLATES[0][2]
    back = eth(0x0800, ipv4(B, A, 6, tcp_segment(B, A, 502, 40000, 1, 2, 0x10)))
    c_decode(1, fwd, p)
    src, dst = p.src, p.dst
    c_decode(1, back, p)
    assert (p.src, p.dst) == (dst, src) and p.src is dst and p.dst is src
    assert p.src == bytes([10, 0, 0, 2])


def test_no_memory_growth() -> None:
    frames = [(lt, f) for _, lt, f in TEMPLATES] * 4
    p = CPacket()
    for lt, f in frames:
        c_decode(lt, f, p)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(3):
            for lt, f in frames:
                c_decode(lt, f, p)
                c_decode_l4(f, 0, len(f), 6, p)
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(300):
            for lt, f in frames:
                c_decode(lt, f, p)
                c_decode_l4(f, 0, len(f), 6, p)
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 20_000, (first, second)


def test_netstack_uses_the_c_version_unless_told_not_to() -> None:
    assert netstack.ACCELERATED and netstack.decode is c_decode and netstack.Packet is CPacket
    code = "import otshield.netstack as n; print(n.ACCELERATED, n.decode is n.py_decode)"
    env = dict(os.environ, OTSHIELD_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


# -- the DNP3 CRC that lives in the same extension -------------------------------------------
@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.data())
def test_c_dnp3_crc_matches_python(data: bytes, draw: Any) -> None:
    from otshield.protocols.dnp3.crc import py_crc16

    start = draw.draw(st.integers(0, len(data)))
    end = draw.draw(st.integers(start, len(data)))
    assert cnet.dnp3_crc(data, start, end) == py_crc16(data, start, end)


def test_c_dnp3_crc_check_value_and_bounds() -> None:
    assert cnet.dnp3_crc(b"123456789", 0, 9) == 0xEA82  # the published check value
    with pytest.raises(ValueError):
        cnet.dnp3_crc(b"abc", 2, 5)
