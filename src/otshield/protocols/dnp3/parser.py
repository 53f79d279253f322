"""DNP3 application layer parser (IEEE 1815-2012 clause 4): one reassembled application fragment
in, a :class:`Fragment` record out. Pure: raises only ``Malformed``.

Fragment layout (clause 4):

    request:   APPLICATION CONTROL | FUNCTION CODE | object headers (+ data)...
    response:  APPLICATION CONTROL | FUNCTION CODE | IIN1 | IIN2 | object headers + data...

Application control: FIR (bit 7), FIN (6), CON (5), UNS (4), SEQ (3-0).

Object header: GROUP | VARIATION | QUALIFIER | RANGE (0, 1, 2, 4 or 8 octets)
Qualifier: bit 7 reserved, object prefix code (bits 6-4: none, 1/2/4-octet index, 1/2/4-octet
object size), range specifier code (bits 3-0, Table 4-3: 0-2 start/stop of 1/2/4 octets,
3-5 virtual address (obsolete), 6 no range = all points, 7-9 count of 1/2/4 octets,
0xB 1-octet count with free-format (size-prefixed) objects; others reserved).

Whether object data follows a header depends on the function: READ and a few other requests
carry headers only (see ``FUNCTIONS_HEADERS_ONLY``); everything else carries data whose size
comes from the object library (:mod:`.objects`). An object that cannot be sized ends the walk of
that fragment (``dnp3.unknown_object``); what was decoded until then is kept.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from otshield.errors import Malformed
from otshield.protocols.dnp3.constants import (
    DOUBLE_BIT_STATES,
    FUNCTIONS,
    FUNCTIONS_ANY_VARIATION,
    FUNCTIONS_HEADERS_ONLY,
    MAX_FILES_PER_EVENT,
    MAX_OBJECTS_PER_EVENT,
    MAX_POINTS_PER_EVENT,
    RESPONSE_FUNCTIONS,
)
from otshield.protocols.dnp3.events import Dnp3File, Dnp3Object, Dnp3Point
from otshield.protocols.dnp3.objects import (
    KIND_ATTR,
    KIND_BIT,
    KIND_CROB,
    KIND_DBIT,
    KIND_EMPTY,
    KIND_FILE,
    KIND_OCTETS,
    KIND_STRUCT,
    VARIABLE,
    ObjDef,
    lookup,
)
from otshield.protocols.dnp3.values import (
    CROB_SIZE,
    MAKERS,
    attr_point,
    crob_point,
    file_object,
    hex_text,
)

__all__ = ["Fragment", "parse_fragment"]

Problem = tuple[str, str]

# Range specifier code -> octets of the range field (None: reserved code).
_RANGE_SIZES: tuple[int | None, ...] = (2, 4, 8, 1, 2, 4, 0, 1, 2, 4, None, 1, None, None,
                                        None, None)
# Object prefix code -> octets of each prefix (None: reserved code 7).
_PREFIX_SIZES: tuple[int | None, ...] = (0, 1, 2, 4, 1, 2, 4, None)
_UINT = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I")}
_PAIR = {1: struct.Struct("<BB"), 2: struct.Struct("<HH"), 4: struct.Struct("<II")}


class Fragment(NamedTuple):
    """One decoded application fragment."""

    control: int
    function_code: int
    function: str
    iin: int | None
    objects: tuple[Dnp3Object, ...]
    object_count: int
    truncated: bool
    device_time: float | None
    delay_ms: int | None
    files: tuple[Dnp3File, ...]
    problems: tuple[Problem, ...]
    """Anomalies found inside the fragment (code, detail); decoding stopped at the first one
    that made the rest unsizable."""


class _Stop(Exception):
    """The object walk cannot go on (internal: becomes a problem of the fragment)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class _Acc:
    """What the walk of one fragment accumulates besides the object list."""

    __slots__ = ("cto_ms", "delay_ms", "device_time", "files", "points_left", "truncated")

    def __init__(self) -> None:
        self.points_left = MAX_POINTS_PER_EVENT
        self.truncated = False
        self.device_time: float | None = None
        self.delay_ms: int | None = None
        self.cto_ms: int | None = None
        """Common time of occurrence (g51) for the relative times that follow it, in ms."""
        self.files: list[Dnp3File] = []


