"""Golden tests: small BACnet/IP and BACnet/Ethernet captures written with otshield.pcapwriter,
decoded end to end by the engine, compared with events written by hand from the standard.

BACnet/IP rides on UDP, so the TCP re-segmentation replay does not apply; instead the same
datagrams on another port (found by the probe) and the same NPDUs over BACnet/Ethernet (LLC,
with and without a VLAN tag, with Ethernet padding) must give the same application events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from otshield.pcapwriter import PcapWriter
from protocols import bacnet_build as B

CLIENT = ("10.0.0.1", 47808)
DEVICE = ("10.0.0.2", 47808)
BCAST = ("10.0.0.255", 47808)
RP = B.ctx_object(0, 0, 1) + B.ctx_unsigned(1, 85)  # analog-input:1, present-value
WP = (B.ctx_object(0, 1, 2) + B.ctx_unsigned(1, 85)   # analog-output:2, present-value
      + B.constructed(3, B.app_real(55.5)) + B.ctx_unsigned(4, 8))  # = 55.5 @ priority 8
IAM = B.unconfirmed(0, B.app_object(8, 1234) + B.app_unsigned(1476) + B.app_enum(0)
                    + B.app_unsigned(8))  # device 1234, 1476 octets, segmented-both, Delta

NPDUS: list[tuple[bool, bytes, bool]] = [
    # (from client, NPDU, broadcast)
    (True, B.npdu(B.unconfirmed(8, B.ctx_unsigned(0, 1000) + B.ctx_unsigned(1, 2000))), True),
    (False, B.npdu(IAM), True),
    (True, B.npdu(B.confirmed(12, 1, RP), expecting_reply=True), False),
    (False, B.npdu(B.complex_ack(12, 1, RP + B.constructed(3, B.app_real(21.5)))), False),
    (True, B.npdu(B.confirmed(15, 2, WP), expecting_reply=True), False),
    (False, B.npdu(B.error_pdu(15, 2, 2, 40)), False),  # property / write-access-denied
]


def _write_ip(path: Path, port: int = 47808) -> None:
    client, device, bcast = ((CLIENT[0], port), (DEVICE[0], port), (BCAST[0], port))
    with path.open("wb") as fh:
        w = B.BacnetIpWriter(PcapWriter(fh))
        for from_client, npdu, is_bcast in NPDUS:
            src = client if from_client else device
            dst = bcast if is_bcast else (device if from_client else client)
            w.send(src, dst, B.broadcast(npdu) if is_bcast else B.unicast(npdu))


def _write_llc(path: Path, vlan: int | None = None) -> None:
    macs = ("00:00:00:00:00:01", "00:00:00:00:00:02")
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, (from_client, npdu, is_bcast) in enumerate(NPDUS):
            src, dst = macs if from_client else macs[::-1]
            if is_bcast:
                dst = "ff:ff:ff:ff:ff:ff"
            w.write(1_700_000_000.0 + i * 0.01, B.llc_frame(src, dst, npdu, pad=0x7E,
                                                            vlan=vlan))


def _decoded(path: Path) -> list[dict[str, Any]]:
    out = []
    for e in B.bacnet_events(B.decode_bacnet(path)):
        d = msgspec.to_builtins(e)
        d.pop("network.community_id", None)
        d.pop("flow_id", None)
        out.append(d)
    return out


def _ip(src: tuple[str, int], dst: tuple[str, int]) -> dict[str, Any]:
    return {"source.ip": src[0], "source.port": src[1], "destination.ip": dst[0],
            "destination.port": dst[1], "network.transport": "udp", "medium": "ip"}


T0 = 1_700_000_000.0

EXPECTED_IP: list[dict[str, Any]] = [
    {"event.dataset": "bacnet", "@timestamp": T0, "frame": 1, **_ip(CLIENT, BCAST),
     "pdu_type": "unconfirmed-request", "service": "who-Is", "service_choice": 8,
     "function_class": "identify", "bvlc_function": "Original-Broadcast-NPDU",
     "low_limit": 1000, "high_limit": 2000},
    {"event.dataset": "bacnet", "@timestamp": T0 + 0.01, "frame": 2, **_ip(DEVICE, BCAST),
     "pdu_type": "unconfirmed-request", "service": "i-Am", "service_choice": 0,
     "function_class": "identify", "bvlc_function": "Original-Broadcast-NPDU",
     "device_instance": 1234, "max_apdu": 1476, "segmentation": "segmented-both",
     "vendor_id": 8, "vendor_name": "Delta Controls"},
    {"event.dataset": "bacnet", "@timestamp": T0 + 0.03, "frame": 4, **_ip(CLIENT, DEVICE),
     "pdu_type": "confirmed-request", "service": "readProperty", "service_choice": 12,
     "function_class": "read", "invoke_id": 1, "answered": True, "reply": "complex-ack",
     "response_time": 0.01, "bvlc_function": "Original-Unicast-NPDU",
     "object_type": "analog-input", "object_instance": 1, "property": "present-value",
     "values": [21.5], "max_apdu_accepted": 1476, "request_frame": 3},
    {"event.dataset": "bacnet", "@timestamp": T0 + 0.05, "frame": 6, **_ip(CLIENT, DEVICE),
     "pdu_type": "confirmed-request", "service": "writeProperty", "service_choice": 15,
     "function_class": "write", "invoke_id": 2, "answered": True, "reply": "error",
     "error_class": "property", "error_code": "write-access-denied", "response_time": 0.01,
     "bvlc_function": "Original-Unicast-NPDU", "object_type": "analog-output",
     "object_instance": 2, "property": "present-value", "values": [55.5], "priority": 8,
     "max_apdu_accepted": 1476, "request_frame": 5},
]


def _approx(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round packet times (the pcap keeps microseconds)."""
    out = []
    for e in events:
        e = dict(e)
        for key in ("@timestamp", "response_time"):
            if key in e:
                e[key] = round(e[key], 6)
        out.append(e)
    return out


