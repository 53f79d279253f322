"""Fast frames for the simulator: Ethernet/IPv4/TCP/UDP with header templates, and the
time-ordered output (a bounded reorder buffer in front of a pcap or pcapng writer).

Why not :func:`otshield.pcapwriter.tcp_segment` for everything: a million-packet capture in
under a minute leaves about 50 microseconds a packet for the whole simulator. Here each
direction of a conversation keeps its Ethernet header, its addresses and the one's-complement
sum of the constant header words; a packet adds only what varies (sequence numbers, flags,
lengths, identification) and the sum of its payload, which ``memoryview.cast("H")`` adds up in C.
The one's-complement sum is independent of byte order (RFC 1071, section 2 (B)): the payload is
summed in the machine's order and the folded result byte-swapped when needed.

Frames are produced by independent actors (every polling pattern, the scenario) whose packets
interleave in time; :class:`OrderedOutput` keeps them in a heap and writes a frame once the
scheduler has moved past its time (nothing later can come before it), in batches. Memory stays
flat: only the frames of the last moments are held.
"""

from __future__ import annotations

import heapq
import socket
import struct
import sys
from collections.abc import Callable

from otshield.pcapwriter import PcapngWriter, PcapWriter, TcpConversation, mac_bytes

__all__ = ["ACK", "FIN", "PSH", "RST", "SYN", "Conversation", "Direction", "OrderedOutput",
           "ip_bytes", "udp_frame"]

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_LITTLE = sys.byteorder == "little"
_WINDOW = 64240
_pack_tcp = struct.Struct("!HHIIHHHH").pack
_pack_ip = struct.Struct("!BBHHHBBH").pack
_pack_udp = struct.Struct("!HHHH").pack


def ip_bytes(addr: str) -> bytes:
    return socket.inet_aton(addr)


