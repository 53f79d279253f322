"""Close-name suggestions for misspelt keys, operators and fields ("did you mean 'regex'?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]

_CUTOFF = 0.6
_SPREAD = 0.06
_PREFIX_BONUS = 0.05
"""A choice that starts with the word ('unit' -> 'unit_id') beats an equally close other."""
"""Only suggestions about as close as the best one: 'rgex' gets 'regex', not 'range' too."""


def did_you_mean(word: str, choices: Iterable[object], n: int = 3) -> str:
    """`` (did you mean 'x'?)`` with the closest choices, or ``""`` when none is close."""
    if not word.strip():
        return ""
    names = sorted({str(c) for c in choices})
    scored = []
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    for name in names:
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.quick_ratio() >= _CUTOFF:
            ratio = matcher.ratio() + (_PREFIX_BONUS if name.startswith(word) else 0.0)
            if ratio >= _CUTOFF:
                scored.append((ratio, name))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    close = [name for ratio, name in scored if ratio >= scored[0][0] - _SPREAD][:n] \
        if scored else []
    if not close:
        # a missing ECS prefix ("ip" for "source.ip") or a truncated name
        close = [c for c in names if c.endswith("." + word) or c.startswith(word)][:n]
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"
