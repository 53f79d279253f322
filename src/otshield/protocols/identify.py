"""Shared machinery of the decoders that identify a protocol by port and signature and report
what is cheaply visible (depth ``identify``): one record when the first valid message of a flow
is seen, and one summary record with counters when the flow ends.

A protocol supplies a pure ``parse(unit, from_client) -> Unit`` (raising only ``Malformed``) and
a ``build(fields, phase, first, summary) -> Event`` that fills its own event class (a subclass of
:class:`IdentifyEvent`) from the unit and the identifying facts collected so far.
:class:`IdentifySession` does the rest: counting message kinds and function classes (bounded),
keeping the first value of each identifying fact per direction (bounded), reporting malformed
units as anomalies (the first few one by one, the rest counted in the summary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypedDict

import msgspec

from otshield.errors import Malformed
from otshield.events import CommonFields, Event
from otshield.protocols.base import FlowContext

__all__ = [
    "CLASS_RANK",
    "FactValue",
    "IdentifyEvent",
    "IdentifyFields",
    "IdentifySession",
    "NameCount",
    "Summary",
    "Unit",
    "fact_int",
    "fact_str",
    "identify_fields",
    "split_frames",
]

FactValue = str | int | bool

CLASS_RANK: dict[str, int] = {
    "other": 0, "identify": 1, "diagnostics": 2, "read": 3, "security": 4, "config": 5,
    "write": 6, "control": 7, "program": 8,
}
"""How much a function class matters to a defender: the summary reports the highest one seen."""

MAX_KINDS = 64
"""Distinct message kinds counted per flow; more are counted under ``other``."""
MAX_FACTS = 24
"""Identifying facts kept per direction of a flow."""
MAX_REPORTED_MALFORMED = 4
"""Malformed units reported one by one per flow; the rest are counted in the summary."""


class Unit:
    """One decoded message: its kind (``batch_read_words``), function class, whether it is a
    request (None when the protocol does not say), and identifying facts (first value wins)."""

    __slots__ = ("facts", "function_class", "kind", "request")

    def __init__(self, kind: str, function_class: str, request: bool | None = None,
                 facts: dict[str, FactValue] | None = None) -> None:
        self.kind = kind
        self.function_class = function_class
        self.request = request
        self.facts = facts


class NameCount(msgspec.Struct, frozen=True, gc=False):
    """A message kind or function class and how many times it was seen."""

    name: str
    count: int


class IdentifyEvent(Event, frozen=True, kw_only=True):
    """Fields every identify-depth record has; each protocol subclasses it with its tag and its
    identifying fields."""

    phase: str
    """``first`` (the flow's first valid message) or ``summary`` (when the flow ends)."""
    message: str
    """Kind of the first valid message (``first``), or the most frequent kind (``summary``)."""
    function_class: str
    """Of the first message (``first``), or the highest seen on the flow (``summary``, ranked
    program > control > write > config > security > read > diagnostics > identify > other)."""
    messages: int = 1
    """Valid messages seen (``summary``)."""
    malformed: int = 0
    """Units that failed to decode (``summary``)."""
    message_counts: tuple[NameCount, ...] | None = None
    function_classes: tuple[NameCount, ...] | None = None
    truncated: bool = False
    """More distinct kinds or facts than the caps; the rest are counted under ``other``."""


class Summary:
    """What a session collected; handed to the protocol's ``build``."""

    __slots__ = ("classes", "client", "counts", "malformed", "messages", "server", "truncated")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.messages = 0
        self.malformed = 0
        self.client: dict[str, FactValue] = {}
        self.server: dict[str, FactValue] = {}
        self.truncated = False


def fact_str(facts: Mapping[str, FactValue], key: str) -> str | None:
    value = facts.get(key)
    return value if isinstance(value, str) else None


def fact_int(facts: Mapping[str, FactValue], key: str) -> int | None:
    value = facts.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


Parse = Callable[[bytes, bool], Unit]
Build = Callable[[CommonFields, str, Unit, Summary], Event]


class IdentifySession:
    """Per-flow state of an identify-depth decoder (see the module docstring). ``name`` is the
    protocol name (anomaly codes ``<name>.*``)."""

    def __init__(self, flow: FlowContext, name: str, parse: Parse, build: Build) -> None:
        self._flow = flow
        self._name = name
        self._parse = parse
        self._build = build
        self._summary = Summary()
        self._first: Unit | None = None
        self._first_from_client = True

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        summary = self._summary
        try:
            unit = self._parse(frame, from_client)
        except Malformed as m:
            summary.malformed += 1
            if summary.malformed <= MAX_REPORTED_MALFORMED:
                self._flow.anomaly(m.code, m.detail, from_client)
            return
        summary.messages += 1
        counts = summary.counts
        kind = unit.kind
        if kind in counts:
            counts[kind] += 1
        elif len(counts) < MAX_KINDS:
            counts[kind] = 1
        else:
            summary.truncated = True
            counts["other"] = counts.get("other", 0) + 1
        classes = summary.classes
        classes[unit.function_class] = classes.get(unit.function_class, 0) + 1
        if unit.facts:
            facts = summary.client if from_client else summary.server
            for key, value in unit.facts.items():
                if key not in facts:
                    if len(facts) < MAX_FACTS:
                        facts[key] = value
                    else:
                        summary.truncated = True
        if self._first is None:
            self._first = unit
            self._first_from_client = from_client
            flow = self._flow
            self._flow.emit(self._build(flow.fields(from_client), "first", unit, summary))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: units come framed (``frame_size``) or as datagrams."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: framing restarts at the next segment."""

    def close(self) -> None:
        summary = self._summary
        first = self._first
        if first is None:
            return
        if summary.malformed > MAX_REPORTED_MALFORMED:
            self._flow.anomaly(f"{self._name}.malformed",
                               f"{summary.malformed - MAX_REPORTED_MALFORMED} more units failed "
                               "to decode (not reported one by one)", self._first_from_client)
        flow = self._flow
        self._flow.emit(self._build(flow.fields(self._first_from_client), "summary", first,
                                    summary))


class IdentifyFields(TypedDict):
    """The :class:`IdentifyEvent` fields of a record: ``Ev(**fields, **identify_fields(...))``."""

    phase: str
    message: str
    function_class: str
    messages: int
    malformed: int
    message_counts: tuple[NameCount, ...] | None
    function_classes: tuple[NameCount, ...] | None
    truncated: bool


def identify_fields(phase: str, first: Unit, summary: Summary) -> IdentifyFields:
    """The shared fields of the ``first`` or the ``summary`` record."""
    if phase == "first":
        return {"phase": phase, "message": first.kind, "function_class": first.function_class,
                "messages": 1, "malformed": 0, "message_counts": None,
                "function_classes": None, "truncated": False}
    counts = summary.counts
    top = max(counts, key=lambda k: counts[k]) if counts else first.kind
    best = max(summary.classes, key=lambda c: CLASS_RANK.get(c, 0)) if summary.classes else (
        first.function_class)
    return {
        "phase": phase, "message": top, "function_class": best, "messages": summary.messages,
        "malformed": summary.malformed,
        "message_counts": tuple(NameCount(k, v) for k, v in sorted(
            counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "function_classes": tuple(NameCount(k, v) for k, v in sorted(
            summary.classes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "truncated": summary.truncated,
    }


def split_frames(buf: bytes, terminator: bytes, limit: int) -> int | None:
    """``frame_size`` for a protocol whose units end with ``terminator``: the length through the
    terminator, or None if it has not arrived (``limit`` bytes without one is the engine's
    ``invalid_frame_size``: the caller returns ``limit + 1``)."""
    end = buf.find(terminator)
    if end < 0:
        return None if len(buf) <= limit else limit + 1
    return end + len(terminator)
