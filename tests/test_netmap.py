"""The network map: exports that round-trip, and a 200-asset plant whose picture keeps every
label inside its own cell (no overlaps), with a legend."""

from __future__ import annotations

import csv
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from PIL import Image, ImageFont

from otshield.cli import main
from otshield.demo import write_demo_capture
from otshield.errors import ConfigError
from otshield.inventory.model import (
    AssetRecord,
    ConduitRecord,
    InventorySnapshot,
    RoleRecord,
)
from otshield.inventory.netmap import _drawing, _Text, build_map, write_map

ROLES_BY_LEVEL = {0: "field_device", 1: "controller", 2: "hmi", 3: "historian", 4: "it_host",
                  5: "external"}


def plant(n: int = 200, seed: int = 3) -> InventorySnapshot:
    """A synthetic plant: n assets over levels 0-5 and a few zones each, long names included."""
    rnd = random.Random(seed)
    assets, conduits = [], []
    for i in range(n):
        level = rnd.choice([0, 1, 1, 1, 2, 2, 3, 4, 4, 5])
        zone = f"zone-{level}-{rnd.randint(0, 2)}"
        name = f"asset-{i}" if i % 7 else f"a-very-long-device-name-number-{i}-of-the-plant"
        assets.append(AssetRecord(id=f"ip:10.{level}.{i // 250}.{i % 250}",
                                  ips=[f"10.{level}.{i // 250}.{i % 250}"], macs=[], name=name,
                                  roles=[RoleRecord(role=ROLES_BY_LEVEL[level],
                                                    source="inferred", evidence=["test"])],
                                  purdue_level=level, zone=zone))
    by_level: dict[int, list[AssetRecord]] = {}
    for a in assets:
        by_level.setdefault(a.purdue_level or 0, []).append(a)
    for a in assets:  # like a plant: each asset talks to the level below, rarely elsewhere
        level = a.purdue_level or 0
        below = by_level.get(level - 1) or by_level[level]
        peers = rnd.sample(below, min(2, len(below))) if rnd.random() < 0.9 else [
            rnd.choice(assets)]
        for b in peers:
            if b.id != a.id:
                conduits.append(ConduitRecord(
                    client=a.id, server=b.id, protocol="modbus", transport="tcp", port=502,
                    flows=1, packets=rnd.randint(1, 10000),
                    function_classes={rnd.choice(["read", "read", "write", "program"]): 1}))
    return InventorySnapshot(assets=assets, conduits=conduits)


def test_two_hundred_assets_labels_never_overlap(tmp_path: Path) -> None:
    snap = plant()
    m = build_map(snap)
    assert len(m.nodes) == 200
    font = ImageFont.load_default(size=11)
    boxes = []
    for s in _drawing(m, "test"):
        if isinstance(s, _Text) and s.size == 11 and s.anchor == "middle":
            left, top, right, bottom = font.getbbox(s.text, anchor="ms")
            boxes.append((s.x + left, s.y + top, s.x + right, s.y + bottom, s.text))
    assert len(boxes) >= 200
    boxes.sort()
    for i, a in enumerate(boxes):  # sweep: any two label boxes that overlap?
        for b in boxes[i + 1:]:
            if b[0] >= a[2]:
                break
            assert a[3] <= b[1] or b[3] <= a[1], (a, b)
    # every node sits inside the box of its own zone
    zones = {(z.level, z.name): z for z in m.zones}
    for n in m.nodes:
        z = zones[(n.level, n.zone)]
        assert z.x < n.x < z.x + z.w and z.y < n.y < z.y + z.h
    # levels run from 5 at the top down to 0
    tops = {n.level: n.y for n in m.nodes}
    assert [lv for lv, _ in sorted(tops.items(), key=lambda kv: kv[1])] == [5, 4, 3, 2, 1, 0]
    png = tmp_path / "plant.png"
    write_map(snap, png)
    with Image.open(png) as img:
        assert img.size == (int(m.width), int(m.height))


def test_exports_round_trip(tmp_path: Path) -> None:
    snap = plant(40)
    m = build_map(snap)
    write_map(snap, tmp_path / "m.graphml")
    g = nx.read_graphml(tmp_path / "m.graphml")
    assert g.number_of_nodes() == 40 and g.number_of_edges() == len(m.edges)
    any_edge = m.edges[0]
    assert g.edges[any_edge.source, any_edge.target]["packets"] == any_edge.packets
    write_map(snap, tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert len(data["nodes"]) == 40 and {"x", "y", "level", "zone"} <= set(data["nodes"][0])
    write_map(snap, tmp_path / "m.csv")
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert len(rows) == len(m.edges)
    write_map(snap, tmp_path / "m.svg")
    svg = ET.parse(tmp_path / "m.svg").getroot()
    texts = "".join(svg.itertext())
    assert "Legend" in texts and "controller" in texts and "arrow: client -> server" in texts
    with pytest.raises(ConfigError, match="unknown map format"):
        write_map(snap, tmp_path / "m.gif")


def test_map_command_on_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cap = tmp_path / "demo.pcap"
    write_demo_capture(cap)
    out = tmp_path / "plant.svg"
    assert main(["map", str(cap), "-o", str(out), "--no-progress"]) == 0
    svg = out.read_text()
    assert "10.10.30.21" in svg and "level 1" in svg
    assert "wrote the map" in capsys.readouterr().err
