"""YAML files that remember where each value was written, so errors can name file and line.

Rule packs, policies and baselines are written by hand; "rules.yaml:42: unknown operator
'rgex'" saves the user a search that "rules[7].match.where.uri" does not. :func:`load_yaml`
parses with PyYAML's safe loader and returns plain ``dict``/``list`` subclasses that carry the
1-based line of each key and item; :func:`line_of` reads it back.

    doc = load_yaml(text, "rules.yaml")
    rule = doc["rules"][3]
    where = f"{doc.origin}:{line_of(rule, 'match')}"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from otshield.errors import ConfigError

__all__ = ["Located", "LocatedDict", "LocatedList", "line_of", "load_yaml", "read_text",
           "read_yaml"]


class LocatedDict(dict[Any, Any]):
    """A mapping with the line of itself (``line``) and of each key (``lines``)."""

    line: int = 0
    lines: dict[Any, int]


class LocatedList(list[Any]):
    """A sequence with the line of itself (``line``) and of each item (``lines``)."""

    line: int = 0
    lines: list[int]


Located = LocatedDict | LocatedList


_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it: ten times faster than the pure-Python one,
which matters for the rule pack (thousands of lines read at every start)."""


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe loader building :class:`LocatedDict` / :class:`LocatedList` (no arbitrary types)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    out = LocatedDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml(text: str, origin: str = "<yaml>") -> Any:
    """Parse ``text``; syntax errors raise :class:`ConfigError` naming ``origin:line:column``.

    Duplicate keys are errors (PyYAML silently keeps the last one, which hides typos)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: invalid YAML: {exc}") from None


def read_text(path: Path, what: str = "file") -> str:
    """A text file's contents; unreadable or non-UTF-8 files raise :class:`ConfigError`."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} is not UTF-8 text") from None


def read_yaml(path: Path, what: str = "file") -> Any:
    """Read and parse a YAML file; unreadable or non-UTF-8 files raise :class:`ConfigError`."""
    return load_yaml(read_text(path, what), str(path))


def line_of(node: object, key: Any = None) -> int:
    """The 1-based line of ``node`` (or of its ``key``/index), 0 when unknown."""
    if key is not None:
        if isinstance(node, LocatedDict):
            return node.lines.get(key, node.line)
        if isinstance(node, LocatedList) and isinstance(key, int) and 0 <= key < len(node.lines):
            return node.lines[key]
    return int(getattr(node, "line", 0))
