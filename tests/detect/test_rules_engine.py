"""The rule engine: match rules, thresholds (count, distinct, per key, window expiry, once per
window), sequences (order, within, same asset, expiry, bounded state) and the alerts it builds."""

from __future__ import annotations

import textwrap
from typing import Any

import netaddr
import pytest

from otshield.detect.alert import Alert, AlertAggregator
from otshield.detect.context import AssetContext
from otshield.detect.rules import RuleEngine, RuleSet, parse_rules
from otshield.detect.rules.engine import STATE_LIMIT_RULE
from otshield.detect.rules.fields import build_event, dataset_classes
from otshield.events import Event
from otshield.inventory.site import Site, SiteZone

EXAMPLES = """
    examples:
      match: [{dataset: modbus}]
      no_match: [{dataset: modbus}]
"""


def rules(body: str, **fields: str) -> RuleSet:
    """One rule: ``body`` gives match/threshold/sequence (and may override fields)."""
    head = {"id": "t.rule", "title": "Test rule", "severity": "high", "techniques": "[T0836]",
            "description": "why", "response": "what", **fields}
    text = "rules:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in head.items()) + "\n"
    text += textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    text += EXAMPLES
    return parse_rules(text, "test.yaml")


def ev(dataset: str, ts: float = 1.0, **fields: Any) -> Event:
    problems: list[str] = []
    event = build_event(dataset_classes()[dataset], {"ts": ts, **fields}, "test", problems)
    assert event is not None and not problems, problems
    return event


def mb(ts: float, src: str = "10.1.0.5", dst: str = "10.0.0.10", unit: int = 1,
       fc: int = 6, frame: int = 1) -> Event:
    return ev("modbus", ts, frame=frame, src_ip=src, dst_ip=dst, unit_id=unit,
              function_code=fc, function="WRITE_SINGLE_REGISTER", function_class="write",
              status="ok", transaction_id=frame)


def run(ruleset: RuleSet, events: list[Event], context: AssetContext | None = None,
        **kw: Any) -> list[Alert]:
    out: list[Alert] = []
    engine = RuleEngine(ruleset, context, out.append, **kw)
    for event in events:
        engine.observe(event)
    engine.finish()
    return out


# -- match rules -----------------------------------------------------------------------------------

def test_match_rule_alert_fields() -> None:
    rs = rules("""
        match: {dataset: modbus, function_code: [5, 6], dst.level: 2}
        message: "write to unit {unit_id} of {destination.ip} by {src_ip} ({src.zone})"
        key: [dst_ip]
        """, techniques="[T0836, T0855]", confidence="high", tags="[write]")
    zone = SiteZone(name="Control", level=2, subnets=["10.0.0.0/24"])
    site = (Site(zones=[zone], assets={"10.0.0.10": {"name": "PLC-1", "role": "controller"}}),
            [(netaddr.IPNetwork("10.0.0.0/24"), zone)])
    alerts = run(rs, [mb(5.0, frame=7), mb(6.0, fc=3), mb(7.0, dst="10.2.0.1")],
                 AssetContext(site))
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.rule_id, a.title, a.severity, a.confidence, a.category) == (
        "t.rule", "Test rule", "high", "high", "rule")
    assert a.description == "write to unit 1 of 10.0.0.10 by 10.1.0.5 ()"
    assert a.response == "what"
    assert a.techniques == ("T0836", "T0855")
    assert a.tactics == ("impair-process-control",)
    assert a.key == "t.rule|10.0.0.10"
    assert a.ts == 5.0 and a.frames == (7,)
    assert a.protocol == "modbus"
    assert a.destination is not None and a.destination.name == "PLC-1"
    assert a.destination.zone == "Control" and a.destination.level == 2
    assert a.destination.roles == ("controller",)
    assert a.source is not None and a.source.ip == "10.1.0.5" and a.source.zone == ""
    assert a.evidence[0]["event.dataset"] == "modbus"


def test_default_key_and_title_message() -> None:
    rs = rules("match: {dataset: modbus}")
    alerts = run(rs, [mb(1.0)])
    assert alerts[0].key == "t.rule|10.1.0.5|10.0.0.10"
    assert alerts[0].description == "Test rule"


