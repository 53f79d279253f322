"""Validate an OASIS CACAO v2.0 playbook: structure, references and workflow soundness.

Why our own validator rather than only the OASIS JSON schemas: the schemas declare
``unevaluatedProperties: false`` under draft-07, where that keyword does not exist, so a
draft-07 validator accepts unknown properties (a misspelt ``on_sucess`` silently ends a branch);
they cannot check references (a step pointing to a missing step, an agent nobody defined); and
their messages name a JSON path, not the step a playbook author calls "Isolate the HMI". This
module rejects everything the schemas reject (the test suite checks that against the schemas
themselves), plus unknown properties, dangling references, unreachable steps, branches that never
reach an end, loops outside ``while-condition`` and contradictory transitions.

The object layouts below are facts of the CACAO v2.0 specification (sections 3-10), written here
as data: one :class:`ObjectSpec` per object type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ObjectSpec", "Problem", "step_label", "validate_playbook"]

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
IDENTIFIER = re.compile(rf"^[a-z][a-z0-9-]+[a-z0-9]--{_UUID}$")
TIMESTAMP = re.compile(r"^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):"
                       r"([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?Z$")
VARIABLE_NAME = re.compile(r"^__[a-zA-Z_][a-zA-Z0-9_-]{0,199}__$")
_CONTACT_KEY = re.compile(r"^[a-zA-Z0-9_-]{0,250}$")
_MAC = re.compile(r"^[a-fA-F0-9]{2}(:[a-fA-F0-9]{2}){5}$")
_IPV4 = re.compile(r"(\b25[0-5]|\b2[0-4][0-9]|\b[01]?[0-9][0-9]?)(\.(25[0-5]|2[0-4][0-9]|"
                   r"[01]?[0-9][0-9]?)){3}$")
_URL = re.compile(r"[(http(s)?):/(www.)?a-zA-Z0-9@:%._+~#=]{2,256}\.[a-z]{2,6}\b"
                  r"([-a-zA-Z0-9@:%_+.~#?&//=]*)")

REGIONS = frozenset({
    "africa", "eastern-africa", "middle-africa", "northern-africa", "southern-africa",
    "western-africa", "americas", "caribbean", "central-america", "latin-america-caribbean",
    "northern-america", "south-america", "asia", "central-asia", "eastern-asia", "southern-asia",
    "south-eastern-asia", "western-asia", "europe", "eastern-europe", "northern-europe",
    "southern-europe", "western-europe", "oceania", "antarctica", "australia-new-zealand",
    "melanesia", "micronesia", "polynesia",
})
TLP_LEVELS = frozenset({"TLP:RED", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:GREEN", "TLP:CLEAR"})

STEP_TYPES = ("start", "end", "action", "playbook-action", "parallel", "if-condition",
              "while-condition", "switch-condition")
AGENT_TYPES = ("group", "http-api", "individual", "linux", "location", "net-address",
               "organization", "sector", "security-category", "ssh")
AUTH_TYPES = ("http-basic", "oauth2", "user-auth")
MARKING_TYPES = ("marking-tlp", "marking-iep", "marking-statement")


@dataclass(frozen=True)
class Problem:
    """One reason a playbook is invalid: where (a readable path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


Check = Callable[[Any, str, list[Problem]], None]


# -- value checks -------------------------------------------------------------------------------
def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value),
                                                                        type(value).__name__)


def string(value: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(path, f"must be a string, not {_type_name(value)}"))


def boolean(value: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(value, bool):
        out.append(Problem(path, f"must be true or false, not {_type_name(value)}"))


def integer(low: int | None = None, high: int | None = None) -> Check:
    def check(value: Any, path: str, out: list[Problem]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not value.is_integer()):
            out.append(Problem(path, f"must be a whole number, not {_type_name(value)}"))
        elif (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            out.append(Problem(path, f"must be within {bounds}, not {value}"))
    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, path: str, out: list[Problem]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(Problem(path, f"must be a number, not {_type_name(value)}"))
        elif not low <= value <= high:
            out.append(Problem(path, f"must be within {low:g}..{high:g}, not {value}"))
    return check


def matching(regex: re.Pattern[str], what: str, search: bool = False) -> Check:
    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, str):
            out.append(Problem(path, f"must be {what} (a string), not {_type_name(value)}"))
        elif not (regex.search(value) if search else regex.match(value)):
            out.append(Problem(path, f"{value!r} is not {what}"))
    return check


identifier = matching(IDENTIFIER, "a CACAO identifier ('type--' followed by a UUID)")
timestamp = matching(TIMESTAMP, "an RFC 3339 UTC timestamp such as 2026-01-31T08:00:00.000Z")


def one_of(values: Iterable[str], what: str) -> Check:
    allowed = frozenset(values)

    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, str) or value not in allowed:
            out.append(Problem(path, f"{value!r} is not {what} ({', '.join(sorted(allowed))})"))
    return check


