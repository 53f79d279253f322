"""Answers of the console's read endpoints, kept while the store's data does not change.

A SOC screen polls the same pages (the alert list with its filters, the overview, the
assets) every few seconds, from every analyst at once; between two changes of the store
they all get the same answer. :class:`ReadCache` keeps each answer with the store's data
version (:mod:`otshield.store.version`) read *before* it was computed: an answer is given
again only while the version is still that one, so a change committed by anyone (a triage
action, an ingestion job, another worker process, the command line) is seen by the next
request. It also:

- computes each answer once when many requests want it at the same moment (after a change,
  50 clients would otherwise all run the same query together): the others wait for it, in
  a thread (:meth:`ReadCache.get`) or on the event loop (:meth:`ReadCache.wait_for`);
- bounds what it holds (entries and bytes, least recently used first out) and how long
  (:attr:`otshield.store.version.DataVersion.max_age`);
- steps aside when the version is unknown (an in-memory database): every request computes.

What is cached is the answer to the query alone; who may ask is checked before, on every
request (the permission dependencies run first).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from otshield.store.version import DataVersion

__all__ = ["CacheStats", "ReadCache"]

T = TypeVar("T")


@dataclass(slots=True)
class _Entry:
    version: str
    made: float
    value: Any
    size: int


@dataclass(slots=True)
class _Flight:
    """One computation in progress, which other requests for the same key wait for: threads
    on ``done``, coroutines on a future of their event loop (``waiters``)."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    ok: bool = False
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list)

    def finish(self) -> None:
        """Called with the cache's lock held, so no waiter is added after this."""
        self.done.set()
        for loop, future in self.waiters:
            loop.call_soon_threadsafe(_resolve, future)
        self.waiters.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int


class ReadCache:
    """``get(key, compute)``: ``compute()``'s value, or the one kept for ``key`` while the
    store's data version has not changed."""

    def __init__(self, version: DataVersion, *, max_entries: int = 1024,
                 max_bytes: int = 64 * 1024 * 1024, wait_seconds: float = 30.0,
                 computing: int = 2) -> None:
        self._version = version
        self._computing = threading.BoundedSemaphore(computing)
        """At most this many computations at once: after a change every kept answer is
        computed again, and a dozen threads computing together would take the interpreter
        lock from the event loop, which meanwhile answers everything still kept."""
        self._local = threading.local()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._flights: dict[tuple[Hashable, str], _Flight] = {}
        self._bytes = 0
        self._hits = 0
        self._misses = 0

    def _current(self, auth: bool) -> str | None:
        return self._version.auth() if auth else self._version.current()

    def get(self, key: Hashable, compute: Callable[[], T], *,
            size: Callable[[T], int] | None = None,
            fresh: Callable[[T], bool] | None = None,
            keep: Callable[[T], bool] | None = None, auth: bool = False) -> T:
        """``size(value)``: bytes it holds (default 1 kB). ``fresh(value)``: may a kept value
        still be used (a deadline of its own)? ``keep(value)``: is a computed value worth
        keeping at all? ``auth``: the value depends on users, sessions and tokens only (kept
        while the auth generation is unchanged, not the whole store)."""
        version = self._current(auth)
        if version is None:
            return compute()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version \
                    and now - entry.made < self._version.max_age \
                    and (fresh is None or fresh(entry.value)):
                self._entries.move_to_end(key)
                self._hits += 1
                value: T = entry.value
                return value
            self._misses += 1
            flight = self._flights.get((key, version))
            leader = flight is None
            if flight is None:
                flight = self._flights[(key, version)] = _Flight()
        if not leader:
            if flight.done.wait(self._wait) and flight.ok:
                waited: T = flight.value
                return waited
            return compute()  # the computation failed or hangs: do it here
        try:
            if getattr(self._local, "computing", False):  # a computation inside one
                value = compute()
            else:
                with self._computing:
                    self._local.computing = True
                    try:
                        value = compute()
                    finally:
                        self._local.computing = False
            flight.value, flight.ok = value, True
        finally:
            with self._lock:
                self._flights.pop((key, version), None)
                if flight.ok and (keep is None or keep(flight.value)):
                    self._put(key, _Entry(version, now, flight.value,
                                          size(flight.value) if size else 1024))
                flight.finish()
        return value

    async def wait_for(self, key: Hashable, *, timeout: float = 30.0,
                       auth: bool = False) -> Any:
        """The value of ``key`` once a computation of it that is under way now ends (on the
        event loop, no thread held); None when none is under way, it failed, or it took
        longer than ``timeout``."""
        version = self._current(auth)
        if version is None:
            return None
        loop = asyncio.get_running_loop()
        with self._lock:
            flight = self._flights.get((key, version))
            if flight is None:
                return None
            future: asyncio.Future[None] = loop.create_future()
            flight.waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        return flight.value if flight.ok else None

    def versions(self) -> tuple[str | None, str | None]:
        """The data version and the auth generation now, in one read (for :meth:`peek`)."""
        return self._version.both()

    def peek(self, key: Hashable, *, fresh: Callable[[Any], bool] | None = None,
             auth: bool = False, version: str | None = None) -> Any:
        """The value kept for ``key`` if it is still current, else None (nothing computed).
        ``version``: the current version, when the caller has just read it
        (:meth:`versions`)."""
        if version is None:
            version = self._current(auth)
        if version is None:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version \
                    or now - entry.made >= self._version.max_age \
                    or (fresh is not None and not fresh(entry.value)):
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry.value

    def _put(self, key: Hashable, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if entry.size > self._max_bytes // 4:
            return  # one answer must not push out everything else
        self._entries[key] = entry
        self._bytes += entry.size
        while self._entries and (len(self._entries) > self._max_entries
                                 or self._bytes > self._max_bytes):
            _key, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self._bytes)
