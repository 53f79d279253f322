"""The shortcuts of the detection hot path answer exactly as the plain reading of the rules.

Each shortcut (a predicate decided once per combination of grouped values, context fields
constant for a run, address classes read from a table, regex answers remembered, optional
records read inline, one read of a list element for the baseline, remembered inventory
extractors) is checked against the slow path it replaces, on values derived by hand."""

from __future__ import annotations

from typing import Any

from otshield.detect.alert import Alert
from otshield.detect.baseline.fields import compile_path
from otshield.detect.baseline.state import _raw_key
from otshield.detect.context import AssetContext
from otshield.detect.rules import RuleEngine, parse_rules
from otshield.detect.rules.conditions import compile_block, fields_read, forget_memos
from otshield.detect.rules.context_fields import INLINE_CONTEXT, RuleContext, _ip_class
from otshield.detect.rules.fields import build_event
from otshield.inventory.builder import _fast_extractor
from otshield.inventory.facts import EXTRACTORS
from otshield.inventory.site import parse_site
from otshield.protocols.dnp3.events import Dnp3Event
from otshield.protocols.modbus.events import ModbusEvent

EXAMPLES = """
    examples:
      match: [{dataset: modbus}]
      no_match: [{dataset: modbus}]
"""
SITE = """
site: test
zones:
  - {name: Cell, level: 1, subnets: [10.0.0.0/24]}
assets:
  "ip:10.0.0.2": {role: plc}
"""


def dnp3(**kw: Any) -> Dnp3Event:
    problems: list[str] = []
    event = build_event(Dnp3Event, {"src_ip": "10.0.0.1", "dst_ip": "10.0.0.2", "link_src": 3,
                                    "link_dst": 4, "from_master": True, "function": "READ",
                                    "function_code": 1, **kw}, "test", problems)
    assert event is not None and not problems, problems
    return event  # type: ignore[return-value]


def mb(ts: float = 1.0, **kw: Any) -> ModbusEvent:
    base: dict[str, Any] = dict(ts=ts, frame=1, transaction_id=1, unit_id=1, function_code=3,
                                function="READ_HOLDING_REGISTERS", function_class="read",
                                status="ok", src_ip="10.0.0.1", dst_ip="10.0.0.2")
    base.update(kw)
    return ModbusEvent(**base)


def engine(match: str, context: AssetContext | None = None) -> tuple[RuleEngine, list[Alert]]:
    text = ("rules:\n  - id: t.rule\n    title: T\n    severity: high\n    description: d\n"
            f"    response: r\n    techniques: [T0836]\n    match: {match}" + EXAMPLES)
    ruleset = parse_rules(text, "t.yaml")
    assert not ruleset.errors, ruleset.errors
    out: list[Alert] = []
    return RuleEngine(ruleset, context, out.append), out


def test_fields_read_names_plain_fields_and_refuses_others() -> None:
    block = {"dataset": "modbus", "status": {"ne": "unmatched"},
             "any": [{"function_code": 5}, {"not": {"mei.type": 14}}]}
    assert fields_read(block, ModbusEvent) == frozenset(
        {("status",), ("function_code",), ("mei", "type")})
    with_context = {"dataset": "modbus", "status": "ok", "src.roles": "hmi"}
    assert fields_read(with_context, ModbusEvent) is None
    assert fields_read({"dataset": "modbus", "status": "ok", "dst.declared_roles": "plc"},
                       ModbusEvent, frozenset({"dst.declared_roles"})) == frozenset({("status",)})


def test_predicate_on_grouped_fields_is_decided_per_value_combination() -> None:
    # grouped by function_class; status is not grouped here, so only the class decides
    eng, alerts = engine("{dataset: modbus, function_class: write, unit_id: {ge: 2}}")
    for i, unit in enumerate([1, 2, 3, 1, 2]):
        eng.observe(mb(ts=float(i), function_class="write", unit_id=unit, function_code=6))
    eng.observe(mb(ts=9.0, unit_id=5))  # a read: not this rule
    assert [a.ts for a in alerts] == [1.0, 2.0, 4.0]


