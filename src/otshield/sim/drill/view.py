"""What the after-action reports show, as plain rows: one source for Markdown and HTML.

Both reports print the same summary figures, stage table, participants, tabletop scores,
timeline and lessons; building them here once keeps the two formats from drifting apart.
Values are already formatted text (times in seconds with sensible precision, UTC clock times).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from otshield.sim.drill.lessons import Lesson, RuleInfo, lessons
from otshield.sim.drill.participants import participant_scores
from otshield.sim.drill.record import DrillRecord, rescore
from otshield.sim.drill.score import AlertHit

__all__ = ["Event", "ReportView", "build_view", "clock", "seconds"]


def seconds(value: float | None) -> str:
    """A delay for people: ``0.004 s``, ``2.5 s``, ``3 min 20 s``; ``-`` for none."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.3f} s" if value < 1 else f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def clock(ts: float, with_date: bool = False) -> str:
    if ts <= 0:
        return "-"
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    return text + f".{int(moment.microsecond / 1000):03d}" + (" UTC" if with_date else "")


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A point or span of the timeline chart."""

    lane: str
    """The stage name (one lane per stage)."""
    start: float
    end: float
    kind: str
    """stage, alert-right (a fitting alert with the right technique), alert (fitting, other
    technique)."""
    label: str


class ReportView(msgspec.Struct, kw_only=True):
    title: str
    summary: list[tuple[str, str]]
    verdict: str
    stage_columns: tuple[str, ...]
    stages: list[dict[str, str]]
    participants: list[dict[str, str]]
    tabletop: list[dict[str, str]]
    lessons: list[Lesson]
    timeline: list[Event]
    span: tuple[float, float]
    details: list[tuple[str, str]]
    problems: list[str]


STAGE_COLUMNS = ("#", "Stage", "Technique", "Detected", "Technique right", "Time to detect",
                 "Rule")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def build_view(record: DrillRecord, rules: list[RuleInfo] | None = None) -> ReportView:
    score = record.score or rescore(record)
    stages = [{"#": str(i), "Stage": s.stage, "Title": s.title,
               "Technique": ", ".join(s.techniques), "Detected": _yes(s.detected),
               "Technique right": _yes(s.technique_right),
               "Time to detect": seconds(s.time_to_detect),
               "Rule": ", ".join(s.rules[:3]) + (f" (+{len(s.rules) - 3})"
                                                 if len(s.rules) > 3 else "") or "-"}
              for i, s in enumerate(score.stages, start=1)]
    total = score.stages_total
    missed, wrong = total - score.stages_detected, score.stages_detected - score.techniques_right
    if not total:
        verdict = "no attack stage to score"
    elif score.all_right:
        verdict = f"all {total} stage(s) detected with the right technique"
    else:
        parts = [f"{missed} of {total} stage(s) missed"] if missed else [
            f"all {total} stage(s) detected"]
        if wrong:
            parts.append(f"{wrong} detected without the right technique")
        verdict = ", ".join(parts)
    summary = [
        ("Scenario", f"{record.title or record.scenario} ({record.scenario})"),
        ("Mode", f"{record.mode}, seed {record.seed}"),
        ("Stages detected", f"{score.stages_detected} / {total}"),
        ("Technique right", f"{score.techniques_right} / {total}"),
        ("Mean time to detect", seconds(score.mean_time_to_detect)),
        ("Max time to detect", seconds(score.max_time_to_detect)),
        ("Alerts", str(len(record.alerts))),
        ("False alarms", f"{score.unmatched_medium} medium+"),
    ]
    people = [{"Participant": p.name, "Role": p.role.upper() or "-",
               "Stages acknowledged": f"{p.acknowledged} / {p.stages}",
               "Mean time to acknowledge": seconds(p.mean_time_to_ack),
               "Max time to acknowledge": seconds(p.max_time_to_ack),
               "Response progress": f"{len(p.steps_done)} / {p.steps_total} "
                                    f"({100 * p.progress:.0f}%)",
               "Tabletop": f"{p.tabletop_points} / {p.tabletop_max}" if p.tabletop_max
               else "-"}
              for p in participant_scores(record)]
    tabletop = [{"Exercise": t.title, "Participant": t.participant or "-",
                 "Role": r.role.upper(), "Right": f"{r.right} / {r.injects}",
                 "In time": str(r.timely), "Points": f"{r.points} / {r.max_points}",
                 "Score": f"{r.percent:.0f}%"}
                for t in record.tabletop for r in t.roles]
    timeline: list[Event] = []
    # each stage's marker is the occurrence that was credited to it: the earliest of the alert
    # inside the stage's window (a merged alert's first occurrence may belong to an earlier
    # stage)
    occurrences: dict[str, list[AlertHit]] = {}
    for h in record.occurrences or record.alerts:
        occurrences.setdefault(h.id, []).append(h)
    for s in score.stages:
        timeline.append(Event(lane=s.stage, start=s.start, end=s.end, kind="stage",
                              label=f"first packet {clock(s.start)}, last {clock(s.end)}"))
        for aid in s.alert_ids:
            inside = [h for h in occurrences.get(aid, ())
                      if s.start <= h.ts <= s.end + score.slack]
            if not inside:
                continue
            hit = min(inside, key=lambda h: h.ts)
            when = hit.ts
            good = bool(set(hit.techniques) & set(s.techniques))
            timeline.append(Event(lane=s.stage, start=when, end=when,
                                  kind="alert-right" if good else "alert",
                                  label=f"{hit.rule_id} "
                                        f"({', '.join(hit.techniques) or 'no technique'})"))
    times = [e.start for e in timeline] + [e.end for e in timeline]
    span = (min(times), max(times)) if times else (0.0, 0.0)
    details = [("Capture", record.capture or "-"), ("Site file", record.site or "-"),
               ("Packets", str(record.packets) if record.packets else "-"),
               ("Scoring", f"an alert fits a stage when it involves the stage's attacker or "
                           f"target and its first evidence lies between the stage's first "
                           f"packet and {score.slack:g} s after its last; " + (
                               "time to detect on the wall clock (when live detection raised "
                               "the alert; a repeat of an alert already raised: its packet "
                               "time)" if score.clock == "wall" else
                               "time to detect in packet time")),
               ("Drill run", clock(record.created, with_date=True))]
    return ReportView(title=f"After-action report: {record.title or record.scenario}",
                      summary=summary, verdict=verdict, stage_columns=STAGE_COLUMNS,
                      stages=stages, participants=people, tabletop=tabletop,
                      lessons=lessons(record, rules), timeline=timeline, span=span,
                      details=details, problems=list(record.problems))
