"""Condition blocks (docs/rules.md, "Condition blocks") checked and compiled into closures.

A block is checked once against the event classes of its dataset(s): every field must exist
(ECS or short name, nested paths, context fields), every operator must exist and suit the
field's type, regexes must compile and networks parse. Then it is compiled, once per event
class, into a predicate ``(event, context) -> bool``: field paths become ``attrgetter``s or small
walkers, regexes are compiled, ``in`` lists become frozensets, constant parts are folded (a
nested ``dataset`` that cannot match this class makes its block constant false). Nothing of the
YAML is looked at per event.

Semantics in brief: entries of a block AND together; ``any``/``all``/``not`` combine blocks; a
path crossing a list holds when any element satisfies the positive tests and no element
satisfies a negative one (``ne``, ``not_in``, ``not_cidr``, ``not_regex``); a missing or null
value fails every test except ``exists: false``, ``eq: null`` and the negative ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import netaddr

from otshield.detect.rules.context_fields import (
    CONTEXT_FIELDS,
    CONTEXT_PREFIXES,
    RuleContext,
    parse_network,
)
from otshield.detect.rules.fields import FieldPath, class_field_names, resolve_field
from otshield.detect.rules.suggest import did_you_mean
from otshield.yamlsource import line_of

__all__ = [
    "OPERATORS",
    "Predicate",
    "Reader",
    "Report",
    "always",
    "check_block",
    "compile_block",
    "field_reader",
    "prefilter",
]

Predicate = Callable[[Any, RuleContext], bool]
"""A compiled condition: (event, context) -> holds."""
Reader = Callable[[Any, RuleContext], Any]
"""A compiled field read: (event, context) -> value (a list for multi-valued paths)."""
Report = Callable[[int, str], None]
"""Where checking reports a problem: (line, message)."""

BLOCK_KEYS = ("dataset", "any", "all", "not")
NEGATIVE = frozenset({"ne", "not_in", "not_cidr", "not_regex"})
OPERATORS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "range", "regex",
             "not_regex", "contains", "startswith", "endswith", "cidr", "not_cidr", "exists",
             "len_ge")
_POSITIVE_OF = {"ne": "eq", "not_in": "in", "not_cidr": "cidr", "not_regex": "regex"}
_STRING_OPS = frozenset({"regex", "not_regex", "contains", "startswith", "endswith",
                         "cidr", "not_cidr"})
_NUMERIC_OPS = frozenset({"lt", "le", "gt", "ge", "range"})
_NUM = (int, float)
"""Numeric tests apply to ints and floats (booleans never reach them: the loader refuses
numeric operators on boolean fields)."""


def always(_event: Any, _ctx: RuleContext) -> bool:
    return True


# -- checking --------------------------------------------------------------------------------------

def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a " + type(value).__name__


def _compatible(value: object, kinds: frozenset[str]) -> bool:
    """Can a field of ``kinds`` ever equal ``value``?"""
    if value is None or "any" in kinds:
        return True
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, int):
        return bool(kinds & {"int", "float"})
    if isinstance(value, float):
        return "float" in kinds
    if isinstance(value, str):
        return "str" in kinds
    return False


def _describe(kinds: frozenset[str]) -> str:
    shown = sorted(kinds - {"none"})
    return "/".join(shown) if shown else "null"


def _quote_hint(value: object, kinds: frozenset[str]) -> str:
    if "str" not in kinds or isinstance(value, str):
        return ""
    if isinstance(value, bool):
        return " (quote it: YAML reads on/off/yes/no as booleans)"
    return " (quote it to compare text)"


def parse_test(value: object) -> list[tuple[str, Any]]:
    """The (operator, argument) pairs of a test as written (no checking)."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [("in", value)]
    return [("eq", value)]