def test_default_key_link_layer_uses_macs() -> None:
    rs = rules("match: {dataset: goose}")
    frame = ev("goose", src_mac="00:11:22:33:44:55", dst_mac="01:0c:cd:01:00:01")
    alerts = run(rs, [frame])
    assert alerts[0].key == "t.rule|00:11:22:33:44:55|01:0c:cd:01:00:01"
    assert alerts[0].source is not None and alerts[0].source.mac == "00:11:22:33:44:55"


def test_message_placeholder_missing_on_this_class_left_as_written() -> None:
    rs = rules("""
        match: {dataset: [modbus, s7comm]}
        message: "unit {unit_id} pdu {pdu_ref}"
        """)
    s7 = ev("s7comm", rosctr="job", pdu_ref=9, function="x", function_class="read")
    assert [a.description for a in run(rs, [mb(1.0), s7])] == [
        "unit 1 pdu {pdu_ref}", "unit {unit_id} pdu 9"]


def test_message_values_cut() -> None:
    rs = rules("""
        match: {dataset: http}
        message: "uri {uri} {url.original:>5}"
        """)
    alerts = run(rs, [ev("http", uri="/" + "a" * 500)])
    text = alerts[0].description
    assert text.startswith("uri /aaa")
    parts = text.split(" ")
    assert len(parts[1]) == 200 and parts[1].endswith("…")
    assert len(parts[2]) == 200


def test_disabled_rule_does_not_run() -> None:
    rs = rules("match: {dataset: modbus}", enabled="false")
    assert run(rs, [mb(1.0)]) == []


def test_index_by_class_skips_other_events() -> None:
    rs = rules("match: {dataset: modbus}")
    engine = RuleEngine(rs, None, lambda a: None)
    engine.observe(ev("s7comm", rosctr="job", pdu_ref=1, function="x", function_class="read"))
    engine.observe(mb(1.0))
    assert engine.fired == {"t.rule": 1}
    assert {cls.__name__: engine.candidates(cls) for cls in engine._by_class} == {
        "S7commEvent": 0, "ModbusEvent": 1}


def test_prefilter_groups_rules_by_field_value() -> None:
    text = "rules:\n"
    for i, fc in enumerate([5, 6, 6, 16]):
        text += f"""  - id: t.r{i}
    title: R{i}
    severity: low
    techniques: [T0836]
    description: d
    response: r
    match: {{dataset: modbus, function_code: {fc}, unit_id: {{ge: 1}}}}
    examples: {{match: [{{dataset: modbus}}], no_match: [{{dataset: modbus}}]}}
"""
    text += """  - id: t.in
    title: In
    severity: low
    techniques: [T0836]
    description: d
    response: r
    match: {dataset: modbus, function_code: [3, 6]}
    examples: {match: [{dataset: modbus}], no_match: [{dataset: modbus}]}
"""
    rs = parse_rules(text, "r.yaml")
    alerts = run(rs, [mb(1.0, fc=6), mb(2.0, fc=16), mb(3.0, fc=3), mb(4.0, fc=6, unit=0),
                      mb(5.0, fc=1)])
    assert [(a.ts, a.rule_id) for a in alerts] == [
        (1.0, "t.r1"), (1.0, "t.r2"), (1.0, "t.in"), (2.0, "t.r3"), (3.0, "t.in"),
        (4.0, "t.in")]


def test_alerts_merge_in_aggregator() -> None:
    rs = rules("match: {dataset: modbus}")
    agg = AlertAggregator()
    engine = RuleEngine(rs, None, agg)
    for i in range(5):
        engine.observe(mb(float(i), frame=i + 1))
    merged = agg.alerts()
    assert len(merged) == 1 and merged[0].count == 5 and merged[0].last_seen == 4.0


# -- thresholds ------------------------------------------------------------------------------------

COUNT = """
    match: {dataset: modbus}
    threshold: {window: 10s, count: 3}
    message: "{count} writes"
"""


def test_threshold_count_fires_when_crossed() -> None:
    alerts = run(rules(COUNT), [mb(0.0, frame=1), mb(1.0, frame=2), mb(2.0, frame=3)])
    assert len(alerts) == 1
    assert alerts[0].ts == 2.0
    assert alerts[0].description == "3 writes"
    assert alerts[0].frames == (1, 2, 3)
    assert [e["frame"] for e in alerts[0].evidence] == [1, 2, 3]
    assert alerts[0].details == {"count": "3", "distinct": "0"}


def test_threshold_not_crossed() -> None:
    assert run(rules(COUNT), [mb(0.0), mb(1.0)]) == []


