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
  completed (a step done twice counts once).
- **Tabletop** results are added up per participant across exercises.
"""

from __future__ import annotations

import msgspec

from otshield.sim.drill.record import DrillRecord
from otshield.sim.drill.score import AlertHit

__all__ = ["ParticipantScore", "participant_scores", "visible_at"]


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

    @property
    def progress(self) -> float:
        """Share of the checklist done (0..1)."""
        return len(self.steps_done) / self.steps_total if self.steps_total else 0.0


def visible_at(record: DrillRecord, hit: AlertHit) -> float:
    """When the participants could first see ``hit`` (module docstring)."""
    if record.mode == "live":
        return hit.seen_at or hit.ts
    return record.released_at


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
    out: list[ParticipantScore] = []
    for name, role in roles.items():
        first_ack: dict[str, float] = {}
        done: list[str] = []
        for a in sorted(record.actions, key=lambda a: a.at):
            if a.participant != name:
                continue
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
            tabletop_max=sum(t.max_points for t in mine)))
    return out
