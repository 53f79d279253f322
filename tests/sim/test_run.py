"""The simulator run: the scheduler interleaves patterns in time, the capture is in time order
with memory held flat, a scenario's stage labels become ground truth, the same seed writes the
same bytes, and the command line writes, checks and shows plants."""

from __future__ import annotations

import argparse
import io
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from otshield.capture import open_capture
from otshield.demo import modbus
from otshield.errors import ConfigError
from otshield.pcapwriter import PcapWriter
from otshield.sim.cli import register
from otshield.sim.model import load_plant, parse_plant
from otshield.sim.run import Simulator, simulate
from otshield.sim.scenario import ScenarioContext, SimAsset, StageSpec
from otshield.sim.wire import OrderedOutput

TINY = """\
plant: Tiny
start: 1000.0
zones:
  - {name: Cell, level: 1, subnet: 10.1.1.0/24}
assets:
  - {name: A, kind: hmi, zone: Cell, ip: 10.1.1.1, mac: "00:d0:c9:00:00:01", vendor: Advantech}
  - {name: B, kind: plc, zone: Cell, ip: 10.1.1.2, mac: "00:1b:1b:00:00:02", vendor: Siemens}
  - {name: C, kind: plc, zone: Cell, ip: 10.1.1.3, mac: "00:1b:1b:00:00:03", vendor: Siemens}
traffic:
  - {kind: arp, client: A, server: B, period: 1.0}
  - {kind: arp, client: A, server: C, period: 1.5, offset: 0.2}
"""


def _frames(path: Path) -> list[tuple[float, bytes]]:
    reader = open_capture(path)
    out = [(ts, bytes(frame)) for ts, _, frame in reader]
    assert reader.error is None
    return out


def test_scheduler_interleaves_patterns_in_time(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pcap"
    result = simulate(parse_plant(TINY), path, duration=3.5)
    frames = _frames(path)
    requests = [(ts - 1000.0, frame[41]) for ts, frame in frames if frame[21] == 1]
    # B every 1.0 s from 0; C every 1.5 s from 0.2; the last target byte names who is asked
    assert [(round(t, 3), who) for t, who in requests] == [
        (0.0, 2), (0.2, 3), (1.0, 2), (1.7, 3), (2.0, 2), (3.0, 2), (3.2, 3)]
    assert len(frames) == 14 and result.packets == 14
    assert result.end == pytest.approx(1003.2002)


class _Write:
    """A trivial scenario: a rogue laptop writes a stop level to the intake PLC, waits five
    seconds inside the stage, and closes the connection."""

    id = "trivial_write"
    title = "trivial write"
    summary = "a rogue write"
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="write", title="rogue write", techniques=("T0855", "T0836"),
                  rule="ot.modbus.write"),)

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        rogue = ctx.add_host(SimAsset(name="ROGUE", ip="10.10.30.99", mac="3c:52:82:1e:00:99"))
        plc = ctx.asset("PLC-INTAKE")
        with ctx.stage("write", rogue, plc):
            conv = ctx.tcp(rogue, plc, 502)
            pdu = struct.pack("!BHH", 6, 4, 480)
            conv.send(True, modbus(1, 1, pdu))
            conv.send(False, modbus(1, 1, pdu))
            yield 5.0
            conv.close()
        yield 1.0


class _Failing(_Write):
    id = "failing"

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        yield 1.0
        raise RuntimeError("scenario bug")


def test_stage_labels_become_ground_truth(tmp_path: Path) -> None:
    model = load_plant()
    path = tmp_path / "s.pcap"
    result = simulate(model, path, scenario=_Write(), seed=2, scenario_start=30.0)
    assert result.complete and result.scenario == "trivial_write"
    [truth] = result.truth
    assert (truth.stage, truth.src, truth.dst) == ("write", "10.10.30.99", "10.10.30.11")
    assert truth.techniques == ("T0855", "T0836") and truth.title == "rogue write"
    assert truth.ts == pytest.approx(model.start + 30.0)
    assert truth.end_ts >= truth.ts + 5.0
    frames = _frames(path)
    rogue = struct.pack("!4B", 10, 10, 30, 99)
    marked = [i for i, (_, f) in enumerate(frames, 1) if rogue in (f[26:30], f[30:34])]
    # handshake 3, request + ACK, response + ACK, teardown 3
    assert len(marked) == 10
    assert (marked[0], marked[-1]) == (truth.first_frame, truth.last_frame)
    assert truth.last_frame - truth.first_frame + 1 > 10  # normal polling went on between
    # the run ends a minute after the scenario
    assert result.end == pytest.approx(model.start + 36.0 + 60.0, abs=1.0)