def _sum_be(data: bytes) -> int:
    """One's-complement sum of ``data`` as big-endian 16-bit words, folded to 16 bits."""
    if len(data) & 1:
        data += b"\0"
    total = sum(memoryview(data).cast("H"))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ((total & 0xFF) << 8 | total >> 8) if _LITTLE else total


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _words(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


class Direction:
    """One direction of an IPv4 conversation: the constant parts of every frame it sends."""

    __slots__ = ("dport", "dst", "eth", "ip_sum", "l4_sum", "sport", "src", "ttl")

    def __init__(self, src_ip: str, dst_ip: str, src_mac: str, dst_mac: str, proto: int,
                 sport: int, dport: int, ttl: int = 64) -> None:
        self.src, self.dst = ip_bytes(src_ip), ip_bytes(dst_ip)
        self.eth = mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00"
        self.sport, self.dport, self.ttl = sport, dport, ttl
        addr = _words(self.src + self.dst)
        # IPv4 header words that never change: version/IHL/TOS, flags (DF), TTL/protocol.
        self.ip_sum = 0x4500 + 0x4000 + (ttl << 8 | proto) + addr
        # Pseudo-header (addresses, protocol) and the ports.
        self.l4_sum = addr + proto + sport + dport

    def _ip(self, proto: int, length: int, ident: int) -> bytes:
        csum = ~_fold(self.ip_sum + length + ident) & 0xFFFF
        return _pack_ip(0x45, 0, length, ident, 0x4000, self.ttl, proto, csum) + self.src + \
            self.dst

    def tcp(self, seq: int, ack: int, flags: int, payload: bytes, ident: int) -> bytes:
        n = 20 + len(payload)
        seq &= 0xFFFFFFFF
        ack &= 0xFFFFFFFF
        total = (self.l4_sum + n + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
                 + (0x5000 | flags) + _WINDOW)
        if payload:
            total += _sum_be(payload)
        csum = ~_fold(total) & 0xFFFF
        return (self.eth + self._ip(6, 20 + n, ident & 0xFFFF)
                + _pack_tcp(self.sport, self.dport, seq, ack, 0x5000 | flags, _WINDOW, csum, 0)
                + payload)

    def udp(self, payload: bytes, ident: int) -> bytes:
        n = 8 + len(payload)
        total = self.l4_sum + n + n + (_sum_be(payload) if payload else 0)
        csum = (~_fold(total) & 0xFFFF) or 0xFFFF
        return (self.eth + self._ip(17, 20 + n, ident & 0xFFFF)
                + _pack_udp(self.sport, self.dport, n, csum) + payload)


def udp_frame(src_ip: str, src_mac: str, dst_ip: str, dst_mac: str, sport: int, dport: int,
              payload: bytes, ident: int = 0) -> bytes:
    """One UDP datagram in an Ethernet frame (no template kept)."""
    return Direction(src_ip, dst_ip, src_mac, dst_mac, 17, sport, dport).udp(payload, ident)


class Conversation(TcpConversation):
    """A :class:`TcpConversation` whose frames come from :class:`Direction` templates.

    Same interface and the same bytes as the reference implementation (checked by a test);
    the simulator's polling keeps these open for hours of plant time. With ``clock`` (the
    simulator's plant time) a packet is never stamped before the present: a connection left
    idle while plant time went on sends its next packet now."""

    def __init__(self, sink: OrderedOutput, client: tuple[str, int], server: tuple[str, int],
                 client_mac: str, server_mac: str, start: float, isn: tuple[int, int],
                 ident: tuple[int, int] = (1, 1),
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__(sink, client, server, client_mac, server_mac, start, isn)
        self._clock = clock
        self._dirs = (Direction(client[0], server[0], client_mac, server_mac, 6, client[1],
                                server[1]),
                      Direction(server[0], client[0], server_mac, client_mac, 6, server[1],
                                client[1]))
        self._ident = [ident[0], ident[1]]
        self._sink = sink

    def _emit(self, from_client: bool, flags: int, payload: bytes = b"", seq: int | None = None,
              step: float = 0.0005) -> None:
        if self._clock is not None:  # a connection idle for a while sends its next packet now
            now = self._clock()
            if self.ts < now:
                self.ts = now
        i = 0 if from_client else 1
        s = self.seq[i] if seq is None else seq
        ack = self.seq[1 - i] if flags & ACK else 0
        frame = self._dirs[i].tcp(s, ack, flags, payload, self._ident[i])
        self._ident[i] += 1
        self._sink.write(self.ts, frame)
        self.ts += step

    def exchange(self, request: bytes, response: bytes, latency: float) -> None:
        """A request, the server's answer ``latency`` seconds later (acknowledging it), and
        the client's acknowledgement: one polling transaction."""
        self.send(True, request, ack=False, gap_after=0.0)
        self.ts += latency
        self.send(False, response, gap_after=0.0)

    def reset(self, from_client: bool) -> None:
        """Abort the connection with a RST (a peer gone away)."""
        self._emit(from_client, RST | ACK)


class OrderedOutput:
    """Frames in, written in time order: a heap released up to the scheduler's clock.

    ``label`` is called for every frame as it is written (frame number, time, the tag it was
    written with): the simulator turns the tags into ground truth."""

    def __init__(self, writer: PcapWriter | PcapngWriter,
                 label: Callable[[int, float, int], None] | None = None,
                 limit: int | None = None, batch: int = 4096) -> None:
        self._writer = writer
        self._heap: list[tuple[float, int, bytes, int]] = []
        self._seq = 0
        self.label = label
        self._batch: list[tuple[float, bytes]] = []
        self._batch_size = batch
        self.tag = 0
        """Tag of the frames written now (0: none; the simulator sets the stage index)."""
        self.written = 0
        self.limit = limit
        self.last_ts = 0.0

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (ts, self._seq, frame, self.tag))

    @property
    def full(self) -> bool:
        """The packet budget is spent (``limit`` frames written)."""
        return self.limit is not None and self.written >= self.limit

    def release(self, until: float) -> None:
        """Write every frame stamped before ``until`` (nothing earlier can arrive any more)."""
        heap, batch = self._heap, self._batch
        label = self.label
        while heap and heap[0][0] < until:
            if self.limit is not None and self.written >= self.limit:
                heap.clear()
                break
            ts, _, frame, tag = heapq.heappop(heap)
            ts = max(ts, self.last_ts)  # a frame stamped in the past is written now
            self.last_ts = ts
            batch.append((ts, frame))
            self.written += 1
            if tag and label is not None:
                label(self.written, ts, tag)
            if len(batch) >= self._batch_size:
                self._writer.write_batch(batch)
                batch.clear()

    def close(self) -> None:
        """Write everything still held."""
        self.release(float("inf"))
        if self._batch:
            self._writer.write_batch(self._batch)
            self._batch.clear()

    @property
    def pending(self) -> int:
        return len(self._heap)
