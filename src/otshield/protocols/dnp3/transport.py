"""DNP3 transport function (IEEE 1815-2012 clause 8): reassembly of application fragments from the
segments carried by link frames.

Each link user-data frame starts with one transport header octet: FIN (bit 7, last segment),
FIR (bit 6, first segment), SEQ (bits 5-0, incremented modulo 64 per segment). Receiver
rules: a FIR segment starts a new fragment and discards any unfinished one; a non-FIR segment
must carry the next sequence number of the fragment in progress, otherwise the fragment is
discarded; a repeated segment (same sequence number and content: a link-layer retry) is ignored.

Fragments are reassembled per (direction, link source, link destination). State is bounded: at
most ``max_contexts`` fragments in progress per flow and ``max_fragment`` octets each; hitting
either limit is reported, never silent.
"""

from __future__ import annotations

from otshield.protocols.dnp3.constants import MAX_FRAGMENT_SIZE, MAX_REASSEMBLIES

__all__ = ["Reassembler", "ReassemblyKey"]

ReassemblyKey = tuple[bool, int, int]
"""(from_client, link source address, link destination address)."""
Problem = tuple[str, str]
_NONE: tuple[Problem, ...] = ()


class _Context:
    __slots__ = ("buf", "discarding", "last_payload", "last_seq", "segments")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.segments = 0
        self.last_seq = 0
        self.last_payload = b""
        self.discarding = False
        """The current fragment was dropped (already reported): ignore its other segments."""


class Reassembler:
    """Transport reassembly for one flow."""

    __slots__ = ("_contexts", "max_contexts", "max_fragment")

    def __init__(self, max_fragment: int = MAX_FRAGMENT_SIZE,
                 max_contexts: int = MAX_REASSEMBLIES) -> None:
        self.max_fragment = max_fragment
        self.max_contexts = max_contexts
        self._contexts: dict[ReassemblyKey, _Context] = {}

    def push(self, key: ReassemblyKey, segment: bytes
             ) -> tuple[bytes | None, int, tuple[Problem, ...]]:
        """Add one transport segment (header octet + payload). Returns the completed fragment
        (or None), the number of segments it was made of, and problems found on the way."""
        header = segment[0]
        seq = header & 0x3F
        fir = header & 0x40
        fin = header & 0x80
        ctx = self._contexts.get(key)
        problems = _NONE
        if fir:
            if ctx is not None:
                if ctx.buf:
                    problems = (("dnp3.incomplete_fragment",
                                 f"first segment (seq {seq}) while {ctx.segments} segment(s), "
                                 f"{len(ctx.buf)} octets, of a fragment were pending: the "
                                 "unfinished fragment is discarded"),)
                if fin:
                    del self._contexts[key]
            if fin:
                # The common case: a fragment in a single segment, no copy.
                payload = segment[1:]
                if len(payload) > self.max_fragment:
                    return None, 0, (*problems, self._too_large(len(payload)))
                return payload, 1, problems
            if ctx is None:
                problems = (*problems, *self._make_room(key))
                ctx = self._contexts[key] = _Context()
            ctx.buf[:] = segment[1:]
            ctx.segments = 1
            ctx.last_seq = seq
            ctx.last_payload = segment
            ctx.discarding = False
            if len(ctx.buf) > self.max_fragment:
                return None, 0, (*problems, self._discard(ctx, self._too_large(len(ctx.buf))))
            return None, 0, problems
        if ctx is None or not ctx.buf:
            if ctx is not None and ctx.discarding:
                return None, 0, _NONE
            return None, 0, (("dnp3.transport_sequence",
                              f"segment seq {seq} without a first segment (FIR): discarded"),)
        if seq != (ctx.last_seq + 1) & 0x3F:
            if seq == ctx.last_seq and segment == ctx.last_payload:
                return None, 0, _NONE  # a repeated segment (link retry): ignored
            expected = (ctx.last_seq + 1) & 0x3F
            return None, 0, (self._discard(ctx, (
                "dnp3.transport_sequence",
                f"segment seq {seq} where {expected} was expected: fragment of "
                f"{ctx.segments} segment(s) discarded")),)
        ctx.buf += segment[1:]
        ctx.segments += 1
        ctx.last_seq = seq
        ctx.last_payload = segment
        if len(ctx.buf) > self.max_fragment:
            return None, 0, (self._discard(ctx, self._too_large(len(ctx.buf))),)
        if fin:
            fragment = bytes(ctx.buf)
            segments = ctx.segments
            del self._contexts[key]
            return fragment, segments, _NONE
        return None, 0, _NONE

    def _too_large(self, size: int) -> Problem:
        return ("dnp3.fragment_too_large",
                f"application fragment exceeds {self.max_fragment} octets ({size} so far): "
                "discarded")

    @staticmethod
    def _discard(ctx: _Context, problem: Problem) -> Problem:
        ctx.buf.clear()
        ctx.segments = 0
        ctx.discarding = True
        return problem

    def _make_room(self, key: ReassemblyKey) -> tuple[Problem, ...]:
        if len(self._contexts) < self.max_contexts:
            return _NONE
        # Evict the oldest context (dicts keep insertion order).
        old_key = next(iter(self._contexts))
        old = self._contexts.pop(old_key)
        if not old.buf:
            return _NONE
        return (("dnp3.too_many_pending",
                 f"more than {self.max_contexts} fragments in reassembly: the oldest "
                 f"(link {old_key[1]} -> {old_key[2]}, {len(old.buf)} octets) is discarded"),)

    def drop(self, from_client: bool | None = None) -> list[tuple[ReassemblyKey, int]]:
        """Forget fragments in progress (one direction, or all); returns (key, octets) of those
        that held data, for reporting."""
        lost = []
        for key in list(self._contexts):
            if from_client is None or key[0] == from_client:
                ctx = self._contexts.pop(key)
                if ctx.buf:
                    lost.append((key, len(ctx.buf)))
        return lost

    def __len__(self) -> int:
        return len(self._contexts)
