"""The built-in OT rule pack (``ot_*.yaml``) as a whole, beyond each rule's own examples (which
``test_rules_builtin`` runs): what every rule carries, which ATT&CK techniques the pack covers,
that ordinary polling never alerts, how the authorised-writer rules use the inventory and the
site file, and the edges of the thresholds. Events are built by hand as the decoders emit them
(field values taken from real captures)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import pytest

from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline
from otshield.detect.rules import BUILTIN_DIR, RuleEngine, RuleSet, load_rules
from otshield.events import Event
from otshield.inventory import InventoryBuilder
from otshield.inventory.site import parse_site
from otshield.protocols.bacnet.events import BacnetEvent
from otshield.protocols.dnp3.events import Dnp3Event, Dnp3Object
from otshield.protocols.enip.events import CipEvent
from otshield.protocols.fins.events import FinsEvent
from otshield.protocols.iec104.events import Iec104Event, Iec104Object
from otshield.protocols.mms.events import MmsEvent
from otshield.protocols.modbus.events import ModbusEvent, ModbusUmas
from otshield.protocols.opcua.events import OpcuaEvent
from otshield.protocols.s7comm.events import S7commEvent

OT_FILES = sorted(BUILTIN_DIR.glob("ot_*.yaml"))
AUTHORISED = ("hmi", "engineering_workstation", "historian", "ot_server", "writer")

HMI, PLC, ROGUE = "10.3.0.5", "10.3.1.10", "10.1.5.7"

SITE = """
site: Test plant
zones:
  - {name: Office, level: 4, subnets: [10.1.0.0/16]}
  - {name: Control, level: 2, subnets: [10.3.0.0/24]}
  - {name: Cell, level: 1, subnets: [10.3.1.0/24]}
assets:
  10.3.0.5: {role: hmi, name: HMI-1}
  10.3.1.99: {safety: "true", name: SIS}
