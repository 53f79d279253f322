"""Bidirectional flows: who opened them, counters, TCP state, idle timeout, bounded table.

A flow is found from either direction with one dict lookup: the table holds both directional
5-tuples, each mapped to ``(flow, from_client)``. Memory is bounded by ``Settings.max_flows``;
beyond it the least recently active tenth of the flows is closed with end reason ``evicted``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otshield.config import Settings
from otshield.events import AnomalyEvent, CommonFields, Event, FlowEvent
from otshield.netstack import format_ip, format_mac

if TYPE_CHECKING:
    from otshield.protocols.base import ProtocolSpec, Session
    from otshield.reassembly import TcpStream

__all__ = ["Flow", "FlowKey", "FlowTable", "community_id"]

FlowKey = tuple[bytes, int, bytes, int, int]
"""(source address, source port, destination address, destination port, IP protocol)."""

TRANSPORTS = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 2: "igmp", 132: "sctp", 47: "gre",
              50: "esp", 51: "ah", 89: "ospf", 103: "pim", 112: "vrrp"}


def community_id(src: bytes, sport: int, dst: bytes, dport: int, proto: int) -> str:
    """Community ID v1 flow hash (seed 0), as Zeek and Suricata compute it, so our records join
    theirs in a SIEM."""
    if (src, sport) > (dst, dport):
        src, sport, dst, dport = dst, dport, src, sport
    ports = struct.pack("!HH", sport, dport) if proto in (6, 17, 132, 1, 58) else b""
    digest = hashlib.sha1(struct.pack("!H", 0) + src + dst + struct.pack("!BB", proto, 0)
                          + ports).digest()
    return "1:" + base64.b64encode(digest).decode()


class Flow:
    """One bidirectional conversation; implements ``protocols.base.FlowContext`` for sessions."""

    __slots__ = (
        "anomaly_counts", "bufs", "bytes_c", "bytes_s", "client_ip", "client_key", "client_mac",
        "client_port", "closing", "community_id", "emit", "engine_state", "errors", "fc",
        "first_ts", "frame", "fs", "guess",
        "id", "last_ts", "opened_by_client", "pending", "pending_bytes", "pkts_c", "pkts_s",
        "proto",
        "server_ip",
        "server_key", "server_mac", "server_port", "session", "settings", "spec", "state",
        "streams", "transport", "ts", "vlan",
    )

    def __init__(self, fid: int, client_key: FlowKey, ts: float, frame: int, settings: Settings,
                 emit: Callable[[Event], None], opened_by_client: bool,
                 anomaly_counts: Counter[str],
                 engine_state: dict[str, dict[Any, Any]] | None = None) -> None:
        src, sport, dst, dport, proto = client_key
        self.id = fid
        self.client_key = client_key
        self.server_key: FlowKey = (dst, dport, src, sport, proto)
        self.proto = proto
        self.transport = TRANSPORTS.get(proto, str(proto))
        self.client_ip = format_ip(src)
        self.client_port = sport
        self.server_ip = format_ip(dst)
        self.server_port = dport
        self.community_id = community_id(src, sport, dst, dport, proto)
        self.first_ts = self.last_ts = self.ts = ts
        self.frame = frame
        self.settings = settings
        self.emit = emit
        self.opened_by_client = opened_by_client
        self.pkts_c = self.pkts_s = self.bytes_c = self.bytes_s = 0
        self.client_mac = self.server_mac = b""
        self.vlan: int | None = None
        self.state = "new"
        self.closing = 0.0  # packet time the flow may be closed at (after FIN/RST), 0 = open
        self.streams: list[TcpStream] | None = None
        # undecoded stream bytes: client->server, server->client
        self.bufs: list[bytes] = [b"", b""]
        self.spec: ProtocolSpec | None = None
        self.session: Session | None = None
        self.guess = ""  # set once detection gave up: the port's guess, or "unknown"
        # payloads (with their packet time and number) kept while no decoder has claimed
        self.pending: list[tuple[bool, bytes, float, int]] = []
        self.pending_bytes = 0
        self.errors = 0
        self.anomaly_counts = anomaly_counts  # the engine's, shared by every flow
        self.engine_state = engine_state if engine_state is not None else {}
        self.fc: CommonFields | None = None
        self.fs: CommonFields | None = None

    # -- FlowContext -------------------------------------------------------------------------
    def fields(self, from_client: bool) -> CommonFields:
        # A template per direction is built once per flow; copying it is cheaper than building.
        t = self.fc if from_client else self.fs
        d = (self._make_fields(from_client) if t is None else t).copy()
        d["ts"] = self.ts
        d["frame"] = self.frame
        return d

    def _make_fields(self, from_client: bool) -> CommonFields:
        a = (self.client_ip, self.client_port)
        b = (self.server_ip, self.server_port)
        src, dst = (a, b) if from_client else (b, a)
        d: CommonFields = {"ts": self.ts, "frame": self.frame, "flow_id": self.id,
                           "community_id": self.community_id, "src_ip": src[0],
                           "src_port": src[1], "dst_ip": dst[0], "dst_port": dst[1],
                           "transport": self.transport}
        if from_client:
            self.fc = d
        else:
            self.fs = d
        return d

    def shared(self) -> dict[Any, Any]:
        return self.engine_state.setdefault(self.spec.name if self.spec else "", {})

    def anomaly(self, code: str, detail: str, from_client: bool) -> None:
        self.anomaly_counts[code] += 1
        self.emit(AnomalyEvent(**self.fields(from_client), code=code, detail=detail,
                               protocol=self.spec.name if self.spec else ""))

    # -- reporting -----------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        if self.spec is not None:
            return self.spec.name
        return f"guess:{self.guess}" if self.guess and self.guess != "unknown" else ""

    def record(self, end_reason: str) -> FlowEvent:
        gaps = sum(s.gaps for s in self.streams) if self.streams else 0
        return FlowEvent(
            ts=self.last_ts, frame=self.frame, flow_id=self.id, community_id=self.community_id,
            src_ip=self.client_ip, src_port=self.client_port, dst_ip=self.server_ip,
            dst_port=self.server_port, transport=self.transport, start=self.first_ts,
            protocol=self.protocol, state=self.state, opened_by_src=self.opened_by_client,
            src_mac=format_mac(self.client_mac), dst_mac=format_mac(self.server_mac),
            vlan=self.vlan, packets_to_server=self.pkts_c, packets_to_client=self.pkts_s,
            bytes_to_server=self.bytes_c, bytes_to_client=self.bytes_s, gaps=gaps,
            end_reason=end_reason)


class FlowTable:
    """Flows by directional key; bounded; idle flows found by a periodic sweep."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lookup: dict[FlowKey, tuple[Flow, bool]] = {}
        self.flows: dict[int, Flow] = {}
        self.next_id = 1

    def add(self, flow: Flow) -> None:
        self.lookup[flow.client_key] = (flow, True)
        self.lookup[flow.server_key] = (flow, False)
        self.flows[flow.id] = flow

    def remove(self, flow: Flow) -> None:
        self.lookup.pop(flow.client_key, None)
        self.lookup.pop(flow.server_key, None)
        self.flows.pop(flow.id, None)

    def full(self) -> bool:
        return len(self.flows) >= self.settings.max_flows

    def idle(self, now: float) -> list[Flow]:
        """Flows whose idle timeout (or closing linger) has passed at packet time ``now``."""
        s = self.settings
        out = []
        for f in self.flows.values():
            if f.closing:
                if now >= f.closing:
                    out.append(f)
            elif now - f.last_ts > (s.tcp_idle_timeout if f.proto == 6 else s.udp_idle_timeout):
                out.append(f)
        return out

    def least_recent(self, fraction: float = 0.1) -> list[Flow]:
        ordered = sorted(self.flows.values(), key=lambda f: f.last_ts)
        return ordered[: max(1, int(len(ordered) * fraction))]