def array(item: Check, min_items: int = 0) -> Check:
    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, list):
            out.append(Problem(path, f"must be a list, not {_type_name(value)}"))
            return
        if len(value) < min_items:
            out.append(Problem(path, f"needs at least {min_items} entr"
                                     f"{'y' if min_items == 1 else 'ies'}"))
        for i, v in enumerate(value):
            item(v, f"{path}[{i}]", out)
    return check


def any_object(value: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, f"must be an object, not {_type_name(value)}"))


def keyed(key: re.Pattern[str], what: str, item: Check, min_properties: int = 0) -> Check:
    """An object whose keys must match ``key`` and whose values pass ``item``."""
    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, dict):
            out.append(Problem(path, f"must be an object, not {_type_name(value)}"))
            return
        if len(value) < min_properties:
            out.append(Problem(path, "must not be empty"))
        for k, v in value.items():
            if not key.match(k):
                out.append(Problem(f"{path}[{k!r}]", f"the key is not {what}"))
            else:
                item(v, f"{path}[{k!r}]", out)
    return check


def by_prefix(types: Iterable[str], spec_of: Callable[[str], ObjectSpec], what: str,
              min_properties: int = 0) -> Check:
    """A dictionary of typed objects keyed by identifier: the key's prefix names the type, and
    the object's ``type`` must agree with it."""
    known = tuple(types)

    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, dict):
            out.append(Problem(path, f"must be an object, not {_type_name(value)}"))
            return
        if len(value) < min_properties:
            out.append(Problem(path, "must not be empty"))
        for k, v in value.items():
            where = f"{path}[{k!r}]"
            if isinstance(v, dict) and isinstance(v.get("name"), str):
                where += f" ({v['name']!r})"
            prefix = k.split("--", 1)[0] if isinstance(k, str) else ""
            if prefix not in known or not re.fullmatch(rf"{re.escape(prefix)}--{_UUID}", k):
                out.append(Problem(where, f"the key must be '<type>--<uuid>' with type one of "
                                          f"{', '.join(known)} ({what})"))
                continue
            spec_of(prefix).check(v, where, out)
            if isinstance(v, dict) and "type" in v and v["type"] != prefix:
                out.append(Problem(where, f"type {v['type']!r} does not match the key's "
                                          f"type {prefix!r}"))
    return check


# -- object specifications -----------------------------------------------------------------------
@dataclass
class ObjectSpec:
    """One CACAO object type: its properties, the required ones, and rules across them."""

    name: str
    properties: dict[str, Check]
    required: frozenset[str] = frozenset()
    rules: tuple[Callable[[Mapping[str, Any], str, list[Problem]], None], ...] = ()
    type_value: str | None = None
    """When set, ``type`` must equal it."""
    label: Callable[[Mapping[str, Any]], str] | None = field(default=None)

    def check(self, value: Any, path: str, out: list[Problem]) -> None:
        if not isinstance(value, dict):
            out.append(Problem(path, f"a {self.name} must be an object, not {_type_name(value)}"))
            return
        for key in sorted(self.required - value.keys()):
            out.append(Problem(path, f"a {self.name} needs '{key}'"))
        for key, v in value.items():
            check = self.properties.get(key)
            if check is None:
                hint = _closest(key, self.properties)
                out.append(Problem(f"{path}.{key}", f"unknown property of a {self.name}"
                                                    + (f" (did you mean '{hint}'?)" if hint
                                                       else "")))
            else:
                check(v, f"{path}.{key}", out)
        if self.type_value is not None and value.get("type", self.type_value) != self.type_value:
            out.append(Problem(f"{path}.type", f"must be {self.type_value!r}"))
        for rule in self.rules:
            rule(value, path, out)


def _closest(key: str, known: Iterable[str]) -> str | None:
    import difflib
    found = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return found[0] if found else None


