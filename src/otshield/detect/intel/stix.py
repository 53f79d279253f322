"""STIX 2.1 (and 2.0) bundles: ``indicator`` objects whose STIX patterns name IP addresses,
networks, domain names, URLs or file digests.

Patterns are parsed by the ``stix2`` library's pattern visitor (OASIS STIX 2.1 part 5,
"STIX Patterning"), and only what a passive monitor can evaluate on one observed value becomes
a :class:`~otshield.detect.intel.model.Term`:

- comparisons ``=``, ``IN (...)`` (an OR of ``=``) and ``ISSUBSET`` on ``ipv4-addr:value``,
  ``ipv6-addr:value``, ``network-traffic:src_ref.value`` / ``dst_ref.value``,
  ``domain-name:value``, ``url:value`` and ``file:hashes.MD5|SHA-1|SHA-256``;
- ``OR`` between comparisons and between observations (each branch is one term);
- ``AND`` inside one observation only between digests of the same file (all must agree).

Everything else (``AND``/``FOLLOWEDBY`` across observations, ``WITHIN``/``REPEATS``/``START``
qualifiers, negation, ``LIKE``/``MATCHES``, other object types) is reported as skipped with the
indicator's id and the reason, never silently dropped. Revoked indicators are skipped; of
several versions of one id the newest (``modified``) wins; ``valid_from``/``valid_until`` are
kept for matching against packet time.

Speed: the visitor (an ANTLR parser) costs about 1.5 ms a pattern, 2.5 minutes for a feed of
100,000. Feeds repeat a handful of pattern shapes with different values, so the string values are
lifted out (``[ipv4-addr:value = '198.51.100.7']`` has the shape ``[ipv4-addr:value = '\\x010']``),
each shape is parsed once by the library and its result reused with the values put back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
from stix2.pattern_visitor import create_pattern_object

from otshield.detect.alert import SEVERITIES
from otshield.detect.intel import normalize
from otshield.detect.intel.model import Indicator, IndicatorSet, Skipped, Term

__all__ = ["load_stix", "parse_pattern", "read_bundle"]

_LITERAL = re.compile(r"(?<![.:\w])'((?:[^'\\]|\\.)*)'")
"""A string literal that is a value (a quoted path component follows a dot or the colon;
t'..', b'..' and h'..' literals follow a letter)."""
_ESCAPE = re.compile(r"\\(.)")
_PLACEHOLDER = "\x01"
_MAX_ALTERNATIVES = 4096
"""Branches one pattern may expand to (an AND of large IN lists multiplies)."""
_HASH_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA-1": "sha1", "SHA256": "sha256",
               "SHA-256": "sha256"}

Cmp = tuple[tuple[str, ...], str, str]
"""(object path: type then property names, operator, value); operator ``?`` marks a comparison
that cannot be evaluated, its reason in the value."""


class _Shape(msgspec.Struct, frozen=True, gc=False):
    """A parsed pattern shape: alternatives (OR) of conjunctions (AND) of comparisons whose
    values are placeholders ``\\x01<n>``, or an error message."""

    alternatives: tuple[tuple[Cmp, ...], ...] = ()
    error: str = ""


def _unsupported(reason: str) -> tuple[tuple[Cmp, ...], ...]:
    return (((("?",), "?", reason),),)


def _dnf(node: Any) -> tuple[tuple[Cmp, ...], ...]:
    """Disjunctive normal form of a pattern AST (stix2.patterns classes)."""
    name = type(node).__name__
    if name == "ParentheticalExpression":
        return _dnf(node.expression)
    if name == "OrObservationExpression" or name == "OrBooleanExpression":
        out: list[tuple[Cmp, ...]] = []
        for operand in node.operands:
            out.extend(_dnf(operand))
        return tuple(out[:_MAX_ALTERNATIVES])
    if name == "ObservationExpression":
        return _dnf(node.operand)
    if name == "AndBooleanExpression":
        acc: list[tuple[Cmp, ...]] = [()]
        for operand in node.operands:
            acc = [a + b for a in acc for b in _dnf(operand)][:_MAX_ALTERNATIVES]
        return tuple(acc)
    if name == "AndObservationExpression":
        return _unsupported("AND between observations (a correlation over time)")
    if name == "FollowedByObservationExpression":
        return _unsupported("FOLLOWEDBY between observations")
    if name == "QualifiedObservationExpression":
        return _unsupported("a temporal qualifier (WITHIN, REPEATS, START/STOP)")
    if name.endswith("ComparisonExpression"):
        return _comparison(node)
    return _unsupported(f"pattern element {name}")


def _comparison(node: Any) -> tuple[tuple[Cmp, ...], ...]:
    path = (str(node.lhs.object_type_name),
            *(str(getattr(c, "property_name", "?")) for c in node.lhs.property_path))
    op = str(node.operator)
    if node.negated:
        return _unsupported(f"negated comparison NOT {op}")
    rhs = node.rhs
    if op == "IN":
        values = [str(v.value) for v in rhs.value]
        return tuple(((path, "=", v),) for v in values)
    if op not in ("=", "ISSUBSET"):
        return _unsupported(f"operator {op}")
    if type(rhs).__name__ != "StringConstant":
        return _unsupported(f"{type(rhs).__name__} value")
    return (((path, op, str(rhs.value)),),)


@lru_cache(maxsize=4096)
def _shape(shape: str) -> _Shape:
    """Parse a pattern shape once (memoised: feeds repeat a few shapes)."""
    try:
        ast = create_pattern_object(shape, version="2.1")
        return _Shape(alternatives=_dnf(ast))
    except Exception as exc:  # the library raises several types for a bad pattern
        text = str(exc).strip()
        return _Shape(error=text.splitlines()[0][:200] if text else type(exc).__name__)


def parse_pattern(pattern: str) -> tuple[list[tuple[Cmp, ...]], str]:
    """(alternatives with their real values, error message or "")."""
    values: list[str] = []

    def lift(match: re.Match[str]) -> str:
        values.append(_ESCAPE.sub(r"\1", match[1]))
        return f"'{_PLACEHOLDER}{len(values) - 1}'"

    shape = _shape(_LITERAL.sub(lift, pattern))
    if shape.error:
        return [], shape.error
    out: list[tuple[Cmp, ...]] = []
    for conj in shape.alternatives:
        out.append(tuple(
            (path, op, values[int(value[1:])] if value.startswith(_PLACEHOLDER) else value)
            for path, op, value in conj))
    return out, ""


def _term(indicator: Indicator, conj: tuple[Cmp, ...]) -> Term | str:
    """The term one conjunction stands for, or why it cannot be evaluated."""
    for _path, op, value in conj:
        if op == "?":
            return value
    hashes: list[tuple[str, str]] = []
    for path, op, value in conj:
        if path[0] == "file" and len(path) == 3 and path[1] == "hashes" and op == "=":
            kind = _HASH_NAMES.get(path[2].upper())
            if kind is None:
                return f"file hash {path[2]} (only MD5, SHA-1, SHA-256 are computed)"
            try:
                hashes.append((kind, normalize.file_hash(kind, value)))
            except ValueError as exc:
                return str(exc)
    if hashes:
        if len(hashes) != len(conj):
            return "AND of a file digest with another property"
        (kind, value), *rest = hashes
        return Term(indicator, kind, value, also=tuple(rest))
    if len(conj) != 1:
        return "AND of several properties"
    (path, op, value), = conj
    try:
        return _simple(indicator, path, op, value)
    except ValueError as exc:
        return str(exc)


def _simple(indicator: Indicator, path: tuple[str, ...], op: str, value: str) -> Term | str:
    side = ""
    if path[0] == "network-traffic" and len(path) == 3 and path[1] in ("src_ref", "dst_ref") \
            and path[2] == "value":
        side = path[1][:3]
        path = ("ipv4-addr", "value")
    if path in (("ipv4-addr", "value"), ("ipv6-addr", "value")):
        if op == "ISSUBSET" or "/" in value:
            kind, canonical = normalize.network(value)
            return Term(indicator, kind, canonical, side)
        return Term(indicator, "ip", normalize.ip(value), side)
    if op != "=":
        return f"operator {op} on {':'.join(path[:1])}:{'.'.join(path[1:])}"
    if path == ("domain-name", "value"):
        return Term(indicator, "domain", normalize.domain(value))
    if path == ("url", "value"):
        return Term(indicator, "url", normalize.url(value))
    return f"object path {path[0]}:{'.'.join(path[1:])} (not observed by otshield)"


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"timestamp {value!r} is not a string")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ValueError(f"timestamp {value!r} is not RFC 3339") from None


def _confidence(value: Any) -> str | None:
    """STIX 2.1 appendix A, "None/Low/Med/High" scale: 0 none, 1-29 low, 30-69 medium,
    70-100 high (no confidence is reported as low)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ValueError(f"confidence {value!r} is not an integer 0-100")
    return "low" if value < 30 else "medium" if value < 70 else "high"


