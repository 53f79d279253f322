"""Scoring a drill: which attack stages the monitor caught, with the right technique, how fast.

A drill knows its ground truth (:class:`~otshield.sim.scenario.GroundTruth`: one entry per
attack stage with its attacker, target, start and end time and the ATT&CK for ICS techniques a
fitting alert names) and has the alerts the monitor raised. :func:`score` matches them:

- An alert **fits** a stage when its endpoints touch the stage's (the alert's source or
  destination address, IP or MAC, is the stage's attacker or target) and its first evidence
  (``first_seen``, packet time) falls in the stage's window: from the stage's first packet to
  its last packet plus ``slack`` seconds (detectors that need several events, a baseline or a
  threshold, may fire a little after the last packet of a short stage).
- An alert that falls inside one stage's own time (first to last packet) is credited to that
  stage only; one that only falls in the slack after stages is credited to the latest of them
  (the story goes on: an alert on stage 3's packets must not rescue a missed stage 2 because
  both stages came from the same laptop a few seconds apart).
- A stage is **detected** when an alert fits it; the **technique is right** when a fitting
  alert names one of the stage's techniques; the **time to detect** is the earliest fitting
  alert's first evidence minus the stage's first packet (packet time: the engine's clock). On
  the live range an alert also carries ``seen_at``, the wall-clock time it was raised; with
  ``clock="wall"`` that time is used for the delay, so capture and detection latency count
  (which stage an alert belongs to is still decided by its first evidence).

Alerts come in two shapes: each occurrence (``run_analysis(on_each_alert=...)``, the truest:
every occurrence has its own time) or the merged alerts of the analysis (a stage whose alert
merged into an earlier stage's, same rule and endpoints, then shows as missed). Either are
first turned into :class:`AlertHit` summaries, which is also what a drill record stores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

import msgspec

from otshield.detect.alert import Alert, severity_at_least

__all__ = [
    "DEFAULT_SLACK",
    "AlertHit",
    "DrillScore",
    "StageScore",
    "TruthLike",
    "condense",
    "hit_of",
    "score",
]

DEFAULT_SLACK = 30.0
"""Seconds after a stage's last packet in which a fitting alert still counts."""

Clock = Literal["packet", "wall"]

_FAMILY = {"rule": 0, "policy": 1, "intel": 2, "baseline": 3}
"""Detector families in the order a stage's rules are listed: the named rule first."""


class TruthLike(Protocol):
    """What scoring reads of a ground-truth entry: :class:`otshield.sim.scenario.GroundTruth`
    and the older :class:`otshield.detect.testplant.GroundTruth` both fit (the latter without
    ``end_ts`` and ``title``, read with defaults)."""

    @property
    def stage(self) -> str: ...
    @property
    def first_frame(self) -> int: ...
    @property
    def last_frame(self) -> int: ...
    @property
    def ts(self) -> float: ...
    @property
    def src(self) -> str: ...
    @property
    def dst(self) -> str: ...
    @property
    def techniques(self) -> tuple[str, ...]: ...
    @property
    def rule(self) -> str: ...
    @property
    def description(self) -> str: ...


