"""Write captures: the project's own fixtures, demo data and (later) extracted evidence.

Builds protocol-correct Ethernet/IPv4/TCP/UDP frames with valid checksums and whole TCP
conversations (handshake, sequence numbers, acknowledgements, teardown), so tshark dissects them
without complaint. Deterministic: the same calls give the same bytes.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import BinaryIO, Protocol

__all__ = [
    "LINKTYPE_ETHERNET",
    "FrameSink",
    "PcapWriter",
    "PcapngWriter",
    "TcpConversation",
    "ethernet",
    "ipv4",
    "mac_bytes",
    "tcp_segment",
    "udp_datagram",
]

LINKTYPE_ETHERNET = 1
_TCP_FIN, _TCP_SYN, _TCP_RST, _TCP_PSH, _TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac_bytes(mac: str) -> bytes:
    """``"00:11:22:33:44:55"`` -> 6 bytes."""
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(src_mac: str, dst_mac: str, ethertype: int, payload: bytes,
             vlan: int | None = None) -> bytes:
    """An Ethernet II frame, optionally 802.1Q tagged."""
    head = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        head += struct.pack("!HH", 0x8100, vlan & 0x0FFF)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0, ttl: int = 64,
         flags_frag: int = 0x4000) -> bytes:
    """An IPv4 packet with a correct header checksum (DF set by default)."""
    s, d = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, flags_frag,
                         ttl, proto, 0, s, d)
    csum = _checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
            + struct.pack("!BBH", 0, proto, length))


def tcp_segment(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
                payload: bytes = b"", window: int = 64240) -> bytes:
    """A TCP segment (no options) with a correct checksum over the IPv4 pseudo-header."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                         flags, window, 0, 0)
    csum = _checksum(_pseudo(src, dst, 6, len(header) + len(payload)) + header + payload)
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP datagram with a correct checksum."""
    length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    csum = _checksum(_pseudo(src, dst, 17, length) + header + payload) or 0xFFFF
    return header[:6] + struct.pack("!H", csum) + payload


class FrameSink(Protocol):
    """Anything frames can be written to: a capture writer, or the simulator's reorder buffer."""

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None: ...


class PcapWriter:
    """Classic pcap writer (little-endian, micro- or nanosecond timestamps)."""

    def __init__(self, fh: BinaryIO, linktype: int = LINKTYPE_ETHERNET, nanosecond: bool = False,
                 snaplen: int = 262144) -> None:
        self._fh = fh
        self._nano = nanosecond
        magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
        fh.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.count = 0

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        """Append one frame captured at packet time ``ts`` (epoch seconds)."""
        sec = int(ts)
        frac = round((ts - sec) * (1_000_000_000 if self._nano else 1_000_000))
        self._fh.write(struct.pack("<IIII", sec, frac, len(frame),
                                   len(frame) if orig_len is None else orig_len))
        self._fh.write(frame)
        self.count += 1

    def write_batch(self, frames: Sequence[tuple[float, bytes]]) -> None:
        """Append many frames with one write (how the simulator keeps up a million packets)."""
        scale = 1_000_000_000 if self._nano else 1_000_000
        pack = struct.pack
        parts: list[bytes] = []
        for ts, frame in frames:
            sec = int(ts)
            n = len(frame)
            parts.append(pack("<IIII", sec, round((ts - sec) * scale), n, n))
            parts.append(frame)
        self._fh.write(b"".join(parts))
        self.count += len(frames)

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._fh.flush()


class PcapngWriter:
    """pcapng writer: a section header, one Ethernet interface (microsecond timestamps, the
    pcapng default), and an enhanced packet block per frame (pcapng draft, sections 4.1-4.3)."""

    def __init__(self, fh: BinaryIO, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144,
                 application: str = "otshield") -> None:
        self._fh = fh
        # SHB: byte-order magic, version 1.0, section length unknown (-1), shb_userappl option.
        app = application.encode()
        opts = (struct.pack("<HH", 4, len(app)) + app + bytes(-len(app) % 4)
                + struct.pack("<HH", 0, 0))
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts
        fh.write(struct.pack("<II", 0x0A0D0D0A, 12 + len(body)) + body
                 + struct.pack("<I", 12 + len(body)))
        idb = struct.pack("<HHI", linktype, 0, snaplen)
        fh.write(struct.pack("<II", 1, 12 + len(idb)) + idb + struct.pack("<I", 12 + len(idb)))
        self.count = 0

    def _block(self, ts: float, frame: bytes, orig_len: int | None) -> bytes:
        micros = round(ts * 1_000_000)
        n = len(frame)
        total = 32 + n + (-n % 4)
        return b"".join((struct.pack("<IIIIIII", 6, total, 0, micros >> 32, micros & 0xFFFFFFFF,
                                     n, n if orig_len is None else orig_len),
                         frame, bytes(-n % 4), struct.pack("<I", total)))

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        """Append one frame captured at packet time ``ts`` (epoch seconds)."""
        self._fh.write(self._block(ts, frame, orig_len))
        self.count += 1

    def write_batch(self, frames: Sequence[tuple[float, bytes]]) -> None:
        """Append many frames with one write."""
        self._fh.write(b"".join(self._block(ts, frame, None) for ts, frame in frames))
        self.count += len(frames)

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._fh.flush()


