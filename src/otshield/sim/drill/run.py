"""Running a drill: play a scenario, watch it with otshield, score it, write it all down.

Offline (the default): the simulator writes the plant's traffic with the scenario in it
(:func:`otshield.sim.run.simulate`), the site file comes from the plant model, and the one-pass
analysis (``otshield analyze``: the rule pack, the zone policy and a baseline learnt on the
traffic before the first attack stage) reads the capture; the alerts are scored against the
ground truth. Live: the live range (:mod:`otshield.sim.range`) runs the plant as real services,
executes the scenario's attacks and watches them with live capture and detection; its alerts
and truth are scored on the wall clock.

The pseudo-scenario ``testplant`` replays the project's own attack capture
(:mod:`otshield.detect.testplant`, eleven stages on a smaller plant), which needs neither the
simulator nor the scenario library.

A drill directory holds ``capture.pcap``, ``site.yaml``, ``alerts.jsonl`` (the merged alerts,
whole), ``record.json`` (:mod:`otshield.sim.drill.record`) and the after-action reports
``report.md`` and ``report.html``.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from otshield.detect.alert import Alert, AlertAggregator
from otshield.errors import ConfigError, OtshieldError
from otshield.sim.drill.record import DrillRecord, Participant, rescore, save_record
from otshield.sim.drill.score import DEFAULT_SLACK, AlertHit, condense, hit_of
from otshield.sim.drill.truth import as_truth, fill_end_times
from otshield.sim.scenario import GroundTruth

__all__ = [
    "MAX_SLACK",
    "TESTPLANT",
    "DrillFiles",
    "RangeUnavailable",
    "drill_files",
    "run_drill",
    "scenario_catalogue",
    "write_reports",
    "write_text_atomic",
]

MAX_SLACK = 300.0
"""The record keeps the alert occurrences needed to score again with any slack up to this."""

TESTPLANT = "testplant"
"""The pseudo-scenario replaying :mod:`otshield.detect.testplant`."""


class RangeUnavailable(OtshieldError):
    """The live range cannot run a drill here (not built yet, not root, no namespaces)."""


class DrillFiles(msgspec.Struct, frozen=True):
    directory: Path
    capture: Path
    site: Path
    alerts: Path
    record: Path
    report_md: Path
    report_html: Path


def drill_files(out_dir: Path) -> DrillFiles:
    return DrillFiles(directory=out_dir, capture=out_dir / "capture.pcap",
                      site=out_dir / "site.yaml", alerts=out_dir / "alerts.jsonl",
                      record=out_dir / "record.json", report_md=out_dir / "report.md",
                      report_html=out_dir / "report.html")


def scenario_catalogue() -> list[tuple[str, str, int, str]]:
    """(id, title, stages, summary) of every scenario a drill can run, the test plant first.
    The library's part is empty (with a note in the summary) when it is not installed."""
    out = [(TESTPLANT, "Project test plant: eleven attack stages on a small plant", 11,
            "The project's own attack capture (otshield.detect.testplant): IT-to-OT lateral "
            "movement, Modbus/S7/DNP3/IEC 104 attacks, Log4Shell, a PLC calling out.")]
    try:
        from otshield.sim.scenarios import SCENARIOS
    except ImportError:
        return out
    for sid, sc in sorted(SCENARIOS.items()):
        out.append((sid, sc.title, len(sc.stages), sc.summary))
    return out


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_alerts(path: Path, alerts: Sequence[Alert]) -> None:
    enc = msgspec.json.Encoder()
    write_text_atomic(path, "".join(enc.encode(a).decode() + "\n" for a in alerts))


