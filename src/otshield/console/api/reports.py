"""``/api/v1/reports``: the analysis report of one capture job (the same document as
``otshield analyze --format json|markdown``) and the posture summary of the whole plant.

A job's report is rebuilt from the store: the job row (capture, packets, time span, detectors,
problems), the alerts the job contributed (from the ingestion ledger, with this capture's own
counts and times) and the inventory. The inventory is the store's, accumulated over every
capture so far, which is what the console shows; the report says so in its ``options``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.overview import build_overview
from otshield.console.api.params import RowId
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.detect.alert import SEVERITIES, Alert
from otshield.detect.analyze import Analysis, AnalyzeOptions
from otshield.detect.attack import load_attack_table
from otshield.detect.report import analysis_json, analysis_markdown, report_schema
from otshield.inventory.model import InventorySnapshot
from otshield.store import Store
from otshield.store import jobs as jobs_repo
from otshield.store.inventory import read_inventory
from otshield.store.models import AlertRecordRow, AlertSourceRow

__all__ = ["job_analysis", "posture_markdown", "router"]

router = APIRouter(prefix="/reports", tags=["reports"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

Format = Literal["json", "markdown"]
_alert_dec = msgspec.json.Decoder(Alert)
_MARKDOWN = "text/markdown; charset=utf-8"


def job_analysis(store: Store, job_id: int) -> Analysis:
    """The :class:`Analysis` of a finished job, rebuilt from the store."""
    with store.session(write=False) as db:
        job = jobs_repo.get_job(db, job_id)
        if job.status != "done":
            raise ApiError(409, f"capture job {job_id} is {job.status}; its report exists once "
                                "it is done", code="not_ready")
        _path, stored = jobs_repo.job_options(db, job_id)
        rows = db.execute(select(AlertRecordRow.record, AlertSourceRow.count,
                                 AlertSourceRow.first_seen, AlertSourceRow.last_seen)
                          .join(AlertRecordRow,
                                AlertRecordRow.alert_id == AlertSourceRow.alert_id)
                          .where(AlertSourceRow.job_id == job_id)).all()
        snapshot = read_inventory(db) or InventorySnapshot()
    alerts = []
    for record, count, first, last in rows:
        alert = _alert_dec.decode(record)
        alerts.append(msgspec.structs.replace(alert, count=count, first_seen=first,
                                              last_seen=last))
    alerts.sort(key=lambda a: (-SEVERITIES.index(a.severity) if a.severity in SEVERITIES
                               else 0, a.first_seen, a.rule_id))
    counts = job.counts
    try:
        options = msgspec.convert(stored, AnalyzeOptions)
    except msgspec.ValidationError:
        options = AnalyzeOptions()
    return Analysis(
        captures=[job.filename], packets=job.packets,
        first_ts=float(counts.get("first_ts") or 0.0), last_ts=float(counts.get("last_ts") or 0.0),
        alerts=alerts, inventory=snapshot,
        problems=[str(p) for p in counts.get("problems") or []],
        detectors=[str(d) for d in counts.get("detectors") or []],
        rules=int(counts.get("rules") or 0), attack_version=load_attack_table().version,
        seconds=(job.finished_at or 0.0) - (job.started_at or 0.0), options=options)


@router.get("/jobs/{job_id}", summary="Analysis report of a capture job (JSON or Markdown)",
            responses={200: {"content": {"application/json": {"schema": {
                "type": "object", "description": "schema otshield.analysis (see "
                                                 "/reports/schema)"}},
                                         _MARKDOWN.split(";")[0]: {"schema": {
                                             "type": "string"}}}},
                       404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
def job_report(request: Request,
               job_id: RowId,
               _p: Annotated[Principal, require(Permission.REPORTS_READ)],
               format: Annotated[Format, Query(description="json or markdown")] = "json",
               ) -> Response:
    analysis = job_analysis(request.app.state.store, job_id)
    if format == "markdown":
        return PlainTextResponse(analysis_markdown(analysis), media_type=_MARKDOWN)
    return Response(analysis_json(analysis), media_type="application/json")


@router.get("/schema", summary="JSON Schema of the analysis report",
            response_model=dict[str, Any])
def job_report_schema(_p: Annotated[Principal, require(Permission.REPORTS_READ)]
                      ) -> dict[str, Any]:
    return report_schema()


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def posture_markdown(store: Store) -> str:
    """The posture summary as Markdown (for a shift report or a ticket)."""
    o = build_overview(store, buckets=12)
    a = o.alerts
    lines = ["# otshield posture summary", "",
             f"Generated {_utc(datetime.now(UTC).timestamp())}.", "",
             "## Alerts", "",
             f"- **Open:** {a.open} (new {a.by_status['new']}, acknowledged "
             f"{a.by_status['acknowledged']})",
             f"- **Closed:** {a.by_status['closed']}; **suppressed:** {a.by_status['suppressed']}",
             f"- **Policy violations open:** {o.policy_violations}", "",
             "| Severity | Open | All |", "|---|---:|---:|"]
    for severity in reversed(SEVERITIES):
        lines.append(f"| {severity} | {a.open_by_severity.get(severity, 0)} | "
                     f"{a.by_severity.get(severity, 0)} |")
    inv = o.inventory
    lines += ["", "## Inventory", "",
              f"- **Assets:** {inv.assets} ({inv.safety_assets} safety-critical)",
              f"- **Zones:** {inv.zones}; **conduits:** {inv.conduits}", "",
              "## Riskiest assets", ""]
    if not o.top_risky_assets:
        lines.append("No asset has open alerts.")
    else:
        lines += ["Risk = open alerts weighted by severity (" + ", ".join(
            f"{k} {v}" for k, v in o.risk_weights.items()) + ").", "",
            "| Asset | Name | Zone | Level | Open alerts | Risk |",
            "|---|---|---|---:|---:|---:|"]
        for asset in o.top_risky_assets:
            name = asset.name.replace("|", "\\|")
            zone = asset.zone.replace("|", "\\|")
            level = "" if asset.purdue_level is None else str(asset.purdue_level)
            lines.append(f"| `{asset.id}` | {name} | {zone} | {level} | {asset.open_alerts} | "
                         f"{asset.risk} |")
    if o.timeline:
        lines += ["", "## Alerts over time (first seen, packet time)", "",
                  "| From | Alerts |", "|---|---:|"]
        lines += [f"| {_utc(b.start)} | {b.total} |" for b in o.timeline]
    return "\n".join(lines) + "\n"


@router.get("/posture", summary="Posture summary (JSON: the overview; or Markdown)",
            responses={200: {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/OverviewOut"}},
                _MARKDOWN.split(";")[0]: {"schema": {"type": "string"}}}}})
def posture(request: Request,
            _p: Annotated[Principal, require(Permission.REPORTS_READ)],
            format: Annotated[Format, Query(description="json or markdown")] = "json",
            ) -> Response:
    store: Store = request.app.state.store
    if format == "markdown":
        return PlainTextResponse(posture_markdown(store), media_type=_MARKDOWN)
    return Response(build_overview(store).model_dump_json(), media_type="application/json")