class AlertHit(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An alert (or one occurrence of it) as a drill keeps it: enough to score and to show."""

    id: str
    """The alert's aggregation key: the same id the merged alert and the console carry."""
    rule_id: str
    ts: float
    """First evidence, packet time."""
    title: str = ""
    severity: str = ""
    category: str = ""
    techniques: tuple[str, ...] = ()
    src: str = ""
    dst: str = ""
    src_mac: str = ""
    dst_mac: str = ""
    frame: int = 0
    count: int = 1
    last_seen: float = 0.0
    seen_at: float = 0.0
    """Wall-clock time the alert was raised (live runs; 0: not recorded)."""
    description: str = ""

    def endpoints(self) -> frozenset[str]:
        return frozenset(x.lower() for x in (self.src, self.dst, self.src_mac, self.dst_mac)
                         if x)


def hit_of(alert: Alert | AlertHit, seen_at: float = 0.0) -> AlertHit:
    """The summary of ``alert`` (an :class:`AlertHit` is returned as it is)."""
    if isinstance(alert, AlertHit):
        return alert
    src = alert.src_ip or (alert.source.ip if alert.source else "")
    dst = alert.dst_ip or (alert.destination.ip if alert.destination else "")
    return AlertHit(id=alert.key or alert.rule_id, rule_id=alert.rule_id,
                    ts=alert.first_seen or alert.ts, title=alert.title,
                    severity=alert.severity, category=alert.category,
                    techniques=tuple(alert.techniques), src=src, dst=dst,
                    src_mac=alert.src_mac, dst_mac=alert.dst_mac, frame=alert.frame,
                    count=alert.count, last_seen=alert.last_seen or alert.ts,
                    seen_at=seen_at, description=alert.description)


class StageScore(msgspec.Struct, frozen=True, kw_only=True):
    """How one attack stage fared."""

    stage: str
    title: str
    techniques: tuple[str, ...]
    """The techniques a fitting alert should name."""
    expected_rule: str
    attacker: str
    target: str
    start: float
    end: float
    first_frame: int
    last_frame: int
    detected: bool
    technique_right: bool
    time_to_detect: float | None
    """Seconds from the stage's first packet to the earliest fitting alert (None: missed)."""
    time_to_technique: float | None
    """Seconds to the earliest fitting alert naming a right technique (None: none did)."""
    rules: tuple[str, ...]
    """Rules of the fitting alerts: those naming a right technique first (as in
    ``right_rules``), then the others, earliest first."""
    right_rules: tuple[str, ...]
    """Rules of the fitting alerts that named a right technique: the rule pack's first, then
    the zone policy's, intel's and the baseline's, each earliest first."""
    alert_ids: tuple[str, ...]
    techniques_seen: tuple[str, ...]
    """Techniques the fitting alerts named (sorted)."""


class DrillScore(msgspec.Struct, frozen=True, kw_only=True):
    """The score of a drill: per stage and in total."""

    stages: tuple[StageScore, ...]
    slack: float
    clock: str
    stages_total: int
    stages_detected: int
    techniques_right: int
    mean_time_to_detect: float | None
    """Over the detected stages (None when none was)."""
    max_time_to_detect: float | None
    alerts: int
    """Alerts scored (occurrences or merged, as given)."""
    unmatched: int
    """Alerts fitting no stage."""
    unmatched_medium: int
    """Of those, medium severity or more: the false alarms a drill participant would chase."""

    @property
    def all_detected(self) -> bool:
        return self.stages_detected == self.stages_total

    @property
    def all_right(self) -> bool:
        return self.techniques_right == self.stages_total


def _end(truth: TruthLike) -> float:
    end = float(getattr(truth, "end_ts", 0.0) or 0.0)
    return max(end, truth.ts)


def _title(truth: TruthLike) -> str:
    return str(getattr(truth, "title", "") or "") or truth.description


def _when(hit: AlertHit, clock: Clock) -> float:
    if clock == "wall" and hit.seen_at > 0:
        return hit.seen_at
    return hit.ts


def _credited(truth: Sequence[TruthLike], hits: Sequence[AlertHit], slack: float
              ) -> list[list[AlertHit]]:
    """For each stage, the alerts credited to it (see the module docstring)."""
    credited: list[list[AlertHit]] = [[] for _ in truth]
    ends = [{t.src.lower(), t.dst.lower()} - {""} for t in truth]
    for hit in hits:
        touched = hit.endpoints()
        when = hit.ts  # the first evidence places the alert; the clock only times it
        inside: list[int] = []
        after: list[int] = []
        for i, t in enumerate(truth):
            if not touched & ends[i] or when < t.ts:
                continue
            end = _end(t)
            if when <= end:
                inside.append(i)
            elif when <= end + slack:
                after.append(i)
        if inside:
            for i in inside:
                credited[i].append(hit)
        elif after:
            latest = max(after, key=lambda i: (truth[i].ts, i))
            credited[latest].append(hit)
    return credited


def score(truth: Sequence[TruthLike], alerts: Iterable[Alert | AlertHit], *,
          slack: float = DEFAULT_SLACK, clock: Clock = "packet") -> DrillScore:
    """Match ``alerts`` to the stages of ``truth`` (module docstring) and total the result."""
    if not math.isfinite(slack) or slack < 0:
        raise ValueError(f"slack must be a finite number of seconds >= 0, not {slack!r}")
    hits = [hit_of(a) for a in alerts]
    credited = _credited(truth, hits, slack)
    stages: list[StageScore] = []
    matched: set[int] = set()
    for t, fits in zip(truth, credited, strict=True):
        matched.update(id(h) for h in fits)
        fits = sorted(fits, key=lambda h: (_when(h, clock), h.rule_id, h.id))
        wanted = set(t.techniques)
        right = [h for h in fits if wanted & set(h.techniques)]
        named = sorted(right, key=lambda h: _FAMILY.get(h.category, len(_FAMILY)))
        rules = tuple(dict.fromkeys([h.rule_id for h in named] + [h.rule_id for h in fits]))
        ids = tuple(dict.fromkeys(h.id for h in fits))
        stages.append(StageScore(
            stage=t.stage, title=_title(t), techniques=tuple(t.techniques),
            expected_rule=t.rule, attacker=t.src, target=t.dst, start=t.ts, end=_end(t),
            first_frame=t.first_frame, last_frame=t.last_frame, detected=bool(fits),
            technique_right=bool(right),
            time_to_detect=_when(fits[0], clock) - t.ts if fits else None,
            time_to_technique=_when(right[0], clock) - t.ts if right else None,
            rules=rules, right_rules=tuple(dict.fromkeys(h.rule_id for h in named)),
            alert_ids=ids,
            techniques_seen=tuple(sorted({x for h in fits for x in h.techniques}))))
    delays = [s.time_to_detect for s in stages if s.time_to_detect is not None]
    unmatched = [h for h in hits if id(h) not in matched]
    return DrillScore(
        stages=tuple(stages), slack=slack, clock=clock, stages_total=len(stages),
        stages_detected=sum(s.detected for s in stages),
        techniques_right=sum(s.technique_right for s in stages),
        mean_time_to_detect=sum(delays) / len(delays) if delays else None,
        max_time_to_detect=max(delays) if delays else None,
        alerts=len(hits), unmatched=len(unmatched),
        unmatched_medium=sum(severity_at_least(h.severity, "medium") for h in unmatched))


def condense(truth: Sequence[TruthLike], alerts: Iterable[Alert | AlertHit], *,
             slack: float = DEFAULT_SLACK) -> list[AlertHit]:
    """Fewer alert occurrences that score the same as all of them against ``truth``.

    A flood raises ten thousand occurrences of one alert; a drill record keeps, per alert
    (key, endpoints and techniques), its first occurrence and its first occurrence in each
    stage's window: exactly what :func:`score` looks at (the earliest fitting one) on packet
    time."""
    kept: dict[tuple[object, ...], AlertHit] = {}
    windows = [(t.ts, _end(t) + slack) for t in truth]
    for alert in alerts:
        hit = hit_of(alert)
        group = (hit.id, hit.rule_id, hit.src, hit.dst, hit.src_mac, hit.dst_mac,
                 hit.techniques)
        slots: list[int] = [-1]
        slots.extend(i for i, (lo, hi) in enumerate(windows) if lo <= hit.ts <= hi)
        for slot in slots:
            known = kept.get((*group, slot))
            if known is None or hit.ts < known.ts:
                kept[(*group, slot)] = hit
    unique: dict[int, AlertHit] = {id(h): h for h in kept.values()}
    return sorted(unique.values(), key=lambda h: (h.ts, h.rule_id, h.id))
