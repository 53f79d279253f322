"""Implicit (class 0/1) I/O on UDP 2222: counted per connection id, payloads not decoded.

Reference: ODVA CIP Networks Library Volume 2, 3-2.2 (UDP transport for class 0/1
connections): each datagram is a CPF packet with a sequenced address item (connection id and a
32-bit encapsulation sequence number, 2-6.2.2) and a connected data item (class 1 adds a 16-bit
CIP sequence count and the O->T direction often a 32-bit run/idle header; telling them apart
needs the Forward_Open, so the data is only measured).

One ``cip_io`` event per (connection id, direction) when the flow ends, plus an interim one
every :data:`IO_REPORT_INTERVAL` seconds of packet time for connections that never stop.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.enip.encap import parse_io_datagram
from otshield.protocols.enip.events import CipIoEvent

__all__ = ["IO_REPORT_INTERVAL", "EnipIoSession"]

IO_REPORT_INTERVAL = 300.0
"""Seconds of packet time between interim reports of a running I/O connection."""


class _Counter:
    __slots__ = ("bytes", "first_seq", "first_ts", "frame", "gaps", "last_seq", "max_size",
                 "min_size", "packets", "repeats", "ts")

    def __init__(self, seq: int, size: int, ts: float, frame: int) -> None:
        self.first_seq = self.last_seq = seq
        self.packets = 1
        self.bytes = self.min_size = self.max_size = size
        self.gaps = self.repeats = 0
        self.first_ts = self.ts = ts
        self.frame = frame


class EnipIoSession:
    """Counts implicit I/O datagrams of one UDP flow by connection id and direction."""

    __slots__ = ("counters", "dropped", "flow", "limit")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.limit = max(1, flow.settings.max_pending_requests)
        self.counters: dict[tuple[int, bool], _Counter] = {}
        self.dropped = 0

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            conn_id, seq, size = parse_io_datagram(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        key = (conn_id, from_client)
        c = self.counters.get(key)
        ts = flow.ts
        if c is None:
            if len(self.counters) >= self.limit:
                if not self.dropped:
                    flow.anomaly("enip.too_many_io_connections",
                                 f"more than {self.limit} I/O connection ids on one flow; "
                                 "datagrams of further ids are only counted", from_client)
                self.dropped += 1
                return
            self.counters[key] = _Counter(seq, size, ts, flow.frame)
            return
        c.packets += 1
        c.bytes += size
        if size < c.min_size:
            c.min_size = size
        elif size > c.max_size:
            c.max_size = size
        step = (seq - c.last_seq) & 0xFFFFFFFF
        if step == 0 or step >= 0x80000000:
            c.repeats += 1
        else:
            c.gaps += step - 1
            c.last_seq = seq
        c.ts = ts
        c.frame = flow.frame
        if ts - c.first_ts >= IO_REPORT_INTERVAL:
            self._report(key, c, interim=True)
            del self.counters[key]

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Datagram protocol: everything arrives through :meth:`on_frame`."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Datagrams have no stream gaps (lost ones show as sequence gaps)."""

    def close(self) -> None:
        for key, c in self.counters.items():
            self._report(key, c, interim=False)
        self.counters.clear()
        if self.dropped:
            self.flow.anomaly("enip.too_many_io_connections",
                              f"{self.dropped} datagrams of untracked connection ids", True)

    def _report(self, key: tuple[int, bool], c: _Counter, interim: bool) -> None:
        fields = self.flow.fields(key[1])
        fields["ts"] = c.ts
        fields["frame"] = c.frame
        mean = ((c.ts - c.first_ts) * 1000.0 / (c.packets - 1)) if c.packets > 1 else None
        self.flow.emit(CipIoEvent(
            **fields, connection_id=key[0], packets=c.packets, bytes=c.bytes,
            min_size=c.min_size, max_size=c.max_size, first_sequence=c.first_seq,
            last_sequence=c.last_seq, sequence_gaps=c.gaps, sequence_repeats=c.repeats,
            start=c.first_ts, mean_interval_ms=round(mean, 3) if mean is not None else None,
            interim=interim))
