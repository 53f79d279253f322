"""The scenario library on the default plant: every scenario written once (module scope) and
checked for what issue #6 asks of it: every stage in the ground truth with frames inside the
capture, tshark dissecting every packet cleanly, every stage caught with a fitting ATT&CK
technique by the built-in detection (rules and the site file's policy), the process effects
visible in the values the plant reports, and the same bytes for the same seed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from otshield.detect.alert import Alert
from otshield.detect.analyze import AnalyzeOptions, run_analysis
from otshield.detect.attack import load_attack_table
from otshield.errors import ConfigError
from otshield.sim.drill.score import DrillScore, score
from otshield.sim.model import PlantModel, load_plant
from otshield.sim.run import SimResult, simulate
from otshield.sim.scenarios import SCENARIOS, get_scenario, scenario_ids
from otshield.sim.scenarios.base import LibraryScenario, check_stages
from support import decode, of_type, tshark_dissection

IDS = scenario_ids()
EXPECTED_IDS = ["ransomware_it_to_ot", "rogue_engineering_laptop", "setpoint_injection",
                "recon_sweep", "control_flood", "vendor_remote_access", "industroyer_iec104",
                "spoofed_values"]


class Written(msgspec.Struct):
    result: SimResult
    alerts: list[Alert]
    score: DrillScore


@pytest.fixture(scope="module")
def plant() -> PlantModel:
    return load_plant(None)


@pytest.fixture(scope="module")
def written(plant: PlantModel, tmp_path_factory: pytest.TempPathFactory
            ) -> Callable[[str], Written]:
    """Each scenario written (seed 1) and analysed with the plant's site file, at most once."""
    folder = tmp_path_factory.mktemp("scenarios")
    site = folder / "site.yaml"
    site.write_text(plant.site_yaml(), encoding="utf-8")
    done: dict[str, Written] = {}

    def get(scenario_id: str) -> Written:
        if scenario_id not in done:
            result = simulate(plant, folder / f"{scenario_id}.pcap",
                              scenario=get_scenario(scenario_id), seed=1)
            alerts: list[Alert] = []
            run_analysis([Path(result.path)], AnalyzeOptions(site=str(site)),
                         on_each_alert=alerts.append)
            done[scenario_id] = Written(result=result, alerts=alerts,
                                        score=score(result.truth, alerts))
        return done[scenario_id]
    return get


