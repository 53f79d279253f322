"""Incident response over the REST API (``/api/v1``): incidents made by correlation, cases,
the playbook library (CACAO import and export) and playbook runs with their OT safety gates,
and the notification outbox.

Permissions: reading incidents and cases ``incidents:read``, changing them
``incidents:write``; the playbook library and runs ``playbooks:read``; working a run
``playbooks:run``; approving a safety-gated step ``playbooks:approve_ot`` (the OT engineer,
not the administrator). Importing a playbook also needs ``playbooks:approve_ot``: a playbook
decides which steps pass the safety gate, so the people who own the gate own the library.

A request the run or the case cannot take in its present state (a step that is not active, a
checklist not ticked, a gated step not yet approved, a closed case closed again) answers 409
with the engine's message; a playbook that fails validation answers 422 with every problem,
each naming the faulty step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from otshield.console.api.alerts import attack_table
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params
from otshield.console.api.params import RowId
from otshield.console.api.respond_schemas import (
    CaseOut,
    CaseSummaryOut,
    EvidenceOut,
    IncidentAssetOut,
    IncidentSummaryOut,
    NotificationOut,
    NotificationsOut,
    PlaybookDetailOut,
    PlaybookOut,
    ProposalOut,
    RunOut,
    RunSummaryOut,
    asset_out,
    case_out,
    playbook_detail,
    playbook_out,
    run_out,
)
from otshield.console.api.schemas import AlertSummaryOut, from_struct
from otshield.console.auth.deps import Principal, require
from otshield.console.auth.service import write_audit
from otshield.console.permissions import Permission
from otshield.console.settings import ConsoleSettings
from otshield.errors import ConfigError
from otshield.respond import service
from otshield.respond import store as repo
from otshield.respond.cacao.model import parse_playbook
from otshield.respond.cacao.otext import check_extension
from otshield.respond.cacao.validate import validate_playbook
from otshield.respond.cases import Case, CaseError
from otshield.respond.notify.message import Notification
from otshield.respond.report import PdfUnavailable
from otshield.respond.runner import Actor, RunError, Runner
from otshield.store import Store
from otshield.store import alerts as alerts_repo
from otshield.store.models import NotifyOutboxRow, UserRow

__all__ = ["MAX_PLAYBOOK_BYTES", "router"]

router = APIRouter(tags=["incident response"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

MAX_PLAYBOOK_BYTES = 2 * 1024 * 1024
"""A CACAO playbook is a few tens of kilobytes; 2 MiB bounds the import."""

Severity = Literal["info", "low", "medium", "high", "critical"]
IncidentStatus = Literal["open", "closed", "merged"]
IncidentSort = Literal["last_seen", "-last_seen", "first_seen", "-first_seen", "score",
                       "-score", "severity", "-severity", "id", "-id"]
CaseStatus = Literal["new", "investigating", "contained", "recovering", "closed"]
_RUN_ID = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
_CASE_ID = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:-]+$")
_STEP = Path(min_length=1, max_length=256)
_PLAYBOOK_ID = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
_CHANGE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}}
_TEXT = 10_000


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _who(p: Principal) -> service.Who:
    return service.Who(username=p.username, role=p.role, user_id=p.user_id, via=p.via,
                       ip=p.ip)


@contextmanager
def _engine_errors() -> Iterator[None]:
    """The engine's refusals as the API's JSON errors (409: not in this state)."""
    try:
        yield
    except (RunError, CaseError) as exc:
        raise ApiError(409, str(exc)) from None


# -- incidents --------------------------------------------------------------------------------


class IncidentDetailOut(BaseModel):
    summary: IncidentSummaryOut
    explanation: list[str]
    """Why the alerts are together ("... joined because ..."), in order."""
    tactics: list[str]
    """ATT&CK for ICS tactics in the order the incident progressed through them."""
    techniques: list[str]
    assets: list[IncidentAssetOut]
    proposals: list[ProposalOut]
    alerts: list[AlertSummaryOut]
    """The first alerts in time order, at most 500 (``summary.alerts`` counts them all; the
    alerts list with ``incident=`` gives every one)."""
    runs: list[RunSummaryOut]


class CorrelateOut(BaseModel):
    created: list[int]
    updated: list[int]
    merged: list[int]
    unchanged: int


class IncidentStatusBody(BaseModel):
    status: Literal["open", "closed"]
    reason: str = Field("", max_length=_TEXT)


class StartRunBody(BaseModel):
    playbook_id: str = Field(min_length=1, max_length=128)


def _techniques_of(request: Request, tactic: str) -> tuple[str, ...]:
    table = attack_table(request)
    return tuple(sorted(t.id for t in table.techniques.values() if tactic in t.tactics))


@router.get("/incidents", response_model=Page[IncidentSummaryOut], summary="List incidents")
def list_incidents(
    request: Request,
    _p: Annotated[Principal, require(Permission.INCIDENTS_READ)],
    params: Annotated[PageParams, page_params],
    status: Annotated[list[IncidentStatus] | None, Query()] = None,
    severity: Annotated[Severity | None, Query(description="At least this severity.")] = None,
    technique: Annotated[str | None, Query(max_length=16)] = None,
    tactic: Annotated[str | None, Query(max_length=64)] = None,
    ip: Annotated[str | None, Query(max_length=64, description="An asset's address.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the title or key.")
                 ] = None,
    since: Annotated[float | None, Query(ge=0, description="Last seen at or after (epoch).")
                     ] = None,
    until: Annotated[float | None, Query(ge=0, description="First seen at or before.")] = None,
    sort: IncidentSort = "-last_seen",
) -> Page[IncidentSummaryOut]:
    tactic_techniques = _techniques_of(request, tactic) if tactic else ()
    if tactic and not tactic_techniques:
        return Page.of([], 0, params)
    flt = repo.IncidentFilter(status=tuple(status or ()), min_severity=severity or "",
                              technique=technique or "", tactic_techniques=tactic_techniques,
                              ip=ip or "", q=q or "", since=since, until=until)
    with _store(request).session(write=False) as db:
        rows, total = repo.list_incidents(db, flt, sort=sort, offset=params.offset,
                                          limit=params.limit)
    return Page.of([from_struct(IncidentSummaryOut, r) for r in rows], total, params)


INCIDENT_ALERTS_SHOWN = 500
"""Alerts an incident's detail carries (the first in time); ``/alerts?incident=`` has all."""


