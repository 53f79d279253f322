"""The packet engine: frames in, typed events out.

    source (file or interface) -> netstack (L2-L4) -> fragments -> flows -> TCP reassembly
      -> protocol detection (port, then probe) -> framing (frame_size) -> session -> events

One engine serves offline files and live interfaces alike. It uses packet time only, never the
wall clock, so the same capture always gives the same events. Nothing a packet contains may stop
it: bad input becomes an anomaly event, and an exception from a decoder (a bug) is contained per
flow and reported as ``internal.decoder_error``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from otshield.config import Settings
from otshield.errors import Malformed, describe_bug
from otshield.events import AnomalyEvent, ArpEvent, Event
from otshield.flows import Flow, FlowKey, FlowTable
from otshield.fragments import FragmentReassembler
from otshield.linklayer import LinkLayer
from otshield.netstack import ETHERTYPE_NAMES, Packet, decode, decode_l4, format_ip, format_mac
from otshield.protocols.base import ProtocolSpec
from otshield.protocols.guess import TCP_GUESSES, UDP_GUESSES, guess
from otshield.protocols.registry import Registry, load_registry
from otshield.reassembly import MASK, TcpStream

__all__ = ["Engine", "EngineStats", "decode_file", "run_capture"]

Sink = Callable[[Event], None]

_FIN, _SYN, _RST, _ACK = 0x01, 0x02, 0x04, 0x10
_MAX_DECODER_ERRORS = 8  # per flow, then the session is detached
_PROBE_PAYLOADS = 6  # payloads looked at before detection gives up on a flow
_PROBE_BYTES = 8192


class EngineStats:
    """Counters for the summary; cheap to keep."""

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0
        self.linktypes: Counter[int] = Counter()
        self.ethertypes: Counter[str] = Counter()
        self.transports: Counter[str] = Counter()
        self.anomalies: Counter[str] = Counter()
        self.flows_by_protocol: Counter[str] = Counter()
        self.flows = 0
        self.first_ts = 0.0
        self.last_ts = 0.0


class Engine:
    """Feed it frames with :meth:`feed`, then call :meth:`finish`; events go to ``sink``."""

    def __init__(self, sink: Sink, settings: Settings | None = None,
                 registry: Registry | None = None) -> None:
        self.settings = settings or Settings()
        self.registry = registry or load_registry()
        self.stats = EngineStats()
        self._user_sink = sink
        self.table = FlowTable(self.settings)
        self.frags = FragmentReassembler(self.settings)
        self._pkt = Packet()
        self._frame = 0
        self._now = 0.0
        self._next_sweep = 0.0
        self._ooo_limit = self.settings.tcp_max_ooo_bytes_per_direction
        self._ooo_total_limit = self.settings.tcp_max_ooo_bytes_total
        self._ooo_total = 0  # out-of-order bytes held across all flows
        self._max_frame = self.settings.max_frame_bytes
        self._max_buffer = self.settings.max_stream_buffer
        self._link = LinkLayer(self.registry, self.settings, self.emit)
        self._shared: dict[str, dict[Any, Any]] = {}  # FlowContext.shared(), per protocol

    def emit(self, event: Event) -> None:
        if type(event) is AnomalyEvent:
            self.stats.anomalies[event.code] += 1
        self._user_sink(event)

    # -- per packet ------------------------------------------------------------------------------
    def feed(self, ts: float, linktype: int, data: bytes) -> None:
        """Process one captured frame."""
        self._frame += 1
        st = self.stats
        st.packets += 1
        st.bytes += len(data)
        if ts > self._now:
            self._now = ts
            if ts >= self._next_sweep:
                if st.first_ts == 0.0:
                    st.first_ts = ts
                self._sweep(ts)
        p = self._pkt
        try:
            code = decode(linktype, data, p)
            if code is not None:
                if code:
                    self._packet_anomaly(ts, code, p, linktype)
                else:
                    self._l2(ts, p)
                return
            if p.frag and not self._defragment(ts, p):
                return
            proto = p.proto
            if proto == 6:
                self._tcp(ts, p)
            elif proto == 17:
                self._udp(ts, p)
            else:
                self._other(ts, p)
        except Exception as exc:  # a bug in otshield: contain it, say where, keep going
            self.emit(AnomalyEvent(ts=ts, frame=self._frame, code="internal.engine_error",
                                    detail=describe_bug(exc)))

    def _packet_anomaly(self, ts: float, code: str, p: Packet, linktype: int) -> None:
        self.stats.linktypes[linktype] += 1
        src = format_ip(p.src) if p.ipver and code.split(".")[0] in ("tcp", "udp", "icmp") else ""
        dst = format_ip(p.dst) if src else ""
        self.emit(AnomalyEvent(ts=ts, frame=self._frame, code=code, src_ip=src, dst_ip=dst,
                                detail=f"linktype {linktype}"))

    def _l2(self, ts: float, p: Packet) -> None:
        et = p.ethertype
        name = ETHERTYPE_NAMES.get(et, f"0x{et:04x}") if et else "llc"
        self.stats.ethertypes[name] += 1
        if et == 0x0806:
            self._arp(ts, p)
        else:
            self._link.handle(ts, self._frame, p)

    def _arp(self, ts: float, p: Packet) -> None:
        a = p.l2_payload
        if len(a) < 28 or a[0:2] != b"\x00\x01" or a[2:4] != b"\x08\x00" or a[4] != 6 or a[5] != 4:
            self.emit(AnomalyEvent(ts=ts, frame=self._frame, code="arp.malformed",
                                    detail=f"{len(a)} bytes"))
            return
        op = a[7]
        self.emit(ArpEvent(
            ts=ts, frame=self._frame, src_ip=format_ip(a[14:18]), dst_ip=format_ip(a[24:28]),
            operation={1: "request", 2: "reply"}.get(op, str(op)), sender_mac=format_mac(a[8:14]),
            sender_ip=format_ip(a[14:18]), target_mac=format_mac(a[18:24]),
            target_ip=format_ip(a[24:28]), vlan=p.vlan))

    def _defragment(self, ts: float, p: Packet) -> bool:
        """Add a fragment; True when the datagram is whole and ``p`` now describes it."""
        frag = p.frag
        key = (p.ipver, p.src, p.dst, p.ident, p.proto)
        whole = self.frags.add(key, ts, (frag & 0x1FFF) * 8, bool(frag & 0x2000), p.payload)
        for code in self.frags.anomalies:
            self.emit(AnomalyEvent(ts=ts, frame=self._frame, code=code, src_ip=format_ip(p.src),
                                    dst_ip=format_ip(p.dst), detail=f"ip id {p.ident}"))
        if whole is None:
            return False
        p.frag = 0
        problem = decode_l4(whole, 0, len(whole), p.proto, p)
        if problem:
            self._packet_anomaly(ts, problem, p, 0)
            return False
        return True

    # -- flows -----------------------------------------------------------------------------------
    def _new_flow(self, ts: float, key: FlowKey, client_is_src: bool, opened: bool) -> Flow:
        if self.table.full():
            victims = self.table.least_recent()
            self.emit(AnomalyEvent(ts=ts, frame=self._frame, code="flow.table_full",
                                    detail=f"evicting {len(victims)} least recent flows"))
            for f in victims:
                self._close(f, "evicted")
        src, sport, dst, dport, proto = key
        ckey = key if client_is_src else (dst, dport, src, sport, proto)
        flow = Flow(self.table.next_id, ckey, ts, self._frame, self.settings, self._user_sink,
                    opened, self.stats.anomalies, self._shared)
        self.table.next_id += 1
        if proto == 6:
            flow.streams = [TcpStream(), TcpStream()]
        self.table.add(flow)
        self.stats.flows += 1
        return flow

    def _client_is_src(self, sport: int, dport: int, proto: int) -> bool:
        """Without a SYN to tell: the side on a known service port is the server."""
        reg = self.registry
        ports = reg.tcp_ports if proto == 6 else reg.udp_ports
        guesses = TCP_GUESSES if proto == 6 else UDP_GUESSES
        d_known = dport in ports or dport in guesses
        s_known = sport in ports or sport in guesses
        if d_known != s_known:
            return d_known
        return dport < sport if (dport < 1024) != (sport < 1024) else True

    def _tcp(self, ts: float, p: Packet) -> None:
        key = (p.src, p.sport, p.dst, p.dport, 6)
        hit = self.table.lookup.get(key)
        flags = p.tcp_flags
        if hit is None:
            if flags & _SYN:
                client_is_src = not flags & _ACK
                flow = self._new_flow(ts, key, client_is_src, True)
                flow.state = "syn_sent" if client_is_src else "established"
            else:
                flow = self._new_flow(ts, key, self._client_is_src(p.sport, p.dport, 6), False)
                flow.state = "midstream"
            from_client = key == flow.client_key
        else:
            flow, from_client = hit
        # Per-packet accounting; _udp repeats these lines on purpose: a shared helper would
        # cost a Python call on every packet of the hot path.
        flow.ts = flow.last_ts = ts
        flow.frame = self._frame
        payload = p.payload
        if from_client:
            flow.pkts_c += 1
            flow.bytes_c += len(payload)
            if not flow.client_mac:
                flow.client_mac, flow.server_mac, flow.vlan = p.src_mac, p.dst_mac, p.vlan
        else:
            flow.pkts_s += 1
            flow.bytes_s += len(payload)
            if not flow.server_mac:
                flow.server_mac, flow.client_mac, flow.vlan = p.src_mac, p.dst_mac, p.vlan
        streams = flow.streams
        assert streams is not None
        stream = streams[0] if from_client else streams[1]
        if flags & (_SYN | _FIN | _RST):
            if flags & _SYN:
                if stream.next_seq < 0:
                    stream.next_seq = (p.seq + 1) & MASK
                if flags & _ACK and flow.state == "syn_sent":
                    flow.state = "established"
            if flags & _RST:
                flow.state = "reset"
                flow.closing = ts + self.settings.closed_linger
            elif flags & _FIN:
                flow.state = "closed" if flow.state in ("fin_wait", "closed") else "fin_wait"
                if flow.state == "closed":
                    flow.closing = ts + self.settings.closed_linger
        elif flow.state == "syn_sent" and from_client and flags & _ACK:
            flow.state = "established"
        if flags & _ACK:
            # What this packet acknowledges was sent before it: deliver that first.
            other = streams[1] if from_client else streams[0]
            if other.ooo:
                out: list[bytes | int] = []
                held = other.ooo_bytes
                other.ack_beyond(p.ack, out)
                self._ooo_total += other.ooo_bytes - held
                if out:
                    self._deliver_items(flow, out, not from_client)
        if payload:
            if stream.next_seq == p.seq and not stream.ooo:
                stream.next_seq = (p.seq + len(payload)) & MASK
                self._deliver(flow, payload, from_client)
            else:
                held = stream.ooo_bytes
                items = stream.add(p.seq, payload, self._ooo_limit)
                self._ooo_total += stream.ooo_bytes - held
                if self._ooo_total > self._ooo_total_limit:
                    self._shed_ooo()
                if stream.overlap_mismatch:
                    stream.overlap_mismatch = False
                    flow.anomaly("tcp.overlap_mismatch",
                                 "retransmitted bytes differ from the held ones", from_client)
                if items:
                    self._deliver_items(flow, items, from_client)

    def _shed_ooo(self) -> None:
        """Over the total out-of-order budget: give up the holes of the biggest holders."""
        holders = sorted(((s.ooo_bytes, f.id, i, f) for f in self.table.flows.values()
                          if f.streams for i, s in enumerate(f.streams) if s.ooo), reverse=True)
        for _, _, i, flow in holders:
            if self._ooo_total <= self._ooo_total_limit // 2:
                break
            assert flow.streams is not None
            stream = flow.streams[i]
            self._ooo_total -= stream.ooo_bytes
            flow.anomaly("tcp.reassembly_memory",
                         "total out-of-order budget reached: holes given up", i == 0)
            self._deliver_items(flow, stream.flush(), i == 0)

    def _udp(self, ts: float, p: Packet) -> None:
        key = (p.src, p.sport, p.dst, p.dport, 17)
        hit = self.table.lookup.get(key)
        if hit is None:
            flow = self._new_flow(ts, key, self._client_is_src(p.sport, p.dport, 17), True)
            flow.state = "active"
            from_client = key == flow.client_key
        else:
            flow, from_client = hit
        flow.ts = flow.last_ts = ts
        flow.frame = self._frame
        payload = p.payload
        if from_client:
            flow.pkts_c += 1
            flow.bytes_c += len(payload)
            if not flow.client_mac:
                flow.client_mac, flow.server_mac, flow.vlan = p.src_mac, p.dst_mac, p.vlan
        else:
            flow.pkts_s += 1
            flow.bytes_s += len(payload)
            if not flow.server_mac:
                flow.server_mac, flow.client_mac, flow.vlan = p.src_mac, p.dst_mac, p.vlan
        if flow.session is None:
            if flow.guess or not self._detect(flow, payload, from_client):
                return
            return  # pending datagrams (this one included) were replayed by _detect
        try:
            flow.session.on_frame(payload, from_client)
        except Exception as exc:
            self._decoder_error(flow, exc, from_client)

    def _other(self, ts: float, p: Packet) -> None:
        """ICMP and other IP protocols: a flow per host pair and protocol, counters only."""
        key = (p.src, 0, p.dst, 0, p.proto)
        hit = self.table.lookup.get(key)
        if hit is None:
            flow = self._new_flow(ts, key, True, True)
            flow.state = "active"
            from_client = True
        else:
            flow, from_client = hit
        flow.ts = flow.last_ts = ts
        flow.frame = self._frame
        if from_client:
            flow.pkts_c += 1
            flow.bytes_c += len(p.payload)
            if not flow.client_mac:
                flow.client_mac, flow.server_mac, flow.vlan = p.src_mac, p.dst_mac, p.vlan
        else:
            flow.pkts_s += 1
            flow.bytes_s += len(p.payload)

    # -- application layer -----------------------------------------------------------------------
    def _detect(self, flow: Flow, data: bytes, from_client: bool, final: bool = False) -> bool:
        """Find the decoder for a flow; replays payloads kept while undecided. True if claimed.

        ``final``: the flow is ending, decide with what was seen."""
        reg = self.registry
        tcp = flow.proto == 6
        by_port = reg.tcp_ports if tcp else reg.udp_ports
        if data:
            flow.pending.append((from_client, data, flow.ts, flow.frame))
            flow.pending_bytes += len(data)
        cands = by_port.get(flow.server_port, []) + [
            s for s in by_port.get(flow.client_port, []) if s.name not in
            {c.name for c in by_port.get(flow.server_port, [])}]
        # What the flow has sent so far in this direction, for probes that need a few bytes.
        head = b"".join(d for fc, d, _, _ in flow.pending if fc == from_client)
        chosen: ProtocolSpec | None = None
        for spec in cands:
            if spec.probe is None or _safe_probe(spec, head, from_client):
                chosen = spec
                break
        if chosen is None:
            probers = reg.tcp_probers if tcp else reg.udp_probers
            for spec in probers:
                if spec not in cands and _safe_probe(spec, head, from_client):
                    chosen = spec
                    break
        if chosen is None:
            # Keep looking while little has been seen (tiny segments), within bounds.
            undecided = not final and flow.pending_bytes < _PROBE_BYTES and len(
                flow.pending) < 128 and (len(flow.pending) < _PROBE_PAYLOADS
                                         or flow.pending_bytes < 64)
            if undecided:
                return False
            chosen = next((s for s in cands if s.port_only_claim), None)
            if chosen is None:
                flow.guess = guess(flow.transport, flow.client_port, flow.server_port) or "unknown"
                flow.pending = []
                flow.pending_bytes = 0
                return False
        flow.spec = chosen
        try:
            flow.session = chosen.session_factory(flow)
        except Exception as exc:
            self._decoder_error(flow, exc, from_client)
            flow.guess = chosen.name
            return False
        pending, flow.pending, flow.pending_bytes = flow.pending, [], 0
        now_ts, now_frame = flow.ts, flow.frame
        for fc, d, ts, frame in pending:
            flow.ts, flow.frame = ts, frame  # events from held payloads keep their own packet
            if tcp:
                self._deliver(flow, d, fc)
            else:
                try:
                    flow.session.on_frame(d, fc)
                except Exception as exc:
                    self._decoder_error(flow, exc, fc)
        flow.ts, flow.frame = now_ts, now_frame
        return True

    def _deliver_items(self, flow: Flow, items: Iterable[bytes | int], from_client: bool) -> None:
        for it in items:
            if type(it) is int:
                self._gap(flow, it, from_client)
            else:
                assert isinstance(it, bytes)
                self._deliver(flow, it, from_client)

    def _gap(self, flow: Flow, size: int, from_client: bool) -> None:
        flow.anomaly("tcp.gap", f"{size} bytes missing from the stream", from_client)
        flow.bufs[0 if from_client else 1] = b""
        if flow.session is not None:
            try:
                flow.session.on_gap(from_client, size)
            except Exception as exc:
                self._decoder_error(flow, exc, from_client)
        elif flow.pending:
            # the stream head is broken: stop probing, keep the port's guess
            flow.pending = []
            flow.guess = guess(flow.transport, flow.client_port, flow.server_port) or "unknown"

    def _deliver(self, flow: Flow, data: bytes, from_client: bool) -> None:
        """In-order stream bytes of one direction to the flow's decoder."""
        session = flow.session
        if session is None:
            if flow.guess:
                return
            self._detect(flow, data, from_client)
            return  # _detect replays pending payloads (including this one) once it claims
        spec = flow.spec
        assert spec is not None
        frame_size = spec.frame_size
        try:
            if frame_size is None:
                session.on_data(data, from_client)
                return
            d = 0 if from_client else 1
            buf = flow.bufs[d]
            if buf:
                buf += data
            else:
                buf = data
            n = len(buf)
            pos = 0
            while pos < n:
                head = buf if pos == 0 else buf[pos:]
                try:
                    size = frame_size(head)
                except Malformed as m:
                    flow.anomaly(m.code, m.detail, from_client)
                    pos = n  # resynchronise at the next segment
                    break
                if size is None:
                    break
                if size <= 0 or size > self._max_frame:
                    flow.anomaly(f"{spec.name}.invalid_frame_size",
                                 f"unit length {size}", from_client)
                    pos = n
                    break
                if pos + size > n:
                    break
                session.on_frame(head if size == len(head) else head[:size], from_client)
                pos += size
            rest = buf[pos:] if pos < n else b""
            if len(rest) > self._max_buffer:
                flow.anomaly(f"{spec.name}.buffer_overflow",
                             f"{len(rest)} undecoded bytes dropped", from_client)
                rest = b""
            flow.bufs[d] = rest
        except Exception as exc:
            self._decoder_error(flow, exc, from_client)

    def _decoder_error(self, flow: Flow, exc: Exception, from_client: bool) -> None:
        flow.errors += 1
        flow.anomaly("internal.decoder_error", describe_bug(exc), from_client)
        if flow.errors >= _MAX_DECODER_ERRORS:
            flow.session = None
            flow.guess = flow.spec.name if flow.spec else "unknown"

    # -- housekeeping ----------------------------------------------------------------------------
    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.settings.sweep_interval
        for flow in self.table.idle(now):
            self._close(flow, "closed" if flow.closing else "idle_timeout")
        if len(self.frags):
            dropped = self.frags.expire(now)
            if dropped:
                self.emit(AnomalyEvent(ts=now, frame=self._frame, code="ip.fragment_timeout",
                                        detail=f"{dropped} incomplete datagrams dropped"))

    def _close(self, flow: Flow, reason: str) -> None:
        if flow.streams:
            for i, stream in enumerate(flow.streams):
                if stream.ooo:
                    self._ooo_total -= stream.ooo_bytes
                    self._deliver_items(flow, stream.flush(), i == 0)
        if flow.session is not None:
            try:
                flow.session.close()
            except Exception as exc:
                self._decoder_error(flow, exc, True)
        elif flow.pending and not flow.guess and self._detect(flow, b"", True, final=True):
            assert flow.session is not None
            try:
                flow.session.close()
            except Exception as exc:
                self._decoder_error(flow, exc, True)
        self.table.remove(flow)
        self.stats.flows_by_protocol[flow.protocol or flow.transport] += 1
        self.emit(flow.record(reason))

    def finish(self, reason: str = "end_of_input") -> None:
        """Close every flow (reporting unanswered requests and open streams)."""
        for flow in list(self.table.flows.values()):
            self._close(flow, reason)
        self._link.close()
        self.stats.last_ts = self._now


