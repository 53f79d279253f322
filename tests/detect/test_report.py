"""The analyze report on a hand-built Analysis: every section, the facts an analyst needs in
each alert (rule, times, endpoints with zone/level/roles, technique names and tactics,
evidence frames), bounded lists, the JSON document and its schema, Markdown, exit codes."""

from __future__ import annotations

import json
from io import StringIO

import jsonschema  # type: ignore[import-untyped]
import msgspec
import pytest
from rich.console import Console

from otshield.detect.alert import Alert, AssetRef, make_alert
from otshield.detect.analyze import Analysis, AnalyzeOptions
from otshield.detect.attack import load_attack_table
from otshield.detect.report import (
    EXIT_ALERTS,
    EXIT_OK,
    EXIT_PROBLEMS,
    SCHEMA,
    SCHEMA_VERSION,
    analysis_json,
    analysis_markdown,
    exit_code,
    print_analysis,
    report_schema,
    utc_iso,
)
from otshield.errors import ConfigError
from otshield.events import FlowEvent
from otshield.inventory.model import AssetRecord, InventorySnapshot, RoleRecord, ZoneRecord
from otshield.protocols.s7comm.events import S7commEvent

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HMI = AssetRef(ip="10.10.20.10", asset="ip:10.10.20.10", name="HMI-01", zone="SCADA", level=2,
               roles=("hmi",))
PLC = AssetRef(ip="10.10.30.21", asset="ip:10.10.30.21", name="S7-PLC", zone="Control",
               level=1, roles=("controller",), safety=True)


def _stop(frame: int = 1234) -> Alert:
    event = S7commEvent(ts=T0 + 60, frame=frame, src_ip=HMI.ip, src_port=49152, dst_ip=PLC.ip,
                        dst_port=102, transport="tcp", rosctr="job", pdu_ref=3,
                        function="plc_stop", function_class="control")
    alert = make_alert(event, rule_id="ot.s7.cpu_stop", title="S7 PLC put into STOP",
                       severity="critical", confidence="high",
                       description="S7 PLC STOP sent by 10.10.20.10 to 10.10.30.21",
                       response="Confirm with operations whether the stop was planned.",
                       techniques=("T0881", "T0858"),
                       tactics=("execution", "inhibit-response-function"),
                       source=HMI, destination=PLC)
    return msgspec.structs.replace(alert, count=12, last_seen=T0 + 90,
                                   frames=tuple(range(frame, frame + 12)))


def _flow_alert(i: int, severity: str = "medium", category: str = "rule",
                rule: str = "net.scan.tcp_ports", **kw: object) -> Alert:
    flow = FlowEvent(ts=T0 + i, frame=100 + i, start=T0 + i, src_ip="10.10.10.101",
                     src_port=50000 + i, dst_ip=f"10.10.30.{i}", dst_port=445, transport="tcp",
                     protocol="smb", state="rejected")
    return make_alert(flow, rule_id=rule, title=f"Alert {i}", severity=severity,
                      category=category, techniques=("T0846",), tactics=("discovery",),
                      **kw)  # type: ignore[arg-type]


def _inventory() -> InventorySnapshot:
    def role(name: str) -> RoleRecord:
        return RoleRecord(role=name, evidence=["seen"], source="inferred")

    assets = [AssetRecord(id="ip:10.10.20.10", ips=["10.10.20.10"], macs=[], name="HMI-01",
                          roles=[role("hmi")], purdue_level=2, zone="SCADA"),
              AssetRecord(id="ip:10.10.10.101", ips=["10.10.10.101"], macs=[], name="pc",
                          roles=[role("it_host")], zone="Enterprise")]
    for i in range(20):
        assets.append(AssetRecord(id=f"ip:10.10.30.{i + 1}", ips=[f"10.10.30.{i + 1}"],
                                  macs=[], name=f"PLC-{i + 1:02d}", vendor="Siemens",
                                  product="S7-1500", version="2.9", roles=[role("controller")],
                                  purdue_level=1, zone="Control"))
    zones = [ZoneRecord(name="Control", purdue_level=1, source="site",
                        assets=[a.id for a in assets[2:]])]
    return InventorySnapshot(assets=assets, zones=zones)