def incident_detail(store: Store, incident_id: int) -> IncidentDetailOut:
    with store.session(write=False) as db:
        detail = repo.get_incident(db, incident_id)
        # the first alerts in time order, in one query (the page links to the full list)
        found, _total = alerts_repo.list_alerts(
            db, alerts_repo.AlertFilter(incident=incident_id), sort="first_seen",
            limit=INCIDENT_ALERTS_SHOWN)
        alerts = [from_struct(AlertSummaryOut, a) for a in found]
        runs = repo.list_runs(db, repo.RunFilter(incident_id=incident_id), limit=1000)[0]
    inc = detail.incident
    return IncidentDetailOut(
        summary=from_struct(IncidentSummaryOut, detail.summary),
        explanation=detail.explanation, tactics=list(inc.tactics),
        techniques=list(inc.techniques), assets=[asset_out(a) for a in inc.assets],
        proposals=[from_struct(ProposalOut, p) for p in detail.proposals], alerts=alerts,
        runs=[from_struct(RunSummaryOut, r) for r in runs])


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut,
            responses=_NOT_FOUND,
            summary="One incident: why its alerts are joined, its assets, proposed playbooks")
def get_incident(request: Request, incident_id: RowId,
                 _p: Annotated[Principal, require(Permission.INCIDENTS_READ)]
                 ) -> IncidentDetailOut:
    return incident_detail(_store(request), incident_id)


@router.post("/incidents/correlate", response_model=CorrelateOut,
             summary="Correlate the stored alerts again (runs after every capture anyway)")
def correlate_now(request: Request,
                  principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                  ) -> CorrelateOut:
    result = service.correlate_store(_store(request), _settings(request), reason="by hand",
                                     who=_who(principal))
    return CorrelateOut(created=result.created, updated=result.updated, merged=result.merged,
                        unchanged=result.unchanged)


