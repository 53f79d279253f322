"""Incident response in the console's database: incidents kept in step with the correlator,
cases, imported playbooks and playbook runs (the tables of migration 0003).

Every function takes a SQLAlchemy session from ``Store.session()`` (one transaction); the
records (:class:`~otshield.respond.incident.Incident`, :class:`~otshield.respond.cases.Case`,
:class:`~otshield.respond.runner.Run`) are stored whole as JSON, with the columns the lists
filter and sort on copied beside them, like the alerts. Functions that change something
return a :class:`~otshield.store.common.Change` for the audit log, written by the caller in the
same transaction.

:func:`sync_incidents` is what makes correlation idempotent: the correlator's incidents are
matched to the stored ones by the correlator's key, else by the alerts they share, so
analysing the same capture again (or a new capture that extends an incident) updates rows in
place instead of adding duplicates; incidents the correlator merged are marked ``merged``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from otshield.detect.alert import SEVERITIES, severity_rank
from otshield.respond.cases import Case
from otshield.respond.incident import Incident
from otshield.respond.library import Proposal
from otshield.respond.runner import Run
from otshield.store.common import Change, check_page, count_of, now, order_by
from otshield.store.errors import Invalid, NotFound
from otshield.store.models import (
    AlertRow,
    CaseRow,
    IncidentAlertRow,
    IncidentRow,
    PlaybookRow,
    PlaybookRunRow,
)

__all__ = [
    "INCIDENT_SORTS",
    "INCIDENT_STATUSES",
    "CaseFilter",
    "CaseSummary",
    "IncidentDetail",
    "IncidentFilter",
    "IncidentSummary",
    "RunFilter",
    "RunSummary",
    "StoredRun",
    "SyncResult",
    "create_case",
    "get_case",
    "get_incident",
    "get_run",
    "imported_playbooks",
    "incident_row",
    "list_cases",
    "list_incidents",
    "list_runs",
    "running_run_ids",
    "save_case",
    "save_playbook",
    "save_run",
    "set_incident_status",
    "sync_incidents",
]

INCIDENT_STATUSES = ("open", "closed", "merged")
INCIDENT_SORTS = ("id", "last_seen", "first_seen", "score", "severity")

_enc = msgspec.json.Encoder()
_incident_dec = msgspec.json.Decoder(Incident)
_case_dec = msgspec.json.Decoder(Case)
_run_dec = msgspec.json.Decoder(Run)
_proposals_dec = msgspec.json.Decoder(list[Proposal])


def _json(value: Any) -> str:
    return _enc.encode(value).decode()


# -- incidents --------------------------------------------------------------------------------


class IncidentSummary(msgspec.Struct, kw_only=True):
    id: int
    key: str
    title: str
    status: str
    severity: str
    score: float
    first_seen: float
    last_seen: float
    techniques: list[str]
    tactics: list[str]
    alerts: int
    assets: int
    ot_assets: int
    attackers: list[str]
    case_id: str | None
    runs: int
    created_at: float
    updated_at: float
    summary: str


class IncidentDetail(msgspec.Struct, kw_only=True):
    summary: IncidentSummary
    incident: Incident
    explanation: list[str]
    proposals: list[Proposal]
    alert_ids: list[int]
    """Stored alert row ids, in the order the incident lists them."""


class IncidentFilter(msgspec.Struct, kw_only=True, frozen=True):
    status: tuple[str, ...] = ()
    min_severity: str = ""
    technique: str = ""
    tactic_techniques: tuple[str, ...] = ()
    ip: str = ""
    q: str = ""
    since: float | None = None
    """Last seen at or after."""
    until: float | None = None
    """First seen at or before."""


def incident_record(row: IncidentRow) -> Incident:
    try:
        return _incident_dec.decode(row.record)
    except msgspec.DecodeError as exc:
        raise Invalid(f"incident {row.id}: its stored record is damaged ({exc})") from None


def _proposals(row: IncidentRow) -> list[Proposal]:
    try:
        return _proposals_dec.decode(row.proposals or "[]")
    except msgspec.DecodeError:
        return []


def _incident_summary(session: Session, row: IncidentRow) -> IncidentSummary:
    inc = incident_record(row) if row.record and row.record != "{}" else None
    case_id = session.scalar(select(CaseRow.id).where(CaseRow.incident_id == row.id)
                             .order_by(CaseRow.created_at).limit(1))
    runs = count_of(session, select(PlaybookRunRow.id).where(
        PlaybookRunRow.incident_id == row.id))
    return IncidentSummary(
        id=row.id, key=row.key or "", title=row.title, status=row.status,
        severity=row.severity, score=row.score, first_seen=row.first_seen,
        last_seen=row.last_seen, techniques=row.techniques.split(),
        tactics=list(inc.tactics) if inc else [],
        alerts=len(inc.alert_ids) if inc else 0, assets=len(inc.assets) if inc else 0,
        ot_assets=len(inc.ot_assets) if inc else 0,
        attackers=[a.name or a.ip for a in inc.attackers] if inc else [],
        case_id=case_id, runs=runs, created_at=row.created_at, updated_at=row.updated_at,
        summary=row.summary)


def _filtered(flt: IncidentFilter) -> Select[IncidentRow]:
    query = select(IncidentRow)
    if flt.status:
        bad = [s for s in flt.status if s not in INCIDENT_STATUSES]
        if bad:
            raise Invalid(f"incident status is one of {', '.join(INCIDENT_STATUSES)}, "
                          f"not {bad[0]!r}")
        query = query.where(IncidentRow.status.in_(flt.status))
    if flt.min_severity:
        if flt.min_severity not in SEVERITIES:
            raise Invalid(f"severity is one of {', '.join(SEVERITIES)}")
        wanted = [s for s in SEVERITIES if severity_rank(s) >= severity_rank(flt.min_severity)]
        query = query.where(IncidentRow.severity.in_(wanted))
    # the space-separated columns are padded with spaces so "T08" never matches "T0855"
    if flt.technique:
        query = query.where((" " + IncidentRow.techniques + " ").contains(
            f" {flt.technique} ", autoescape=True))
    if flt.tactic_techniques:
        query = query.where(or_(*[(" " + IncidentRow.techniques + " ").contains(
            f" {t} ", autoescape=True) for t in flt.tactic_techniques]))
    if flt.ip:
        query = query.where((" " + IncidentRow.ips + " ").contains(f" {flt.ip} ",
                                                                   autoescape=True))
    if flt.q:
        query = query.where(or_(IncidentRow.title.icontains(flt.q, autoescape=True),
                                IncidentRow.key.icontains(flt.q, autoescape=True)))
    if flt.since is not None:
        query = query.where(IncidentRow.last_seen >= flt.since)
    if flt.until is not None:
        query = query.where(IncidentRow.first_seen <= flt.until)
    return query


def list_incidents(session: Session, flt: IncidentFilter | None = None, *,
                   sort: str = "-last_seen", offset: int = 0, limit: int = 50
                   ) -> tuple[list[IncidentSummary], int]:
    check_page(offset, limit)
    query = _filtered(flt or IncidentFilter())
    total = count_of(session, query)
    columns = {"id": IncidentRow.id, "last_seen": IncidentRow.last_seen,
               "first_seen": IncidentRow.first_seen, "score": IncidentRow.score,
               "severity": IncidentRow.score}
    rows = session.scalars(query.order_by(*order_by(sort, columns, IncidentRow.id))
                           .offset(offset).limit(limit)).all()
    return [_incident_summary(session, r) for r in rows], total


def incident_row(session: Session, incident_id: int, *, lock: bool = False) -> IncidentRow:
    query = select(IncidentRow).where(IncidentRow.id == incident_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def get_incident(session: Session, incident_id: int) -> IncidentDetail:
    row = incident_row(session, incident_id)
    inc = incident_record(row)
    linked = session.execute(select(AlertRow.id, AlertRow.key).join(
        IncidentAlertRow, IncidentAlertRow.alert_id == AlertRow.id).where(
        IncidentAlertRow.incident_id == row.id)).all()
    order = {key: i for i, key in enumerate(inc.alert_ids)}
    alert_ids = [r.id for r in sorted(linked, key=lambda r: (order.get(r.key, 1 << 30), r.id))]
    try:
        explanation = [str(x) for x in json.loads(row.explanation or "[]")]
    except ValueError:
        explanation = list(inc.explanation)
    return IncidentDetail(summary=_incident_summary(session, row), incident=inc,
                          explanation=explanation, proposals=_proposals(row),
                          alert_ids=alert_ids)


def set_incident_status(session: Session, incident_id: int, status: str, by: str,
                        reason: str = "") -> Change:
    if status not in ("open", "closed"):
        raise Invalid("an incident is set open or closed")
    row = incident_row(session, incident_id, lock=True)
    if row.status == "merged":
        raise Invalid(f"incident {incident_id} was merged into another ({row.summary})")
    before = row.status
    if before == status:
        raise Invalid(f"incident {incident_id} is already {status}")
    row.status = status
    row.updated_at = now()
    row.closed_at = row.updated_at if status == "closed" else None
    if reason:
        row.summary = reason
    return Change(action=f"incident.{'close' if status == 'closed' else 'reopen'}",
                  target=f"incident:{incident_id}",
                  detail={"status": [before, status], "reason": reason, "by": by})


class SyncResult(msgspec.Struct, kw_only=True):
    created: list[int] = []
    updated: list[int] = []
    merged: list[int] = []
    """Stored incidents folded into another one."""
    unchanged: int = 0

    @property
    def changed(self) -> list[int]:
        return self.created + self.updated


def _fill(row: IncidentRow, inc: Incident, proposals: Sequence[Proposal], at: float) -> bool:
    """Copy ``inc`` into ``row``; True when something changed."""
    values: dict[str, Any] = {
        "key": inc.id, "title": inc.title[:2000], "severity": inc.severity,
        "score": inc.score, "first_seen": inc.first_seen, "last_seen": inc.last_seen,
        "techniques": " ".join(inc.techniques)[:512],
        "ips": " ".join(a.ip for a in inc.assets), "record": _json(inc),
        "explanation": _json(inc.explanation), "proposals": _json(list(proposals)),
    }
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = at
    return changed


def sync_incidents(session: Session, incidents: Iterable[Incident],
                   alert_rows: Mapping[str, int],
                   proposals: Mapping[str, Sequence[Proposal]]) -> SyncResult:
    """Store the correlator's ``incidents`` (every incident of the stored alerts):
    ``alert_rows`` maps the correlator's alert ids to alert row ids, ``proposals`` the
    incident ids to their proposed playbooks. Existing rows are updated in place (matched by
    key, else by shared alerts); a closed incident with new activity is reopened."""
    at = now()
    result = SyncResult()
    stored = {r.id: r for r in session.scalars(select(IncidentRow).where(
        IncidentRow.key.is_not(None), IncidentRow.status != "merged")).all()}
    by_key = {r.key: r for r in stored.values() if r.key}
    links: dict[int, set[int]] = {}
    for inc_id, alert_id in session.execute(select(
            IncidentAlertRow.incident_id, IncidentAlertRow.alert_id)).all():
        links.setdefault(inc_id, set()).add(alert_id)
    owner_of: dict[int, int] = {}
    for inc_id, alert_ids in links.items():
        if inc_id in stored:
            for a in alert_ids:
                owner_of[a] = inc_id
    todo = sorted(incidents, key=lambda i: (i.first_seen, i.id))
    matched: dict[str, IncidentRow] = {}
    for inc in todo:  # the same key first: the common case
        if inc.id in by_key:
            matched[inc.id] = by_key.pop(inc.id)
    used = {r.id for r in matched.values()}
    for inc in todo:  # else the stored incident holding most of its alerts
        if inc.id in matched:
            continue
        wanted = {alert_rows[a] for a in inc.alert_ids if a in alert_rows}
        votes: dict[int, int] = {}
        for a in wanted:
            owner = owner_of.get(a)
            if owner is not None and owner not in used:
                votes[owner] = votes.get(owner, 0) + 1
        if votes:
            best = max(votes, key=lambda k: (votes[k], -k))
            matched[inc.id] = stored[best]
            used.add(best)
    for inc in todo:
        wanted = {alert_rows[a] for a in inc.alert_ids if a in alert_rows}
        row = matched.get(inc.id)
        if row is None:
            row = IncidentRow(title=inc.title, status="open", severity=inc.severity,
                              summary="", assignee="", created_by="otshield", created_at=at,
                              updated_at=at, key=None)
            session.add(row)
            _fill(row, inc, proposals.get(inc.id, ()), at)
            session.flush()
            result.created.append(row.id)
        else:
            grew = inc.last_seen > row.last_seen
            if row.key != inc.id and inc.id in {r.key for r in stored.values()
                                                if r is not row}:
                # another stored row holds that key (its incident merged into this one):
                # free the key before taking it
                other = next(r for r in stored.values() if r.key == inc.id and r is not row)
                other.key = None
                session.flush()
            changed = _fill(row, inc, proposals.get(inc.id, ()), at)
            if grew and row.status == "closed":
                row.status, row.closed_at = "open", None
                row.summary = "reopened: new alerts arrived after it was closed"
                changed = True
            if changed:
                result.updated.append(row.id)
            else:
                result.unchanged += 1
        have = links.get(row.id, set())
        for a in sorted(wanted - have):
            session.add(IncidentAlertRow(incident_id=row.id, alert_id=a))
        if have - wanted:
            session.execute(delete(IncidentAlertRow).where(
                IncidentAlertRow.incident_id == row.id,
                IncidentAlertRow.alert_id.in_(sorted(have - wanted))))
        for a in wanted:
            owner_of[a] = row.id
        links[row.id] = set(wanted)
    kept = {r.id for r in matched.values()} | set(result.created)
    for row in stored.values():
        if row.id in kept:
            continue
        mine = links.get(row.id, set())
        holders = {owner_of.get(a) for a in mine} - {row.id, None}
        if mine and all(owner_of.get(a) != row.id for a in mine) and holders:
            target = min(h for h in holders if h is not None)
            row.status, row.updated_at = "merged", at
            row.summary = f"merged into incident {target}"
            row.key = None
            session.execute(delete(IncidentAlertRow).where(
                IncidentAlertRow.incident_id == row.id))
            result.merged.append(row.id)
    session.flush()
    return result


# -- cases ------------------------------------------------------------------------------------


class CaseSummary(msgspec.Struct, kw_only=True):
    id: str
    incident_id: int
    title: str
    severity: str
    status: str
    owner: str
    it_assignee: str
    ot_assignee: str
    created_at: float
    updated_at: float
    closed_at: float | None


class CaseFilter(msgspec.Struct, kw_only=True, frozen=True):
    status: tuple[str, ...] = ()
    owner: str = ""
    assignee: str = ""
    """Owner, IT or OT assignee."""
    incident_id: int | None = None
    q: str = ""


def _case_summary(row: CaseRow) -> CaseSummary:
    return CaseSummary(id=row.id, incident_id=row.incident_id, title=row.title,
                       severity=row.severity, status=row.status, owner=row.owner,
                       it_assignee=row.it_assignee, ot_assignee=row.ot_assignee,
                       created_at=row.created_at, updated_at=row.updated_at,
                       closed_at=row.closed_at)


def _copy_case(row: CaseRow, case: Case) -> None:
    row.title = case.incident.title[:2000]
    row.severity = case.incident.severity
    row.status = case.status
    row.owner = case.owner[:128]
    row.it_assignee = case.it_assignee[:128]
    row.ot_assignee = case.ot_assignee[:128]
    row.updated_at = case.updated_at
    row.closed_at = case.updated_at if case.status == "closed" else None
    row.record = _json(case)


def create_case(session: Session, incident_id: int, case: Case) -> Change:
    row = CaseRow(id=case.id, incident_id=incident_id, created_at=case.created_at)
    _copy_case(row, case)
    session.add(row)
    session.flush()
    return Change(action="case.open", target=f"case:{case.id}",
                  detail={"incident": incident_id})


def get_case(session: Session, case_id: str, *, lock: bool = False) -> tuple[CaseRow, Case]:
    query = select(CaseRow).where(CaseRow.id == case_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no case {case_id}")
    try:
        return row, _case_dec.decode(row.record)
    except msgspec.DecodeError as exc:
        raise Invalid(f"case {case_id}: its stored record is damaged ({exc})") from None


def save_case(session: Session, row: CaseRow, case: Case) -> None:
    _copy_case(row, case)


def list_cases(session: Session, flt: CaseFilter | None = None, *, offset: int = 0,
               limit: int = 50) -> tuple[list[CaseSummary], int]:
    check_page(offset, limit)
    flt = flt or CaseFilter()
    query = select(CaseRow)
    if flt.status:
        query = query.where(CaseRow.status.in_(flt.status))
    if flt.owner:
        query = query.where(CaseRow.owner == flt.owner)
    if flt.assignee:
        query = query.where(or_(CaseRow.owner == flt.assignee,
                                CaseRow.it_assignee == flt.assignee,
                                CaseRow.ot_assignee == flt.assignee))
    if flt.incident_id is not None:
        query = query.where(CaseRow.incident_id == flt.incident_id)
    if flt.q:
        query = query.where(or_(CaseRow.title.icontains(flt.q, autoescape=True),
                                CaseRow.id.icontains(flt.q, autoescape=True)))
    total = count_of(session, query)
    rows = session.scalars(query.order_by(CaseRow.updated_at.desc(), CaseRow.id)
                           .offset(offset).limit(limit)).all()
    return [_case_summary(r) for r in rows], total


# -- playbooks --------------------------------------------------------------------------------


def imported_playbooks(session: Session) -> list[PlaybookRow]:
    return list(session.scalars(select(PlaybookRow).order_by(PlaybookRow.name)).all())


def save_playbook(session: Session, doc: Mapping[str, Any], name: str, by: str) -> Change:
    """Store an imported (already validated) CACAO document; replaces one with its id."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()
    pid = str(doc["id"])
    row = session.get(PlaybookRow, pid)
    before = row.sha256 if row is not None else None
    if row is None:
        row = PlaybookRow(id=pid)
        session.add(row)
    row.name, row.doc, row.sha256 = name[:256], text, digest
    row.imported_by, row.imported_at = by[:128], now()
    session.flush()
    return Change(action="playbook.import", target=f"playbook:{pid}",
                  detail={"name": name, "sha256": [before, digest]})