def _item(d: ObjDef, group: int, variation: int, data: bytes, pos: int, size: int, index: int,
          acc: _Acc) -> Dnp3Point | None:
    """Decode one object instance of ``size`` octets at ``pos``; None when it has no point
    representation (opaque objects, files: those go to ``acc.files``)."""
    kind = d.kind
    if kind == KIND_STRUCT:
        assert d.fmt is not None
        if size < d.fmt.size:
            raise _Stop("dnp3.truncated_object",
                        f"g{group}v{variation} object of {size} octets, needs {d.fmt.size}")
        return MAKERS[group << 8 | variation](data, pos, index, acc.cto_ms)
    if kind == KIND_CROB:
        if size < CROB_SIZE:
            raise _Stop("dnp3.truncated_object", f"g12v{variation} object of {size} octets")
        return crob_point(data, pos, index)
    if kind == KIND_OCTETS:
        return Dnp3Point(index=index, text=hex_text(data[pos:pos + size]))
    if kind == KIND_FILE:
        record = file_object(variation, data[pos:pos + size])
        if record is None:
            raise _Stop("dnp3.truncated_object",
                        f"g70v{variation} object of {size} octets is too short")
        if len(acc.files) < MAX_FILES_PER_EVENT:
            acc.files.append(record)
        else:
            acc.truncated = True
        return None
    if kind in (KIND_BIT, KIND_DBIT) and size >= 1:
        # An index- or size-prefixed packed object: its value is in the low bit(s).
        if kind == KIND_BIT:
            return Dnp3Point(index=index, state=bool(data[pos] & 1))
        return Dnp3Point(index=index, value=data[pos] & 3, text=DOUBLE_BIT_STATES[data[pos] & 3])
    return None


def _uint(data: bytes, pos: int, size: int) -> int:
    value: int = _UINT[size].unpack_from(data, pos)[0]
    return value


def _need(end: int, pos: int, n: int, what: str) -> None:
    if pos + n > end:
        raise _Stop("dnp3.truncated_object", f"{what}: needs {n} octets, {max(end - pos, 0)} left")


