"""Loading rule files: each kind of mistake is reported with its exact file:line, all of a file's
problems at once, built-in files under construction never crash the loader."""

from __future__ import annotations

import textwrap
from pathlib import Path

import msgspec
import pytest

from otshield.detect.rules import RuleLoadError, load_rules, loader, parse_rules
from otshield.detect.rules.loader import parse_duration

GOOD = """\
rules:
  - id: t.modbus.write
    title: Modbus write
    severity: medium
    techniques: [T0836]
    description: why
    response: what
    match: {dataset: modbus, function_class: write}
    examples:
      match: [{dataset: modbus, function_class: write}]
      no_match: [{dataset: modbus, function_class: read}]
"""


def errors(text: str) -> list[str]:
    return parse_rules(textwrap.dedent(text), "r.yaml", strict=False).errors


def with_rule(lines: str) -> str:
    """GOOD with its lines 3.. replaced: ``lines`` starts at line 3 (after id)."""
    head = "rules:\n  - id: t.x\n"
    return head + textwrap.indent(textwrap.dedent(lines), "    ")


BASE = """\
title: T
severity: medium
techniques: [T0836]
description: why
response: what
"""
EX = """\
examples:
  match: [{dataset: modbus}]
  no_match: [{dataset: modbus}]
"""


def test_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    rs = load_rules([tmp_path], builtin=False)
    assert [r.id for r in rs] == ["t.modbus.write"]
    rule = rs.rules[0]
    assert rule.where == f"{tmp_path / 'a.yaml'}:2"
    assert rule.tactics == ("impair-process-control",)
    assert rule.datasets == ("modbus",)
    assert len(rule.examples) == 2 and rule.examples[0].line == 10