def _simulate(scenario_id: str, files: DrillFiles, seed: int, site: Path | None,
              plant: Path | None, duration: float | None, packets: int | None
              ) -> tuple[list[GroundTruth], str, Path]:
    """Write the capture; (truth, scenario title, site file)."""
    if scenario_id == TESTPLANT:
        from otshield.detect.testplant import site_text, write_attack_capture

        raw = write_attack_capture(files.capture, seed=seed)
        if site is None:
            write_text_atomic(files.site, site_text())
            site = files.site
        return (fill_end_times(as_truth(raw, TESTPLANT), files.capture),
                "Project test plant", site)
    try:
        from otshield.sim.model import load_plant
        from otshield.sim.run import simulate
        from otshield.sim.scenarios import get_scenario
    except ImportError as exc:
        raise ConfigError(f"the simulator or the scenario library is not installed ({exc}); "
                          f"only {TESTPLANT!r} can run") from None
    scenario = get_scenario(scenario_id)
    model = load_plant(plant)
    kwargs: dict[str, Any] = {"scenario": scenario, "seed": seed}
    if duration is not None:
        kwargs["duration"] = duration
    if packets is not None:
        kwargs["packets"] = packets
    result = simulate(model, files.capture, **kwargs)
    if site is None:
        write_text_atomic(files.site, model.site_yaml())
        site = files.site
    truth = fill_end_times(as_truth(list(result.truth), scenario_id), files.capture)
    return truth, scenario.title, site


def _title(scenario_id: str) -> str:
    try:
        from otshield.sim.scenarios import get_scenario

        return str(get_scenario(scenario_id).title)
    except (ImportError, ConfigError):
        return scenario_id


def _analyse(files: DrillFiles, site: Path, truth: Sequence[GroundTruth], baseline: bool
             ) -> tuple[list[Alert], list[Alert], int, list[str]]:
    """(merged alerts, occurrences, packets, problems) of the capture."""
    from otshield.detect.analyze import AnalyzeOptions, run_analysis

    learn = min((t.first_frame for t in truth), default=1) - 1
    options = AnalyzeOptions(site=str(site),
                             baseline_mode="auto" if baseline and learn > 0 else "off",
                             learn_packets=max(learn, 0))
    occurrences: list[Alert] = []
    analysis = run_analysis([files.capture], options, on_each_alert=occurrences.append)
    return analysis.alerts, occurrences, analysis.packets, list(analysis.problems)


class _LiveRun(msgspec.Struct):
    alerts: list[Alert]
    truth: list[GroundTruth]
    seen_at: dict[str, float]
    capture: str
    problems: list[str]


def _live(scenario_id: str, files: DrillFiles, seed: int, site: Path | None,
          plant: Path | None) -> _LiveRun:
    if scenario_id == TESTPLANT:
        raise ConfigError(f"{TESTPLANT!r} is a capture, not a scenario the live range can "
                          "play; choose a scenario of the library (drill list)")
    try:
        from otshield.sim.range.drill import run_live_drill
    except ImportError as exc:
        raise RangeUnavailable(
            "the live range is unavailable: otshield.sim.range.drill.run_live_drill is not "
            f"installed ({exc}); run the drill offline (without --live)") from None
    model = None
    if plant is not None:
        from otshield.sim.model import load_plant

        model = load_plant(plant)
    result: Any = run_live_drill(scenario_id, plant=model, seed=seed,
                                 out_dir=files.directory, site=site)
    if isinstance(result, tuple):
        alerts, truth = result
        return _LiveRun(alerts=list(alerts), truth=as_truth(list(truth), scenario_id),
                        seen_at={}, capture="", problems=[])
    problems = list(getattr(result, "problems", []) or [])
    problems.extend(f"stage {name} not played: no live attack fits it"
                    for name in getattr(result, "skipped", []) or [])
    capture = getattr(result, "capture", None)
    return _LiveRun(alerts=list(result.alerts), truth=as_truth(list(result.truth), scenario_id),
                    seen_at=dict(getattr(result, "seen_at", {}) or {}),
                    capture=str(capture) if capture else "", problems=problems)


def _live_hits(live: _LiveRun) -> list[AlertHit]:
    """The live alerts as hits: the earliest occurrence of each key carries the wall-clock time
    the live pipeline raised it (``seen_at`` is per key); later occurrences of the key (the
    range reports some, thinned) keep their packet time."""
    earliest: dict[str, Alert] = {}
    for a in live.alerts:
        known = earliest.get(a.key)
        if known is None or a.ts < known.ts:
            earliest[a.key] = a
    return [hit_of(a, live.seen_at.get(a.key, 0.0) if earliest[a.key] is a else 0.0)
            for a in live.alerts]