@router.post("/incidents/{incident_id}/status", response_model=IncidentSummaryOut,
             responses=_CHANGE, summary="Close or reopen an incident")
def set_incident_status(request: Request, incident_id: RowId,
                        body: IncidentStatusBody,
                        principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                        ) -> IncidentSummaryOut:
    if body.status == "closed" and not body.reason.strip():
        raise ApiError(422, "closing an incident needs a reason")
    with _store(request).session() as db:
        change = repo.set_incident_status(db, incident_id, body.status, principal.username,
                                          body.reason.strip())
        write_audit(db, principal.actor, change.action, change.target,
                            dict(change.detail))
        return from_struct(IncidentSummaryOut, repo.get_incident(db, incident_id).summary)


@router.post("/incidents/{incident_id}/case", response_model=CaseOut, status_code=201,
             responses=_CHANGE, summary="Open the case working this incident")
def open_case(request: Request, incident_id: RowId,
              principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]) -> CaseOut:
    with _engine_errors():
        case = service.open_case_for(_store(request), incident_id, _who(principal))
    return case_out(case, incident_id)


@router.post("/incidents/{incident_id}/runs", response_model=RunOut, status_code=201,
             responses=_CHANGE, summary="Start a playbook on this incident")
def start_run(request: Request, incident_id: RowId, body: StartRunBody,
              principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    with _engine_errors():
        stored = service.start_run(_store(request), _settings(request), incident_id,
                                   body.playbook_id, _who(principal))
    return run_out(stored)


# -- cases ------------------------------------------------------------------------------------


class AssignBody(BaseModel):
    owner: str | None = Field(None, max_length=64, description="A user name; empty: nobody.")
    it: str | None = Field(None, max_length=64, description="The IT assignee.")
    ot: str | None = Field(None, max_length=64, description="The OT assignee.")


class CaseStatusBody(BaseModel):
    status: CaseStatus
    reason: str = Field("", max_length=_TEXT, description="Required to close.")


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=_TEXT)


@router.get("/cases", response_model=Page[CaseSummaryOut], summary="List cases")
def list_cases(request: Request,
               _p: Annotated[Principal, require(Permission.INCIDENTS_READ)],
               params: Annotated[PageParams, page_params],
               status: Annotated[list[CaseStatus] | None, Query()] = None,
               owner: Annotated[str | None, Query(max_length=64)] = None,
               assignee: Annotated[str | None, Query(max_length=64, description=(
                   "Owner, IT or OT assignee."))] = None,
               incident: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               q: Annotated[str | None, Query(max_length=200)] = None,
               ) -> Page[CaseSummaryOut]:
    flt = repo.CaseFilter(status=tuple(status or ()), owner=owner or "",
                          assignee=assignee or "", incident_id=incident, q=q or "")
    with _store(request).session(write=False) as db:
        rows, total = repo.list_cases(db, flt, offset=params.offset, limit=params.limit)
    return Page.of([from_struct(CaseSummaryOut, r) for r in rows], total, params)


def _case(store: Store, case_id: str) -> CaseOut:
    with store.session(write=False) as db:
        row, case = repo.get_case(db, case_id)
    return case_out(case, row.incident_id)


@router.get("/cases/{case_id}", response_model=CaseOut, responses=_NOT_FOUND,
            summary="One case: status, assignees, timeline, notes, evidence, runs")
def get_case(request: Request, case_id: Annotated[str, _CASE_ID],
             _p: Annotated[Principal, require(Permission.INCIDENTS_READ)]) -> CaseOut:
    return _case(_store(request), case_id)


def _check_user(store: Store, name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name:
        return ""
    with store.session(write=False) as db:
        user = db.scalar(select(UserRow).where(UserRow.username == name))
    if user is None or user.disabled:
        raise ApiError(422, f"{name!r} is not an active user")
    return name


def _case_change(request: Request, case_id: str, principal: Principal, action: str,
                 change: Callable[[Case, str], Mapping[str, Any]]) -> CaseOut:
    with _engine_errors():
        service.update_case(_store(request), case_id, _who(principal), action, change)
    return _case(_store(request), case_id)


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=_CHANGE,
             summary="Set the owner and the IT and OT assignees")