@pytest.mark.parametrize(("body", "expected"), [
    (BASE + "match: {dataset: modbus}\n" + EX + "sevrity: high\n",
     ["r.yaml:12: rule t.x: unknown key 'sevrity' (did you mean 'severity'?)"]),
    ("title: T\nseverity: medium\ntechniques: [T0836]\nmatch: {dataset: modbus}\n" + EX,
     ["r.yaml:2: rule t.x: missing required field 'description'",
      "r.yaml:2: rule t.x: missing required field 'response'"]),
    (BASE.replace("severity: medium", "severity: severe") + "match: {dataset: modbus}\n" + EX,
     ["r.yaml:4: rule t.x: severity 'severe' is not one of info, low, medium, high, critical"]),
    (BASE + "confidence: sure\nmatch: {dataset: modbus}\n" + EX,
     ["r.yaml:8: rule t.x: confidence 'sure' is not one of low, medium, high"]),
    (BASE.replace("[T0836]", "[T0836, T0000, T836]") + "match: {dataset: modbus}\n" + EX,
     ["r.yaml:5: rule t.x: technique 'T0000' is not in the ATT&CK for ICS table (did you "
      "mean 'T0800'?)",
      "r.yaml:5: rule t.x: technique 'T836' is not in the ATT&CK for ICS table (ids look "
      "like T0855) (did you mean 'T0836'?)"]),
    (BASE.replace("[T0836]", "[]") + "match: {dataset: modbus}\n" + EX,
     ["r.yaml:5: rule t.x: techniques may be empty only for severity info"]),
    (BASE + EX, ["r.yaml:2: rule t.x: a rule needs exactly one of 'match' or 'sequence'"]),
    (BASE + "match: {dataset: modbsu}\n" + EX,
     ["r.yaml:8: rule t.x: unknown dataset 'modbsu' (did you mean 'modbus'?)"]),
    (BASE + "match:\n  dataset: modbus\n  unit: 1\n" + EX,
     ["r.yaml:10: rule t.x: unknown field 'unit' for modbus (did you mean 'unit_id'?)"]),
    (BASE + "match:\n  dataset: modbus\n  function: {regx: '^W'}\n" + EX,
     ["r.yaml:10: rule t.x: unknown operator 'regx' (did you mean 'regex'?)"]),
    (BASE + "match:\n  dataset: modbus\n  unit_id: {contains: '1'}\n" + EX,
     ["r.yaml:10: rule t.x: contains needs a string field; 'unit_id' is int"]),
    (BASE + "match:\n  dataset: modbus\n  function: {regex: '[A-'}\n" + EX,
     ["r.yaml:10: rule t.x: regex: invalid regular expression '[A-': unterminated character "
      "set at position 0"]),
    (BASE + "match:\n  dataset: modbus\n  src_ip: {cidr: [10.0.0.0/8, 10.0.0/x]}\n" + EX,
     ["r.yaml:10: rule t.x: cidr: '10.0.0/x' is not a network (CIDR such as 10.0.0.0/8)"]),
    (BASE + "match: {dataset: modbus}\nthreshold: {window: 10 minutes, count: 3}\n" + EX,
     ["r.yaml:9: rule t.x: window '10 minutes' is not a duration (60s, 5m, 1h, 2d or a "
      "number of seconds, above zero)"]),
    (BASE + "match: {dataset: modbus}\nthreshold: {window: 1m}\n" + EX,
     ["r.yaml:9: rule t.x: threshold: missing 'count'"]),
    (BASE + "match: {dataset: modbus}\nthreshold: {window: 1m, count: 2, distinct: unit}\n"
     + EX, ["r.yaml:9: rule t.x: threshold: unknown field 'unit' (did you mean 'unit_id'?)"]),
    (BASE + "sequence:\n  within: 1h\n  steps:\n    - match: {dataset: modbus}\n" + EX,
     ["r.yaml:10: rule t.x: sequence: steps must list at least two steps"]),
    (BASE + "sequence:\n  within: 1h\n  steps:\n    - match: {dataset: rdp}\n      on: dst\n"
     "    - match: {dataset: modbus}\n" + EX,
     ["r.yaml:12: rule t.x: sequence step 1: 'on' must name an address field of rdp (did "
      "you mean 'dst_ip'?)"]),
    (BASE + "match: {dataset: modbus}\nmessage: 'unit {unit} of {dst_ip}'\n" + EX,
     ["r.yaml:9: rule t.x: message: unknown placeholder {unit} (did you mean 'unit_id'?)"]),
    (BASE + "match: {dataset: modbus}\nkey: [dst]\n" + EX,
     ["r.yaml:9: rule t.x: key field 'dst' is not a field of modbus (did you mean 'dst_ip'?)"]),
    (BASE + "match: {dataset: modbus}\n",
     ["r.yaml:2: rule t.x: missing required field 'examples'"]),
    (BASE + "match: {dataset: modbus}\nexamples:\n  match: [{dataset: modbus}]\n",
     ["r.yaml:9: rule t.x: examples: 'no_match' needs at least one example"]),
    (BASE + "match: {dataset: modbus}\nexamples:\n  match:\n    - {dataset: modbus, unit: 3}\n"
     "  no_match: [{dataset: modbus}]\n",
     ["r.yaml:11: rule t.x: examples.match[0]: unknown field 'unit' (did you mean "
      "'unit_id'?)"]),
    (BASE + "match: {dataset: modbus}\nexamples:\n  match:\n    - {dataset: modbus, unit_id: x}\n"
     "  no_match: [{dataset: modbus}]\n",
     ["r.yaml:11: rule t.x: examples.match[0]: Expected `int`, got `str` - at `$.unit_id`"]),
    (BASE + "match: {dataset: modbus}\nexamples:\n  match:\n    - events:\n"
     "        - {dataset: modbus, ts: 0}\n        - {dataset: mdbus, ts: 1}\n"
     "  no_match: [{dataset: modbus}]\n",
     ["r.yaml:13: rule t.x: examples.match[0].events[1]: unknown dataset 'mdbus' (did you mean "
      "'modbus'?)"]),
    (BASE + "match: {dataset: modbus}\nexamples:\n  match:\n    - events: [{dataset: modbus}]\n"
     "      context: {10.0.0.1: {zone: A, levle: 2}}\n  no_match: [{dataset: modbus}]\n",
     ["r.yaml:12: rule t.x: examples.match[0]: context 10.0.0.1: unknown fact 'levle' (did "
      "you mean 'level'?)"]),
])
def test_each_mistake_reported_with_its_line(body: str, expected: list[str]) -> None:
    assert errors(with_rule(body)) == expected