def _later_occurrences(live: _LiveRun, site: str) -> list[AlertHit]:
    """The occurrences of the range capture that live detection merged into alerts it had
    already raised (same rule and endpoints: a write after a sweep by the same laptop).

    Live detection reports each alert once, when first raised; a later stage that raises the
    same alert again would look missed. Reading the range's capture again with the same
    detection gives every occurrence; those after each alert's first keep their packet time
    (on the range, the wall clock at capture), the first ones keep the live ``seen_at``."""
    if not live.capture or not Path(live.capture).is_file():
        return []
    from otshield.detect.analyze import AnalyzeOptions, run_analysis

    occurrences: list[Alert] = []
    try:
        run_analysis([Path(live.capture)], AnalyzeOptions(site=site or None),
                     on_each_alert=occurrences.append)
    except OtshieldError as exc:
        live.problems.append(f"the range capture could not be read again: {exc}")
        return []
    first: dict[str, float] = {}
    for a in live.alerts:
        first[a.key] = min(first.get(a.key, math.inf), a.first_seen or a.ts)
    return [hit_of(a) for a in occurrences
            if a.key not in first or a.ts > first[a.key] + 1e-3]


def run_drill(scenario_id: str, *, mode: Literal["offline", "live"] = "offline",
              seed: int = 1, out_dir: Path, site: Path | None = None,
              plant: Path | None = None, slack: float = DEFAULT_SLACK,
              duration: float | None = None, packets: int | None = None,
              baseline: bool = True, participants: Sequence[Participant] = (),
              reports: bool = True) -> DrillRecord:
    """Run one drill into ``out_dir`` (created) and return its record (also saved there)."""
    if mode not in ("offline", "live"):
        raise ConfigError(f"drill mode must be offline or live, not {mode!r}")
    if not 0 <= slack <= MAX_SLACK:
        raise ConfigError(f"the slack must be 0 to {MAX_SLACK:g} seconds, not {slack!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = drill_files(out_dir)
    created = time.time()
    record = DrillRecord(scenario=scenario_id, seed=seed, mode=mode, created=created,
                         slack=slack, participants=list(participants))
    if mode == "offline":
        truth, title, site_used = _simulate(scenario_id, files, seed, site, plant, duration,
                                            packets)
        merged, occurrences, record.packets, record.problems = _analyse(
            files, site_used, truth, baseline)
        record.capture, record.site = str(files.capture), str(site_used)
        record.title = title
        record.alerts = [hit_of(a) for a in merged]
        record.occurrences = condense(truth, occurrences, slack=max(slack, MAX_SLACK))
    else:
        live = _live(scenario_id, files, seed, site, plant)
        truth, record.problems = live.truth, live.problems
        record.title = _title(scenario_id)
        default_site = files.directory / "range-site.yaml"
        record.site = str(site or (default_site if default_site.exists() else ""))
        record.capture = live.capture
        hits = _live_hits(live)
        aggregator = AlertAggregator()
        for alert in live.alerts:
            aggregator(alert)
        merged = aggregator.alerts()
        first = {h.id: h for h in hits if h.seen_at}
        record.alerts = [msgspec.structs.replace(hit_of(a), seen_at=first[a.key].seen_at)
                         if a.key in first else hit_of(a) for a in merged]
        record.occurrences = condense(truth, [*hits, *_later_occurrences(
            live, record.site)], slack=max(slack, MAX_SLACK))
    record.truth = list(truth)
    record.released_at = time.time() if mode == "offline" else created
    _write_alerts(files.alerts, merged)
    rescore(record)
    save_record(record, files.record)
    if reports:
        write_reports(record, files)
    return record


def write_reports(record: DrillRecord, files: DrillFiles) -> None:
    """The after-action reports (Markdown and HTML) beside the record."""
    from otshield.sim.drill.report_html import render_html
    from otshield.sim.drill.report_md import render_markdown

    write_text_atomic(files.report_md, render_markdown(record))
    write_text_atomic(files.report_html, render_html(record))
