"""Write CACAO v2.0 playbooks from a compact YAML form (how the built-in library is authored).

A CACAO workflow is a graph of identifiers (``action--<uuid>``) with agents, variables and
extensions declared beside it; written by hand it is long and easy to get wrong. The YAML form
names steps by short keys and roles by words, and this module derives the rest: identifiers
(uuid5 of the playbook and step keys, so the output is stable), one unique end step per branch as
CACAO requires, decisions as a manual question plus a ``switch-condition`` on the answer, the
agents (one group per role, otshield's orchestrator for automated actions) and the otshield
extension (:mod:`otshield.respond.cacao.otext`)::

    id: rogue-device            # the playbook's slug
    name: Rogue device on the control network
    created: 2026-11-27T00:00:00.000Z
    roles: {soc: SOC analyst on duty, ot: OT engineer on call}
    triggers: {techniques: [T0848], min_severity: medium}
    steps:
      - key: triage             # the first step runs first
        name: Confirm the device is not known
        role: soc
        checklist: [...]
        next: decide
      - key: decide
        kind: decision
        role: ot
        question: Is the device authorised?
        options: {yes: document, no: isolate}
      - key: isolate
        role: ot
        isolation: true
        assets: incident.attackers
        next: end               # 'end' closes the branch
      ...

Step kinds: ``manual`` (default), ``decision``, ``parallel`` (``branches: [keys]`` then ``next``),
and automated actions ``webhook``, ``email``, ``syslog``, ``nftables`` (never applied: a rule
proposal for review).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from otshield.errors import ConfigError
from otshield.respond.cacao.otext import (
    ACTION_KINDS,
    EXTENSION_ID,
    NAMESPACE,
    OTSHIELD_IDENTITY,
    extension_definition,
)
from otshield.yamlsource import line_of, read_yaml

__all__ = ["compile_playbook", "load_authored", "uid"]

_STEP_KEYS = {"key", "name", "description", "kind", "role", "checklist", "ot_gate", "assets",
              "escalate_after", "escalate_to", "recovery", "isolation", "activity", "next",
              "question", "options", "branches", "subject", "message", "to_role", "severity",
              "block", "on_failure"}
_TOP_KEYS = {"id", "name", "description", "created", "modified", "playbook_types", "severity",
             "impact", "priority", "labels", "roles", "triggers", "auto_start", "steps",
             "industry_sectors"}
_ATTACK_URL = "https://attack.mitre.org/techniques/{}/"


def _timestamp(value: Any) -> str:
    """YAML reads an unquoted timestamp as a datetime; CACAO wants RFC 3339 with milliseconds."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return str(value)


def uid(prefix: str, *parts: str) -> str:
    return f"{prefix}--{uuid.uuid5(NAMESPACE, '/'.join(parts))}"


