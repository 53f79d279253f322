"""The policy detector on synthetic events: every verdict, merging, orientation, bounds."""

from __future__ import annotations

import pytest

from otshield.detect.alert import Alert, AlertAggregator
from otshield.detect.context import AssetContext
from otshield.events import Event, FlowEvent
from otshield.policy import PolicyDetector, parse_policy
from otshield.protocols.dnp3.events import Dnp3Event
from otshield.protocols.modbus.events import ModbusEvent
from otshield.protocols.s7comm.events import S7commEvent

POLICY = """\
zones:
  - name: Office
    level: 4
    subnets: [10.1.0.0/24]
  - name: DMZ
    level: 3
    subnets: [10.2.0.0/24]
  - name: SCADA
    level: 2
    subnets: [10.3.0.0/24]
  - name: Control
    level: 1
    subnets: [10.4.0.0/24]
conduits:
  - name: scada-to-control
    from: SCADA
    to: Control
    protocols: [modbus, s7comm, dnp3]
    functions: [read]
  - name: dmz-to-scada
    from: DMZ
    to: SCADA
    protocols: [tls, tcp/8443]
assets:
  10.4.0.30: {safety: "true", name: SIS-1}
"""

HMI, PLC, PLC2, EWS = "10.3.0.10", "10.4.0.11", "10.4.0.12", "10.3.0.30"


def modbus(fid: int, src: str, dst: str, cls: str, frame: int, function: str = "",
           sport: int = 40000) -> ModbusEvent:
    return ModbusEvent(1, 1, 3, function or cls.upper(), cls, "ok", ts=float(frame),
                       frame=frame, flow_id=fid, src_ip=src, src_port=sport, dst_ip=dst,
                       dst_port=502, transport="tcp")


def flow(fid: int, src: str, dst: str, port: int, protocol: str, frame: int = 99,
         transport: str = "tcp", answered: bool = True) -> FlowEvent:
    return FlowEvent(ts=float(frame), frame=frame, flow_id=fid, src_ip=src, src_port=40000,
                     dst_ip=dst, dst_port=port, transport=transport, start=0.0,
                     protocol=protocol, packets_to_server=3,
                     packets_to_client=2 if answered else 0)


def run(events: list[Event], policy: str = POLICY) -> tuple[PolicyDetector, list[Alert]]:
    aggregator = AlertAggregator()
    loaded = parse_policy(policy, "p.yaml")
    detector = PolicyDetector(loaded, AssetContext(loaded.site), aggregator)
    for event in events:
        detector.observe(event)
    detector.finish()
    return detector, aggregator.alerts()


def test_allowed_traffic_is_silent() -> None:
    detector, alerts = run([
        modbus(1, HMI, PLC, "read", 1), modbus(1, HMI, PLC, "other", 2), flow(1, HMI, PLC, 502,
                                                                               "modbus"),
        flow(2, "10.2.0.5", "10.3.0.8", 443, "tls"),
        flow(3, "10.2.0.5", "10.3.0.8", 8443, ""),       # undecoded, allowed by tcp/8443
        flow(4, "10.1.0.5", "10.1.0.9", 445, "smb"),      # inside a zone
        modbus(5, PLC, PLC2, "write", 5),                 # inside a zone, even a write
        flow(6, HMI, "224.0.0.251", 5353, "dns", transport="udp"),  # multicast: stays local
        flow(7, "169.254.3.3", PLC, 502, "modbus"),       # link-local source: not placed
        flow(8, "10.4.0.9", "10.4.0.255", 47808, "bacnet", transport="udp"),
    ])
    assert alerts == []
    assert detector.violations() == []
    assert detector.messages_checked == 2


