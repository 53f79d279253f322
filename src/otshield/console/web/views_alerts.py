"""The alert pages: the triage list (filters, pages) and one alert (what happened, endpoints,
ATT&CK for ICS techniques with links from the shipped technique table, the evidence frames and
events) with the triage actions: acknowledge, assign, close with a reason, suppress, notes.

Reading and changing go through the store's alert repository (:mod:`otshield.store.alerts`),
the same functions the API calls; each change is written with its audit entry in one
transaction. The actions are HTMX posts answered with the triage panel re-rendered in place (a
browser without scripts posts the same forms and gets the whole page back).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from otshield.console.api.cached import cached_value
from otshield.console.api.pagination import PageParams, page_params
from otshield.console.api.params import MAX_ROW_ID, RowId
from otshield.console.auth.deps import Principal, require
from otshield.console.auth.service import list_users, write_audit
from otshield.console.permissions import Permission, Role, allowed
from otshield.console.web import facets
from otshield.console.web.render import render
from otshield.detect.alert import SEVERITIES, Alert
from otshield.detect.attack import AttackTable, Technique, load_attack_table
from otshield.store import alerts as repo
from otshield.store.common import Change
from otshield.store.errors import Conflict, Invalid, NotFound

__all__ = ["CLOSE_REASONS", "STATUS_CHOICES", "AlertLine", "alert_lines", "router"]

router = APIRouter(include_in_schema=False)

STATUS_CHOICES: tuple[tuple[str, str], ...] = (
    ("open", "Open (new or acknowledged)"),
    ("new", "New"),
    ("acknowledged", "Acknowledged"),
    ("closed", "Closed"),
    ("suppressed", "Suppressed"),
    ("", "All"),
)
"""The list's status filter; ``open`` is the default view of an analyst's queue."""

CLOSE_REASONS: tuple[str, ...] = ("resolved", "false_positive", "expected_activity",
                                  "duplicate", "other")
"""Kinds of close reason offered; the reason text follows the kind in the stored reason."""

_SUPPRESS_SCOPES: dict[str, tuple[bool, bool]] = {
    "pair": (True, True),
    "source": (True, False),
    "destination": (False, True),
    "rule": (False, False),
}
"""Suppression scope -> (match the source address, match the destination address)."""

_ATTACK_PREFIX = "https://attack.mitre.org/"


class AlertLine:
    """One row of an alert table."""

    __slots__ = (
        "assignee",
        "count",
        "dst_label",
        "id",
        "last_seen",
        "rule_id",
        "severity",
        "src_label",
        "status",
        "techniques",
        "title",
    )

    def __init__(self, s: repo.AlertSummary) -> None:
        self.id = s.id
        self.severity = s.severity
        self.title = s.title
        self.rule_id = s.rule_id
        self.src_label = s.src_ip or s.src_asset
        self.dst_label = s.dst_ip or s.dst_asset
        self.techniques = s.techniques
        self.count = s.count
        self.last_seen = s.last_seen
        self.status = s.status
        self.assignee = s.assignee


def alert_lines(summaries: list[repo.AlertSummary]) -> list[AlertLine]:
    return [AlertLine(s) for s in summaries]


@cache
def _attack() -> AttackTable:
    return load_attack_table()


def _technique(tid: str) -> Technique:
    found = _attack().get(tid)
    if found is None:
        return Technique(id=tid, name="(not in the shipped ATT&CK table)", tactics=())
    if not found.url.startswith(_ATTACK_PREFIX):
        # Only MITRE's own pages are linked: a table loaded from a user's bundle is data.
        return Technique(id=found.id, name=found.name, tactics=found.tactics)
    return found


def _status_filter(status: str) -> tuple[str, ...]:
    if status == "open":
        return repo.OPEN
    return (status,) if status else ()


# -- the list ---------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(request: Request, principal: Annotated[Principal, require(Permission.ALERTS_READ)],
                status: Annotated[str, Query(max_length=16)] = "open",
                severity: Annotated[str, Query(max_length=16)] = "",
                technique: Annotated[str, Query(max_length=16)] = "",
                zone: Annotated[str, Query(max_length=256)] = "",
                category: Annotated[str, Query(max_length=32)] = "",
                asset: Annotated[str, Query(max_length=128)] = "",
                rule: Annotated[str, Query(max_length=128)] = "",
                q: Annotated[str, Query(max_length=200)] = "",
                incident: Annotated[str, Query(max_length=19)] = "",
                params: PageParams = page_params) -> Response:
    if status not in {key for key, _ in STATUS_CHOICES}:
        status = "open"
    if severity not in SEVERITIES:
        severity = ""
    # an incident row id, or no such filter (text or a number beyond the store's integers)
    incident = incident.strip() if incident.strip().isdigit() and int(incident) <= MAX_ROW_ID \
        else ""
    flt = repo.AlertFilter(
        status=_status_filter(status), min_severity=severity, technique=technique.strip(),
        zone=zone, category=(category,) if category else (), asset=asset,
        rule_id=(rule,) if rule else (), q=q.strip(),
        incident=int(incident) if incident else None)
    store = request.app.state.store

    def read() -> tuple[list[repo.AlertSummary], int, list[str], list[str]]:
        with store.session(write=False) as db:
            found, count = repo.list_alerts(db, flt, sort="-last_seen", offset=params.offset,
                                            limit=params.limit)
            return found, count, facets.zones(db), facets.alert_categories(db)

    summaries, total, zones, categories = cached_value(
        request, ("alerts page", msgspec.json.encode(flt), params.offset, params.limit), read)
    shown: dict[str, Any] = {k: v for k, v in (
        ("severity", severity), ("technique", technique), ("zone", zone),
        ("category", category), ("asset", asset), ("rule", rule), ("q", q),
        ("incident", incident)) if v}
    shown["status"] = status
    if params.per_page != 50:
        shown["per_page"] = params.per_page
    ctx: dict[str, Any] = {
        "title": "Alerts", "alerts": alert_lines(summaries), "total": total,
        "page": params.page, "per_page": params.per_page, "params": shown,
        "status_filter": status,
    }
    if request.headers.get("hx-target") == "alert-results" and not request.headers.get(
            "hx-history-restore-request"):
        return render(request, "_alert_table.html", principal, **ctx)
    techniques = sorted(_attack().techniques.values(), key=lambda t: t.id)
    return render(request, "alerts.html", principal, statuses=STATUS_CHOICES,
                  severities=SEVERITIES[::-1], techniques=techniques, zones=zones,
                  categories=categories, **ctx)


# -- one alert --------------------------------------------------------------------------------


def _evidence(alert: Alert) -> list[dict[str, str]]:
    out = []
    for event in alert.evidence:
        kind = ""
        if isinstance(event, dict):
            dataset = event.get("event.dataset") or event.get("event", {})
            kind = dataset if isinstance(dataset, str) else ""
        out.append({"kind": kind, "text": json.dumps(event, indent=2, sort_keys=True,
                                                     default=str)})
    return out


def _assignees(request: Request) -> list[str]:
    return [u.username for u in list_users(request.app.state.store)
            if not u.disabled and allowed(Role(u.role), Permission.ALERTS_TRIAGE)]


def _suppression_text(db: Session, suppression_id: int | None) -> str:
    if suppression_id is None:
        return ""
    for s in repo.list_suppressions(db):
        if s.id == suppression_id:
            scope = " → ".join(x or "any" for x in (s.src_ip, s.dst_ip))
            until = (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(s.until))
                     if s.until else "until lifted")
            state = "" if s.active else " (ended)"
            return f"{s.rule_id} {scope}, {until}, by {s.created_by}: {s.reason}{state}"
    return ""


def _triage_ctx(request: Request, db: Session, detail: repo.AlertDetail) -> dict[str, Any]:
    return {
        "row": detail.summary, "notes": detail.notes,
        "assignees": _assignees(request), "close_reasons": CLOSE_REASONS,
        "suppression": _suppression_text(db, detail.summary.suppression_id),
    }


def _load(request: Request, alert_id: int) -> tuple[repo.AlertDetail, dict[str, Any]]:
    with request.app.state.store.session(write=False) as db:
        detail = repo.get_alert(db, alert_id)
        return detail, _triage_ctx(request, db, detail)


def _not_found(request: Request, principal: Principal, alert_id: int) -> Response:
    return render(request, "error.html", principal, status_code=404, title="Not found",
                  heading="No such alert", message=f"There is no alert {alert_id}.")


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, principal: Annotated[Principal, require(Permission.ALERTS_READ)],
               alert_id: RowId) -> Response:
    try:
        detail, triage = _load(request, alert_id)
    except NotFound:
        return _not_found(request, principal, alert_id)
    alert = detail.alert
    endpoints = [
        ("Source", alert.source, alert.src_ip, alert.src_port, alert.src_mac),
        ("Destination", alert.destination, alert.dst_ip, alert.dst_port, alert.dst_mac),
    ]
    return render(request, "alert.html", principal, title=alert.title, alert=alert,
                  endpoints=endpoints, techniques=[_technique(t) for t in alert.techniques],
                  evidence=_evidence(alert), **triage)


# -- triage actions ---------------------------------------------------------------------------


def _act(request: Request, principal: Principal, alert_id: int,
         change: Callable[[Session], Change], done: str) -> Response:
    """Apply ``change`` and its audit entry in one transaction; answer the triage panel (or
    the whole page for a plain form post) with what happened."""
    store = request.app.state.store
    flash: tuple[str, str]
    status = 200
    try:
        with store.session() as db:
            result = change(db)
            write_audit(db, principal.actor, result.action, result.target, result.detail)
        flash = ("ok", done)
    except NotFound:
        return _not_found(request, principal, alert_id)
    except (Conflict, Invalid) as exc:
        text = str(exc)
        flash = ("error", text[:1].upper() + text[1:] + ".")
        status = 409 if isinstance(exc, Conflict) else 422
    if not request.headers.get("hx-request"):
        if status == 200:  # POST/redirect/GET: a reload does not repeat the action
            return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
        return _with_flash(request, principal, alert_id, flash, status)
    _detail, triage = _load(request, alert_id)
    return render(request, "_triage.html", principal, status_code=status, flash=flash,
                  **triage)


def _with_flash(request: Request, principal: Principal, alert_id: int,
                flash: tuple[str, str], status: int) -> Response:
    detail, triage = _load(request, alert_id)
    alert = detail.alert
    endpoints = [
        ("Source", alert.source, alert.src_ip, alert.src_port, alert.src_mac),
        ("Destination", alert.destination, alert.dst_ip, alert.dst_port, alert.dst_mac),
    ]
    triage["flash"] = flash
    return render(request, "alert.html", principal, status_code=status, title=alert.title,
                  alert=alert, endpoints=endpoints,
                  techniques=[_technique(t) for t in alert.techniques],
                  evidence=_evidence(alert), **triage)


_Reason = Annotated[str, Form(max_length=repo.MAX_NOTE)]


@router.post("/alerts/{alert_id}/acknowledge")
def alert_acknowledge(request: Request,
                      principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)],
                      alert_id: RowId) -> Response:
    return _act(request, principal, alert_id,
                lambda db: repo.acknowledge(db, alert_id, principal.username),
                "Acknowledged.")


@router.post("/alerts/{alert_id}/assign")
def alert_assign(request: Request,
                 principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)],
                 alert_id: RowId, assignee: Annotated[str, Form(max_length=128)] = "") -> Response:
    who = assignee.strip()
    return _act(request, principal, alert_id,
                lambda db: repo.assign(db, alert_id, who, principal.username),
                f"Assigned to {who}." if who else "Unassigned.")


@router.post("/alerts/{alert_id}/close")
def alert_close(request: Request,
                principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)], alert_id: RowId,
                reason: _Reason = "",
                reason_kind: Annotated[str, Form(max_length=32)] = "") -> Response:
    text = reason.strip()
    if text and reason_kind in CLOSE_REASONS:
        text = f"{reason_kind.replace('_', ' ')}: {text}"
    return _act(request, principal, alert_id,
                lambda db: repo.close(db, alert_id, text, principal.username), "Closed.")


@router.post("/alerts/{alert_id}/suppress")
def alert_suppress(request: Request,
                   principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)],
                   alert_id: RowId, reason: _Reason = "",
                   scope: Annotated[str, Form(max_length=16)] = "pair",
                   hours: Annotated[int, Form(ge=0, le=24 * 366)] = 168) -> Response:
    match_src, match_dst = _SUPPRESS_SCOPES.get(scope, (True, True))
    until = time.time() + hours * 3600.0 if hours else None

    def change(db: Session) -> Change:
        result, _sid = repo.suppress(db, alert_id, principal.username, reason=reason,
                                     until=until, match_src=match_src, match_dst=match_dst)
        return result

    return _act(request, principal, alert_id, change, "Suppressed.")


@router.post("/alerts/{alert_id}/reopen")
def alert_reopen(request: Request,
                 principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)],
                 alert_id: RowId) -> Response:
    return _act(request, principal, alert_id,
                lambda db: repo.reopen(db, alert_id, principal.username), "Reopened.")


@router.post("/alerts/{alert_id}/unsuppress")
def alert_unsuppress(request: Request,
                     principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)],
                     alert_id: RowId) -> Response:
    def change(db: Session) -> Change:
        suppression = repo.get_alert(db, alert_id).summary.suppression_id
        if suppression is None:
            raise Conflict(f"alert {alert_id} is not suppressed")
        return repo.lift_suppression(db, suppression, principal.username)

    return _act(request, principal, alert_id, change, "Suppression lifted.")


@router.post("/alerts/{alert_id}/notes")
def alert_note(request: Request,
               principal: Annotated[Principal, require(Permission.ALERTS_TRIAGE)], alert_id: RowId,
               text: Annotated[str, Form(max_length=repo.MAX_NOTE)] = "") -> Response:
    return _act(request, principal, alert_id,
                lambda db: repo.add_note(db, alert_id, text, principal.username), "Note added.")
