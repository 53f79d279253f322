"""A drill and the console: its alerts go into the console's store, the team's acknowledgements
come back into the drill record.

``drill run --console DB`` records the drill's alerts in the console database
(:func:`otshield.store.alerts.record_alerts`, merged by aggregation key like an uploaded
capture), so the participants triage them in the console. ``drill score RECORD --console DB``
then reads who acknowledged which of the drill's alerts and when: the alert's own
acknowledgement (``acknowledged_by``/``acknowledged_at``) and every ``alert.acknowledge`` entry
of the audit log (when several people acknowledged in turn, each counts for themselves).
Importing twice does not duplicate actions: console actions are replaced by the fresh import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from otshield.detect.alert import Alert
from otshield.errors import ConfigError, OtshieldError
from otshield.sim.drill.record import Action, DrillRecord, Participant

__all__ = ["import_acknowledgements", "push_alerts"]


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
