"""``/api/v1/alerts`` and ``/api/v1/suppressions``: the alert list with its filters, one alert
with its evidence and ATT&CK techniques, and triage (acknowledge, assign, close with a reason,
reopen, suppress, notes).

Each triage change and its audit entry commit in one transaction (the store's repository
returns the change, this module writes it to the audit log with who and from where), so the
log never misses a change and never records one that did not happen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from otshield.console.api.cached import cacheable, cached_json
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params, page_response
from otshield.console.api.params import MAX_ROW_ID, RowId
from otshield.console.api.schemas import (
    AlertDetailOut,
    AlertNoteOut,
    AlertRecordOut,
    AlertSummaryOut,
    AssetRefOut,
    SuppressionOut,
    TechniqueOut,
    from_struct,
)
from otshield.console.auth.deps import Principal, audit_change, require
from otshield.console.permissions import Permission
from otshield.detect.alert import Alert
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.store import Store
from otshield.store import alerts as repo
from otshield.store.common import Change

__all__ = ["AlertQuery", "alert_page", "alert_query", "alert_record", "alert_rows", "router",
           "suppressions_router"]

router = APIRouter(prefix="/alerts", tags=["alerts"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})
suppressions_router = APIRouter(prefix="/suppressions", tags=["alerts"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

Severity = Literal["info", "low", "medium", "high", "critical"]
Status = Literal["new", "acknowledged", "closed", "suppressed"]
AlertSort = Literal["last_seen", "-last_seen", "first_seen", "-first_seen", "severity",
                    "-severity", "count", "-count", "id", "-id", "rule_id", "-rule_id",
                    "status", "-status"]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
    422: {"model": ErrorResponse}}

_Text = Annotated[str | None, Query(max_length=256)]
"""Row ids: positive 32-bit (PostgreSQL integer; a larger number is a 422, not a database error)."""


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a time without zone is UTC, as in the output
    return moment.timestamp()


class AlertQuery(BaseModel):
    """The list filters, as the query string gives them."""

    status: list[Status] = Field(default_factory=list)
    severity: Severity | None = None
    rule: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    technique: str | None = None
    tactic: str | None = None
    protocol: str | None = None
    src: str | None = None
    dst: str | None = None
    ip: str | None = None
    asset: str | None = None
    zone: str | None = None
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    incident: int | None = None
    sort: AlertSort = "-last_seen"


def alert_query(
    status: Annotated[list[Status] | None, Query(description="Any of these statuses.")] = None,
    severity: Annotated[Severity | None, Query(description="At least this severity.")] = None,
    rule: Annotated[list[str] | None, Query(max_length=128, description="Rule ids.")] = None,
    category: Annotated[list[str] | None, Query(
        max_length=32, description="Detector family: rule, baseline, policy, intel.")] = None,
    technique: Annotated[str | None, Query(max_length=16, description="ATT&CK for ICS "
                                                                       "technique (T0855).")
                         ] = None,
    tactic: Annotated[str | None, Query(max_length=64, description="ATT&CK for ICS tactic "
                                                                    "(impair-process-control)")
                      ] = None,
    protocol: _Text = None,
    src: Annotated[str | None, Query(max_length=64, description="Source address.")] = None,
    dst: Annotated[str | None, Query(max_length=64, description="Destination address.")
                   ] = None,
    ip: Annotated[str | None, Query(max_length=64, description="Either address.")] = None,
    asset: Annotated[str | None, Query(max_length=128, description="Either asset id.")] = None,
    zone: Annotated[str | None, Query(max_length=256, description="Either zone.")] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="Last seen at or after (ISO 8601 or "
                                                         "epoch seconds; UTC if no zone).")
                     ] = None,
    until: Annotated[datetime | None, Query(description="First seen at or before.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the rule id, title "
                                                                "or description.")] = None,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID,
                                          description="The alerts of this incident.")] = None,
    sort: AlertSort = "-last_seen",
) -> AlertQuery:
    return AlertQuery(status=status or [], severity=severity, rule=rule or [],
                      category=category or [], technique=technique, tactic=tactic,
                      protocol=protocol, src=src, dst=dst, ip=ip, asset=asset, zone=zone,
                      assignee=assignee, since=since, until=until, q=q, incident=incident,
                      sort=sort)


def attack_table(request: Request) -> AttackTable:
    table = getattr(request.app.state, "attack_table", None)
    if not isinstance(table, AttackTable):
        table = load_attack_table()
        request.app.state.attack_table = table
    return table


TACTIC_FILTER = "techniques" in repo.AlertFilter.__struct_fields__
"""Whether the store can filter on several techniques at once (what ``tactic=`` needs)."""


def _filter(query: AlertQuery, table: AttackTable) -> repo.AlertFilter | None:
    """The store filter; None when nothing can match (a tactic without techniques)."""
    extra: dict[str, Any] = {}
    if query.tactic:
        if not TACTIC_FILTER:
            raise ApiError(422, "the tactic filter is not available with this store version; "
                                "filter by technique instead")
        techniques = tuple(sorted(t.id for t in table.techniques.values()
                                  if query.tactic in t.tactics))
        if not techniques:
            return None
        extra["techniques"] = techniques
    return repo.AlertFilter(
        status=tuple(query.status), min_severity=query.severity or "",
        rule_id=tuple(query.rule), category=tuple(query.category),
        protocol=query.protocol or "", technique=query.technique or "",
        src_ip=query.src or "", dst_ip=query.dst or "", ip=query.ip or "",
        asset=query.asset or "", zone=query.zone or "", assignee=query.assignee or "",
        since=_epoch(query.since), until=_epoch(query.until), q=query.q or "",
        incident=query.incident, **extra)


def alert_rows(store: Store, query: AlertQuery, params: PageParams, table: AttackTable
               ) -> tuple[list[repo.AlertSummary], int]:
    """One page of the store's alert views matching ``query`` and the total."""
    flt = _filter(query, table)
    if flt is None:
        return [], 0
    with store.session(write=False) as db:
        return repo.list_alerts(db, flt, sort=query.sort, offset=params.offset,
                                limit=params.limit)


