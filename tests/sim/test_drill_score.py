"""Drill scoring (otshield.sim.drill.score) on stages and alerts built by hand, with the expected
result worked out beforehand, and on the project's test plant capture."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from otshield.detect.alert import Alert, AssetRef
from otshield.sim.drill.score import AlertHit, condense, hit_of, score
from otshield.sim.drill.truth import as_truth, fill_end_times
from otshield.sim.scenario import GroundTruth

ATTACKER = "10.0.0.99"
PLC = "10.0.1.10"
HMI = "10.0.1.20"


def stage(name: str, ts: float, end: float, dst: str = PLC,
          techniques: tuple[str, ...] = ("T0855",)) -> GroundTruth:
    return GroundTruth(stage=name, first_frame=int(ts), last_frame=int(end), ts=ts, end_ts=end,
                       src=ATTACKER, dst=dst, techniques=techniques, rule="ot.x",
                       description=f"{name} stage", title=name.upper())


def hit(rule: str, ts: float, *, src: str = ATTACKER, dst: str = PLC,
        techniques: tuple[str, ...] = ("T0855",), severity: str = "high",
        key: str = "") -> AlertHit:
    return AlertHit(id=key or f"{rule}|{src}|{dst}", rule_id=rule, ts=ts, src=src, dst=dst,
                    techniques=techniques, severity=severity)


TRUTH = [stage("write", 100.0, 110.0), stage("stop", 200.0, 205.0, techniques=("T0881",)),
         stage("recon", 300.0, 301.0, dst=HMI, techniques=("T0846",))]


def test_every_case_in_one_drill() -> None:
    alerts = [
        # two alerts for the first stage: the earliest sets the time, both rules listed
        hit("ot.modbus.write_unknown", 104.5),
        hit("baseline.new_talker", 102.0, techniques=("T0886",)),
        # the stop stage: an alert with the wrong technique only
        hit("ot.s7.odd_function", 201.0, techniques=("T0888",)),
        # an alert after the recon stage's window (301 + 30 slack): it does not count
        hit("ot.scan", 331.5, dst=HMI, techniques=("T0846",), severity="low"),
        # an alert on normal traffic between other hosts: fits no stage
        hit("it.dns.odd", 150.0, src="10.9.9.9", dst="10.9.9.8", severity="medium"),
    ]
    result = score(TRUTH, alerts)
    write, stop, recon = result.stages
    assert (write.detected, write.technique_right) == (True, True)
    assert write.time_to_detect == pytest.approx(2.0)
    assert write.time_to_technique == pytest.approx(4.5)
    # right-technique rules first
    assert write.rules == ("ot.modbus.write_unknown", "baseline.new_talker")
    assert write.right_rules == ("ot.modbus.write_unknown",)
    assert write.techniques_seen == ("T0855", "T0886")
    assert (stop.detected, stop.technique_right) == (True, False)
    assert stop.time_to_detect == pytest.approx(1.0)
    assert stop.time_to_technique is None
    assert (recon.detected, recon.technique_right, recon.time_to_detect) == (False, False, None)
    assert recon.rules == ()
    assert (result.stages_total, result.stages_detected, result.techniques_right) == (3, 2, 1)
    assert result.mean_time_to_detect == pytest.approx(1.5)
    assert result.max_time_to_detect == pytest.approx(2.0)
    assert (result.alerts, result.unmatched, result.unmatched_medium) == (5, 2, 1)
    assert not result.all_detected


def test_window_edges_and_slack() -> None:
    one = [stage("write", 100.0, 110.0)]
    assert not score(one, [hit("r", 99.9)]).stages[0].detected  # before the first packet
    assert score(one, [hit("r", 100.0)]).stages[0].time_to_detect == 0.0
    assert score(one, [hit("r", 140.0)]).stages[0].detected  # last packet + 30 s
    assert not score(one, [hit("r", 140.01)]).stages[0].detected
    assert score(one, [hit("r", 145.0)], slack=40.0).stages[0].detected
    assert not score(one, [hit("r", 110.5)], slack=0.0).stages[0].detected


def test_endpoints_must_touch_the_stage() -> None:
    one = [stage("write", 100.0, 110.0)]
    # the target alone (an alert about the PLC from someone else) touches the stage
    assert score(one, [hit("r", 101.0, src=HMI, dst=PLC)]).stages[0].detected
    assert not score(one, [hit("r", 101.0, src=HMI, dst="10.0.1.30")]).stages[0].detected
    # a MAC-only alert (ARP, GOOSE) fits when the truth names the MAC
    mac_stage = [GroundTruth(stage="arp", first_frame=1, last_frame=2, ts=10.0, end_ts=11.0,
                             src="3C:52:82:00:00:99", dst=PLC, techniques=("T0830",),
                             rule="", description="")]
    arp = AlertHit(id="a", rule_id="ot.arp.spoof", ts=10.5, src_mac="3c:52:82:00:00:99",
                   techniques=("T0830",))
    assert score(mac_stage, [arp]).stages[0].technique_right


def test_an_alert_inside_one_stage_does_not_rescue_the_one_before() -> None:
    # b starts 9 s after a's last packet, well inside a's 30 s slack
    close = [stage("a", 100.0, 101.0), stage("b", 110.0, 112.0)]
    result = score(close, [hit("r", 111.0)])
    assert [s.detected for s in result.stages] == [False, True]
    # an alert after both stages' last packets (in both slack windows) goes to the latest stage
    result = score(close, [hit("r", 120.0)])
    assert [s.detected for s in result.stages] == [False, True]
    # and one in a's slack before b starts is a's
    result = score(close, [hit("r", 105.0)])
    assert [s.detected for s in result.stages] == [True, False]


def test_wall_clock_for_live_runs() -> None:
    one = [stage("write", 100.0, 110.0)]
    late = AlertHit(id="k", rule_id="r", ts=100.5, seen_at=103.0, src=ATTACKER, dst=PLC,
                    techniques=("T0855",))
    assert score(one, [late]).stages[0].time_to_detect == pytest.approx(0.5)
    assert score(one, [late], clock="wall").stages[0].time_to_detect == pytest.approx(3.0)


def test_bad_slack_is_refused() -> None:
    with pytest.raises(ValueError, match="slack"):
        score(TRUTH, [], slack=-1.0)
    with pytest.raises(ValueError, match="slack"):
        score(TRUTH, [], slack=float("nan"))


def test_no_alerts_no_stages() -> None:
    empty = score([], [])
    assert (empty.stages_total, empty.stages_detected, empty.mean_time_to_detect) == (0, 0, None)
    nothing = score(TRUTH, [])
    assert nothing.stages_detected == 0 and nothing.max_time_to_detect is None


def _alert(ts: float, key: str = "r|a|b") -> Alert:
    return Alert(ts=ts, frame=int(ts), src_ip=ATTACKER, dst_ip="", rule_id="r", title="R",
                 severity="high", techniques=("T0855",), key=key, first_seen=ts, last_seen=ts,
                 destination=AssetRef(ip=PLC))


def test_alerts_are_summarised_with_their_endpoints() -> None:
    summary = hit_of(_alert(101.0))
    assert (summary.id, summary.src, summary.dst, summary.ts) == ("r|a|b", ATTACKER, PLC, 101.0)
    assert score(TRUTH, [_alert(101.0)]).stages[0].detected


def test_condense_keeps_what_scoring_needs() -> None:
    flood = [_alert(100.0 + i * 0.5) for i in range(1000)]  # 100 .. 599.5, one key
    kept = condense(TRUTH, flood)
    # the first occurrence overall and the first in each stage window (100, 200, 300)
    assert [h.ts for h in kept] == [100.0, 200.0, 300.0]
    full = score(TRUTH, flood)
    # windows [100, 140], [200, 235], [300, 331] hold 81 + 71 + 63 occurrences
    assert (full.alerts, full.unmatched) == (1000, 1000 - 215)
    assert score(TRUTH, kept) == msgspec.structs.replace(full, alerts=3, unmatched=0,
                                                         unmatched_medium=0)


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[GroundTruth]]:
    from otshield.detect.testplant import write_attack_capture

    folder = tmp_path_factory.mktemp("drill-score")
    path = folder / "plant.pcap"
    return path, fill_end_times(as_truth(write_attack_capture(path, normal_cycles=3)), path)


def test_end_times_come_from_the_capture(plant: tuple[Path, list[GroundTruth]]) -> None:
    from otshield.capture import open_capture

    path, truth = plant
    with open_capture(path) as reader:
        times = [ts for ts, _, _ in reader]
    for t in truth:
        assert t.end_ts == times[t.last_frame - 1]
        assert t.ts == pytest.approx(times[t.first_frame - 1], abs=1e-6)  # pcap: microseconds
        assert t.end_ts >= t.ts


def test_the_first_evidence_places_a_live_alert_and_the_wall_clock_times_it() -> None:
    close = [stage("a", 100.0, 101.0), stage("b", 110.0, 112.0)]
    # evidence in a's packets, raised during b (a slow pipeline): a's, 10.5 s to detect
    slow = AlertHit(id="k", rule_id="r", ts=100.5, seen_at=110.5, src=ATTACKER, dst=PLC,
                    techniques=("T0855",))
    result = score(close, [slow], clock="wall")
    assert [s.detected for s in result.stages] == [True, False]
    assert result.stages[0].time_to_detect == pytest.approx(10.5)


def test_the_rule_pack_is_listed_before_the_baseline() -> None:
    one = [stage("write", 100.0, 110.0)]
    hits = [AlertHit(id="b", rule_id="baseline.new_talker", ts=100.1, category="baseline",
                     src=ATTACKER, dst=PLC, techniques=("T0855",)),
            AlertHit(id="p", rule_id="policy.no_conduit", ts=100.2, category="policy",
                     src=ATTACKER, dst=PLC, techniques=("T0855",)),
            AlertHit(id="r", rule_id="ot.modbus.write", ts=100.3, category="rule",
                     src=ATTACKER, dst=PLC, techniques=("T0855",))]
    s = score(one, hits).stages[0]
    assert s.right_rules == ("ot.modbus.write", "policy.no_conduit", "baseline.new_talker")
    assert s.time_to_detect == pytest.approx(0.1)
