"""The overview page: the posture tiles (open alerts by severity, assets, zones, conduits,
policy violations), alerts over time (server-drawn SVG, :mod:`otshield.console.web.chart`), the
riskiest assets and the latest open alerts.

The figures, the timeline and the risk ranking are those of ``GET /api/v1/overview``
(:func:`otshield.console.api.overview.build_overview`); the latest alerts come from the store's
alert repository, as the API's alert list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from otshield.console.api.cached import cached_value
from otshield.console.api.overview import build_overview
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.console.web.chart import SEVERITY_COLOURS, Bucket, alerts_chart
from otshield.console.web.render import render
from otshield.console.web.views_alerts import alert_lines
from otshield.detect.alert import SEVERITIES
from otshield.store import alerts as alert_repo
from otshield.store.models import ALERT_STATUSES

__all__ = ["caption", "router"]

router = APIRouter(include_in_schema=False)

_BUCKETS = 36
_RISKY = 8
_RECENT = 10


def caption(width: float) -> str:
    """What one bar of the chart counts, for the chart's caption."""
    seconds = int(width)
    if seconds < 60:
        unit = f"{seconds} s"
    elif seconds < 3600:
        unit = f"{seconds // 60} min"
    elif seconds < 86400:
        unit = f"{seconds // 3600} h"
    else:
        unit = f"{seconds // 86400} day" + ("s" if seconds >= 2 * 86400 else "")
    return f"new alerts per {unit}, by first occurrence (packet time, UTC)"


@router.get("/")
def overview_page(request: Request,
                  principal: Annotated[Principal, require(Permission.ALERTS_READ)]) -> Response:
    store = request.app.state.store

    def latest() -> list[alert_repo.AlertSummary]:
        with store.session(write=False) as db:
            return alert_repo.list_alerts(db, alert_repo.AlertFilter(status=alert_repo.OPEN),
                                          sort="-last_seen", limit=_RECENT)[0]

    overview = cached_value(request, ("overview", _BUCKETS, _RISKY),
                            lambda: build_overview(store, buckets=_BUCKETS, top=_RISKY))
    recent = cached_value(request, ("recent alerts", _RECENT), latest)
    buckets = [Bucket(start=b.start, counts=b.counts) for b in overview.timeline]
    weights = ", ".join(f"{s} {w}" for s, w in overview.risk_weights.items() if w)
    return render(request, "overview.html", principal, title="Overview", overview=overview,
                  new_alerts=overview.alerts.by_status.get("new", 0),
                  chart=alerts_chart(buckets, overview.bucket_seconds),
                  chart_total=sum(b.total for b in overview.timeline),
                  chart_caption=caption(overview.bucket_seconds),
                  chart_colours=[(s, SEVERITY_COLOURS[s]) for s in SEVERITIES[::-1]],
                  statuses=ALERT_STATUSES, risky=overview.top_risky_assets,
                  recent=alert_lines(recent),
                  risk_note=f"Risk: open alerts weighted by severity ({weights}).",
                  open_alerts=overview.alerts.open)
