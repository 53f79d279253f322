"""The inventory for people: a terminal table (assets by Purdue level, then zones and the
busiest conduits) and CSV for spreadsheets."""

from __future__ import annotations

import csv
from typing import TextIO

from rich.console import Console
from rich.table import Table

from otshield.inventory.model import AssetRecord, InventorySnapshot

__all__ = ["CSV_COLUMNS", "print_inventory", "write_csv"]

CSV_COLUMNS = ("id", "name", "ips", "macs", "vendor", "product", "version", "cpe", "roles",
               "purdue_level", "level_reason", "zone", "advisories", "protocols_served",
               "protocols_used", "first_seen", "last_seen", "packets", "bytes")
_MAX_CONDUITS = 25


def _roles(roles: list[str]) -> str:
    return ", ".join(roles)


def _exposure(a: AssetRecord) -> str:
    if not a.advisories:
        return ""
    worst = max((m.score or 0.0) for m in a.advisories)
    unsure = all(m.confidence != "affected" for m in a.advisories)
    return f"{len(a.advisories)} (max {worst:.1f}){' ?' if unsure else ''}"


def print_inventory(snap: InventorySnapshot, out: Console) -> None:
    t = Table(title=f"Assets ({len(snap.assets)})", title_justify="left")
    for col in ("level", "name", "addresses", "vendor", "product", "version", "roles", "zone",
                "advisories"):
        t.add_column(col, overflow="fold")
    for a in snap.assets:
        addrs = " ".join(a.ips[:3] + a.macs[:1]) + (" ..." if len(a.ips) > 3 else "")
        t.add_row("?" if a.purdue_level is None else str(a.purdue_level), a.name, addrs,
                  a.vendor, a.product, a.version, _roles([r.role for r in a.roles]), a.zone,
                  _exposure(a))
    out.print(t)
    if snap.zones:
        z = Table(title="Zones", title_justify="left")
        for col in ("zone", "level", "SL-T", "source", "assets"):
            z.add_column(col)
        for zone in snap.zones:
            z.add_row(zone.name, "" if zone.purdue_level is None else str(zone.purdue_level),
                      "" if zone.security_level_target is None else str(
                          zone.security_level_target), zone.source, str(len(zone.assets)))
        out.print(z)
    if snap.conduits:
        c = Table(title=f"Busiest conduits (of {len(snap.conduits)})", title_justify="left")
        for col in ("client", "server", "protocol", "packets", "function classes"):
            c.add_column(col)
        for cd in snap.conduits[:_MAX_CONDUITS]:
            classes = " ".join(f"{k}:{v}" for k, v in cd.function_classes.items())
            c.add_row(cd.client, cd.server, cd.protocol, f"{cd.packets:,}", classes)
        out.print(c)


def write_csv(snap: InventorySnapshot, fh: TextIO) -> None:
    w = csv.writer(fh)
    w.writerow(CSV_COLUMNS)
    for a in snap.assets:
        w.writerow([a.id, a.name, " ".join(a.ips), " ".join(a.macs), a.vendor, a.product,
                    a.version, a.cpe, " ".join(r.role for r in a.roles),
                    "" if a.purdue_level is None else a.purdue_level, a.level_reason, a.zone,
                    " ".join(f"{m.advisory}:{m.cve}" for m in a.advisories),
                    " ".join(a.protocols_served), " ".join(a.protocols_used),
                    f"{a.first_seen:.6f}", f"{a.last_seen:.6f}", a.packets, a.bytes])
