"""The network map: assets as nodes, conduits as edges, laid out by Purdue level and zone, and
its exports (JSON, CSV, GraphML, and a picture as SVG or PNG).

The picture is drawn on a grid so that it stays readable at a few hundred assets: one horizontal
band per Purdue level (5 at the top, 0 at the bottom, unknown last), zones as boxes inside their
band, assets in fixed-size cells inside their zone. A label never leaves its cell (long names are
shortened with an ellipsis; the SVG keeps the full text as a tooltip), so labels cannot collide.
Edges run between cells, coloured by the most consequential function class seen on the conduit
(program > control > config > write > read), with an arrow at the server. A legend explains
colours. The same drawing list feeds both backends: SVG as text, PNG through Pillow.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import msgspec

from otshield.inventory.model import PURDUE_LEVELS, AssetRecord, ConduitRecord, InventorySnapshot

__all__ = ["FORMATS", "MapEdge", "MapNode", "MapZone", "NetworkMap", "build_map", "write_map"]

ROLE_COLOURS: dict[str, str] = {
    "field_device": "#8c564b",
    "controller": "#d62728",
    "hmi": "#ff7f0e",
    "engineering_workstation": "#e377c2",
    "historian": "#9467bd",
    "ot_server": "#bcbd22",
    "network_device": "#7f7f7f",
    "it_server": "#1f77b4",
    "it_host": "#17becf",
    "external": "#393b79",
    "": "#c7c7c7",
}
"""Node colour by primary role (the first of this order the asset has)."""
CLASS_COLOURS: dict[str, str] = {
    "program": "#d62728",
    "control": "#ff7f0e",
    "config": "#e377c2",
    "write": "#bcbd22",
    "read": "#1f77b4",
    "": "#999999",
}
"""Edge colour by the most consequential function class on the conduit."""

_CELL_W, _CELL_H = 150, 58
_LABEL_CHARS = 22  # ~6 px per character at 11 px: fits the cell width
_ZONE_PAD, _ZONE_HEAD = 10, 22
_BAND_GAP, _MARGIN_LEFT, _TOP = 26, 150, 60
_MAX_COLS = 8
_MAX_WIDTH = 1800


class MapNode(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    level: int | None
    zone: str
    role: str
    roles: list[str]
    ips: list[str]
    vendor: str = ""
    product: str = ""
    x: float = 0.0
    y: float = 0.0


class MapEdge(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    """The client (who opens the conversation)."""
    target: str
    """The server."""
    protocols: list[str]
    function_classes: dict[str, int]
    packets: int
    bytes: int
    flows: int
    main_class: str = ""


class MapZone(msgspec.Struct, frozen=True, kw_only=True):
    """A zone's box on the picture, inside the band of its Purdue level."""

    name: str
    level: int | None
    x: float
    y: float
    w: float
    h: float
    band_top: float


class NetworkMap(msgspec.Struct, kw_only=True):
    nodes: list[MapNode]
    edges: list[MapEdge]
    zones: list[MapZone] = msgspec.field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def _primary_role(a: AssetRecord) -> str:
    have = {r.role for r in a.roles}
    return next((r for r in ROLE_COLOURS if r in have), "")


def _main_class(classes: dict[str, int]) -> str:
    return next((c for c in CLASS_COLOURS if c and classes.get(c)), "")


def _edges(conduits: list[ConduitRecord], ids: set[str]) -> list[MapEdge]:
    pairs: dict[tuple[str, str], list[ConduitRecord]] = {}
    for c in conduits:
        if c.client in ids and c.server in ids:
            pairs.setdefault((c.client, c.server), []).append(c)
    out = []
    for (src, dst), cs in sorted(pairs.items()):
        classes: dict[str, int] = {}
        for c in cs:
            for k, v in c.function_classes.items():
                classes[k] = classes.get(k, 0) + v
        out.append(MapEdge(source=src, target=dst, protocols=sorted({c.protocol for c in cs}),
                           function_classes=classes, packets=sum(c.packets for c in cs),
                           bytes=sum(c.bytes for c in cs), flows=sum(c.flows for c in cs),
                           main_class=_main_class(classes)))
    return out


@dataclass
class _Box:
    zone: str
    level: int | None
    members: list[AssetRecord]
    cols: int = 1
    rows: int = 1
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    cells: list[tuple[float, float]] = field(default_factory=list)