def test_bacnet_ip_golden(tmp_path: Path) -> None:
    path = tmp_path / "bacnet-ip.pcap"
    _write_ip(path)
    assert _approx(_decoded(path)) == _approx(EXPECTED_IP)


def test_other_port_found_by_probe(tmp_path: Path) -> None:
    path = tmp_path / "bacnet-47809.pcap"
    _write_ip(path, port=47809)
    expected = []
    for e in EXPECTED_IP:
        e = dict(e)
        e["source.port"] = e["destination.port"] = 47809
        expected.append(e)
    assert _approx(_decoded(path)) == _approx(expected)


def _application(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What does not depend on the medium."""
    drop = {"@timestamp", "frame", "request_frame", "source.ip", "source.port",
            "destination.ip", "destination.port", "network.transport", "source.mac",
            "destination.mac", "network.vlan.id", "medium", "bvlc_function"}
    return [{k: v for k, v in e.items() if k not in drop} for e in events]


def test_bacnet_ethernet_matches_ip(tmp_path: Path) -> None:
    ip_path, llc_path, vlan_path = (tmp_path / "ip.pcap", tmp_path / "llc.pcap",
                                    tmp_path / "vlan.pcap")
    _write_ip(ip_path)
    _write_llc(llc_path)
    _write_llc(vlan_path, vlan=12)
    ip_events, llc_events, vlan_events = (_decoded(p) for p in (ip_path, llc_path, vlan_path))
    assert [e["medium"] for e in llc_events] == ["ethernet"] * 4
    assert llc_events[2]["source.mac"] == "00:00:00:00:00:01"  # the requester
    assert llc_events[2]["destination.mac"] == "00:00:00:00:00:02"
    assert {e.get("network.vlan.id") for e in vlan_events} == {12}
    assert _application(llc_events) == _application(ip_events)
    assert _application(vlan_events) == _application(ip_events)
