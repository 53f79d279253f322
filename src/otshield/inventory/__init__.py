"""Asset inventory: passive discovery of devices, their identity, roles, Purdue levels, zones
and the conduits between them, from the events of the packet engine.

    builder = InventoryBuilder(emit=print)       # emit receives AssetEvent changes
    engine = Engine(builder)                      # or a fan-out with other sinks
    ... feed packets ..., engine.finish()
    snapshot = builder.snapshot(site)             # records: assets, conduits, zones
"""

from otshield.inventory.builder import InventoryBuilder
from otshield.inventory.model import (
    AssetEvent,
    AssetRecord,
    ConduitRecord,
    FactRecord,
    InventorySnapshot,
    RoleRecord,
    ZoneRecord,
)
from otshield.inventory.persist import load_snapshot, save_snapshot
from otshield.inventory.site import load_site, parse_site

__all__ = [
    "AssetEvent",
    "AssetRecord",
    "ConduitRecord",
    "FactRecord",
    "InventoryBuilder",
    "InventorySnapshot",
    "RoleRecord",
    "ZoneRecord",
    "load_site",
    "load_snapshot",
    "parse_site",
    "save_snapshot",
]
