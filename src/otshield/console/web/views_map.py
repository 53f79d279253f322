"""The network map page: the graph of ``/api/v1/map`` (the same function computes it), laid out
by the inventory's map layout (:func:`otshield.inventory.netmap.build_map`: one band per Purdue
level, zones as boxes inside their band, assets on a grid inside their zone), drawn in the
browser by the vendored Cytoscape.js (``static/map.js``) with pan, zoom and click-through to the
asset and the conduit.

The graph travels inside the page as JSON in a ``<script type="application/json">`` element
(Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and quotes, so an asset named ``</script>``
cannot end it), and the script puts every value into the page as text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from otshield.console.api.map import MapGraph, get_map
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.console.web.render import render
from otshield.inventory.model import (
    PURDUE_LEVELS,
    AssetRecord,
    ConduitRecord,
    InventorySnapshot,
    RoleRecord,
)
from otshield.inventory.netmap import CLASS_COLOURS, ROLE_COLOURS, build_map

__all__ = ["layout", "router"]

router = APIRouter(include_in_schema=False)


def layout(graph: MapGraph) -> dict[str, Any]:
    """The graph with positions: nodes (x, y, open alerts), aggregated edges, zone boxes."""
    snapshot = InventorySnapshot(
        assets=[AssetRecord(id=n.id, ips=n.ips, macs=[], name=n.name, vendor=n.vendor,
                            product=n.product, purdue_level=n.level, zone=n.zone,
                            roles=[RoleRecord(role=r, evidence=[], source="inferred")
                                   for r in n.roles])
                for n in graph.nodes],
        conduits=[ConduitRecord(client=e.source, server=e.target, protocol=e.protocol,
                                transport=e.transport, port=e.port, flows=e.flows,
                                packets=e.packets, bytes=e.bytes,
                                function_classes=e.function_classes)
                  for e in graph.edges])
    drawn = build_map(snapshot)
    alerts = {n.id: n.open_alerts for n in graph.nodes}
    safety = {n.id: n.safety for n in graph.nodes}
    return {
        "nodes": [{"id": n.id, "label": n.label, "level": n.level, "zone": n.zone,
                   "role": n.role, "roles": n.roles, "ips": n.ips, "vendor": n.vendor,
                   "product": n.product, "x": round(n.x, 1), "y": round(n.y, 1),
                   "alerts": alerts.get(n.id, 0), "safety": safety.get(n.id, False)}
                  for n in drawn.nodes],
        "edges": [{"source": e.source, "target": e.target, "protocols": e.protocols,
                   "function_classes": e.function_classes, "packets": e.packets,
                   "bytes": e.bytes, "flows": e.flows, "main_class": e.main_class}
                  for e in drawn.edges],
        "zones": [{"name": z.name, "level": z.level, "x": z.x, "y": z.y, "w": z.w, "h": z.h,
                   "band_top": z.band_top} for z in drawn.zones],
    }


@router.get("/map")
def map_page(request: Request, principal: Annotated[Principal, require(Permission.MAP_READ)],
             zone: Annotated[str, Query(max_length=256)] = "",
             level: Annotated[str, Query(max_length=2)] = "",
             focus: Annotated[str, Query(max_length=128)] = "") -> Response:
    lv = int(level) if level.isdigit() and int(level) in PURDUE_LEVELS else None
    every = get_map(request, principal, zone=None, level=None, protocol=None, role=None,
                    neighbours=False)
    graph = every if not zone and lv is None else get_map(
        request, principal, zone=zone or None, level=lv, protocol=None, role=None,
        neighbours=True)
    drawn = layout(graph)
    zones = sorted({n.zone for n in every.nodes if n.zone})
    focus_label = next((n.name for n in graph.nodes if n.id == focus), "")
    shown = {k: v for k, v in (("zone", zone), ("level", "" if lv is None else str(lv))) if v}
    return render(request, "map.html", principal, title="Network map", map_json=drawn,
                  nodes_count=len(drawn["nodes"]), edges_count=len(drawn["edges"]),
                  zones_count=len(drawn["zones"]), zones=zones,
                  levels=sorted(PURDUE_LEVELS.items()), params=shown, focus=focus,
                  focus_label=focus_label,
                  role_colours=[(r, c) for r, c in ROLE_COLOURS.items() if r],
                  class_colours=list(CLASS_COLOURS.items()))
