"""PROFINET DCP: parser vectors (IEC 61158-6-10 4.3), transaction pairing, function classes,
anomalies, and golden captures through the whole engine (DCP reaches its parser through the
profinet_rt decoder of Ethertype 0x8892)."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.config import Settings
from otshield.engine import decode_file
from otshield.errors import Malformed
from otshield.protocols.profinet_dcp.parser import parse
from otshield.protocols.profinet_rt.session import ProfinetRtSession
from protocols.profinet_build import (
    CONTROLLER,
    DCP_MCAST,
    DEVICE,
    RecordingLink,
    dcp,
    dcp_block,
    ip4,
    write_link,
)
from support import of_type

IDENT_REQ = bytes.fromhex(
    "05"        # ServiceID Identify
    "00"        # ServiceType request
    "01000001"  # Xid
    "0001"      # ResponseDelay 1
    "0004"      # DCPDataLength 4
    "ffff0000"  # block All/All, length 0
)

SET_IP_REQ = bytes.fromhex(
    "04"        # ServiceID Set
    "00"        # request
    "01000001"  # Xid
    "0000"      # reserved
    "0012"      # DCPDataLength 18
    "0102"      # IP / IP parameter
    "000e"      # DCPBlockLength 14
    "0001"      # BlockQualifier: permanent
    "c0a8000a"  # 192.168.0.10
    "ffffff00"  # 255.255.255.0
    "c0a80001"  # 192.168.0.1
)

SET_RES_OK = bytes.fromhex(
    "04" "01" "01000001" "0000" "0008"   # Set, response success, Xid, reserved, length 8
    "0504" "0003"                        # Control / Response, length 3
    "0102" "00"                          # answered block IP/IP parameter, BlockError 0 (ok)
    "00"                                 # padding to even
)


def _ident_response_blocks() -> bytes:
    return (dcp_block(2, 2, b"x208-bord", b"\x00\x00")                     # NameOfStation
            + dcp_block(2, 1, b"SCALANCE X-200", b"\x00\x00")              # TypeOfStation
            + dcp_block(2, 3, bytes.fromhex("002a0a01"), b"\x00\x00")      # vendor 0x2a dev 0xa01
            + dcp_block(2, 4, b"\x03\x00", b"\x00\x00")                    # role device+controller
            + dcp_block(1, 2, ip4("192.168.0.6") + ip4("255.255.255.0") + ip4("192.168.0.1"),
                        b"\x00\x81")                                        # IP set + conflict bit
            + dcp_block(2, 7, b"\x00\x02", b"\x00\x00")                    # DeviceInstance 0.2
            + dcp_block(2, 8, bytes.fromhex("00b00001"), b"\x00\x00")      # OEM vendor/device
            + dcp_block(1, 1, bytes.fromhex("080006934f32"), b"\x00\x00")  # MAC address
            + dcp_block(2, 6, b"port-001.x208", b"\x00\x00"))              # AliasName


def test_identify_request_all_selector() -> None:
    p = parse(IDENT_REQ)
    assert (p.service, p.service_type, p.xid, p.response_delay) == ("identify", "request",
                                                                     0x01000001, 1)
    assert p.blocks == [(255, 255)]


def test_set_ip_request() -> None:
    p = parse(SET_IP_REQ)
    assert (p.service, p.qualifier) == ("set", 1)
    assert (p.ip, p.netmask, p.gateway) == ("192.168.0.10", "255.255.255.0", "192.168.0.1")
    assert p.ip_state is None  # a qualifier, not a BlockInfo


def test_set_response_block_error() -> None:
    p = parse(SET_RES_OK)
    assert p.service_type == "response"
    assert p.block_errors == [("ip/ip_parameter", "ok")]
    bad = parse(SET_RES_OK[:-2] + b"\x05\x00")  # BlockError 5
    assert bad.block_errors == [("ip/ip_parameter", "set_not_possible_local_reasons")]


def test_identify_response_values() -> None:
    blocks = _ident_response_blocks()
    p = parse(dcp(0xFEFF, 5, 1, 7, blocks)[2:])
    assert p.station_name == "x208-bord" and p.vendor_name == "SCALANCE X-200"
    assert (p.vendor_id, p.device_id) == (0x2A, 0x0A01)
    assert p.device_roles == ("io_device", "io_controller")
    assert (p.ip, p.ip_state, p.ip_conflict) == ("192.168.0.6", "set", True)
    assert p.device_instance == "0.2" and (p.oem_vendor_id, p.oem_device_id) == (0xB0, 1)
    assert p.mac == "08:00:06:93:4f:32" and p.alias_name == "port-001.x208"


def test_full_ip_suite_and_get_request() -> None:
    suite = ip4("10.0.0.5") + ip4("255.0.0.0") + ip4("10.0.0.1") + b"".join(
        ip4(f"10.0.0.{i}") for i in (53, 54, 55, 56))
    p = parse(dcp(0xFEFD, 3, 1, 9, dcp_block(1, 3, suite, b"\x00\x01"))[2:])
    assert p.dns == ("10.0.0.53", "10.0.0.54", "10.0.0.55", "10.0.0.56")
    g = parse(dcp(0xFEFD, 3, 0, 9, bytes.fromhex("0102" "0202"))[2:])  # bare option pairs
    assert g.service == "get" and g.blocks == [(1, 2), (2, 2)]


def test_not_supported_response() -> None:
    assert parse(dcp(0xFEFD, 4, 5, 3, b"")[2:]).service_type == "response_not_supported"


@pytest.mark.parametrize("data,code", [
    (IDENT_REQ[:9], "profinet_dcp.truncated"),
    (b"\x07" + IDENT_REQ[1:], "profinet_dcp.unknown_service"),
    (IDENT_REQ[:8] + b"\x00\x40" + IDENT_REQ[10:], "profinet_dcp.bad_length"),
    (IDENT_REQ[:8] + b"\x00\x04" + b"\x02\x02\x00\x08", "profinet_dcp.truncated"),
    (SET_IP_REQ[:8] + b"\x00\x06" + b"\x01\x02\x00\x02\x00\x01", "profinet_dcp.truncated"),
])
def test_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse(data)
    assert exc.value.code == code


def _session() -> tuple[RecordingLink, ProfinetRtSession]:
    link = RecordingLink()
    return link, ProfinetRtSession(link)


def test_set_paired_with_response_is_a_config_change() -> None:
    link, s = _session()
    link.at(CONTROLLER, DEVICE)
    s.on_frame(b"\xfe\xfd" + SET_IP_REQ)
    assert not link.of("profinet_dcp")  # waits for the response
    link.at(DEVICE, CONTROLLER)
    s.on_frame(b"\xfe\xfd" + SET_RES_OK)
    (ev,) = link.of("profinet_dcp")
    assert (ev.service, ev.function_class, ev.result, ev.qualifier) == ("set", "config", "ok",
                                                                       "permanent")
    assert (ev.src_mac, ev.dst_mac, ev.ip, ev.frame, ev.response_frame) == (
        CONTROLLER, DEVICE, "192.168.0.10", 2, 2)
    assert ev.block_errors == ("ip/ip_parameter:ok",)


def test_set_name_rejected_and_function_classes() -> None:
    link, s = _session()
    name = dcp(0xFEFD, 4, 0, 11, dcp_block(2, 2, b"plc-1", b"\x00\x01"))
    reset = dcp(0xFEFD, 4, 0, 12, dcp_block(5, 6, b"", b"\x00\x04"))
    signal = dcp(0xFEFD, 4, 0, 13, dcp_block(5, 3, b"\x01\x00", b"\x00\x00"))
    for f in (name, reset, signal):
        link.at(CONTROLLER, DEVICE)
        s.on_frame(f)
    link.at(DEVICE, CONTROLLER)
    s.on_frame(dcp(0xFEFD, 4, 1, 11, dcp_block(5, 4, b"\x02\x02\x06")))
    (named,) = link.of("profinet_dcp")
    assert (named.station_name, named.result, named.block_errors) == (
        "plc-1", "error", ("device/name_of_station:set_not_possible_in_operation",))
    s.close()
    evs = link.of("profinet_dcp")
    assert [(e.function_class, e.result) for e in evs[1:]] == [("control", "unanswered"),
                                                              ("diagnostics", "unanswered")]
    assert evs[1].reset_mode == 2 and evs[2].signal_value == 0x0100


def test_hello_and_identify_are_identify_events() -> None:
    link, s = _session()
    link.at(DEVICE, DCP_MCAST)
    s.on_frame(dcp(0xFEFC, 6, 0, 1, _ident_response_blocks()))
    (hello,) = link.of("profinet_dcp")
    assert (hello.service, hello.function_class, hello.station_name) == ("hello", "identify",
                                                                        "x208-bord")
    assert "profinet_dcp.ip_conflict" in link.codes()


def test_pending_limit_reports_once_and_evicts_oldest() -> None:
    link = RecordingLink(Settings(max_pending_requests=2))
    s = ProfinetRtSession(link)
    for xid in range(4):
        link.at(CONTROLLER, DEVICE)
        s.on_frame(dcp(0xFEFD, 3, 0, xid, b"\x02\x02"))
    assert link.codes() == ["profinet_dcp.too_many_pending"]
    assert [e.xid for e in link.of("profinet_dcp")] == [0, 1]


def test_anomalies_from_session() -> None:
    link, s = _session()
    link.at(CONTROLLER, DEVICE)
    s.on_frame(b"\xfe\xfe\x05")
    many = b"".join(dcp_block(2, 2, b"n") for _ in range(70))
    s.on_frame(dcp(0xFEFE, 5, 0, 1, many))
    assert link.codes() == ["profinet_dcp.truncated", "profinet_dcp.too_many_blocks"]


def test_golden_capture(tmp_path: Path) -> None:
    """Identify, Identify response, Set IP (over VLAN 5) and its response, through the engine."""
    path = tmp_path / "dcp.pcap"
    write_link(path, [
        (CONTROLLER, DCP_MCAST, 0x8892, b"\xfe\xfe" + IDENT_REQ),
        (DEVICE, CONTROLLER, 0x8892, dcp(0xFEFF, 5, 1, 0x01000001, _ident_response_blocks())),
        (CONTROLLER, DEVICE, 0x8892, b"\xfe\xfd" + SET_IP_REQ),
        (DEVICE, CONTROLLER, 0x8892, b"\xfe\xfd" + SET_RES_OK),
    ], vlan=5)
    events = decode_file(path)
    dcp_events = of_type(events, "profinet_dcp")
    assert [(e.frame, e.service, e.service_type, e.src_mac, e.vlan) for e in dcp_events] == [
        (1, "identify", "request", CONTROLLER, 5),
        (2, "identify", "response", DEVICE, 5),
        (4, "set", "response", CONTROLLER, 5),
    ]
    assert dcp_events[1].station_name == "x208-bord"
    assert dcp_events[2].ip == "192.168.0.10" and dcp_events[2].result == "ok"
    assert [a.code for a in of_type(events, "anomaly")] == ["profinet_dcp.ip_conflict"]


def test_request_timeout() -> None:
    link = RecordingLink(Settings(request_timeout=5.0))
    s = ProfinetRtSession(link)
    link.at(CONTROLLER, DEVICE)
    s.on_frame(dcp(0xFEFD, 3, 0, 1, b"\x02\x02"))
    link.ts += 10
    s.on_frame(dcp(0xFEFD, 3, 0, 2, b"\x02\x02"))
    assert [(e.xid, e.result) for e in link.of("profinet_dcp")] == [(1, "unanswered")]


def test_get_paired_carries_the_answered_values() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    link.at(CONTROLLER, DEVICE)
    s.on_frame(dcp(0xFEFD, 3, 0, 21, bytes.fromhex("0202" "0102")))  # Get name, IP parameter
    link.at(DEVICE, CONTROLLER)
    s.on_frame(dcp(0xFEFD, 3, 1, 21, dcp_block(2, 2, b"io-7", b"\x00\x00") + dcp_block(
        1, 2, ip4("10.1.1.7") + ip4("255.255.0.0") + ip4("10.1.0.1"), b"\x00\x02")))
    (ev,) = link.of("profinet_dcp")
    assert (ev.service, ev.function_class, ev.result, ev.blocks, ev.station_name, ev.ip,
            ev.ip_state, ev.src_mac) == ("get", "identify", "ok",
                                         ("device/name_of_station", "ip/ip_parameter"), "io-7",
                                         "10.1.1.7", "set_by_dhcp", CONTROLLER)
