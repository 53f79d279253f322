"""Alerts in the database: stored aggregated by key across every capture, listed with filters
and pages, and triaged (acknowledge, assign, close with a reason, reopen, suppress, notes).

Aggregation. Detection already merges repeats within a run (``AlertAggregator``: one alert
per key with count, first and last seen). :func:`record_alerts` merges across runs: the same
key from another capture adds to the stored alert's count and widens its first/last seen.
Each capture job's contribution is kept in ``alert_sources`` (job, key -> count, times), so
re-running a job (a restart after a crash) replaces its own contribution instead of adding it
twice: ingestion is idempotent.

Life cycle. ``new`` -> ``acknowledged`` -> ``closed`` (with a reason), ``suppressed`` from
either open state. A closed alert that occurs again (more occurrences arrive) is reopened as
``new``: an attack that comes back must be seen. A suppression (rule + source/destination
address + until when) marks matching open alerts ``suppressed`` and makes matching new ones
arrive suppressed. Lifting it makes the alerts it hid ``new`` again at once; after it expires,
an alert it hid becomes ``new`` when it next occurs.

Every change returns a :class:`~otshield.store.common.Change` for the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session

from otshield.detect.alert import SEVERITIES, Alert, severity_rank
from otshield.store.common import Change, check_page, count_of, now, order_by
from otshield.store.errors import Conflict, Invalid, NotFound
from otshield.store.models import (
    ALERT_STATUSES,
    AlertNoteRow,
    AlertRecordRow,
    AlertRow,
    AlertSourceRow,
    AlertTechniqueRow,
    IncidentAlertRow,
    SuppressionRow,
    UserRow,
)

__all__ = [
    "ALERT_SORTS",
    "AlertDetail",
    "AlertFilter",
    "AlertNote",
    "AlertSummary",
    "Suppression",
    "acknowledge",
    "add_note",
    "assign",
    "close",
    "get_alert",
    "key_hash",
    "lift_suppression",
    "list_alerts",
    "list_suppressions",
    "record_alerts",
    "reopen",
    "suppress",
]

OPEN = ("new", "acknowledged")
MAX_NOTE = 10_000
"""Characters in a note or a close reason."""

_enc = msgspec.json.Encoder()
_alert_dec = msgspec.json.Decoder(Alert)


def key_hash(key: str) -> str:
    """The indexed form of an aggregation key."""
    return hashlib.sha256(key.encode()).hexdigest()


# -- views -----------------------------------------------------------------------------------


class AlertSummary(msgspec.Struct, kw_only=True):
    """An alert as a list shows it (no evidence: that is in :class:`AlertDetail`)."""

    id: int
    rule_id: str
    title: str
    description: str
    severity: str
    confidence: str
    category: str
    protocol: str
    src_ip: str
    dst_ip: str
    src_asset: str
    dst_asset: str
    src_zone: str
    dst_zone: str
    techniques: list[str]
    first_seen: float
    last_seen: float
    count: int
    status: str
    assignee: str
    acknowledged_by: str
    acknowledged_at: float | None
    closed_by: str
    closed_at: float | None
    close_reason: str
    suppression_id: int | None


class AlertNote(msgspec.Struct, kw_only=True):
    id: int
    author: str
    created_at: float
    text: str


class AlertDetail(msgspec.Struct, kw_only=True):
    """One alert whole: its summary, the full merged record (evidence, response, tactics,
    asset context) and the analysts' notes, oldest first."""

    summary: AlertSummary
    alert: Alert
    notes: list[AlertNote]


class Suppression(msgspec.Struct, kw_only=True):
    id: int
    rule_id: str
    src_ip: str
    dst_ip: str
    until: float | None
    reason: str
    created_by: str
    created_at: float
    lifted_at: float | None
    lifted_by: str
    active: bool


_SUMMARY_COLUMNS = (
    AlertRow.id, AlertRow.rule_id, AlertRow.title, AlertRow.description, AlertRow.severity,
    AlertRow.confidence, AlertRow.category, AlertRow.protocol, AlertRow.src_ip,
    AlertRow.dst_ip, AlertRow.src_asset, AlertRow.dst_asset, AlertRow.src_zone,
    AlertRow.dst_zone, AlertRow.techniques, AlertRow.first_seen, AlertRow.last_seen,
    AlertRow.count, AlertRow.status, AlertRow.assignee, AlertRow.acknowledged_by,
    AlertRow.acknowledged_at, AlertRow.closed_by, AlertRow.closed_at, AlertRow.close_reason,
    AlertRow.suppression_id)