def hand_analysis() -> Analysis:
    alerts = [_stop()]
    alerts += [_flow_alert(i, "low") for i in range(1, 14)]  # 13 low: more than shown (10)
    alerts.append(_flow_alert(40, "medium", "baseline", "baseline.new_talker",
                              details={"baseline": "new talker pair"}))
    alerts.append(_flow_alert(41, "high", "intel", "intel.ip",
                              details={"indicator": "indicator--1234"}))
    alerts.append(_flow_alert(42, "high", "policy", "policy.no_conduit",
                              details={"zones": "Enterprise -> Control"}))
    return Analysis(captures=["plant.pcap"], packets=54321, first_ts=T0, last_ts=T0 + 600,
                    alerts=alerts, inventory=_inventory(),
                    problems=["plant.pcap: truncated record; the 54,321 packets before that "
                              "were analysed"],
                    detectors=["rules", "policy", "intel", "baseline"], rules=143,
                    attack_version="18.1", seconds=1.5,
                    options=AnalyzeOptions(site="site.yaml"))


def render(analysis: Analysis, verbose: bool = False, width: int = 100) -> str:
    buf = StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    print_analysis(analysis, console, verbose=verbose)
    return buf.getvalue()


def test_text_has_every_section_and_the_facts_of_an_alert() -> None:
    text = render(hand_analysis())
    for needle in (
            "otshield analysis", "plant.pcap", "54,321",
            "2026-01-01T00:00:00.000Z .. 2026-01-01T00:10:00.000Z (10.0 min)",
            "rules, policy, intel, baseline", "143 loaded", "ATT&CK for ICS v18.1",
            "17 alerts", "1 critical, 2 high, 1 medium, 13 low, 0 info",
            "Alerts (16)", "CRITICAL (1)", "HIGH (1)", "MEDIUM (1)", "LOW (13)",
            "S7 PLC put into STOP", "ot.s7.cpu_stop", "x12",
            "2026-01-01T00:01:00.000Z .. 2026-01-01T00:01:30.000Z",
            "10.10.20.10 HMI-01 (SCADA; level 2; hmi)",
            "10.10.30.21:102 S7-PLC (Control; level 1; controller; SAFETY)",
            "T0881 Service Stop, T0858 Change Operating Mode",
            "Execution, Inhibit Response Function", "ot.s7.cpu_stop (confidence high)",
            "S7 PLC STOP sent by 10.10.20.10", "Confirm with operations",
            "1234, 1235, 1236, 1237, 1238, 1239, 1240, 1241 ... and 4 more",
            "[baseline]", "baseline: new talker pair", "[threat intel]",
            "indicator: indicator--1234",
            "Policy violations (1)", "policy.no_conduit", "zones: Enterprise -> Control",
            "Assets (22)", "level 1: 20", "level 2: 1", "unknown: 1", "controller: 20",
            "Controllers (20)", "PLC-01", "Siemens", "S7-1500",
            "Problems (1)", "truncated record"):
        assert needle in text, needle
    # Policy violations have their own section, after the alerts.
    assert text.index("Policy violations") > text.index("LOW (13)")
    assert text.index("Assets (22)") > text.index("Policy violations")


def test_text_bounds_long_lists_and_verbose_shows_all() -> None:
    analysis = hand_analysis()
    short = render(analysis)
    assert "... and 3 more low alerts (--verbose shows all)" in short
    assert "Alert 10" in short and "Alert 11" not in short
    assert "... and 5 more controllers" in short and "PLC-16" not in short
    full = render(analysis, verbose=True)
    assert "more low alerts" not in full and "Alert 13" in full
    assert "PLC-20" in full and "more controllers" not in full
    assert "1245" in full and "... and 4 more" not in full
    # Verbose shows the evidence events, with their output names.
    assert "evidence" in full and "function=plc_stop" in full


def test_text_fits_100_columns_and_has_no_colour_off_a_terminal() -> None:
    text = render(hand_analysis())
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_text_when_nothing_was_found() -> None:
    text = render(Analysis(captures=[]))
    assert "no alerts" in text and "no packets" in text and "no assets seen" in text
    assert "Policy violations" not in text and "Problems" not in text


def test_markup_in_values_is_printed_as_is() -> None:
    # Values come from the wire: rich markup in them must not be interpreted.
    alert = msgspec.structs.replace(_flow_alert(1), description="user [bold]root[/bold]")
    text = render(Analysis(captures=["x"], alerts=[alert]))
    assert "user [bold]root[/bold]" in text