def build_map(snap: InventorySnapshot) -> NetworkMap:
    """Nodes placed on the grid described in the module docstring, edges aggregated per pair."""
    levels: dict[int | None, dict[str, list[AssetRecord]]] = {}
    for a in snap.assets:
        levels.setdefault(a.purdue_level, {}).setdefault(a.zone or "no zone", []).append(a)
    known = sorted((lv for lv in levels if lv is not None), reverse=True)
    order: list[int | None] = [*known, None] if None in levels else [*known]
    y = float(_TOP)
    nodes: list[MapNode] = []
    zones: list[MapZone] = []
    width = 0.0
    for level in order:
        x = float(_MARGIN_LEFT)
        row_h = 0.0
        band_top = y
        for zone, members in sorted(levels[level].items()):
            box = _place_box(zone, level, members)
            if x + box.w > _MAX_WIDTH and x > _MARGIN_LEFT:
                x, y = float(_MARGIN_LEFT), y + row_h + _ZONE_PAD
                row_h = 0.0
            box.x, box.y = x, y
            for a, (cx, cy) in zip(box.members, box.cells, strict=True):
                nodes.append(MapNode(id=a.id, label=a.name, level=level, zone=a.zone,
                                     role=_primary_role(a), roles=[r.role for r in a.roles],
                                     ips=a.ips, vendor=a.vendor, product=a.product,
                                     x=x + cx, y=y + cy))
            zones.append(MapZone(name=zone, level=level, x=x, y=y, w=box.w, h=box.h,
                                 band_top=band_top))
            x += box.w + _ZONE_PAD
            width = max(width, x)
            row_h = max(row_h, box.h)
        y += row_h + _BAND_GAP
    ids = {n.id for n in nodes}
    return NetworkMap(nodes=nodes, edges=_edges(snap.conduits, ids), zones=zones,
                      width=max(width + 20, 900.0), height=y + 150)