def test_only_the_scenarios_packets_are_labelled() -> None:
    model = load_plant()
    fh = io.BytesIO()
    labelled: list[int] = []
    out = OrderedOutput(PcapWriter(fh))
    sim = Simulator(model, out, 2, _Write())

    def label(n: int, ts: float, tag: int) -> None:
        labelled.append(n)
        sim.label(n, ts, tag)

    out.label = label
    assert sim.run(end=model.start + 60, scenario_start=10.0)
    out.close()
    assert len(labelled) == 10
    assert sim.truth()[0].first_frame == labelled[0]


def test_memory_stays_flat() -> None:
    model = load_plant()

    class Watch(OrderedOutput):
        most = 0

        def release(self, until: float) -> None:
            Watch.most = max(Watch.most, self.pending)
            super().release(until)

    out = Watch(PcapWriter(io.BytesIO()), limit=10_000)
    Simulator(model, out, 1).run(end=None, scenario_start=0.0)
    out.close()
    assert out.written == 10_000
    assert Watch.most < 200  # only the frames of the current moment are held


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    model = load_plant()
    paths = {}
    for name, seed, fmt in (("a", 3, "pcap"), ("b", 3, "pcap"), ("c", 4, "pcap"),
                            ("d", 3, "pcapng"), ("e", 3, "pcapng")):
        paths[name] = tmp_path / f"{name}.{fmt}"
        simulate(model, paths[name], seed=seed, duration=90, fmt=fmt)  # type: ignore[arg-type]
    data = {k: p.read_bytes() for k, p in paths.items()}
    assert data["a"] == data["b"]
    assert data["a"] != data["c"]
    assert data["d"] == data["e"]
    assert [f for _, f in _frames(paths["a"])] == [f for _, f in _frames(paths["d"])]


def test_capture_is_in_time_order_and_budgets_hold(tmp_path: Path) -> None:
    model = load_plant()
    path = tmp_path / "n.pcap"
    result = simulate(model, path, packets=5000, seed=9)
    times = [ts for ts, _ in _frames(path)]
    assert len(times) == 5000 == result.packets
    assert times == sorted(times)
    result = simulate(model, path, duration=30.0)
    assert result.end <= model.start + 30.5


def test_bad_arguments_and_atomic_writes(tmp_path: Path) -> None:
    model = load_plant()
    path = tmp_path / "x.pcap"
    with pytest.raises(ConfigError, match="format"):
        simulate(model, path, fmt="erf")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="duration"):
        simulate(model, path, duration=0)
    with pytest.raises(ConfigError, match="packet count"):
        simulate(model, path, packets=0)
    path.write_bytes(b"keep me")
    with pytest.raises(RuntimeError, match="scenario bug"):
        simulate(model, path, scenario=_Failing(), scenario_start=1.0)
    assert path.read_bytes() == b"keep me"  # the old file survives whole
    assert [p.name for p in tmp_path.iterdir()] == ["x.pcap"]  # no temporary file left


def test_unknown_assets_and_stages() -> None:
    model = load_plant()
    sim = Simulator(model, OrderedOutput(PcapWriter(io.BytesIO())), 1, _Write())
    with pytest.raises(KeyError, match="known: DC-01"):
        sim.asset("PLC-9")
    with pytest.raises(KeyError, match="not one of the scenario"), sim.stage(
            "nope", sim.asset("HMI-01"), sim.asset("PLC-INTAKE")):
        pass


# -- command line -------------------------------------------------------------------------------
def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    rc = args.func(args, console, console)
    return rc, buf.getvalue()


def test_cli_write_check_show(tmp_path: Path) -> None:
    out, truth, site = tmp_path / "c.pcapng", tmp_path / "t.json", tmp_path / "s.yaml"
    rc, text = _cli("sim", "write", "-o", str(out), "--duration", "20", "--truth", str(truth),
                    "--site", str(site), "--seed", "5")
    assert rc == 0 and "packets" in text and "pcapng" in text
    assert out.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    doc = json.loads(truth.read_text())
    assert doc["seed"] == 5 and doc["truth"] == [] and doc["format"] == "pcapng"
    assert "conduits:" in site.read_text()
    rc, text = _cli("sim", "show")
    assert rc == 0 and "Riverside water works" in text and "PLC-INTAKE" in text
    plant = tmp_path / "p.yaml"
    plant.write_text("plant: x\nzones: []\nassets: []\nextra: 1\n")
    with pytest.raises(ConfigError, match=r"p.yaml:4: unknown key 'extra'"):
        _cli("sim", "check", str(plant))
    plant.write_text("plant: x\nzones: []\nassets: []\n")
    rc, text = _cli("sim", "check", str(plant))
    assert rc == 0 and "OK" in text
    with pytest.raises(ConfigError, match="does not exist"):
        _cli("sim", "write", "-o", str(tmp_path / "no" / "x.pcap"))