class _Compiler:
    def __init__(self, src: Mapping[str, Any], origin: str) -> None:
        self.src = src
        self.origin = origin
        self.slug = str(src.get("id", ""))
        self.steps: dict[str, Mapping[str, Any]] = {}
        self.workflow: dict[str, dict[str, Any]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.ends = 0
        self.activities: list[str] = []

    def fail(self, node: Any, key: str | None, message: str) -> ConfigError:
        line = line_of(node, key) if key is not None else None
        where = f"{self.origin}:{line}" if line else self.origin
        return ConfigError(f"{where}: {message}")

    def step_id(self, key: str) -> str:
        step = self.steps[key]
        kind = step.get("kind", "manual")
        prefix = "parallel" if kind == "parallel" else "action"
        return uid(prefix, self.slug, key)

    def target(self, node: Mapping[str, Any], field: str, key: Any) -> str:
        if key == "end":
            self.ends += 1
            end_id = uid("end", self.slug, f"end-{self.ends}")
            self.workflow[end_id] = {"type": "end", "name": "End"}
            return end_id
        if not isinstance(key, str) or key not in self.steps:
            raise self.fail(node, field, f"{field}: {key!r} is not a step key of this playbook "
                                         f"(nor 'end')")
        return self.step_id(key)

    def role_agent(self, node: Mapping[str, Any], role: Any) -> str:
        roles = self.src.get("roles") or {}
        if role not in roles:
            raise self.fail(node, "role", f"role {role!r} is not declared under roles: "
                                          f"({', '.join(roles)})")
        return uid("group", self.slug, f"role-{role}")

    def compile(self) -> dict[str, Any]:
        src = self.src
        for key in src:
            if key not in _TOP_KEYS:
                raise self.fail(src, key, f"unknown key {key!r}")
        for key in ("id", "name", "created", "roles", "steps"):
            if key not in src:
                raise self.fail(src, None, f"missing {key!r}")
        steps = src["steps"]
        if not isinstance(steps, list) or not steps:
            raise self.fail(src, "steps", "steps must be a non-empty list")
        for node in steps:
            if not isinstance(node, dict) or not isinstance(node.get("key"), str):
                raise self.fail(src, "steps", "each step needs a 'key'")
            for k in node:
                if k not in _STEP_KEYS:
                    raise self.fail(node, k, f"unknown step key {k!r}")
            if node["key"] in self.steps or node["key"] == "end":
                raise self.fail(node, "key", f"step key {node['key']!r} used twice (or 'end')")
            self.steps[node["key"]] = node
        start_id = uid("start", self.slug, "start")
        self.workflow[start_id] = {"type": "start", "name": "Start",
                                   "on_completion": self.step_id(steps[0]["key"])}
        for node in steps:
            self.compile_step(node)
        orchestrator = uid("security-category", self.slug, "otshield")
        agents: dict[str, Any] = {
            uid("group", self.slug, f"role-{role}"): {"type": "group", "name": str(title)}
            for role, title in (src["roles"] or {}).items()}
        agents[orchestrator] = {"type": "security-category", "name": "otshield",
                                "description": "otshield's playbook runner (automated actions)",
                                "category": ["orchestrator"]}
        triggers = dict(src.get("triggers") or {})
        ext: dict[str, Any] = {"roles": dict(src["roles"]), "triggers": triggers,
                               "auto_start": bool(src.get("auto_start", False))}
        doc: dict[str, Any] = {
            "type": "playbook", "spec_version": "cacao-2.0",
            "id": uid("playbook", self.slug),
            "name": str(src["name"]),
            "description": str(src.get("description", "")).strip(),
            "playbook_types": list(src.get("playbook_types") or ["mitigation", "remediation"]),
            "playbook_activities": self.activities or ["identify-steps"],
            "created_by": OTSHIELD_IDENTITY,
            "created": _timestamp(src["created"]),
            "modified": _timestamp(src.get("modified", src["created"])),
            "labels": list(src.get("labels") or ["ot", "otshield"]),
            "industry_sectors": list(src.get("industry_sectors") or
                                     ["manufacturing", "utilities", "energy", "water"]),
            "workflow_start": start_id,
            "workflow": self.workflow,
            "agent_definitions": agents,
            "extension_definitions": {EXTENSION_ID: extension_definition()},
            "playbook_extensions": {EXTENSION_ID: ext},
            "playbook_processing_summary": {
                "manual_playbook": True, "extensions": True,
                "parallel_processing": any(s.get("kind") == "parallel" for s in steps),
                "switch_logic": any(s.get("kind") == "decision" for s in steps)},
        }
        for key in ("severity", "impact", "priority"):
            if key in src:
                doc[key] = src[key]
        if triggers.get("techniques"):
            doc["external_references"] = [
                {"name": f"MITRE ATT&CK for ICS {t}", "source": "mitre-attack-ics",
                 "url": _ATTACK_URL.format(t), "external_id": t}
                for t in triggers["techniques"]]
        if self.variables:
            doc["playbook_variables"] = self.variables
        doc["_orchestrator"] = orchestrator
        return doc

    def compile_step(self, node: Mapping[str, Any]) -> None:
        key = str(node["key"])
        kind = node.get("kind", "manual")
        sid = self.step_id(key)
        name = str(node.get("name", key))
        ext: dict[str, Any] = {}
        for field in ("role", "checklist", "assets", "escalate_after", "escalate_to",
                      "recovery", "isolation"):
            if field in node:
                ext[field] = node[field]
        if "ot_gate" in node:
            gate = node["ot_gate"]
            ext["ot_gate"] = {"reason": gate} if isinstance(gate, str) else dict(gate or {})
        if kind == "parallel":
            branches = node.get("branches")
            if not isinstance(branches, list) or len(branches) < 2:
                raise self.fail(node, "branches", "a parallel step needs two or more branches")
            step: dict[str, Any] = {
                "type": "parallel", "name": name,
                "next_steps": [self.target(node, "branches", b) for b in branches]}
            if "next" in node:
                step["on_completion"] = self.target(node, "next", node["next"])
            self.workflow[sid] = step
            return
        if kind not in ("manual", "decision", *ACTION_KINDS):
            raise self.fail(node, "kind", f"unknown step kind {kind!r}")
        description = str(node.get("description", "")).strip()
        activity = node.get("activity")
        if isinstance(activity, str) and activity not in self.activities:
            self.activities.append(activity)
        command: dict[str, Any] = {"type": "manual",
                                   "command": description or name}
        if isinstance(activity, str):
            command["playbook_activity"] = activity
        step = {"type": "action", "name": name, "commands": [command]}
        if description:
            step["description"] = description
        if kind in ACTION_KINDS:
            step["agent"] = uid("security-category", self.slug, "otshield")
            action = {"kind": kind}
            for field in ("subject", "message", "to_role", "severity", "block"):
                if field in node:
                    action[field] = node[field]
            ext["action"] = action
        else:
            step["agent"] = self.role_agent(node, node.get("role"))
        if kind == "decision":
            options = node.get("options")
            if not isinstance(options, dict) or len(options) < 2:
                raise self.fail(node, "options", "a decision needs two or more options")
            var = f"__{key.replace('-', '_')}__"
            self.variables[var] = {"type": "string", "description": str(node.get("question")),
                                   "value": ""}
            step["out_args"] = [var]
            ext["decision"] = {"question": str(node.get("question", name)), "variable": var,
                               "options": {str(k): str(k) for k in options}}
            switch_id = uid("switch-condition", self.slug, key)
            self.workflow[switch_id] = {
                "type": "switch-condition", "name": f"{name}: answer",
                "switch": var,
                "cases": {str(k): self.target(node, "options", v) for k, v in options.items()}}
            step["on_completion"] = switch_id
        else:
            step["on_completion"] = self.target(node, "next", node.get("next", "end"))
        if "on_failure" in node:
            step["on_success"] = step.pop("on_completion")
            step["on_failure"] = self.target(node, "on_failure", node["on_failure"])
        step["step_extensions"] = {EXTENSION_ID: ext}
        self.workflow[sid] = step


def compile_playbook(src: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """The CACAO v2.0 playbook (a JSON-ready dict) of an authored playbook."""
    doc = _Compiler(src, origin).compile()
    doc.pop("_orchestrator", None)
    return doc


def load_authored(path: Path) -> dict[str, Any]:
    """Read and compile one authored playbook file (errors name file and line)."""
    src = read_yaml(path)
    if not isinstance(src, dict):
        raise ConfigError(f"{path}: an authored playbook is a mapping")
    return compile_playbook(src, str(path))