def test_function_not_allowed_merges_per_zone_pair_protocol_and_class() -> None:
    events: list[Event] = [modbus(1, HMI, PLC, "read", 1),
                           modbus(1, HMI, PLC, "write", 2, "WRITE_SINGLE_REGISTER")]
    events += [modbus(1, HMI, PLC, "write", 3 + i) for i in range(3)]
    events += [modbus(2, "10.3.0.11", PLC2, "write", 10 + i, sport=40001) for i in range(2)]
    events += [flow(1, HMI, PLC, 502, "modbus")]
    detector, alerts = run(events)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.rule_id == "policy.function_not_allowed"
    assert alert.category == "policy"
    assert alert.severity == "high" and alert.confidence == "high"
    assert alert.count == 6
    assert alert.ts == 2.0 and alert.last_seen == 11.0
    assert alert.frames == (2, 3, 4, 5, 10, 11)
    assert alert.key == "policy.function_not_allowed|SCADA|Control|modbus|write"
    assert alert.techniques == ("T0855", "T0836")
    assert alert.tactics == ("impair-process-control",)
    assert alert.title == "write over modbus not allowed by conduit scada-to-control"
    assert alert.description == (
        "10.3.0.10 (SCADA) sent WRITE_SINGLE_REGISTER (write) over modbus to 10.4.0.11 "
        "(Control); the conduit scada-to-control allows only other, read.")
    assert alert.source is not None and alert.source.zone == "SCADA"
    assert alert.destination is not None and alert.destination.level == 1
    assert alert.details == {"source_zone": "SCADA", "destination_zone": "Control",
                             "protocol": "modbus", "counted": "messages", "function": "write",
                             "conduits": "scada-to-control"}
    (record,) = detector.violations()
    assert record.count == 6 and record.function == "write"
    assert record.hosts == [(HMI, PLC), ("10.3.0.11", PLC2)]
    assert record.example["frame"] == 2 and record.example["dst_port"] == 502
    assert (record.first_seen, record.last_seen) == (2.0, 11.0)


def test_program_download_and_safety_target() -> None:
    def s7(fid: int, dst: str, function: str, frame: int) -> S7commEvent:
        return S7commEvent(rosctr="job", pdu_ref=frame, function=function, function_class="program",
                           ts=float(frame), frame=frame, flow_id=fid, src_ip=EWS,
                           src_port=40100 + fid, dst_ip=dst, dst_port=102, transport="tcp")
    _, alerts = run([s7(1, PLC, "request_download", 1)])
    assert [(a.rule_id, a.severity, a.techniques) for a in alerts] == [
        ("policy.function_not_allowed", "high", ("T0843",))]
    assert alerts[0].tactics == ("lateral-movement",)
    _, alerts = run([s7(2, "10.4.0.30", "start_upload", 1)])
    assert [(a.severity, a.techniques) for a in alerts] == [("critical", ("T0845",))]


def test_no_conduit_and_protocol_not_allowed() -> None:
    _, alerts = run([
        modbus(1, "10.1.0.7", PLC, "read", 1),          # Office -> Control: no conduit
        modbus(1, "10.1.0.7", PLC, "write", 2),         # same flow: not checked again
        flow(1, "10.1.0.7", PLC, 502, "modbus", frame=3),
        flow(2, "10.2.0.5", "10.3.0.8", 22, "ssh", frame=4),     # DMZ -> SCADA: not ssh
        flow(3, "10.2.0.6", "10.3.0.9", 22, "ssh", frame=5),
        flow(4, "10.2.0.5", "10.3.0.8", 9999, "", frame=6, answered=False),
    ])
    got = [(a.rule_id, a.severity, a.count, a.techniques, a.key) for a in alerts]
    assert got == [
        ("policy.no_conduit", "high", 1, ("T0848",), "policy.no_conduit|Office|Control|modbus"),
        ("policy.protocol_not_allowed", "high", 2, ("T0886",),
         "policy.protocol_not_allowed|DMZ|SCADA|ssh"),
        ("policy.protocol_not_allowed", "high", 1, ("T0846",),
         "policy.protocol_not_allowed|DMZ|SCADA|tcp/9999"),
    ]
    assert alerts[0].title == "No conduit from Office to Control (modbus)"
    assert alerts[1].description == (
        "10.2.0.5 (DMZ) used ssh to 10.3.0.8 (SCADA); the conduit dmz-to-scada between these "
        "zones does not allow it.")
    assert alerts[1].details["counted"] == "flows"
    assert alerts[1].details["conduits"] == "dmz-to-scada"


def test_unknown_zone_alert_and_ignore() -> None:
    events: list[Event] = [modbus(1, "192.168.7.7", PLC, "write", 1),
                           flow(2, HMI, "8.8.8.8", 53, "dns", transport="udp"),
                           flow(3, "203.0.113.9", "10.2.0.5", 443, "tls")]
    _, alerts = run(events)
    got = sorted((a.key, a.severity, a.techniques) for a in alerts)
    assert got == [
        ("policy.unknown_zone|(no zone)|Control|modbus", "medium", ("T0848",)),
        ("policy.unknown_zone|(no zone)|DMZ|tls", "medium", ()),
        ("policy.unknown_zone|SCADA|(no zone)|dns", "medium", ()),
    ]
    ignoring = POLICY + "defaults:\n  unknown_zone: ignore\n"
    assert run(events, ignoring)[1] == []