def test_threshold_window_expiry() -> None:
    # 3 events, but never 3 within 10 s
    assert run(rules(COUNT), [mb(0.0), mb(6.0), mb(12.0), mb(18.5)]) == []
    # the window slides: 6, 12, 15 are within 10 s
    alerts = run(rules(COUNT), [mb(0.0), mb(6.0), mb(12.0), mb(15.0)])
    assert [a.ts for a in alerts] == [15.0]


def test_threshold_once_per_window_per_key() -> None:
    events = [mb(float(t), frame=t + 1) for t in range(0, 25)]  # one a second for 25 s
    alerts = run(rules(COUNT), events)
    # crossed at 2; again no sooner than one window (10 s) later: 12, 22
    assert [a.ts for a in alerts] == [2.0, 12.0, 22.0]
    assert len({a.key for a in alerts}) == 1


def test_threshold_per_key() -> None:
    rs = rules("""
        match: {dataset: modbus}
        threshold: {window: 10s, count: 2, by: [src_ip]}
        key: [src_ip]
        """)
    alerts = run(rs, [mb(0.0, src="10.0.0.1"), mb(1.0, src="10.0.0.2"),
                      mb(2.0, src="10.0.0.3"), mb(3.0, src="10.0.0.2")])
    assert [(a.ts, a.key) for a in alerts] == [(3.0, "t.rule|10.0.0.2")]


def test_threshold_default_key_is_rule_key() -> None:
    rs = rules("""
        match: {dataset: modbus}
        threshold: {window: 10s, count: 2}
        """)
    # same source, two destinations: default key src+dst, so no window reaches 2
    assert run(rs, [mb(0.0, dst="10.0.0.1"), mb(1.0, dst="10.0.0.2")]) == []
    assert len(run(rs, [mb(0.0, dst="10.0.0.1"), mb(1.0, dst="10.0.0.1")])) == 1


DISTINCT = """
    match: {dataset: modbus}
    threshold: {window: 60s, count: 3, distinct: unit_id, by: [src_ip]}
    message: "{distinct} units, {count} requests"
"""


def test_threshold_distinct() -> None:
    events = [mb(0.0, unit=1), mb(1.0, unit=1), mb(2.0, unit=2), mb(3.0, unit=2),
              mb(4.0, unit=3)]
    alerts = run(rules(DISTINCT), events)
    assert len(alerts) == 1
    assert alerts[0].ts == 4.0
    assert alerts[0].description == "3 units, 3 requests"


def test_threshold_distinct_expiry() -> None:
    # unit 1 at 0 s falls out of the 60 s window by the time unit 3 comes
    assert run(rules(DISTINCT), [mb(0.0, unit=1), mb(30.0, unit=2), mb(61.0, unit=3)]) == []
    # seen again inside the window, it counts
    alerts = run(rules(DISTINCT), [mb(0.0, unit=1), mb(30.0, unit=2), mb(40.0, unit=1),
                                   mb(61.0, unit=3)])
    assert [a.ts for a in alerts] == [61.0]


def test_threshold_distinct_over_list_values() -> None:
    rs = rules("""
        match: {dataset: s7comm}
        threshold: {window: 60s, count: 3, distinct: items.db}
        """)

    def s7(ts: float, dbs: list[int]) -> Event:
        return ev("s7comm", ts, rosctr="job", pdu_ref=1, function="read_var",
                  function_class="read", items=[{"db": d} for d in dbs])
    assert run(rs, [s7(0, [1, 2])]) == []
    assert len(run(rs, [s7(0, [1, 2]), s7(1, [2, 3])])) == 1


def test_threshold_keys_bounded() -> None:
    rs = rules("""
        match: {dataset: modbus}
        threshold: {window: 100s, count: 2, by: [src_ip]}
        """)
    events = [mb(float(i), src=f"10.0.{i // 250}.{i % 250}") for i in range(1500)]
    out: list[Alert] = []
    engine = RuleEngine(rs, None, out.append, max_keys=1000)
    for e in events:
        engine.observe(e)
    assert engine.state_size == 1000  # the least recently seen keys were dropped
    assert [a.rule_id for a in out] == [STATE_LIMIT_RULE]  # said once
    assert out[0].details == {"rule": "t.rule", "limit": "1000"}
    assert out[0].severity == "info"


# -- sequences -------------------------------------------------------------------------------------

