"""Loading indicator files: STIX bundles (JSON) and CSV lists, chosen by content.

    indicators = load_indicators([Path("feed.json"), Path("blocklist.csv")])

With ``strict`` (the default) any unreadable entry raises :class:`ConfigError` listing them
(``file:line: ...`` for CSV, ``file: objects[n] (indicator--...): ...`` for STIX), so a feed
that half-loads never passes for a full one; ``strict=False`` keeps the good entries and the
problems in ``IndicatorSet.errors`` (``otshield intel check`` reports them all). Indicators
that load but cannot be evaluated on traffic are in ``IndicatorSet.skipped`` either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otshield.detect.intel.csvlist import load_csv
from otshield.detect.intel.model import IndicatorSet
from otshield.errors import ConfigError

__all__ = ["load_indicators"]

_SHOWN_ERRORS = 20


def _is_json(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return head.startswith(b"{")


def load_indicators(paths: Sequence[Path], *, strict: bool = True) -> IndicatorSet:
    """Read and index every file (see the module docstring)."""
    # stix2 takes 0.5 s to import: only when indicators are read, not for every CLI start
    from otshield.detect.intel.stix import load_stix, read_bundle

    out = IndicatorSet()
    bundles: list[tuple[Path, list[Any]]] = []
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: no such indicator file")
        out.files.append(str(path))
        if _is_json(path):
            bundles.append((path, read_bundle(path)))
        else:
            load_csv(path, out)
    load_stix(bundles, out)
    if strict and out.errors:
        shown = "\n".join(out.errors[:_SHOWN_ERRORS])
        more = len(out.errors) - _SHOWN_ERRORS
        raise ConfigError(f"{len(out.errors)} bad indicator entries:\n{shown}"
                          + (f"\n... and {more} more" if more > 0 else ""))
    return out