"""


@functools.cache
def pack() -> RuleSet:
    return load_rules(OT_FILES, builtin=False)


def run(events: Iterable[Event], site: str | None = None) -> list[Alert]:
    """The OT pack over ``events`` with a live inventory (roles are inferred as the capture is
    read) and optionally a site file: merged alerts, as ``analyze`` reports them."""
    inventory = InventoryBuilder()
    context = AssetContext(parse_site(site) if site else None, inventory)
    pipeline = DetectionPipeline([], inventory=inventory)
    pipeline.add(RuleEngine(pack(), context, pipeline.alert_sink))
    for event in events:
        pipeline(event)
    pipeline.finish()
    return pipeline.alerts()


def rule_ids(alerts: list[Alert]) -> set[str]:
    return {a.rule_id for a in alerts}


# -- events as the decoders build them ----------------------------------------------------------

def modbus(ts: float, fc: int, name: str, cls: str, *, src: str = HMI, dst: str = PLC,
           unit: int = 1, tid: int = 1, address: int | None = 0, **kw: object) -> ModbusEvent:
    return ModbusEvent(ts=ts, frame=int(ts) + 1, src_ip=src, dst_ip=dst, src_port=50000,
                       dst_port=502, transport="tcp", transaction_id=tid, unit_id=unit,
                       function_code=fc, function=name, function_class=cls, status="ok",
                       address=address, **kw)  # type: ignore[arg-type]


def dnp3(ts: float, function: str, cls: str, *, src: str = HMI, dst: str = PLC,
         master: bool = True, link_src: int = 3, link_dst: int = 4, code: int = 1,
         objects: tuple[Dnp3Object, ...] = ()) -> Dnp3Event:
    return Dnp3Event(ts=ts, frame=int(ts) + 1, src_ip=src, dst_ip=dst, transport="tcp",
                     link_src=link_src, link_dst=link_dst, from_master=master,
                     link_function="CONFIRMED_USER_DATA", function=function, function_class=cls,
                     function_code=code, seq=int(ts) % 16, fir=True, fin=True, con=False,
                     uns=False, objects=objects, object_count=len(objects))


def polling(seconds: int) -> list[Event]:
    """What a SCADA/HMI poll cycle looks like on every decoder: reads, responses, reports."""
    events: list[Event] = []
    class0 = (Dnp3Object(group=60, variation=1, name="class_0_data", qualifier=6),)
    for t in range(seconds):
        ts = float(t)
        events += [
            modbus(ts, 3, "READ_HOLDING_REGISTERS", "read", tid=t, quantity=10),
            modbus(ts + 0.1, 1, "READ_COILS", "read", tid=t, address=100, quantity=16),
            dnp3(ts, "READ", "read", dst="10.2.1.20", objects=class0),
            dnp3(ts + 0.05, "RESPONSE", "read", src="10.2.1.20", dst=HMI, master=False,
                 link_src=4, link_dst=3, code=129),
            S7commEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.3.1.11", rosctr="job",
                        pdu_ref=t, function="read_var", function_class="read"),
            CipEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.3.1.12", service=0x4C,
                     service_name="Read_Tag", function_class="read",
                     enip_command="SendUnitData", session_handle=1, class_id=0x6B,
                     symbol="Tank_Level"),
            Iec104Event(ts=ts, frame=t + 1, src_ip="10.2.1.30", dst_ip=HMI, type_id=13,
                        type_name="M_ME_NC_1", function_class="read", cause=3,
                        cause_name="spontaneous", common_address=1, num_objects=1,
                        objects=(Iec104Object(ioa=4001, value=12.5),)),
            BacnetEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.6.1.40", medium="ip",
                        pdu_type="confirmed-request", service="readProperty",
                        service_choice=12, function_class="read", invoke_id=t % 256,
                        answered=True, reply="complex-ack", object_type="analog-input",
                        object_instance=1, property="present-value"),
            MmsEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.5.1.30", pdu="confirmed",
                     function_class="read", service_name="read", service=4, invoke_id=t,
                     variables=["IED1MEAS/MMXU1$MX$TotW$mag$f"]),
            OpcuaEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.3.2.4", kind="service",
                       function_class="read", status="ok", service="Read",
                       nodes=("ns=2;s=Pump1.Speed",)),
            FinsEvent(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.3.1.14", command_code=0x0101,
                      command_name="memory_area_read", function_class="read", answered=True),
        ]
        if t % 10 == 0:  # the integrity poll and the 104 general interrogation
            events.append(Iec104Event(ts=ts, frame=t + 1, src_ip=HMI, dst_ip="10.2.1.30",
                                      type_id=100, type_name="C_IC_NA_1", function_class="read",
                                      cause=6, cause_name="activation", common_address=1,
                                      num_objects=1, result="confirmed"))
    return events


# -- the pack as a whole -------------------------------------------------------------------------

def test_pack_loads_alone_without_problems() -> None:
    assert pack().errors == []
    assert len(pack()) >= 100


def test_every_rule_is_documented_and_tagged() -> None:
    for rule in pack():
        assert rule.id.startswith("ot."), rule.id
        assert rule.techniques, rule.id
        assert rule.tactics, rule.id
        assert len(rule.description) >= 80 and len(rule.response) >= 40, rule.id
        assert rule.tags, rule.id


def test_pack_covers_the_network_observable_ot_techniques() -> None:
    covered = {t for rule in pack() for t in rule.techniques}
    wanted = {"T0800", "T0804", "T0806", "T0814", "T0816", "T0830", "T0836", "T0843", "T0845",
              "T0846", "T0848", "T0855", "T0856", "T0857", "T0858", "T0859", "T0861", "T0888",
              "T0889", "T0892"}
    assert wanted <= covered, sorted(wanted - covered)


def test_ordinary_polling_never_alerts() -> None:
    alerts = run(polling(120))
    assert alerts == [], [(a.rule_id, a.description) for a in alerts]


def test_ordinary_polling_never_alerts_with_a_site_file() -> None:
    alerts = run(polling(60), SITE)
    assert alerts == [], [(a.rule_id, a.description) for a in alerts]


# -- who may write -------------------------------------------------------------------------------

def test_write_from_an_established_hmi_does_not_alert() -> None:
    # 30 s of polling makes 10.3.0.5 an HMI in the inventory, then it writes a setpoint
    events = [*polling(30), modbus(31.0, 6, "WRITE_SINGLE_REGISTER", "write",
                                   registers=(1200,))]
    assert not any("write" in r for r in rule_ids(run(events)))


def test_write_from_an_unknown_host_without_site_file_is_a_low_hint() -> None:
    events = [*polling(30), modbus(31.0, 6, "WRITE_SINGLE_REGISTER", "write", src=ROGUE,
                                   registers=(1200,))]
    alerts = [a for a in run(events) if a.rule_id.startswith("ot.modbus.write")]
    assert [(a.rule_id, a.severity) for a in alerts] == [
        ("ot.modbus.write_unconfirmed_writer", "low")]
    assert alerts[0].source is not None and alerts[0].source.ip == ROGUE


def test_write_from_an_undeclared_host_with_site_file_is_medium() -> None:
    events = [modbus(1.0, 6, "WRITE_SINGLE_REGISTER", "write", src=ROGUE, registers=(1,)),
              modbus(2.0, 16, "WRITE_MULTIPLE_REGISTERS", "write", src=ROGUE, dst="10.3.1.11",
                     registers=(1, 2))]
    alerts = [a for a in run(events, SITE) if a.rule_id.startswith("ot.modbus.write")]
    # keyed on the writer: one alert for the host, however many devices it wrote to
    assert [(a.rule_id, a.severity, a.count) for a in alerts] == [
        ("ot.modbus.write_unauthorised", "medium", 2)]


def test_site_file_role_makes_a_writer_authorised() -> None:
    events = [modbus(1.0, 6, "WRITE_SINGLE_REGISTER", "write", src=HMI, registers=(1,))]
    assert run(events, SITE) == []
    site = SITE + "  10.1.5.7: {role: writer, name: Batch server}\n"
    events = [modbus(1.0, 6, "WRITE_SINGLE_REGISTER", "write", src=ROGUE, registers=(1,))]
    assert run(events, site) == []


def test_operate_audit_trail_and_unauthorised_operate() -> None:
    crob = (Dnp3Object(group=12, variation=1, name="crob", qualifier=0x28, count=1),)
    operate = dnp3(1.0, "DIRECT_OPERATE", "control", src=HMI, code=5, objects=crob)
    assert [(a.rule_id, a.severity) for a in run([operate], SITE)] == [("ot.dnp3.operate", "low")]
    rogue = dnp3(1.0, "DIRECT_OPERATE", "control", src=ROGUE, code=5, objects=crob)
    assert [(a.rule_id, a.severity) for a in run([rogue], SITE)] == [
        ("ot.dnp3.operate_unauthorised", "high")]


def test_write_to_a_safety_device_is_critical() -> None:
    events = [modbus(1.0, 16, "WRITE_MULTIPLE_REGISTERS", "write", dst="10.3.1.99",
                     registers=(0,))]
    alerts = run(events, SITE)
    assert ("ot.write.safety_system", "critical") in {(a.rule_id, a.severity) for a in alerts}


# -- commands that always alert ------------------------------------------------------------------

@pytest.mark.parametrize(("event", "rule", "severity"), [
    (S7commEvent(ts=1.0, frame=2, src_ip=HMI, dst_ip=PLC, rosctr="job", pdu_ref=7,
                 function="plc_stop", function_class="control", pi_service="P_PROGRAM",
                 pi_action="stop"), "ot.s7.cpu_stop", "high"),
    (modbus(1.0, 90, "UMAS", "control", unit=0, address=None,
            umas=ModbusUmas(code=0x41, function="STOP_PLC", session=1)),
     "ot.modbus.umas_stop", "high"),
    (dnp3(1.0, "COLD_RESTART", "control", code=13), "ot.dnp3.restart", "high"),
    (CipEvent(ts=1.0, frame=2, src_ip=HMI, dst_ip=PLC, service=7, service_name="Stop",
              function_class="control", enip_command="SendUnitData", session_handle=1,
              class_id=0x8E, instance=1), "ot.cip.stop", "high"),
    (Iec104Event(ts=1.0, frame=2, src_ip=HMI, dst_ip=PLC, type_id=105, type_name="C_RP_NA_1",
                 function_class="control", cause=6, cause_name="activation", common_address=1,
                 num_objects=1), "ot.iec104.reset_process", "high"),
    (S7commEvent(ts=1.0, frame=2, src_ip=HMI, dst_ip=PLC, rosctr="job", pdu_ref=8,
                 function="request_download", function_class="program", block="OB1"),
     "ot.s7.program_download", "high"),
])
def test_engineering_commands_alert_even_from_an_hmi(event: Event, rule: str,
                                                      severity: str) -> None:
    alerts = run([*polling(30), event])
    assert (rule, severity) in {(a.rule_id, a.severity) for a in alerts}


# -- thresholds ----------------------------------------------------------------------------------

def _flood(n: int) -> list[Event]:
    g20 = (Dnp3Object(group=20, variation=0, name="counter", qualifier=6),)
    return [dnp3(i / 100, "IMMED_FREEZE", "control", src=ROGUE, code=7, objects=g20)
            for i in range(n)]


def test_dnp3_flood_threshold_edges() -> None:
    assert "ot.dnp3.request_flood" not in rule_ids(run(_flood(49)))
    alerts = [a for a in run(_flood(200)) if a.rule_id == "ot.dnp3.request_flood"]
    assert len(alerts) == 1 and alerts[0].severity == "high"
    assert "T0814" in alerts[0].techniques


def test_dnp3_master_address_cycling() -> None:
    probes = [dnp3(float(i), "READ", "read", src=ROGUE, link_src=i, link_dst=0)
              for i in range(4)]
    assert "ot.dnp3.master_address_cycling" not in rule_ids(run(probes))
    probes.append(dnp3(5.0, "READ", "read", src=ROGUE, link_src=9, link_dst=0))
    alerts = [a for a in run(probes) if a.rule_id == "ot.dnp3.master_address_cycling"]
    assert len(alerts) == 1 and alerts[0].description.endswith(f"from {ROGUE} to {PLC}")


def test_modbus_register_sweep_and_ordinary_block_polling() -> None:
    sweep = [modbus(i * 0.2, 4, "READ_INPUT_REGISTERS", "read", src=ROGUE, tid=i, address=i,
                    quantity=1) for i in range(120)]
    alerts = [a for a in run(sweep) if a.rule_id == "ot.modbus.register_sweep"]
    assert len(alerts) == 1 and severity_at_least(alerts[0].severity, "medium")
    blocks = [modbus(i * 0.2, 3, "READ_HOLDING_REGISTERS", "read", tid=i, address=(i % 40) * 10,
                     quantity=10) for i in range(400)]
    assert "ot.modbus.register_sweep" not in rule_ids(run(blocks))


def test_authorised_roles_listed_in_the_write_rules_match_the_docs() -> None:
    """Every write rule that checks the writer names the same authorised roles."""
    for rule in pack():
        text = repr(rule.match)
        if "src.roles" in text and ("not_in" in text or "'in'" in text):
            for role in AUTHORISED:
                assert role in text, (rule.id, role)
