"""Maintenance windows: while engineers change a plant on purpose, its baseline must not cry wolf.

A window is a time range (absolute, ISO 8601 or epoch seconds), optionally limited to zones or
assets, with an action:

- ``suppress``: deviations inside the window are neither alerted nor learnt;
- ``relearn``: deviations inside the window are learnt into the baseline (the new normal).

Windows live in the baseline file (``maintenance:``) or in a small YAML file given on the
command line::

    windows:
      - start: 2024-05-04T06:00:00Z
        end: 2024-05-04T14:00:00Z
        action: relearn
        zones: [Control]
        assets: [10.0.0.2]
        note: PLC-2 program change, ticket 4711

Times without a zone are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from otshield.detect.baseline.model import MaintenanceWindow
from otshield.errors import ConfigError
from otshield.yamlsource import line_of, read_yaml

__all__ = ["ACTIONS", "ActiveWindows", "load_maintenance", "parse_maintenance", "to_epoch"]

ACTIONS = ("suppress", "relearn")
_KEYS = frozenset({"start", "end", "action", "zones", "assets", "note"})


def to_epoch(moment: datetime) -> float:
    """Epoch seconds of ``moment`` (naive times are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _moment(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ConfigError(f"{where}: time {value!r} is out of range") from None
    if isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a time (use ISO 8601, e.g. "
                              "2024-05-04T06:00:00Z, or epoch seconds)") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise ConfigError(f"{where}: expected a time, got {type(value).__name__}")


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                       for v in value):
        return [str(v) for v in value]
    raise ConfigError(f"{where}: expected a name or a list of names")


def parse_maintenance(doc: Any, origin: str) -> list[MaintenanceWindow]:
    """Windows from a parsed YAML document (``windows:`` list, or a bare list)."""
    items = doc.get("windows") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and set(doc) - {"windows"}:
        extra = sorted(str(k) for k in set(doc) - {"windows"})
        raise ConfigError(f"{origin}:{line_of(doc, extra[0])}: unknown key {extra[0]!r} "
                          "(expected 'windows')")
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{origin}:{line_of(doc, 'windows')}: 'windows' must be a list")
    out: list[MaintenanceWindow] = []
    for i, item in enumerate(items):
        where = f"{origin}:{line_of(items, i)}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: a window must be a mapping with start, end, action")
        for key in item:
            if key not in _KEYS:
                raise ConfigError(f"{origin}:{line_of(item, key)}: unknown key {key!r} "
                                  f"(expected one of {', '.join(sorted(_KEYS))})")
        for key in ("start", "end"):
            if key not in item:
                raise ConfigError(f"{where}: the window has no {key!r}")
        start = _moment(item["start"], f"{origin}:{line_of(item, 'start')}")
        end = _moment(item["end"], f"{origin}:{line_of(item, 'end')}")
        if end <= start:
            raise ConfigError(f"{origin}:{line_of(item, 'end')}: the window ends before it "
                              "starts")
        action = item.get("action", "suppress")
        if action not in ACTIONS:
            raise ConfigError(f"{origin}:{line_of(item, 'action')}: action must be "
                              f"{' or '.join(ACTIONS)}, not {action!r}")
        note = item.get("note", "")
        out.append(MaintenanceWindow(
            start=start, end=end, action="relearn" if action == "relearn" else "suppress",
            zones=_names(item.get("zones"), f"{origin}:{line_of(item, 'zones')}"),
            assets=_names(item.get("assets"), f"{origin}:{line_of(item, 'assets')}"),
            note=str(note) if note is not None else ""))
    return out


def load_maintenance(path: Path) -> list[MaintenanceWindow]:
    """Windows from a YAML file; errors name the file and line."""
    return parse_maintenance(read_yaml(path, "maintenance file"), str(path))


class ActiveWindows:
    """The windows as epoch ranges, asked only when something new is seen (the rare path)."""

    def __init__(self, windows: Iterable[MaintenanceWindow]) -> None:
        self._windows = [(to_epoch(w.start), to_epoch(w.end), w.action,
                          frozenset(w.zones), frozenset(w.assets)) for w in windows]

    def __bool__(self) -> bool:
        return bool(self._windows)

    def action(self, ts: float, zone: str, assets: Sequence[str]) -> str:
        """``suppress``, ``relearn`` or ``""`` for a deviation at ``ts`` in ``zone`` involving
        ``assets``. When windows overlap, ``relearn`` wins (the change is intended)."""
        found = ""
        for start, end, action, zones, names in self._windows:
            if not start <= ts < end:
                continue
            if zones and zone not in zones:
                continue
            if names and not any(a in names for a in assets):
                continue
            if action == "relearn":
                return action
            found = action
        return found
