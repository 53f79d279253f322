"""Fingerprints found on real captures: what the inventory must report is read off each capture
with tshark (the oracle), never off our own output."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.capture import open_capture
from otshield.engine import Engine, run_capture
from otshield.inventory import InventoryBuilder, InventorySnapshot
from otshield.inventory.model import AssetRecord
from support import PCAPS, tshark_fields

pytestmark = [pytest.mark.corpus, pytest.mark.tshark]

MODBUS_IDENT = ["icsnpp/modbus/modbus_example.pcap"]
CIP_IDENT = ["icsnpp/enip/enip_cip_example.pcap", "iti/enip/enip_test.pcap",
             "suricata-verify/enip/enip_test1.pcap"]
S7_IDENT = ["icsnpp/s7/s7ident.pcap", "iti/s7/s7comm_reading_plc_status.pcap",
            "gymgit-s7/tia_s300_goOnline.pcapng", "gymgit-s7/snap7_s300_everything.pcapng"]
_MODBUS_NAMES = {"0": "vendor", "1": "product_code", "2": "firmware", "3": "vendor_url",
                 "4": "product", "5": "model", "6": "application"}


def capture(rel: str) -> Path:
    path = PCAPS / rel
    if not path.exists():
        pytest.skip(f"third-party corpus not found at {PCAPS} (tests read it from ../shared)")
    return path


def inventory(path: Path) -> InventorySnapshot:
    builder = InventoryBuilder()
    engine = Engine(builder)
    with open_capture(path) as reader:
        run_capture(reader, engine)
    engine.finish()
    return builder.snapshot()


def facts(asset: AssetRecord, source: str) -> set[tuple[str, str]]:
    return {(f.name, f.value) for f in asset.facts if f.source == source}


def asset_of(snap: InventorySnapshot, ip: str) -> AssetRecord:
    return next(a for a in snap.assets if ip in a.ips)


@pytest.mark.parametrize("rel", MODBUS_IDENT)
def test_modbus_device_identification(rel: str) -> None:
    path = capture(rel)
    rows = tshark_fields(path, ["ip.src", "modbus.object_id", "modbus.object_str_value"],
                         "modbus.func_code == 43 && modbus.object_str_value")
    assert rows, "tshark finds no device identification objects"
    snap = inventory(path)
    for _, server, ids, values in rows:
        expected = {(_MODBUS_NAMES[i], v.strip()) for i, v in
                    zip(ids.split(","), values.split(","), strict=False) if i in _MODBUS_NAMES}
        got = facts(asset_of(snap, server), "modbus.device_identification")
        assert expected <= got, expected - got
        print(f"{rel}: {len(expected)} identification objects of {server} found")


@pytest.mark.parametrize("rel", CIP_IDENT)
def test_cip_list_identity(rel: str) -> None:
    path = capture(rel)
    rows = tshark_fields(path, ["ip.src", "enip.lir.name", "enip.lir.serial", "enip.lir.revision"],
                         "enip.command == 0x0063 && enip.lir.name")
    assert rows, "tshark finds no ListIdentity reply"
    snap = inventory(path)
    for _, device, name, serial, revision in rows:
        a = asset_of(snap, device)
        got = facts(a, "enip.list_identity")
        rev = int(revision)  # tshark gives major << 8 | minor and shows it as "4.03"
        version = f"{rev >> 8}.{rev & 0xFF:02d}"
        assert ("product", name) in got
        assert ("serial", f"0x{int(serial, 16):08x}") in got
        assert ("firmware", version) in got
        assert "controller" in {r.role for r in a.roles} or not a.protocols_served
        print(f"{rel}: {device} is {name} revision {version}")


@pytest.mark.parametrize("rel", S7_IDENT)
def test_s7_module_and_firmware(rel: str) -> None:
    path = capture(rel)
    rows = tshark_fields(path, ["ip.src", "s7comm.szl.xy11.0001.anz", "s7comm.szl.001c.0001.name",
                                "s7comm.szl.001c.0002.name", "s7comm.szl.001c.0005.serialn"],
                         "s7comm.szl.xy11.0001.anz || s7comm.szl.001c.0001.name")
    assert rows, "tshark finds no SZL identification"
    snap = inventory(path)
    for _, plc, mlfb, system, module, serial in rows:
        a = asset_of(snap, plc)
        got = facts(a, "s7comm.szl")
        if mlfb:
            assert ("order_number", mlfb.split(",")[0].strip()) in got
        if system:
            assert ("plc_name", system.strip()) in got
            assert ("module", module.strip()) in got
            assert ("serial", serial.strip()) in got
        assert a.vendor == "Siemens"
    print(f"{rel}: {asset_of(snap, rows[0][1]).product} / {asset_of(snap, rows[0][1]).name}")


def test_mms_identify() -> None:
    path = capture("iti/iec61850/mms_8d7c7db0.pcap")
    rows = tshark_fields(path, ["ip.src", "mms.vendorName", "mms.modelName", "mms.revision"],
                         "mms.vendorName")
    assert rows, "tshark finds no MMS identify response"
    snap = inventory(path)
    for _, server, vendor, model, revision in rows:
        got = facts(asset_of(snap, server), "mms.identify")
        assert {("vendor", vendor), ("model", model), ("firmware", revision)} <= got
    print(f"mms_8d7c7db0: {len({r[1] for r in rows})} ICCP peers identified")


@pytest.mark.parametrize("rel", ["iti/profinet/ChangeIPUsingDCP.pcap",
                                 "icsnpp/profinet/profinet_io_cm_mixed_1.pcap"])
def test_profinet_dcp_station_names(rel: str) -> None:
    path = capture(rel)
    # identify answers (service 5, type 1): the device names itself; an Identify *request*
    # carrying a name is a search filter and says nothing about its sender
    rows = tshark_fields(path, ["eth.src", "pn_dcp.suboption_device_nameofstation"],
                         "pn_dcp.suboption_device_nameofstation && pn_dcp.service_id == 5 "
                         "&& pn_dcp.service_type == 1")
    assert rows, "tshark finds no DCP identify answer"
    snap = inventory(path)
    by_mac = {m: a for a in snap.assets for m in a.macs}
    for _, mac, name in rows:
        a = by_mac[mac]
        assert ("station_name", name) in facts(a, "profinet_dcp.identify"), mac
        assert "field_device" in {r.role for r in a.roles}
    print(f"{rel}: {len(rows)} identify answers, stations {sorted({r[2] for r in rows})}")
