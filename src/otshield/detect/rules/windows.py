"""Bounded state of stateful rules: per-key sliding windows (thresholds) and per-asset pending
steps (sequences).

Both are keyed by values seen on the wire (addresses, unit ids), so both are capped: past
``max_keys`` keys the least recently touched one is dropped (an ``OrderedDict`` moved to the end
on each touch) and the drop is counted, so a scan of a /16 costs bounded memory and is reported
rather than silently absorbed. Windows keep at most ``count`` timestamps (or ``count`` distinct
values) per key: that is all "at least ``count`` within ``window``" needs. The engine counts
through :meth:`ThresholdWindows.adder`, the same arithmetic specialised for events in time
order (nearly all), with :meth:`ThresholdWindows.add` as the reference (and the path of late
events).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Chain", "SequenceSteps", "ThresholdWindows"]

MAX_EVIDENCE = 3
"""Events kept per window as the alert's evidence (the first ones of the window)."""


_MANY = (list, tuple, set, frozenset)
"""Distinct values given as a collection (a field crossing a list)."""


class _Window:
    __slots__ = ("evidence", "last_fire", "newest", "times", "values")

    def __init__(self, count: int, distinct: bool) -> None:
        self.times: deque[float] = deque(maxlen=count)
        """The newest ``count`` times, in time order."""
        self.newest = float("-inf")
        self.values: OrderedDict[Any, float] | None = OrderedDict() if distinct else None
        self.evidence: list[tuple[float, Any]] = []
        self.last_fire = float("-inf")