def assign_case(request: Request, case_id: Annotated[str, _CASE_ID], body: AssignBody,
                principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                ) -> CaseOut:
    store = _store(request)
    owner, it, ot = (_check_user(store, v) for v in (body.owner, body.it, body.ot))

    def change(case: Case, label: str) -> dict[str, Any]:
        case.assign(label, owner=owner, it=it, ot=ot)
        return {"owner": owner, "it": it, "ot": ot}

    return _case_change(request, case_id, principal, "assign", change)


@router.post("/cases/{case_id}/status", response_model=CaseOut, responses=_CHANGE,
             summary="Move the case to a status (closing needs a reason)")
def case_status(request: Request, case_id: Annotated[str, _CASE_ID], body: CaseStatusBody,
                principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                ) -> CaseOut:
    if body.status == "closed" and not body.reason.strip():
        raise ApiError(422, "closing a case needs a reason")

    def change(case: Case, label: str) -> dict[str, Any]:
        before = case.status
        case.set_status(label, body.status, body.reason.strip())
        return {"status": [before, body.status], "reason": body.reason.strip()}

    return _case_change(request, case_id, principal, "status", change)


@router.post("/cases/{case_id}/notes", response_model=CaseOut, responses=_CHANGE,
             summary="Add a note to the case timeline")
def case_note(request: Request, case_id: Annotated[str, _CASE_ID], body: NoteBody,
              principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]) -> CaseOut:
    if not body.text.strip():
        raise ApiError(422, "an empty note says nothing")

    def change(case: Case, label: str) -> dict[str, Any]:
        case.note(label, body.text.strip())
        return {"chars": len(body.text.strip())}

    return _case_change(request, case_id, principal, "note", change)


@router.post("/cases/{case_id}/evidence/pcap", response_model=EvidenceOut, status_code=201,
             responses=_CHANGE,
             summary="Extract the incident's flows from the stored captures into a pcap")
def extract_pcap(request: Request, case_id: Annotated[str, _CASE_ID],
                 principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                 ) -> EvidenceOut:
    with _engine_errors():
        _case_obj, item = service.extract_evidence(_store(request), _settings(request),
                                                   case_id, _who(principal))
    return from_struct(EvidenceOut, item)


@router.get("/cases/{case_id}/evidence/{name}", response_class=FileResponse,
            responses={200: {"content": {"application/vnd.tcpdump.pcap": {}}}, **_NOT_FOUND},
            summary="Download an extracted evidence file")
def evidence_file(request: Request, case_id: Annotated[str, _CASE_ID],
                  name: Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")],
                  _p: Annotated[Principal, require(Permission.INCIDENTS_READ)]) -> Response:
    with _store(request).session(write=False) as db:
        _row, case = repo.get_case(db, case_id)
    if not any(e.kind == "pcap" and e.ref == name for e in case.evidence):
        raise ApiError(404, f"case {case_id} has no evidence file {name}")
    path: FsPath = _settings(request).data_dir / "evidence" / name
    if not path.is_file():
        raise ApiError(404, f"the evidence file {name} is no longer on the server")
    return FileResponse(path, media_type="application/vnd.tcpdump.pcap", filename=name)


@router.get("/cases/{case_id}/report", response_class=PlainTextResponse,
            responses={200: {"content": {"text/markdown": {}, "text/html": {},
                                         "application/pdf": {}}}, **_NOT_FOUND},
            summary="The after-action report (Markdown, self-contained HTML or PDF)")
def case_report(request: Request, case_id: Annotated[str, _CASE_ID],
                _p: Annotated[Principal, require(Permission.INCIDENTS_READ)],
                format: Annotated[Literal["markdown", "html", "pdf"], Query()] = "markdown",
                ) -> Response:
    try:
        text = service.case_report(_store(request), case_id, format)
    except PdfUnavailable as exc:  # PDF without Pango: say so instead of a 500
        raise ApiError(503, str(exc), code="unavailable") from None
    if isinstance(text, bytes):
        return Response(text, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{case_id}-after-action.pdf"'})
    if format == "html":
        return Response(text, media_type="text/html; charset=utf-8", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "img-src data:"})
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


