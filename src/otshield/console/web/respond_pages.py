"""The incident-response pages (issue #8): incidents (list, and one incident with why its alerts
were joined, the tactics it went through, its assets with Purdue level and safety tag, the
proposed playbooks), cases (status, assignees, notes, evidence, after-action report), playbook
runs (the active steps with their checklists, decisions and OT safety gates, the timeline) and
the playbook library (with CACAO import for the OT engineers).

Every page reads and changes through the same functions as the REST API
(:mod:`otshield.respond.service`, :mod:`otshield.console.api.respond_schemas`), so a page never
shows a state the API would not. Actions are HTMX posts answered with the changed panel (a
plain form post gets a redirect, so a reload never repeats an action); the engine's refusals
(a gated step not yet approved, an unticked checklist) come back in the panel as a message
with 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from otshield.console.api.errors import ApiError
from otshield.console.api.pagination import PageParams, page_params
from otshield.console.api.params import RowId
from otshield.console.api.respond import MAX_PLAYBOOK_BYTES, incident_detail
from otshield.console.api.respond_schemas import case_out, playbook_detail, playbook_out, run_out
from otshield.console.auth.deps import Principal, require
from otshield.console.auth.service import write_audit
from otshield.console.permissions import Permission
from otshield.console.web.render import render
from otshield.detect.alert import SEVERITIES
from otshield.errors import ConfigError
from otshield.respond import service
from otshield.respond import store as repo
from otshield.respond.cacao.model import parse_playbook
from otshield.respond.cases import STATUSES as CASE_STATUSES
from otshield.respond.cases import Case, CaseError
from otshield.respond.runner import Actor, RunError, Runner
from otshield.store import Store
from otshield.store.errors import Conflict, Invalid, NotFound
from otshield.store.models import NotifyOutboxRow, UserRow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TEXT = 10_000
_KIND_LABELS = {
    "started": "started", "activated": "step active", "acknowledged": "acknowledged",
    "ticked": "ticked", "completed": "completed", "failed": "failed", "decided": "decided",
    "approved": "OT approval", "approval_requested": "waits for OT approval",
    "executed": "executed", "refused": "left to a person", "escalated": "escalated",
    "finished": "finished", "aborted": "aborted", "note": "note",
}


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _who(p: Principal) -> service.Who:
    return service.Who(username=p.username, role=p.role, user_id=p.user_id, via=p.via,
                       ip=p.ip)


def _message(exc: Exception) -> str:
    text = str(exc)
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _not_found(request: Request, principal: Principal, what: str) -> Response:
    return render(request, "error.html", principal, status_code=404, title="Not found",
                  heading="Not found", message=f"There is no {what}.")


# -- incidents --------------------------------------------------------------------------------


@router.get("/incidents")
def incidents_page(request: Request,
                   principal: Annotated[Principal, require(Permission.INCIDENTS_READ)],
                   params: Annotated[PageParams, page_params],
                   status: Annotated[str, Query(max_length=16)] = "open",
                   severity: Annotated[str, Query(max_length=16)] = "",
                   q: Annotated[str, Query(max_length=200)] = "") -> Response:
    statuses = (status,) if status in repo.INCIDENT_STATUSES else ()
    flt = repo.IncidentFilter(status=statuses,
                              min_severity=severity if severity in SEVERITIES else "",
                              q=q.strip())
    with _store(request).session(write=False) as db:
        rows, total = repo.list_incidents(db, flt, offset=params.offset, limit=params.limit)
    query = {"status": status, "severity": severity, "q": q}
    return render(request, "respond_incidents.html", principal, title="Incidents",
                  rows=rows, total=total, page=params.page, per_page=params.per_page,
                  params=query, severities=SEVERITIES, statuses=repo.INCIDENT_STATUSES)


def _incident_page(request: Request, principal: Principal, incident_id: int,
                   flash: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    store = _store(request)
    try:
        detail = incident_detail(store, incident_id)
    except NotFound:
        return _not_found(request, principal, f"incident {incident_id}")
    with store.session(write=False) as db:
        books = {e.playbook.id for e in service.library(db, request.app.state.settings)}
    return render(request, "respond_incident.html", principal, status_code=status_code,
                  title=detail.summary.title, d=detail, flash=flash, books=books,
                  kinds=_KIND_LABELS)


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: RowId,
                  principal: Annotated[Principal, require(Permission.INCIDENTS_READ)]
                  ) -> Response:
    return _incident_page(request, principal, incident_id)


@router.post("/incidents/{incident_id}/case")
def incident_open_case(request: Request, incident_id: RowId,
                       principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                       ) -> Response:
    try:
        case = service.open_case_for(_store(request), incident_id, _who(principal))
    except NotFound:
        return _not_found(request, principal, f"incident {incident_id}")
    except (Conflict, CaseError) as exc:
        return _incident_page(request, principal, incident_id, ("error", _message(exc)), 409)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.post("/incidents/{incident_id}/runs")
def incident_start_run(request: Request, incident_id: RowId,
                       principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
                       playbook_id: Annotated[str, Form(max_length=128)] = "") -> Response:
    try:
        stored = service.start_run(_store(request), request.app.state.settings, incident_id,
                                   playbook_id, _who(principal))
    except NotFound as exc:
        return _not_found(request, principal, str(exc).removeprefix("no "))
    except (Conflict, RunError, ConfigError) as exc:
        return _incident_page(request, principal, incident_id, ("error", _message(exc)), 409)
    return RedirectResponse(f"/runs/{stored.run.id}", status_code=303)


@router.post("/incidents/{incident_id}/status")
def incident_status(request: Request, incident_id: RowId,
                    principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)],
                    status: Annotated[str, Form(max_length=16)] = "",
                    reason: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    if status == "closed" and not reason.strip():
        return _incident_page(request, principal, incident_id,
                              ("error", "Closing an incident needs a reason."), 422)
    try:
        with _store(request).session() as db:
            change = repo.set_incident_status(db, incident_id, status, principal.username,
                                              reason.strip())
            write_audit(db, principal.actor, change.action, change.target,
                        dict(change.detail))
    except NotFound:
        return _not_found(request, principal, f"incident {incident_id}")
    except Invalid as exc:
        return _incident_page(request, principal, incident_id, ("error", _message(exc)), 409)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


# -- cases ------------------------------------------------------------------------------------


def _users(store: Store) -> list[str]:
    with store.session(write=False) as db:
        return sorted(db.scalars(select(UserRow.username).where(
            UserRow.disabled.is_(False))).all())


def _case_context(request: Request, case_id: str) -> dict[str, Any]:
    store = _store(request)
    with store.session(write=False) as db:
        row, case = repo.get_case(db, case_id)
        runs = [repo.get_run(db, rid).summary for rid in case.runs
                if _exists(db, rid)]
    return {"c": case_out(case, row.incident_id), "runs": runs, "users": _users(store),
            "statuses": CASE_STATUSES}


def _exists(db: Any, run_id: str) -> bool:
    try:
        repo.get_run(db, run_id)
    except NotFound:
        return False
    return True


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str,
              principal: Annotated[Principal, require(Permission.INCIDENTS_READ)]) -> Response:
    try:
        ctx = _case_context(request, case_id)
    except NotFound:
        return _not_found(request, principal, f"case {case_id}")
    return render(request, "respond_case.html", principal, title=f"Case {case_id}", **ctx)


def _case_act(request: Request, principal: Principal, case_id: str, action: str,
              change: Callable[[Case, str], Mapping[str, Any]], done: str) -> Response:
    flash: tuple[str, str] = ("ok", done)
    status = 200
    try:
        service.update_case(_store(request), case_id, _who(principal), action, change)
    except NotFound:
        return _not_found(request, principal, f"case {case_id}")
    except (CaseError, Invalid, ApiError) as exc:
        flash, status = ("error", _message(exc)), 409
    return _case_answer(request, principal, case_id, flash, status)


def _case_answer(request: Request, principal: Principal, case_id: str,
                 flash: tuple[str, str], status: int) -> Response:
    if not request.headers.get("hx-request") and status == 200:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    ctx = _case_context(request, case_id)
    template = "_respond_case.html" if request.headers.get("hx-request") else \
        "respond_case.html"
    return render(request, template, principal, status_code=status, flash=flash,
                  title=f"Case {case_id}", **ctx)


@router.post("/cases/{case_id}/assign")
def case_assign(request: Request, case_id: str,
                principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)],
                owner: Annotated[str, Form(max_length=64)] = "",
                it: Annotated[str, Form(max_length=64)] = "",
                ot: Annotated[str, Form(max_length=64)] = "") -> Response:
    known = set(_users(_store(request)))
    bad = [n for n in (owner, it, ot) if n.strip() and n.strip() not in known]
    if bad:
        return _case_answer(request, principal, case_id,
                            ("error", f"{bad[0]!r} is not an active user."), 422)

    def change(case: Case, label: str) -> dict[str, Any]:
        case.assign(label, owner=owner.strip(), it=it.strip(), ot=ot.strip())
        return {"owner": owner.strip(), "it": it.strip(), "ot": ot.strip()}

    return _case_act(request, principal, case_id, "assign", change, "Assignees saved.")


@router.post("/cases/{case_id}/status")
def case_status(request: Request, case_id: str,
                principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)],
                status: Annotated[str, Form(max_length=16)] = "",
                reason: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def change(case: Case, label: str) -> dict[str, Any]:
        before = case.status
        case.set_status(label, status, reason.strip())
        return {"status": [before, status], "reason": reason.strip()}

    return _case_act(request, principal, case_id, "status", change, f"Status: {status}.")


@router.post("/cases/{case_id}/notes")
def case_note(request: Request, case_id: str,
              principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)],
              text: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def change(case: Case, label: str) -> dict[str, Any]:
        case.note(label, text.strip())
        return {"chars": len(text.strip())}

    return _case_act(request, principal, case_id, "note", change, "Note added.")


@router.post("/cases/{case_id}/evidence")
def case_evidence(request: Request, case_id: str,
                  principal: Annotated[Principal, require(Permission.INCIDENTS_WRITE)]
                  ) -> Response:
    try:
        _case, item = service.extract_evidence(_store(request), request.app.state.settings,
                                               case_id, _who(principal))
    except NotFound:
        return _not_found(request, principal, f"case {case_id}")
    except CaseError as exc:
        return _case_answer(request, principal, case_id, ("error", _message(exc)), 409)
    return _case_answer(request, principal, case_id,
                        ("ok", f"Evidence extracted: {item.ref} ({item.description})."), 200)


# -- runs -------------------------------------------------------------------------------------


def _run_page(request: Request, principal: Principal, run_id: str, template: str,
              flash: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    with _store(request).session(write=False) as db:
        stored = repo.get_run(db, run_id)
    run = run_out(stored)
    return render(request, template, principal, status_code=status_code,
                  title=run.summary.playbook_name, r=run, flash=flash, kinds=_KIND_LABELS)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str,
             principal: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]) -> Response:
    try:
        return _run_page(request, principal, run_id, "respond_run.html")
    except NotFound:
        return _not_found(request, principal, f"playbook run {run_id}")


def _run_act(request: Request, principal: Principal, run_id: str, action: str,
             operation: Callable[[Runner, Actor], Mapping[str, Any]], done: str) -> Response:
    flash: tuple[str, str] = ("ok", done)
    status = 200
    try:
        service.run_operation(_store(request), run_id, _who(principal), action, operation)
    except NotFound:
        return _not_found(request, principal, f"playbook run {run_id}")
    except (RunError, Invalid) as exc:
        flash, status = ("error", _message(exc)), 409
    hx = bool(request.headers.get("hx-request"))
    if not hx and status == 200:
        return RedirectResponse(f"/runs/{run_id}", status_code=303)
    return _run_page(request, principal, run_id,
                     "_respond_run.html" if hx else "respond_run.html", flash, status)


@router.post("/runs/{run_id}/steps/{step}/acknowledge")
def run_ack(request: Request, run_id: str, step: str,
            principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)]) -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.acknowledge(step, actor)
        return {"step": step}

    return _run_act(request, principal, run_id, "acknowledge", op, "Acknowledged.")


@router.post("/runs/{run_id}/steps/{step}/tick")
def run_tick(request: Request, run_id: str, step: str,
             principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
             item: Annotated[int, Form(ge=0, le=1000)] = 0) -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.tick(step, item, actor)
        return {"step": step, "item": item}

    return _run_act(request, principal, run_id, "tick", op, "Ticked.")


@router.post("/runs/{run_id}/steps/{step}/complete")
def run_complete(request: Request, run_id: str, step: str,
                 principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
                 outcome: Annotated[str, Form(max_length=16)] = "success",
                 note: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.complete(step, actor, outcome, note.strip())
        return {"step": step, "outcome": outcome}

    return _run_act(request, principal, run_id, "complete", op,
                    "Step completed." if outcome == "success" else "Step marked failed.")


@router.post("/runs/{run_id}/steps/{step}/decide")
def run_decide(request: Request, run_id: str, step: str,
               principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
               option: Annotated[str, Form(max_length=256)] = "",
               note: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.decide(step, option, actor, note.strip())
        return {"step": step, "option": option}

    return _run_act(request, principal, run_id, "decide", op, f"Decided: {option}.")


@router.post("/runs/{run_id}/steps/{step}/approve")
def run_approve(request: Request, run_id: str, step: str,
                principal: Annotated[Principal, require(Permission.PLAYBOOKS_APPROVE_OT)],
                reason: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.approve(step, actor, reason.strip())
        return {"step": step, "reason": reason.strip()}

    return _run_act(request, principal, run_id, "approve", op, "Approved.")


@router.post("/runs/{run_id}/abort")
def run_abort(request: Request, run_id: str,
              principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
              reason: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.abort(actor, reason)
        return {"reason": reason.strip()}

    return _run_act(request, principal, run_id, "abort", op, "Run aborted.")


@router.post("/runs/{run_id}/notes")
def run_note(request: Request, run_id: str,
             principal: Annotated[Principal, require(Permission.PLAYBOOKS_RUN)],
             text: Annotated[str, Form(max_length=_TEXT)] = "") -> Response:
    def op(runner: Runner, actor: Actor) -> dict[str, Any]:
        runner.note(actor, text)
        return {"chars": len(text.strip())}

    return _run_act(request, principal, run_id, "note", op, "Note added.")


# -- playbooks --------------------------------------------------------------------------------


def _playbooks_page(request: Request, principal: Principal,
                    flash: tuple[str, str] | None = None, problems: list[str] | None = None,
                    status_code: int = 200) -> Response:
    store = _store(request)
    with store.session(write=False) as db:
        books = [playbook_out(e.playbook, e.source)
                 for e in service.library(db, request.app.state.settings)]
        runs, _total = repo.list_runs(db, repo.RunFilter(status=("running",)), limit=100)
        outbox = {"pending": 0, "sent": 0, "dead": 0}
        for name, count in db.execute(select(NotifyOutboxRow.status, func.count()).group_by(
                NotifyOutboxRow.status)):
            outbox[name] = int(count)
    loop = getattr(request.app.state, "respond", None)
    channels = sorted(getattr(loop, "senders", {}) or {})
    return render(request, "respond_playbooks.html", principal, status_code=status_code,
                  title="Playbooks", books=books, runs=runs, flash=flash,
                  problems=problems or [], outbox=outbox, channels=channels)


@router.get("/playbooks")
def playbooks_page(request: Request,
                   principal: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]
                   ) -> Response:
    return _playbooks_page(request, principal)


@router.get("/playbooks/{playbook_id}")
def playbook_page(request: Request, playbook_id: str,
                  principal: Annotated[Principal, require(Permission.PLAYBOOKS_READ)]
                  ) -> Response:
    try:
        with _store(request).session(write=False) as db:
            entry = service.find_playbook(db, request.app.state.settings, playbook_id)
    except NotFound:
        return _not_found(request, principal, f"playbook {playbook_id}")
    detail = playbook_detail(entry.playbook, entry.source)
    names = {s.id: s.name for s in detail.steps}
    return render(request, "respond_playbook.html", principal, title=detail.playbook.name,
                  p=detail, names=names)


@router.post("/playbooks/import")
async def playbook_import(request: Request,
                          principal: Annotated[Principal,
                                               require(Permission.PLAYBOOKS_APPROVE_OT)]
                          ) -> Response:
    try:
        form = await request.form(max_files=1, max_fields=4)
    except MultiPartException as exc:
        return _playbooks_page(request, principal, ("error", f"Not a valid form: {exc.message}"),
                               status_code=422)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _playbooks_page(request, principal, ("error", "Choose a CACAO JSON file."),
                                   status_code=422)
        data = await upload.read(MAX_PLAYBOOK_BYTES + 1)
        name = upload.filename or "playbook.json"
    finally:
        await form.close()
    if len(data) > MAX_PLAYBOOK_BYTES:
        return _playbooks_page(request, principal, ("error", "The file is too large."),
                               status_code=413)
    try:
        doc = json.loads(data.decode("utf-8"))
        pb = parse_playbook(doc, name)
    except (UnicodeDecodeError, ValueError) as exc:
        return _playbooks_page(request, principal, ("error", f"{name}: not JSON ({exc})."),
                               status_code=422)
    except ConfigError as exc:
        head, _, rest = str(exc).partition("\n")
        return _playbooks_page(request, principal, ("error", head),
                               problems=[p.strip() for p in rest.splitlines() if p.strip()],
                               status_code=422)
    with _store(request).session() as db:
        change = repo.save_playbook(db, doc, pb.name, principal.username)
        write_audit(db, principal.actor, change.action, change.target, dict(change.detail))
    return _playbooks_page(request, principal, ("ok", f"Imported {pb.name!r}."))
