"""``run_drill(mode="live")`` without the range itself: the range's entry point is replaced by a
stand-in returning what the real one returns (alerts raised once per key with their wall-clock
``seen_at``, wall-clock truth, the kept capture, skipped stages), so the drill side of a live
run is checked exactly and fast. The real range is tested by tests/sim/test_range*.py."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.detect.alert import Alert
from otshield.sim.drill.run import RangeUnavailable, run_drill
from otshield.sim.drill.truth import as_truth, fill_end_times
from otshield.sim.scenario import GroundTruth

RAISED_AFTER = 0.75
"""Seconds from an alert's first packet to the live pipeline raising it (the stand-in's)."""


@dataclass
class FakeResult:
    alerts: list[Alert]
    truth: list[GroundTruth]
    seen_at: dict[str, float]
    capture: Path
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def range_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeResult]:
    from otshield.detect.analyze import AnalyzeOptions, run_analysis
    from otshield.detect.testplant import write_attack_capture, write_site

    folder = tmp_path_factory.mktemp("live-range")
    capture = folder / "range.pcap"
    truth = fill_end_times(as_truth(write_attack_capture(capture, normal_cycles=3)), capture)
    # the IEC 104 burst told as two stages: the live pipeline raises its alert once, in the
    # first half; only the capture read again shows the second half was caught too
    burst = next(t for t in truth if t.stage == "iec104_command_burst")
    mid = (burst.ts + burst.end_ts) / 2
    halves = [msgspec.structs.replace(burst, stage="burst_first", end_ts=mid),
              msgspec.structs.replace(burst, stage="burst_second", ts=mid + 1e-6)]
    at = truth.index(burst)
    truth[at:at + 1] = halves
    site = write_site(folder / "site.yaml")
    analysis = run_analysis([capture], AnalyzeOptions(site=str(site)))
    seen = {a.key: a.first_seen + RAISED_AFTER for a in analysis.alerts}
    return site, FakeResult(alerts=analysis.alerts, truth=truth, seen_at=seen,
                            capture=capture, skipped=["phishing_download"],
                            problems=["one poll failed"])


def test_live_drill_scores_on_the_wall_clock(range_run: tuple[Path, FakeResult],
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import otshield.sim.range.drill as range_drill

    site, result = range_run
    calls: list[dict[str, Any]] = []

    def fake(scenario_id: str, **kwargs: Any) -> FakeResult:
        calls.append({"scenario": scenario_id, **kwargs})
        return result

    monkeypatch.setattr(range_drill, "run_live_drill", fake)
    record = run_drill("setpoint_injection", mode="live", seed=3, out_dir=tmp_path / "d",
                       site=site)
    assert calls == [{"scenario": "setpoint_injection", "plant": None, "seed": 3,
                      "out_dir": tmp_path / "d", "site": site}]
    assert record.mode == "live" and record.capture == str(result.capture)
    assert record.problems == ["one poll failed",
                               "stage phishing_download not played: no live attack fits it"]
    assert record.score is not None and record.score.clock == "wall"
    # every stage is credited: the ones whose alert key was new by the live alert (raised
    # 0.75 s after its first packet), the others by the capture read again
    assert record.score.stages_detected == record.score.techniques_right == 12
    first = record.score.stages[0]
    seen = {h.id: h.seen_at for h in record.alerts}
    assert first.time_to_detect is not None
    earliest = min(seen[i] for i in first.alert_ids if seen.get(i))
    assert first.time_to_detect == pytest.approx(earliest - first.start)
    assert first.time_to_detect >= RAISED_AFTER
    assert all(h.seen_at > 0 for h in record.alerts)
    assert (tmp_path / "d" / "report.html").is_file()
    # the second half of the burst: credited by a later occurrence read from the capture
    second = next(s for s in record.score.stages if s.stage == "burst_second")
    assert second.technique_right and "ot.iec104.command" in second.rules
    later = [h for h in record.occurrences if h.rule_id == "ot.iec104.command"
             and h.seen_at == 0 and h.ts >= second.start]
    assert later and second.time_to_detect == pytest.approx(
        min(h.ts for h in later) - second.start)


def test_without_the_capture_a_re_raised_alert_is_missed(
        range_run: tuple[Path, FakeResult], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import otshield.sim.range.drill as range_drill

    site, result = range_run
    blind = FakeResult(alerts=result.alerts, truth=result.truth, seen_at=result.seen_at,
                       capture=tmp_path / "gone.pcap")
    monkeypatch.setattr(range_drill, "run_live_drill", lambda *a, **k: blind)
    record = run_drill("setpoint_injection", mode="live", out_dir=tmp_path / "d", site=site,
                       reports=False)
    assert record.score is not None
    second = next(s for s in record.score.stages if s.stage == "burst_second")
    assert "ot.iec104.command" not in second.rules


def test_live_without_the_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "otshield.sim.range.drill", None)
    with pytest.raises(RangeUnavailable, match="live range is unavailable"):
        run_drill("setpoint_injection", mode="live", out_dir=tmp_path)


def test_the_test_plant_is_not_a_live_scenario(tmp_path: Path) -> None:
    from otshield.errors import ConfigError

    with pytest.raises(ConfigError, match="not a scenario the live range can play"):
        run_drill("testplant", mode="live", out_dir=tmp_path)
    with pytest.raises(ConfigError, match="offline or live"):
        run_drill("testplant", mode="sideways", out_dir=tmp_path)  # type: ignore[arg-type]


def test_thinned_live_occurrences_keep_their_packet_time(
        range_run: tuple[Path, FakeResult], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import otshield.sim.range.drill as range_drill

    site, result = range_run
    second = next(t for t in result.truth if t.stage == "burst_second")
    command = next(a for a in result.alerts if a.rule_id == "ot.iec104.command")
    again = msgspec.structs.replace(command, ts=second.ts + 0.01, first_seen=second.ts + 0.01,
                                    last_seen=second.ts + 0.01)
    thinned = FakeResult(alerts=[*result.alerts, again], truth=result.truth,
                         seen_at=result.seen_at, capture=tmp_path / "gone.pcap")
    monkeypatch.setattr(range_drill, "run_live_drill", lambda *a, **k: thinned)
    record = run_drill("setpoint_injection", mode="live", out_dir=tmp_path / "d", site=site,
                       reports=False)
    ids = [h.id for h in record.alerts]
    assert len(ids) == len(set(ids)) == len(result.alerts)
    merged = next(h for h in record.alerts if h.id == command.key)
    assert merged.count == command.count + again.count
    assert merged.seen_at == result.seen_at[command.key]
    assert record.score is not None
    stage = next(s for s in record.score.stages if s.stage == "burst_second")
    assert stage.time_to_detect == pytest.approx(0.01)
    lines = (tmp_path / "d" / "alerts.jsonl").read_bytes().splitlines()
    assert len(lines) == len(result.alerts)