def _check_op(op: str, arg: Any, kinds: frozenset[str], path: str) -> str | None:
    """What is wrong with ``{op: arg}`` on a field of ``kinds`` (None when fine)."""
    value_kinds = kinds - {"none", "list"} if "list" in kinds else kinds - {"none"}
    if op in ("eq", "ne"):
        if not _scalar(arg):
            return f"{op} takes a single value, got {_kind_name(arg)}"
        if not _compatible(arg, kinds | ({"str"} if "list" in kinds else set())):
            return (f"field {path!r} is {_describe(value_kinds)}; {op} {arg!r} is "
                    f"{_kind_name(arg)} and can never match{_quote_hint(arg, kinds)}")
        return None
    if op in ("in", "not_in"):
        if not isinstance(arg, list) or not arg:
            return f"{op} takes a non-empty list"
        for item in arg:
            if item is None:
                return (f"{op}: null cannot be in the list (a missing field fails 'in'; test "
                        "it with 'exists: false' inside an 'any' block)")
            if not _scalar(item):
                return f"{op}: {item!r} is not a single value"
            if not _compatible(item, kinds):
                return (f"field {path!r} is {_describe(value_kinds)}; {op} value {item!r} is "
                        f"{_kind_name(item)} and can never match{_quote_hint(item, kinds)}")
        return None
    if op in _NUMERIC_OPS:
        if not kinds & {"int", "float", "any"}:
            return f"{op} needs a numeric field; {path!r} is {_describe(value_kinds)}"
        if op == "range":
            if (not isinstance(arg, list) or len(arg) != 2
                    or not all(_number(a) for a in arg)):
                return "range takes [low, high] (two numbers)"
            if arg[0] > arg[1]:
                return f"range: low {arg[0]} is above high {arg[1]}"
            return None
        if not _number(arg):
            return f"{op} takes a number, got {_kind_name(arg)}"
        return None
    if op in _STRING_OPS:
        if not kinds & {"str", "any"}:
            return f"{op} needs a string field; {path!r} is {_describe(value_kinds)}"
        if op in ("cidr", "not_cidr"):
            nets = arg if isinstance(arg, list) else [arg]
            if not nets:
                return f"{op} takes a network or a list of networks"
            for net in nets:
                if not isinstance(net, str):
                    return f"{op}: {net!r} is not a network (write it as a string)"
                try:
                    parse_network(net)
                except ValueError:
                    return f"{op}: {net!r} is not a network (CIDR such as 10.0.0.0/8)"
            return None
        if not isinstance(arg, str):
            return f"{op} takes a string, got {_kind_name(arg)}"
        if op in ("regex", "not_regex"):
            try:
                re.compile(arg)
            except re.error as exc:
                return f"{op}: invalid regular expression {arg!r}: {exc}"
        return None
    if op == "exists":
        if not isinstance(arg, bool):
            return "exists takes true or false"
        return None
    if op == "len_ge":
        if not kinds & {"str", "list", "any"}:
            return f"len_ge needs a string or list field; {path!r} is {_describe(value_kinds)}"
        if not _number(arg) or int(arg) != arg or arg < 0:
            return "len_ge takes a whole number >= 0"
        return None
    return f"unknown operator {op!r}{did_you_mean(op, OPERATORS)}"