def alert_page(store: Store, query: AlertQuery, params: PageParams, table: AttackTable
               ) -> Page[AlertSummaryOut]:
    """One page of alerts as API models (for the web pages)."""
    rows, total = alert_rows(store, query, params, table)
    return Page.of([from_struct(AlertSummaryOut, r) for r in rows], total, params)


def alert_record(alert: Alert, table: AttackTable) -> AlertRecordOut:
    """The stored alert for the API: attribute names (not the ECS output names), techniques
    with their ATT&CK names and links."""
    def ref(value: object) -> AssetRefOut | None:
        return None if value is None else from_struct(AssetRefOut, value)

    techniques = []
    for tid in alert.techniques:
        tech = table.get(tid)
        techniques.append(TechniqueOut(id=tid, name=tech.name, tactics=list(tech.tactics),
                                       url=tech.url) if tech else TechniqueOut(id=tid))
    return AlertRecordOut(
        rule_id=alert.rule_id, title=alert.title, severity=alert.severity,
        confidence=alert.confidence, category=alert.category, description=alert.description,
        response=alert.response, techniques=techniques, tactics=list(alert.tactics),
        ts=alert.ts, frame=alert.frame, community_id=alert.community_id or "",
        src_ip=alert.src_ip or "", src_port=alert.src_port or 0, dst_ip=alert.dst_ip or "",
        dst_port=alert.dst_port or 0, transport=alert.transport or "", src_mac=alert.src_mac,
        dst_mac=alert.dst_mac, vlan=alert.vlan, source=ref(alert.source),
        destination=ref(alert.destination), protocol=alert.protocol, key=alert.key,
        first_seen=alert.first_seen, last_seen=alert.last_seen, count=alert.count,
        frames=list(alert.frames), evidence=[dict(e) for e in alert.evidence],
        details=dict(alert.details))


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _summary(db: Session, alert_id: int) -> AlertSummaryOut:
    return from_struct(AlertSummaryOut, repo.get_alert(db, alert_id).summary)


def _audit(db: Session, principal: Principal, change: Change) -> None:
    audit_change(db, principal, change)


# -- reading ----------------------------------------------------------------------------------


@router.get("", response_model=Page[AlertSummaryOut], summary="List alerts")
@cacheable
def list_alerts(request: Request,
                _p: Annotated[Principal, require(Permission.ALERTS_READ)],
                params: Annotated[PageParams, page_params],
                query: Annotated[AlertQuery, Depends(alert_query)],
                ) -> Response:
    def answer() -> Response:
        rows, total = alert_rows(_store(request), query, params, attack_table(request))
        return page_response(rows, total, params)

    return cached_json(request, answer)


@router.get("/{alert_id}", response_model=AlertDetailOut, responses=_NOT_FOUND,
            summary="One alert with its evidence, ATT&CK techniques and notes")
def get_alert(request: Request, alert_id: RowId,
              _p: Annotated[Principal, require(Permission.ALERTS_READ)]) -> AlertDetailOut:
    with _store(request).session(write=False) as db:
        detail = repo.get_alert(db, alert_id)
    return AlertDetailOut(
        summary=from_struct(AlertSummaryOut, detail.summary),
        alert=alert_record(detail.alert, attack_table(request)),
        notes=[from_struct(AlertNoteOut, n) for n in detail.notes])


# -- triage -----------------------------------------------------------------------------------


class AssignBody(BaseModel):
    assignee: str = Field(max_length=64, description="A user name; empty: unassign.")


class CloseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=repo.MAX_NOTE,
                        description="Why (``false positive: maintenance``, ``resolved``).")


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=repo.MAX_NOTE)


class SuppressBody(BaseModel):
    scope: Literal["pair", "source", "destination", "rule"] = Field(
        "pair", description="What else is suppressed with this alert's rule: the same "
                            "source and destination (pair), any destination from this source "
                            "(source), any source to this destination (destination), or "
                            "every alert of the rule (rule).")
    until: datetime | None = Field(None, description="When the suppression ends (ISO 8601; "
                                                     "none: until lifted).")
    reason: str = Field(min_length=1, max_length=repo.MAX_NOTE)


