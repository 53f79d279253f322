"""The physical process: levels integrate inflow minus outflow exactly, pumps switch with
hysteresis, the safety trip latches, controllers stop, spoofing changes only what is reported.

Every expected value is worked out by hand in the comments (flows in m3/h, areas in m2)."""

from __future__ import annotations

import pytest

from otshield.sim.model import load_plant
from otshield.sim.process import Process, PumpSpec, TankSpec, TripSpec, ValveSpec

T0 = 1_000_000.0


def _plant(level: float = 1.5, pump_running: bool = True) -> Process:
    """Tank T (2 m2, 3 m high) filled by P (36 m3/h, start 1.0 m, stop 2.0 m) and drained by
    V (36 m3/h at 100 %, opened 50 %: 18 m3/h); trip H at 2.5 m stops P."""
    return Process(
        [TankSpec(name="T", area_m2=2.0, height_m=3.0, level_m=level, controller="PLC")],
        [PumpSpec(name="P", flow_m3h=36.0, target="T", tank="T", start_level=1.0,
                  stop_level=2.0, running=pump_running, controller="PLC")],
        [ValveSpec(name="V", max_flow_m3h=36.0, position=50.0, source="T", controller="PLC")],
        [TripSpec(name="H", tank="T", level=2.5, stops=["P"], controller="SIS")],
        T0)


def test_level_integrates_inflow_minus_outflow() -> None:
    p = _plant()
    # pump on: (36 - 18) m3/h = 0.005 m3/s; / 2 m2 = 0.0025 m/s
    p.advance(T0 + 100)
    assert p.read("T.level") == pytest.approx(1.75, abs=1e-12)
    assert p.read("T.inflow") == 36.0
    assert p.read("T.outflow") == 18.0
    assert p.read("V.flow") == 18.0


def test_hysteresis() -> None:
    p = _plant()
    # 1.5 -> 2.0 m at 0.0025 m/s: 200 s; the pump stops there.
    p.advance(T0 + 199.9)
    assert p.read("P.running") == 1.0
    p.advance(T0 + 300)
    assert p.read("P.running") == 0.0
    # falling at 18 m3/h / 2 m2 = 0.0025 m/s for 100 s: 2.0 - 0.25
    assert p.read("T.level") == pytest.approx(1.75, abs=1e-12)
    # down to 1.0 m takes 400 s (at T0 + 600), then the pump runs again for 100 s: 1.25 m.
    p.advance(T0 + 700)
    assert p.read("P.running") == 1.0
    assert p.read("T.level") == pytest.approx(1.25, abs=1e-12)
    # one call or many: the same answer (no time step)
    q = _plant()
    for i in range(1, 701):
        q.advance(T0 + i)
    assert q.read("T.level") == pytest.approx(p.read("T.level"), abs=1e-12)


def test_setpoint_write_and_safety_trip() -> None:
    p = _plant()
    p.write("P.stop_level", 2.8)  # an attacker moves the stop level above the trip
    # 1.5 -> 2.5 m at 0.0025 m/s: the trip latches after 400 s and stops the pump.
    p.advance(T0 + 399.9)
    assert p.read("H.tripped") == 0.0
    p.advance(T0 + 400)
    assert p.read("H.tripped") == 1.0
    assert p.read("P.running") == 0.0
    p.write("H.reset", 1)  # refused: still above the trip level
    assert p.read("H.tripped") == 1.0
    p.advance(T0 + 600)  # falling at 0.0025 m/s: 2.5 - 0.5 = 2.0 m
    assert p.read("T.level") == pytest.approx(2.0, abs=1e-9)
    assert p.read("P.running") == 0.0  # tripped pumps stay off...
    p.write("H.reset", 1)
    assert p.read("H.tripped") == 0.0  # ...until the reset below the trip level
    # in the hysteresis band the pump stays off: falling 1.0 m at 0.0025 m/s before it restarts
    assert p.read("P.running") == 0.0
    assert p.time_to("T.level", 1.0) == pytest.approx(400.0)
    assert p.time_to("T.level", 2.5) == float("inf")


def test_manual_mode_and_valve() -> None:
    p = _plant()
    p.write("P.auto", 0)
    p.write("P.command", 0)
    p.write("V.position", 100.0)  # 36 m3/h out: -0.005 m/s
    p.advance(T0 + 100)
    assert p.read("T.level") == pytest.approx(1.0, abs=1e-12)
    assert p.read("P.running") == 0.0  # manual: no restart at the start level
    p.advance(T0 + 1000)  # empty after 300 s: the valve has nothing left to pass
    assert p.read("T.level") == 0.0
    assert p.read("V.flow") == 0.0
    p.write("V.position", 150.0)
    assert p.read("V.position") == 100.0  # clamped


