"""The readable summary of a decode run: protocols, flows, events, anomalies, top conversations."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from otshield.engine import EngineStats
from otshield.events import AnomalyEvent, Event, FlowEvent
from otshield.netstack import LINKTYPE_NAMES

__all__ = ["SummarySink", "print_summary"]

_TOP = 10
_OT_CHANGES = frozenset({"write", "control", "program", "security", "config"})
"""Function classes an OT engineer wants to see at a glance: what changed the process or the
controllers."""
_MAX_CHANGE_ROWS = 200


@dataclass
class _ProtoRow:
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    hosts: set[str] = field(default_factory=set)


class SummarySink:
    """Aggregates events for :func:`print_summary`; memory bounded by protocols and top lists."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.protocols: dict[str, _ProtoRow] = {}
        self.anomalies: Counter[str] = Counter()
        self._top: list[tuple[int, int, str]] = []  # (bytes, flow id, description) min-heap
        self._tags: dict[type[Event], str] = {}
        # (protocol, class, function, source, destination) -> count, first packet time
        self.changes: dict[tuple[str, str, str, str, str], list[float]] = {}

    def __call__(self, event: Event) -> None:
        cls = type(event)
        tag = self._tags.get(cls)
        if tag is None:
            tag = self._tags[cls] = str(cls.__struct_config__.tag)
        self.events[tag] += 1
        if cls is FlowEvent:
            assert isinstance(event, FlowEvent)
            self._flow(event)
        elif cls is AnomalyEvent:
            assert isinstance(event, AnomalyEvent)
            self.anomalies[event.code] += 1
        else:
            fclass = getattr(event, "function_class", None)
            if fclass in _OT_CHANGES:
                self._change(tag, str(fclass), event)

    def _change(self, tag: str, fclass: str, event: Event) -> None:
        name = getattr(event, "function", None) or getattr(event, "service_name", None) or "?"
        key = (tag, fclass, str(name), event.src_ip, event.dst_ip)
        row = self.changes.get(key)
        if row is not None:
            row[0] += 1
        elif len(self.changes) < _MAX_CHANGE_ROWS:
            self.changes[key] = [1, event.ts]

    def _flow(self, f: FlowEvent) -> None:
        name = f.protocol or f.transport
        row = self.protocols.get(name)
        if row is None:
            row = self.protocols[name] = _ProtoRow()
        row.flows += 1
        row.packets += f.packets_to_server + f.packets_to_client
        total = f.bytes_to_server + f.bytes_to_client
        row.bytes += total
        if len(row.hosts) < 10_000:
            row.hosts.add(f.dst_ip)
        desc = (f"{f.src_ip}:{f.src_port} -> {f.dst_ip}:{f.dst_port} {f.transport} "
                f"{name}")
        item = (total, f.flow_id, desc)
        if len(self._top) < _TOP:
            heapq.heappush(self._top, item)
        elif item > self._top[0]:
            heapq.heapreplace(self._top, item)

    def top_flows(self) -> list[tuple[int, str]]:
        return [(b, d) for b, _, d in sorted(self._top, reverse=True)]


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def print_summary(stats: EngineStats, sink: SummarySink, console: Console,
                  elapsed: float | None = None) -> None:
    """Print the summary tables."""
    span = max(0.0, stats.last_ts - stats.first_ts)
    head = (f"[bold]{stats.packets:,}[/] packets, {_size(stats.bytes)}, "
            f"{stats.flows:,} flows over {span:,.1f} s of capture time")
    if elapsed:
        head += f"; decoded in {elapsed:.2f} s ({stats.packets / elapsed:,.0f} packets/s)"
    console.print(head)
    if stats.linktypes:
        console.print("link types: " + ", ".join(
            f"{LINKTYPE_NAMES.get(k, str(k))} {v}" for k, v in stats.linktypes.items()))

    t = Table(title="Application protocols (by flow)", title_justify="left")
    for col in ("protocol", "flows", "packets", "bytes", "servers"):
        t.add_column(col, justify="left" if col == "protocol" else "right")
    for name, row in sorted(sink.protocols.items(), key=lambda kv: -kv[1].packets):
        t.add_row(name, f"{row.flows:,}", f"{row.packets:,}", _size(row.bytes),
                  f"{len(row.hosts):,}")
    console.print(t)

    if stats.ethertypes:
        t = Table(title="Non-IP layer-2 protocols", title_justify="left")
        t.add_column("ethertype")
        t.add_column("frames", justify="right")
        for name, n in stats.ethertypes.most_common():
            t.add_row(name, f"{n:,}")
        console.print(t)

    t = Table(title="Events", title_justify="left")
    t.add_column("event.dataset")
    t.add_column("records", justify="right")
    for name, n in sorted(sink.events.items()):
        t.add_row(name, f"{n:,}")
    console.print(t)

    if sink.changes:
        t = Table(title="OT operations that change things (write, control, program, security)",
                  title_justify="left")
        for col in ("protocol", "class", "function", "from", "to", "count"):
            t.add_column(col, justify="right" if col == "count" else "left")
        for (proto, fclass, name, src, dst), (count, _) in sorted(
                sink.changes.items(), key=lambda kv: kv[1][1]):
            t.add_row(proto, fclass, name, src, dst, f"{count:,.0f}")
        console.print(t)

    if sink.anomalies:
        t = Table(title="Anomalies", title_justify="left")
        t.add_column("code")
        t.add_column("count", justify="right")
        for code, n in sink.anomalies.most_common(25):
            t.add_row(code, f"{n:,}")
        console.print(t)

    top = sink.top_flows()
    if top:
        t = Table(title="Largest conversations", title_justify="left")
        t.add_column("flow")
        t.add_column("payload bytes", justify="right")
        for b, d in top:
            t.add_row(d, _size(b))
        console.print(t)
