"""``/api/v1/overview``: the plant's security posture at a glance: alerts by severity and
status, policy violations, inventory totals, alerts over time and the riskiest assets.

Risk score of an asset (documented here and in the API): the sum, over its open alerts
(``new`` or ``acknowledged``, the asset at either end), of the weight of each alert's severity
(:data:`otshield.store.assets.RISK_WEIGHTS`: info 0, low 1, medium 3, high 7, critical 15), so
one critical alert outranks four medium ones. Ties go to the asset with more open alerts.

Alerts over time are counted by first occurrence (packet time), in ``buckets`` equal buckets
over the span of the alerts (or from ``since``), each with the count per severity.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Integer, cast, func, select

from otshield.console.api.cached import cacheable, cached_json
from otshield.console.api.errors import ErrorResponse
from otshield.console.api.schemas import AssetSummaryOut, from_struct
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.detect.alert import SEVERITIES
from otshield.store import Store
from otshield.store.assets import RISK_WEIGHTS, top_risky_assets
from otshield.store.models import ALERT_STATUSES, AlertRow, AssetRow, ConduitRow, ZoneRow

__all__ = ["OverviewOut", "TimeBucket", "build_overview", "router"]

router = APIRouter(prefix="/overview", tags=["overview"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

OPEN = ("new", "acknowledged")


class TimeBucket(BaseModel):
    start: float
    """Epoch seconds (packet time) where the bucket begins; it lasts ``bucket_seconds``."""
    counts: dict[str, int]
    """Severity -> alerts first seen in the bucket."""
    total: int


class AlertCounts(BaseModel):
    total: int
    open: int
    """``new`` + ``acknowledged``."""
    by_status: dict[str, int]
    by_severity: dict[str, int]
    """All statuses."""
    open_by_severity: dict[str, int]
    by_severity_status: dict[str, dict[str, int]]


class InventoryCounts(BaseModel):
    assets: int
    zones: int
    conduits: int
    safety_assets: int


class OverviewOut(BaseModel):
    alerts: AlertCounts
    policy_violations: int
    """Open alerts of the zone policy."""
    inventory: InventoryCounts
    timeline: list[TimeBucket]
    bucket_seconds: float
    top_risky_assets: list[AssetSummaryOut]
    risk_weights: dict[str, int] = Field(default_factory=lambda: dict(RISK_WEIGHTS))
    """Weight of one open alert per severity in an asset's ``risk``."""


_NICE_WIDTHS = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                86400, 7 * 86400, 30 * 86400)
"""Bucket widths people read easily (seconds): the timeline uses the smallest that fits."""


def _width(span: float, buckets: int) -> float:
    need = span / max(buckets, 1)
    for width in _NICE_WIDTHS:
        if width >= need:
            return float(width)
    return float(math.ceil(need / 86400) * 86400)


def _timeline(store: Store, buckets: int, since: float | None
              ) -> tuple[list[TimeBucket], float]:
    with store.session(write=False) as db:
        query = select(func.min(AlertRow.first_seen), func.max(AlertRow.first_seen))
        if since is not None:
            query = query.where(AlertRow.first_seen >= since)
        low, high = db.execute(query).one()
        if low is None or high is None:
            return [], 0.0
        width = _width(float(high) - float(low), buckets)
        start = math.floor(float(low) / width) * width
        # first_seen >= start, so the truncating cast is a floor on both SQLite and PostgreSQL
        offset = AlertRow.first_seen - start
        index = (func.floor(offset / width) if store.dialect == "postgresql"
                 else cast(offset / width, Integer))
        grouped = select(index, AlertRow.severity, func.count()).where(
            AlertRow.first_seen >= start).group_by(index, AlertRow.severity)
        rows = db.execute(grouped).all()
    count = int((float(high) - start) // width) + 1
    out = [TimeBucket(start=start + i * width, counts=dict.fromkeys(SEVERITIES, 0), total=0)
           for i in range(count)]
    for i, severity, n in rows:
        k = int(i)
        if 0 <= k < count and severity in out[k].counts:
            out[k].counts[severity] += int(n)
            out[k].total += int(n)
    return out, width


def build_overview(store: Store, *, buckets: int = 24, since: float | None = None,
                   top: int = 10) -> OverviewOut:
    """The posture (what ``GET /overview`` answers), for the web page too."""
    matrix = {s: dict.fromkeys(ALERT_STATUSES, 0) for s in SEVERITIES}
    with store.session(write=False) as db:
        for severity, status, n in db.execute(
                select(AlertRow.severity, AlertRow.status, func.count())
                .group_by(AlertRow.severity, AlertRow.status)):
            matrix.setdefault(severity, dict.fromkeys(ALERT_STATUSES, 0))[status] = int(n)
        violations = db.scalar(select(func.count()).select_from(AlertRow).where(
            AlertRow.category == "policy", AlertRow.status.in_(OPEN))) or 0
        inventory = InventoryCounts(
            assets=db.scalar(select(func.count()).select_from(AssetRow)) or 0,
            zones=db.scalar(select(func.count()).select_from(ZoneRow)) or 0,
            conduits=db.scalar(select(func.count()).select_from(ConduitRow)) or 0,
            safety_assets=db.scalar(select(func.count()).select_from(AssetRow)
                                    .where(AssetRow.safety.is_(True))) or 0)
        risky = top_risky_assets(db, top)
    by_status = {st: sum(row.get(st, 0) for row in matrix.values()) for st in ALERT_STATUSES}
    counts = AlertCounts(
        total=sum(by_status.values()), open=sum(by_status[s] for s in OPEN),
        by_status=by_status, by_severity={s: sum(matrix[s].values()) for s in matrix},
        open_by_severity={s: sum(matrix[s][st] for st in OPEN) for s in matrix},
        by_severity_status=matrix)
    timeline, width = _timeline(store, buckets, since)
    return OverviewOut(alerts=counts, policy_violations=int(violations), inventory=inventory,
                       timeline=timeline, bucket_seconds=width,
                       top_risky_assets=[from_struct(AssetSummaryOut, a) for a in risky])


@router.get("", response_model=OverviewOut, summary="Security posture of the plant")
@cacheable
def get_overview(
    request: Request,
    _p: Annotated[Principal, require(Permission.ALERTS_READ)],
    buckets: Annotated[int, Query(ge=1, le=500, description="Buckets of the timeline.")] = 24,
    since: Annotated[float | None, Query(ge=0, le=1e11, description="Timeline from this "
                                                                      "packet time (epoch).")
                     ] = None,
    top: Annotated[int, Query(ge=1, le=100, description="Riskiest assets to list.")] = 10,
) -> Response:
    def answer() -> Response:
        out = build_overview(request.app.state.store, buckets=buckets, since=since, top=top)
        return Response(out.model_dump_json(), media_type="application/json")

    return cached_json(request, answer)