"""What :func:`_summary_of` reads, in its order: a list page selects these (plain rows, no
ORM objects)."""


def _summary_of(values: Sequence[Any]) -> AlertSummary:
    """The view of a row of :data:`_SUMMARY_COLUMNS` (by position: a list page makes 50 and
    more of these, and reading a row's fields by name costs more than the rest)."""
    (id_, rule_id, title, description, severity, confidence, category, protocol, src_ip,
     dst_ip, src_asset, dst_asset, src_zone, dst_zone, techniques, first_seen, last_seen,
     count, status, assignee, acknowledged_by, acknowledged_at, closed_by, closed_at,
     close_reason, suppression_id) = values
    return AlertSummary(
        id=id_, rule_id=rule_id, title=title, description=description, severity=severity,
        confidence=confidence, category=category, protocol=protocol, src_ip=src_ip,
        dst_ip=dst_ip, src_asset=src_asset, dst_asset=dst_asset, src_zone=src_zone,
        dst_zone=dst_zone, techniques=techniques.split(), first_seen=first_seen,
        last_seen=last_seen, count=count, status=status, assignee=assignee,
        acknowledged_by=acknowledged_by, acknowledged_at=acknowledged_at,
        closed_by=closed_by, closed_at=closed_at, close_reason=close_reason,
        suppression_id=suppression_id)


def _summary(r: AlertRow) -> AlertSummary:
    """The view of an :class:`AlertRow`."""
    return AlertSummary(
        id=r.id, rule_id=r.rule_id, title=r.title, description=r.description,
        severity=r.severity, confidence=r.confidence, category=r.category,
        protocol=r.protocol, src_ip=r.src_ip, dst_ip=r.dst_ip, src_asset=r.src_asset,
        dst_asset=r.dst_asset, src_zone=r.src_zone, dst_zone=r.dst_zone,
        techniques=r.techniques.split(), first_seen=r.first_seen, last_seen=r.last_seen,
        count=r.count, status=r.status, assignee=r.assignee,
        acknowledged_by=r.acknowledged_by, acknowledged_at=r.acknowledged_at,
        closed_by=r.closed_by, closed_at=r.closed_at, close_reason=r.close_reason,
        suppression_id=r.suppression_id)


def _suppression(r: SuppressionRow, at: float) -> Suppression:
    return Suppression(id=r.id, rule_id=r.rule_id, src_ip=r.src_ip, dst_ip=r.dst_ip,
                       until=r.until, reason=r.reason, created_by=r.created_by,
                       created_at=r.created_at, lifted_at=r.lifted_at, lifted_by=r.lifted_by,
                       active=_active(r, at))


# -- listing ---------------------------------------------------------------------------------


class AlertFilter(msgspec.Struct, kw_only=True, frozen=True):
    """Which alerts to list; empty fields do not filter. Several values in a tuple: any of
    them. Times are epoch seconds of the traffic (first/last seen)."""

    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    min_severity: str = ""
    rule_id: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    protocol: str = ""
    technique: str = ""
    """ATT&CK for ICS technique id (``T0855``)."""
    techniques: tuple[str, ...] = ()
    """Any of these ATT&CK for ICS technique ids (how a tactic is filtered)."""
    src_ip: str = ""
    dst_ip: str = ""
    ip: str = ""
    """Source or destination address."""
    asset: str = ""
    """Source or destination inventory asset id."""
    zone: str = ""
    """Source or destination zone."""
    assignee: str = ""
    since: float | None = None
    """Last seen at or after."""
    until: float | None = None
    """First seen at or before."""
    q: str = ""
    """Text in the rule id, title or description (case-insensitive)."""
    incident: int | None = None
    """The alerts linked to this incident (its row id)."""


ALERT_SORTS = {
    "id": AlertRow.id,
    "last_seen": AlertRow.last_seen,
    "first_seen": AlertRow.first_seen,
    "severity": AlertRow.severity_rank,
    "count": AlertRow.count,
    "rule_id": AlertRow.rule_id,
    "status": AlertRow.status,
}
"""Sort keys of :func:`list_alerts` (``-`` prefix: descending)."""