def _spec(name: str, props: dict[str, Check], required: Iterable[str] = (),
          base: ObjectSpec | None = None, type_value: str | None = None,
          rules: tuple[Callable[[Mapping[str, Any], str, list[Problem]], None], ...] = (),
          ) -> ObjectSpec:
    merged = dict(base.properties) if base else {}
    merged.update(props)
    req = set(base.required) if base else set()
    req.update(required)
    return ObjectSpec(name, merged, frozenset(req), (base.rules if base else ()) + rules,
                      type_value)


def _ref(get: Callable[[], ObjectSpec]) -> Check:
    """Late-bound reference to a spec (for recursive or later-defined objects)."""
    def check(value: Any, path: str, out: list[Problem]) -> None:
        get().check(value, path, out)
    return check


_string_list = array(string, 1)
_extensions = keyed(re.compile(rf"^extension-definition--{_UUID}$"),
                    "an extension-definition identifier", any_object, 1)

EXTERNAL_REFERENCE = _spec("external reference", {
    "name": string, "description": string, "source": string, "url": string,
    "external_id": string, "reference_id": string}, ["name"])
_external_refs = array(EXTERNAL_REFERENCE.check, 1)

VARIABLE = _spec("variable", {
    "type": string, "description": string, "constant": boolean, "external": boolean,
    "value": lambda v, p, o: None if v is None else string(v, p, o)}, ["type"])
_variables = keyed(VARIABLE_NAME, "a variable name such as __target_ip__", VARIABLE.check)

CONTACT = _spec("contact", {
    "email": keyed(_CONTACT_KEY, "a contact label", string),
    "phone": keyed(_CONTACT_KEY, "a contact label", string),
    "contact_details": string})

CIVIC_LOCATION = _spec("civic location", {
    "name": string, "description": string, "building_details": string,
    "network_details": string, "region": one_of(REGIONS, "a CACAO region"), "country": string,
    "administrative_area": string, "city": string, "street_address": string,
    "postal_code": string, "latitude": string, "longitude": string, "precision": string})

_address = _spec("address", {
    "url": array(matching(_URL, "a URL", search=True)),
    "l2mac": array(matching(_MAC, "a MAC address")),
    "ipv4": array(matching(_IPV4, "an IPv4 address", search=True)),
    "ipv6": array(string),
    "vlan": array(integer(0, 4095)),
    "dname": array(string)})

AGENT_BASE = _spec("agent or target", {
    "type": string, "name": string, "description": string,
    "location": CIVIC_LOCATION.check, "agent_target_extensions": _extensions},
    ["type", "name"])
_net = {"address": _address.check, "authentication_info": identifier,
        "category": array(string, 1)}
AGENT_SPECS: dict[str, ObjectSpec] = {
    "group": _spec("group", {"contact": CONTACT.check}, base=AGENT_BASE, type_value="group"),
    "individual": _spec("individual", {"contact": CONTACT.check}, base=AGENT_BASE,
                        type_value="individual"),
    "organization": _spec("organization", {"contact": CONTACT.check}, base=AGENT_BASE,
                          type_value="organization"),
    "location": _spec("location", {"logical": _string_list}, base=AGENT_BASE,
                      type_value="location"),
    "sector": _spec("sector", {"sector": string}, ["sector"], base=AGENT_BASE,
                    type_value="sector"),
    "security-category": _spec("security category", {"category": array(string, 1)},
                               ["category"], base=AGENT_BASE, type_value="security-category"),
    "http-api": _spec("http-api agent", {**_net, "port": string}, ["address"], base=AGENT_BASE,
                      type_value="http-api"),
    "linux": _spec("linux agent", {**_net, "port": string}, ["address"], base=AGENT_BASE,
                   type_value="linux"),
    "ssh": _spec("ssh agent", {**_net, "port": string}, ["address"], base=AGENT_BASE,
                 type_value="ssh"),
    "net-address": _spec("net-address", dict(_net), ["address"], base=AGENT_BASE,
                         type_value="net-address"),
}

AUTH_BASE = _spec("authentication info", {
    "type": string, "name": string, "description": string,
    "authentication_info_extensions": _extensions}, ["type"])
_secret = {"kms": boolean, "kms_key_identifier": string}
AUTH_SPECS: dict[str, ObjectSpec] = {
    "http-basic": _spec("http-basic", {"user_id": string, "password": string, **_secret},
                        base=AUTH_BASE, type_value="http-basic"),
    "oauth2": _spec("oauth2", {"oauth_header": string, "token": string, **_secret},
                    ["oauth_header", "token"], base=AUTH_BASE, type_value="oauth2"),
    "user-auth": _spec("user-auth", {"username": string, "password": string, **_secret},
                       base=AUTH_BASE, type_value="user-auth"),
}

