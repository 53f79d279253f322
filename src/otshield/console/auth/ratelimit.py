"""Per-address rate limiting of sign-in attempts: a token bucket per client address, in memory.

The per-account lockout (stored in the users row, see :mod:`otshield.console.auth.service`) stops
guessing one account's password; this bucket stops one address spraying many accounts. It lives
in memory on purpose: it is cheap, and a restart forgets it, which costs an attacker a restart
they cannot cause. Memory is bounded: when the table is full, the buckets that have refilled (and
so carry no information) are dropped first, then the oldest.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["TokenBucketLimiter", "UnknownAccountFailures", "retry_after_header"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBucketLimiter:
    """``burst`` attempts at once, then one more every ``1 / rate`` seconds, per key."""

    def __init__(self, rate: float = 1 / 6, burst: int = 10, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate, burst and max_keys must be positive")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)

    def take(self, key: str, now: float | None = None) -> float | None:
        """Spend one attempt for ``key``: None when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = self._refilled(bucket, now)
            bucket.stamp = now
            self._buckets.move_to_end(key)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.rate

    def retry_after(self, key: str, now: float | None = None) -> float | None:
        """Like :meth:`take` without spending: None when an attempt would be allowed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return None
            tokens = self._refilled(bucket, now)
            return None if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def reset(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_keys:
            return
        full = [k for k, b in self._buckets.items() if self._refilled(b, now) >= self.burst]
        for k in full:
            del self._buckets[k]
        while len(self._buckets) >= self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header (whole seconds, at least 1) for a refusal."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


@dataclass(slots=True)
class _Failures:
    count: int
    locked_until: float


class UnknownAccountFailures:
    """Failed sign-ins for names that are not accounts, counted like real accounts' (which
    keep theirs in the users row): a locked-out answer must come for unknown names too, or the
    lockout itself would tell an attacker which names exist. In memory, bounded."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._entries: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def locked_for(self, name: str, now: float) -> float | None:
        """Seconds ``name`` stays locked, or None."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.locked_until <= now:
                return None
            return entry.locked_until - now

    def fail(self, name: str, now: float, attempts: int, lockout_seconds: float) -> float | None:
        """Count a failure; the lockout's length when this failure starts one, else None."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                if len(self._entries) >= self.max_keys:
                    self._entries.popitem(last=False)
                entry = self._entries[name] = _Failures(0, 0.0)
            self._entries.move_to_end(name)
            entry.count += 1
            if entry.count >= attempts:
                entry.count = 0
                entry.locked_until = now + lockout_seconds
                return lockout_seconds
            return None