def read_bundle(path: Path) -> list[Any]:
    """The objects of a bundle file (a bundle, or a single STIX object)."""
    from otshield.errors import ConfigError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        try:
            json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not JSON: {exc.msg} "
                              f"(column {exc.colno})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 JSON") from None
        raise ConfigError(f"{path}: not JSON") from None
    if isinstance(data, dict) and data.get("type") == "bundle":
        objects = data.get("objects", [])
        if not isinstance(objects, list):
            raise ConfigError(f"{path}: bundle 'objects' is not a list")
        return objects
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        return [data]
    raise ConfigError(f"{path}: not a STIX bundle (a JSON object with \"type\": \"bundle\")")


def load_stix(bundles: list[tuple[Path, list[Any]]], into: IndicatorSet) -> None:
    """Index the indicators of the bundles (each a path and its objects, see
    :func:`read_bundle`). Of several versions of one id, in one file or several, the newest
    (``modified``) is used."""
    newest: dict[str, tuple[str, str, int, dict[str, Any]]] = {}
    for path, objects in bundles:
        origin = str(path)
        for index, obj in enumerate(objects):
            where = f"{origin}: objects[{index}]"
            if not isinstance(obj, dict):
                into.errors.append(f"{where}: not a JSON object")
                continue
            if obj.get("type") != "indicator":
                continue
            ref = obj.get("id")
            if not isinstance(ref, str) or not ref.startswith("indicator--"):
                into.errors.append(f"{where}: indicator without a valid id")
                continue
            modified = str(obj.get("modified", ""))
            kept = newest.get(ref)
            if kept is None or modified > kept[0]:
                newest[ref] = (modified, origin, index, obj)
    for ref, (_modified, origin, index, obj) in newest.items():
        _indicator(ref, origin, f"{origin}: objects[{index}] ({ref})", obj, into)