# -- runs -------------------------------------------------------------------------------------


class RunSummary(msgspec.Struct, kw_only=True):
    id: str
    playbook_id: str
    playbook_name: str
    status: str
    waiting_approval: bool
    incident_id: int
    case_id: str | None
    started_by: str
    started_at: float
    updated_at: float
    active_steps: list[str]


class RunFilter(msgspec.Struct, kw_only=True, frozen=True):
    status: tuple[str, ...] = ()
    incident_id: int | None = None
    case_id: str = ""
    playbook_id: str = ""
    waiting_approval: bool | None = None


class StoredRun(msgspec.Struct, kw_only=True):
    summary: RunSummary
    run: Run
    playbook: dict[str, Any]
    """The CACAO document the run was started with."""


def _run_summary(row: PlaybookRunRow, run: Run | None = None) -> RunSummary:
    run = run if run is not None else _run_dec.decode(row.record)
    return RunSummary(id=row.id, playbook_id=row.playbook_id, playbook_name=row.playbook_name,
                      status=row.status, waiting_approval=row.waiting_approval,
                      incident_id=row.incident_id, case_id=row.case_id,
                      started_by=row.started_by, started_at=row.started_at,
                      updated_at=row.updated_at, active_steps=run.active())


def save_run(session: Session, run: Run, *, incident_id: int,
             playbook: Mapping[str, Any] | None = None, case_id: str | None = None) -> None:
    """Insert (``playbook`` given: a new run) or update the run's row."""
    row = session.get(PlaybookRunRow, run.id)
    if row is None:
        if playbook is None:
            raise NotFound(f"no playbook run {run.id}")
        row = PlaybookRunRow(id=run.id, playbook_id=run.playbook_id, incident_id=incident_id,
                             started_at=run.started_at, playbook=json.dumps(playbook))
        session.add(row)
    row.playbook_name = run.playbook_name[:256]
    row.status = run.status
    row.waiting_approval = any(st.status == "active" and st.needs_approval
                               and st.approved_at is None for st in run.steps.values())
    row.started_by = run.started_by[:128]
    row.updated_at = now()
    if case_id is not None:
        row.case_id = case_id
    row.record = _json(run)
    session.flush()


