"""Run-time state of the baseline detector: what it decided per event class, per zone, per
talker pair, per polling key and per flow, and the small helpers of its hot path.

Nothing here is persisted (the persisted model is :mod:`.model`); everything is bounded by the
caps of :class:`~otshield.detect.baseline.model.Limits` or by the flow cache size.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from statistics import median
from typing import Any

from otshield.detect.baseline.fields import (
    FUNCTION_FIELDS,
    IT_PROTOCOLS,
    ORIENT_FIELD,
    POLL_SUBJECT,
    SKIP_DATASETS,
    WRITE_EXTRACTORS,
    Getter,
    WriteItem,
    compile_path,
)
from otshield.detect.baseline.model import PairModel, PollModel, ZoneModel
from otshield.events import ArpEvent, Event, FlowEvent

__all__ = [
    "ARP",
    "FLOW",
    "FLOW_CACHE",
    "MAX_CODES",
    "PROTO",
    "SKIP",
    "EventInfo",
    "FlowState",
    "PairState",
    "Phase",
    "PollSettings",
    "PollState",
    "ZoneState",
    "covered",
    "is_industrial",
    "is_mac",
    "is_unicast",
    "join_values",
    "poll_stats",
    "protocol_index",
]

SKIP, FLOW, ARP, PROTO = 0, 1, 2, 3

FLOW_CACHE = 65_536
_INF = float("inf")


@dataclass(frozen=True)
class PollSettings:
    """When a polling period counts as unusual."""

    window: int = 8
    """Recent intervals compared at a time (their median)."""
    min_samples: int = 20
    """Intervals that must have been learnt before the period is judged."""
    k: float = 6.0
    """Deviation threshold in scaled MADs (MAD x 1.4826, the normal-consistent scale)."""
    min_relative: float = 0.5
    """...and at least this change relative to the learnt median (0.5: 50%)."""
    min_absolute: float = 0.05
    """...and at least this many seconds (network jitter on fast loops)."""
    confirm: int = 2
    """Consecutive unusual windows before alerting (a single burst is not a new period)."""


def poll_stats(samples: Sequence[float]) -> tuple[float, float, float, float]:
    """Median, median absolute deviation, 5th and 95th percentiles of ``samples``."""
    if not samples:
        return 0.0, 0.0, 0.0, 0.0
    ordered = sorted(samples)
    mid = median(ordered)
    last = len(ordered) - 1
    return (mid, median(abs(s - mid) for s in ordered), ordered[int(0.05 * last)],
            ordered[round(0.95 * last)])


@cache
def protocol_index() -> dict[str, tuple[str, frozenset[int]]]:
    """Event type -> (protocol name, its server ports), from the decoder registry."""
    from otshield.protocols.registry import load_registry

    out: dict[str, tuple[str, frozenset[int]]] = {}
    for spec in load_registry().specs:
        for cls in spec.event_types:
            tag = str(cls.__struct_config__.tag or "")
            if tag and tag not in out:
                out[tag] = (spec.name, frozenset(spec.tcp_ports) | frozenset(spec.udp_ports))
    return out


def is_industrial(protocol: str) -> bool:
    """A protocol of an industrial decoder (not an IT one, not a bare port)."""
    return protocol not in IT_PROTOCOLS and protocol in _industrial_names()


@cache
def _industrial_names() -> frozenset[str]:
    return frozenset(name for name, _ in protocol_index().values())



class EventInfo:
    """What the detector does with one event class (decided once per class)."""

    __slots__ = ("code", "code_key", "codes", "industrial", "kind", "name", "orient", "ports",
                 "protocol", "subject", "subject_key", "tag", "writes")

    def __init__(self, cls: type[Event]) -> None:
        tag = str(cls.__struct_config__.tag or "")
        self.tag = tag
        fields = cls.__struct_fields__
        if tag in SKIP_DATASETS or not tag:
            self.kind = SKIP
        elif issubclass(cls, FlowEvent):
            self.kind = FLOW
        elif issubclass(cls, ArpEvent):
            self.kind = ARP
        elif "src_ip" in fields:
            self.kind = PROTO
        else:
            self.kind = SKIP
        protocol, ports = protocol_index().get(tag, (tag, frozenset()))
        self.protocol = protocol
        self.ports = ports
        self.industrial = is_industrial(protocol)
        codes, names = FUNCTION_FIELDS.get(tag, ((), ()))
        self.code: tuple[Getter, ...] = tuple(compile_path(p) for p in codes)
        self.name: tuple[Getter, ...] = tuple(compile_path(p) for p in names)
        self.subject: tuple[Getter, ...] = tuple(compile_path(p)
                                                 for p in POLL_SUBJECT.get(tag, ()))
        # the hot path reads the raw values in one C call and looks their label up
        self.code_key: Getter | None = _raw_key(codes)
        self.codes: dict[Hashable, str] = {}
        subject = POLL_SUBJECT.get(tag, ())
        self.subject_key: Getter | None = _raw_key(subject) if subject else None
        self.orient = ORIENT_FIELD.get(tag, "")
        extractor = WRITE_EXTRACTORS.get(tag)
        self.writes: Callable[[Event], Iterator[WriteItem]] | None = (
            extractor if extractor is not None and "function_class" in fields else None)


def join_values(getters: tuple[Getter, ...], event: object) -> str:
    return "/".join(str(v) for g in getters if (v := g(event)) is not None)


def _raw_key(paths: Sequence[str]) -> Getter | None:
    """A getter of the raw values behind ``paths``, hashable, in one C call when the paths are
    plain attributes (nested ones: their top-level attribute, a frozen record or None)."""
    if not paths:
        return None
    if all("." not in p for p in paths):
        return attrgetter(*paths)
    tops = tuple(dict.fromkeys(p.split(".")[0] for p in paths))
    if any(p.split(".")[1].isdigit() for p in paths if "." in p):  # into a list: read the values
        shared = _one_element(paths)
        if shared is not None:
            return shared
        getters = tuple(compile_path(p) for p in paths)
        return lambda e: tuple(g(e) for g in getters)
    return attrgetter(*tops)


def _one_element(paths: Sequence[str]) -> Getter | None:
    """For paths into the same element of a list (``objects.0.group``, ``objects.0.variation``),
    one getter reading the element once and its attributes in one C call: the values the
    paths' own getters give, as a tuple. None for other shapes."""
    parts = [p.split(".") for p in paths]
    if len(parts) < 2 or any(len(q) != 3 for q in parts):
        return None
    outer, index = parts[0][0], parts[0][1]
    if not index.isdigit() or any(q[0] != outer or q[1] != index for q in parts) \
            or any(q[2].isdigit() for q in parts):
        return None
    n = int(index)
    attrs = attrgetter(*(q[2] for q in parts))
    none = (None,) * len(parts)
    names = tuple(q[2] for q in parts)

    def read(e: object) -> Any:
        items = getattr(e, outer, None)
        item = items[n] if isinstance(items, (list, tuple)) and len(items) > n else None
        if item is None:
            return none
        try:
            return attrs(item)
        except AttributeError:  # an element without one of them: None for that one
            return tuple(getattr(item, name, None) for name in names)
    return read