# -- the registry -------------------------------------------------------------------------------
def test_registry_has_the_library() -> None:
    assert IDS == EXPECTED_IDS
    assert all(SCENARIOS[i].id == i for i in IDS)
    assert get_scenario("spoofed_values") is SCENARIOS["spoofed_values"]


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_scenario("stuxnet")
    assert "unknown scenario 'stuxnet'" in str(err.value)
    assert "industroyer_iec104" in str(err.value)
    with pytest.raises(ConfigError):
        get_scenario(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("scenario_id", IDS)
def test_stages_are_documented_with_known_techniques(scenario_id: str) -> None:
    scenario = SCENARIOS[scenario_id]
    assert isinstance(scenario, LibraryScenario)
    assert scenario.title and scenario.summary and len(scenario.stages) >= 2
    check_stages(scenario, frozenset(load_attack_table().techniques))


def test_expected_rules_exist_in_the_builtin_pack() -> None:
    from otshield.detect.rules import load_rules

    ids = [r.id for r in load_rules([], builtin=True)]
    for scenario in SCENARIOS.values():
        for spec in scenario.stages:
            assert any(i.startswith(spec.rule) for i in ids), (scenario.id, spec.name, spec.rule)


def test_check_stages_refuses_bad_declarations() -> None:
    from otshield.sim.scenario import StageSpec

    class Bad(LibraryScenario):
        id = "bad"
        stages = (StageSpec(name="a", title="A", techniques=("T0855",), rule="r",
                            description="d"),
                  StageSpec(name="b", title="B", techniques=("T9999",), rule="r",
                            description="d"))

    with pytest.raises(ConfigError, match=r"stage 'b' names unknown technique\(s\) T9999"):
        check_stages(Bad(), {"T0855"})
    Bad.stages = (Bad.stages[0], Bad.stages[0])
    with pytest.raises(ConfigError, match="declared twice"):
        check_stages(Bad(), {"T0855"})


def test_an_undeclared_stage_name_fails_loudly() -> None:
    scenario = SCENARIOS["control_flood"]
    assert isinstance(scenario, LibraryScenario)
    with pytest.raises(ValueError, match="stage 'syn_flod' is not declared"):
        scenario.stage(None, "syn_flod", None, None)  # type: ignore[arg-type]


# -- the written captures -----------------------------------------------------------------------
# One test per scenario checks everything about its capture, so that under pytest-xdist each
# capture is written and analysed on one worker only.
@pytest.mark.tshark
@pytest.mark.parametrize("scenario_id", IDS)
def test_scenario_capture(scenario_id: str, written: Callable[[str], Written]) -> None:
    run = written(scenario_id)
    stages = [s.name for s in SCENARIOS[scenario_id].stages]
    # every stage labelled, in order, with its frames inside the capture
    truth = run.result.truth
    assert [t.stage for t in truth] == stages
    previous_end = 0
    for t in truth:
        assert 1 <= t.first_frame <= t.last_frame <= run.result.packets, t.stage
        assert t.first_frame > previous_end, f"{t.stage} overlaps the stage before"
        previous_end = t.last_frame
        assert run.result.start <= t.ts <= t.end_ts <= run.result.end, t.stage
        assert t.src and t.dst and t.techniques and t.scenario == scenario_id
    # tshark dissects every packet: nothing malformed, no expert warning or error
    problems, seen = tshark_dissection(Path(run.result.path))
    assert problems == []
    assert "tcp" in seen
    # every stage caught by the built-in detection with a fitting technique
    missed = [(s.stage, s.rules, s.techniques_seen) for s in run.score.stages
              if not (s.detected and s.technique_right)]
    assert missed == []
    assert [s.stage for s in run.score.stages] == stages
    # and no medium-or-higher alert outside the attack
    assert run.score.unmatched_medium == 0


# -- the process effects ------------------------------------------------------------------------
def _register_reads(path: Path, client: str, server: str, after: float) -> list[tuple[int, ...]]:
    return [e.registers for e in of_type(decode(path), "modbus")
            if e.src_ip == client and e.dst_ip == server and e.function_code == 3
            and e.status == "ok" and e.ts > after and e.address == 0]


def test_injected_setpoints_show_in_the_hmi_polls(written: Callable[[str], Written],
                                                  plant: PlantModel) -> None:
    run = written("setpoint_injection")
    forced = next(t for t in run.result.truth if t.stage == "pump_forced_on")
    hmi, plc = plant.assets["HMI-01"].ip, plant.assets["PLC-INTAKE"].ip
    polls = _register_reads(Path(run.result.path), hmi, plc, forced.end_ts)
    assert polls, "the HMI keeps polling after the injection"
    # holding 3/4: P1 start/stop level x100, 5: auto, 6: command (plants/default.yaml)
    assert {p[3:7] for p in polls} == {(470, 495, 0, 1)}
    assert all(p[1] == 1 for p in polls)  # the pump runs


def test_replayed_values_hide_the_rising_tank(written: Callable[[str], Written],
                                              plant: PlantModel) -> None:
    run = written("spoofed_values")
    manipulated = next(t for t in run.result.truth if t.stage == "hidden_manipulation")
    path = Path(run.result.path)
    hmi = plant.assets["HMI-01"].ip
    hmi_view = _register_reads(path, hmi, plant.assets["PLC-INTAKE"].ip, manipulated.end_ts)
    safety_view = _register_reads(path, hmi, plant.assets["SIS-01"].ip, manipulated.end_ts)
    # what the HMI sees of the intake is frozen (level, pump, setpoints as before the attack)
    assert len({p[:7] for p in hmi_view}) == 1
    assert hmi_view[0][3:5] == (200, 400)
    # the safety system, polled apart, reports the real level going up
    levels = [p[0] for p in safety_view]
    assert len(levels) >= 5 and levels[-1] > levels[0] > hmi_view[0][0]


# -- determinism --------------------------------------------------------------------------------
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(plant: PlantModel, tmp_path: Path,
                                                     written: Callable[[str], Written]) -> None:
    scenario = get_scenario("industroyer_iec104")
    first = written("industroyer_iec104").result
    again = simulate(plant, tmp_path / "again.pcap", scenario=scenario, seed=1)
    other = simulate(plant, tmp_path / "other.pcap", scenario=scenario, seed=2)
    assert _sha(Path(first.path)) == _sha(Path(again.path))
    assert again.truth == first.truth
    assert _sha(Path(other.path)) != _sha(Path(first.path))
    assert [t.stage for t in other.truth] == [t.stage for t in first.truth]


def test_a_plant_without_the_story_s_assets_is_refused(tmp_path: Path) -> None:
    from otshield.sim.model import parse_plant

    small = parse_plant(
        "plant: Tiny\n"
        "zones:\n"
        "  - {name: Control, level: 1, subnet: 10.1.1.0/24}\n"
        "assets:\n"
        "  - {name: PLC-A, kind: plc, zone: Control, ip: 10.1.1.10, mac: '00:80:f4:00:00:10',\n"
        "     vendor: Schneider Electric, protocols: [modbus]}\n", "tiny.yaml")
    scenario = get_scenario("control_flood")
    assert isinstance(scenario, LibraryScenario)
    with pytest.raises(ConfigError, match=r"needs its asset\(s\) HIST-01, PLC-INTAKE, which "
                                          r"plant 'Tiny' \(tiny.yaml\) does not have"):
        scenario.check_plant(small)
    with pytest.raises(ConfigError, match="HIST-01"):
        simulate(small, tmp_path / "tiny.pcap", scenario=scenario, seed=1)
    assert not (tmp_path / "tiny.pcap").exists()
