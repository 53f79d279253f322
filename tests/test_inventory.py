"""The asset inventory on the demo plant (every role and level known by construction), on
synthetic events for the address edge cases, and its change events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.demo import write_demo_capture
from otshield.engine import Engine, run_capture
from otshield.events import ArpEvent, FlowEvent
from otshield.inventory import InventoryBuilder, InventorySnapshot
from otshield.inventory.model import AssetEvent, AssetRecord
from otshield.protocols.modbus.events import ModbusDeviceObject, ModbusEvent, ModbusMei

# The demo plant by construction (otshield.demo and otshield.demo_grid): address -> (roles, level)
DEMO_PLANT: dict[str, tuple[set[str], int | None]] = {
    "10.10.20.10": ({"hmi"}, 2),                         # HMI polling two Modbus PLCs + ENIP
    "10.10.20.20": ({"hmi"}, 2),                         # SCADA master: DNP3 and IEC 104
    "10.10.20.30": ({"engineering_workstation"}, 2),     # stops the S7 CPU
    "10.10.30.11": ({"controller"}, 1),
    "10.10.30.12": ({"controller"}, 1),
    "10.10.30.21": ({"controller"}, 1),
    "10.10.30.31": ({"controller"}, 1),
    "10.10.30.40": ({"controller"}, 1),
    "10.10.40.10": ({"controller"}, 1),                  # IEC 104 RTU
    "10.10.50.20": ({"controller"}, 1),                  # BACnet controller
    "10.10.50.5": ({"hmi"}, 2),                          # building management workstation
    "10.10.25.5": ({"ot_server"}, 3),                    # MQTT broker
    "10.10.10.53": ({"it_server"}, 4),                   # DNS
    "10.10.10.80": ({"it_server"}, 4),                   # web server
    "10.10.10.101": ({"it_host"}, 4),                    # office PC
    "10.10.30.5": ({"it_server"}, 4),                    # SSH server
    "10.10.30.50": (set(), None),                        # MQTT edge gateway: no telling role
}


def build(path: Path, builder: InventoryBuilder) -> InventorySnapshot:
    engine = Engine(builder)
    with open_capture(path) as reader:
        run_capture(reader, engine)
    engine.finish()
    return builder.snapshot()


@pytest.fixture(scope="module")
def demo_inventory(tmp_path_factory: pytest.TempPathFactory) -> tuple[InventorySnapshot,
                                                                       list[AssetEvent]]:
    path = tmp_path_factory.mktemp("inv") / "plant.pcap"
    write_demo_capture(path, packets=6000)  # long enough for the BMS's reads to show polling
    changes: list[Any] = []
    return build(path, InventoryBuilder(emit=changes.append)), changes


def by_ip(snap: InventorySnapshot) -> dict[str, AssetRecord]:
    return {ip: a for a in snap.assets for ip in a.ips}


def test_demo_plant_roles_and_levels_are_all_right(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    snap, _ = demo_inventory
    assets = by_ip(snap)
    wrong = {}
    for ip, (roles, level) in DEMO_PLANT.items():
        a = assets[ip]
        got = {r.role for r in a.roles}
        if got != roles or a.purdue_level != level:
            wrong[ip] = (sorted(got), a.purdue_level, a.level_reason)
    assert not wrong
    assert set(assets) == set(DEMO_PLANT)  # no phantom asset (broadcast, multicast)
    # devices seen at layer 2 only: the GOOSE-publishing IED and the PROFINET IO device
    l2 = {a.id: a for a in snap.assets if not a.ips}
    assert set(l2) == {"mac:00:09:8e:00:40:21", "mac:00:1b:1b:00:30:61"}
    ied = l2["mac:00:09:8e:00:40:21"]
    assert ([r.role for r in ied.roles], ied.purdue_level, ied.name) == (
        ["controller"], 1, "IED21PROT")
    io = l2["mac:00:1b:1b:00:30:61"]
    assert ([r.role for r in io.roles], io.purdue_level, io.vendor) == (
        ["field_device"], 0, "Siemens AG")
    assert io.name == "et200sp-mixer"  # renamed by the engineering workstation's DCP Set


def test_every_role_shows_its_evidence(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    assets = by_ip(demo_inventory[0])
    ews = {r.role: r for r in assets["10.10.20.30"].roles}["engineering_workstation"]
    assert any("plc_stop" in line and "10.10.30.21" in line for line in ews.evidence)
    assert any("set (config)" in line and "profinet_dcp" in line for line in ews.evidence)
    plc = {r.role: r for r in assets["10.10.30.11"].roles}["controller"]
    assert plc.evidence == ["answers modbus to 10.10.20.10"]
    hmi = {r.role: r for r in assets["10.10.20.10"].roles}["hmi"]
    assert any("polls" in line for line in hmi.evidence)


def test_identity_facts_keep_their_source(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    assets = by_ip(demo_inventory[0])
    plc1 = assets["10.10.30.11"]
    # Modbus device identification beats the MAC's registered organisation
    assert (plc1.vendor, plc1.product, plc1.version) == ("Acme Automation", "AC-PLC-5", "v2.4.1")
    sources = {(f.name, f.source) for f in plc1.facts}
    assert ("vendor", "modbus.device_identification") in sources
    assert ("vendor", "oui") in sources  # 00:80:f4 is registered to Telemecanique
    logix = assets["10.10.30.31"]
    assert (logix.product, logix.version) == ("1756-L71/B LOGIX5571", "20.11")
    assert logix.cpe == "cpe:2.3:h:rockwell_automation_allen-bradley:1756-l71_b_logix5571:20.11"
    web = assets["10.10.10.80"]
    assert web.name == "intranet.example.com"  # from the DNS answer
    assert any(f.name == "http_server" and f.value == "nginx" for f in web.facts)
    hmi = assets["10.10.20.10"]
    assert hmi.vendor == "VMware, Inc." and hmi.macs == ["00:50:56:00:20:10"]


def test_conduits_carry_function_classes(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    conduits = {(c.client, c.server, c.protocol): c for c in demo_inventory[0].conduits}
    s7 = conduits[("ip:10.10.20.30", "ip:10.10.30.21", "s7comm")]
    assert s7.function_classes.get("control") == 1 and s7.port == 102
    mb = conduits[("ip:10.10.20.10", "ip:10.10.30.11", "modbus")]
    assert mb.function_classes["write"] == 1 and mb.function_classes["read"] > 100
    # messages from the IEC 104 RTU count for the SCADA -> RTU conduit, not a reverse one
    assert ("ip:10.10.40.10", "ip:10.10.20.20", "iec104") not in conduits
    assert conduits[("ip:10.10.20.20", "ip:10.10.40.10", "iec104")].function_classes["read"]


def test_change_events_new_asset_and_role_once_each(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    snap, changes = demo_inventory
    new = [c.asset for c in changes if c.change == "new_asset"]
    assert len(new) == len(set(new)) == len(snap.assets)
    roles = [(c.asset, c.new) for c in changes if c.change == "new_role"]
    assert len(roles) == len(set(roles))
    assert ("ip:10.10.20.30", "engineering_workstation") in roles


def test_proposed_zones_split_subnets_by_level(
        demo_inventory: tuple[InventorySnapshot, list[AssetEvent]]) -> None:
    zones = {z.name: z for z in demo_inventory[0].zones}
    control = zones["10.10.30.0/24 \u00b7 level 1"]
    assert control.source == "proposed" and control.purdue_level == 1
    assert set(control.assets) == {f"ip:10.10.30.{n}" for n in (11, 12, 21, 31, 40)}
    # the SSH server inside the control subnet is proposed as a zone of its own
    assert zones["10.10.30.0/24 \u00b7 level 4"].assets == ["ip:10.10.30.5"]


# -- synthetic events: addresses ------------------------------------------------------------------
def flow(src: str, dst: str, src_mac: str, dst_mac: str, ts: float = 1.0,
         protocol: str = "http", port: int = 80) -> FlowEvent:
    return FlowEvent(ts=ts, frame=1, start=ts, src_ip=src, dst_ip=dst, src_port=40000,
                     dst_port=port, transport="tcp", protocol=protocol, src_mac=src_mac,
                     dst_mac=dst_mac, packets_to_server=3, packets_to_client=3,
                     bytes_to_server=100, bytes_to_client=200)


ROUTER = "00:1b:1b:aa:bb:cc"


def test_router_mac_becomes_a_network_device_not_glued_to_remote_ips() -> None:
    b = InventoryBuilder(server_ports={})
    local, local_mac = "10.0.0.5", "00:50:56:00:00:05"
    for i in range(6):  # six remote servers, all reached through the router's MAC
        b(flow(local, f"172.16.{i}.10", local_mac, ROUTER))
    snap = b.snapshot()
    assets = by_ip(snap)
    assert assets[local].macs == [local_mac]
    for i in range(6):
        assert assets[f"172.16.{i}.10"].macs == [], i
    router = next(a for a in snap.assets if a.id == f"mac:{ROUTER}")
    assert [r.role for r in router.roles] == ["network_device"]
    assert router.vendor == "Siemens AG"
    assert len({a.id for a in snap.assets if a.ips and a.ips[0].startswith("172.16.")}) == 6


def test_two_ips_on_one_mac_are_one_device_and_a_new_mac_is_a_change() -> None:
    changes: list[Any] = []
    b = InventoryBuilder(emit=changes.append, server_ports={})
    mac = "00:80:f4:00:00:01"
    b(ArpEvent(ts=1.0, frame=1, operation="reply", sender_mac=mac, sender_ip="10.0.0.7",
               target_mac="00:50:56:00:00:05", target_ip="10.0.0.5"))
    b(ArpEvent(ts=2.0, frame=2, operation="reply", sender_mac=mac, sender_ip="192.168.1.7",
               target_mac="00:50:56:00:00:05", target_ip="192.168.1.5"))
    b(ArpEvent(ts=3.0, frame=3, operation="reply", sender_mac="00:80:f4:00:00:99",
               sender_ip="10.0.0.9", target_mac="00:50:56:00:00:05", target_ip="10.0.0.5"))
    b(ArpEvent(ts=4.0, frame=4, operation="reply", sender_mac="00:80:f4:00:00:66",
               sender_ip="10.0.0.9", target_mac="00:50:56:00:00:05", target_ip="10.0.0.5"))
    snap = b.snapshot()
    multi = by_ip(snap)["10.0.0.7"]
    assert multi.ips == ["10.0.0.7", "192.168.1.7"] and multi.macs == [mac]
    assert by_ip(snap)["10.0.0.9"].macs == ["00:80:f4:00:00:66", "00:80:f4:00:00:99"]
    (moved,) = [c for c in changes if c.change == "mac_changed"]
    assert (moved.asset, moved.old, moved.new, moved.ts) == (
        "ip:10.0.0.9", "00:80:f4:00:00:99", "00:80:f4:00:00:66", 4.0)


def modbus_ident(ts: float, vendor: str, revision: str) -> ModbusEvent:
    objs = (ModbusDeviceObject(id=0, name="VendorName", value=vendor),
            ModbusDeviceObject(id=2, name="MajorMinorRevision", value=revision))
    return ModbusEvent(1, 1, 43, "READ_DEVICE_IDENTIFICATION", "identify", "ok", ts=ts, frame=9,
                       src_ip="10.0.0.5", dst_ip="10.0.0.7", src_port=40000, dst_port=502,
                       transport="tcp",
                       mei=ModbusMei(type=14, name="READ_DEVICE_IDENTIFICATION", objects=objs))


def test_firmware_change_is_an_identity_change_event() -> None:
    changes: list[Any] = []
    b = InventoryBuilder(emit=changes.append, server_ports={"modbus": frozenset({502})})
    b(modbus_ident(1.0, "Schneider Electric", "v2.1"))
    b(modbus_ident(2.0, "Schneider Electric", "v2.1"))
    b.flush()  # events are handled in batches; flush hands them over now
    assert not [c for c in changes if c.change == "identity_changed"]
    b(modbus_ident(50.0, "Schneider Electric", "v3.0"))
    b.flush()
    (c,) = [c for c in changes if c.change == "identity_changed"]
    assert (c.asset, c.field, c.old, c.new, c.ts) == ("ip:10.0.0.7", "firmware", "v2.1", "v3.0",
                                                     50.0)
    a = by_ip(b.snapshot())["10.0.0.7"]
    assert a.version == "v3.0"  # the latest value wins
    first = next(f for f in a.facts if f.value == "v2.1")
    assert (first.count, first.first_seen, first.last_seen) == (2, 1.0, 2.0)


def test_public_addresses_are_external_level_5() -> None:
    b = InventoryBuilder(server_ports={})
    b(flow("10.0.0.5", "8.8.8.8", "00:50:56:00:00:05", "00:50:56:00:00:01", protocol="dns",
           port=53))
    a = by_ip(b.snapshot())["8.8.8.8"]
    assert {r.role for r in a.roles} == {"external", "it_server"}
    assert (a.purdue_level, a.level_reason) == (5, "public address")


def test_addresses_that_never_answered_are_not_assets() -> None:
    """A SYN or ping sweep probes addresses; only what answers (or what the client went on
    talking to) is a host. One-way UDP (syslog, traps) still shows its receiver."""
    b = InventoryBuilder(server_ports={})
    scanner = "10.10.10.66"

    def probe(dst: str, transport: str, state: str, answers: int, port: int = 502) -> None:
        b(FlowEvent(ts=1.0, frame=1, start=1.0, src_ip=scanner, dst_ip=dst, src_port=40000,
                    dst_port=port, transport=transport, state=state, packets_to_server=1,
                    packets_to_client=answers, bytes_to_server=0, bytes_to_client=0))

    for i in range(1, 200):
        probe(f"10.20.0.{i}", "tcp", "syn_sent", 0)  # the sweep: nothing came back
    probe("10.20.1.1", "tcp", "reset", 1)  # a reset: the host is there, the port closed
    probe("10.20.1.2", "tcp", "established", 0)  # seen one way: the client acknowledged
    probe("10.20.1.3", "icmp", "active", 0, port=0)  # an unanswered ping
    probe("10.20.1.4", "icmp", "active", 1, port=0)  # an answered one
    probe("10.20.1.5", "udp", "active", 0, port=514)  # syslog: one way by design
    ips = {ip for a in b.snapshot().assets for ip in a.ips}
    assert ips == {scanner, "10.20.1.1", "10.20.1.2", "10.20.1.4", "10.20.1.5"}
