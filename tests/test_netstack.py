"""Layer 2-4 decoding on annotated byte vectors, every link type met in the corpus, and fuzzing."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from enginekit import run, tags, toy_unit
from otshield.netstack import Packet, decode, format_ip
from otshield.pcapwriter import ethernet, ipv4, tcp_segment, udp_datagram

UDP_TOY = udp_datagram("10.0.0.1", "10.0.0.2", 5000, 7777, toy_unit(b"TOY:hi"))
IP_TOY = ipv4("10.0.0.1", "10.0.0.2", 17, UDP_TOY)


def decoded(linktype: int, frame: bytes) -> Packet:
    p = Packet()
    assert decode(linktype, frame, p) is None
    return p


def test_ethernet_ipv4_tcp_fields() -> None:
    seg = tcp_segment("192.168.1.10", "192.168.1.20", 49152, 502, 0x11223344, 0x55667788, 0x18,
                      b"\x00\x01")
    frame = ethernet("00:0c:29:aa:bb:cc", "00:1d:9c:00:00:01", 0x0800,
                     ipv4("192.168.1.10", "192.168.1.20", 6, seg, ttl=128))
    p = decoded(1, frame)
    assert (p.src_mac.hex(), p.dst_mac.hex()) == ("000c29aabbcc", "001d9c000001")
    assert (format_ip(p.src), format_ip(p.dst), p.proto, p.ttl) == (
        "192.168.1.10", "192.168.1.20", 6, 128)
    assert (p.sport, p.dport, p.seq, p.ack, p.tcp_flags) == (49152, 502, 0x11223344, 0x55667788,
                                                             0x18)
    assert p.payload == b"\x00\x01"


def test_qinq_keeps_outer_vlan() -> None:
    inner = struct.pack("!HH", 0x8100, 200) + struct.pack("!H", 0x0800) + IP_TOY
    frame = bytes(6) + bytes(5) + b"\x01" + struct.pack("!HH", 0x88A8, 100) + inner
    p = decoded(1, frame)
    assert p.vlan == 100 and p.dport == 7777


def test_linux_cooked_v1_and_v2() -> None:
    # SLL: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
    sll = struct.pack("!HHH", 0, 1, 6) + bytes.fromhex("020000000001") + b"\0\0" + \
        struct.pack("!H", 0x0800) + IP_TOY
    p = decoded(113, sll)
    assert p.src_mac.hex() == "020000000001" and p.dport == 7777
    # SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) pkttype(1) addr len(1) addr(8)
    sll2 = struct.pack("!HHIHBB", 0x0800, 0, 3, 1, 0, 6) + bytes.fromhex("020000000002") + \
        b"\0\0" + IP_TOY
    p = decoded(276, sll2)
    assert p.src_mac.hex() == "020000000002" and p.sport == 5000


def test_raw_ip_null_and_loop_link_types() -> None:
    assert decoded(101, IP_TOY).dport == 7777
    assert decoded(228, IP_TOY).dport == 7777
    assert decoded(0, struct.pack("=I", 2) + IP_TOY).dport == 7777      # host byte order
    assert decoded(0, struct.pack("<I", 2) + IP_TOY).dport == 7777      # written little endian
    assert decoded(108, struct.pack("!I", 2) + IP_TOY).dport == 7777    # OpenBSD loop: network


def ipv6_packet(nxt: int, ext: bytes, l4: bytes) -> bytes:
    src = ipaddress.IPv6Address("fe80::1").packed
    dst = ipaddress.IPv6Address("2001:db8::2").packed
    return struct.pack("!IHBB", 6 << 28, len(ext) + len(l4), nxt, 64) + src + dst + ext + l4


def test_ipv6_extension_headers_are_walked() -> None:
    udp = struct.pack("!HHHH", 5000, 7777, 8 + 8, 0) + toy_unit(b"TOY:hi")
    hop_by_hop = bytes([60, 0]) + bytes(6)   # next: destination options, 8 bytes
    dest_opts = bytes([17, 0]) + bytes(6)    # next: UDP
    pkt = ipv6_packet(0, hop_by_hop + dest_opts, udp)
    p = decoded(229, pkt)
    assert p.ipver == 6 and p.proto == 17 and p.dport == 7777
    assert format_ip(p.src) == "fe80::1" and format_ip(p.dst) == "2001:db8::2"


def test_ipv6_fragments_reassemble_in_engine() -> None:
    unit = toy_unit(b"TOY:" + b"w" * 1000)
    udp = struct.pack("!HHHH", 5000, 7777, 8 + len(unit), 0) + unit
    first, second = udp[:504], udp[504:]
    frag1 = bytes([17, 0]) + struct.pack("!HI", (0 << 3) | 1, 99)
    frag2 = bytes([17, 0]) + struct.pack("!HI", (504 // 8) << 3, 99)
    frames = [(1.0, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x86DD,
                             ipv6_packet(44, frag1, first))),
              (1.1, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x86DD,
                             ipv6_packet(44, frag2, second)))]
    _, events = run(frames)
    (toy,) = tags(events, "toy")
    assert toy.body == "TOY:" + "w" * 1000 and toy.src_ip == "fe80::1"


def test_snapped_ipv4_packet_is_decoded_as_far_as_it_goes() -> None:
    seg = tcp_segment("10.0.0.1", "10.0.0.2", 1, 2, 0, 0, 0x18, b"A" * 100)
    frame = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                     ipv4("10.0.0.1", "10.0.0.2", 6, seg))[:80]
    p = decoded(1, frame)
    assert p.payload == b"A" * (80 - 14 - 20 - 20)


def test_zero_total_length_is_tcp_segmentation_offload() -> None:
    # Captured on the sending host before the NIC split the segment: IPv4 total length 0.
    seg = tcp_segment("10.0.0.1", "10.0.0.2", 1234, 102, 1, 1, 0x18, b"B" * 3000)
    packet = bytearray(ipv4("10.0.0.1", "10.0.0.2", 6, seg))
    packet[2:4] = b"\x00\x00"
    p = decoded(1, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, bytes(packet)))
    assert p.payload == b"B" * 3000 and p.dport == 102


def test_bad_headers_give_named_anomaly_codes() -> None:
    p = Packet()
    eth = bytes(12) + b"\x08\x00"
    assert decode(1, eth + b"\x45" + bytes(5), p) == "ipv4.truncated"
    assert decode(1, eth + b"\x65" + bytes(19), p) == "ipv4.bad_version"
    assert decode(1, eth + b"\x43" + bytes(19), p) == "ipv4.bad_header_length"
    short_tcp = ipv4("10.0.0.1", "10.0.0.2", 6, b"\x00" * 10)
    assert decode(1, eth + short_tcp, p) == "tcp.truncated"
    bad_udp = ipv4("10.0.0.1", "10.0.0.2", 17, struct.pack("!HHHH", 1, 2, 3, 0))
    assert decode(1, eth + bad_udp, p) == "udp.bad_length"
    assert decode(147, b"anything", p) == "link.unsupported_linktype"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276]), st.binary(max_size=200))
def test_decode_never_raises(linktype: int, data: bytes) -> None:
    p = Packet()
    result = decode(linktype, data, p)
    assert result is None or isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 64), st.binary(max_size=80)), max_size=12))
def test_engine_survives_mutated_frames(mutations: list[tuple[int, bytes]]) -> None:
    base = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, IP_TOY)
    frames = []
    for i, (pos, junk) in enumerate(mutations):
        frame = base[:pos + 14] + junk + base[pos + 14 + len(junk):]
        frames.append((float(i), frame))
    _, events = run(frames)
    assert not [a for a in tags(events, "anomaly") if a.code.startswith("internal.")]
