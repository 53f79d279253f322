"""The engine end to end on in-memory frames: flows, framing, detection, gaps, containment."""

from __future__ import annotations

import random
import struct
from pathlib import Path

from enginekit import FrameList, run, tags, toy_unit
from otshield.config import Settings
from otshield.engine import Engine
from otshield.pcapwriter import TcpConversation, ethernet, ipv4, tcp_segment, udp_datagram

UNITS = [b"TOY:hello", b"TOY:" + b"x" * 3000, b"TOY:short", b"TOY:end"]


def conversation(segments: str = "whole", port: int = 7777, seed: int = 1) -> FrameList:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", port))  # type: ignore[arg-type]
    conv.handshake()
    rnd = random.Random(seed)
    payload = b"".join(toy_unit(u) for u in UNITS)
    if segments == "whole":
        conv.send(True, payload)
    elif segments == "bytes":
        conv.send(True, payload, segments=[1] * len(payload))
    else:
        sizes = [rnd.randint(1, 200) for _ in range(len(payload))]
        conv.send(True, payload, segments=sizes)
    conv.send(False, toy_unit(b"TOY:reply"))
    conv.close()
    return fl


def bodies(events: list[object]) -> list[tuple[str, bool]]:
    return [(e.body, e.from_client) for e in tags(events, "toy")]  # type: ignore[attr-defined]


def test_units_are_framed_identically_whatever_the_segmentation() -> None:
    expected = [(u.decode(), True) for u in UNITS] + [("TOY:reply", False)]
    for mode in ("whole", "bytes", "random"):
        _, events = run(conversation(mode).frames)
        assert bodies(events) == expected, mode
        assert not tags(events, "anomaly"), mode


def test_flow_record_counts_and_direction() -> None:
    _, events = run(conversation().frames)
    (flow,) = tags(events, "flow")
    assert (flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port) == (
        "10.0.0.1", 40000, "10.0.0.2", 7777)
    assert flow.protocol == "toy"
    assert flow.opened_by_src is True
    assert flow.bytes_to_server == sum(len(toy_unit(u)) for u in UNITS)
    assert flow.bytes_to_client == len(toy_unit(b"TOY:reply"))
    assert flow.state == "closed"
    assert flow.src_mac == "02:00:00:00:00:01"
    assert flow.community_id.startswith("1:")


def test_community_id_matches_published_vector() -> None:
    # Community ID spec test vector: 128.232.110.120:34855 -> 66.35.250.204:80 TCP, seed 0.
    from ipaddress import IPv4Address

    from otshield.flows import community_id

    cid = community_id(IPv4Address("128.232.110.120").packed, 34855,
                       IPv4Address("66.35.250.204").packed, 80, 6)
    assert cid == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def test_probe_claims_flow_on_unregistered_port() -> None:
    _, events = run(conversation(port=9999).frames)
    assert len(bodies(events)) == 5
    assert tags(events, "flow")[0].protocol == "toy"


def test_probe_with_one_byte_segments_on_unregistered_port() -> None:
    _, events = run(conversation("bytes", port=9999).frames)
    assert len(bodies(events)) == 5


def test_unclaimed_flow_gets_port_guess() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 2404))  # type: ignore[arg-type]
    conv.handshake().send(True, b"\x68\x04\x07\x00\x00\x00").close()
    _, events = run(fl.frames)
    assert tags(events, "flow")[0].protocol == "guess:iec104"


def test_out_of_order_and_retransmitted_segments_are_reassembled() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake()
    data = toy_unit(b"TOY:abcdefghij") + toy_unit(b"TOY:second")
    conv.send_raw(True, data[10:], 10)     # second part first
    conv.send_raw(True, data[:12], 0)      # first part, overlapping 2 bytes
    conv.send_raw(True, data[:5], 0)       # pure retransmission
    conv.advance(True, len(data))
    conv.send(False, toy_unit(b"TOY:ok"))
    conv.close()
    _, events = run(fl.frames)
    assert [b for b, _ in bodies(events)] == ["TOY:abcdefghij", "TOY:second", "TOY:ok"]
    assert not tags(events, "anomaly")


