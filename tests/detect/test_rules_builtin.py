"""The built-in rule pack: every file loads without a problem and every rule's examples pass
(one test per rule, so a failure names the rule)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from otshield.detect.rules import BUILTIN_DIR, RuleSet, load_rules
from otshield.detect.rules.examples import check_rule


@functools.cache
def pack() -> RuleSet:
    return load_rules([], builtin=True, strict=False)


def _ids() -> list[str]:
    return [r.id for r in pack()]


def test_pack_loads_without_problems() -> None:
    assert pack().errors == []


def test_pack_files_follow_naming() -> None:
    for path in pack().files:
        assert path.parent == BUILTIN_DIR
        assert path.name.startswith(("ot_", "it_", "net_")), path.name


def test_every_rule_has_examples_of_both_kinds() -> None:
    for rule in pack():
        kinds = {e.expect_match for e in rule.examples}
        assert kinds == {True, False}, rule.id


@pytest.mark.parametrize("rule_id", _ids())
def test_rule_examples(rule_id: str) -> None:
    rule = pack().get(rule_id)
    assert rule is not None
    failures = check_rule(rule)
    assert not failures, "\n".join(str(f) for f in failures)


def _small_captures() -> list[Any]:
    from support import corpus, corpus_params

    picked: dict[tuple[str, str], Any] = {}
    for c in corpus():
        if c.packets <= 3000:
            picked.setdefault((c.protocol, c.label), c)
    return corpus_params(sorted(picked.values(), key=lambda c: str(c.path))[:40])


@pytest.mark.corpus
@pytest.mark.parametrize("capture", _small_captures())
def test_pack_runs_on_real_captures(capture: Any) -> None:
    """Real events of every kind through the whole pack: no rule raises, every alert is well
    formed (a rule of the pack, its key, its tactics)."""
    from otshield.detect.alert import Alert
    from otshield.detect.rules import RuleEngine
    from support import decode

    alerts: list[Alert] = []
    engine = RuleEngine(pack(), None, alerts.append)
    for event in decode(capture.path):
        engine.observe(event)
    engine.finish()
    ids = {r.id for r in pack()}
    for alert in alerts:
        assert alert.rule_id in ids or alert.rule_id.startswith("otshield.rules.")
        assert alert.key.startswith(alert.rule_id + "|")
        rule = pack().get(alert.rule_id)
        if rule is not None:
            assert alert.tactics == rule.tactics and alert.description