def dataset_names(value: object) -> list[str] | None:
    """The names of a ``dataset`` entry, None when malformed."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def check_block(block: object, classes: dict[str, type], report: Report, *,
                known: dict[str, type], line: int, top: bool = False) -> None:
    """Check a condition block against the event classes in scope (``classes``: tag -> class).

    ``known`` is every dataset; problems go to ``report`` with their line."""
    if not isinstance(block, dict):
        report(line, f"a condition block must be a mapping, got {_kind_name(block)}")
        return
    if not block:
        report(line, "empty condition block")
        return
    scope = classes
    if "dataset" in block:
        names = dataset_names(block["dataset"])
        dline = line_of(block, "dataset")
        if names is None:
            report(dline, "dataset must be an event type name or a list of names")
            return
        narrowed: dict[str, type] = {}
        for name in names:
            if name not in known:
                report(dline, f"unknown dataset {name!r}{did_you_mean(name, known)}")
            elif name not in classes:
                report(dline, f"dataset {name!r} is not among the rule's datasets "
                              f"({', '.join(sorted(classes))})")
            else:
                narrowed[name] = classes[name]
        if not narrowed:
            return
        scope = narrowed
    elif top:
        report(line, "the block has no 'dataset' (required: it says which events the rule "
                     "reads)")
        return
    for key, value in block.items():
        kline = line_of(block, key)
        if key == "dataset":
            continue
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                report(kline, f"{key} takes a non-empty list of condition blocks")
                continue
            for i, sub in enumerate(value):
                check_block(sub, scope, report, known=known, line=line_of(value, i))
            continue
        if key == "not":
            check_block(value, scope, report, known=known, line=kline)
            continue
        if not isinstance(key, str):
            report(kline, f"a field name must be a string, got {key!r}")
            continue
        kinds = field_kinds(key, scope)
        if kinds is None:
            report(kline, f"unknown field {key!r} for {', '.join(sorted(scope))}"
                          f"{did_you_mean(key, _all_names(scope))}")
            continue
        tests = parse_test(value)
        if isinstance(value, dict) and not value:
            report(kline, f"field {key!r}: empty test")
        for op, arg in tests:
            problem = _check_op(op, arg, kinds, key)
            if problem is not None:
                report(kline, problem)


def _all_names(scope: dict[str, type]) -> list[str]:
    names: list[str] = [*CONTEXT_FIELDS, *BLOCK_KEYS]
    for cls in scope.values():
        names.extend(class_field_names(cls))
    return names


def field_kinds(path: str, scope: dict[str, type] | Iterable[type]) -> frozenset[str] | None:
    """The kinds of ``path`` over the classes in scope (union); None when no class has it."""
    ctx = CONTEXT_FIELDS.get(path)
    if ctx is not None:
        return ctx.kinds
    if path.startswith(CONTEXT_PREFIXES):
        return None
    classes = scope.values() if isinstance(scope, dict) else scope
    kinds: set[str] = set()
    found = False
    for cls in classes:
        fp = resolve_field(cls, path)
        if fp is not None:
            found = True
            kinds |= fp.kinds
    return frozenset(kinds) if found else None


# -- compiling -------------------------------------------------------------------------------------

@lru_cache(maxsize=1 << 16)
def _ip_int(text: str) -> tuple[int, int] | None:
    try:
        addr = netaddr.IPAddress(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    return addr.version, int(addr)


def _element_test(op: str, arg: Any) -> Callable[[Any], bool]:
    """The positive test of ``op`` on one value (None fails)."""
    if op == "eq":
        return lambda v: v is not None and v == arg
    if op == "in":
        members = frozenset(arg)
        return lambda v: v in members
    if op == "lt":
        return lambda v: isinstance(v, _NUM) and v < arg
    if op == "le":
        return lambda v: isinstance(v, _NUM) and v <= arg
    if op == "gt":
        return lambda v: isinstance(v, _NUM) and v > arg
    if op == "ge":
        return lambda v: isinstance(v, _NUM) and v >= arg
    if op == "range":
        lo, hi = arg
        return lambda v: isinstance(v, _NUM) and lo <= v <= hi
    if op == "regex":
        search = re.compile(arg).search
        return lambda v: isinstance(v, str) and search(v) is not None
    if op == "contains":
        return lambda v: isinstance(v, str) and arg in v
    if op == "startswith":
        return lambda v: isinstance(v, str) and v.startswith(arg)
    if op == "endswith":
        return lambda v: isinstance(v, str) and v.endswith(arg)
    if op == "cidr":
        ranges = tuple((n.version, n.first, n.last) for n in
                       (parse_network(t) for t in (arg if isinstance(arg, list) else [arg])))

        def in_nets(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            parsed = _ip_int(v)
            if parsed is None:
                return False
            version, value = parsed
            return any(ver == version and first <= value <= last
                       for ver, first, last in ranges)
        return in_nets
    if op == "len_ge":
        n = int(arg)
        return lambda v: isinstance(v, (str, list, tuple, set, frozenset)) and len(v) >= n
    raise ValueError(op)  # pragma: no cover - operators are checked before compiling


def _normalise(tests: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``eq: null`` is ``exists: false``, ``ne: null`` is ``exists: true``."""
    out = []
    for op, arg in tests:
        if op == "eq" and arg is None:
            out.append(("exists", False))
        elif op == "ne" and arg is None:
            out.append(("exists", True))
        else:
            out.append((op, arg))
    return out


