"""CACAO 2.0 validation: the built-in library against the OASIS schemas, and our validator
rejecting everything the schemas reject, plus unknown properties and broken references.

The schemas are third-party data read from ../shared/data/standards/cacao; the comparison
tests skip when it is absent. The schemas declare draft-07, whose validators ignore
``unevaluatedProperties``; they are used exactly as published (draft-07), which is what makes
our stricter unknown-property check necessary.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from otshield.errors import ConfigError
from otshield.respond.cacao.model import parse_playbook
from otshield.respond.cacao.otext import EXTENSION_ID, check_extension
from otshield.respond.cacao.validate import validate_playbook
from otshield.respond.library import builtin_playbooks, find
from support import SHARED

SCHEMAS = SHARED / "data" / "standards" / "cacao" / "schemas"
needs_schemas = pytest.mark.skipif(not (SCHEMAS / "playbook.json").exists(),
                                   reason=f"CACAO schemas not found at {SCHEMAS}")


@pytest.fixture(scope="module")
def schema_validator() -> Any:
    import jsonschema
    import referencing.jsonschema
    from referencing import Registry, Resource

    resources = []
    for f in SCHEMAS.rglob("*.json"):
        doc = json.loads(f.read_text())
        resources.append((doc["$id"], Resource.from_contents(
            doc, default_specification=referencing.jsonschema.DRAFT7)))
    root = json.loads((SCHEMAS / "playbook.json").read_text())
    return jsonschema.Draft7Validator(root, registry=Registry().with_resources(resources))


@pytest.fixture(scope="module")
def ransomware() -> dict[str, Any]:
    return find(builtin_playbooks(), "ransomware-it-threatens-ot").doc


def test_library_has_the_six_ot_playbooks() -> None:
    names = {p.name for p in builtin_playbooks()}
    assert names == {
        "Ransomware in IT threatening OT", "Unauthorised PLC program change",
        "Rogue device on the control network", "Remote access abuse",
        "Denial of service on the control network", "Loss of view or loss of control"}
    for pb in builtin_playbooks():
        assert pb.triggers.techniques, pb.name
        assert pb.recovery_steps, pb.name
        assert any(s.ot_gate for s in pb.steps.values()), pb.name


@needs_schemas
def test_every_builtin_playbook_validates_against_the_oasis_schemas(
        schema_validator: Any) -> None:
    for pb in builtin_playbooks():
        errors = [e.message for e in schema_validator.iter_errors(pb.doc)]
        assert errors == [], pb.name
        assert validate_playbook(pb.doc) == [], pb.name
        assert check_extension(pb.doc) == [], pb.name


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from _paths(v, (*path, i))


def _shape(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A path with identifiers reduced to their type (``action--…`` -> ``action``) and list
    positions beyond the first two folded, so that one step of each kind stands for all."""
    return tuple(p.split("--")[0] if isinstance(p, str) and "--" in p else
                 (min(p, 1) if isinstance(p, int) else p) for p in path)