# -- playbooks --------------------------------------------------------------------------------


class ImportOut(BaseModel):
    playbook: PlaybookOut
    replaced: bool


@router.get("/playbooks", response_model=list[PlaybookOut],
            summary="The playbook library: built-in, site and imported playbooks")
def list_playbooks(request: Request,
                   _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]
                   ) -> list[PlaybookOut]:
    with _store(request).session(write=False) as db:
        books = service.library(db, _settings(request))
    return [playbook_out(e.playbook, e.source) for e in books]


@router.get("/playbooks/{playbook_id}", response_model=PlaybookDetailOut, responses=_NOT_FOUND,
            summary="One playbook: roles and steps (checklists, safety gates, decisions)")
def get_playbook(request: Request, playbook_id: Annotated[str, _PLAYBOOK_ID],
                 _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]
                 ) -> PlaybookDetailOut:
    with _store(request).session(write=False) as db:
        entry = service.find_playbook(db, _settings(request), playbook_id)
    return playbook_detail(entry.playbook, entry.source)


@router.get("/playbooks/{playbook_id}/cacao", responses={
    200: {"content": {"application/json": {}}}, **_NOT_FOUND},
    summary="Export the playbook as CACAO 2.0 JSON")
def export_playbook(request: Request, playbook_id: Annotated[str, _PLAYBOOK_ID],
                    _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]) -> Response:
    with _store(request).session(write=False) as db:
        entry = service.find_playbook(db, _settings(request), playbook_id)
    body = json.dumps(entry.playbook.doc, indent=2, ensure_ascii=False) + "\n"
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{playbook_id}.json"'})


_IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "A CACAO 2.0 playbook"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}}


async def _import_text(request: Request) -> tuple[bytes, str]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PLAYBOOK_BYTES + 64 * 1024:
        raise ApiError(413, f"a playbook is at most {MAX_PLAYBOOK_BYTES // 1024} KiB")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=4)
        except MultiPartException as exc:
            raise ApiError(422, f"not a valid multipart form: {exc.message}") from None
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "the form has no file in the field 'file'")
            data = await upload.read(MAX_PLAYBOOK_BYTES + 1)
            name = upload.filename or "playbook.json"
        finally:
            await form.close()
    else:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_PLAYBOOK_BYTES:
                break
        name = "the request body"
    if len(data) > MAX_PLAYBOOK_BYTES:
        raise ApiError(413, f"a playbook is at most {MAX_PLAYBOOK_BYTES // 1024} KiB")
    return data, name


@router.post("/playbooks/import", response_model=ImportOut, status_code=201,
             openapi_extra=_IMPORT_BODY, responses={
                 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
             summary="Import a CACAO 2.0 playbook (validated; errors name the faulty step)")
async def import_playbook(request: Request,
                          principal: Annotated[Principal,
                                               require(Permission.PLAYBOOKS_APPROVE_OT)]
                          ) -> ImportOut:
    data, name = await _import_text(request)
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(422, f"{name}: not UTF-8 text (a CACAO playbook is JSON)") from None
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    problems = validate_playbook(doc) or (check_extension(doc) if isinstance(doc, dict) else [])
    if problems:
        shown = [str(p) for p in problems[:100]]
        raise ApiError(422, f"{name}: not a valid CACAO 2.0 playbook ({len(problems)} "
                            f"problem{'s' if len(problems) != 1 else ''}): {shown[0]}",
                       code="invalid_playbook",
                       details=[{"path": p.path, "message": p.message}
                                for p in problems[:100]])
    try:
        pb = parse_playbook(doc, name)
    except ConfigError as exc:
        raise ApiError(422, str(exc), code="invalid_playbook") from None
    with _store(request).session() as db:
        before = {e.playbook.id for e in service.library(db, _settings(request))}
        change = repo.save_playbook(db, doc, pb.name, principal.username)
        write_audit(db, principal.actor, change.action, change.target,
                            dict(change.detail))
    return ImportOut(playbook=playbook_out(pb, "imported"), replaced=pb.id in before)


# -- runs -------------------------------------------------------------------------------------


class TickBody(BaseModel):
    item: int = Field(ge=0, le=1000, description="The checklist item, 0 for the first.")


class CompleteBody(BaseModel):
    outcome: Literal["success", "failure"] = "success"
    note: str = Field("", max_length=_TEXT)


class DecideBody(BaseModel):
    option: str = Field(min_length=1, max_length=256)
    note: str = Field("", max_length=_TEXT)


class ApproveBody(BaseModel):
    reason: str = Field("", max_length=_TEXT, description="What the OT engineer checked.")


class AbortBody(BaseModel):
    reason: str = Field(min_length=1, max_length=_TEXT)


class RunNoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=_TEXT)
    step: str = Field("", max_length=256)