SEQ = """
    sequence:
      within: 30m
      steps:
        - match: {dataset: rdp}
          on: dst_ip
        - match: {dataset: modbus, function_class: write}
          on: src_ip
    message: "{src_ip} wrote after an RDP session"
"""


def rdp(ts: float, src: str = "10.9.0.1", dst: str = "10.1.0.5", frame: int = 1) -> Event:
    return ev("rdp", ts, frame=frame, src_ip=src, dst_ip=dst)


def test_sequence_fires_on_last_step() -> None:
    alerts = run(rules(SEQ), [rdp(0.0, frame=1), mb(60.0, frame=2)])
    assert len(alerts) == 1
    a = alerts[0]
    assert a.ts == 60.0 and a.description == "10.1.0.5 wrote after an RDP session"
    assert [e["event.dataset"] for e in a.evidence] == ["rdp", "modbus"]
    assert a.frames == (1, 2)


def test_sequence_order_matters() -> None:
    assert run(rules(SEQ), [mb(0.0), rdp(60.0)]) == []


def test_sequence_within() -> None:
    assert run(rules(SEQ), [rdp(0.0), mb(1801.0)]) == []
    assert len(run(rules(SEQ), [rdp(0.0), mb(1800.0)])) == 1
    # a later first step re-arms the window
    assert len(run(rules(SEQ), [rdp(0.0), rdp(1000.0), mb(2500.0)])) == 1


def test_sequence_same_asset() -> None:
    # the RDP went to 10.1.0.6, the write came from 10.1.0.5
    assert run(rules(SEQ), [rdp(0.0, dst="10.1.0.6"), mb(10.0)]) == []
    alerts = run(rules(SEQ), [rdp(0.0, dst="10.1.0.6"), rdp(1.0), mb(10.0, src="10.1.0.6"),
                              mb(11.0)])
    assert [a.src_ip for a in alerts] == ["10.1.0.6", "10.1.0.5"]


def test_sequence_one_alert_per_chain() -> None:
    alerts = run(rules(SEQ), [rdp(0.0), mb(1.0), mb(2.0), rdp(3.0), mb(4.0)])
    assert [a.ts for a in alerts] == [1.0, 4.0]


def test_sequence_three_steps_and_one_event_one_step() -> None:
    rs = rules("""
        sequence:
          within: 1h
          steps:
            - match: {dataset: modbus, function_class: read}
            - match: {dataset: modbus, function_class: read}
            - match: {dataset: modbus, function_code: 8}
        """)

    def read(ts: float) -> Event:
        return ev("modbus", ts, src_ip="10.1.0.5", dst_ip="10.0.0.1", transaction_id=1,
                  unit_id=1, function_code=3, function="READ", function_class="read",
                  status="ok")
    diag = ev("modbus", 9.0, src_ip="10.1.0.5", dst_ip="10.0.0.1", transaction_id=1,
              unit_id=1, function_code=8, function="DIAGNOSTICS", function_class="diagnostics",
              status="ok")
    # one read is not two steps
    assert run(rs, [read(1.0), diag]) == []
    alerts = run(rs, [read(1.0), read(2.0), diag])
    assert len(alerts) == 1 and len(alerts[0].evidence) == 3


def test_sequence_state_bounded() -> None:
    events = [rdp(float(i), dst=f"10.1.{i // 250}.{i % 250}") for i in range(300)]
    out: list[Alert] = []
    engine = RuleEngine(rules(SEQ), None, out.append, max_keys=100)
    for e in events:
        engine.observe(e)
    assert engine.state_size == 100
    assert [a.rule_id for a in out] == [STATE_LIMIT_RULE]
    # the most recent chains are kept, the oldest dropped
    engine.observe(mb(400.0, src="10.1.1.49"))   # asset 299: kept
    engine.observe(mb(401.0, src="10.1.0.0"))    # asset 0: dropped
    assert [a.src_ip for a in out[1:]] == ["10.1.1.49"]


def test_sequence_expired_chains_make_room_first() -> None:
    events = [rdp(float(i), dst=f"10.1.0.{i}") for i in range(100)]
    events.append(rdp(5000.0, dst="10.1.1.1"))  # all earlier chains have expired
    out: list[Alert] = []
    engine = RuleEngine(rules(SEQ), None, out.append, max_keys=100)
    for e in events:
        engine.observe(e)
    assert out == []  # expired chains made room: nothing live was dropped