MARKING_BASE = _spec("data marking", {
    "type": one_of(MARKING_TYPES, "a data marking type"), "id": identifier, "name": string,
    "description": string, "created_by": identifier, "created": timestamp, "revoked": boolean,
    "valid_from": timestamp, "valid_until": timestamp, "labels": _string_list,
    "external_references": _external_refs, "marking_extensions": _extensions},
    ["type", "id", "created_by", "created"])
MARKING_SPECS: dict[str, ObjectSpec] = {
    "marking-tlp": _spec("TLP marking", {"tlpv2_level": one_of(TLP_LEVELS, "a TLP 2.0 level")},
                         ["tlpv2_level"], base=MARKING_BASE, type_value="marking-tlp"),
    "marking-statement": _spec("statement marking", {"statement": string}, ["statement"],
                               base=MARKING_BASE, type_value="marking-statement"),
    "marking-iep": _spec("IEP marking", {
        "tlp": string, "iep_version": integer(),
        "start_date": timestamp,
        "end_date": lambda v, p, o: None if v is None else timestamp(v, p, o),
        "encrypt_in_transit": string, "permitted_actions": string,
        "affected_party_notifications": string, "attribution": string,
        "unmodified_resale": string, "external_references": array(string)},
        ["name", "description", "tlp", "iep_version", "start_date", "end_date",
         "encrypt_in_transit", "permitted_actions", "affected_party_notifications",
         "attribution", "unmodified_resale", "external_references"],
        base=MARKING_BASE, type_value="marking-iep"),
}


def _one_key_of(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any], str, list[Problem]], None]:
    def rule(value: Mapping[str, Any], path: str, out: list[Problem]) -> None:
        if sum(k in value for k in keys) != 1:
            out.append(Problem(path, f"needs exactly one of {', '.join(keys)}"))
    return rule


SIGNATURE: ObjectSpec = _spec("signature", {
    "type": one_of(("jss",), "a signature type"), "id": identifier, "created_by": identifier,
    "created": timestamp, "modified": timestamp, "revoked": boolean, "signee": string,
    "valid_from": timestamp, "valid_until": timestamp, "related_to": identifier,
    "related_version": timestamp, "hash_algorithm": string, "algorithm": string,
    "public_key": string, "public_cert_chain": _string_list, "cert_url": string,
    "thumbprint": string, "value": string, "signature": _ref(lambda: SIGNATURE)},
    ["type", "id", "created", "modified", "signee", "related_to", "related_version",
     "hash_algorithm", "algorithm", "value"],
    rules=(_one_key_of(("public_key", "public_cert_chain", "cert_url", "thumbprint")),))

EXTENSION_DEFINITION = _spec("extension definition", {
    "type": one_of(("extension-definition",), "'extension-definition'"), "name": string,
    "description": string, "created_by": identifier, "schema": string, "version": string,
    "external_references": array(EXTERNAL_REFERENCE.check)},
    ["type", "name", "created_by", "schema", "version"])

COMMAND_BASE = _spec("command", {
    "type": string, "description": string, "version": string, "playbook_activity": string,
    "external_references": array(EXTERNAL_REFERENCE.check)}, ["type"])
_headers = keyed(re.compile(r"^.+$"), "a header name", array(string))
_cmd = {"command": string, "command_b64": string}
COMMAND_SPECS: dict[str, ObjectSpec] = {
    **{t: _spec(f"{t} command", dict(_cmd), base=COMMAND_BASE, type_value=t)
       for t in ("manual", "bash", "caldera-cmd", "powershell", "ssh")},
    **{t: _spec(f"{t} command", {"command_b64": string}, ["command_b64"], base=COMMAND_BASE,
                type_value=t)
       for t in ("elastic", "jupyter", "kestrel", "sigma", "yara")},
    "http-api": _spec("http-api command", {"command": string, "headers": _headers,
                                           "content": string, "content_b64": string},
                      ["command"], base=COMMAND_BASE, type_value="http-api"),
    "openc2-http": _spec("openc2-http command", {"command": string, "content_b64": string,
                                                 "headers": _headers},
                         ["command", "content_b64"], base=COMMAND_BASE,
                         type_value="openc2-http"),
}