class TcpConversation:
    """One TCP connection between a client and a server, written frame by frame.

    ``send(from_client, payload, segments=...)`` splits the payload into the given segment sizes
    (to exercise reassembly) and acknowledges it from the other side."""

    def __init__(self, writer: FrameSink, client: tuple[str, int], server: tuple[str, int],
                 client_mac: str = "02:00:00:00:00:01", server_mac: str = "02:00:00:00:00:02",
                 start: float = 1_700_000_000.0, isn: tuple[int, int] = (1000, 5000),
                 vlan: int | None = None) -> None:
        self.w = writer
        self.client, self.server = client, server
        self.macs = (client_mac, server_mac)
        self.ts = start
        self.seq = [isn[0], isn[1]]  # next sequence number to send: client, server
        self.vlan = vlan
        self._ident = [1, 1]

    def _emit(self, from_client: bool, flags: int, payload: bytes = b"", seq: int | None = None,
              step: float = 0.0005) -> None:
        i = 0 if from_client else 1
        (sip, sport), (dip, dport) = ((self.client, self.server) if from_client
                                      else (self.server, self.client))
        s = self.seq[i] if seq is None else seq
        ack = self.seq[1 - i] if flags & _TCP_ACK else 0
        seg = tcp_segment(sip, dip, sport, dport, s, ack, flags, payload)
        pkt = ipv4(sip, dip, 6, seg, ident=self._ident[i])
        self._ident[i] += 1
        src_mac, dst_mac = self.macs if from_client else self.macs[::-1]
        self.w.write(self.ts, ethernet(src_mac, dst_mac, 0x0800, pkt, self.vlan))
        self.ts += step

    def handshake(self) -> TcpConversation:
        self._emit(True, _TCP_SYN)
        self.seq[0] += 1
        self._emit(False, _TCP_SYN | _TCP_ACK)
        self.seq[1] += 1
        self._emit(True, _TCP_ACK)
        return self

    def send(self, from_client: bool, payload: bytes, segments: Sequence[int] | None = None,
             ack: bool = True, gap_after: float = 0.001) -> TcpConversation:
        """Send ``payload`` (split at ``segments`` sizes if given), then an ACK from the peer."""
        i = 0 if from_client else 1
        for part in _split(payload, segments):
            self._emit(from_client, _TCP_PSH | _TCP_ACK, part)
            self.seq[i] += len(part)
        if ack:
            self._emit(not from_client, _TCP_ACK)
        self.ts += gap_after
        return self

    def send_raw(self, from_client: bool, payload: bytes, seq_offset: int) -> TcpConversation:
        """Send bytes at ``next_seq + seq_offset`` without advancing: out-of-order, retransmission
        and overlap cases for reassembly tests."""
        i = 0 if from_client else 1
        self._emit(from_client, _TCP_PSH | _TCP_ACK, payload, seq=self.seq[i] + seq_offset)
        return self

    def advance(self, from_client: bool, n: int) -> TcpConversation:
        """Move the next sequence number on by ``n`` (after ``send_raw`` filled the bytes)."""
        self.seq[0 if from_client else 1] += n
        return self

    def close(self) -> TcpConversation:
        self._emit(True, _TCP_FIN | _TCP_ACK)
        self.seq[0] += 1
        self._emit(False, _TCP_FIN | _TCP_ACK)
        self.seq[1] += 1
        self._emit(True, _TCP_ACK)
        return self


def _split(payload: bytes, segments: Sequence[int] | None) -> Iterable[bytes]:
    if not segments:
        yield payload
        return
    pos = 0
    for size in segments:
        if pos >= len(payload):
            return
        yield payload[pos:pos + size]
        pos += size
    if pos < len(payload):
        yield payload[pos:]