def _walk_items(d: ObjDef | None, group: int, variation: int, data: bytes, pos: int, count: int,
                prefix_code: int, first: int, headers_only: bool, empty_ok: bool, acc: _Acc,
                points: list[Dnp3Point]) -> int:
    """Consume the objects (and prefixes) announced by one header; append decoded points while
    the event's point budget lasts. Returns the position after them."""
    end = len(data)
    psize = _PREFIX_SIZES[prefix_code] or 0
    what = f"g{group}v{variation}"
    sized = prefix_code >= 4  # each object is preceded by its size (free-format objects)
    index_prefix = 1 <= prefix_code <= 3
    if headers_only and not sized and not (d is not None and d.always_data):
        # A header without data; an index prefix still lists the points asked for.
        if index_prefix:
            _need(end, pos, count * psize, f"{what} index prefixes")
            for i in range(min(count, acc.points_left)):
                points.append(Dnp3Point(index=_uint(data, pos + i * psize, psize)))
            acc.points_left -= min(count, acc.points_left)
            pos += count * psize
        return pos
    if d is None and not sized:
        raise _Stop("dnp3.unknown_object",
                    f"unknown object {what} cannot be sized: rest of the fragment skipped")
    if sized:
        for i in range(count):
            _need(end, pos, psize, f"{what} size prefix")
            size = _uint(data, pos, psize)
            pos += psize
            _need(end, pos, size, f"{what} object")
            if d is not None and acc.points_left > 0:
                point = _item(d, group, variation, data, pos, size, first + i, acc)
                if point is not None:
                    points.append(point)
                    acc.points_left -= 1
            pos += size
        return pos
    assert d is not None
    kind = d.kind
    if kind == KIND_EMPTY:
        if variation == 0 and count and not empty_ok:
            # "Any variation" has no size: where object data must follow it cannot be read.
            raise _Stop("dnp3.unknown_object",
                        f"{what} (any variation) announces {count} objects with data: they "
                        "cannot be sized, rest of the fragment skipped")
        _need(end, pos, count * psize, f"{what} index prefixes")
        return pos + count * psize
    if kind in (KIND_BIT, KIND_DBIT) and not index_prefix:
        bits = 1 if kind == KIND_BIT else 2
        nbytes = (count * bits + 7) >> 3
        _need(end, pos, nbytes, f"{what} packed values")
        take = min(count, acc.points_left)
        for i in range(take):
            if bits == 1:
                points.append(Dnp3Point(index=first + i,
                                        state=bool(data[pos + (i >> 3)] >> (i & 7) & 1)))
            else:
                v = data[pos + (i >> 2)] >> ((i & 3) << 1) & 3
                points.append(Dnp3Point(index=first + i, value=v, text=DOUBLE_BIT_STATES[v]))
        acc.points_left -= take
        return pos + nbytes
    if kind == KIND_ATTR:
        for i in range(count):
            _need(end, pos, psize + 1, f"{what} attribute header")
            index = _uint(data, pos, psize) if index_prefix else first + i
            pos += psize
            dtype = data[pos]
            pos += 1
            if dtype == 0:
                # Data type 0 is a placeholder: no length octet, no value.
                if acc.points_left > 0:
                    points.append(Dnp3Point(index=index))
                    acc.points_left -= 1
                continue
            _need(end, pos, 1, f"{what} attribute length")
            length = data[pos]
            pos += 1
            _need(end, pos, length, f"{what} attribute value")
            if acc.points_left > 0:
                points.append(attr_point(dtype, data[pos:pos + length], index))
                acc.points_left -= 1
            pos += length
        return pos
    size = 1 if kind in (KIND_BIT, KIND_DBIT) else d.size
    if size == VARIABLE:
        raise _Stop("dnp3.bad_qualifier",
                    f"{what} has a variable size but qualifier prefix code {prefix_code} gives "
                    "no object size")
    step = psize + size
    _need(end, pos, count * step, f"{count} x {what}")
    take = min(count, acc.points_left)
    if kind == KIND_STRUCT:
        # The common case, kept tight: one maker call per point.
        make = MAKERS[group << 8 | variation]
        cto_ms = acc.cto_ms
        if index_prefix:
            prefix = _UINT[psize].unpack_from
            points += [make(data, at + psize, prefix(data, at)[0], cto_ms)
                       for at in range(pos, pos + take * step, step)]
        else:
            points += [make(data, pos + i * size, first + i, cto_ms) for i in range(take)]
        acc.points_left -= take
    else:
        for i in range(take):
            at = pos + i * step
            index = _uint(data, at, psize) if index_prefix else first + i
            point = _item(d, group, variation, data, at + psize, size, index, acc)
            if point is not None:
                points.append(point)
                acc.points_left -= 1
    # Objects past the point budget are skipped by arithmetic, not decoded.
    return pos + count * step


_SUMMARY_GROUPS = frozenset({50, 51, 52})


def _summarise(group: int, variation: int, points: list[Dnp3Point], acc: _Acc) -> None:
    """Time, common time of occurrence and delay objects that the event shows at its top."""
    point = points[0]
    if group == 51 and point.time is not None:
        # The CTO (group 51) applies to the relative times of the objects that follow it.
        acc.cto_ms = round(points[-1].time * 1000) if points[-1].time is not None else None
    elif group == 50 and variation in (1, 3) and acc.device_time is None:
        acc.device_time = point.time
    elif group == 52 and acc.delay_ms is None and isinstance(point.value, int):
        acc.delay_ms = point.value * 1000 if variation == 1 else point.value


def _name(d: ObjDef | None, group: int, variation: int) -> str:
    return d.name if d is not None else f"Unknown object g{group}v{variation}"


