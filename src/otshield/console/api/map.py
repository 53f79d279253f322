"""``/api/v1/map``: the network map as a graph: assets are nodes (with Purdue level, zone,
roles), conduits are edges (client -> server on one protocol, with volumes and the function
classes used). The web page lays it out by level and zone.

Filters narrow the nodes (zone, level, protocol, role); an edge is kept when both its ends are
(``neighbours=true`` also keeps the far end of every edge leaving the selection, to see what a
zone talks to).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from otshield.console.api.errors import ErrorResponse
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.inventory.model import ConduitRecord
from otshield.store import Store
from otshield.store.models import AlertRow, AssetRow, ConduitRow

__all__ = ["MapEdge", "MapGraph", "MapNode", "build_map", "router"]

router = APIRouter(prefix="/map", tags=["map"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})


class MapNode(BaseModel):
    id: str
    name: str
    level: int | None
    zone: str
    roles: list[str]
    vendor: str
    product: str
    ips: list[str]
    safety: bool
    open_alerts: int
    """Alerts not closed or suppressed with this asset at either end."""


class MapEdge(BaseModel):
    id: str
    """``client|server|protocol``."""
    source: str
    target: str
    protocol: str
    transport: str
    port: int
    flows: int
    packets: int
    bytes: int
    function_classes: dict[str, int]
    first_seen: float
    last_seen: float
    cross_zone: bool


class MapZone(BaseModel):
    name: str
    level: int | None
    assets: int


class MapGraph(BaseModel):
    nodes: list[MapNode]
    edges: list[MapEdge]
    zones: list[MapZone]
    levels: dict[str, str]
    """Purdue level -> what it holds (the legend)."""


def _open_alerts(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    with store.session(write=False) as db:
        for column in (AlertRow.src_asset, AlertRow.dst_asset):
            rows = db.execute(select(column, func.count()).where(
                AlertRow.status.in_(("new", "acknowledged")), column != "").group_by(column))
            for asset, n in rows:
                counts[asset] = counts.get(asset, 0) + n
    return counts


@router.get("", response_model=MapGraph, summary="The network map (assets and conduits)")
def get_map(
    request: Request,
    _p: Annotated[Principal, require(Permission.MAP_READ)],
    zone: Annotated[str | None, Query(max_length=256)] = None,
    level: Annotated[int | None, Query(ge=0, le=5, description="Purdue level.")] = None,
    protocol: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=64)] = None,
    neighbours: bool = False,
) -> MapGraph:
    return build_map(request.app.state.store, zone=zone, level=level, protocol=protocol,
                     role=role, neighbours=neighbours)


def build_map(store: Store, *, zone: str | None = None, level: int | None = None,
              protocol: str | None = None, role: str | None = None,
              neighbours: bool = False) -> MapGraph:
    """The map graph (what ``GET /map`` answers), for the web page too."""
    from otshield.inventory.model import PURDUE_LEVELS

    alerts = _open_alerts(store)
    with store.session(write=False) as db:
        assets = db.scalars(select(AssetRow).order_by(AssetRow.id)).all()
        conduits = [msgspec.json.decode(r, type=ConduitRecord)
                    for r in db.scalars(select(ConduitRow.record))]
    by_id = {a.id: a for a in assets}
    selected = {a.id for a in assets
                if (zone is None or a.zone == zone)
                and (level is None or a.purdue_level == level)
                and (role is None or role in a.roles.split())}
    edges = [c for c in conduits if protocol is None or c.protocol == protocol]
    if protocol is not None:
        on_protocol = {c.client for c in edges} | {c.server for c in edges}
        selected &= on_protocol
    keep = set(selected)
    if neighbours:
        for c in edges:
            if c.client in selected or c.server in selected:
                keep.update((c.client, c.server))
    kept_edges = [c for c in edges if c.client in keep and c.server in keep
                  and (c.client in selected or c.server in selected)]
    nodes = [
        MapNode(id=a.id, name=a.name or a.id, level=a.purdue_level, zone=a.zone,
                roles=a.roles.split(), vendor=a.vendor, product=a.product,
                ips=a.ips.split(), safety=a.safety, open_alerts=alerts.get(a.id, 0))
        for a in assets if a.id in keep]
    zone_of = {a.id: a.zone for a in assets}
    out_edges = [
        MapEdge(id=f"{c.client}|{c.server}|{c.protocol}", source=c.client, target=c.server,
                protocol=c.protocol, transport=c.transport, port=c.port, flows=c.flows,
                packets=c.packets, bytes=c.bytes, function_classes=dict(c.function_classes),
                first_seen=c.first_seen, last_seen=c.last_seen,
                cross_zone=zone_of.get(c.client, "") != zone_of.get(c.server, ""))
        for c in kept_edges if c.client in by_id and c.server in by_id]
    zones: dict[str, MapZone] = {}
    for node in nodes:
        entry = zones.setdefault(node.zone, MapZone(name=node.zone, level=node.level, assets=0))
        entry.assets += 1
        if node.level is not None:
            # a zone sits at the lowest level of what it holds (a cell with PLCs is level 1)
            entry.level = node.level if entry.level is None else min(entry.level, node.level)
    return MapGraph(nodes=nodes, edges=out_edges,
                    zones=sorted(zones.values(), key=lambda z: (z.level is None, z.level or 0,
                                                                z.name)),
                    levels={str(k): v for k, v in PURDUE_LEVELS.items()})