def _command(value: Any, path: str, out: list[Problem]) -> None:
    if isinstance(value, dict) and isinstance(value.get("type"), str) \
            and value["type"] in COMMAND_SPECS:
        COMMAND_SPECS[value["type"]].check(value, path, out)
    elif isinstance(value, dict) and "type" in value:
        out.append(Problem(f"{path}.type", f"{value['type']!r} is not a command type this "
                                           f"otshield runs ({', '.join(sorted(COMMAND_SPECS))})"))
    else:
        COMMAND_BASE.check(value, path, out)


def _transitions(value: Mapping[str, Any], path: str, out: list[Problem]) -> None:
    if "on_completion" in value and ("on_success" in value or "on_failure" in value):
        out.append(Problem(path, "on_completion cannot be combined with on_success/on_failure"))


_no_transitions: tuple[str, ...] = ("on_completion", "on_success", "on_failure")


def _forbid(*keys: str) -> Callable[[Mapping[str, Any], str, list[Problem]], None]:
    def rule(value: Mapping[str, Any], path: str, out: list[Problem]) -> None:
        for k in keys:
            if k in value:
                out.append(Problem(f"{path}.{k}", f"not allowed on a {value.get('type')} step"))
    return rule


STEP_BASE = _spec("workflow step", {
    "type": one_of(STEP_TYPES, "a workflow step type"), "name": string, "description": string,
    "external_references": _external_refs, "delay": integer(1), "timeout": integer(),
    "step_variables": _variables, "owner": identifier, "on_completion": identifier,
    "on_success": identifier, "on_failure": identifier, "step_extensions": _extensions},
    ["type"], rules=(_transitions,))


def _cases(value: Any, path: str, out: list[Problem]) -> None:
    keyed(re.compile(r"^[a-zA-Z0-9_-]{0,250}"), "a case label", identifier)(value, path, out)
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and v.split("--", 1)[0] not in (*STEP_TYPES, "playbook"):
                out.append(Problem(f"{path}[{k!r}]", "must name a workflow step"))


STEP_SPECS: dict[str, ObjectSpec] = {
    "start": _spec("start step", {}, base=STEP_BASE, type_value="start",
                   rules=(_forbid("on_success", "on_failure"),)),
    "end": _spec("end step", {}, base=STEP_BASE, type_value="end",
                 rules=(_forbid(*_no_transitions),)),
    "action": _spec("action step", {
        "commands": array(_command, 1), "agent": identifier, "targets": array(identifier, 1),
        "in_args": _string_list, "out_args": _string_list},
        ["commands", "agent"], base=STEP_BASE, type_value="action"),
    "playbook-action": _spec("playbook-action step", {
        "playbook_id": identifier, "playbook_version": timestamp, "in_args": _string_list,
        "out_args": _string_list}, ["playbook_id"], base=STEP_BASE,
        type_value="playbook-action"),
    "parallel": _spec("parallel step", {"next_steps": array(identifier, 2)}, ["next_steps"],
                      base=STEP_BASE, type_value="parallel"),
    "if-condition": _spec("if-condition step", {
        "condition": string, "on_true": identifier, "on_false": identifier},
        ["condition", "on_true"], base=STEP_BASE, type_value="if-condition"),
    "while-condition": _spec("while-condition step", {"condition": string, "on_true": identifier},
                             ["condition", "on_true"], base=STEP_BASE,
                             type_value="while-condition"),
    "switch-condition": _spec("switch-condition step", {"switch": string, "cases": _cases},
                              ["switch", "cases"], base=STEP_BASE,
                              type_value="switch-condition"),
}

PROCESSING_SUMMARY = _spec("processing summary", {k: boolean for k in (
    "manual_playbook", "external_playbooks", "parallel_processing", "if_logic", "while_logic",
    "switch_logic", "temporal_logic", "data_markings", "digital_signatures",
    "countersigned_signatures", "extensions")})

_marking_keys = by_prefix(MARKING_TYPES, MARKING_SPECS.__getitem__, "a data marking")