def test_conflicting_overlap_is_reported() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake()
    data = toy_unit(b"TOY:abcdefghij")
    conv.send_raw(True, data[8:], 8)
    conv.send_raw(True, b"ZZZZ" + data[12:], 8)  # same place, other bytes: evasion attempt
    conv.send_raw(True, data[:8], 0)
    conv.advance(True, len(data)).close()
    _, events = run(fl.frames)
    codes = [a.code for a in tags(events, "anomaly")]
    assert "tcp.overlap_mismatch" in codes
    assert bodies(events) == [("TOY:abcdefghij", True)]  # first-arrived bytes kept


def test_lost_segment_is_a_gap_and_decoding_resumes() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake()
    conv.send(True, toy_unit(b"TOY:one"))
    lost = toy_unit(b"TOY:lost")
    conv.advance(True, len(lost))          # never sent: capture loss
    conv.send(True, toy_unit(b"TOY:three"))  # the ACK from the server covers the hole
    conv.close()
    _eng, events = run(fl.frames)
    assert [b for b, _ in bodies(events)] == ["TOY:one", "TOY:three"]
    gaps = [a for a in tags(events, "anomaly") if a.code == "tcp.gap"]
    assert len(gaps) == 1 and gaps[0].detail.startswith(f"{len(lost)} bytes")
    assert tags(events, "flow")[0].gaps == 1


def test_ooo_limit_declares_gap_and_bounds_memory() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake()
    for i in range(1, 6):  # held segments beyond a hole that is never filled, no ACKs
        conv.send_raw(True, toy_unit(b"TOY:" + bytes([65 + i]) * 996), i * 1002)
    settings = Settings(tcp_max_ooo_bytes_per_direction=3000)
    _, events = run(fl.frames, settings)
    assert any(a.code == "tcp.gap" for a in tags(events, "anomaly"))
    assert len(bodies(events)) == 5


def test_decoder_exception_is_contained() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake().send(True, toy_unit(b"BOOM")).send(True, toy_unit(b"TOY:after")).close()
    _, events = run(fl.frames)
    errors = [a for a in tags(events, "anomaly") if a.code == "internal.decoder_error"]
    assert len(errors) == 1 and "RuntimeError: toy decoder bug" in errors[0].detail
    assert bodies(events) == [("TOY:after", True)]


def test_malformed_framing_is_reported_and_decoding_resyncs() -> None:
    fl = FrameList()
    conv = TcpConversation(fl, ("10.0.0.1", 40000), ("10.0.0.2", 7777))  # type: ignore[arg-type]
    conv.handshake().send(True, toy_unit(b"TOY:a")).send(True, b"\xff\xff junk")
    conv.send(True, toy_unit(b"TOY:b")).close()
    _, events = run(fl.frames)
    assert [a.code for a in tags(events, "anomaly")] == ["toy.bad_length"]
    assert [b for b, _ in bodies(events)] == ["TOY:a", "TOY:b"]


def test_midstream_flow_guesses_client_from_ports() -> None:
    frames = []
    seg = tcp_segment("10.0.0.2", "10.0.0.1", 7777, 40000, 500, 100, 0x18, toy_unit(b"TOY:r"))
    frames.append((1.0, ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800,
                                 ipv4("10.0.0.2", "10.0.0.1", 6, seg))))
    _, events = run(frames)
    (flow,) = tags(events, "flow")
    assert flow.dst_port == 7777 and flow.opened_by_src is False and flow.state == "midstream"
    assert bodies(events) == [("TOY:r", False)]


def test_udp_datagrams_and_fragment_reassembly() -> None:
    body = toy_unit(b"TOY:" + b"u" * 3000)
    dgram = udp_datagram("10.0.0.1", "10.0.0.2", 5000, 7777, body)
    frames = []
    ident = 77
    pieces = [dgram[i:i + 1480] for i in range(0, len(dgram), 1480)]
    for i, piece in enumerate(reversed(pieces)):  # arrive in reverse order
        idx = len(pieces) - 1 - i
        more = 0x2000 if idx < len(pieces) - 1 else 0
        pkt = ipv4("10.0.0.1", "10.0.0.2", 17, piece, ident=ident, flags_frag=more | idx * 185)
        frames.append((1.0 + i, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, pkt)))
    _, events = run(frames)
    assert bodies(events) == [("TOY:" + "u" * 3000, True)]
    assert tags(events, "flow")[0].transport == "udp"


