"""Load the rule pack once per process in the benchmark scripts.

:func:`otshield.detect.analyze.run_analysis` loads (checks, compiles, builds the examples of)
the whole rule pack on every call; that takes about a second. The evaluation runs ~230
analyses and the throughput benchmark dozens, so the scripts load it once and share the
compiled rule set. That changes no result: the rule set holds no per-run state (it lives in
the RuleEngine built for each analysis). The time of the first load is kept, so the scripts
can still report it.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["cache_rule_loading", "load_seconds"]

_LOAD_SECONDS: list[float] = []


def cache_rule_loading() -> None:
    """Replace ``otshield.detect.rules.load_rules`` (looked up at call time by run_analysis)
    with a cached one, keyed by the rule paths, ``builtin`` and ``strict``."""
    import otshield.detect.rules as rules_pkg

    original = rules_pkg.load_rules
    if getattr(original, "cached", False):
        return
    cache: dict[tuple[tuple[str, ...], bool, bool], Any] = {}

    def load_rules(paths: Any = (), *, builtin: bool = True, attack: Any = None,
                   strict: bool = True) -> Any:
        key = (tuple(str(p) for p in paths), builtin, strict)
        if key not in cache:
            t0 = time.process_time()
            cache[key] = original(paths, builtin=builtin, attack=attack, strict=strict)
            _LOAD_SECONDS.append(time.process_time() - t0)
        return cache[key]

    load_rules.cached = True  # type: ignore[attr-defined]
    rules_pkg.load_rules = load_rules


def load_seconds() -> float | None:
    """CPU seconds of the first rule load in this process (None before any)."""
    return _LOAD_SECONDS[0] if _LOAD_SECONDS else None