PLAYBOOK = _spec("playbook", {
    "type": one_of(("playbook",), "'playbook'"),
    "spec_version": one_of(("cacao-2.0",), "'cacao-2.0'"),
    "id": identifier, "name": string, "description": string,
    "playbook_types": array(string), "playbook_activities": array(string, 1),
    "playbook_processing_summary": PROCESSING_SUMMARY.check,
    "created_by": identifier, "created": timestamp, "modified": timestamp,
    "revoked": boolean, "valid_from": timestamp, "valid_until": timestamp,
    "derived_from": array(identifier, 1), "related_to": array(identifier, 1),
    "priority": integer(0, 100), "severity": integer(0, 100), "impact": integer(0, 100),
    "industry_sectors": array(string, 1), "labels": _string_list,
    "external_references": _external_refs, "markings": array(identifier, 1),
    "playbook_variables": _variables, "workflow_start": identifier,
    "workflow_exception": identifier,
    "workflow": by_prefix(STEP_TYPES, STEP_SPECS.__getitem__, "a workflow step"),
    "playbook_extensions": _extensions,
    "authentication_info_definitions": by_prefix(AUTH_TYPES, AUTH_SPECS.__getitem__,
                                                 "authentication info", 1),
    "agent_definitions": by_prefix(AGENT_TYPES, AGENT_SPECS.__getitem__, "an agent", 1),
    "target_definitions": by_prefix(AGENT_TYPES, AGENT_SPECS.__getitem__, "a target", 1),
    "extension_definitions": keyed(re.compile(rf"^extension-definition--{_UUID}$"),
                                   "an extension-definition identifier",
                                   EXTENSION_DEFINITION.check),
    "data_marking_definitions": _marking_keys,
    "signatures": array(SIGNATURE.check, 1)},
    ["type", "spec_version", "id", "name", "created_by", "created", "modified",
     "workflow_start", "workflow"])


# -- references and workflow soundness ------------------------------------------------------------
def step_label(step_id: str, steps: Mapping[str, Any]) -> str:
    """``workflow['action--…'] ("Isolate the HMI")``: where the author finds the step."""
    step = steps.get(step_id)
    name = step.get("name") if isinstance(step, dict) else None
    return f"workflow[{step_id!r}]" + (f" ({name!r})" if isinstance(name, str) else "")