def test_overlapping_fragments_are_reported() -> None:
    dgram = udp_datagram("10.0.0.1", "10.0.0.2", 5000, 7777, toy_unit(b"TOY:" + b"v" * 40))
    a = ipv4("10.0.0.1", "10.0.0.2", 17, dgram[:24], ident=5, flags_frag=0x2000)
    b = ipv4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 8 + dgram[16:], ident=5, flags_frag=1)
    frames = [(1.0, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, p)) for p in (a, b)]
    _, events = run(frames)
    codes = [x.code for x in tags(events, "anomaly")]
    assert "ip.fragment_overlap" in codes and "ip.fragment_overlap_mismatch" in codes


def test_vlan_arp_and_truncated_frames() -> None:
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, bytes.fromhex("020000000009"),
                      bytes([10, 0, 0, 9]), bytes.fromhex("020000000001"), bytes([10, 0, 0, 1]))
    frames = [
        (1.0, ethernet("02:00:00:00:00:09", "02:00:00:00:00:01", 0x0806, arp, vlan=12)),
        (2.0, b"\x00\x01\x02"),  # runt
        (3.0, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, b"\x45\x00")),
    ]
    _, events = run(frames)
    (a,) = tags(events, "arp")
    assert (a.operation, a.sender_ip, a.sender_mac, a.vlan) == (
        "reply", "10.0.0.9", "02:00:00:00:00:09", 12)
    assert [x.code for x in tags(events, "anomaly")] == ["eth.truncated", "ipv4.truncated"]


def test_flow_table_is_bounded() -> None:
    frames = []
    for i in range(50):
        d = udp_datagram("10.0.0.1", "10.0.1.1", 1000 + i, 9, b"x")
        frames.append((1.0 + i, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                                         ipv4("10.0.0.1", "10.0.1.1", 17, d))))
    eng, events = run(frames, Settings(max_flows=10))
    assert len(tags(events, "flow")) == 50
    assert {f.end_reason for f in tags(events, "flow")} == {"evicted", "end_of_input"}
    assert any(a.code == "flow.table_full" for a in tags(events, "anomaly"))
    assert len(eng.table.flows) == 0


def test_idle_flows_time_out_in_packet_time() -> None:
    frames = []
    for i, t in enumerate((1.0, 2.0, 500.0)):
        d = udp_datagram("10.0.0.1", "10.0.1.1", 1000 + i, 9, b"x")
        frames.append((t, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                                   ipv4("10.0.0.1", "10.0.1.1", 17, d))))
    _, events = run(frames)
    reasons = [f.end_reason for f in tags(events, "flow")]
    assert reasons == ["idle_timeout", "idle_timeout", "end_of_input"]


def test_total_out_of_order_budget_is_enforced_across_flows() -> None:
    fl = FrameList()
    for n in range(4):  # four flows, each holding data behind a hole that never fills
        conv = TcpConversation(fl, (f"10.0.0.{n + 1}", 40000), ("10.0.9.9", 7777))  # type: ignore[arg-type]
        conv.handshake()
        conv.send_raw(True, toy_unit(b"TOY:" + b"z" * 996), 10)
    settings = Settings(tcp_max_ooo_bytes_total=2500)
    eng, events = run(fl.frames, settings)
    codes = [a.code for a in tags(events, "anomaly")]
    assert "tcp.reassembly_memory" in codes
    assert eng._ooo_total == 0  # everything flushed by the end


def test_feed_captures_calls_after_n_packets_across_files(tmp_path: Path) -> None:
    from otshield.demo import write_demo_capture
    from otshield.engine import feed_captures

    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    n_a, n_b = write_demo_capture(a), write_demo_capture(b, seed=8)
    engine = Engine(lambda e: None, Settings())
    seen: list[int] = []
    problems = feed_captures(engine, [a, b],
                             after=(n_a + 5, lambda: seen.append(engine.stats.packets)))
    assert problems == []
    assert seen == [n_a + 5]  # once, in the second file, after exactly that many packets
    assert engine.stats.packets == n_a + n_b
