"""Condition blocks (docs/rules.md, "Condition blocks") checked and compiled into closures.

A block is checked once against the event classes of its dataset(s): every field must exist
(ECS or short name, nested paths, context fields), every operator must exist and suit the
field's type, regexes must compile and networks parse. Then it is compiled, once per event
class, into a predicate ``(event, context) -> bool``: field paths become ``attrgetter``s or small
walkers, regexes are compiled, ``in`` lists become frozensets, constant parts are folded (a
nested ``dataset`` that cannot match this class makes its block constant false), and the block
becomes one generated function (its and/or/not structure as a Python expression, simple tests
inline, the others calls to their closures; see "predicates as source" below). Nothing of the
YAML is looked at per event.

Semantics in brief: entries of a block AND together; ``any``/``all``/``not`` combine blocks; a
path crossing a list holds when any element satisfies the positive tests and no element
satisfies a negative one (``ne``, ``not_in``, ``not_cidr``, ``not_regex``); a missing or null
value fails every test except ``exists: false``, ``eq: null`` and the negative ones.
"""

from __future__ import annotations

import itertools
import keyword
import re
import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import netaddr

from otshield.detect.rules.context_fields import (
    CONTEXT_FIELDS,
    CONTEXT_PREFIXES,
    INLINE_CONTEXT,
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
    "fields_read",
    "forget_memos",
    "inline_read",
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


# -- predicates as source -------------------------------------------------------------------------
# A block compiles to one Python expression over ``e`` (the event) and ``c`` (the context),
# turned into a single function once per (rule, event class): the AND/OR/NOT structure costs
# no call at all, plain-field tests read the attribute directly (``e.function_code == k3``),
# and only the complex tests (regexes, networks, lists, context look-ups) stay calls to their
# closures. Constants and closures are bound as closure cells of the generated function, never
# written into the source, so no value from a rule file is ever parsed as code.

_names = itertools.count()


class _Src:
    """A compiled part: an expression and the values its names stand for; ``fn`` when the
    part is one predicate call (returned as is rather than wrapped)."""

    __slots__ = ("depth", "env", "expr", "fn")

    def __init__(self, expr: str, env: dict[str, Any], fn: Predicate | None = None,
                 depth: int = 0) -> None:
        self.expr = expr
        self.env = env
        self.fn = fn
        self.depth = depth
        """Nesting of and/or/not in ``expr``: past ``_MAX_DEPTH`` the part becomes a function
        of its own, so that a deeply nested block never meets the parser's limits."""


_MAX_DEPTH = 16


def _bounded(src: _Src) -> _Src:
    return _call(_function(src)) if src.depth > _MAX_DEPTH else src


def _bind(env: dict[str, Any], value: Any) -> str:
    name = f"k{next(_names)}"
    env[name] = value
    return name


def _call(pred: Predicate) -> _Src:
    env: dict[str, Any] = {}
    return _Src(f"{_bind(env, pred)}(e, c)", env, pred)


def _merge(parts: list[_Src], joiner: str) -> _Src:
    env: dict[str, Any] = {}
    for part in parts:
        env.update(part.env)
    return _bounded(_Src(joiner.join(f"({p.expr})" for p in parts), env,
                         depth=1 + max(p.depth for p in parts)))


def _function(src: _Src) -> Predicate:
    if src.fn is not None:
        return src.fn
    names = sorted(src.env)
    code = f"def _make({', '.join(names)}):\n    return lambda e, c: {src.expr}\n"
    scope: dict[str, Any] = {}
    exec(compile(code, "<otshield rule predicate>", "exec"),  # names and operators only
         {"__builtins__": {"isinstance": isinstance, "bool": bool, "str": str}, "_NUM": _NUM},
         scope)
    fn: Predicate = scope["_make"](**src.env)
    return fn


def _read_expr(fp: FieldPath, env: dict[str, Any]) -> str:
    """The read of a plain (single-valued) event field: the attribute itself when it is one,
    an inline read of an optional record's attribute (``mei.type``) when it is two."""
    inline = inline_read(fp, "e", env)
    return inline if inline is not None else f"{_bind(env, fp.getter)}(e)"


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def inline_read(fp: FieldPath, event: str, env: dict[str, Any]) -> str | None:
    """Python source reading ``fp`` from the event named ``event``, as its getter reads it,
    for a top-level attribute (``e.function_code``) or an attribute of an optional record
    (``mei.type``: None when the record is None or lacks it); None for other paths. Only
    attribute names of the event class go into the source (``getattr`` is bound in ``env``)."""
    attrs = fp.attrs
    if fp.many or not all(_identifier(a) for a in attrs):
        return None
    if len(attrs) == 1:
        return f"{event}.{attrs[0]}"
    if len(attrs) == 2:
        ga, o = _bind(env, getattr), f"o{next(_names)}"
        return (f"(None if ({o} := {ga}({event}, '{attrs[0]}', None)) is None "
                f"else {ga}({o}, '{attrs[1]}', None))")
    return None


_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


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


_REGEX_MEMO = 2048
"""Strings remembered per regex test with their answer. Plants repeat themselves (the same
DNS names, URIs, user agents all day): a repeated string costs one look-up instead of a search
(the patterns of the pack are long alternations). Bounded: cleared when full."""


class _Memo(dict[str, bool]):
    """One regex test's answers (a dict that can be weakly referenced, see ``_MEMOS``)."""


_MEMOS: list[weakref.ref[_Memo]] = []
"""Every regex memo (weakly: they live as long as their rules), so that
:func:`forget_memos` can start each analysis cold."""


def forget_memos() -> None:
    """Empty the regex memos (each analysis starts with none: results never depend on them,
    but the time an analysis takes should not depend on the analyses before it)."""
    alive = []
    for ref in _MEMOS:
        memo = ref()
        if memo is not None:
            memo.clear()
            alive.append(ref)
    _MEMOS[:] = alive


def _regex_search(pattern: str) -> Callable[[str], bool]:
    """Does ``pattern`` occur in a string (``re.search``), remembered per string."""
    search = re.compile(pattern).search
    memo = _Memo()
    if len(_MEMOS) >= 4096:  # rule sets loaded again and again: drop the memos gone
        _MEMOS[:] = [ref for ref in _MEMOS if ref() is not None]
    _MEMOS.append(weakref.ref(memo))
    get = memo.get

    def found(text: str) -> bool:
        hit = get(text)
        if hit is None:
            if len(memo) >= _REGEX_MEMO:
                memo.clear()
            hit = memo[text] = search(text) is not None
        return hit
    return found


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
        search = _regex_search(arg)
        return lambda v: isinstance(v, str) and search(v)
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
        return ctx.reader, False, ctx.many
    if path.startswith(CONTEXT_PREFIXES):
        return None
    fp: FieldPath | None = resolve_field(cls, path)
    if fp is None:
        return None
    getter = fp.getter
    return (lambda e, _c: getter(e)), fp.crosses_list, fp.leaf_list and not fp.crosses_list


def _compile_field(path: str, value: object, cls: type) -> _Src | bool:
    found = field_reader(path, cls)
    tests = _normalise(parse_test(value))
    if found is None:
        # this class lacks the field (another dataset of the rule has it): always missing
        return all(op in NEGATIVE or (op == "exists" and arg is False) for op, arg in tests)
    read, many, container = found
    # fast paths for the most common tests: one (in)equality, presence or numeric comparison
    # of a scalar event field, as an expression (same results as the generic ``holds``)
    if not many and not container and len(tests) == 1 and path not in CONTEXT_FIELDS:
        op, arg = tests[0]
        fp = resolve_field(cls, path)
        assert fp is not None
        env: dict[str, Any] = {}
        x = _read_expr(fp, env)
        if op in ("eq", "ne"):
            return _Src(f"{x} {'==' if op == 'eq' else '!='} {_bind(env, arg)}", env)
        if op in ("in", "not_in"):
            return _Src(f"{x} {'in' if op == 'in' else 'not in'} {_bind(env, frozenset(arg))}",
                        env)
        if op == "exists":
            return _Src(f"{x} is {'not ' if arg else ''}None", env)
        if op in _COMPARE:
            return _Src(f"isinstance(v := {x}, _NUM) and v {_COMPARE[op]} {_bind(env, arg)}",
                        env)
        if op in ("regex", "not_regex"):
            search = _bind(env, _regex_search(arg))
            if op == "regex":
                return _Src(f"isinstance(v := {x}, str) and {search}(v)", env)
            # a missing value passes a negative test; a present one must not match
            return _Src(f"(v := {x}) is None or not (isinstance(v, str) and {search}(v))", env)
    # the same for a context field with one value (``src.internal: false``, ``dst.zone: X``),
    # with the generic path's handling of a missing value (None)
    if not many and not container and len(tests) == 1 and tests[0][0] in (
            "eq", "ne", "in", "not_in"):
        op, arg = tests[0]
        env = {}
        inline = INLINE_CONTEXT.get(path)
        if inline is not None:
            # an address class (``src.internal``): one look-up in a table by address, the
            # call only for link-layer frames (no IP address), where the MAC answers
            side, table, no_ip = inline
            t, m = _bind(env, table), _bind(env, no_ip)
            x = f"({t}[e.{side}_ip] if e.{side}_ip else {m}(e))"
        else:
            x = f"{_bind(env, read)}(e, c)"
        k = _bind(env, frozenset(arg) if op in ("in", "not_in") else arg)
        if op in ("eq", "in"):
            return _Src(f"(v := {x}) is not None and v {'==' if op == 'eq' else 'in'} {k}",
                        env)
        return _Src(f"(v := {x}) is None or v {'!=' if op == 'ne' else 'not in'} {k}",
                    env)
    # and on a set-like value read whole (``src.roles``, a list field): set operations
    if container and len(tests) == 1 and tests[0][0] in ("eq", "ne", "in", "not_in"):
        op, arg = tests[0]
        env = {}
        r = _bind(env, read)
        k = _bind(env, frozenset(arg) if op in ("in", "not_in") else arg)
        return _Src({"eq": f"bool(v := {r}(e, c)) and {k} in v",
                     "ne": f"not (v := {r}(e, c)) or {k} not in v",
                     "in": f"bool(v := {r}(e, c)) and not {k}.isdisjoint(v)",
                     "not_in": f"not (v := {r}(e, c)) or {k}.isdisjoint(v)"}[op], env)
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
    return _call(holds)


def _and_values(tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool] | None:
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    frozen = tuple(tests)
    return lambda v: all(t(v) for t in frozen)


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


def fields_read(block: dict[str, Any], cls: type, constant: frozenset[str] = frozenset()
                ) -> frozenset[tuple[str, ...]] | None:
    """The event fields (as attribute steps) the compiled block reads on ``cls``; None when it
    reads anything else (a context field not in ``constant``, a path crossing a list, a list
    leaf). Fields ``cls`` lacks are left out (their tests compile to constants), and so are the
    context fields in ``constant`` (those that give one answer for every event of the run). A
    predicate that reads only fields whose values are known gives the same answer for every
    event with those values."""
    out: set[tuple[str, ...]] = set()
    for key, value in block.items():
        if key == "dataset":
            continue
        if key in ("any", "all"):
            subs = value if isinstance(value, list) else []
        elif key == "not":
            subs = [value]
        else:
            if key in constant:
                continue
            if not isinstance(key, str) or key in CONTEXT_FIELDS \
                    or key.startswith(CONTEXT_PREFIXES):
                return None
            fp = resolve_field(cls, key)
            if fp is None:
                continue
            if fp.many:
                return None
            out.add(fp.attrs)
            continue
        for sub in subs:
            if not isinstance(sub, dict):
                return None
            found = fields_read(sub, cls, constant)
            if found is None:
                return None
            out |= found
    return frozenset(out)


_CHEAP_CONTEXT = frozenset({"src.internal", "dst.internal", "src.broadcast", "dst.broadcast"})
"""Context fields answered from the address alone (a cached classification), cheaper than
those asking the site and the inventory, and often decisive (most traffic is internal)."""


def _cost(key: str, value: object) -> float:
    """Rough cost rank of a block entry: equality on an event field, other event field tests,
    address classes, nested blocks, context fields (they ask the site and the inventory)."""
    if key in ("any", "all", "not"):
        return 2
    if key.startswith("site."):
        return -1  # one attribute read
    if key in _CHEAP_CONTEXT:
        return 1.5
    if key in CONTEXT_FIELDS:
        return 3
    return 0 if not isinstance(value, dict) else 1


def compile_block(block: dict[str, Any], cls: type) -> Predicate | bool:
    """The predicate of a checked block for events of ``cls``; a constant when it folds."""
    found = _block(block, cls)
    return found if isinstance(found, bool) else _function(found)


def _block(block: dict[str, Any], cls: type) -> _Src | bool:
    tag = cls.__struct_config__.tag  # type: ignore[attr-defined]
    if "dataset" in block:
        names = dataset_names(block["dataset"]) or []
        if tag not in names:
            return False
    parts: list[_Src] = []
    # cheap tests first: an AND stops at the first that fails
    for key, value in sorted(block.items(), key=lambda kv: _cost(kv[0], kv[1])):
        if key == "dataset":
            continue
        part: _Src | bool
        if key == "any":
            subs = [_block(b, cls) for b in value]
            if any(s is True for s in subs):
                part = True
            else:
                live = [s for s in subs if not isinstance(s, bool)]
                part = (live[0] if len(live) == 1 else _merge(live, " or ")) if live else False
        elif key == "all":
            subs = [_block(b, cls) for b in value]
            if any(s is False for s in subs):
                part = False
            else:
                live = [s for s in subs if not isinstance(s, bool)]
                part = (live[0] if len(live) == 1 else _merge(live, " and ")) if live else True
        elif key == "not":
            sub = _block(value, cls)
            part = (not sub) if isinstance(sub, bool) else _bounded(
                _Src(f"not ({sub.expr})", sub.env, depth=sub.depth + 1))
        else:
            part = _compile_field(key, value, cls)
        if part is False:
            return False
        if part is not True:
            assert not isinstance(part, bool)
            parts.append(part)
    if not parts:
        return True
    return parts[0] if len(parts) == 1 else _merge(parts, " and ")
