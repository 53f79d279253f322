"""The live range for real: namespaces, PLC servers, HMI polling, live capture with detection on
the bridge, attacks from the attacker namespace, and a clean teardown.

Everything runs in network namespaces the tests create (names ``otsr<6 hex>-...``, unique per
range, so parallel workers never collide) with addresses of the built-in plan (10.61.0.0/16)
that exist only inside them. Skipped with the reason when not root or when namespaces are not
allowed here.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from otshield.detect.alert import Alert
from otshield.events import Event
from otshield.protocols.modbus.events import ModbusEvent
from otshield.sim.range.netns import (
    NETNS_DIR,
    HostAddress,
    RangeError,
    build_network,
    find_ranges,
    namespace_pids,
    new_range_id,
    require_namespaces,
)
from otshield.sim.range.plan import default_plan
from otshield.sim.range.runner import LiveRange
from otshield.sim.range.services import Iec104Rtu

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def can_range() -> None:
    try:
        require_namespaces()
    except RangeError as exc:
        pytest.skip(f"the live range cannot run here: {exc}")


def _links_named(text: str) -> list[str]:
    return [name for _, name in socket.if_nameindex() if text in name]


def _assert_gone(range_id: str) -> None:
    assert range_id not in find_ranges()
    assert not [p for p in NETNS_DIR.glob(f"{range_id}*")] if NETNS_DIR.exists() else True
    assert _links_named(range_id) == []  # nothing ever lands in the test's own namespace


def test_network_is_built_and_leftovers_of_a_crash_are_removed(can_range: None) -> None:
    rid = new_range_id()
    net = build_network(rid, [HostAddress("plc", "10.61.3.11", 24, "00:80:f4:00:00:11"),
                              HostAddress("hmi", "10.61.2.10", 24, "00:0c:29:00:00:10")],
                        ["10.61.2.0/24", "10.61.3.0/24"])
    work = Path(tempfile.gettempdir()) / f"{rid}-site"  # a crashed range's site directory
    work.mkdir()
    try:
        assert sorted(find_ranges()[rid]) == sorted([net.switch_ns, net.host("plc").ns,
                                                      net.host("hmi").ns])
        # a process left running inside a host namespace, as after a crash of the range
        sleeper = subprocess.Popen(["ip", "netns", "exec", net.host("hmi").ns, "sleep", "60"])
        deadline = time.monotonic() + 10
        while not namespace_pids(net.host("hmi").ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert namespace_pids(net.host("hmi").ns) == [sleeper.pid]
        # hosts of different zones reach each other on the shared segment
        out = subprocess.run(["ip", "-n", net.host("hmi").ns, "route", "get", "10.61.3.11"],
                             capture_output=True, text=True, check=True).stdout
        assert "dev eth0" in out and "via" not in out
        mac = subprocess.run(["ip", "-n", net.host("plc").ns, "link", "show", "eth0"],
                             capture_output=True, text=True, check=True).stdout
        assert "00:80:f4:00:00:11" in mac
    finally:
        parser = argparse.ArgumentParser()
        from otshield.sim.range import cli as range_cli

        range_cli.register(parser.add_subparsers())
        args = parser.parse_args(["range", "down", rid, "--state-dir", "/nonexistent-otsr"])
        assert args.func(args, Console(), Console(stderr=True)) == 0
    assert sleeper.wait(10) is not None  # ended by down
    _assert_gone(rid)
    assert not work.exists()


def test_live_range_polling_capture_attacks_and_teardown(can_range: None) -> None:
    plan = default_plan()
    events: list[Event] = []
    rng = LiveRange(plan)
    rid = rng.range_id
    try:
        rng.up()
        rng.watch(on_event=events.append)
        hmi, plc1, s7 = plan.host("hmi-01"), plan.host("plc-1"), plan.host("s7-plc")
        attacker = plan.host("attacker-01")

        # -- the HMI's polling reaches the PLCs, and the live capture decodes it
        def polled(evs: list[Event]) -> list[ModbusEvent]:
            return [e for e in evs if isinstance(e, ModbusEvent) and e.function_code == 3
                    and e.src_ip == hmi.ip and e.dst_ip == plc1.ip]

        deadline = time.monotonic() + 15
        while len(polled(list(events))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        seen = polled(list(events))
        assert len(seen) >= 3, [type(e).__name__ for e in events[:20]]
        first = seen[0]
        assert (first.unit_id, first.address, first.quantity, first.status) == (1, 0, 10, "ok")
        assert first.registers is not None
        level_reg = first.registers[0]
        assert abs(level_reg / 100 - 2.0) < 0.5  # tank1 starts at 2.0 m and moves slowly
        s7_reads = [e for e in list(events) if type(e).__name__.startswith("S7")
                    and e.src_ip == hmi.ip and e.dst_ip == s7.ip]
        polls = {(p.spec.client, p.spec.server): p.stats for p in rng.pollers}
        deadline = time.monotonic() + 10
        while not s7_reads and time.monotonic() < deadline:
            time.sleep(0.2)
            s7_reads = [e for e in list(events) if type(e).__name__.startswith("S7")
                        and e.src_ip == hmi.ip and e.dst_ip == s7.ip]
        assert s7_reads
        assert polls[("hmi-01", "plc-1")].ok >= 3 and polls[("hmi-01", "plc-1")].failed == 0
        assert polls[("hmi-01", "s7-plc")].ok >= 1
        link = polls[("hmi-01", "rtu-104")]  # the IEC 104 link: open, and reporting the tank
        deadline = time.monotonic() + 10
        while not link.last and time.monotonic() < deadline:
            time.sleep(0.2)
        assert link.ok >= 1 and link.last and abs(link.last[0] - 2.0) < 0.5
        assert rng.alerts() == []  # normal polling raises nothing with the range's site file

        # -- an unauthorised write changes the process and is alerted with its technique
        assert rng.plant is not None
        result = rng.attack("modbus-write")
        assert result.truth.src == attacker.ip and result.truth.dst == plc1.ip
        assert result.effects == {"pump1.running.before": 1.0, "pump1.running.after": 0.0}
        assert rng.plant.read("pump1.running") == 0.0 and rng.plant.read("pump1.auto") == 0.0

        def has(rule: str) -> bool:
            return any(a.rule_id == rule for a in rng.alerts())

        alerts = rng.wait_alerts(lambda al: any(a.rule_id == "ot.modbus.write_unauthorised"
                                                for a in al), timeout=10)
        write = next(a for a in alerts if a.rule_id == "ot.modbus.write_unauthorised")
        assert "T0855" in write.techniques
        assert (write.src_ip, write.dst_ip) == (attacker.ip, plc1.ip)
        assert result.truth.ts - 1 <= write.first_seen <= result.truth.end_ts + 1  # wall clock

        # -- S7 STOP from the attacker: the controller stops in the process, and it is alerted
        rng.attack("s7-stop")
        deadline = time.monotonic() + 5
        while rng.plant.read("s7-plc.running") != 0.0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rng.plant.read("s7-plc.running") == 0.0
        rng.wait_alerts(lambda al: any(a.rule_id == "ot.s7.cpu_stop" for a in al), timeout=10)
        assert has("ot.s7.cpu_stop")

        # -- a rogue IEC 104 controlling station interrogates the RTU, then opens its breakers
        rtu = plan.host("rtu-104")
        result = rng.attack("iec104-interrogation")
        assert result.effects == {"points": 3.0}  # two floats and a single point reported
        result = rng.attack("iec104-command")
        assert result.effects == {"commands": 2.0, "confirmed": 2.0}
        rtu_service = rng.plcs["rtu-104"]
        assert isinstance(rtu_service, Iec104Rtu)
        assert [ioa for _, ioa, _ in rtu_service.commands] == [3001, 3002]
        alerts = rng.wait_alerts(lambda al: {"ot.iec104.unknown_master", "ot.iec104.command"}
                                 <= {a.rule_id for a in al}
                                 or {"ot.iec104.unknown_master",
                                     "ot.iec104.command_unauthorised"}
                                 <= {a.rule_id for a in al}, timeout=10)
        master = next(a for a in alerts if a.rule_id == "ot.iec104.unknown_master")
        assert (master.src_ip, master.dst_ip) == (attacker.ip, rtu.ip)
        assert "T0848" in master.techniques
        assert any(a.rule_id.startswith("ot.iec104.command") and "T0855" in a.techniques
                   for a in alerts)

        # -- the sweep and the flood
        rng.attack("modbus-sweep")
        rng.attack("modbus-flood")
        wanted = {"ot.modbus.unit_id_sweep", "ot.modbus.register_sweep",
                  "ot.modbus.request_flood"}
        alerts = rng.wait_alerts(lambda al: wanted <= {a.rule_id for a in al}, timeout=10)
        by_rule: dict[str, Alert] = {a.rule_id: a for a in alerts}
        assert wanted <= set(by_rule)
        assert "T0846" in by_rule["ot.modbus.unit_id_sweep"].techniques
        assert "T0814" in by_rule["ot.modbus.request_flood"].techniques
        assert all(by_rule[r].src_ip == attacker.ip for r in wanted)
        watcher = rng.watcher
        assert watcher is not None and watcher.error is None
        assert watcher.capture.stats().dropped == 0
    finally:
        removed = rng.down()
    assert len(removed) == len(plan.hosts) + 1
    _assert_gone(rid)
    assert not any(t.is_alive() and t.name.startswith(("poll-", "modbus-", "s7-", "watch-otsr"))
                   for t in threading.enumerate())


@pytest.fixture
def range_up(can_range: None) -> Iterator[LiveRange]:
    rng = LiveRange(default_plan())
    try:
        yield rng.up()
    finally:
        rng.down()


def test_otshield_live_detect_on_the_range_bridge(range_up: LiveRange, tmp_path: Path) -> None:
    """``otshield live BRIDGE --netns NS --detect --site F -o DIR`` prints the alert and writes
    the events."""
    from otshield.livewatch import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out_dir = tmp_path / "events"
    args = parser.parse_args(["live", range_up.bridge, "--netns", range_up.switch_ns,
                              "--detect", "--site", str(range_up.site_file()), "-s", "6",
                              "-o", str(out_dir)])
    console = Console(record=True, width=200)
    capturing = threading.Event()

    class Err(io.StringIO):
        def write(self, text: str) -> int:
            if "capturing on" in text:
                capturing.set()
            return super().write(text)

    rc: list[int] = []
    runner = threading.Thread(target=lambda: rc.append(args.func(
        args, console, Console(file=Err(), width=200))))
    runner.start()
    assert capturing.wait(60)  # rules loaded and the capture open: the 6 s run
    time.sleep(0.5)
    range_up.attack("s7-stop")
    runner.join(30)
    assert rc == [0]
    text = console.export_text()
    assert "ot.s7.cpu_stop" in text and "T0881" in text
    assert (out_dir / "alert.jsonl").exists() and (out_dir / "modbus.jsonl").exists()
    assert os.path.getsize(out_dir / "modbus.jsonl") > 0


def test_range_cli_detached_up_status_attack_down(can_range: None, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``range up --detach`` in the background, ``status``, ``attack -o``, ``down``."""
    import json

    from otshield.sim.range import cli as range_cli

    parser = argparse.ArgumentParser()
    range_cli.register(parser.add_subparsers())
    state = tmp_path / "state"

    def run(*argv: str) -> int:
        args = parser.parse_args(["range", *argv, "--state-dir", str(state)])
        rc: int = args.func(args, Console(width=200), Console(stderr=True))
        return rc

    assert run("up", "--detach", "--builtin") == 0
    rid = capsys.readouterr().out.strip().splitlines()[-1]
    try:
        assert rid in find_ranges()
        time.sleep(2.5)  # the range writes its counters every 2 s
        assert run("status", rid, "--format", "json") == 0
        rows = json.loads(capsys.readouterr().out)
        assert [(r["range"], r["state"], r["namespaces"]) for r in rows] == [
            (rid, "running", len(default_plan().hosts) + 1)]
        truth_file = tmp_path / "truth.json"
        assert run("attack", "modbus-write", "--id", rid, "-o", str(truth_file)) == 0
        truth = json.loads(truth_file.read_text())
        assert [(t["stage"], t["src"], t["dst"]) for t in truth] == [
            ("modbus-write", "10.61.1.66", "10.61.3.11")]
        assert truth[0]["end_ts"] >= truth[0]["ts"] > 0
    finally:
        assert run("down", rid) == 0
    _assert_gone(rid)
    assert list(state.glob(f"{rid}*")) == []
