"""A drill and the console: its alerts go into the console's store, the team's acknowledgements
come back into the drill record.

``drill run --console DB`` records the drill's alerts in the console database
(:func:`otshield.store.alerts.record_alerts`, merged by aggregation key like an uploaded
capture), so the participants triage them in the console. ``drill score RECORD --console DB``
then reads who acknowledged which of the drill's alerts and when: the alert's own
acknowledgement (``acknowledged_by``/``acknowledged_at``) and every ``alert.acknowledge`` entry
of the audit log (when several people acknowledged in turn, each counts for themselves).
Importing twice does not duplicate actions: console actions are replaced by the fresh import.

It also reads the playbook runs (issue #8, :mod:`otshield.respond`) of the incidents the
correlator made from the drill's alerts (:func:`import_playbook_runs`). Each run's timeline
says who did what to which step and when (``actor`` is ``"name (console role)"``; otshield's
own entries have no role and are no participant's work). The drill's checklist becomes the
runs' action steps that people work (CACAO ``action`` steps with no automated action, plus
automated ones a person had to carry out); a participant completed a step when the timeline
shows them completing it or answering its decision. Approvals and the other work (starting
the run, acknowledging, ticking checklist items, notes, failures) are kept too: the first of
all of it is the participant's first playbook action. Without a run the built-in checklist
stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from otshield.detect.alert import Alert
from otshield.errors import ConfigError, OtshieldError
from otshield.sim.drill.record import (
    DEFAULT_CHECKLIST,
    Action,
    DrillRecord,
    Participant,
    PlaybookRunRef,
    ResponseStep,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from otshield.respond.cacao.model import Playbook
    from otshield.respond.runner import Run

__all__ = ["PLAYBOOK_WORK", "import_acknowledgements", "import_playbook_runs", "push_alerts"]

PLAYBOOK_WORK = ("started", "acknowledged", "ticked", "completed", "failed", "decided",
                 "approved", "note")
"""Run timeline kinds that are a person's work (the others are otshield moving the run)."""

_ACTOR = re.compile(r"^(?P<name>.+) \((?P<role>[a-z_]+)\)$")
"""A person in a run timeline: :attr:`otshield.respond.runner.Actor.label`."""


def _open(db: str) -> object:
    try:
        from otshield.store import Store
    except ImportError as exc:  # pragma: no cover - the store ships with otshield
        raise ConfigError(f"the console store is not installed ({exc})") from None
    if "://" not in db and not Path(db).is_file():
        raise ConfigError(f"{db}: no such console database")
    return Store(db)


def push_alerts(db: str, alerts: Sequence[Alert]) -> int:
    """Record ``alerts`` in the console database ``db`` (created or upgraded); returns how
    many were new there."""
    from otshield.store import Store
    from otshield.store.alerts import record_alerts

    store = Store(db)
    try:
        store.migrate()
        with store.session() as session:
            return record_alerts(session, alerts)
    except OtshieldError as exc:
        raise ConfigError(f"cannot record the drill's alerts in {db}: {exc}") from None
    finally:
        store.dispose()


def _alert_rows(session: Session, record: DrillRecord) -> dict[int, str]:
    """The console row id of each of ``record``'s alerts that the console holds -> its id."""
    from sqlalchemy import select

    from otshield.store.alerts import key_hash
    from otshield.store.models import AlertRow

    wanted = {key_hash(h.id): h.id for h in record.alerts}
    hashes = list(wanted)
    ids: dict[int, str] = {}
    for start in range(0, len(hashes), 500):  # bounded IN lists
        for row_id, digest in session.execute(select(AlertRow.id, AlertRow.key_hash).where(
                AlertRow.key_hash.in_(hashes[start:start + 500]))):
            ids[row_id] = wanted[digest]
    return ids


def import_acknowledgements(db: str, record: DrillRecord) -> int:
    """Replace ``record``'s console actions with the acknowledgements of its alerts found in
    ``db``; returns how many there are. Users who acknowledged join the participants (with
    their console role when the drill did not give them one)."""
    from sqlalchemy import select

    from otshield.store import Store
    from otshield.store.alerts import key_hash
    from otshield.store.models import AlertRow, AuditRow, UserRow

    store = _open(db)
    assert isinstance(store, Store)
    wanted = {key_hash(h.id): h.id for h in record.alerts}
    found: set[tuple[str, str, float]] = set()
    roles: dict[str, str] = {}
    try:
        with store.session(write=False) as session:
            ids: dict[int, str] = {}
            hashes = list(wanted)
            for start in range(0, len(hashes), 500):  # bounded IN lists
                for row in session.scalars(select(AlertRow).where(
                        AlertRow.key_hash.in_(hashes[start:start + 500]))):
                    ids[row.id] = wanted[row.key_hash]
                    if row.acknowledged_by and row.acknowledged_at is not None:
                        found.add((row.acknowledged_by, ids[row.id], row.acknowledged_at))
            targets = {f"alert:{i}": key for i, key in ids.items()}
            if targets:
                for audit in session.scalars(select(AuditRow).where(
                        AuditRow.action == "alert.acknowledge", AuditRow.outcome == "ok",
                        AuditRow.target.in_(list(targets)))):
                    found.add((audit.actor, targets[audit.target], audit.ts))
            people = {who for who, _, _ in found}
            if people:
                for user in session.scalars(select(UserRow).where(
                        UserRow.username.in_(list(people)))):
                    roles[user.username] = str(user.role)
    except OtshieldError as exc:
        raise ConfigError(f"cannot read acknowledgements from {db}: {exc}") from None
    finally:
        store.dispose()
    # the same acknowledgement appears on the alert row and in the audit log, a few
    # milliseconds apart: keep the earliest per person and alert
    first: dict[tuple[str, str], float] = {}
    for who, key, at in found:
        if (who, key) not in first or at < first[(who, key)]:
            first[(who, key)] = at
    record.actions = [a for a in record.actions if a.source != "console"] + sorted(
        (Action(at=at, participant=who, kind="ack", alert_id=key, source="console")
         for (who, key), at in first.items()), key=lambda a: (a.at, a.participant))
    known = {p.name for p in record.participants}
    for who in sorted({w for w, _ in first} - known):
        record.participants.append(Participant(name=who, role=roles.get(who, "")))
    return len(first)