def test_public_source_is_internet_accessible_device() -> None:
    _, alerts = run([flow(1, "93.184.216.34", PLC, 502, "modbus"),
                     flow(2, "93.184.216.34", PLC, 3389, "rdp")])
    assert sorted(a.techniques for a in alerts) == [("T0883",), ("T0883", "T0822")]


def test_intra_zone_check_needs_a_conduit() -> None:
    policy = POLICY + "defaults:\n  intra_zone: check\n"
    _, alerts = run([modbus(1, PLC, PLC2, "read", 1)], policy)
    assert [a.key for a in alerts] == ["policy.no_conduit|Control|Control|modbus"]
    allowed = POLICY.replace("assets:", """\
  - name: control-peers
    from: Control
    to: Control
    protocols: [modbus]
assets:""") + "defaults:\n  intra_zone: check\n"
    _, alerts = run([modbus(1, PLC, PLC2, "read", 1), modbus(1, PLC, PLC2, "write", 2)], allowed)
    assert [a.key for a in alerts] == [
        "policy.function_not_allowed|Control|Control|modbus|write"]


def test_messages_from_the_server_side_orient_the_flow() -> None:
    """DNP3 reports each message; the outstation's answer may come first in a capture."""
    def dnp3(src: str, sport: int, dst: str, dport: int, cls: str, frame: int) -> Dnp3Event:
        return Dnp3Event(link_src=1, link_dst=2, from_master=sport != 20000, link_function="x",
                         function="OPERATE" if cls == "control" else "RESPONSE",
                         function_class=cls, function_code=4, seq=0, fir=True, fin=True,
                         con=False, uns=False, ts=float(frame), frame=frame, flow_id=9,
                         src_ip=src, src_port=sport, dst_ip=dst, dst_port=dport,
                         transport="tcp")
    _, alerts = run([
        dnp3(PLC, 20000, HMI, 40000, "control", 1),   # outstation answer: not a command
        dnp3(HMI, 40000, PLC, 20000, "read", 2),
        dnp3(HMI, 40000, PLC, 20000, "control", 3),   # the master operates: not allowed
    ])
    assert [(a.key, a.frame, a.src_ip) for a in alerts] == [
        ("policy.function_not_allowed|SCADA|Control|dnp3|control", 3, HMI)]


def test_flow_records_do_not_count_flows_twice_and_state_is_released() -> None:
    detector, alerts = run([modbus(1, "10.1.0.7", PLC, "read", 1),
                            flow(1, "10.1.0.7", PLC, 502, "modbus", frame=2),
                            flow(2, "10.1.0.7", PLC, 502, "modbus", frame=3)])
    assert [a.count for a in alerts] == [2]
    assert detector.flows_checked == 2
    assert detector._flows == {}


def test_link_layer_and_foreign_events_are_ignored() -> None:
    from otshield.events import AnomalyEvent, ArpEvent
    detector, alerts = run([
        AnomalyEvent(ts=1.0, frame=1, code="tcp.gap", src_ip="10.1.0.7", dst_ip=PLC),
        ArpEvent(ts=1.0, frame=2, operation="request", sender_mac="00:00:00:00:00:01",
                 sender_ip="10.9.9.9", target_mac="00:00:00:00:00:00", target_ip=PLC),
        ModbusEvent(1, 1, 3, "READ", "read", "ok", ts=1.0, frame=3),  # no addresses
    ])
    assert alerts == [] and detector.flows_checked == 0


def test_violation_records_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("otshield.policy.detector._MAX_RECORDS", 2)
    _, alerts = run([flow(i, "10.1.0.7", PLC, 1000 + i, "") for i in range(1, 6)])
    assert [(a.key, a.count) for a in alerts] == [
        ("policy.no_conduit|Office|Control|tcp/1001", 1),
        ("policy.no_conduit|Office|Control|tcp/1002", 1),
        ("policy.no_conduit|*", 3)]
