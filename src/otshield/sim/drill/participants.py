"""How each participant of a drill did: time to acknowledge alerts, response progress, tabletop.

From a :class:`~otshield.sim.drill.record.DrillRecord`'s actions:

- A participant **acknowledged a stage** when they acknowledged any alert credited to it (a
  stage raises several alerts; one acknowledgement shows someone is on it). **Time to
  acknowledge** is the earliest such acknowledgement (wall clock) minus the time the stage's
  first alert became visible: for a live drill the wall-clock time it was raised
  (``seen_at``, else its packet time, which on the live range is wall-clock too); for an
  offline drill the record's ``released_at`` (when the analysis handed the alerts over).
  Acknowledgements of alerts outside the attack stages (false alarms, other alerts in the
  console) are not counted.
- **Response progress** is the share of the record's checklist steps the participant
  completed (a step done twice counts once). When the drill's incident was worked with a
  console playbook (:func:`otshield.sim.drill.console.import_playbook_runs`) the checklist is
  the run's action steps, so this is the participant's **playbook progress**; completing a
  step includes answering a decision step. The steps they **approved** (OT safety gates) and
  the decisions they took are listed beside it, and the **time to first playbook action** is
  their earliest work on a run (starting it, acknowledging, ticking, completing, deciding,
  approving, a note) minus the time the drill's first alert became visible.
- **Tabletop** results are added up per participant across exercises.
"""

from __future__ import annotations

import msgspec

from otshield.sim.drill.record import DrillRecord
from otshield.sim.drill.score import AlertHit

__all__ = ["ParticipantScore", "first_alert_at", "participant_scores", "playbook_tables",
           "visible_at"]


class ParticipantScore(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str
    acknowledged: int
    """Detected stages this participant acknowledged (an alert of the stage)."""
    stages: int
    """Detected stages there were to acknowledge."""
    mean_time_to_ack: float | None
    max_time_to_ack: float | None
    steps_done: tuple[str, ...]
    steps_total: int
    tabletop_points: int
    tabletop_max: int
    approved: tuple[str, ...] = ()
    """Playbook steps whose OT approval this participant gave."""
    decided: tuple[str, ...] = ()
    """Playbook decisions this participant took (``step: option``)."""
    first_playbook_action: float | None = None
    """Seconds from the drill's first alert to this participant's first playbook action."""

    @property
    def progress(self) -> float:
        """Share of the checklist done (0..1)."""
        return len(self.steps_done) / self.steps_total if self.steps_total else 0.0


def visible_at(record: DrillRecord, hit: AlertHit) -> float:
    """When the participants could first see ``hit`` (module docstring)."""
    if record.mode == "live":
        return hit.seen_at or hit.ts
    return record.released_at


def first_alert_at(record: DrillRecord) -> float:
    """When the drill's first alert became visible (the record's release time when it has no
    alert)."""
    return min((visible_at(record, h) for h in record.alerts), default=record.released_at)


def participant_scores(record: DrillRecord) -> list[ParticipantScore]:
    """One score per participant, in the record's order (participants that appear only in
    actions or tabletop results are added after the declared ones)."""
    roles: dict[str, str] = {p.name: p.role for p in record.participants}
    for a in record.actions:
        roles.setdefault(a.participant, "")
    for t in record.tabletop:
        roles.setdefault(t.participant, t.role)
    alerts = {h.id: h for h in (*record.occurrences, *record.alerts)}
    stages = [s for s in (record.score.stages if record.score else ()) if s.alert_ids]
    shown = {s.stage: min((visible_at(record, alerts[i]) for i in s.alert_ids if i in alerts),
                          default=record.released_at) for s in stages}
    steps = {s.id for s in record.checklist}
    names = {s.id: s.title for s in record.checklist}
    first_alert = first_alert_at(record)
    out: list[ParticipantScore] = []
    for name, role in roles.items():
        first_ack: dict[str, float] = {}
        done: list[str] = []
        approved: list[str] = []
        decided: list[str] = []
        first_play: float | None = None
        for a in sorted(record.actions, key=lambda a: a.at):
            if a.participant != name:
                continue
            if a.source == "playbook":
                first_play = a.at if first_play is None else first_play
                if a.detail.startswith("approved") and a.step not in approved:
                    approved.append(a.step)
                elif a.detail.startswith("decided"):
                    # "decided: <question> -> <option>[ (<note>)]"
                    answer = a.detail.rpartition(" -> ")[2].split(" (")[0] \
                        if " -> " in a.detail else ""
                    decided.append(f"{names.get(a.step, a.step)}: {answer or '?'}")
            if a.kind == "ack":
                for stage in stages:
                    if a.alert_id in stage.alert_ids and stage.stage not in first_ack:
                        first_ack[stage.stage] = a.at
            elif a.kind == "step" and a.step in steps and a.step not in done:
                done.append(a.step)
        delays = [max(0.0, at - shown[k]) for k, at in first_ack.items()]
        mine = [t for t in record.tabletop if t.participant == name]
        out.append(ParticipantScore(
            name=name, role=role, acknowledged=len(first_ack), stages=len(stages),
            mean_time_to_ack=sum(delays) / len(delays) if delays else None,
            max_time_to_ack=max(delays) if delays else None,
            steps_done=tuple(done), steps_total=len(steps),
            tabletop_points=sum(t.points for t in mine),
            tabletop_max=sum(t.max_points for t in mine),
            approved=tuple(names.get(s, s) for s in approved), decided=tuple(decided),
            first_playbook_action=None if first_play is None
            else max(0.0, first_play - first_alert)))
    return out


def playbook_tables(record: DrillRecord) -> tuple[list[dict[str, str]], list[dict[str, str]],
                                                   list[dict[str, str]]]:
    """The reports' playbook section as table rows: the runs, progress per participant, and
    each completion, decision and approval with its time (empty without a run)."""
    from otshield.sim.drill.view import clock, seconds

    if not record.runs:
        return [], [], []
    runs = [{"Playbook": r.playbook_name, "Incident": str(r.incident_id), "Status": r.status,
             "Started": clock(r.started_at, with_date=True),
             "Started by": r.started_by or "-"} for r in record.runs]
    people = [{"Participant": p.name, "Role": p.role or "-",
               "Steps completed": f"{len(p.steps_done)} / {p.steps_total} "
                                  f"({100 * p.progress:.0f}%)",
               "Decisions": "; ".join(p.decided) or "-",
               "Approved": "; ".join(p.approved) or "-",
               "First playbook action": "-" if p.first_playbook_action is None
               else f"{seconds(p.first_playbook_action)} after the first alert"}
              for p in participant_scores(record)
              if p.first_playbook_action is not None or p.steps_done]
    names = {s.id: s.title for s in record.checklist}
    first = first_alert_at(record)
    work = [{"Time": clock(a.at), "After first alert": seconds(max(0.0, a.at - first)),
             "Participant": a.participant,
             "Did": a.detail.partition(":")[0],
             "Step": names.get(a.step, a.step) or "-"}
            for a in sorted(record.actions, key=lambda a: (a.at, a.participant))
            if a.source == "playbook" and a.detail.partition(":")[0] in (
                "completed", "decided", "approved")]
    return runs, people, work
