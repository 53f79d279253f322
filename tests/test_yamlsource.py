"""YAML with line numbers: every hand-written file's errors must point at a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.errors import ConfigError
from otshield.yamlsource import LocatedDict, LocatedList, line_of, load_yaml, read_yaml


def test_lines_of_keys_and_items() -> None:
    doc = load_yaml("top: 1\nrules:\n  - id: a\n    title: x\n  - id: b\n", "r.yaml")
    assert isinstance(doc, LocatedDict)
    assert line_of(doc, "top") == 1
    assert line_of(doc, "rules") == 2
    rules = doc["rules"]
    assert isinstance(rules, LocatedList)
    assert [line_of(rules, i) for i in range(2)] == [3, 5]
    assert line_of(rules[1], "id") == 5
    assert line_of(rules[0], "title") == 4
    assert line_of(rules[0], "missing") == 3  # falls back to the mapping's own line


def test_plain_values_are_plain() -> None:
    doc = load_yaml("a: [1, 2.5, true, null, 'x']\n")
    assert doc == {"a": [1, 2.5, True, None, "x"]}
    assert line_of(5) == 0


def test_duplicate_key_is_an_error_with_line() -> None:
    with pytest.raises(ConfigError, match=r"^p.yaml:3:1: invalid YAML: duplicate key 'b'"):
        load_yaml("a: 1\nb: 2\nb: 3\n", "p.yaml")


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ConfigError, match=r"^p.yaml:2:\d+: invalid YAML"):
        load_yaml("a: [1, 2\nb: 3\n", "p.yaml")


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n", "p.yaml")


def test_unhashable_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="mapping key must be a plain value"):
        load_yaml("? [1, 2]\n: x\n", "p.yaml")


def test_read_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the policy"):
        read_yaml(tmp_path / "absent.yaml", "policy")
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("x: 1\n")
    assert read_yaml(good) == {"x": 1}
