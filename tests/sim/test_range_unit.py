"""The live range's parts that need no namespace: plans, register coding, the PLC's register
hook, stage mapping, state files."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from otshield.errors import ConfigError
from otshield.sim.range import cli as range_cli
from otshield.sim.range.plan import (
    PlcSpec,
    PointSpec,
    RangeHost,
    default_plan,
    plan_from_model,
    site_yaml,
)
from otshield.sim.range.runner import plan_stages
from otshield.sim.range.services import ModbusPlc, PlantProcess, from_register, to_register
from otshield.sim.scenario import StageSpec


def test_register_coding() -> None:
    assert to_register(2.125, 100) == 212  # round half to even: 212.5 -> 212
    assert to_register(2.346, 100) == 235
    assert to_register(1.0, 1) == 1
    assert to_register(-1.5, 10) == 0xFFF1  # -15 as INT16
    assert to_register(1e9, 1) == 0xFFFF  # clamped
    assert from_register(0xFFF1, 10) == -1.5  # scaled points are signed
    assert from_register(0xFFF1, 1) == 0xFFF1  # switches and counts are not
    assert from_register(350, 100) == 3.5


def test_default_plan_is_consistent() -> None:
    plan = default_plan()
    assert plan.attacker == "attacker-01"
    plc1 = plan.plc("plc-1")
    tags = [p.tag for p in plc1.points]
    # the points of plc-1's controller, in the process's tag order, then the trip reset
    assert tags[:3] == ["tank1.level", "tank1.inflow", "tank1.outflow"]
    assert "pump1.command" in tags and tags[-1] == "trip1.reset"
    level = plc1.points[0]
    assert (level.space, level.address, level.scale, level.writable) == ("holding", 0, 100.0,
                                                                          False)
    s7 = plan.plc("s7-plc")
    assert [p.address for p in s7.points] == [0, 4, 8, 12, 16, 20]
    assert all(p.space == "db" for p in s7.points)


def test_plan_errors_are_clear() -> None:
    plan = default_plan()
    bad_zone = msgspec.structs.replace(plan, hosts=(*plan.hosts, RangeHost(
        name="x", ip="10.61.2.99", mac="00:00:00:00:00:99", zone="Nowhere")))
    with pytest.raises(ConfigError, match="host x: unknown zone 'Nowhere'"):
        bad_zone.check()
    outside = msgspec.structs.replace(plan, hosts=(*plan.hosts, RangeHost(
        name="x", ip="10.99.0.1", mac="00:00:00:00:00:99", zone="SCADA")))
    with pytest.raises(ConfigError, match=r"10.99.0.1 is outside zone SCADA \(10.61.2.0/24\)"):
        outside.check()
    dup = msgspec.structs.replace(plan, hosts=(*plan.hosts, RangeHost(
        name="x", ip="10.61.3.11", mac="00:00:00:00:00:99", zone="Control")))
    with pytest.raises(ConfigError, match=r"hosts plc-1 and x share the address 10\.61\.3\.11"):
        dup.check()
    with pytest.raises(ConfigError, match="not a PLC of the range"):
        plan.plc("hmi-01")


def test_plan_from_the_bundled_plant() -> None:
    from otshield.sim.model import load_plant

    model = load_plant(None)
    plan = plan_from_model(model)
    plcs = {p.host: p.protocol for p in plan.plcs}
    # EtherNet/IP (PLC-DIST) and DNP3 (RTU-WELLS) have no server in the range
    assert plcs == {"PLC-INTAKE": "modbus", "PLC-TREAT": "s7", "SIS-01": "modbus",
                    "RTU-SUB": "iec104"}
    rtu = plan.plc("RTU-SUB")
    assert rtu.unit_ids == (1,)
    assert [(p.space, p.address, p.tag) for p in rtu.points] == [
        ("float", 1001, "P1.flow"), ("float", 1002, "P2.flow"), ("single", 2001, "P1.running"),
        ("single", 2002, "P2.running"), ("command", 3001, ""), ("command", 3002, "")]
    attacker = plan.host("attacker-01")
    assert attacker.zone == "Enterprise" and attacker.ip == "10.10.10.254"
    # every Modbus/S7 poll of the plant, with its period and function
    polls = {(q.client, q.server, q.protocol, q.function, q.period) for q in plan.polls}
    assert ("HMI-01", "PLC-INTAKE", "modbus", 3, 1.0) in polls
    assert ("HIST-01", "PLC-INTAKE", "modbus", 4, 10.0) in polls
    assert ("HMI-01", "PLC-TREAT", "s7", 3, 1.0) in polls
    assert ("SCADA-01", "RTU-SUB", "iec104", 3, 2.0) in polls
    assert {h.name for h in plan.hosts} == {"HMI-01", "HIST-01", "SCADA-01", "PLC-INTAKE",
                                            "PLC-TREAT", "SIS-01", "RTU-SUB", "attacker-01"}
    assert plan.site == model.site_yaml()
    intake = plan.plc("PLC-INTAKE")
    command = next(p for p in intake.points if p.tag == "P1.command" and p.space == "holding")
    assert (command.address, command.writable) == (6, True)


def test_site_yaml_of_the_default_plan() -> None:
    import yaml

    doc = yaml.safe_load(site_yaml(default_plan()))
    assert [z["name"] for z in doc["zones"]] == ["Enterprise", "SCADA", "Control"]
    assert doc["assets"]["10.61.2.10"] == {"name": "hmi-01", "role": "hmi"}
    assert doc["assets"]["10.61.3.11"] == {"name": "plc-1", "role": "controller"}
    assert doc["conduits"] == [{"name": "SCADA to Control", "from": "SCADA", "to": "Control",
                                "protocols": ["iec104", "modbus", "s7comm"]}]


def test_stages_map_to_the_attack_with_most_shared_techniques() -> None:
    stages = (StageSpec(name="recon", title="", techniques=("T0846",)),
              StageSpec(name="setpoint", title="", techniques=("T0836", "T0855")),
              StageSpec(name="dos", title="", techniques=("T0814",)),
              StageSpec(name="stop", title="", techniques=("T0881", "T0816")),
              StageSpec(name="phish", title="", techniques=("T0865",)),
              # ties on techniques go to the attack whose keyword the stage name has
              StageSpec(name="plc_start", title="", techniques=("T0858",)),
              StageSpec(name="plc_stop", title="", techniques=("T0858",)),
              StageSpec(name="arp_sweep", title="", techniques=("T0846",)),
              StageSpec(name="startdt_interrogation", title="",
                        techniques=("T0848", "T0801", "T0846")),
              StageSpec(name="breaker_open", title="", techniques=("T0855", "T0831", "T0806")))
    played, skipped = plan_stages(stages)
    assert [(s.name, a) for s, a in played] == [
        ("recon", "modbus-sweep"), ("setpoint", "modbus-write"), ("dos", "modbus-flood"),
        ("stop", "s7-stop"), ("plc_start", "s7-start"), ("plc_stop", "s7-stop"),
        ("arp_sweep", "modbus-sweep"), ("startdt_interrogation", "iec104-interrogation"),
        ("breaker_open", "iec104-command")]
    assert [s.name for s in skipped] == ["phish"]


def test_attack_targets() -> None:
    from otshield.sim.range.attacks import targets

    plan = default_plan()
    assert targets("modbus-write", plan) == ["plc-1", "plc-2"]  # pump command, valve position
    assert targets("modbus-sweep", plan) == ["plc-1", "plc-2"]
    assert targets("s7-stop", plan) == ["s7-plc"]
    assert targets("iec104-command", plan) == ["rtu-104"]


def _plc() -> tuple[ModbusPlc, PlantProcess]:
    plan = default_plan()
    plant = PlantProcess(plan.process(1000.0))
    spec = PlcSpec(host="plc-1", protocol="modbus", controller="plc-1", points=(
        PointSpec(space="holding", address=0, tag="tank1.level", scale=100),
        PointSpec(space="holding", address=1, tag="pump1.auto", writable=True),
        PointSpec(space="holding", address=2, tag="pump1.command", writable=True),
        PointSpec(space="input", address=0, tag="pump1.flow", scale=10)))
    plc = ModbusPlc(spec, plan.host("plc-1"), "unused", plant)
    return plc, plant


def test_modbus_register_hook_reads_and_writes_the_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from otshield.sim.range import services

    # the plant's clock stands still at t=1000 s, 0 s after its start: values are exact
    monkeypatch.setattr(services, "time", types.SimpleNamespace(time=lambda: 1000.0))
    plc, plant = _plc()
    regs = [7] * 10
    # FC 3 of registers 0-3: the level (cm), auto, command, and a register without a point
    assert asyncio.run(plc._action(3, 0, 0, 4, regs, None)) is None
    assert regs[:4] == [200, 1, 1, 0]  # tank1 at its initial 2.0 m
    assert regs[4:] == [7] * 6  # outside the request: untouched
    # FC 4 reads the input map: pump1 flow in tenths of m3/h (30 m3/h while it runs)
    regs = [0] * 10
    asyncio.run(plc._action(4, 0, 0, 1, regs, None))
    assert regs[0] == 300
    # FC 6 to auto then command: the pump goes manual and stops
    assert asyncio.run(plc._action(6, 0, 1, 1, regs, [0])) is None
    assert asyncio.run(plc._action(6, 0, 2, 1, regs, [0])) is None
    assert plant.read("pump1.running") == 0.0
    assert [w[1:] for w in plant.writes] == [("modbus:plc-1", "pump1.auto", 0.0),
                                             ("modbus:plc-1", "pump1.command", 0.0)]
    # a write to a read-only point is refused as an illegal data address, nothing applied
    from pymodbus.constants import ExcCodes

    assert asyncio.run(plc._action(6, 0, 0, 1, regs, [100])) == ExcCodes.ILLEGAL_ADDRESS
    assert asyncio.run(plc._action(16, 0, 0, 2, regs, [1, 5])) == ExcCodes.ILLEGAL_ADDRESS
    assert len(plant.writes) == 2
    assert (plc.stats.reads, plc.stats.writes, plc.stats.refused) == (2, 2, 2)


def test_broken_state_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "otsr000001.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a range state file"):
        range_cli._read_state(bad)
    assert range_cli._states(tmp_path) == {}  # listing skips it


def test_attack_without_a_running_range_says_so(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    range_cli.register(parser.add_subparsers())
    args = parser.parse_args(["range", "attack", "modbus-write", "--state-dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="no range is running"):
        args.func(args, Console(), Console(stderr=True))


def test_unknown_attack_is_refused_by_the_parser(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    range_cli.register(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["range", "attack", "nuke", "--state-dir", str(tmp_path)])