def get_run(session: Session, run_id: str, *, lock: bool = False) -> StoredRun:
    query = select(PlaybookRunRow).where(PlaybookRunRow.id == run_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no playbook run {run_id}")
    try:
        run = _run_dec.decode(row.record)
        doc = json.loads(row.playbook)
    except (msgspec.DecodeError, ValueError) as exc:
        raise Invalid(f"playbook run {run_id}: its stored record is damaged ({exc})") from None
    return StoredRun(summary=_run_summary(row, run), run=run, playbook=doc)


def list_runs(session: Session, flt: RunFilter | None = None, *, offset: int = 0,
              limit: int = 50) -> tuple[list[RunSummary], int]:
    check_page(offset, limit)
    flt = flt or RunFilter()
    query = select(PlaybookRunRow)
    if flt.status:
        query = query.where(PlaybookRunRow.status.in_(flt.status))
    if flt.incident_id is not None:
        query = query.where(PlaybookRunRow.incident_id == flt.incident_id)
    if flt.case_id:
        query = query.where(PlaybookRunRow.case_id == flt.case_id)
    if flt.playbook_id:
        query = query.where(PlaybookRunRow.playbook_id == flt.playbook_id)
    if flt.waiting_approval is not None:
        query = query.where(PlaybookRunRow.waiting_approval == flt.waiting_approval)
    total = count_of(session, query)
    rows = session.scalars(query.order_by(PlaybookRunRow.updated_at.desc(), PlaybookRunRow.id)
                           .offset(offset).limit(limit)).all()
    return [_run_summary(r) for r in rows], total


def running_run_ids(session: Session) -> list[str]:
    return list(session.scalars(select(PlaybookRunRow.id).where(
        PlaybookRunRow.status == "running").order_by(PlaybookRunRow.started_at)).all())