@router.get("/runs", response_model=Page[RunSummaryOut], summary="List playbook runs")
def list_runs(request: Request,
              _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)],
              params: Annotated[PageParams, page_params],
              status: Annotated[list[Literal["running", "completed", "aborted"]] | None,
                                Query()] = None,
              incident: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              case: Annotated[str | None, Query(max_length=32)] = None,
              playbook: Annotated[str | None, Query(max_length=128)] = None,
              waiting_approval: Annotated[bool | None, Query(description=(
                  "Only runs with a step waiting for an OT approval (true) or none (false)."))
                                          ] = None,
              ) -> Page[RunSummaryOut]:
    flt = repo.RunFilter(status=tuple(status or ()), incident_id=incident, case_id=case or "",
                         playbook_id=playbook or "", waiting_approval=waiting_approval)
    with _store(request).session(write=False) as db:
        rows, total = repo.list_runs(db, flt, offset=params.offset, limit=params.limit)
    return Page.of([from_struct(RunSummaryOut, r) for r in rows], total, params)


@router.get("/runs/{run_id}", response_model=RunOut, responses=_NOT_FOUND,
            summary="One run: its steps (checklists, gates, decisions) and timeline")
def get_run(request: Request, run_id: Annotated[str, _RUN_ID],
            _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]) -> RunOut:
    with _store(request).session(write=False) as db:
        stored = repo.get_run(db, run_id)
    return run_out(stored)


def _operate(request: Request, run_id: str, principal: Principal, action: str,
             operation: Callable[[Runner, Actor], Mapping[str, Any]]) -> RunOut:
    with _engine_errors():
        stored = service.run_operation(_store(request), run_id, _who(principal), action,
                                       operation)
    return run_out(stored)


def _step_detail(runner: Runner, ref: str) -> dict[str, Any]:
    step = runner.resolve(ref)
    return {"step": step.id, "name": step.name}


@router.post("/runs/{run_id}/steps/{step}/acknowledge", response_model=RunOut,
             responses=_CHANGE, summary="Acknowledge an active step (stops its escalation)")
