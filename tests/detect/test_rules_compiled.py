"""The generated rule predicates (one function per rule and event class) against hand-derived
results: missing values, numeric tests on non-numbers, negations, context fields, deep
nesting; and the dispatcher's memo of grouped field values."""

from __future__ import annotations

from typing import Any

import pytest

from otshield.detect.context import AssetContext
from otshield.detect.rules.conditions import compile_block
from otshield.detect.rules.context_fields import RuleContext
from otshield.inventory import InventoryBuilder
from otshield.protocols.modbus.events import ModbusEvent


def mb(**kw: Any) -> ModbusEvent:
    base: dict[str, Any] = dict(ts=1.0, frame=1, transaction_id=1, unit_id=1, function_code=3,
                                function="READ_HOLDING_REGISTERS", function_class="read",
                                status="ok", src_ip="10.0.0.1", dst_ip="8.8.8.8")
    base.update(kw)
    return ModbusEvent(**base)


CTX = RuleContext(AssetContext())


def holds(block: dict[str, Any], event: ModbusEvent) -> bool:
    pred = compile_block(block, ModbusEvent)
    if isinstance(pred, bool):
        return pred
    return bool(pred(event, CTX))


@pytest.mark.parametrize(("block", "event", "expected"), [
    ({"function_code": 3}, mb(), True),
    ({"function_code": {"ne": 3}}, mb(), False),
    ({"function_code": [5, 6]}, mb(), False),
    ({"function_code": {"not_in": [5, 6]}}, mb(), True),
    ({"address": {"exists": True}}, mb(), False),
    ({"address": {"exists": False}}, mb(), True),
    ({"address": {"ge": 0}}, mb(), False),                 # missing: numeric tests fail
    ({"address": {"lt": 10}}, mb(address=4), True),
    ({"address": {"gt": 10}}, mb(address=4), False),
    ({"exception_code": {"ne": 1}}, mb(), True),            # missing: negative tests hold
    ({"mei.type": 14}, mb(), False),                       # optional record is None
    ({"any": [{"mei.type": 14}, {"function_code": 3}]}, mb(), True),
    ({"not": {"function_code": 3}}, mb(), False),
    ({"all": [{"function_code": 3}, {"not": {"unit_id": 2}}]}, mb(), True),
    ({"src.internal": True, "dst.internal": False}, mb(), True),
    ({"dst.internal": {"ne": False}}, mb(), False),
    ({"src.roles": "hmi"}, mb(), False),                   # no inventory: no roles
    ({"src.roles": {"not_in": ["hmi", "historian"]}}, mb(), True),
])
def test_generated_predicate(block: dict[str, Any], event: ModbusEvent, expected: bool) -> None:
    assert holds(block, event) is expected


def test_deep_nesting_compiles_and_keeps_its_meaning() -> None:
    # 150 levels: past the parser's nesting limit if written as one expression
    block: dict[str, Any] = {"function_code": 3}
    negations = 0
    for i in range(150):
        if i % 2:
            block = {"not": block}
            negations += 1
        else:
            block = {"any": [block, {"unit_id": 250}]}
    # unit_id 250 never matches; function_code 3 holds; an odd count of nots inverts it
    assert holds(block, mb()) is (negations % 2 == 0)
    assert holds(block, mb(function_code=4)) is (negations % 2 == 1)


def test_role_answers_follow_the_inventory() -> None:
    inventory = InventoryBuilder()
    ctx = AssetContext(None, inventory)
    assert ctx.roles("10.0.0.1") == frozenset()
    host = inventory.host("ip:10.0.0.1", 1.0, 1)
    assert ctx.roles("10.0.0.1") == frozenset()
    inventory.role(host, "hmi", "test", 1.0, 1)
    assert ctx.roles("10.0.0.1") == frozenset({"hmi"})