def _successors(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, step id) pairs a step can move to."""
    out: list[tuple[str, str]] = []
    for key in ("on_completion", "on_success", "on_failure", "on_true", "on_false"):
        target = step.get(key)
        if isinstance(target, str):
            out.append((key, target))
    next_steps = step.get("next_steps")
    for i, target in enumerate(next_steps if isinstance(next_steps, list) else []):
        if isinstance(target, str):
            out.append((f"next_steps[{i}]", target))
    cases = step.get("cases")
    if isinstance(cases, dict):
        out.extend((f"cases[{k!r}]", v) for k, v in cases.items() if isinstance(v, str))
    return out


def _dict(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _list(node: Mapping[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    return value if isinstance(value, list) else []


def _check_references(doc: Mapping[str, Any], out: list[Problem]) -> None:
    steps = doc.get("workflow")
    if not isinstance(steps, dict):
        return
    start = doc.get("workflow_start")
    if isinstance(start, str):
        if start not in steps:
            out.append(Problem("workflow_start", f"{start!r} is not a step of the workflow"))
        elif not start.startswith("start--"):
            out.append(Problem("workflow_start", "must name a start step"))
    exc = doc.get("workflow_exception")
    if isinstance(exc, str) and exc not in steps:
        out.append(Problem("workflow_exception", f"{exc!r} is not a step of the workflow"))
    agents = _dict(doc, "agent_definitions")
    targets = _dict(doc, "target_definitions")
    auth = _dict(doc, "authentication_info_definitions")
    extensions = _dict(doc, "extension_definitions")
    markings = _dict(doc, "data_marking_definitions")
    for i, m in enumerate(_list(doc, "markings")):
        if isinstance(m, str) and m not in markings:
            out.append(Problem(f"markings[{i}]", f"{m!r} is not in data_marking_definitions"))
    for key in ("playbook_extensions",):
        for ext in _dict(doc, key):
            if ext not in extensions:
                out.append(Problem(f"{key}[{ext!r}]", "not in extension_definitions"))
    for defs_name, defs in (("agent_definitions", agents), ("target_definitions", targets)):
        for k, v in defs.items():
            ref = v.get("authentication_info") if isinstance(v, dict) else None
            if isinstance(ref, str) and ref not in auth:
                out.append(Problem(f"{defs_name}[{k!r}].authentication_info",
                                   f"{ref!r} is not in authentication_info_definitions"))
    counts = {t: 0 for t in STEP_TYPES}
    for sid, step in steps.items():
        if not isinstance(step, dict) or not isinstance(sid, str):
            continue
        counts[sid.split("--", 1)[0]] = counts.get(sid.split("--", 1)[0], 0) + 1
        where = step_label(sid, steps)
        for prop, target in _successors(step):
            if target not in steps:
                out.append(Problem(f"{where}.{prop}", f"{target!r} is not a step of the workflow"))
            elif target == sid:
                out.append(Problem(f"{where}.{prop}", "a step cannot lead to itself"))
        agent = step.get("agent")
        if isinstance(agent, str) and agent not in agents:
            out.append(Problem(f"{where}.agent", f"{agent!r} is not in agent_definitions"))
        owner = step.get("owner")
        if isinstance(owner, str) and owner not in agents and owner not in targets:
            out.append(Problem(f"{where}.owner", f"{owner!r} is not a defined agent or target"))
        for i, t in enumerate(_list(step, "targets")):
            if isinstance(t, str) and t not in targets:
                out.append(Problem(f"{where}.targets[{i}]", f"{t!r} is not in target_definitions"))
        for ext in _dict(step, "step_extensions"):
            if ext not in extensions:
                out.append(Problem(f"{where}.step_extensions[{ext!r}]",
                                   "not in extension_definitions"))
        if step.get("type") not in ("end",) and not _successors(step) and \
                step.get("type") != "while-condition":
            out.append(Problem(where, "leads nowhere: give it on_completion (or on_success/"
                                      "on_failure) ending in an end step"))
    if counts.get("start", 0) == 0:
        out.append(Problem("workflow", "needs a start step"))
    if counts.get("end", 0) == 0:
        out.append(Problem("workflow", "needs an end step"))
    if counts.get("action", 0) + counts.get("playbook-action", 0) == 0:
        out.append(Problem("workflow", "needs at least one action or playbook-action step"))
    if isinstance(start, str) and start in steps:
        _check_reachability(steps, start, exc if isinstance(exc, str) else None, out)


def _check_reachability(steps: Mapping[str, Any], start: str, exc: str | None,
                        out: list[Problem]) -> None:
    seen: set[str] = set()
    todo = [start] + ([exc] if exc is not None and exc in steps else [])
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in steps:
            continue
        seen.add(sid)
        step = steps[sid]
        if isinstance(step, dict):
            todo.extend(t for _, t in _successors(step))
    for sid in steps:
        if sid not in seen:
            out.append(Problem(step_label(sid, steps), f"unreachable from {start!r}"))
    # A cycle that does not pass through a while-condition never ends.
    state: dict[str, int] = {}

    def visit(sid: str, trail: list[str]) -> None:
        state[sid] = 1
        step = steps.get(sid)
        for _, nxt in _successors(step) if isinstance(step, dict) else ():
            if nxt not in steps:
                continue
            if state.get(nxt) == 1:
                loop = [*trail[trail.index(nxt):], sid] if nxt in trail else [sid, nxt]
                if not any(s.startswith("while-condition--") for s in loop):
                    out.append(Problem(step_label(sid, steps),
                                       f"leads back to {nxt!r}: a loop outside a "
                                       f"while-condition never ends"))
            elif nxt not in state:
                visit(nxt, [*trail, sid])
        state[sid] = 2

    visit(start, [])


def _check_dates(doc: Mapping[str, Any], out: list[Problem]) -> None:
    created, modified = doc.get("created"), doc.get("modified")
    if isinstance(created, str) and isinstance(modified, str) and TIMESTAMP.match(created) \
            and TIMESTAMP.match(modified) and modified < created:
        out.append(Problem("modified", "is earlier than created"))
    start, until = doc.get("valid_from"), doc.get("valid_until")
    if isinstance(start, str) and isinstance(until, str) and until <= start:
        out.append(Problem("valid_until", "must be later than valid_from"))


def validate_playbook(doc: Any) -> list[Problem]:
    """Every problem of ``doc`` (a decoded JSON value); empty when it is a valid playbook."""
    out: list[Problem] = []
    PLAYBOOK.check(doc, "", out)
    if isinstance(doc, dict):
        _check_references(doc, out)
        _check_dates(doc, out)
    for i, p in enumerate(out):
        if p.path.startswith("."):
            out[i] = Problem(p.path[1:], p.message)
    return out
