"""Running the examples rules carry: each ``match`` example must fire its rule, each
``no_match`` example must not (docs/rules.md, "Examples").

Every example runs on a fresh engine holding only its rule, with an asset context made from
the example's ``context:`` (a real site: one /32 zone entry per address, asset overrides for
roles, safety and names). Disabled rules are tested too: a rule switched off today should still
be right when it is switched on.

    .venv/bin/python -m otshield.detect.rules.examples [RULE_FILES_OR_DIRS] [--no-builtin]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from otshield.detect.alert import Alert
from otshield.detect.context import AssetContext
from otshield.detect.rules.engine import RuleEngine
from otshield.detect.rules.model import Example, Rule, RuleSet

__all__ = ["ExampleFailure", "main", "run_example", "run_examples"]


@dataclasses.dataclass(frozen=True)
class ExampleFailure:
    rule_id: str
    where: str
    """``file:line`` of the example."""
    example: str
    """``match[0]``, ``no_match[2]``."""
    expected: str
    got: str

    def __str__(self) -> str:
        return (f"{self.where}: rule {self.rule_id}: example {self.example}: expected "
                f"{self.expected}, got {self.got}")


def run_example(rule: Rule, example: Example) -> list[Alert]:
    """The alerts ``rule`` raises on ``example`` (a fresh engine, the example's context)."""
    alerts: list[Alert] = []
    live = dataclasses.replace(rule, enabled=True)
    engine = RuleEngine(RuleSet([live]), AssetContext(example.site), alerts.append)
    for event in example.events:
        engine.observe(event)
    engine.finish()
    return [a for a in alerts if a.rule_id == rule.id]


def run_examples(ruleset: RuleSet | Sequence[Rule]) -> list[ExampleFailure]:
    """Every example of every rule; the failures (empty when all pass)."""
    failures: list[ExampleFailure] = []
    for rule in ruleset:
        failures.extend(check_rule(rule))
    return failures


def check_rule(rule: Rule) -> list[ExampleFailure]:
    failures: list[ExampleFailure] = []
    for example in rule.examples:
        alerts = run_example(rule, example)
        which = f"{'match' if example.expect_match else 'no_match'}[{example.index}]"
        where = f"{rule.origin}:{example.line}"
        if example.expect_match and not alerts:
            failures.append(ExampleFailure(rule.id, where, which, "an alert", "none"))
        elif not example.expect_match and alerts:
            failures.append(ExampleFailure(rule.id, where, which, "no alert",
                                           f"{len(alerts)} alert(s): {alerts[0].description}"))
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Load the rules (built-in pack and the given files), run every example, print problems.
    Exit 0 all good, 1 an example failed, 2 a rule file has errors."""
    from otshield.detect.rules.loader import load_rules
    from otshield.errors import OtshieldError

    parser = argparse.ArgumentParser(prog="python -m otshield.detect.rules.examples",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="rule files or directories")
    parser.add_argument("--no-builtin", action="store_true", help="skip the built-in pack")
    parser.add_argument("--rule", action="append", default=[],
                        help="only rules whose id starts with this (repeatable)")
    args = parser.parse_args(argv)
    try:
        ruleset = load_rules(args.paths, builtin=not args.no_builtin, strict=False)
    except OtshieldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in ruleset.errors:
        print(problem)
    rules = [r for r in ruleset if not args.rule or r.id.startswith(tuple(args.rule))]
    failures = run_examples(rules)
    for failure in failures:
        print(failure)
    examples = sum(len(r.examples) for r in rules)
    print(f"{len(rules)} rules, {examples} examples, {len(failures)} failed, "
          f"{len(ruleset.errors)} rule file problems")
    if ruleset.errors:
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