class SuppressResult(BaseModel):
    suppression: SuppressionOut
    alert: AlertSummaryOut
    suppressed: list[int]
    """Every alert the suppression hid now (this one included)."""


_TRIAGE = Permission.ALERTS_TRIAGE


@router.post("/{alert_id}/acknowledge", response_model=AlertSummaryOut,
             responses=_CHANGE_ERRORS, summary="Acknowledge a new alert")
def acknowledge(request: Request, alert_id: RowId,
                principal: Annotated[Principal, require(_TRIAGE)]) -> AlertSummaryOut:
    with _store(request).session() as db:
        _audit(db, principal, repo.acknowledge(db, alert_id, principal.username))
        return _summary(db, alert_id)


@router.post("/{alert_id}/assign", response_model=AlertSummaryOut, responses=_CHANGE_ERRORS,
             summary="Assign an alert to a user (empty: nobody)")
def assign(request: Request, alert_id: RowId, body: AssignBody,
           principal: Annotated[Principal, require(_TRIAGE)]) -> AlertSummaryOut:
    with _store(request).session() as db:
        _audit(db, principal, repo.assign(db, alert_id, body.assignee.strip(),
                                          principal.username))
        return _summary(db, alert_id)


@router.post("/{alert_id}/close", response_model=AlertSummaryOut, responses=_CHANGE_ERRORS,
             summary="Close an alert with a reason")
def close(request: Request, alert_id: RowId, body: CloseBody,
          principal: Annotated[Principal, require(_TRIAGE)]) -> AlertSummaryOut:
    with _store(request).session() as db:
        _audit(db, principal, repo.close(db, alert_id, body.reason, principal.username))
        return _summary(db, alert_id)


@router.post("/{alert_id}/reopen", response_model=AlertSummaryOut, responses=_CHANGE_ERRORS,
             summary="Reopen a closed alert")
def reopen(request: Request, alert_id: RowId,
           principal: Annotated[Principal, require(_TRIAGE)]) -> AlertSummaryOut:
    with _store(request).session() as db:
        _audit(db, principal, repo.reopen(db, alert_id, principal.username))
        return _summary(db, alert_id)


@router.post("/{alert_id}/suppress", response_model=SuppressResult, responses=_CHANGE_ERRORS,
             summary="Suppress this alert's rule for its endpoints (or wider) until a time")
def suppress(request: Request, alert_id: RowId, body: SuppressBody,
             principal: Annotated[Principal, require(_TRIAGE)]) -> SuppressResult:
    match_src = body.scope in ("pair", "source")
    match_dst = body.scope in ("pair", "destination")
    with _store(request).session() as db:
        change, sid = repo.suppress(db, alert_id, principal.username, reason=body.reason,
                                    until=_epoch(body.until), match_src=match_src,
                                    match_dst=match_dst)
        _audit(db, principal, change)
        found = [s for s in repo.list_suppressions(db) if s.id == sid]
        hidden = change.detail.get("suppressed", [])
        return SuppressResult(suppression=from_struct(SuppressionOut, found[0]),
                              alert=_summary(db, alert_id),
                              suppressed=[int(i) for i in hidden])


@router.post("/{alert_id}/notes", response_model=AlertNoteOut, status_code=201,
             responses=_CHANGE_ERRORS, summary="Add a note to an alert")
def add_note(request: Request, alert_id: RowId, body: NoteBody,
             principal: Annotated[Principal, require(_TRIAGE)]) -> AlertNoteOut:
    with _store(request).session() as db:
        change = repo.add_note(db, alert_id, body.text, principal.username)
        _audit(db, principal, change)
        note_id = int(change.detail["note"])
        notes = repo.get_alert(db, alert_id).notes
    return next(from_struct(AlertNoteOut, n) for n in notes if n.id == note_id)


# -- suppressions -----------------------------------------------------------------------------


@suppressions_router.get("", response_model=Page[SuppressionOut], summary="List suppressions")
def list_suppressions(request: Request,
                      _p: Annotated[Principal, require(Permission.ALERTS_READ)],
                      params: Annotated[PageParams, page_params],
                      active: Annotated[bool, Query(description="Only those in force.")
                                        ] = False) -> Page[SuppressionOut]:
    with _store(request).session(write=False) as db:
        rows = repo.list_suppressions(db, active_only=active)
    items = [from_struct(SuppressionOut, s) for s in rows]
    return Page.of(items[params.offset:params.offset + params.limit], len(items), params)


@suppressions_router.delete("/{suppression_id}", response_model=SuppressionOut,
                            responses=_CHANGE_ERRORS,
                            summary="Lift a suppression (the alerts it hid become new)")
def lift(request: Request, suppression_id: RowId,
         principal: Annotated[Principal, require(_TRIAGE)]) -> SuppressionOut:
    with _store(request).session() as db:
        _audit(db, principal, repo.lift_suppression(db, suppression_id, principal.username))
        found = [s for s in repo.list_suppressions(db) if s.id == suppression_id]
    return from_struct(SuppressionOut, found[0])