def test_finish_drops_pending_state() -> None:
    out: list[Alert] = []
    engine = RuleEngine(rules(SEQ), None, out.append)
    engine.observe(rdp(0.0))
    assert engine.state_size == 1
    engine.finish()
    assert engine.state_size == 0 and out == []


def test_repeated_alerts_after_full_detail_are_light() -> None:
    rs = rules("""
        match: {dataset: modbus}
        message: "unit {unit_id}"
        """)
    agg = AlertAggregator()
    raw: list[Alert] = []

    def sink(alert: Alert) -> None:
        raw.append(alert)
        agg(alert)
    engine = RuleEngine(rs, None, sink)
    for i in range(30):
        engine.observe(mb(float(i), frame=i + 1, unit=i))
    assert len(raw) == 30 and engine.fired == {"t.rule": 30}
    assert [a.description for a in raw[:21]] == [f"unit {i}" for i in range(20)] + ["unit 0"]
    assert raw[25].frames == () and raw[25].evidence == () and raw[25].ts == 25.0
    merged = agg.alerts()
    assert len(merged) == 1
    assert merged[0].count == 30 and merged[0].last_seen == 29.0
    assert merged[0].frames == tuple(range(1, 21))
    assert len(merged[0].evidence) == 3


# -- in the pipeline, on real captures -------------------------------------------------------------

def test_engine_is_a_detector_in_the_pipeline() -> None:
    from otshield.detect.pipeline import DetectionPipeline, Detector

    holder: list[DetectionPipeline] = []

    def sink(alert: Alert) -> None:
        holder[0].alert_sink(alert)
    engine: Detector = RuleEngine(rules("match: {dataset: modbus, function_code: 6}"), None,
                                  sink)
    pipeline = DetectionPipeline([engine])
    holder.append(pipeline)
    for i in range(3):
        pipeline(mb(float(i), frame=i + 1))
    pipeline(mb(5.0, fc=3))
    pipeline.finish()
    alerts = pipeline.alerts()
    assert [(a.rule_id, a.count, a.frames) for a in alerts] == [("t.rule", 3, (1, 2, 3))]
    assert pipeline.errors == 0


S7_STOP = """
    match: {dataset: s7comm, function: [plc_stop, pi_service], function_class: control}
    key: [src_ip, dst_ip, function]
    message: "{function} from {src_ip}"
"""


@pytest.mark.corpus
def test_real_capture_s7_control() -> None:
    from support import PCAPS, decode

    path = PCAPS / "gymgit-s7" / "snap7_s300_everything.pcapng"
    if not path.is_file():
        pytest.skip("corpus capture absent")
    events = decode(path)
    s7comm = dataset_classes()["s7comm"]
    expected: list[Any] = [
        e for e in events if isinstance(e, s7comm) and getattr(e, "function", "") in (
            "plc_stop", "pi_service") and getattr(e, "function_class", "") == "control"]
    alerts = run(rules(S7_STOP), events)
    # tshark: one PLC STOP job (frame 57) and three PI-service jobs, two of them control
    assert len(alerts) == len(expected) == 3
    assert [a.frame for a in alerts] == [e.frame for e in expected]
    assert all(a.description == f"{e.function} from {e.src_ip}"
               for a, e in zip(alerts, expected, strict=True))


def test_threshold_window_out_of_order_events_do_not_stretch_it() -> None:
    """Flows still open at the end of the input arrive together, in table order: events far
    apart in time must not be counted in one window because they arrived together."""
    from otshield.detect.rules.windows import ThresholdWindows

    win = ThresholdWindows(window=60.0, count=3, distinct=False, max_keys=10)
    assert win.add("k", 10_000.0, "a") is None
    assert win.add("k", 5_000.0, "b") is None  # older than the window of the newest: ignored
    assert win.add("k", 1_000.0, "c") is None
    assert win.add("k", 9_990.0, "d") is None  # late but inside the window: counts
    fired = win.add("k", 10_010.0, "e")
    assert fired is not None and fired[1] == 3

    distinct = ThresholdWindows(window=60.0, count=3, distinct=True, max_keys=10)
    assert distinct.add("h", 10_000.0, "a", "10.0.0.1") is None
    assert distinct.add("h", 100.0, "b", "10.0.0.2") is None
    assert distinct.add("h", 50.0, "c", "10.0.0.3") is None
    assert distinct.add("h", 9_999.0, "d", "10.0.0.4") is None
    assert distinct.add("h", 10_001.0, "e", "10.0.0.5") is not None
