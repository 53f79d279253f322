"""Field paths of event classes: what a rule may name, what type it is, how to read it fast.

A rule names a field as the JSON output does (ECS names such as ``source.ip``) or by its Python
attribute name (``src_ip``); nested records use dots (``items.area``). This module resolves such
a path against an event class once, from msgspec's type information (:mod:`msgspec.inspect`),
and returns a :class:`FieldPath`: the kinds of value found at the end (``str``, ``int``...),
whether the path crosses a list (then a test holds when any element satisfies it), and a getter
built for the hot path (a plain ``attrgetter`` for top-level fields).

It also knows how to turn a hand-written mapping into a real event (the rule examples): ECS or
short names, required fields defaulted from their type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec
import msgspec.inspect as mi

from otshield.detect.rules.suggest import did_you_mean
from otshield.events import Event

__all__ = [
    "FieldPath",
    "build_event",
    "class_field_names",
    "dataset_classes",
    "default_for",
    "rename_to_encoded",
    "resolve_field",
]

_LIST_TYPES = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType, mi.TupleType)
_STRUCT_TYPES = (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)

# Every value kind a field can hold, as rules see it (``FieldPath.kinds``). ``any`` means the
# type does not say (``dict[str, Any]`` values); tests on it check the value at run time.
KINDS = frozenset({"str", "int", "float", "bool", "none", "any", "list", "dict", "struct"})


@dataclass(frozen=True)
class FieldPath:
    """A resolved field path on one event class."""

    path: str
    """As written in the rule."""
    attrs: tuple[str, ...]
    """Steps: attribute names, ``[]`` for each list crossed, ``['key']`` for dict keys."""
    kinds: frozenset[str]
    """Kinds of the leaf value (for a list leaf: of its elements, plus ``list``)."""
    crosses_list: bool
    """A list is crossed before the leaf (``items.area``): values are many."""
    leaf_list: bool
    """The leaf itself is a list (``blocks``): element tests apply to its elements."""
    getter: Callable[[Any], Any]
    """Reads the leaf: the value (or None) when not crossing a list, else a list of values."""

    @property
    def many(self) -> bool:
        """Tests see several values (any-semantics)."""
        return self.crosses_list or self.leaf_list


def _unwrap(t: mi.Type) -> tuple[list[mi.Type], bool]:
    """Members of a union (without None) and whether None is allowed."""
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        return members, len(members) != len(t.types)
    if isinstance(t, mi.NoneType):
        return [], True
    return [t], False


def _kind_of(t: mi.Type) -> set[str]:
    members, nullable = _unwrap(t)
    out: set[str] = {"none"} if nullable else set()
    for m in members:
        if isinstance(m, (mi.StrType, mi.EnumType)):
            out.add("str")
        elif isinstance(m, mi.LiteralType):
            out.update("str" if isinstance(v, str) else "int" for v in m.values)
        elif isinstance(m, mi.BoolType):
            out.add("bool")
        elif isinstance(m, mi.IntType):
            out.add("int")
        elif isinstance(m, (mi.FloatType, mi.DecimalType)):
            out.add("float")
        elif isinstance(m, _LIST_TYPES):
            out.add("list")
        elif isinstance(m, (mi.DictType, mi.FrozenDictType)):
            out.add("dict")
        elif isinstance(m, _STRUCT_TYPES):
            out.add("struct")
        else:
            out.add("any")
    return out


def _item_type(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.TupleType):
        # fixed tuples: treat as a list of the union of their item types
        return mi.UnionType(types=tuple(t.item_types)) if t.item_types else mi.AnyType()
    return t.item_type  # type: ignore[no-any-return, attr-defined]


@functools.cache
def _type_info(cls: type) -> mi.Type:
    return mi.type_info(cls)


def _struct_fields(cls: type) -> tuple[mi.Field, ...]:
    return tuple(getattr(_type_info(cls), "fields", ()))


def _fields_of(t: mi.Type) -> tuple[mi.Field, ...]:
    if isinstance(t, mi.StructType):
        return _struct_fields(t.cls)
    return tuple(getattr(t, "fields", ()))


def class_field_names(cls: type, prefix: str = "", depth: int = 0) -> list[str]:
    """Every path a rule may name on ``cls`` (short and ECS names, nested ones), for
    suggestions and the docs."""
    out: list[str] = []
    for f in _struct_fields(cls):
        for name in dict.fromkeys((f.name, f.encode_name)):
            out.append(prefix + name)
        if depth >= 3:
            continue
        members, _ = _unwrap(f.type)
        for m in members:
            inner = _item_type(m) if isinstance(m, _LIST_TYPES) else m
            for im in _unwrap(inner)[0]:
                if isinstance(im, mi.StructType):
                    out.extend(class_field_names(im.cls, f"{prefix}{f.name}.", depth + 1))
    return out


def _resolve(t: mi.Type, segments: list[str], attrs: list[str], crosses: bool
             ) -> tuple[list[str], frozenset[str], bool, bool] | None:
    """Walk ``segments`` down type ``t``. Returns (steps, leaf kinds, crosses_list, leaf_list)."""
    members, _ = _unwrap(t)
    if not segments:
        kinds = _kind_of(t)
        lists = [m for m in members if isinstance(m, _LIST_TYPES)]
        if lists:
            inner = _kind_of(_item_type(lists[0]))
            return attrs, frozenset(inner | {"list"}), crosses, True
        return attrs, frozenset(kinds), crosses, False
    for m in members:
        if isinstance(m, _LIST_TYPES):
            found = _resolve(_item_type(m), segments, [*attrs, "[]"], True)
            if found is not None:
                return found
        elif isinstance(m, (mi.DictType, mi.FrozenDictType)):
            return _resolve(m.value_type, segments[1:], [*attrs, f"['{segments[0]}']"], crosses)
        elif isinstance(m, _STRUCT_TYPES):
            fields = _fields_of(m)
            # longest prefix first: ECS names contain dots ("source.ip")
            for j in range(len(segments), 0, -1):
                name = ".".join(segments[:j])
                for f in fields:
                    if name in (f.name, f.encode_name):
                        found = _resolve(f.type, segments[j:], [*attrs, f.name], crosses)
                        if found is not None:
                            return found
        elif isinstance(m, mi.AnyType):
            return [*attrs, *segments], frozenset({"any", "none"}), crosses, False
    return None


def _make_getter(steps: list[str], many: bool) -> Callable[[Any], Any]:
    if not many and all(not s.startswith("[") for s in steps):
        if len(steps) == 1:
            return attrgetter(steps[0])
        # An optional record on the way is mostly None (``mei`` of a Modbus read): test for it
        # rather than let an attrgetter raise, which costs more than the whole rule.
        if len(steps) == 2:
            outer, inner = steps

            def nested2(obj: Any) -> Any:
                value = getattr(obj, outer, None)
                return None if value is None else getattr(value, inner, None)
            return nested2
        plain = tuple(steps)

        def nested(obj: Any) -> Any:
            for step in plain:
                if obj is None:
                    return None
                obj = getattr(obj, step, None)
            return obj
        return nested
    plan = tuple(steps)

    def walk(obj: Any) -> Any:
        current: list[Any] = [obj]
        for step in plan:
            nxt: list[Any] = []
            if step == "[]":
                for c in current:
                    if c is not None:
                        nxt.extend(c)
            elif step.startswith("['"):
                key = step[2:-2]
                for c in current:
                    if isinstance(c, dict):
                        nxt.append(c.get(key))
            else:
                for c in current:
                    nxt.append(getattr(c, step, None) if c is not None else None)
            current = nxt
        return current if many else (current[0] if current else None)
    return walk


@functools.cache
def resolve_field(cls: type, path: str) -> FieldPath | None:
    """Resolve ``path`` on event class ``cls``; None when the class has no such field."""
    if not path or path.startswith(".") or path.endswith(".") or ".." in path:
        return None
    found = _resolve(_type_info(cls), path.split("."), [], False)
    if found is None:
        return None
    steps, kinds, crosses, leaf_list = found
    getter = _make_getter(steps, crosses)
    if leaf_list and not crosses:
        # a list leaf read directly: the getter gives the list (or None); tests iterate it
        getter = _make_getter(steps, False)
    return FieldPath(path, tuple(steps), kinds, crosses, leaf_list, getter)


def dataset_classes() -> dict[str, type[Event]]:
    """Event tag (``event.dataset``) -> class, for every concrete event type known now."""
    # imported here: loading the protocol registry and the inventory registers their events
    from otshield.events import event_types
    from otshield.inventory import model as _model  # noqa: F401
    from otshield.protocols.registry import load_registry

    _registry_loaded(load_registry)
    out: dict[str, type[Event]] = {}
    for cls in event_types():
        tag = cls.__struct_config__.tag
        # abstract bases (IdentifyEvent, LinkEvent) get their class name as tag: not datasets;
        # alerts are what detectors produce, they are not fed back to them
        if isinstance(tag, str) and tag != cls.__name__ and tag != "alert":
            out[tag] = cls
    return out


@functools.cache
def _registry_loaded(load: Callable[..., object]) -> bool:
    load(plugins=True)
    return True


def default_for(t: mi.Type) -> Any:
    """The "empty" value of a type, for required fields an example leaves out."""
    members, nullable = _unwrap(t)
    if nullable:
        return None
    m = members[0] if members else mi.AnyType()
    if isinstance(m, (mi.StrType, mi.EnumType)):
        return ""
    if isinstance(m, mi.LiteralType):
        return m.values[0]
    if isinstance(m, mi.BoolType):
        return False
    if isinstance(m, mi.IntType):
        return 0
    if isinstance(m, (mi.FloatType, mi.DecimalType)):
        return 0.0
    if isinstance(m, _LIST_TYPES):
        return []
    if isinstance(m, (mi.DictType, mi.FrozenDictType)):
        return {}
    if isinstance(m, _STRUCT_TYPES):
        return {f.encode_name: default_for(f.type) for f in _fields_of(m) if f.required}
    return None


def rename_to_encoded(t: mi.Type, value: Any, where: str, problems: list[str]) -> Any:
    """``value`` (an example's mapping) with keys renamed to the encoded (ECS) names msgspec
    expects and required fields defaulted; unknown keys are reported into ``problems``."""
    members, _ = _unwrap(t)
    if isinstance(value, dict):
        for m in members:
            if isinstance(m, _STRUCT_TYPES):
                return _struct_value(m, value, where, problems)
            if isinstance(m, (mi.DictType, mi.FrozenDictType)):
                return dict(value)
        return value
    if isinstance(value, list):
        for m in members:
            if isinstance(m, _LIST_TYPES):
                item = _item_type(m)
                return [rename_to_encoded(item, v, f"{where}[{i}]", problems)
                        for i, v in enumerate(value)]
        return value
    return value


def _struct_value(t: mi.Type, value: dict[str, Any], where: str, problems: list[str]
                  ) -> dict[str, Any]:
    fields = _fields_of(t)
    by_name: dict[str, mi.Field] = {}
    for f in fields:
        by_name[f.name] = f
        by_name[f.encode_name] = f
    out: dict[str, Any] = {}
    for key, v in value.items():
        known = by_name.get(str(key))
        if known is None:
            problems.append(f"{where}: unknown field {key!r}"
                            f"{did_you_mean(str(key), by_name)}")
            continue
        out[known.encode_name] = rename_to_encoded(known.type, v, f"{where}.{key}", problems)
    for f in fields:
        if f.required and f.encode_name not in out:
            out[f.encode_name] = default_for(f.type)
    return out


def build_event(cls: type[Event], mapping: dict[str, Any], where: str,
                problems: list[str]) -> Event | None:
    """A real event of ``cls`` from a hand-written mapping (``dataset`` already removed)."""
    data = dict(mapping)
    data.setdefault("ts", 1.0)
    data.setdefault("frame", 1)
    encoded = rename_to_encoded(_type_info(cls), data, where, problems)
    tag_field = cls.__struct_config__.tag_field
    if tag_field:
        encoded[tag_field] = cls.__struct_config__.tag
    try:
        return msgspec.convert(encoded, cls, strict=False)
    except msgspec.ValidationError as exc:
        problems.append(f"{where}: {exc}")
        return None