MAX_CODES = 4096
"""Labels cached per event class (codes are few; the cap bounds odd sub-record values)."""


class Phase:
    """A learning clock (one per site, or one per zone)."""

    __slots__ = ("events", "first_ts", "learning", "limited", "since")

    def __init__(self, learning: bool, limited: bool) -> None:
        self.learning = learning
        self.limited = limited
        self.events = 0
        self.first_ts: float | None = None
        self.since = float("-inf") if not learning else float("inf")
        """Packet time protection began (flows that started before it are learnt)."""


class ZoneState:
    __slots__ = ("model", "name", "phase")

    def __init__(self, name: str, model: ZoneModel, phase: Phase) -> None:
        self.name = name
        self.model = model
        self.phase = phase


class PairState:
    """A talker pair as the run knows it (cached per flow)."""

    __slots__ = ("client", "key", "known", "last_write", "model", "new_functions", "new_writes",
                 "polls", "protocol", "server", "zone")

    def __init__(self, key: str, client: str, server: str, protocol: str, zone: ZoneState,
                 model: PairModel, known: bool) -> None:
        self.key = key
        self.client = client
        self.server = server
        self.protocol = protocol
        self.zone = zone
        self.model = model
        self.known = known
        """The model is the baseline's (False: a pair first seen while protecting)."""
        self.new_functions: set[str] = set()
        self.new_writes: dict[str, list[tuple[int, int]]] = {}
        self.polls: dict[tuple[str, Hashable], PollState] = {}
        self.last_write: WriteItem | None = None
        """The last item written and found in (or added to) the baseline."""


class PollState:
    __slots__ = ("alerted", "dirty", "key", "last", "model", "recent", "strikes")

    def __init__(self, key: str, model: PollModel | None) -> None:
        self.key = key
        self.model = model
        self.dirty = False
        self.last: float | None = None
        self.recent: list[float] = []
        self.alerted = False
        self.strikes = 0


class FlowState:
    __slots__ = ("a", "pairs")

    def __init__(self, a: str) -> None:
        self.a = a
        self.pairs: list[PairState | None] = [None, None]


def is_mac(addr: str) -> bool:
    """``aa:bb:cc:dd:ee:ff`` (an IPv6 address of 17 characters never has colons at exactly
    these places: six groups would need a ``::``)."""
    return len(addr) == 17 and addr[2] == addr[5] == addr[8] == addr[11] == addr[14] == ":"


def is_unicast(addr: str) -> bool:
    """True for addresses that name one host (not multicast, broadcast or unspecified)."""
    if is_mac(addr):
        try:
            return not int(addr[:2], 16) & 1
        except ValueError:
            return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if ip.is_multicast or ip.is_unspecified:
        return False
    return not (ip.version == 4 and str(ip) == "255.255.255.255")




def covered(ranges: list[tuple[int, int]], first: int, last: int) -> bool:
    """True when [first, last] lies inside one of the sorted, merged ``ranges``."""
    if first > last:
        first, last = last, first
    i = bisect_right(ranges, (first, _INF)) - 1
    return i >= 0 and ranges[i][0] <= first and last <= ranges[i][1]
