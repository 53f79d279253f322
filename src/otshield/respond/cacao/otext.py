"""The otshield extension to CACAO v2.0: roles, checklists, OT safety gates, escalation,
automated actions and triggers.

CACAO leaves these to extensions (section 7.4 of the specification): a step may carry
``step_extensions`` and the playbook ``playbook_extensions``, keyed by an extension-definition
identifier declared in ``extension_definitions``. A CACAO tool that does not know this extension
still reads every step as a manual task for the step's owner; otshield's runner reads the
extension to gate, escalate and automate.

Step extension (all keys optional)::

    {"role": "ot",                         # who does it: a key of the playbook's roles
     "checklist": ["...", "..."],          # items the assignee ticks before completing
     "ot_gate": {"reason": "..."},         # needs approval by an OT engineer before it runs
     "assets": "incident.ot_assets",       # which assets the step acts on (for the gate)
     "escalate_after": 900,                # seconds without acknowledgement -> escalate
     "escalate_to": "plant",               # role paged when it escalates
     "decision": {"question": "...", "variable": "__x__", "options": {"yes": "..."}},
     "action": {"kind": "webhook|email|syslog|nftables", ...},
     "recovery": true,                     # a recovery step (restore, verify, return to normal)
     "isolation": true}                    # isolates an asset from the network

Playbook extension::

    {"roles": {"ot": "OT engineer on call", ...},
     "triggers": {"techniques": [...], "tactics": [...], "rules": ["glob*"],
                  "min_severity": "high"},
     "auto_start": false}
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from otshield.respond.cacao.validate import (
    Problem,
    array,
    boolean,
    integer,
    one_of,
    step_label,
    string,
)

__all__ = [
    "ACTION_KINDS",
    "EXTENSION_ID",
    "OTSHIELD_IDENTITY",
    "check_extension",
    "extension_definition",
]

NAMESPACE = uuid.UUID("6f747368-6965-4c64-8000-0000000000a1")
"""uuid5 namespace of every identifier otshield derives (playbooks, steps, agents)."""
EXTENSION_ID = f"extension-definition--{uuid.uuid5(NAMESPACE, 'otshield-ot-response')}"
OTSHIELD_IDENTITY = f"identity--{uuid.uuid5(NAMESPACE, 'otshield')}"
"""The STIX identity named as ``created_by`` of the built-in playbooks."""
ACTION_KINDS = ("webhook", "email", "syslog", "nftables")
SEVERITIES = ("info", "low", "medium", "high", "critical")
_TECHNIQUE = re.compile(r"^T0\d{3}(\.\d{3})?$")
_VARIABLE = re.compile(r"^__[a-zA-Z_][a-zA-Z0-9_-]{0,199}__$")


def extension_definition() -> dict[str, Any]:
    """The ``extension_definitions`` entry a playbook using the extension carries."""
    return {
        "type": "extension-definition",
        "name": "otshield OT response",
        "description": "Roles, checklists, OT safety gates, escalation, automated actions and "
                       "triggers for otshield's playbook runner.",
        "created_by": OTSHIELD_IDENTITY,
        "schema": "https://github.com/otshield/otshield/blob/main/docs/playbooks.md",
        "version": "1.0.0",
    }


def _unknown(value: Mapping[str, Any], known: set[str], path: str, out: list[Problem]) -> None:
    for key in value:
        if key not in known:
            out.append(Problem(f"{path}.{key}", "unknown property of the otshield extension"))


def _check_action(action: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(action, dict):
        out.append(Problem(path, "must be an object"))
        return
    kind = action.get("kind")
    one_of(ACTION_KINDS, "an action kind")(kind, f"{path}.kind", out)
    fields = {"kind": one_of(ACTION_KINDS, "an action kind"), "subject": string,
              "message": string, "to_role": string, "severity": one_of(SEVERITIES, "a severity"),
              "block": one_of(("attacker", "flows"), "what to block")}
    _unknown(action, set(fields), path, out)
    for k, check in fields.items():
        if k in action:
            check(action[k], f"{path}.{k}", out)


def _check_step_ext(ext: Any, path: str, roles: Mapping[str, Any], out: list[Problem]) -> None:
    if not isinstance(ext, dict):
        out.append(Problem(path, "must be an object"))
        return
    known = {"role", "checklist", "ot_gate", "assets", "escalate_after", "escalate_to",
             "decision", "action", "recovery", "isolation"}
    _unknown(ext, known, path, out)
    for key in ("role", "escalate_to"):
        if key in ext and ext[key] not in roles:
            out.append(Problem(f"{path}.{key}", f"{ext[key]!r} is not a role of the playbook "
                                                f"({', '.join(sorted(roles)) or 'none'})"))
    if "checklist" in ext:
        array(string, 1)(ext["checklist"], f"{path}.checklist", out)
    if "escalate_after" in ext:
        integer(1)(ext["escalate_after"], f"{path}.escalate_after", out)
    if "escalate_after" in ext and "escalate_to" not in ext:
        out.append(Problem(path, "escalate_after needs escalate_to"))
    for key in ("recovery", "isolation"):
        if key in ext:
            boolean(ext[key], f"{path}.{key}", out)
    if "assets" in ext:
        one_of(("incident.ot_assets", "incident.assets", "incident.attackers", "site.safety"),
               "an asset selector")(ext["assets"], f"{path}.assets", out)
    gate = ext.get("ot_gate")
    if gate is not None:
        if not isinstance(gate, dict):
            out.append(Problem(f"{path}.ot_gate", "must be an object"))
        else:
            _unknown(gate, {"reason"}, f"{path}.ot_gate", out)
            string(gate.get("reason", ""), f"{path}.ot_gate.reason", out)
    decision = ext.get("decision")
    if decision is not None:
        if not isinstance(decision, dict):
            out.append(Problem(f"{path}.decision", "must be an object"))
        else:
            _unknown(decision, {"question", "variable", "options"}, f"{path}.decision", out)
            string(decision.get("question"), f"{path}.decision.question", out)
            var = decision.get("variable")
            if not isinstance(var, str) or not _VARIABLE.match(var):
                out.append(Problem(f"{path}.decision.variable", "must be a variable name such "
                                                                "as __decision__"))
            opts = decision.get("options")
            if not isinstance(opts, dict) or len(opts) < 2:
                out.append(Problem(f"{path}.decision.options", "needs two or more options"))
            else:
                for k, v in opts.items():
                    string(v, f"{path}.decision.options[{k!r}]", out)
    if "action" in ext:
        _check_action(ext["action"], f"{path}.action", out)
    if ext.get("isolation") and not ext.get("ot_gate") and ext.get("assets") in (
            "incident.ot_assets", "site.safety"):
        out.append(Problem(path, "isolating OT assets needs an ot_gate (availability first)"))


def _check_playbook_ext(ext: Any, path: str, out: list[Problem]) -> dict[str, Any]:
    if not isinstance(ext, dict):
        out.append(Problem(path, "must be an object"))
        return {}
    _unknown(ext, {"roles", "triggers", "auto_start"}, path, out)
    roles = ext.get("roles", {})
    if not isinstance(roles, dict) or not roles:
        out.append(Problem(f"{path}.roles", "must name at least one role"))
        roles = {}
    for k, v in roles.items():
        string(v, f"{path}.roles[{k!r}]", out)
    if "auto_start" in ext:
        boolean(ext["auto_start"], f"{path}.auto_start", out)
    trig = ext.get("triggers")
    if trig is not None:
        if not isinstance(trig, dict):
            out.append(Problem(f"{path}.triggers", "must be an object"))
        else:
            _unknown(trig, {"techniques", "tactics", "rules", "min_severity"},
                     f"{path}.triggers", out)
            for i, t in enumerate(trig.get("techniques", [])):
                if not isinstance(t, str) or not _TECHNIQUE.match(t):
                    out.append(Problem(f"{path}.triggers.techniques[{i}]",
                                       f"{t!r} is not an ATT&CK for ICS technique id"))
            for key in ("tactics", "rules"):
                if key in trig:
                    array(string)(trig[key], f"{path}.triggers.{key}", out)
            if "min_severity" in trig:
                one_of(SEVERITIES, "a severity")(trig["min_severity"],
                                                 f"{path}.triggers.min_severity", out)
    return roles


def _dict(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = node.get(key)
    return value if isinstance(value, dict) else {}


def check_extension(doc: Mapping[str, Any]) -> list[Problem]:
    """Problems of the otshield extension's content in a (structurally valid) playbook."""
    out: list[Problem] = []
    defs = _dict(doc, "extension_definitions")
    pb_ext = _dict(doc, "playbook_extensions").get(EXTENSION_ID)
    steps = _dict(doc, "workflow")
    uses = pb_ext is not None or any(
        EXTENSION_ID in _dict(s, "step_extensions") for s in steps.values() if isinstance(s, dict))
    if not uses:
        return out
    if EXTENSION_ID not in defs:
        out.append(Problem("extension_definitions", f"the otshield extension {EXTENSION_ID} is "
                                                    "used but not declared"))
    roles: Mapping[str, Any] = {}
    if pb_ext is not None:
        roles = _check_playbook_ext(pb_ext, f"playbook_extensions[{EXTENSION_ID!r}]", out)
    recovery = False
    for sid, step in steps.items():
        if not isinstance(step, dict):
            continue
        ext = _dict(step, "step_extensions").get(EXTENSION_ID)
        if ext is not None:
            _check_step_ext(ext, f"{step_label(sid, steps)}.step_extensions", roles, out)
            recovery = recovery or (isinstance(ext, dict) and ext.get("recovery") is True)
    if pb_ext is not None and not recovery:
        out.append(Problem("workflow", "an OT playbook states its recovery: mark the restore, "
                                       "verify and return-to-normal steps with recovery: true"))
    return out
