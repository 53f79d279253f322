"""Ethernet POWERLINK: frame parser vectors (EPSG DS 301 4.6, 7.3), NMT commands, IdentResponse
identity, NMT state tracking, per-node summaries, anomalies, golden capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.engine import decode_file
from otshield.errors import Malformed
from otshield.protocols.powerlink import session as epl_session
from otshield.protocols.powerlink.parser import parse
from otshield.protocols.powerlink.session import PowerlinkSession
from protocols.profinet_build import RecordingLink, epl, epl_ident, write_link
from support import of_type

MN, CN = "00:50:c2:31:3f:dd", "00:60:65:00:49:11"
SOA_DST, PRES_DST = "01:11:1e:00:00:03", "01:11:1e:00:00:02"


def test_soa_vector() -> None:
    m = parse(bytes.fromhex(
        "05"    # MessageType SoA
        "ff"    # destination broadcast
        "f0"    # source 240 (MN)
        "6d"    # NMTStatus READY_TO_OPERATE
        "00"    # flags EA/ER
        "00"    # reserved
        "01"    # RequestedServiceID IdentRequest
        "11"    # RequestedServiceTarget node 17
        "20"    # EPLVersion 2.0
    ))
    assert (m.mtype, m.dst, m.src, m.service, m.nmt_state) == (5, 255, 240, 1, "READY_TO_OPERATE")


def test_nmt_command_vector() -> None:
    m = parse(bytes.fromhex(
        "06"    # ASnd
        "11"    # destination node 17
        "f0"    # source MN
        "04"    # ServiceID NMTCommand
        "21"    # NMTCommandId NMTStartNode
        "00"    # reserved
    ))
    assert (m.service, m.nmt_command) == (4, 0x21)


def test_ident_response() -> None:
    m = parse(epl_ident(17, 0x1D, 0x01070191, 0x0100006C, 7735, 3, 0x1234, "192.168.100.17",
                        "EPL_034"))
    i = m.ident
    assert i is not None
    assert (i.device_type, i.vendor_id, i.product_code, i.revision, i.serial_number) == (
        0x01070191, 0x0100006C, 7735, 3, 0x1234)
    assert (i.nmt_state, i.epl_version, i.mtu, i.ip, i.netmask, i.gateway, i.host_name) == (
        "PRE_OPERATIONAL_1", "2.0", 1500, "192.168.100.17", "255.255.255.0", "192.168.100.254",
        "EPL_034")


@pytest.mark.parametrize("data", [b"\x06\x01", bytes.fromhex("05fff06d"), b"\x06\x11\xf0",
                                  b"\x06\x11\xf0\x04", b"\x06\xff\x11\x01" + bytes(20),
                                  b"\x06\xff\x11\x02\x00"])
def test_truncated(data: bytes) -> None:
    with pytest.raises(Malformed) as exc:
        parse(data)
    assert exc.value.code == "powerlink.truncated"


def _run(frames: list[tuple[str, str, bytes]]) -> tuple[RecordingLink, PowerlinkSession]:
    link = RecordingLink(protocol="powerlink")
    s = PowerlinkSession(link)
    for src, dst, f in frames:
        link.at(src, dst)
        s.on_frame(f)
    return link, s


def _pres(state: int) -> bytes:
    return epl(0x04, 255, 17, bytes((state, 0, 0, 0, 0, 0)) + bytes(10))


def test_session_events_and_summary() -> None:
    ident = epl_ident(17, 0x1D, 0x191, 0x6C, 1, 2, 3, "192.168.100.17", "cn17")
    link, s = _run([
        (CN, SOA_DST, ident), (CN, SOA_DST, ident),                 # same identity: one event
        (MN, CN, epl(0x06, 17, 240, b"\x04\x24\x00")),              # NMTEnableReadyToOperate
        (CN, PRES_DST, _pres(0x6D)), (CN, PRES_DST, _pres(0x6D)),
        (MN, CN, epl(0x06, 17, 240, b"\x04\x21\x00")),              # NMTStartNode
        (CN, PRES_DST, _pres(0xFD)),
        (MN, SOA_DST, epl(0x05, 255, 240, bytes.fromhex("fd000002112000"))),  # StatusRequest
        (CN, MN, epl(0x06, 240, 17, b"\x03\x28\xf0")),              # NMTRequest ResetNode
    ])
    evs = link.of("powerlink")
    got = [(e.kind, e.nmt_command, e.nmt_state, e.previous_nmt_state, e.function_class)
           for e in evs]
    assert got == [
        ("ident_response", None, "PRE_OPERATIONAL_1", None, "identify"),
        ("nmt_command", "NMTEnableReadyToOperate", None, None, "control"),
        ("nmt_state_change", None, "READY_TO_OPERATE", "PRE_OPERATIONAL_1", "other"),
        ("nmt_command", "NMTStartNode", None, None, "control"),
        ("nmt_state_change", None, "OPERATIONAL", "READY_TO_OPERATE", "other"),
        ("nmt_request", "NMTResetNode", None, None, "control"),
    ]
    assert (evs[0].vendor_id, evs[0].device_profile, evs[0].host_name) == (0x6C, "generic_io",
                                                                          "cn17")
    s.close()
    summaries = {(e.src_node, e.message_type): (e.frames, e.services) for e in
                 link.of("powerlink") if e.kind == "summary"}
    assert summaries == {(17, "ASnd"): (3, ("IdentResponse:2", "NMTRequest:1")),
                         (240, "ASnd"): (2, ("NMTCommand:2",)), (17, "PRes"): (3, ()),
                         (240, "SoA"): (1, ("StatusRequest:1",))}


def test_anomalies_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    link, _ = _run([(MN, CN, b"\x09\x01\x02"), (MN, CN, b"\x05\x01")])
    assert link.codes() == ["powerlink.unknown_message_type", "powerlink.truncated"]
    monkeypatch.setattr(epl_session, "MAX_KEYS", 1)
    link, _ = _run([(CN, PRES_DST, epl(0x04, 255, n, b"\x1d")) for n in range(1, 5)])
    assert link.codes() == ["powerlink.too_many_nodes"]


def test_golden_capture(tmp_path: Path) -> None:
    path = tmp_path / "epl.pcap"
    write_link(path, [
        (MN, "01:11:1e:00:00:01", 0x88AB, epl(0x01, 255, 240, bytes(40))),         # SoC
        (MN, CN, 0x88AB, epl(0x03, 17, 240, bytes(40))),                           # PReq
        (CN, PRES_DST, 0x88AB, _pres(0xFD)),                                       # PRes
        (MN, CN, 0x88AB, epl(0x06, 17, 240, b"\x04\x22\x00" + bytes(40))),         # StopNode
        (CN, PRES_DST, 0x88AB, _pres(0x4D)),                                       # STOPPED
    ])
    ev = of_type(decode_file(path), "powerlink")
    assert [(e.kind, e.frame, e.src_node) for e in ev] == [
        ("nmt_command", 4, 240), ("nmt_state_change", 5, 17),
        ("summary", 1, 240), ("summary", 2, 240), ("summary", 5, 17), ("summary", 4, 240)]
    assert ev[0].nmt_command == "NMTStopNode" and ev[0].dst_node == 17
    assert ev[1].nmt_state == "STOPPED"
