"""A typed, read-only view of a validated CACAO playbook, for the runner and the console.

The JSON document stays the source of truth (it is what ``export`` writes back unchanged); this
view only lifts what running a playbook needs: the steps and their transitions, the otshield
extension (roles, checklists, safety gates, escalation, actions, triggers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from otshield.errors import ConfigError
from otshield.respond.cacao.otext import EXTENSION_ID, check_extension
from otshield.respond.cacao.validate import validate_playbook

__all__ = [
    "Action",
    "Decision",
    "Playbook",
    "Step",
    "Triggers",
    "load_playbook_file",
    "parse_playbook",
]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    question: str
    variable: str
    options: tuple[str, ...]


class Action(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """webhook, email, syslog or nftables."""
    subject: str = ""
    message: str = ""
    to_role: str = ""
    severity: str = "high"
    block: str = "attacker"


class Step(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    name: str
    description: str = ""
    on_completion: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    on_true: str | None = None
    on_false: str | None = None
    next_steps: tuple[str, ...] = ()
    condition: str = ""
    switch: str = ""
    cases: dict[str, str] = {}
    commands: tuple[str, ...] = ()
    """What each command asks, as text (manual commands' wording)."""
    out_args: tuple[str, ...] = ()
    role: str = ""
    checklist: tuple[str, ...] = ()
    ot_gate: str | None = None
    """The gate's reason when the step needs an OT engineer's approval."""
    assets: str = ""
    escalate_after: float | None = None
    escalate_to: str = ""
    decision: Decision | None = None
    action: Action | None = None
    recovery: bool = False
    isolation: bool = False


class Triggers(msgspec.Struct, frozen=True, kw_only=True):
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    min_severity: str = "low"


class Playbook(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    start: str
    steps: dict[str, Step]
    roles: dict[str, str]
    triggers: Triggers
    auto_start: bool
    severity: int | None
    doc: dict[str, Any]
    """The CACAO document itself (export writes it back)."""

    @property
    def recovery_steps(self) -> list[Step]:
        return [s for s in self.steps.values() if s.recovery]


def _step(sid: str, raw: Mapping[str, Any]) -> Step:
    ext = (raw.get("step_extensions") or {}).get(EXTENSION_ID) or {}
    gate = ext.get("ot_gate")
    decision = ext.get("decision")
    action = ext.get("action")
    commands = tuple(str(c.get("command") or c.get("description") or c.get("type", ""))
                     for c in raw.get("commands") or () if isinstance(c, dict))
    return Step(
        id=sid, type=str(raw["type"]), name=str(raw.get("name") or sid),
        description=str(raw.get("description", "")),
        on_completion=raw.get("on_completion"), on_success=raw.get("on_success"),
        on_failure=raw.get("on_failure"), on_true=raw.get("on_true"),
        on_false=raw.get("on_false"), next_steps=tuple(raw.get("next_steps") or ()),
        condition=str(raw.get("condition", "")), switch=str(raw.get("switch", "")),
        cases=dict(raw.get("cases") or {}), commands=commands,
        out_args=tuple(raw.get("out_args") or ()),
        role=str(ext.get("role", "")), checklist=tuple(ext.get("checklist") or ()),
        ot_gate=(str(gate.get("reason", "")) or "needs OT approval") if isinstance(gate, dict)
        else None,
        assets=str(ext.get("assets", "")),
        escalate_after=float(ext["escalate_after"]) if "escalate_after" in ext else None,
        escalate_to=str(ext.get("escalate_to", "")),
        decision=Decision(question=str(decision["question"]), variable=str(decision["variable"]),
                          options=tuple(decision["options"])) if decision else None,
        action=msgspec.convert(action, Action) if action else None,
        recovery=bool(ext.get("recovery", False)), isolation=bool(ext.get("isolation", False)))


def parse_playbook(doc: Any, origin: str = "playbook") -> Playbook:
    """Validate ``doc`` and return its typed view; ConfigError lists every problem."""
    problems = validate_playbook(doc)
    if not problems:
        problems = check_extension(doc)
    if problems:
        shown = "\n  ".join(str(p) for p in problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise ConfigError(f"{origin}: not a valid CACAO 2.0 playbook ({len(problems)} "
                          f"problem{'s' if len(problems) != 1 else ''}):\n  {shown}{more}")
    ext = (doc.get("playbook_extensions") or {}).get(EXTENSION_ID) or {}
    trig = ext.get("triggers") or {}
    return Playbook(
        id=doc["id"], name=doc["name"], description=str(doc.get("description", "")),
        start=doc["workflow_start"],
        steps={sid: _step(sid, raw) for sid, raw in doc["workflow"].items()},
        roles={str(k): str(v) for k, v in (ext.get("roles") or {}).items()},
        triggers=Triggers(techniques=tuple(trig.get("techniques") or ()),
                          tactics=tuple(trig.get("tactics") or ()),
                          rules=tuple(trig.get("rules") or ()),
                          min_severity=str(trig.get("min_severity", "low"))),
        auto_start=bool(ext.get("auto_start", False)),
        severity=doc.get("severity"), doc=doc)


def load_playbook_file(path: Path) -> Playbook:
    """A playbook from a CACAO JSON file, or from an authored YAML file (compiled first)."""
    if path.suffix.lower() in (".yaml", ".yml"):
        from otshield.respond.author import load_authored
        return parse_playbook(load_authored(path), str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a CACAO playbook is JSON)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    return parse_playbook(doc, str(path))
