"""The loaded form of rules: checked, with their conditions compiled per event class.

A :class:`Rule` is what the loader makes of one YAML entry (docs/rules.md); a :class:`RuleSet`
is every rule loaded from the built-in pack and the user's files, with the problems found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otshield.detect.rules.conditions import Predicate, Reader
from otshield.detect.rules.template import Template
from otshield.events import Event
from otshield.inventory.site import LoadedSite

__all__ = ["Example", "Rule", "RuleSet", "SequenceSpec", "Step", "Threshold"]

Compiled = dict[type, Predicate | None]
"""Event class -> predicate (None: every event of the class matches)."""


@dataclass(frozen=True)
class Threshold:
    window: float
    """Seconds."""
    count: int
    distinct: str | None = None
    """Count distinct values of this field instead of events."""
    by: tuple[str, ...] = ()
    """Fields of the per-key windows (default the rule's key)."""
    distinct_readers: dict[type, Reader] = field(default_factory=dict, compare=False)
    by_readers: dict[type, tuple[Reader, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Step:
    match: dict[str, Any]
    on: str
    """The field naming the asset this step is about."""
    predicates: Compiled
    on_readers: dict[type, Reader]
    line: int = 0


@dataclass(frozen=True)
class SequenceSpec:
    within: float
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Example:
    """One example of a rule: events (built as real event types) and the site facts."""

    expect_match: bool
    index: int
    line: int
    events: tuple[Event, ...]
    site: LoadedSite | None = None


@dataclass
class Rule:
    id: str
    title: str
    severity: str
    description: str
    response: str
    origin: str
    """File the rule came from."""
    line: int
    confidence: str = "medium"
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    message: Template | None = None
    match: dict[str, Any] | None = None
    predicates: Compiled = field(default_factory=dict)
    threshold: Threshold | None = None
    sequence: SequenceSpec | None = None
    key: tuple[str, ...] = ()
    """Key fields as written; empty = the default (addresses)."""
    key_readers: dict[type, tuple[Reader, ...]] = field(default_factory=dict)
    enabled: bool = True
    override: bool = False
    builtin: bool = False
    tags: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    datasets: tuple[str, ...] = ()
    """Every dataset the rule reads (all steps for a sequence)."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The YAML mapping as written (for the catalogue)."""

    @property
    def where(self) -> str:
        return f"{self.origin}:{self.line}"

    @property
    def kind(self) -> str:
        if self.sequence is not None:
            return "sequence"
        return "threshold" if self.threshold is not None else "match"

    def classes(self) -> set[type]:
        """Every event class the rule looks at."""
        if self.sequence is not None:
            return {cls for step in self.sequence.steps for cls in step.predicates}
        return set(self.predicates)


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Problems found (each ``file:line: rule <id>: ...``); rules with errors are left out."""
    files: list[Path] = field(default_factory=list)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def only(self, *rules: Rule) -> RuleSet:
        """A rule set of just these rules (the examples runner gives each its own)."""
        return RuleSet(list(rules), [], list(self.files))