def _parse_objects(data: bytes, pos: int, headers_only: bool, empty_ok: bool
                   ) -> tuple[list[Dnp3Object], int, _Acc, list[Problem]]:
    objects: list[Dnp3Object] = []
    problems: list[Problem] = []
    acc = _Acc()
    end = len(data)
    n_objects = 0
    while pos < end:
        if end - pos < 3:
            problems.append(("dnp3.truncated_object",
                             f"{end - pos} trailing octets, too short for an object header"))
            acc.truncated = True
            break
        group, variation, qualifier = data[pos], data[pos + 1], data[pos + 2]
        pos += 3
        n_objects += 1
        prefix_code, range_code = qualifier >> 4 & 7, qualifier & 0x0F
        d = lookup(group, variation)
        if d is None:
            problems.append(("dnp3.unknown_object",
                             f"unknown object g{group}v{variation} (qualifier 0x{qualifier:02x})"))
        start: int | None = None
        stop: int | None = None
        count = 0
        try:
            rsize = _RANGE_SIZES[range_code]
            if rsize is None or _PREFIX_SIZES[prefix_code] is None:
                raise _Stop("dnp3.bad_qualifier",
                            f"g{group}v{variation}: reserved qualifier 0x{qualifier:02x}")
            _need(end, pos, rsize, f"g{group}v{variation} range field")
            if range_code <= 2:
                start, stop = _PAIR[rsize >> 1].unpack_from(data, pos)
                assert start is not None and stop is not None
                if stop < start:
                    raise _Stop("dnp3.bad_qualifier",
                                f"g{group}v{variation}: range stop {stop} < start {start}")
                count, first = stop - start + 1, start
            elif range_code <= 5:
                start = stop = first = _uint(data, pos, rsize)
                count = 1
            elif range_code == 6:
                first = 0
            else:
                count, first = _uint(data, pos, rsize), 0
            pos += rsize
            points: list[Dnp3Point] = []
            keep = len(objects) < MAX_OBJECTS_PER_EVENT
            budget = acc.points_left
            if not keep:
                acc.points_left = 0
            try:
                pos = _walk_items(d, group, variation, data, pos, count, prefix_code, first,
                                  headers_only, empty_ok, acc, points)
            finally:
                if not keep:
                    acc.points_left = budget
            if points and group in _SUMMARY_GROUPS:
                _summarise(group, variation, points, acc)
            if keep:
                has_values = points or (not headers_only and d is not None
                                        and d.kind != KIND_EMPTY)
                cut = bool(has_values and len(points) < count and acc.points_left == 0)
                objects.append(Dnp3Object(group=group, variation=variation, name=_name(d, group,
                                          variation), qualifier=qualifier, start=start,
                                          stop=stop, count=count, points=tuple(points),
                                          points_truncated=cut))
                acc.truncated |= cut
            else:
                acc.truncated = True
        except _Stop as stop_walk:
            if stop_walk.code == "dnp3.unknown_object" and d is None:
                problems[-1] = (stop_walk.code, stop_walk.detail)  # a better detail
            else:
                problems.append((stop_walk.code, stop_walk.detail))
            acc.truncated = True
            if len(objects) < MAX_OBJECTS_PER_EVENT:
                objects.append(Dnp3Object(group=group, variation=variation,
                                          name=_name(d, group, variation), qualifier=qualifier,
                                          start=start, stop=stop, count=count))
            break
    return objects, n_objects, acc, problems


def parse_fragment(data: bytes) -> Fragment:
    """Decode one application fragment. Raises ``Malformed('dnp3.invalid_length')`` when it is
    too short for its header; problems inside the object area are returned, not raised, with
    everything decoded before them."""
    n = len(data)
    if n < 2:
        raise Malformed("dnp3.invalid_length", f"application fragment of {n} octets")
    control, code = data[0], data[1]
    iin: int | None = None
    pos = 2
    if code in RESPONSE_FUNCTIONS:
        if n < 4:
            raise Malformed("dnp3.invalid_length",
                            f"{FUNCTIONS[code]} of {n} octets has no room for IIN")
        iin = data[2] << 8 | data[3]
        pos = 4
    function = FUNCTIONS.get(code)
    if function is None:
        # Without a known function the object area cannot be interpreted.
        return Fragment(control, code, f"UNKNOWN_{code}", None, (), 0, n > 2, None, None, (),
                        (("dnp3.unknown_function", f"application function code {code}"),))
    if pos == n:
        return Fragment(control, code, function, iin, (), 0, False, None, None, (), ())
    objects, n_objects, acc, problems = _parse_objects(
        data, pos, code in FUNCTIONS_HEADERS_ONLY, code in FUNCTIONS_ANY_VARIATION)
    return Fragment(control, code, function, iin, tuple(objects), n_objects, acc.truncated,
                    acc.device_time, acc.delay_ms, tuple(acc.files), tuple(problems))