def acknowledge(request: Request, run_id: Annotated[str, _RUN_ID],
                step: Annotated[str, _STEP],
                principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.acknowledge(step, actor)
        return _step_detail(runner, step)

    return _operate(request, run_id, principal, "acknowledge", op)


@router.post("/runs/{run_id}/steps/{step}/tick", response_model=RunOut, responses=_CHANGE,
             summary="Tick a checklist item of an active step")
def tick(request: Request, run_id: Annotated[str, _RUN_ID], step: Annotated[str, _STEP],
         body: TickBody,
         principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.tick(step, body.item, actor)
        return {**_step_detail(runner, step), "item": body.item}

    return _operate(request, run_id, principal, "tick", op)


@router.post("/runs/{run_id}/steps/{step}/complete", response_model=RunOut, responses=_CHANGE,
             summary="Complete an active step (its checklist ticked, its gate approved)")
def complete(request: Request, run_id: Annotated[str, _RUN_ID], step: Annotated[str, _STEP],
             body: CompleteBody,
             principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        detail = _step_detail(runner, step)
        runner.complete(step, actor, body.outcome, body.note.strip())
        return {**detail, "outcome": body.outcome}

    return _operate(request, run_id, principal, "complete", op)


@router.post("/runs/{run_id}/steps/{step}/decide", response_model=RunOut, responses=_CHANGE,
             summary="Answer a decision step")
def decide(request: Request, run_id: Annotated[str, _RUN_ID], step: Annotated[str, _STEP],
           body: DecideBody,
           principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        detail = _step_detail(runner, step)
        runner.decide(step, body.option, actor, body.note.strip())
        return {**detail, "option": body.option}

    return _operate(request, run_id, principal, "decide", op)


@router.post("/runs/{run_id}/steps/{step}/approve", response_model=RunOut, responses=_CHANGE,
             summary="Approve a safety-gated step (OT engineers only)")
def approve(request: Request, run_id: Annotated[str, _RUN_ID], step: Annotated[str, _STEP],
            body: ApproveBody,
            principal: Annotated[Principal, require(Permission.PLAYBOOKS_APPROVE_OT)]
            ) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.approve(step, actor, body.reason.strip())
        return {**_step_detail(runner, step), "reason": body.reason.strip()}

    return _operate(request, run_id, principal, "approve", op)


@router.post("/runs/{run_id}/abort", response_model=RunOut, responses=_CHANGE,
             summary="Abort the run (with a reason)")
def abort(request: Request, run_id: Annotated[str, _RUN_ID], body: AbortBody,
          principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.abort(actor, body.reason)
        return {"reason": body.reason.strip()}

    return _operate(request, run_id, principal, "abort", op)


@router.post("/runs/{run_id}/notes", response_model=RunOut, responses=_CHANGE,
             summary="Add a note to the run's timeline (optionally about one step)")
def run_note(request: Request, run_id: Annotated[str, _RUN_ID], body: RunNoteBody,
             principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> RunOut:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        sid = runner.resolve(body.step).id if body.step else ""
        runner.note(actor, body.text, sid)
        return {"step": sid, "chars": len(body.text.strip())}

    return _operate(request, run_id, principal, "note", op)


# -- notifications ----------------------------------------------------------------------------

_notification = msgspec.json.Decoder(Notification)


@router.get("/notifications", response_model=NotificationsOut,
            summary="The notification outbox: what is queued, sent or given up")
def notifications(request: Request,
                  _p: Annotated[Principal, require(Permission.PLAYBOOKS_READ)],
                  params: Annotated[PageParams, page_params],
                  status: Annotated[Literal["pending", "sent", "dead"] | None, Query()] = None,
                  ) -> NotificationsOut:
    query = select(NotifyOutboxRow)
    if status:
        query = query.where(NotifyOutboxRow.status == status)
    with _store(request).session(write=False) as db:
        counts = {"pending": 0, "sent": 0, "dead": 0}
        for name, count in db.execute(select(NotifyOutboxRow.status, func.count()).group_by(
                NotifyOutboxRow.status)):
            counts[name] = int(count)
        total = counts.get(status, 0) if status else sum(counts.values())
        rows = db.scalars(query.order_by(NotifyOutboxRow.created_at.desc(), NotifyOutboxRow.id)
                          .offset(params.offset).limit(params.limit)).all()
    items = []
    for row in rows:
        try:
            n = _notification.decode(row.payload)
            subject, incident, run = n.subject, n.incident_id, n.run_id
        except msgspec.DecodeError:
            subject, incident, run = "(damaged record)", "", ""
        items.append(NotificationOut(
            id=row.id, channel=row.channel, subject=subject, status=row.status,
            attempts=row.attempts, last_error=row.last_error, incident_id=incident,
            run_id=run, created_at=row.created_at, sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at))
    loop = getattr(request.app.state, "respond", None)
    channels = sorted(getattr(loop, "senders", {}) or {})
    return NotificationsOut(counts=counts, channels=channels, items=items, total=total,
                            page=params.page, per_page=params.per_page)