def field_reader(path: str, cls: type) -> tuple[Reader, bool, bool] | None:
    """(reader, many, container) for ``path`` on ``cls``: ``many`` when the reader gives a
    list of values (path crosses a list); ``container`` when it gives one list/set whose
    elements are the values (a list leaf, ``src.roles``). None when ``cls`` has no such
    field."""
    ctx = CONTEXT_FIELDS.get(path)
    if ctx is not None:
        return _ctx_reader(ctx.read), False, ctx.many
    if path.startswith(CONTEXT_PREFIXES):
        return None
    fp: FieldPath | None = resolve_field(cls, path)
    if fp is None:
        return None
    getter = fp.getter
    return (lambda e, _c: getter(e)), fp.crosses_list, fp.leaf_list and not fp.crosses_list


def _ctx_reader(read: Callable[[RuleContext, Any], Any]) -> Reader:
    return lambda e, c: read(c, e)


def _compile_field(path: str, value: object, cls: type) -> Predicate | bool:
    found = field_reader(path, cls)
    tests = _normalise(parse_test(value))
    if found is None:
        # this class lacks the field (another dataset of the rule has it): always missing
        return all(op in NEGATIVE or (op == "exists" and arg is False) for op, arg in tests)
    read, many, container = found
    # a fast path for the most common test: one scalar (in)equality on an event field
    if not many and not container and len(tests) == 1 and path not in CONTEXT_FIELDS:
        op, arg = tests[0]
        fp = resolve_field(cls, path)
        assert fp is not None
        g = fp.getter
        if op == "eq":
            return lambda e, _c: g(e) == arg
        if op == "in":
            members = frozenset(arg)
            return lambda e, _c: g(e) in members
        if op == "ne":
            return lambda e, _c: g(e) != arg
        if op == "not_in":
            members = frozenset(arg)
            return lambda e, _c: g(e) not in members
        if op == "exists":
            return (lambda e, _c: g(e) is not None) if arg else (lambda e, _c: g(e) is None)
    # and on a set-like value read whole (``src.roles``, a list field): set operations
    if container and len(tests) == 1 and tests[0][0] in ("eq", "ne", "in", "not_in"):
        return _container_test(read, *tests[0])
    positives: list[Callable[[Any], bool]] = []
    negatives: list[Callable[[Any], bool]] = []
    exists: list[bool] = []
    whole: list[Callable[[Any], bool]] = []  # tests on the container itself (len_ge of a list)
    for op, arg in tests:
        if op == "exists":
            exists.append(bool(arg))
        elif op in NEGATIVE:
            negatives.append(_element_test(_POSITIVE_OF[op], arg))
        elif op == "len_ge" and container:
            whole.append(_element_test(op, arg))
        else:
            positives.append(_element_test(op, arg))
    pos = _and_values(positives)

    def holds(event: Any, ctx: RuleContext) -> bool:
        value = read(event, ctx)
        if many or container:
            values = [v for v in value if v is not None] if value else []
            for want in exists:
                if bool(values) != want:
                    return False
            for test in whole:
                if not test(value):
                    return False
            if pos is not None and not any(pos(v) for v in values):
                return False
            for neg in negatives:  # noqa: SIM110 - a loop is faster than a generator here
                if any(neg(v) for v in values):
                    return False
            return True
        for want in exists:
            if (value is not None) != want:
                return False
        if pos is not None and (value is None or not pos(value)):
            return False
        for neg in negatives:  # noqa: SIM110 - a loop is faster than a generator here
            if value is not None and neg(value):
                return False
        return True
    return holds


