"""Per-direction TCP stream reassembly (RFC 9293 sequence space), bounded, gaps signalled.

The engine handles the common case itself (segment at the expected sequence number, nothing
buffered: deliver as is). Everything else comes here: retransmissions and overlaps are trimmed,
out-of-order segments are held up to a byte limit, and when a hole can no longer be filled (limit
reached, the peer acknowledged past it, or the flow ends) it is reported as a gap of N bytes and
delivery goes on after it. Overlapping bytes that disagree with held bytes are reported: that is
what TCP evasion looks like.
"""

from __future__ import annotations

__all__ = ["StreamItem", "TcpStream"]

MASK = 0xFFFFFFFF
HALF = 0x80000000

StreamItem = bytes | int
"""Delivered in order: bytes are stream data, an int is a gap of that many lost bytes."""


class TcpStream:
    """One direction of a TCP connection."""

    __slots__ = ("gaps", "next_seq", "ooo", "ooo_bytes", "overlap_mismatch")

    def __init__(self) -> None:
        self.next_seq = -1  # unknown until the SYN or the first data segment
        self.ooo: dict[int, bytes] = {}  # absolute seq -> data held out of order
        self.ooo_bytes = 0
        self.gaps = 0
        self.overlap_mismatch = False  # set when held bytes disagreed with a retransmission

    def add(self, seq: int, data: bytes, limit: int) -> list[StreamItem]:
        """Take one segment that is not simply the next in order; return what can be delivered."""
        out: list[StreamItem] = []
        if self.next_seq < 0:
            self.next_seq = seq
        diff = (seq - self.next_seq) & MASK
        if diff >= HALF:
            # Starts before what we already delivered: retransmission or overlap; keep the new tail.
            old = MASK + 1 - diff
            if old >= len(data):
                return out
            data = data[old:]
            seq = self.next_seq
            diff = 0
        if diff == 0:
            out.append(data)
            self.next_seq = (seq + len(data)) & MASK
            self._drain(out)
            return out
        held = self.ooo.get(seq)
        if held is not None:
            common = min(len(held), len(data))
            if held[:common] != data[:common]:
                self.overlap_mismatch = True
            if len(held) >= len(data):
                return out
            self.ooo_bytes -= len(held)
        self.ooo[seq] = data
        self.ooo_bytes += len(data)
        while self.ooo_bytes > limit:
            self.skip_hole(out)
        return out

    def ack_beyond(self, ack: int, out: list[StreamItem]) -> None:
        """The peer acknowledged ``ack``: bytes before it that we never saw are lost for good."""
        if self.next_seq < 0 or not self.ooo:
            return
        if 0 < (ack - self.next_seq) & MASK < HALF:
            first = min(self.ooo, key=lambda s: (s - self.next_seq) & MASK)
            if (ack - first) & MASK < HALF:  # the ack covers the start of held data
                self.skip_hole(out)

    def skip_hole(self, out: list[StreamItem]) -> None:
        """Declare the hole before the earliest held segment lost, deliver from there."""
        if not self.ooo:
            return
        first = min(self.ooo, key=lambda s: (s - self.next_seq) & MASK)
        gap = (first - self.next_seq) & MASK
        if gap:
            out.append(gap)
            self.gaps += 1
        self.next_seq = first
        self._drain(out)

    def flush(self) -> list[StreamItem]:
        """End of flow: everything held is delivered after the gaps in front of it."""
        out: list[StreamItem] = []
        while self.ooo:
            self.skip_hole(out)
        return out

    def _drain(self, out: list[StreamItem]) -> None:
        ooo = self.ooo
        while ooo:
            nxt = self.next_seq
            data = ooo.pop(nxt, None)
            if data is None:
                # A held segment may start before next_seq (overlap): trim it.
                trimmed = False
                for s in list(ooo):
                    d = (nxt - s) & MASK
                    if d < HALF:
                        seg = ooo.pop(s)
                        self.ooo_bytes -= len(seg)
                        if d < len(seg):
                            ooo[nxt] = seg[d:]
                            self.ooo_bytes += len(seg) - d
                        trimmed = True
                if not trimmed or nxt not in ooo:
                    return
                continue
            self.ooo_bytes -= len(data)
            out.append(data)
            self.next_seq = (nxt + len(data)) & MASK