def _mutations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every key deleted, every value replaced by values of other types, an unknown key added
    to every object; once per path shape (see :func:`_shape`)."""
    wrong: list[Any] = [7, "x", [], {}, None, True, -1, "not--an-id", ["a"]]
    shapes: set[tuple[Any, ...]] = set()
    for path in _paths(doc):
        if _shape(path) in shapes:
            continue
        shapes.add(_shape(path))
        parent_path, last = path[:-1], path[-1]
        for value in [*wrong, "__delete__", "__unknown__"]:
            mutated = copy.deepcopy(doc)
            parent: Any = mutated
            for p in parent_path:
                parent = parent[p]
            target = parent[last]
            if value == "__delete__":
                if isinstance(parent, dict):
                    del parent[last]
                else:
                    parent.pop(last)
            elif value == "__unknown__":
                if not isinstance(target, dict):
                    continue
                target["x_not_cacao"] = 1
            else:
                if target == value:
                    continue
                parent[last] = value
            yield f"{'/'.join(map(str, path))} <- {value!r}", mutated


@needs_schemas
def test_we_reject_everything_the_schemas_reject(schema_validator: Any,
                                                 ransomware: dict[str, Any]) -> None:
    checked = schema_rejected = 0
    missed = []
    for what, doc in _mutations(ransomware):
        checked += 1
        if not schema_validator.is_valid(doc):
            schema_rejected += 1
            if not validate_playbook(doc) and not check_extension(doc):
                missed.append(what)
    assert missed == []
    # The mutation set must be strong enough to mean something.
    assert checked > 400 and schema_rejected > 150, (checked, schema_rejected)


@needs_schemas
def test_we_also_reject_what_draft7_lets_through(schema_validator: Any,
                                                 ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    step_id = next(k for k, v in doc["workflow"].items() if v["type"] == "action")
    doc["workflow"][step_id]["on_sucess"] = doc["workflow"][step_id]["on_completion"]
    assert schema_validator.is_valid(doc)  # draft-07 ignores unevaluatedProperties
    problems = [str(p) for p in validate_playbook(doc)]
    assert len(problems) == 1
    assert "on_sucess" in problems[0] and "did you mean 'on_success'" in problems[0]


def _step(doc: dict[str, Any], name: str) -> str:
    return next(k for k, v in doc["workflow"].items() if v.get("name") == name)


def test_a_dangling_reference_names_the_faulty_step(ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    sid = _step(doc, "Confirm the infection and scope it")
    doc["workflow"][sid]["on_completion"] = "action--00000000-0000-4000-8000-000000000000"
    problems = [str(p) for p in validate_playbook(doc)]
    assert any("'Confirm the infection and scope it'" in p and "on_completion" in p
               and "not a step of the workflow" in p for p in problems), problems
    # The steps after it are now unreachable, and say so by name.
    assert any("'Page IT, OT and the shift supervisor'" in p and "unreachable" in p
               for p in problems), problems


def test_missing_agent_loop_and_dead_end_are_errors(ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    first = _step(doc, "Confirm the infection and scope it")
    page = _step(doc, "Page IT, OT and the shift supervisor")
    doc["workflow"][first]["agent"] = "group--00000000-0000-4000-8000-000000000001"
    doc["workflow"][page]["on_completion"] = first  # a loop without a while-condition
    problems = [str(p) for p in validate_playbook(doc)]
    assert any("agent" in p and "not in agent_definitions" in p for p in problems)
    assert any("loop outside a while-condition" in p for p in problems)
    doc = copy.deepcopy(ransomware)
    del doc["workflow"][page]["on_completion"]
    problems = [str(p) for p in validate_playbook(doc)]
    assert any("'Page IT, OT and the shift supervisor'" in p and "leads nowhere" in p
               for p in problems), problems


def test_step_type_must_match_its_key(ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    sid = _step(doc, "Confirm the infection and scope it")
    doc["workflow"][sid]["type"] = "end"
    assert any("does not match the key's type 'action'" in str(p)
               for p in validate_playbook(doc))


def test_otshield_extension_is_checked(ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    sid = _step(doc, "Close the IT-to-OT conduits that the attack used")
    ext = doc["workflow"][sid]["step_extensions"][EXTENSION_ID]
    del ext["ot_gate"]
    ext["isolation"] = True
    ext["role"] = "janitor"
    problems = [str(p) for p in check_extension(doc)]
    assert any("'janitor' is not a role of the playbook" in p for p in problems)
    assert any("isolating OT assets needs an ot_gate" in p for p in problems)
    doc = copy.deepcopy(ransomware)
    for step in doc["workflow"].values():
        step.get("step_extensions", {}).get(EXTENSION_ID, {}).pop("recovery", None)
    assert any("states its recovery" in str(p) for p in check_extension(doc))


def test_parse_reports_every_problem_at_once(ransomware: dict[str, Any]) -> None:
    doc = copy.deepcopy(ransomware)
    doc["spec_version"] = "cacao-1.0"
    doc["priority"] = 101
    del doc["created_by"]
    with pytest.raises(ConfigError) as info:
        parse_playbook(doc, "mine.json")
    text = str(info.value)
    assert text.startswith("mine.json: not a valid CACAO 2.0 playbook (3 problems)")
    assert "spec_version" in text and "priority" in text and "created_by" in text


def test_garbage_is_an_error_not_a_crash() -> None:
    for junk in (None, [], "playbook", 3, {"type": "playbook"},
                 {"workflow": {"action--x": 1}}, {"workflow": []}):
        assert validate_playbook(junk) != []