def _safe_probe(spec: ProtocolSpec, data: bytes, from_client: bool) -> bool:
    assert spec.probe is not None
    try:
        return bool(spec.probe(data, from_client))
    except Exception:
        return False


def run_capture(reader: Iterable[tuple[float, int, bytes]], engine: Engine) -> None:
    """Feed every frame of ``reader`` through ``engine`` (without finishing it)."""
    feed = engine.feed
    for ts, linktype, data in reader:
        feed(ts, linktype, data)


def feed_captures(engine: Engine, paths: Iterable[Path],
                  after: tuple[int, Callable[[], None]] | None = None) -> list[str]:
    """Feed capture files through ``engine`` in order (without finishing it). A capture cut
    short is analysed up to the cut, reported as a ``capture.truncated``/``capture.corrupt``
    anomaly event and as a message in the returned list.

    ``after=(n, call)``: ``call()`` once the first ``n`` packets (over all files) are in, e.g.
    to end a baseline's learning there; the packets after it run at full speed."""
    from otshield.capture import open_capture

    problems: list[str] = []
    left, call = after if after is not None and after[0] > 0 else (0, None)
    for path in paths:
        reader = open_capture(path)
        try:
            if call is not None:
                before = engine.stats.packets
                run_capture(islice(reader, left), engine)
                left -= engine.stats.packets - before
                if not left:
                    call()
                    call = None
            run_capture(reader, engine)
        finally:
            reader.close()
        if reader.error:
            engine.emit(AnomalyEvent(
                ts=engine.stats.last_ts, frame=engine.stats.packets,
                code="capture.truncated" if reader.truncated else "capture.corrupt",
                detail=f"{path}: {reader.error}"))
            problems.append(f"{path}: {reader.error}; the {reader.packets:,} packets before "
                            "that were analysed")
    return problems


def decode_file(path: Path | str, settings: Settings | None = None) -> list[Event]:
    """Every event for a capture file, in emission order (tests and small files)."""
    from otshield.capture import open_capture

    events: list[Event] = []
    engine = Engine(events.append, settings)
    reader = open_capture(Path(path))
    try:
        run_capture(reader, engine)
    finally:
        reader.close()
    engine.finish()
    if reader.error:
        events.append(AnomalyEvent(ts=engine.stats.last_ts, frame=engine.stats.packets,
                                   code="capture.truncated" if reader.truncated
                                   else "capture.corrupt", detail=reader.error))
    return events