def _check_values(name: str, values: Iterable[str], allowed: Sequence[str]) -> None:
    for value in values:
        if value not in allowed:
            raise Invalid(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")


def _filtered(flt: AlertFilter) -> Select[AlertRow]:
    _check_values("status", flt.status, ALERT_STATUSES)
    _check_values("severity", flt.severity, SEVERITIES)
    if flt.min_severity:
        _check_values("severity", (flt.min_severity,), SEVERITIES)
    query = select(AlertRow)
    if flt.status:
        query = query.where(AlertRow.status.in_(flt.status))
    if flt.severity:
        query = query.where(AlertRow.severity.in_(flt.severity))
    if flt.min_severity:
        query = query.where(AlertRow.severity_rank >= severity_rank(flt.min_severity))
    if flt.rule_id:
        query = query.where(AlertRow.rule_id.in_(flt.rule_id))
    if flt.category:
        query = query.where(AlertRow.category.in_(flt.category))
    if flt.protocol:
        query = query.where(AlertRow.protocol == flt.protocol)
    if flt.technique:
        query = query.where(AlertRow.id.in_(select(AlertTechniqueRow.alert_id).where(
            AlertTechniqueRow.technique == flt.technique.upper())))
    if flt.techniques:
        query = query.where(AlertRow.id.in_(select(AlertTechniqueRow.alert_id).where(
            AlertTechniqueRow.technique.in_([t.upper() for t in flt.techniques]))))
    if flt.src_ip:
        query = query.where(AlertRow.src_ip == flt.src_ip)
    if flt.dst_ip:
        query = query.where(AlertRow.dst_ip == flt.dst_ip)
    if flt.ip:
        query = query.where(or_(AlertRow.src_ip == flt.ip, AlertRow.dst_ip == flt.ip))
    if flt.asset:
        query = query.where(or_(AlertRow.src_asset == flt.asset, AlertRow.dst_asset == flt.asset))
    if flt.zone:
        query = query.where(or_(AlertRow.src_zone == flt.zone, AlertRow.dst_zone == flt.zone))
    if flt.assignee:
        query = query.where(AlertRow.assignee == flt.assignee)
    if flt.since is not None:
        query = query.where(AlertRow.last_seen >= flt.since)
    if flt.until is not None:
        query = query.where(AlertRow.first_seen <= flt.until)
    if flt.incident is not None:
        query = query.where(AlertRow.id.in_(select(IncidentAlertRow.alert_id).where(
            IncidentAlertRow.incident_id == flt.incident)))
    if flt.q:
        query = query.where(or_(AlertRow.rule_id.icontains(flt.q, autoescape=True),
                                AlertRow.title.icontains(flt.q, autoescape=True),
                                AlertRow.description.icontains(flt.q, autoescape=True)))
    return query


def list_alerts(session: Session, flt: AlertFilter | None = None, *, sort: str = "-last_seen",
                offset: int = 0, limit: int = 50) -> tuple[list[AlertSummary], int]:
    """One page of the alerts matching ``flt`` and how many match in all."""
    check_page(offset, limit)
    query = _filtered(flt or AlertFilter())
    total = count_of(session, query)
    # the page's ids first (the sort reads only the sort key and the id, often from an
    # index), then those rows: sorting whole rows to skip thousands of them was the cost of
    # a deep page
    ids = list(session.scalars(query.with_only_columns(AlertRow.id)
                               .order_by(*order_by(sort, ALERT_SORTS, AlertRow.id))
                               .offset(offset).limit(limit)))
    if not ids:
        return [], total
    rows = {r[0]: tuple(r) for r in session.execute(select(*_SUMMARY_COLUMNS)
                                                    .where(AlertRow.id.in_(ids)))}
    return [_summary_of(rows[i]) for i in ids if i in rows], total


def _row(session: Session, alert_id: int, *, lock: bool = False) -> AlertRow:
    query = select(AlertRow).where(AlertRow.id == alert_id)
    if lock:  # PostgreSQL: no other triage change in between (SQLite: the write lock)
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row


def get_alert(session: Session, alert_id: int) -> AlertDetail:
    """The alert whole (:class:`NotFound` if there is no such alert)."""
    row = _row(session, alert_id)
    notes = session.scalars(select(AlertNoteRow).where(AlertNoteRow.alert_id == alert_id)
                            .order_by(AlertNoteRow.created_at, AlertNoteRow.id))
    stored = session.get(AlertRecordRow, alert_id)
    if stored is None:
        raise Invalid(f"alert {alert_id}: its stored record is missing")
    try:
        alert = _alert_dec.decode(stored.record)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Invalid(f"alert {alert_id}: its stored record is damaged ({exc})") from None
    return AlertDetail(summary=_summary(row), alert=alert,
                       notes=[AlertNote(id=n.id, author=n.author, created_at=n.created_at,
                                        text=n.text) for n in notes])


# -- triage ----------------------------------------------------------------------------------


def _text(name: str, value: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid(f"a {name} is required")
    if len(value) > MAX_NOTE:
        raise Invalid(f"the {name} is longer than {MAX_NOTE} characters")
    return value


def _target(alert_id: int) -> str:
    return f"alert:{alert_id}"


def acknowledge(session: Session, alert_id: int, by: str) -> Change:
    """``new`` -> ``acknowledged`` (someone is looking at it)."""
    row = _row(session, alert_id, lock=True)
    if row.status != "new":
        raise Conflict(f"alert {alert_id} is {row.status}, only a new alert can be "
                       "acknowledged")
    row.status, row.acknowledged_by, row.acknowledged_at = "acknowledged", by, now()
    row.updated_at = row.acknowledged_at
    return Change(action="alert.acknowledge", target=_target(alert_id),
                  detail={"status": ["new", "acknowledged"]})


def assign(session: Session, alert_id: int, assignee: str, by: str) -> Change:
    """Give the alert to ``assignee`` (a user name; empty: nobody)."""
    del by  # the caller's audit entry names who assigned
    row = _row(session, alert_id, lock=True)
    if row.status == "closed":
        raise Conflict(f"alert {alert_id} is closed; reopen it first")
    if assignee:
        user = session.scalars(select(UserRow).where(UserRow.username == assignee)).first()
        if user is None or user.disabled:
            raise Invalid(f"no active user {assignee!r} to assign to")
    before, row.assignee, row.updated_at = row.assignee, assignee, now()
    return Change(action="alert.assign", target=_target(alert_id),
                  detail={"assignee": [before, assignee]})


def close(session: Session, alert_id: int, reason: str, by: str) -> Change:
    """Close with a reason (``false positive: maintenance window``); required."""
    reason = _text("close reason", reason, required=True)
    row = _row(session, alert_id, lock=True)
    if row.status == "closed":
        raise Conflict(f"alert {alert_id} is already closed")
    before = row.status
    row.status, row.closed_by, row.closed_at, row.close_reason = "closed", by, now(), reason
    row.updated_at = row.closed_at
    return Change(action="alert.close", target=_target(alert_id),
                  detail={"status": [before, "closed"], "reason": reason})


def reopen(session: Session, alert_id: int, by: str) -> Change:
    """A closed alert back to ``new`` (closed by mistake)."""
    del by
    row = _row(session, alert_id, lock=True)
    if row.status != "closed":
        raise Conflict(f"alert {alert_id} is {row.status}, not closed")
    row.status, row.closed_by, row.closed_at, row.close_reason = "new", "", None, ""
    row.updated_at = now()
    return Change(action="alert.reopen", target=_target(alert_id),
                  detail={"status": ["closed", "new"]})


def add_note(session: Session, alert_id: int, text: str, author: str) -> Change:
    text = _text("note", text, required=True)
    row = _row(session, alert_id)
    note = AlertNoteRow(alert_id=alert_id, author=author, created_at=now(), text=text)
    session.add(note)
    row.updated_at = note.created_at
    session.flush()
    return Change(action="alert.note", target=_target(alert_id),
                  detail={"note": note.id, "text": text})


# -- suppressions ----------------------------------------------------------------------------


def _active(s: SuppressionRow, at: float) -> bool:
    return s.lifted_at is None and (s.until is None or s.until > at)


def _matches(s: SuppressionRow, rule_id: str, src_ip: str, dst_ip: str) -> bool:
    return (s.rule_id == rule_id and (not s.src_ip or s.src_ip == src_ip)
            and (not s.dst_ip or s.dst_ip == dst_ip))


def _matching_open(s: SuppressionRow) -> Select[AlertRow]:
    query = select(AlertRow).where(AlertRow.rule_id == s.rule_id, AlertRow.status.in_(OPEN))
    if s.src_ip:
        query = query.where(AlertRow.src_ip == s.src_ip)
    if s.dst_ip:
        query = query.where(AlertRow.dst_ip == s.dst_ip)
    return query


def suppress(session: Session, alert_id: int, by: str, *, reason: str,
             until: float | None = None, match_src: bool = True,
             match_dst: bool = True) -> tuple[Change, int]:
    """Suppress the alert's rule between its source and destination (each may be widened to
    any address) until ``until`` (epoch seconds; None: until lifted). Open matching alerts
    become ``suppressed`` now, new ones arrive so. Returns the change and the suppression id."""
    reason = _text("suppression reason", reason, required=True)
    at = now()
    if until is not None and until <= at:
        raise Invalid("a suppression must end in the future")
    row = _row(session, alert_id, lock=True)
    if row.status not in OPEN:
        raise Conflict(f"alert {alert_id} is {row.status}; only open alerts can be suppressed")
    s = SuppressionRow(rule_id=row.rule_id, src_ip=row.src_ip if match_src else "",
                       dst_ip=row.dst_ip if match_dst else "", until=until, reason=reason,
                       created_by=by, created_at=at)
    session.add(s)
    session.flush()
    hidden = []
    for match in session.scalars(_matching_open(s)):
        match.status, match.suppression_id, match.updated_at = "suppressed", s.id, at
        hidden.append(match.id)
    return Change(action="alert.suppress", target=f"suppression:{s.id}",
                  detail={"alert": alert_id, "rule_id": s.rule_id, "src_ip": s.src_ip,
                          "dst_ip": s.dst_ip, "until": until, "reason": reason,
                          "suppressed": hidden}), s.id


def lift_suppression(session: Session, suppression_id: int, by: str) -> Change:
    """End a suppression now; the alerts it hid become ``new`` again."""
    s = session.get(SuppressionRow, suppression_id)
    if s is None:
        raise NotFound(f"no suppression {suppression_id}")
    if s.lifted_at is not None:
        raise Conflict(f"suppression {suppression_id} was already lifted")
    at = now()
    s.lifted_at, s.lifted_by = at, by
    released = list(session.scalars(select(AlertRow.id).where(
        AlertRow.suppression_id == s.id, AlertRow.status == "suppressed")))
    if released:
        session.execute(update(AlertRow).where(AlertRow.id.in_(released))
                        .values(status="new", updated_at=at))
    return Change(action="suppression.lift", target=f"suppression:{suppression_id}",
                  detail={"released": released})


def list_suppressions(session: Session, *, active_only: bool = False) -> list[Suppression]:
    at = now()
    rows = session.scalars(select(SuppressionRow).order_by(SuppressionRow.id.desc()))
    out = [_suppression(r, at) for r in rows]
    return [s for s in out if s.active] if active_only else out


# -- ingestion -------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return _enc.encode(value).decode()


def _fields(a: Alert) -> dict[str, Any]:
    """The filter columns of ``a``."""
    src, dst = a.source, a.destination
    return {
        "rule_id": a.rule_id[:128], "title": a.title, "description": a.description,
        "severity": a.severity, "severity_rank": severity_rank(a.severity),
        "confidence": a.confidence, "category": a.category[:32], "protocol": a.protocol[:64],
        "src_ip": (a.src_ip or "")[:64], "dst_ip": (a.dst_ip or "")[:64],
        "src_asset": src.asset[:128] if src else "", "dst_asset": dst.asset[:128] if dst else "",
        "src_zone": src.zone[:256] if src else "", "dst_zone": dst.zone[:256] if dst else "",
        "techniques": " ".join(a.techniques)[:512],
    }


def record_alerts(session: Session, alerts: Sequence[Alert], *,
                  job_id: int | None = None) -> int:
    """Merge ``alerts`` (each already aggregated within its run) into the stored ones; returns
    how many were new. With ``job_id``, the job's earlier contribution to each key is replaced
    rather than added to, so recording the same job twice changes nothing."""
    at = now()
    batch: dict[str, Alert] = {}
    for a in alerts:  # one key twice in a batch: merge here, the ledger has one row per key
        h = key_hash(a.key or a.rule_id)
        prior = batch.get(h)
        batch[h] = a if prior is None else msgspec.structs.replace(
            prior, count=prior.count + a.count, first_seen=min(prior.first_seen, a.first_seen),
            last_seen=max(prior.last_seen, a.last_seen))
    if not batch:
        return 0
    hashes = sorted(batch)
    # PostgreSQL: lock the rows being merged (in key order, so two jobs cannot deadlock) or a
    # concurrent job's increment would be lost; SQLite's write lock already serialises
    rows = {r.key_hash: r for r in session.scalars(
        select(AlertRow).where(AlertRow.key_hash.in_(hashes)).order_by(AlertRow.key_hash)
        .with_for_update())}
    records = {r.alert_id: r for r in session.scalars(select(AlertRecordRow).where(
        AlertRecordRow.alert_id.in_([r.id for r in rows.values()])))} if rows else {}
    ledger: dict[str, AlertSourceRow] = {}
    if job_id is not None:
        ledger = {s.key_hash: s for s in session.scalars(select(AlertSourceRow).where(
            AlertSourceRow.job_id == job_id, AlertSourceRow.key_hash.in_(hashes)))}
    suppressions = [s for s in session.scalars(select(SuppressionRow).where(
        SuppressionRow.lifted_at.is_(None), SuppressionRow.rule_id.in_(
            {a.rule_id for a in batch.values()}))) if _active(s, at)]
    fresh: list[dict[str, Any]] = []
    for h, a in batch.items():
        previous = ledger.get(h)
        added = a.count - previous.count if previous is not None else a.count
        row = rows.get(h)
        if row is None:
            fresh.append(_new_row(h, a, suppressions, at))
        else:
            stored = records.get(row.id)
            if stored is None:  # lost (never by otshield): the new record stands in
                stored = AlertRecordRow(alert_id=row.id, record="")
                session.add(stored)
            _merge_row(row, stored, a, added, suppressions, at)
    session.flush()
    ids = {h: row.id for h, row in rows.items()}
    if fresh:  # plain multi-row INSERT ... RETURNING: ORM objects cost more than the SQL
        ids.update((h, i) for i, h in session.execute(
            insert(AlertRow).returning(AlertRow.id, AlertRow.key_hash,
                                       sort_by_parameter_order=True), fresh))
        session.execute(insert(AlertRecordRow), [
            {"alert_id": ids[new["key_hash"]], "record": _json(batch[new["key_hash"]])}
            for new in fresh])
        techniques = [{"alert_id": ids[new["key_hash"]], "technique": t[:16]}
                      for new in fresh for t in sorted(set(batch[new["key_hash"]].techniques))]
        if techniques:
            session.execute(insert(AlertTechniqueRow), techniques)
    if job_id is not None:
        sources = []
        for h, a in batch.items():
            previous = ledger.get(h)
            if previous is None:
                sources.append({"job_id": job_id, "key_hash": h, "alert_id": ids[h],
                                "count": a.count, "first_seen": a.first_seen,
                                "last_seen": a.last_seen})
            else:
                previous.count, previous.first_seen, previous.last_seen = (
                    a.count, a.first_seen, a.last_seen)
        if sources:
            session.execute(insert(AlertSourceRow), sources)
    session.flush()
    return len(fresh)


def _new_row(h: str, a: Alert, suppressions: list[SuppressionRow], at: float
             ) -> dict[str, Any]:
    """The column values of a new alert row."""
    hit = next((s for s in suppressions if _matches(s, a.rule_id, a.src_ip or "",
                                                       a.dst_ip or "")), None)
    return {"key_hash": h, "key": a.key or a.rule_id, "first_seen": a.first_seen,
            "last_seen": a.last_seen, "count": a.count,
            "status": "suppressed" if hit else "new",
            "suppression_id": hit.id if hit else None, "assignee": "", "acknowledged_by": "",
            "acknowledged_at": None, "closed_by": "", "closed_at": None, "close_reason": "",
            "created_at": at, "updated_at": at, **_fields(a)}


def _merge_row(row: AlertRow, record: AlertRecordRow, a: Alert, added: int,
               suppressions: list[SuppressionRow], at: float) -> None:
    try:
        stored: Alert | None = _alert_dec.decode(record.record)
    except (msgspec.DecodeError, msgspec.ValidationError):
        stored = None  # damaged: the columns keep the totals, the new record replaces it
    count = max(row.count + added, 1)
    first, last = min(row.first_seen, a.first_seen), max(row.last_seen, a.last_seen)
    # the record shows the first occurrence (its evidence and frames), with the totals
    base = a if stored is None or a.first_seen < stored.first_seen else stored
    record.record = _json(msgspec.structs.replace(base, count=count, first_seen=first,
                                                  last_seen=last))
    changed = (count, first, last) != (row.count, row.first_seen, row.last_seen)
    row.count, row.first_seen, row.last_seen = count, first, last
    if added > 0 and row.status == "closed":
        row.status = "new"  # it came back: closed alerts reopen
        row.closed_by, row.closed_at, row.close_reason = "", None, ""
    elif added > 0 and row.status == "suppressed":
        hit = next((s for s in suppressions if s.id == row.suppression_id), None)
        if hit is None:  # its suppression ended: show the alert again
            row.status = "new"
    if changed:
        row.updated_at = at

