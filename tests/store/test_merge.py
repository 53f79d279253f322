"""Merging one capture's inventory into the stored one (no database needed): counters add,
time ranges widen, lists unite, newer single values win, overrides and captures carry over."""

from __future__ import annotations

from otshield.inventory.model import (
    AssetRecord,
    ConduitRecord,
    FactRecord,
    InventorySnapshot,
    RoleRecord,
    ZoneRecord,
)
from otshield.store.merge import merge_inventory

OLD = InventorySnapshot(
    assets=[
        AssetRecord(id="ip:10.0.0.1", ips=["10.0.0.1"], macs=["aa:aa:aa:00:00:01"], vlans=[10],
                    name="plc1", vendor="Siemens AG", product="", purdue_level=1,
                    level_reason="controller", zone="Control",
                    roles=[RoleRecord(role="controller", evidence=["serves s7comm"],
                                      source="inferred", since=100.0)],
                    facts=[FactRecord(name="vendor", value="Siemens AG", source="oui",
                                      first_seen=100.0, last_seen=150.0, frame=3, count=4)],
                    protocols_served={"s7comm": 2}, first_seen=100.0, last_seen=150.0,
                    packets=10, bytes=1000),
        AssetRecord(id="ip:10.0.0.9", ips=["10.0.0.9"], macs=[], first_seen=120.0,
                    last_seen=130.0, packets=1),
    ],
    conduits=[ConduitRecord(client="ip:10.0.0.5", server="ip:10.0.0.1", protocol="s7comm",
                            transport="tcp", port=102, flows=2, packets=20, bytes=2000,
                            function_classes={"read": 5}, first_seen=100.0, last_seen=150.0)],
    zones=[ZoneRecord(name="Control", source="site", assets=["ip:10.0.0.1"])],
    overrides={"ip:10.0.0.1": {"safety": "true", "zone": "Control"}},
    captures=["monday.pcap"],
)

NEW = InventorySnapshot(
    assets=[
        AssetRecord(id="ip:10.0.0.1", ips=["10.0.0.1"], macs=["aa:aa:aa:00:00:02"], vlans=[20],
                    name="", vendor="Siemens AG", product="S7-1500", purdue_level=None,
                    zone="Control",
                    roles=[RoleRecord(role="controller", evidence=["serves modbus"],
                                      source="inferred", since=90.0),
                           RoleRecord(role="ot_server", evidence=["serves opcua"],
                                      source="inferred", since=95.0)],
                    facts=[FactRecord(name="vendor", value="Siemens AG", source="oui",
                                      first_seen=90.0, last_seen=95.0, frame=7, count=1),
                           FactRecord(name="product", value="S7-1500", source="s7comm.szl",
                                      first_seen=91.0, last_seen=91.0, frame=9)],
                    protocols_served={"s7comm": 1, "opcua": 3}, first_seen=90.0,
                    last_seen=95.0, packets=5, bytes=500),
        AssetRecord(id="ip:10.0.0.7", ips=["10.0.0.7"], macs=[], first_seen=91.0,
                    last_seen=92.0, packets=2),
    ],
    conduits=[ConduitRecord(client="ip:10.0.0.5", server="ip:10.0.0.1", protocol="s7comm",
                            transport="tcp", port=102, flows=1, packets=4, bytes=400,
                            function_classes={"read": 1, "control": 1}, first_seen=90.0,
                            last_seen=95.0)],
    zones=[ZoneRecord(name="Control", source="site", assets=["ip:10.0.0.7"])],
    overrides={"ip:10.0.0.1": {"zone": "Cell A"}, "ip:10.0.0.7": {"name": "hmi"}},
    captures=["tuesday.pcap"],
)


def test_merge_combines_records_field_by_field() -> None:
    merged = merge_inventory(OLD, NEW)
    assert [a.id for a in merged.assets] == ["ip:10.0.0.1", "ip:10.0.0.7", "ip:10.0.0.9"]
    plc = merged.assets[0]
    assert plc.macs == ["aa:aa:aa:00:00:01", "aa:aa:aa:00:00:02"] and plc.vlans == [10, 20]
    assert (plc.name, plc.product, plc.purdue_level, plc.level_reason) == (
        "plc1", "S7-1500", 1, "controller")  # empty/None in the new capture: kept
    assert (plc.first_seen, plc.last_seen, plc.packets, plc.bytes) == (90.0, 150.0, 15, 1500)
    assert plc.protocols_served == {"s7comm": 3, "opcua": 3}
    assert plc.roles == [
        RoleRecord(role="controller", evidence=["serves s7comm", "serves modbus"],
                   source="inferred", since=90.0),
        RoleRecord(role="ot_server", evidence=["serves opcua"], source="inferred", since=95.0)]
    assert plc.facts == [
        FactRecord(name="vendor", value="Siemens AG", source="oui", first_seen=90.0,
                   last_seen=150.0, frame=7, count=5),
        FactRecord(name="product", value="S7-1500", source="s7comm.szl", first_seen=91.0,
                   last_seen=91.0, frame=9)]
    (conduit,) = merged.conduits
    assert (conduit.flows, conduit.packets, conduit.bytes) == (3, 24, 2400)
    assert conduit.function_classes == {"read": 6, "control": 1}
    assert (conduit.first_seen, conduit.last_seen) == (90.0, 150.0)
    assert merged.zones == [ZoneRecord(name="Control", source="site",
                                       assets=["ip:10.0.0.1", "ip:10.0.0.7"])]
    assert merged.overrides == {"ip:10.0.0.1": {"safety": "true", "zone": "Cell A"},
                                "ip:10.0.0.7": {"name": "hmi"}}
    assert merged.captures == ["monday.pcap", "tuesday.pcap"]
    assert OLD.assets[0].packets == 10 and OLD.captures == ["monday.pcap"]  # inputs untouched


def test_merge_into_nothing_is_the_new_inventory() -> None:
    assert merge_inventory(None, NEW) is NEW