def _container_test(read: Reader, op: str, arg: Any) -> Predicate:
    """One (in)equality on a list or set value: any element / no element (docs/rules.md)."""
    if op == "eq":
        return lambda e, c: bool(value := read(e, c)) and arg in value
    if op == "ne":
        return lambda e, c: not (value := read(e, c)) or arg not in value
    members = frozenset(arg)
    if op == "in":
        return lambda e, c: bool(value := read(e, c)) and not members.isdisjoint(value)
    return lambda e, c: not (value := read(e, c)) or members.isdisjoint(value)


def _and_values(tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool] | None:
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    frozen = tuple(tests)
    return lambda v: all(t(v) for t in frozen)


def _and(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda e, c: a(e, c) and b(e, c)
    frozen = tuple(parts)

    def every(e: Any, c: RuleContext) -> bool:
        for p in frozen:  # noqa: SIM110 - a loop is faster than a generator here
            if not p(e, c):
                return False
        return True
    return every


def _or(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    frozen = tuple(parts)

    def some(e: Any, c: RuleContext) -> bool:
        for p in frozen:  # noqa: SIM110 - a loop is faster than a generator here
            if p(e, c):
                return True
        return False
    return some


def _not(part: Predicate) -> Predicate:
    return lambda e, c: not part(e, c)


def prefilter(block: dict[str, Any], cls: type
              ) -> tuple[str, Callable[[Any], Any], frozenset[Any]] | None:
    """A top-level equality test of a checked block on a plain event field (``function:
    plc_stop``, ``code: [a, b]``): the engine reads that field once per event and looks the
    value up to find the rules worth running, instead of running each. None when the block has
    no such test."""
    for key, value in block.items():
        if key in BLOCK_KEYS or key in CONTEXT_FIELDS:
            continue
        tests = _normalise(parse_test(value))
        if len(tests) != 1 or tests[0][0] not in ("eq", "in"):
            continue
        fp = resolve_field(cls, key)
        if fp is None or fp.many or "any" in fp.kinds:
            continue
        op, arg = tests[0]
        values = frozenset(arg if op == "in" else [arg])
        if None in values:
            continue
        return fp.path, fp.getter, values
    return None


def _cost(key: str, value: object) -> int:
    """Rough cost rank of a block entry: equality on an event field, other event field tests,
    nested blocks, context fields (they ask the site and the inventory)."""
    if key in ("any", "all", "not"):
        return 2
    if key.startswith("site."):
        return -1  # one attribute read
    if key in CONTEXT_FIELDS:
        return 3
    return 0 if not isinstance(value, dict) else 1


def compile_block(block: dict[str, Any], cls: type) -> Predicate | bool:
    """The predicate of a checked block for events of ``cls``; a constant when it folds."""
    tag = cls.__struct_config__.tag  # type: ignore[attr-defined]
    if "dataset" in block:
        names = dataset_names(block["dataset"]) or []
        if tag not in names:
            return False
    parts: list[Predicate] = []
    # cheap tests first: an AND stops at the first that fails
    for key, value in sorted(block.items(), key=lambda kv: _cost(kv[0], kv[1])):
        if key == "dataset":
            continue
        part: Predicate | bool
        if key == "any":
            subs = [compile_block(b, cls) for b in value]
            if any(s is True for s in subs):
                part = True
            else:
                live = [s for s in subs if not isinstance(s, bool)]
                part = _or(live) if live else False
        elif key == "all":
            subs = [compile_block(b, cls) for b in value]
            if any(s is False for s in subs):
                part = False
            else:
                live = [s for s in subs if not isinstance(s, bool)]
                part = _and(live) if live else True
        elif key == "not":
            sub = compile_block(value, cls)
            part = (not sub) if isinstance(sub, bool) else _not(sub)
        else:
            part = _compile_field(key, value, cls)
        if part is False:
            return False
        if part is not True:
            assert not isinstance(part, bool)
            parts.append(part)
    return _and(parts) if parts else True