class ThresholdWindows:
    """Sliding windows of one threshold rule. :meth:`add` returns the evidence and the counts
    when the threshold is crossed and the key has not fired within the last window.

    ``on_evict`` (when given) hears the event whose new key pushed the least recently touched
    one out (the engine reports the state limit from it)."""

    def __init__(self, window: float, count: int, distinct: bool, max_keys: int,
                 on_evict: Callable[[Any], None] | None = None) -> None:
        self.window = window
        self.count = count
        self.distinct = distinct
        self.max_keys = max(1, max_keys)
        self.evicted = 0
        self.on_evict = on_evict
        self._keys: OrderedDict[Hashable, _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        self._keys.clear()

    def _get(self, key: Hashable, event: Any = None) -> _Window:
        keys = self._keys
        win = keys.get(key)
        if win is None:
            if len(keys) >= self.max_keys:
                keys.popitem(last=False)
                self.evicted += 1
                if self.on_evict is not None:
                    self.on_evict(event)
            win = keys[key] = _Window(self.count, self.distinct)
        else:
            keys.move_to_end(key)
        return win

    def add(self, key: Hashable, ts: float, event: Any, value: Any = None
            ) -> tuple[list[Any], int, int] | None:
        """Count ``event`` (and, for distinct thresholds, its ``value``: one, or a list of
        several) under ``key``.

        Returns (evidence events, events in window, distinct values in window) when it fires."""
        keys = self._keys
        win = keys.get(key)
        if win is None:
            win = self._get(key, event)
        else:
            keys.move_to_end(key)
        return self._update(win, ts, event, value)

    def _update(self, win: _Window, ts: float, event: Any, value: Any
                ) -> tuple[list[Any], int, int] | None:
        # Events mostly come in time order, but not always: flows still open at the end of
        # the input are reported together, in table order. The window is anchored on the
        # newest time seen for the key, and an event older than that window does not count.
        times = win.times
        if ts >= win.newest:
            win.newest = ts
            times.append(ts)
        else:
            if ts < win.newest - self.window:
                return None
            ordered = sorted((*times, ts))[-self.count:]
            times.clear()
            times.extend(ordered)
        start = win.newest - self.window
        while times[0] < start:
            times.popleft()
        evidence = win.evidence
        if evidence[0][0] < start if evidence else False:
            evidence[:] = [pair for pair in evidence if pair[0] >= start]
        if len(evidence) < MAX_EVIDENCE:
            evidence.append((ts, event))
        distinct = 0
        if win.values is not None:
            distinct = _seen_in_window(win.values, value, ts, start, self.count)
            crossed = distinct >= self.count
        else:
            crossed = len(times) >= self.count
        if not crossed or ts - win.last_fire < self.window:
            return None
        win.last_fire = ts
        return [e for _, e in evidence], len(times), distinct

    def adder(self) -> Callable[[Hashable, float, Any, Any], tuple[list[Any], int, int] | None]:
        """:meth:`add` for the hot path: the same results, with the common case (an event no
        older than the newest of its key: nearly all of them) inlined in one function over
        local names. An event arriving out of time order takes :meth:`add`'s own path."""
        keys = self._keys
        get, move_to_end = keys.get, keys.move_to_end
        new, update = self._get, self._update
        window, count, by_value = self.window, self.count, self.distinct
        move_value = OrderedDict.move_to_end

        def add_fast(key: Hashable, ts: float, event: Any, value: Any = None
                     ) -> tuple[list[Any], int, int] | None:
            win = get(key)
            if win is None:
                win = new(key, event)
            else:
                move_to_end(key)
            if ts < win.newest:
                return update(win, ts, event, value)
            win.newest = ts
            times = win.times
            times.append(ts)
            start = ts - window
            while times[0] < start:
                times.popleft()
            evidence = win.evidence
            if evidence and evidence[0][0] < start:
                # what _update's filter keeps, without a new list on every event (a one-second
                # window over traffic polled each second expires its first pair nearly every
                # time): once the first pair is gone, testing the first and last of at most
                # two more tests them all (an out-of-order event may leave them unsorted)
                del evidence[0]
                if evidence and (len(evidence) > 2 or evidence[0][0] < start
                                 or evidence[-1][0] < start):
                    evidence[:] = [pair for pair in evidence if pair[0] >= start]
            if len(evidence) < MAX_EVIDENCE:
                evidence.append((ts, event))
            if by_value:
                seen = win.values
                assert seen is not None  # a distinct window always has its values
                if isinstance(value, _MANY):
                    distinct = _seen_in_window(seen, value, ts, start, count)
                else:  # one value (nearly always): _seen_in_window's steps, without a call
                    if value is not None and value != "":
                        last = seen.get(value)
                        if last is None:
                            seen[value] = ts
                        elif last < ts:
                            move_value(seen, value)
                            seen[value] = ts
                    for oldest in seen.values():  # the first, without next(iter(...))
                        if oldest < start:
                            while seen and next(iter(seen.values())) < start:
                                seen.popitem(last=False)
                        break
                    while len(seen) > count:
                        seen.popitem(last=False)
                    distinct = len(seen)
                crossed = distinct >= count
            else:
                distinct = 0
                crossed = len(times) >= count
            if not crossed or ts - win.last_fire < window:
                return None
            win.last_fire = ts
            return [e for _, e in evidence], len(times), distinct
        return add_fast


def _seen_in_window(seen: OrderedDict[Any, float] | None, value: Any, ts: float, start: float,
                    count: int) -> int:
    """Record ``value`` (or each of several) as seen at ``ts`` in a distinct-count window's
    values (oldest first), forget those last seen before ``start`` and keep at most ``count``
    (enough to decide the threshold); returns how many distinct values are in the window."""
    assert seen is not None
    if isinstance(value, _MANY):
        for v in value:
            if v is None or v == "":
                continue
            if v in seen:
                if seen[v] >= ts:
                    continue
                seen.move_to_end(v)
            seen[v] = ts
    elif value is not None and value != "":
        last = seen.get(value)
        if last is None:
            seen[value] = ts
        elif last < ts:
            seen.move_to_end(value)
            seen[value] = ts
    while seen and next(iter(seen.values())) < start:
        seen.popitem(last=False)
    while len(seen) > count:
        seen.popitem(last=False)
    return len(seen)


class Chain:
    """A partly matched sequence: when it started and the event of each step so far."""

    __slots__ = ("events", "start")

    def __init__(self, start: float, events: tuple[Any, ...]) -> None:
        self.start = start
        self.events = events


class SequenceSteps:
    """Pending chains of one sequence rule, per step and per asset."""

    def __init__(self, steps: int, within: float, max_keys: int) -> None:
        self.within = within
        self.max_keys = max(1, max_keys)
        self.evicted = 0
        # pending[k]: chains waiting for step k (k >= 1), by asset
        self.pending: list[OrderedDict[str, Chain]] = [OrderedDict() for _ in range(steps)]

    def __len__(self) -> int:
        return sum(len(p) for p in self.pending)

    def clear(self) -> None:
        for table in self.pending:
            table.clear()

    def _put(self, k: int, asset: str, chain: Chain, now: float) -> None:
        table = self.pending[k]
        if asset in table:
            table.move_to_end(asset)
        elif len(table) >= self.max_keys:
            # expired chains first (the front is the least recently touched)
            while table and now - next(iter(table.values())).start > self.within:
                table.popitem(last=False)
            if len(table) >= self.max_keys:
                table.popitem(last=False)
                self.evicted += 1
        table[asset] = chain

    def step(self, k: int, asset: str, ts: float, event: Any) -> tuple[Any, ...] | None:
        """Step ``k`` matched ``event`` about ``asset``; the chain's events when this completes
        the sequence."""
        last = len(self.pending) - 1
        if k == 0:
            self._put(1, asset, Chain(ts, (event,)), ts)
            return None
        table = self.pending[k]
        chain = table.get(asset)
        if chain is None:
            return None
        if ts - chain.start > self.within:
            del table[asset]
            return None
        events = (*chain.events, event)
        if k == last:
            del table[asset]  # one alert per chain; the next first step re-arms it
            return events
        nxt = self.pending[k + 1].get(asset)
        if nxt is None or nxt.start <= chain.start:
            self._put(k + 1, asset, Chain(chain.start, events), ts)
        return None
