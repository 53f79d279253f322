"""Traffic synthesis: the fast frame templates give the reference bytes, both capture formats
read back, the polled values are the process's, tshark dissects every packet of the normal
traffic cleanly, and the analysis of normal traffic with the plant's site file raises no
medium or higher alert while the inventory finds every asset with its vendor and role."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import pytest

from otshield.capture import open_capture
from otshield.detect.analyze import Analysis, AnalyzeOptions, run_analysis
from otshield.pcapwriter import (
    PcapngWriter,
    PcapWriter,
    TcpConversation,
    ethernet,
    ipv4,
    tcp_segment,
    udp_datagram,
)
from otshield.sim.model import load_plant, vendor_matches
from otshield.sim.run import simulate
from otshield.sim.traffic import PointMap
from otshield.sim.wire import Conversation, Direction, OrderedOutput
from support import tshark_dissection, tshark_fields

A, B = ("10.1.2.3", "00:11:22:33:44:55"), ("192.168.7.9", "66:77:88:99:aa:bb")


def test_templates_give_the_reference_bytes() -> None:
    rnd = random.Random(5)
    tcp = Direction(A[0], B[0], A[1], B[1], 6, 40000, 502)
    udp = Direction(A[0], B[0], A[1], B[1], 17, 40000, 53)
    for _ in range(300):
        payload = rnd.randbytes(rnd.randrange(0, 80))
        seq, ack, ident = rnd.getrandbits(32), rnd.getrandbits(32), rnd.randrange(65536)
        flags = rnd.choice([0x02, 0x12, 0x10, 0x18, 0x11, 0x14])
        assert tcp.tcp(seq, ack, flags, payload, ident) == ethernet(A[1], B[1], 0x800, ipv4(
            A[0], B[0], 6, tcp_segment(A[0], B[0], 40000, 502, seq, ack, flags, payload),
            ident=ident))
        assert udp.udp(payload, ident) == ethernet(A[1], B[1], 0x800, ipv4(
            A[0], B[0], 17, udp_datagram(A[0], B[0], 40000, 53, payload), ident=ident))


class _Frames:
    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        self.frames.append((ts, frame))


def test_conversation_matches_the_reference() -> None:
    ref_sink, fast_sink = _Frames(), _Frames()
    ref = TcpConversation(ref_sink, (A[0], 50000), (B[0], 502), A[1], B[1], 100.0, (7, 9))
    out = OrderedOutput(PcapWriter(io.BytesIO()))
    fast = Conversation(out, (A[0], 50000), (B[0], 502), A[1], B[1], 100.0, (7, 9))
    fast._sink = fast_sink  # type: ignore[assignment]
    for conv in (ref, fast):
        conv.handshake()
        conv.send(True, b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a", ack=False)
        conv.send(False, b"\x00\x01\x00\x00\x00\x05\x01\x03\x02\x01\x18", segments=[4])
        conv.close()
    assert fast_sink.frames == ref_sink.frames


def test_pcap_and_pcapng_read_back(tmp_path: Path) -> None:
    frames = [(1_767_247_200.25 + i * 0.001, bytes([i]) * (60 + i)) for i in range(5)]
    for name, cls in (("a.pcap", PcapWriter), ("a.pcapng", PcapngWriter)):
        path = tmp_path / name
        with path.open("wb") as fh:
            writer = cls(fh)
            writer.write(*frames[0])
            writer.write_batch(frames[1:])
            assert writer.count == 5
        reader = open_capture(path)
        got = [(ts, bytes(frame)) for ts, _, frame in reader]
        assert reader.error is None
        assert [f for _, f in got] == [f for _, f in frames]
        assert [ts for ts, _ in got] == pytest.approx([ts for ts, _ in frames], abs=1e-6)


def test_ordered_output_sorts_and_counts() -> None:
    fh = io.BytesIO()
    labels: list[tuple[int, float, int]] = []
    out = OrderedOutput(PcapWriter(fh), label=lambda n, ts, tag: labels.append((n, ts, tag)),
                        limit=3, batch=2)
    out.write(2.0, b"b" * 60)
    out.tag = 7
    out.write(1.0, b"a" * 60)
    out.tag = 0
    out.write(3.0, b"c" * 60)
    out.write(4.0, b"d" * 60)
    out.release(2.5)  # frames before 2.5 only
    assert out.written == 2 and out.pending == 2
    out.close()
    assert out.written == 3 and out.full  # the budget: the fourth frame is dropped
    assert labels == [(1, 1.0, 7)]
    data = fh.getvalue()[24:]
    firsts = [data[16], data[16 + 76], data[16 + 152]]
    assert bytes(firsts) == b"abc"


def test_point_map_reads_the_process() -> None:
    model = load_plant()
    process = model.new_process()
    points = PointMap(model, process)
    # T1.level 2.8 m *100, P1 running, P1.flow 60 m3/h *10, start 2.0 and stop 4.0 m *100
    assert points.words("PLC-INTAKE", "holding", 0, 5) == [280, 1, 600, 200, 400]
    assert points.words("PLC-INTAKE", "holding", 40, 2) == [0, 0]  # unmapped
    assert points.bits("PLC-INTAKE", "coil", 0, 2) == b"\x03"
    db = points.db_bytes("PLC-TREAT", 1)
    assert struct.unpack(">6f", db) == (2.0, 45.0, 36.0, 36.0, 0.0, 1.0)
    assert points.write("PLC-INTAKE", "holding", 4, 480)
    assert process.read("P1.stop_level") == 4.8
    assert not points.write("PLC-INTAKE", "holding", 0, 1)  # the level is not writable
    process.override("T1.level", 1.0, asset="PLC-INTAKE")
    assert points.words("PLC-INTAKE", "holding", 0, 1) == [100]  # spoofed report
    assert points.words("SIS-01", "holding", 0, 1) == [280]  # the safety system: the truth


# -- ten minutes of normal traffic --------------------------------------------------------------
@pytest.fixture(scope="module")
def normal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("normal")
    model = load_plant()
    capture = directory / "normal.pcap"
    simulate(model, capture, seed=11, duration=600)
    site = directory / "site.yaml"
    site.write_text(model.site_yaml())
    return capture, site


@pytest.mark.tshark
def test_tshark_dissects_every_packet(normal: tuple[Path, Path]) -> None:
    problems, seen = tshark_dissection(normal[0])
    assert not problems, problems[:5]
    assert {"modbus", "s7comm", "enip", "cip", "dnp3", "iec60870_104", "iec60870_asdu", "dns",
            "kerberos", "smb2", "ntlmssp", "http", "tls", "rdp"} <= seen


@pytest.mark.tshark
def test_polled_values_are_the_process_values(normal: tuple[Path, Path]) -> None:
    rows = tshark_fields(normal[0], ["modbus.regval_uint16"],
                         "ip.src==10.10.30.11 && modbus.func_code==3 && modbus.regval_uint16")
    first = [int(v) for v in rows[0][1].split(",")]
    # the first poll at the start: T1 2.80 m, P1 on, 60.0 m3/h, 2.00/4.00 m, auto, on,
    # in 60.0, out 36.0, PLC running
    assert first == [280, 1, 600, 200, 400, 1, 1, 600, 360, 1]
    levels = [int(r[1].split(",")[0]) for r in rows]
    # T1 rises 6 m/h to 4.0 m (after 720 s: not within 600 s); 1 cm every 6 s
    assert levels[-1] == pytest.approx(280 + 100 * 6 * 600 / 3600, abs=2)
    assert levels == sorted(levels)


@pytest.fixture(scope="module")
def analysis(normal: tuple[Path, Path]) -> Analysis:
    return run_analysis([normal[0]], AnalyzeOptions(site=str(normal[1]), min_severity="low"))


def test_normal_traffic_raises_no_medium_alert(analysis: Analysis) -> None:
    assert not analysis.problems
    loud = [(a.severity, a.rule_id, a.title) for a in analysis.alerts
            if a.severity not in ("info", "low")]
    assert not loud


def test_inventory_finds_every_asset(analysis: Analysis) -> None:
    model = load_plant()
    by_ip = {ip: a for a in analysis.inventory.assets for ip in a.ips}
    expected_role = {"plc": "controller", "rtu": "controller", "sis": "controller",
                     "hmi": "hmi", "scada": "hmi", "historian": "historian",
                     "ews": "engineering_workstation", "dc": "it_server",
                     "server": "it_server", "office_pc": "it_host", "jump_host": "jump_host"}
    for asset in model.assets.values():
        found = by_ip.get(asset.ip)
        assert found is not None, asset.name
        assert found.name == asset.name
        assert vendor_matches(asset.vendor, found.vendor), (asset.name, found.vendor)
        assert expected_role[asset.kind] in [r.role for r in found.roles], asset.name
        assert found.macs == [asset.mac], asset.name
