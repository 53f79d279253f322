"""Saving the inventory between runs, so several captures (or days of live capture) accumulate
into one inventory, and "new" means new since the first capture.

The target is the database (a ``.db``/``.sqlite`` file or a SQLAlchemy URL, see
:mod:`otshield.store`) or, for a file ending in ``.json``, the
:class:`~otshield.inventory.model.InventorySnapshot` as JSON, written to a temporary file and
renamed over the old one. Either way a crash while saving leaves the previous inventory intact.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from otshield.errors import ConfigError
from otshield.inventory.model import InventorySnapshot
from otshield.inventory.roles import GATEWAY_MIN_IPS

if TYPE_CHECKING:
    from otshield.inventory.builder import InventoryBuilder

__all__ = ["load_snapshot", "restore", "save_snapshot"]


def load_snapshot(target: Path | str) -> InventorySnapshot | None:
    """The saved inventory, None if there is none yet."""
    from otshield.store import connect, is_database, load_inventory

    if is_database(str(target)):
        return load_inventory(connect(str(target)))
    path = Path(target)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the inventory: {exc.strerror}") from None
    try:
        return msgspec.json.decode(data, type=InventorySnapshot)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not an otshield inventory file ({exc})") from None


def save_snapshot(snapshot: InventorySnapshot, target: Path | str) -> None:
    from otshield.store import connect, is_database, save_inventory

    if is_database(str(target)):
        save_inventory(snapshot, connect(str(target)))
        return
    path = Path(target)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(snapshot), indent=1))
    os.replace(tmp, path)


def restore(b: InventoryBuilder, snap: InventorySnapshot) -> None:
    """Load a saved inventory into a fresh builder."""
    from otshield.inventory.builder import Conduit, Host

    for a in snap.assets:
        if a.id.startswith("mac:") and not a.ips and any(
                r.role == "network_device" for r in a.roles):
            # a router found from routed traffic: keep it recognised as one
            b.mac_ips[a.macs[0]] = {f"restored:{i}" for i in range(GATEWAY_MIN_IPS)}
            if not a.protocols_served and not a.protocols_used:
                continue
        h = Host(a.id, a.first_seen)
        h.last_seen = a.last_seen
        h.ips = {ip: [a.first_seen, a.last_seen] for ip in a.ips}
        h.macs = {mac: [a.first_seen, a.last_seen, "restored"] for mac in a.macs}
        for f in a.facts:
            if f.source != "override":
                h.facts[(f.name, f.value, f.source)] = [f.first_seen, f.last_seen, f.frame,
                                                        f.count]
        h.roles = {r.role: r for r in a.roles if r.source == "inferred"}
        h.vlans = set(a.vlans)
        h.served = Counter(a.protocols_served)
        h.used = Counter(a.protocols_used)
        h.packets, h.bytes = a.packets, a.bytes
        b.hosts[a.id] = h
        for ip in a.ips:
            b.hosts[f"ip:{ip}"] = h  # every address of a merged device finds the device
        if a.ips:
            for mac in a.macs:
                b.mac_owner.setdefault(mac, a.id)
    for c in snap.conduits:
        conduit = Conduit(c.transport, c.port, c.first_seen)
        conduit.flows, conduit.packets, conduit.bytes = c.flows, c.packets, c.bytes
        conduit.classes = Counter(c.function_classes)
        conduit.last_seen = c.last_seen
        b.conduits[(c.client, c.server, c.protocol)] = conduit
    b.overrides = {k: dict(v) for k, v in snap.overrides.items()}
    b.captures = list(snap.captures)
