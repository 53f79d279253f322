"""IPv4 and IPv6 fragment reassembly (RFC 791 section 3.2, RFC 8200 section 4.5), bounded.

Overlapping fragments are reported (they are how IDS evasion and teardrop-style attacks look);
when overlapping bytes disagree the first-arrived bytes win (the BSD policy would differ; we
report the mismatch rather than guess the target's policy).
"""

from __future__ import annotations

from otshield.config import Settings

__all__ = ["FragmentReassembler"]

FragKey = tuple[int, bytes, bytes, int, int]


class _Train:
    __slots__ = ("first_ts", "parts", "size", "total")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.parts: dict[int, bytes] = {}
        self.total = -1  # known once the last fragment (MF clear) arrived
        self.size = 0


class FragmentReassembler:
    """Collects fragments per (version, src, dst, id, proto); returns the datagram when whole."""

    def __init__(self, settings: Settings) -> None:
        self._trains: dict[FragKey, _Train] = {}
        self._max = settings.max_fragment_trains
        self._timeout = settings.fragment_timeout
        self._max_bytes = settings.max_fragment_bytes
        self.anomalies: list[str] = []
        """Anomaly codes found by the last ``add`` call (read and cleared by the engine)."""

    def add(self, key: FragKey, ts: float, offset: int, more: bool, data: bytes) -> bytes | None:
        """Add one fragment; ``offset`` in bytes. Returns the reassembled payload or None."""
        self.anomalies.clear()
        train = self._trains.get(key)
        if train is None:
            if len(self._trains) >= self._max:
                self.expire(ts, force=True)
            train = self._trains[key] = _Train(ts)
        end = offset + len(data)
        if end > self._max_bytes:
            self.anomalies.append("ip.fragment_too_large")
            del self._trains[key]
            return None
        if not more:
            if train.total >= 0 and train.total != end:
                self.anomalies.append("ip.fragment_inconsistent_end")
            train.total = end
        elif len(data) % 8:
            self.anomalies.append("ip.fragment_bad_size")
        for o, d in train.parts.items():
            if o < end and offset < o + len(d):
                self.anomalies.append("ip.fragment_overlap")
                lo, hi = max(o, offset), min(o + len(d), end)
                if d[lo - o:hi - o] != data[lo - offset:hi - offset]:
                    self.anomalies.append("ip.fragment_overlap_mismatch")
                break
        if offset not in train.parts or len(train.parts[offset]) < len(data):
            train.parts[offset] = data
        if train.total < 0:
            return None
        buf = bytearray(train.total)
        covered = 0
        for o in sorted(train.parts):
            d = train.parts[o]
            if o > covered:
                return None  # still a hole
            new_end = min(o + len(d), train.total)
            if new_end > covered:
                # first-arrived wins for overlaps: only fill bytes not yet covered
                buf[covered:new_end] = d[covered - o:new_end - o]
                covered = new_end
        if covered < train.total:
            return None
        del self._trains[key]
        return bytes(buf)

    def expire(self, now: float, force: bool = False) -> int:
        """Drop trains older than the timeout (or the oldest half when ``force``); returns count."""
        if force:
            victims = sorted(self._trains, key=lambda k: self._trains[k].first_ts)
            victims = victims[: max(1, len(victims) // 2)]
        else:
            cutoff = now - self._timeout
            victims = [k for k, t in self._trains.items() if t.first_ts < cutoff]
        for k in victims:
            del self._trains[k]
        return len(victims)

    def __len__(self) -> int:
        return len(self._trains)