def _indicator(ref: str, origin: str, where: str, obj: dict[str, Any],
               into: IndicatorSet) -> None:
    if obj.get("revoked") is True:
        into.skipped.append(Skipped(ref, origin, "revoked"))
        return
    pattern_type = obj.get("pattern_type", "stix")
    if pattern_type != "stix":
        into.skipped.append(Skipped(ref, origin, f"pattern_type {pattern_type!r} "
                                    "(only STIX patterns are evaluated)"))
        return
    pattern = obj.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        into.errors.append(f"{where}: indicator without a pattern")
        return
    try:
        valid_from = _time(obj.get("valid_from"))
        valid_until = _time(obj.get("valid_until"))
        confidence = _confidence(obj.get("confidence"))
    except ValueError as exc:
        into.errors.append(f"{where}: {exc}")
        return
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        into.errors.append(f"{where}: valid_until is not after valid_from")
        return
    severity = obj.get("x_severity")
    if severity is not None and severity not in SEVERITIES:
        into.errors.append(f"{where}: x_severity {severity!r} is not one of "
                           f"{', '.join(SEVERITIES)}")
        return
    labels = tuple(str(x) for x in [*(obj.get("indicator_types") or []),
                                    *(obj.get("labels") or [])] if isinstance(x, str))
    indicator = Indicator(
        ref=ref, origin=origin, name=str(obj.get("name") or ""),
        description=str(obj.get("description") or "")[:1000], severity=severity,
        confidence=confidence, valid_from=valid_from, valid_until=valid_until,
        pattern=pattern[:1000], labels=labels)
    alternatives, error = parse_pattern(pattern)
    if error:
        into.errors.append(f"{where}: invalid STIX pattern: {error}")
        return
    terms: list[Term] = []
    reasons: list[str] = []
    for conj in alternatives:
        term = _term(indicator, conj)
        if isinstance(term, Term):
            terms.append(term)
        elif term not in reasons:
            reasons.append(term)
    if not terms:
        into.skipped.append(Skipped(ref, origin, "; ".join(reasons)))
        return
    if reasons:
        into.skipped.append(Skipped(ref, origin, "partly evaluated, left out: "
                                    + "; ".join(reasons)))
    into.add(indicator, terms)
