"""Test data for the web page tests: the project's attack-plant capture analysed once per test
process (inventory + alerts with ATT&CK techniques and zone-policy violations), written into a
console's store; and hostile values (markup in asset names, alert titles, evidence) to prove
every page escapes what came from the network.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import msgspec

from otshield.detect.alert import Alert, AssetRef
from otshield.detect.analyze import Analysis, AnalyzeOptions, run_analysis
from otshield.detect.testplant import write_attack_capture, write_site
from otshield.inventory.model import AssetRecord, FactRecord, InventorySnapshot, RoleRecord
from otshield.store import Store
from otshield.store.alerts import record_alerts
from otshield.store.inventory import write_inventory

__all__ = ["HOSTILE", "HOSTILE_ASSET", "plant_analysis", "seed_store"]

HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
"""Markup that must never reach a page unescaped."""
HOSTILE_ASSET = "ip:10.66.66.66"


@functools.cache
def plant_analysis() -> Analysis:
    """The attack plant (11 stages, its site file with conduits) analysed once per process."""
    folder = Path(tempfile.mkdtemp(prefix="otshield-web-"))
    capture = folder / "plant.pcap"
    site = folder / "site.yaml"
    # Two cycles of normal traffic before the attack are enough for the inventory's roles and
    # every detection stage, at a third of the default capture's analysis time.
    write_attack_capture(capture, normal_cycles=2)
    write_site(site)
    return run_analysis([capture], AnalyzeOptions(site=str(site)))


def _hostile_asset() -> AssetRecord:
    return AssetRecord(
        id=HOSTILE_ASSET, ips=["10.66.66.66"], macs=["02:00:00:66:66:66"], name=HOSTILE,
        vendor=HOSTILE, product="evil", purdue_level=2, zone="control",
        roles=[RoleRecord(role="hmi", evidence=[HOSTILE], source="inferred")],
        facts=[FactRecord(name="hostname", value=HOSTILE, source="dhcp", first_seen=1.0,
                          last_seen=2.0, frame=7)],
        first_seen=1_767_258_000.0, last_seen=1_767_258_100.0, packets=3, bytes=300)


def _hostile_alert() -> Alert:
    ref = AssetRef(ip="10.66.66.66", asset=HOSTILE_ASSET, name=HOSTILE, zone="control",
                   level=2)
    return Alert(ts=1_767_258_050.0, frame=7, src_ip="10.66.66.66", dst_ip="10.0.0.1",
                 rule_id="test.hostile", title=HOSTILE, severity="high",
                 description=HOSTILE, response=HOSTILE, techniques=("T0801",),
                 source=ref, key="test.hostile|10.66.66.66", first_seen=1_767_258_050.0,
                 last_seen=1_767_258_050.0, frames=(7,), category="rule",
                 evidence=({"event.dataset": "modbus", "note": HOSTILE},),
                 details={"why": HOSTILE})


def seed_store(store: Store, *, hostile: bool = True) -> Analysis:
    """Write the plant's inventory and alerts (and the hostile asset and alert) into
    ``store``; returns the analysis."""
    analysis = plant_analysis()
    inventory = analysis.inventory
    alerts = list(analysis.alerts)
    if hostile:
        inventory = msgspec.structs.replace(inventory,
                                            assets=[*inventory.assets, _hostile_asset()])
        alerts.append(_hostile_alert())
    with store.session() as db:
        write_inventory(db, InventorySnapshot(assets=inventory.assets,
                                              conduits=inventory.conduits,
                                              zones=inventory.zones,
                                              overrides=inventory.overrides,
                                              captures=inventory.captures))
        record_alerts(db, alerts)
    return analysis
