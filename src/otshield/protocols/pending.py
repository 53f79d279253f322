"""Requests awaiting their answer: the one piece of bookkeeping every request/response decoder
repeats. Pending requests live in an insertion-ordered dict (oldest first), so expiry stops at
the first entry young enough."""

from __future__ import annotations

from typing import Protocol, TypeVar

__all__ = ["Timed", "pop_expired"]


class Timed(Protocol):
    """A pending request: it knows the packet time it was sent at."""

    ts: float


K = TypeVar("K")
T = TypeVar("T", bound=Timed)


def pop_expired(pending: dict[K, T], before: float) -> list[T]:
    """Remove and return, oldest first, the requests sent before ``before`` (packet time)."""
    out: list[T] = []
    while pending:
        key = next(iter(pending))
        entry = pending[key]
        if entry.ts >= before:
            break
        del pending[key]
        out.append(entry)
    return out