def test_bad_id() -> None:
    text = "rules:\n  - id: OT.Bad Id\n" + textwrap.indent(
        BASE + "match: {dataset: modbus}\n" + EX, "    ")
    assert errors(text) == ["r.yaml:2: rule OT.Bad Id: id 'OT.Bad Id': use lowercase letters, "
                            "digits, '_', '-' and dots (<area>.<protocol>.<what>)"]


def test_all_problems_of_a_file_collected() -> None:
    text = with_rule(BASE.replace("medium", "mediun") + "match:\n  dataset: modbus\n"
                     "  unit: 1\n  function: {rgex: x}\n" + EX + "colour: red\n")
    text += "  - 42\n  - id: t.y\n    title: Y\n"
    found = errors(text)
    assert found == [
        "r.yaml:4: rule t.x: severity 'mediun' is not one of info, low, medium, high, critical "
        "(did you mean 'medium'?)",
        "r.yaml:10: rule t.x: unknown field 'unit' for modbus (did you mean 'unit_id'?)",
        "r.yaml:11: rule t.x: unknown operator 'rgex' (did you mean 'regex'?)",
        "r.yaml:15: rule t.x: unknown key 'colour'",
        "r.yaml:16: rule #2: a rule is a mapping (id, title, severity, ...)",
        "r.yaml:17: rule t.y: missing required field 'severity'",
        "r.yaml:17: rule t.y: missing required field 'description'",
        "r.yaml:17: rule t.y: missing required field 'response'",
        "r.yaml:17: rule t.y: missing required field 'examples'",
        "r.yaml:17: rule t.y: missing required field 'techniques' (may be [] only for severity "
        "info)",
        "r.yaml:17: rule t.y: a rule needs exactly one of 'match' or 'sequence'",
    ]


def test_strict_raises_with_every_error() -> None:
    with pytest.raises(RuleLoadError) as info:
        parse_rules(with_rule(BASE + "match: {dataset: modbus, unit: 1, fc: 2}\n" + EX),
                    "r.yaml")
    assert len(info.value.errors) == 2
    assert str(info.value).count("\n") == 1


def test_file_level_problems(tmp_path: Path) -> None:
    assert errors("rules: {a: 1}\n") == ["r.yaml:1: 'rules' must be a list of rules"]
    assert errors("- 1\n") == ["r.yaml:1: a rule file is a mapping with a 'rules' list"]
    assert errors("rule:\n  - {}\n") == [
        "r.yaml:1: unknown top-level key 'rule' (did you mean 'rules'?)"]
    # the wording is the YAML parser's (libyaml or PyYAML's own); the place is ours
    [unclosed] = errors("rules:\n  - id: [\n")
    assert unclosed.startswith("r.yaml:3:1: invalid YAML: ") and "node content" in unclosed
    assert errors("") == []
    missing = tmp_path / "nope.yaml"
    rs = load_rules([missing], builtin=False, strict=False)
    assert rs.errors == [f"{missing}: no such rule file or directory"]


def test_duplicates_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "ot_a.yaml").write_text(GOOD)
    monkeypatch.setattr(loader, "BUILTIN_DIR", builtin)
    user = tmp_path / "user"
    user.mkdir()
    (user / "dup.yaml").write_text(GOOD)
    rs = load_rules([user], strict=False)
    assert rs.errors == [f"{user / 'dup.yaml'}:2: rule t.modbus.write: duplicate id, already "
                         f"defined at {builtin / 'ot_a.yaml'}:2 (add 'override: true' to "
                         "replace the built-in rule)"]
    (user / "dup.yaml").write_text(GOOD.replace("severity: medium",
                                                "severity: low\n    override: true"))
    rs = load_rules([user])
    assert [(r.id, r.severity, r.builtin) for r in rs] == [("t.modbus.write", "low", False)]
    (user / "dup.yaml").write_text(GOOD.replace("t.modbus.write", "t.modbus.writ").replace(
        "severity: medium", "severity: low\n    override: true"))
    rs = load_rules([user], strict=False)
    assert rs.errors == [f"{user / 'dup.yaml'}:2: rule t.modbus.writ: override: true, but "
                         "there is no built-in rule 't.modbus.writ' to replace (did you mean "
                         "'t.modbus.write'?)"]
    # two user files with the same id: no override possible
    (user / "dup.yaml").write_text(GOOD.replace("t.modbus.write", "t.u"))
    (user / "dup2.yml").write_text(GOOD.replace("t.modbus.write", "t.u"))
    rs = load_rules([user], strict=False)
    assert rs.errors == [f"{user / 'dup2.yml'}:2: rule t.u: duplicate id, already defined at "
                         f"{user / 'dup.yaml'}:2"]
    # the built-in directory named explicitly is not loaded twice
    assert load_rules([builtin]).rules[0].id == "t.modbus.write"


