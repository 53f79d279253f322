"""The hot-path adders of threshold windows give exactly what the generic ``add`` gives.

:meth:`ThresholdWindows.adder` inlines the common case (events in time order) for speed; these
tests replay the same seeded streams through both, out-of-order times, equal times, repeated
and listed distinct values, empty values and key eviction included, and compare every answer,
the state left and the evictions reported."""

from __future__ import annotations

import random
from typing import Any

import pytest

from otshield.detect.rules.windows import ThresholdWindows


def _stream(seed: int, n: int = 3000) -> list[tuple[str, float, int, Any]]:
    rng = random.Random(seed)
    ts = 1_000.0
    out: list[tuple[str, float, int, Any]] = []
    for i in range(n):
        step = rng.choice([0.0, 0.0, 0.01, 0.1, 0.5, 2.0, 30.0])
        ts += step
        t = ts - rng.choice([0.0] * 8 + [0.5, 5.0, 90.0])  # now and then late, or very late
        key = f"k{rng.randrange(12)}"
        value: Any = rng.choice([None, "", 1, 2, 3, 4, 5, 6, "a", "b", [1, 2], ("c", None, "")])
        out.append((key, t, i, value))
    return out


def _state(win: ThresholdWindows) -> list[tuple[Any, ...]]:
    return [(k, list(w.times), w.newest, w.last_fire, [e for _t, e in w.evidence],
             list((w.values or {}).items())) for k, w in win._keys.items()]


@pytest.mark.parametrize("distinct", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("max_keys", [3, 100])
# a one-second window: the evidence expires on most events (the in-place path of the adder)
@pytest.mark.parametrize(("window", "count"), [(60.0, 4), (1.0, 2)])
def test_adder_matches_add(distinct: bool, seed: int, max_keys: int, window: float,
                           count: int) -> None:
    evicted_a: list[int] = []
    evicted_b: list[int] = []
    a = ThresholdWindows(window, count, distinct, max_keys, on_evict=evicted_a.append)
    b = ThresholdWindows(window, count, distinct, max_keys, on_evict=evicted_b.append)
    fast = b.adder()
    fired = 0
    for key, ts, event, value in _stream(seed):
        expected = a.add(key, ts, event, value if distinct else None)
        got = fast(key, ts, event, value if distinct else None)
        assert got == expected, (key, ts, event, value)
        fired += expected is not None
    assert fired > 10  # the streams do cross the threshold
    assert _state(a) == _state(b)
    assert evicted_a == evicted_b and a.evicted == b.evicted == len(evicted_a)
    assert (a.evicted > 0) == (max_keys < 12)


def test_eviction_reports_the_event_that_pushed_a_key_out() -> None:
    heard: list[str] = []
    win = ThresholdWindows(10.0, 2, False, 2, on_evict=heard.append)
    add = win.adder()
    add("a", 1.0, "e1", None)
    add("b", 2.0, "e2", None)
    add("a", 3.0, "e3", None)  # "a" is now the most recently touched
    add("c", 4.0, "e4", None)  # pushes "b" out
    assert heard == ["e4"] and win.evicted == 1
    assert list(win._keys) == ["a", "c"]