def _place_box(zone: str, level: int | None, members: list[AssetRecord]) -> _Box:
    n = len(members)
    cols = max(1, min(_MAX_COLS, math.ceil(math.sqrt(n * 2))))
    rows = math.ceil(n / cols)
    box = _Box(zone, level, sorted(members, key=lambda a: (_primary_role(a), a.name)), cols, rows)
    box.w = cols * _CELL_W + 2 * _ZONE_PAD
    box.h = _ZONE_HEAD + rows * _CELL_H + _ZONE_PAD
    box.cells = [(_ZONE_PAD + (i % cols) * _CELL_W + _CELL_W / 2,
                  _ZONE_HEAD + (i // cols) * _CELL_H + 16) for i in range(n)]
    return box


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


# -- drawing list --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str


@dataclass(frozen=True)
class _Line:
    """A straight line, or with ``bend`` a quadratic curve bowed sideways by that fraction of
    its length (so an edge does not run straight through the nodes in between)."""

    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float
    arrow: bool
    title: str = ""
    bend: float = 0.0

    def control(self) -> tuple[float, float]:
        mx, my = (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2
        dx, dy = self.x2 - self.x1, self.y2 - self.y1
        return mx - dy * self.bend, my + dx * self.bend

    def points(self, n: int = 24) -> list[tuple[float, float]]:
        if not self.bend:
            return [(self.x1, self.y1), (self.x2, self.y2)]
        cx, cy = self.control()
        pts = []
        for i in range(n + 1):
            t = i / n
            a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
            pts.append((a * self.x1 + b * cx + c * self.x2, a * self.y1 + b * cy + c * self.y2))
        return pts


@dataclass(frozen=True)
class _Circle:
    x: float
    y: float
    r: float
    fill: str
    title: str = ""


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    size: int
    colour: str = "#222222"
    anchor: str = "middle"
    bold: bool = False
    title: str = ""


_Shape = _Rect | _Line | _Circle | _Text


def _drawing(m: NetworkMap, title: str) -> list[_Shape]:
    shapes: list[_Shape] = [_Text(20, 30, title, 18, anchor="start", bold=True)]
    bands: dict[int | None, tuple[float, float]] = {}
    for z in m.zones:
        top, bottom = z.band_top, z.y + z.h
        lo, hi = bands.get(z.level, (top, bottom))
        bands[z.level] = (min(lo, top), max(hi, bottom))
    for level, (top, bottom) in bands.items():
        shapes.append(_Rect(10, top - 8, m.width - 20, bottom - top + 16, "#f4f6f8", "#dde2e6"))
        name = "level ?" if level is None else f"level {level}"
        shapes.append(_Text(20, top + 14, name, 14, anchor="start", bold=True))
        if level is not None:
            for i, part in enumerate(_wrap(PURDUE_LEVELS[level], 20)[:3]):
                shapes.append(_Text(20, top + 32 + 13 * i, part, 10, "#555555", "start"))
    for z in m.zones:
        shapes.append(_Rect(z.x, z.y, z.w, z.h, "#ffffff", "#9aa5ad"))
        shapes.append(_Text(z.x + 8, z.y + 15, _short(z.name, int(z.w / 6.5)), 11, "#333333",
                            "start", bold=True, title=z.name))
    pos = {n.id: n for n in m.nodes}
    for e in m.edges:
        a, b = pos[e.source], pos[e.target]
        width = 0.7 + min(2.3, math.log10(max(e.packets, 1)) / 2)
        tip = (f"{e.source} -> {e.target}: {', '.join(e.protocols)}; {e.packets:,} packets; "
               + ", ".join(f"{k} {v}" for k, v in e.function_classes.items()))
        shapes.append(_Line(a.x, a.y, b.x, b.y, CLASS_COLOURS[e.main_class], width, True, tip,
                            bend=0.18))
    for n in m.nodes:
        tip = f"{n.label} ({', '.join(n.ips)}) {n.vendor} {n.product}; roles: {', '.join(n.roles)}"
        shapes.append(_Circle(n.x, n.y, 8, ROLE_COLOURS.get(n.role, "#c7c7c7"), tip))
        shapes.append(_Text(n.x, n.y + 21, _short(n.label), 11, title=n.label))
        second = n.ips[0] if n.ips and n.ips[0] != n.label else (n.product or n.vendor)
        if second:
            shapes.append(_Text(n.x, n.y + 34, _short(second), 10, "#666666"))
    shapes.extend(_legend(20, m.height - 130, m.width))
    return shapes


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return lines + ([cur] if cur else [])


def _legend(x: float, y: float, width: float) -> Iterable[_Shape]:
    yield _Rect(x - 10, y - 10, width - 20, 120, "#ffffff", "#9aa5ad")
    yield _Text(x, y + 8, "Legend", 13, anchor="start", bold=True)
    step = 175
    for i, (role, colour) in enumerate(ROLE_COLOURS.items()):
        cx, cy = x + 8 + (i % 6) * step, y + 30 + (i // 6) * 22
        yield _Circle(cx, cy, 7, colour)
        yield _Text(cx + 14, cy + 4, role.replace("_", " ") or "role unknown", 11, anchor="start")
    for i, (cls, colour) in enumerate(CLASS_COLOURS.items()):
        lx = x + i * step
        yield _Line(lx, y + 90, lx + 40, y + 90, colour, 3, True)
        yield _Text(lx + 48, y + 94, cls or "other traffic", 11, anchor="start")
    yield _Text(x + 6 * step - 60, y + 30, "arrow: client -> server", 11, anchor="start")


# -- backends ------------------------------------------------------------------------------------
def _svg(m: NetworkMap, shapes: list[_Shape]) -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{m.width:.0f}" '
           f'height="{m.height:.0f}" viewBox="0 0 {m.width:.0f} {m.height:.0f}" '
           'font-family="DejaVu Sans, Arial, sans-serif">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="context-stroke"/></marker></defs>',
           f'<rect width="{m.width:.0f}" height="{m.height:.0f}" fill="#ffffff"/>']
    for s in shapes:
        title = "" if isinstance(s, _Rect) else s.title
        tip = f"<title>{escape(title)}</title>" if title else ""
        if isinstance(s, _Rect):
            out.append(f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" height="{s.h:.1f}" '
                       f'rx="6" fill="{s.fill}" stroke="{s.stroke}"/>')
        elif isinstance(s, _Line):
            marker = ' marker-end="url(#arrow)"' if s.arrow else ""
            cx, cy = s.control()
            out.append(f'<path d="M {s.x1:.1f} {s.y1:.1f} Q {cx:.1f} {cy:.1f} {s.x2:.1f} '
                       f'{s.y2:.1f}" fill="none" stroke="{s.colour}" '
                       f'stroke-width="{s.width:.1f}" stroke-opacity="0.65"{marker}>{tip}</path>')
        elif isinstance(s, _Circle):
            out.append(f'<circle cx="{s.x:.1f}" cy="{s.y:.1f}" r="{s.r:.1f}" fill="{s.fill}" '
                       f'stroke="#333333">{tip}</circle>')
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            # a white halo keeps labels legible where an edge passes behind them
            out.append(f'<text x="{s.x:.1f}" y="{s.y:.1f}" font-size="{s.size}" '
                       f'fill="{s.colour}" text-anchor="{s.anchor}"{weight} stroke="#ffffff" '
                       f'stroke-width="3" paint-order="stroke">{tip}{escape(s.text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _png(m: NetworkMap, shapes: list[_Shape], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (int(m.width), int(m.height)), "#ffffff")
    edges = Image.new("RGBA", img.size, (255, 255, 255, 0))  # drawn translucent, then merged
    draw = ImageDraw.Draw(img)
    edge_draw = ImageDraw.Draw(edges)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for s in shapes:
        if isinstance(s, _Line):
            target = edge_draw if s.bend else draw
            colour = s.colour + ("a6" if s.bend else "")
            pts = s.points()
            target.line(pts, fill=colour, width=max(1, round(s.width)), joint="curve")
            if s.arrow:
                _arrow_head(target, pts[-2], pts[-1], colour)
            continue
        if edges.getbbox() is not None and not isinstance(s, _Rect):
            img.alpha_composite(edges)  # edges go over the boxes, under nodes and labels
            edges = Image.new("RGBA", img.size, (255, 255, 255, 0))
            edge_draw = ImageDraw.Draw(edges)
        if isinstance(s, _Rect):
            draw.rounded_rectangle((s.x, s.y, s.x + s.w, s.y + s.h), 6, fill=s.fill,
                                   outline=s.stroke)
        elif isinstance(s, _Circle):
            draw.ellipse((s.x - s.r, s.y - s.r, s.x + s.r, s.y + s.r), fill=s.fill,
                         outline="#333333")
        else:
            font = fonts.get(s.size + (100 if s.bold else 0))
            if font is None:
                font = fonts[s.size + (100 if s.bold else 0)] = ImageFont.load_default(
                    size=s.size + (1 if s.bold else 0))
            anchor = {"middle": "ms", "start": "ls", "end": "rs"}[s.anchor]
            draw.text((s.x, s.y), s.text, fill=s.colour, font=font, anchor=anchor,
                      stroke_width=2, stroke_fill="#ffffff")
    img = img.convert("RGB")
    img.save(path, "PNG", optimize=True)


def _arrow_head(draw: object, before: tuple[float, float], end: tuple[float, float],
                colour: str) -> None:
    from PIL import ImageDraw

    assert isinstance(draw, ImageDraw.ImageDraw)
    dx, dy = end[0] - before[0], end[1] - before[1]
    length = math.hypot(dx, dy)
    if length < 0.01:
        return
    ux, uy = dx / length, dy / length
    tip_x, tip_y = end[0] - ux * 10, end[1] - uy * 10  # stop at the node's edge
    size = 7
    left = (tip_x - ux * size - uy * size / 2, tip_y - uy * size + ux * size / 2)
    right = (tip_x - ux * size + uy * size / 2, tip_y - uy * size - ux * size / 2)
    draw.polygon([(tip_x, tip_y), left, right], fill=colour)


def _graphml(m: NetworkMap, path: Path) -> None:
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    for n in m.nodes:
        g.add_node(n.id, label=n.label, purdue_level=-1 if n.level is None else n.level,
                   zone=n.zone, role=n.role, roles=",".join(n.roles), ips=",".join(n.ips),
                   vendor=n.vendor, product=n.product, x=n.x, y=n.y)
    for e in m.edges:
        g.add_edge(e.source, e.target, protocols=",".join(e.protocols), packets=e.packets,
                   bytes=e.bytes, flows=e.flows, main_class=e.main_class,
                   function_classes=",".join(f"{k}:{v}" for k, v in e.function_classes.items()))
    nx.write_graphml(g, path)


def _csv(m: NetworkMap, fh: IO[str]) -> None:
    w = csv.writer(fh)
    w.writerow(["client", "server", "protocols", "packets", "bytes", "flows", "main_class",
                "function_classes"])
    for e in m.edges:
        w.writerow([e.source, e.target, " ".join(e.protocols), e.packets, e.bytes, e.flows,
                    e.main_class, " ".join(f"{k}:{v}" for k, v in e.function_classes.items())])


FORMATS = ("svg", "png", "graphml", "json", "csv")


def write_map(snap: InventorySnapshot, path: Path, title: str = "otshield network map") -> str:
    """Write the map in the format its suffix names; returns the format."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        from otshield.errors import ConfigError

        raise ConfigError(f"{path}: unknown map format; use one of "
                          f"{', '.join('.' + f for f in FORMATS)}")
    m = build_map(snap)
    if fmt == "svg":
        path.write_text(_svg(m, _drawing(m, title)), encoding="utf-8")
    elif fmt == "png":
        _png(m, _drawing(m, title), path)
    elif fmt == "graphml":
        _graphml(m, path)
    elif fmt == "json":
        path.write_bytes(msgspec.json.format(msgspec.json.encode(m), indent=1))
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            _csv(m, fh)
    return fmt