def test_broken_builtin_file_reported_not_crashing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "it_half.yaml").write_text("rules:\n  - id: it.x\n    title: [unclosed\n")
    (builtin / "ot_good.yaml").write_text(GOOD)
    monkeypatch.setattr(loader, "BUILTIN_DIR", builtin)
    rs = load_rules([], strict=False)
    assert [r.id for r in rs] == ["t.modbus.write"]
    assert len(rs.errors) == 1
    assert rs.errors[0].startswith(f"{builtin / 'it_half.yaml'}:4:1: invalid YAML")
    with pytest.raises(RuleLoadError):
        load_rules([])


def test_bare_on_key_in_sequence_steps() -> None:
    text = with_rule(BASE + "sequence:\n  within: 1h\n  steps:\n    - match: {dataset: rdp}\n"
                     "      on: dst_ip\n    - match: {dataset: modbus}\n" + EX)
    rs = parse_rules(text, "r.yaml")
    seq = rs.rules[0].sequence
    assert seq is not None and [s.on for s in seq.steps] == ["dst_ip", "src_ip"]
    assert seq.within == 3600.0


def test_info_rule_may_omit_techniques() -> None:
    text = with_rule(BASE.replace("severity: medium", "severity: info").replace(
        "techniques: [T0836]\n", "") + "match: {dataset: modbus}\n" + EX)
    assert parse_rules(text, "r.yaml").rules[0].techniques == ()


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("2d", 172800.0), ("500ms", 0.5),
    (90, 90.0), (1.5, 1.5), ("10", 10.0), ("0s", None), (0, None), (-1, None), ("1w", None),
    ("fast", None), (True, None), (None, None),
])
def test_durations(text: object, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_a_loaded_pack_is_kept_until_a_file_changes(tmp_path: Path) -> None:
    """The same files give the same rule set without reading them again (the console loads
    the pack for every uploaded capture); a change to any file, even one that keeps its size
    and time stamp, gives a fresh one."""
    import os

    from otshield.detect.attack import load_attack_table
    from otshield.detect.rules import forget_loaded_rules

    user = tmp_path / "user.yaml"
    user.write_text(GOOD)
    first = load_rules([user], builtin=False)
    assert load_rules([user], builtin=False) is first
    assert load_rules([user], builtin=False, strict=False) is not first  # other arguments
    stat = user.stat()
    user.write_text(GOOD.replace("severity: medium", "severity: high  "))  # same size
    os.utime(user, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert user.stat().st_size == stat.st_size
    second = load_rules([user], builtin=False)
    assert second is not first
    assert [r.severity for r in second] == ["high"] and [r.severity for r in first] == ["medium"]
    # a broken file is never kept: it fails every time until fixed
    user.write_text(GOOD.replace("severity: medium", "severity: loud"))
    for _ in range(2):
        with pytest.raises(RuleLoadError, match="loud"):
            load_rules([user], builtin=False)
    user.write_text(GOOD)
    assert [r.severity for r in load_rules([user], builtin=False)] == ["medium"]
    # another ATT&CK table object (a newer bundle, say): checked against it afresh
    table = load_attack_table()
    assert load_rules([user], builtin=False, attack=table) is load_rules(
        [user], builtin=False, attack=table)
    other = msgspec.structs.replace(table)
    assert load_rules([user], builtin=False, attack=other) is not load_rules(
        [user], builtin=False, attack=table)
    kept = load_rules([user], builtin=False)
    forget_loaded_rules()
    assert load_rules([user], builtin=False) is not kept