def test_constant_context_fields_follow_the_site() -> None:
    bare = RuleContext(AssetContext())
    assert {"src.declared_roles", "dst.zone", "src.safety", "site.zones"} <= \
        bare.constant_fields()
    assert "src.roles" not in bare.constant_fields()
    placed = RuleContext(AssetContext(parse_site(SITE)))
    assert not {"src.declared_roles", "dst.zone", "dst.safety"} & placed.constant_fields()
    # and the rule asking for a declared role answers per address with that site
    eng, alerts = engine("{dataset: modbus, function_class: write, dst.declared_roles: plc}",
                         AssetContext(parse_site(SITE)))
    eng.observe(mb(ts=1.0, function_class="write", function_code=6))
    eng.observe(mb(ts=2.0, function_class="write", function_code=6, dst_ip="10.0.0.3"))
    assert [a.ts for a in alerts] == [1.0]
    eng2, alerts2 = engine("{dataset: modbus, function_class: write, dst.declared_roles: plc}")
    eng2.observe(mb(ts=1.0, function_class="write", function_code=6))
    assert alerts2 == []


def test_internal_table_answers_as_the_address_class() -> None:
    _side, table, no_ip = INLINE_CONTEXT["src.internal"]
    for ip in ["10.1.2.3", "8.8.8.8", "224.0.0.1", "fe80::1", "not-an-ip", "0.0.0.0"]:
        cls = _ip_class(ip)
        assert table[ip] == (cls[0] if cls is not None else None)
    assert table["8.8.8.8"] is False and table["not-an-ip"] is None
    frame = mb(src_ip="", dst_ip="")
    assert no_ip(frame) is None  # no MAC either
    pred = compile_block({"dataset": "modbus", "src.internal": False}, ModbusEvent)
    assert not isinstance(pred, bool)
    ctx = RuleContext()
    assert pred(mb(src_ip="8.8.8.8"), ctx) and not pred(mb(src_ip="10.0.0.9"), ctx)
    assert not pred(mb(src_ip="", dst_ip=""), ctx)  # unknown: fails eq false


def test_regex_answers_are_remembered_and_forgotten() -> None:
    pred = compile_block({"dataset": "modbus", "function": {"regex": "^WRITE_"}}, ModbusEvent)
    neg = compile_block({"dataset": "modbus", "function": {"not_regex": "^WRITE_"}},
                        ModbusEvent)
    assert not isinstance(pred, bool) and not isinstance(neg, bool)
    ctx = RuleContext()
    for _ in range(3):  # the same strings again: the remembered answer
        assert pred(mb(function="WRITE_SINGLE_REGISTER"), ctx)
        assert not pred(mb(function="READ_COILS"), ctx)
        assert not neg(mb(function="WRITE_SINGLE_REGISTER"), ctx)
        assert neg(mb(function="READ_COILS"), ctx)
    forget_memos()
    assert pred(mb(function="WRITE_MULTIPLE_COILS"), ctx)


def test_optional_record_read_inline() -> None:
    pred = compile_block({"dataset": "modbus", "mei.type": 14}, ModbusEvent)
    assert not isinstance(pred, bool)
    ctx = RuleContext()
    assert not pred(mb(), ctx)  # no MEI record: None, not an error
    none_pred = compile_block({"dataset": "modbus", "mei.type": {"exists": False}},
                              ModbusEvent)
    assert not isinstance(none_pred, bool) and none_pred(mb(), ctx)


def test_baseline_reads_one_list_element_once() -> None:
    paths = ("objects.0.group", "objects.0.variation")
    key = _raw_key(paths)
    slow = [compile_path(p) for p in paths]
    with_objects = dnp3(objects=[{"group": 30, "variation": 2}])
    empty = dnp3()
    for e in (with_objects, empty):
        assert key is not None and key(e) == tuple(g(e) for g in slow)
    assert key is not None and key(with_objects) == (30, 2) and key(empty) == (None, None)


def test_inventory_extractors_remembered_or_skipped_give_the_same_facts() -> None:
    remembered = _fast_extractor("dnp3", EXTRACTORS["dnp3"])
    e = dnp3()
    assert remembered(e) == remembered(e) == EXTRACTORS["dnp3"](e) == [
        ("ip", "10.0.0.1", "dnp3_master_address", "3", "dnp3.link"),
        ("ip", "10.0.0.2", "dnp3_outstation_address", "4", "dnp3.link")]
    modbus = _fast_extractor("modbus", EXTRACTORS["modbus"])
    assert modbus(mb()) == [] == EXTRACTORS["modbus"](mb())
