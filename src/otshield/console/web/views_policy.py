"""The policy page: the zones and conduits of the site file in force (with its lint findings),
the traffic actually seen between zones, and the violations (open alerts of the zone policy
detector).

The document comes from the same function as ``GET /api/v1/policy``, the observed traffic from
the map's graph, the violations from the store's alert repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import msgspec
from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from otshield.console.api.map import MapGraph, get_map
from otshield.console.api.policy import get_policy
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.console.web.render import render
from otshield.console.web.views_alerts import alert_lines
from otshield.inventory.model import ZoneRecord
from otshield.store import alerts as repo
from otshield.store.models import ZoneRow

__all__ = ["ZoneLine", "ZoneTraffic", "router", "zone_traffic"]

router = APIRouter(include_in_schema=False)

_VIOLATIONS_SHOWN = 50


@dataclass
class ZoneTraffic:
    """What one zone sends to another, summed over the conduits between their assets."""

    source: str
    target: str
    protocols: set[str] = field(default_factory=set)
    count: int = 0
    packets: int = 0


def zone_traffic(graph: MapGraph) -> list[ZoneTraffic]:
    """The cross-zone conduits of ``graph`` grouped by (client zone, server zone)."""
    zone_of = {n.id: n.zone or "no zone" for n in graph.nodes}
    pairs: dict[tuple[str, str], ZoneTraffic] = {}
    for e in graph.edges:
        src, dst = zone_of.get(e.source, "no zone"), zone_of.get(e.target, "no zone")
        if src == dst:
            continue
        entry = pairs.setdefault((src, dst), ZoneTraffic(src, dst))
        entry.protocols.add(e.protocol)
        entry.count += 1
        entry.packets += e.packets
    return sorted(pairs.values(), key=lambda t: (-t.packets, t.source, t.target))


@dataclass
class ZoneLine:
    """A zone row: from the site file in force, or from the inventory when there is none."""

    name: str
    level: int | None
    security_level_target: int | None
    subnets: list[str]
    vlans: list[int]
    description: str
    assets: int
    source: str


def _inventory_zones(db: Session) -> list[ZoneLine]:
    out = []
    for record in db.scalars(select(ZoneRow.record).order_by(ZoneRow.name)):
        try:
            z = msgspec.json.decode(record, type=ZoneRecord)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # a damaged row must not take the page down; the API reports it
        out.append(ZoneLine(z.name, z.purdue_level, z.security_level_target, list(z.subnets),
                            list(z.vlans), "", len(z.assets), z.source))
    return out


@router.get("/policy")
def policy_page(request: Request,
                principal: Annotated[Principal, require(Permission.POLICY_READ)]) -> Response:
    doc = get_policy(request, principal)
    observed = [{"source": t.source, "target": t.target, "protocols": sorted(t.protocols),
                 "count": t.count, "packets": t.packets}
                for t in zone_traffic(get_map(request, principal, zone=None, level=None,
                                              protocol=None, role=None, neighbours=False))]
    flt = repo.AlertFilter(category=("policy",), status=repo.OPEN)
    with request.app.state.store.session(write=False) as db:
        violations, total = repo.list_alerts(db, flt, sort="-last_seen",
                                             limit=_VIOLATIONS_SHOWN)
        zones = ([ZoneLine(z.name, z.level, z.security_level_target, z.subnets, z.vlans,
                           z.description, z.assets, "site file") for z in doc.zones]
                 if doc.usable else _inventory_zones(db))
    return render(request, "policy.html", principal, title="Zones and conduits", doc=doc,
                  zones=zones, observed=observed, violations=alert_lines(violations),
                  violations_total=total)