def _order(playbook: Playbook) -> list[str]:
    """The playbook's step ids in workflow order (breadth first from the start step), then any
    step the workflow does not reach, in document order."""
    seen: list[str] = []
    queue = [playbook.start]
    while queue:
        sid = queue.pop(0)
        if sid in seen or sid not in playbook.steps:
            continue
        seen.append(sid)
        step = playbook.steps[sid]
        # a parallel step's branches before what follows it; a condition's branches first
        queue.extend(n for n in (*step.next_steps, step.on_true, step.on_false,
                                 *step.cases.values(), step.on_success, step.on_failure,
                                 step.on_completion) if n)
    return seen + [sid for sid in playbook.steps if sid not in seen]


def _people_steps(playbook: Playbook, run: Run) -> list[ResponseStep]:
    """The run's action steps a person works, as the drill's response steps."""
    out = []
    for sid in _order(playbook):
        step = playbook.steps[sid]
        state = run.steps.get(sid)
        if step.type != "action":
            continue
        if step.action is not None and not (state is not None and state.by_hand):
            continue  # otshield does it (a notification, a firewall proposal)
        out.append(ResponseStep(id=sid, title=step.name, role=step.role))
    return out


def _run_actions(run: Run) -> tuple[list[Action], dict[str, str]]:
    """The people's work in ``run``'s timeline as drill actions, and each person's console
    role."""
    actions: list[Action] = []
    roles: dict[str, str] = {}
    for entry in run.timeline:
        who = _ACTOR.match(entry.actor)
        if who is None or entry.kind not in PLAYBOOK_WORK:
            continue
        name = who["name"]
        roles.setdefault(name, who["role"])
        if entry.kind in ("completed", "decided") and entry.step:
            kind, detail = "step", entry.kind + (f": {entry.detail}" if entry.detail else "")
        else:
            kind, detail = "playbook", entry.kind + (f": {entry.detail}" if entry.detail
                                                     else "")
        actions.append(Action(at=entry.ts, participant=name, kind=kind, step=entry.step,
                              detail=detail[:500], source="playbook"))
    return actions, roles


def import_playbook_runs(db: str, record: DrillRecord) -> int:
    """Replace ``record``'s playbook actions, runs and (when there is a run) checklist with
    what the console's playbook runs on the drill's incidents hold; returns how many runs there
    are. People who worked a run join the participants (with their console role when the
    drill did not give them one)."""
    from sqlalchemy import select

    from otshield.respond.cacao.model import parse_playbook
    from otshield.respond.store import get_run
    from otshield.store import Store
    from otshield.store.models import IncidentAlertRow, PlaybookRunRow

    store = _open(db)
    assert isinstance(store, Store)
    refs: list[PlaybookRunRef] = []
    steps: dict[str, ResponseStep] = {}
    actions: list[Action] = []
    roles: dict[str, str] = {}
    try:
        with store.session(write=False) as session:
            alert_ids = list(_alert_rows(session, record))
            incidents: set[int] = set()
            for start in range(0, len(alert_ids), 500):
                incidents.update(session.scalars(select(IncidentAlertRow.incident_id).where(
                    IncidentAlertRow.alert_id.in_(alert_ids[start:start + 500]))))
            run_ids = list(session.scalars(select(PlaybookRunRow.id).where(
                PlaybookRunRow.incident_id.in_(sorted(incidents))).order_by(
                PlaybookRunRow.started_at, PlaybookRunRow.id))) if incidents else []
            for run_id in run_ids:
                stored = get_run(session, run_id)
                run = stored.run
                playbook = parse_playbook(stored.playbook, f"{db}: playbook of run {run_id}")
                refs.append(PlaybookRunRef(
                    id=run.id, playbook_id=run.playbook_id, playbook_name=run.playbook_name,
                    incident_id=stored.summary.incident_id, status=run.status,
                    started_at=run.started_at, started_by=run.started_by))
                for step in _people_steps(playbook, run):
                    steps.setdefault(step.id, step)
                mine, who = _run_actions(run)
                actions.extend(mine)
                for name, role in who.items():
                    roles.setdefault(name, role)
    except OtshieldError as exc:
        raise ConfigError(f"cannot read playbook runs from {db}: {exc}") from None
    finally:
        store.dispose()
    had_runs = bool(record.runs)
    record.runs = refs
    if refs:
        record.checklist = list(steps.values())
    elif had_runs:  # the runs are gone from the console: back to the built-in checklist
        record.checklist = list(DEFAULT_CHECKLIST)
    record.actions = [a for a in record.actions if a.source != "playbook"] + sorted(
        actions, key=lambda a: (a.at, a.participant))
    known = {p.name for p in record.participants}
    for name in sorted(set(roles) - known):
        record.participants.append(Participant(name=name, role=roles[name]))
    return len(refs)