def test_full_tank_spills_and_a_start_above_the_trip() -> None:
    p = Process([TankSpec(name="T", area_m2=2.0, height_m=3.0, level_m=2.9)],
                [PumpSpec(name="P", flow_m3h=36.0, target="T", tank="T", start_level=1.0,
                          stop_level=2.0)], [], [], T0)
    p.write("P.auto", 0)
    p.write("P.command", 1)
    # +0.005 m/s: full (3.0 m) after 20 s; the rest spills over.
    p.advance(T0 + 1000)
    assert p.read("T.level") == 3.0
    assert p.read("P.running") == 1.0
    tripped = _plant(level=2.9)  # above the trip level from the start: tripped at once
    assert tripped.read("H.tripped") == 1.0
    assert tripped.read("P.running") == 0.0


def test_controller_stop() -> None:
    p = _plant()
    p.stop_controller("PLC")
    assert p.read("PLC.running") == 0.0
    assert p.read("P.running") == 0.0
    p.write("V.position", 0.0)  # a stopped PLC does not move its outputs
    assert p.read("V.position") == 50.0
    p.advance(T0 + 100)  # only the valve drains: 1.5 - 0.0025 * 100
    assert p.read("T.level") == pytest.approx(1.25, abs=1e-12)
    p.start_controller("PLC")
    assert p.read("P.running") == 0.0  # inside the hysteresis band: stays off...
    p.advance(T0 + 200)  # ...until 1.0 m (after 100 s more), then fills at 0.0025 m/s
    assert p.read("P.running") == 1.0
    p.advance(T0 + 300)
    assert p.read("T.level") == pytest.approx(1.25, abs=1e-12)
    with pytest.raises(KeyError):
        p.stop_controller("NOPE")


def test_spoofing_changes_only_the_report() -> None:
    p = _plant()
    p.freeze(["T.level"])
    p.override("P.running", 1.0)
    p.advance(T0 + 300)
    assert p.reported("T.level") == 1.5
    assert p.read("T.level") == pytest.approx(1.75, abs=1e-12)
    assert p.reported("P.running") == 1.0 and p.read("P.running") == 0.0
    assert p.overrides == {"T.level": 1.5, "P.running": 1.0}
    p.release(["T.level"])
    assert p.reported("T.level") == p.read("T.level")
    p.release()
    assert p.overrides == {}


def test_spoofing_scoped_to_one_controller() -> None:
    p = _plant()
    p.freeze(["T.level"], asset="PLC")
    p.advance(T0 + 100)
    assert p.reported("T.level", "PLC") == 1.5  # the spoofed controller
    assert p.reported("T.level", "SIS") == pytest.approx(1.75, abs=1e-12)  # the truth
    assert p.reported("T.level") == pytest.approx(1.75, abs=1e-12)
    p.override("T.level", 9.0)  # unscoped: everyone else
    assert (p.reported("T.level", "PLC"), p.reported("T.level", "SIS")) == (1.5, 9.0)
    assert p.overrides == {"PLC:T.level": 1.5, "T.level": 9.0}
    p.release(asset="PLC")
    assert p.overrides == {"T.level": 9.0}
    p.release(["T.level"])
    assert p.overrides == {}


def test_unknown_tags() -> None:
    p = _plant()
    with pytest.raises(KeyError, match=r"unknown process tag 'T\.volume'"):
        p.read("T.volume")
    with pytest.raises(KeyError, match="cannot be written"):
        p.write("T.level", 1.0)
    with pytest.raises(KeyError):
        p.override("X.level", 1.0)
    assert "T.level" in p.tags() and "H.tripped" in p.tags()


def test_default_plant_values() -> None:
    model = load_plant()
    p = model.new_process()
    # T1 (4 m2): P1 60 in, V1 45 % of 80 = 36 out: +24 m3/h = +6 m/h from 2.8 m: 4.0 m after
    # 720 s, then P1 stops and T1 falls at 36/4 = 9 m/h for 180 s: 4.0 - 0.45.
    p.advance(model.start + 900)
    assert p.read("T1.level") == pytest.approx(3.55, abs=1e-9)
    assert p.read("P1.running") == 0.0
    # T2 (6 m2) fills at 36 m3/h = 6 m/h from 2.0 m: P2 (drain, start 3.0 m) starts after
    # 600 s, then T2 falls at (50 - 36)/6 = 7/3 m/h for 300 s: 3.0 - 7/36.
    assert p.read("T2.level") == pytest.approx(3.0 - 7 / 36, abs=1e-9)
    assert p.read("P2.running") == 1.0
