"""The asset pages: the inventory table (search, filters, sort, pages; the table alone is
re-rendered in place by HTMX as the user types) and one asset: identity, fingerprints and facts
with their provenance, roles with their evidence, advisories, conduits and alerts.

Everything is read through the store's asset repository (:mod:`otshield.store.assets`), the
same functions the API uses.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from otshield.console.api.cached import cached_value
from otshield.console.api.pagination import PageParams, page_params
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.console.web import facets
from otshield.console.web.render import render
from otshield.console.web.views_alerts import alert_lines
from otshield.inventory.model import PURDUE_LEVELS, ConduitRecord
from otshield.store import assets as repo
from otshield.store.errors import Invalid, NotFound
from otshield.store.models import AssetRow

__all__ = ["ASSET_SORTS", "ConduitLine", "router"]

router = APIRouter(include_in_schema=False)

ASSET_SORTS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("level", "Purdue level"),
    ("zone", "Zone"),
    ("vendor", "Vendor"),
    ("-last_seen", "Recently seen"),
    ("first_seen", "First seen"),
)
"""The sort menu: keys of the repository's ``ASSET_SORTS`` (``-``: descending)."""


class ConduitLine:
    """A conduit seen from one asset: the peer and the traffic."""

    __slots__ = ("client", "first_seen", "flows", "function_classes", "last_seen", "packets",
                 "peer", "peer_name", "port", "protocol", "transport")

    def __init__(self, c: ConduitRecord, me: str, names: dict[str, str]) -> None:
        self.client = c.client
        self.peer = c.server if c.client == me else c.client
        self.peer_name = names.get(self.peer) or self.peer
        self.protocol = c.protocol
        self.transport = c.transport
        self.port = c.port
        self.function_classes = c.function_classes
        self.flows = c.flows
        self.packets = c.packets
        self.first_seen = c.first_seen
        self.last_seen = c.last_seen


class _AssetLine:
    """One row of the asset table."""

    __slots__ = ("id", "ips", "last_seen", "level", "macs", "name", "open_alerts", "product",
                 "roles", "safety", "vendor", "version", "zone")

    def __init__(self, s: repo.AssetSummary) -> None:
        self.id = s.id
        self.name = s.name
        self.ips = s.ips
        self.macs = s.macs
        self.vendor = s.vendor
        self.product = s.product
        self.version = s.version
        self.roles = s.roles
        self.level = s.purdue_level
        self.zone = s.zone
        self.safety = s.safety
        self.open_alerts = s.open_alerts
        self.last_seen = s.last_seen


@router.get("/assets")
def assets_page(request: Request, principal: Annotated[Principal, require(Permission.ASSETS_READ)],
                q: Annotated[str, Query(max_length=200)] = "",
                zone: Annotated[str, Query(max_length=256)] = "",
                level: Annotated[str, Query(max_length=2)] = "",
                vendor: Annotated[str, Query(max_length=256)] = "",
                role: Annotated[str, Query(max_length=64)] = "",
                sort: Annotated[str, Query(max_length=32)] = "name",
                params: PageParams = page_params) -> Response:
    lv = int(level) if level.isdigit() and int(level) in PURDUE_LEVELS else None
    if sort not in {key for key, _ in ASSET_SORTS}:
        sort = "name"
    flt = repo.AssetFilter(q=q.strip(), zone=zone, level=lv, vendor=vendor, role=role)
    store = request.app.state.store

    def read() -> tuple[list[repo.AssetSummary], int, dict[str, Any]]:
        with store.session(write=False) as db:
            try:
                rows, count = repo.list_assets(db, flt, sort=sort, offset=params.offset,
                                               limit=params.limit)
            except Invalid:
                rows, count = [], 0
            return rows, count, {"zones": facets.zones(db), "vendors": facets.vendors(db),
                                 "roles": facets.roles(db)}

    found, total, choices = cached_value(
        request, ("assets page", msgspec.json.encode(flt), sort, params.offset, params.limit),
        read)
    shown: dict[str, Any] = {k: v for k, v in (
        ("q", q), ("zone", zone), ("level", "" if lv is None else str(lv)),
        ("vendor", vendor), ("role", role), ("sort", "" if sort == "name" else sort)) if v}
    if params.per_page != 50:
        shown["per_page"] = params.per_page
    ctx: dict[str, Any] = {"title": "Assets", "assets": [_AssetLine(s) for s in found],
                           "total": total, "page": params.page, "per_page": params.per_page,
                           "params": shown}
    if request.headers.get("hx-target") == "asset-results" and not request.headers.get(
            "hx-history-restore-request"):
        return render(request, "_asset_table.html", principal, **ctx)
    return render(request, "assets.html", principal, levels=sorted(PURDUE_LEVELS.items()),
                  sorts=ASSET_SORTS, default_sort="name", **choices, **ctx)


@router.get("/assets/{asset_id}")
def asset_page(request: Request, principal: Annotated[Principal, require(Permission.ASSETS_READ)],
               asset_id: str) -> Response:
    store = request.app.state.store
    with store.session(write=False) as db:
        try:
            detail = repo.get_asset(db, asset_id)
        except NotFound:
            return render(request, "error.html", principal, status_code=404, title="Not found",
                          heading="No such asset",
                          message=f"There is no asset {asset_id} in the inventory.")
        peers = {c.client for c in detail.conduits} | {c.server for c in detail.conduits}
        names = {row.id: row.name for row in db.execute(
            select(AssetRow.id, AssetRow.name).where(AssetRow.id.in_(peers)))} if peers else {}
    record = detail.record
    conduits = sorted((ConduitLine(c, record.id, names) for c in detail.conduits),
                      key=lambda c: (-c.packets, c.peer, c.protocol))
    return render(request, "asset.html", principal, title=record.name or record.id,
                  a=record, safety=detail.summary.safety, conduits=conduits,
                  alerts=alert_lines(detail.alerts), alerts_total=detail.alerts_total)