def test_json_document() -> None:
    analysis = hand_analysis()
    doc = json.loads(analysis_json(analysis))
    assert doc["schema"] == SCHEMA == "otshield.analysis"
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["generator"].startswith("otshield ")
    assert list(doc) == ["schema", "schema_version", "generator", "summary", "options", "alerts",
                         "inventory", "problems"]
    summary = doc["summary"]
    assert summary["captures"] == ["plant.pcap"] and summary["packets"] == 54321
    assert summary["first_seen"] == "2026-01-01T00:00:00.000Z"
    assert summary["span_seconds"] == 600.0
    assert summary["by_severity"] == {"critical": 1, "high": 2, "medium": 1, "low": 13,
                                      "info": 0}
    assert summary["by_category"] == {"baseline": 1, "intel": 1, "policy": 1, "rule": 14}
    assert summary["alerts"] == 17 and summary["occurrences"] == 12 + 16
    assert summary["highest_severity"] == "critical"
    assert summary["rules"] == 143 and summary["attack_version"] == "18.1"
    first = doc["alerts"][0]
    # The alert as alert.jsonl writes it (ECS names) plus the technique names.
    assert first["event.dataset"] == "alert" and first["rule.id"] == "ot.s7.cpu_stop"
    assert first["event.severity"] == 99 and first["severity"] == "critical"
    assert first["threat.technique.id"] == ["T0881", "T0858"]
    assert first["threat.technique.name"] == ["Service Stop", "Change Operating Mode"]
    assert first["event.count"] == 12 and first["frames"][:2] == [1234, 1235]
    assert first["source"]["name"] == "HMI-01" and first["destination"]["safety"] is True
    inv = doc["inventory"]
    assert inv["assets"] == 22 and inv["by_role"]["controller"] == 20
    assert inv["by_level"] == {"1": 20, "2": 1, "unknown": 1}
    assert len(inv["controllers"]) == 20  # the JSON is not bounded
    assert inv["controllers"][0]["name"] == "PLC-01"
    assert inv["zones"] == [{"name": "Control", "level": 1, "source": "site", "assets": 20}]
    assert doc["options"]["site"] == "site.yaml"
    assert doc["problems"] == analysis.problems
    jsonschema.validate(doc, report_schema())


def test_json_is_stable() -> None:
    assert analysis_json(hand_analysis()) == analysis_json(hand_analysis())
    empty = json.loads(analysis_json(Analysis(captures=[])))
    assert empty["summary"]["highest_severity"] is None and empty["alerts"] == []
    assert empty["summary"]["first_seen"] == ""


def test_markdown() -> None:
    md = analysis_markdown(hand_analysis())
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings[:4] == ["# otshield analysis", "## Summary", "## Alerts (16)",
                            "### Critical (1)"]
    assert "#### S7 PLC put into STOP (x12)" in headings
    assert "## Policy violations (1)" in headings and "## Assets (22)" in headings
    assert "### Controllers (20)" in headings and "## Problems (1)" in headings
    assert "#### Alert 40 \\[baseline\\]" in headings
    assert "- **Rule:** `ot.s7.cpu_stop`" in md
    assert "- **ATT&CK for ICS:** T0881 Service Stop, T0858 Change Operating Mode" in md
    assert "... and 4 more" in md and "... and 3 more low alerts" in md
    assert "| 1 | PLC-01 | 10.10.30.1 | Siemens | S7-1500 | 2.9 | Control |" in md
    # Text from the wire cannot break the Markdown.
    alert = msgspec.structs.replace(_flow_alert(1), description="a | b *c* <script>")
    md = analysis_markdown(Analysis(captures=["x"], alerts=[alert]))
    assert "a \\| b \\*c\\* \\<script\\>" in md


def test_exit_codes() -> None:
    analysis = hand_analysis()
    assert exit_code(analysis) == EXIT_ALERTS == 3
    assert exit_code(analysis, "critical") == EXIT_ALERTS
    only_medium = Analysis(captures=["x"], alerts=[_flow_alert(1, "medium")])
    assert exit_code(only_medium) == EXIT_OK == 0
    assert exit_code(only_medium, "medium") == EXIT_ALERTS
    with_problem = Analysis(captures=["x"], alerts=[_flow_alert(1, "medium")],
                            problems=["cut short"])
    assert exit_code(with_problem) == EXIT_PROBLEMS == 1
    assert exit_code(with_problem, "low") == EXIT_ALERTS
    with pytest.raises(ConfigError, match="--fail-on"):
        exit_code(analysis, "severe")


def test_technique_names_come_from_the_table_given() -> None:
    table = load_attack_table()
    # A table without the technique: the id alone is shown, never a wrong name.
    empty = msgspec.structs.replace(table, techniques={})
    buf = StringIO()
    print_analysis(hand_analysis(), Console(file=buf, width=100), attack=empty)
    assert "T0881, T0858" in buf.getvalue()
    doc = json.loads(analysis_json(hand_analysis(), attack=empty))
    assert doc["alerts"][0]["threat.technique.name"] == ["", ""]


def test_utc_iso() -> None:
    assert utc_iso(T0 + 0.5) == "2026-01-01T00:00:00.500Z"
    assert utc_iso(0.0) == ""
