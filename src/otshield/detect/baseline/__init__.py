"""Learned baselines: what normal traffic looks like per site and zone, and alerts when it changes.

    baseline = load_baseline(Path("plant.baseline.json"))
    detector = BaselineDetector(baseline, context, pipeline.alert_sink, mode="protect")

The model and its file are in :mod:`.model`, the per-protocol tables in :mod:`.fields`, the
detector in :mod:`.detector` (its run-time state in :mod:`.state`, its alerts in
:mod:`.alerts`), maintenance windows in :mod:`.maintenance`, review and editing in :mod:`.edit`,
and the ``otshield baseline`` command in :mod:`.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from otshield.detect.baseline.detector import MODES, BaselineDetector, PollSettings, poll_stats
from otshield.detect.baseline.maintenance import load_maintenance, parse_maintenance
from otshield.detect.baseline.model import (
    FORMAT,
    VERSION,
    Baseline,
    LearningSettings,
    Limits,
    MaintenanceWindow,
    load_baseline,
    save_baseline,
)
from otshield.errors import ConfigError

if TYPE_CHECKING:
    from otshield.detect.alert import AlertSink
    from otshield.detect.context import AssetContext

__all__ = [
    "FORMAT",
    "MODES",
    "VERSION",
    "Baseline",
    "BaselineDetector",
    "LearningSettings",
    "Limits",
    "MaintenanceWindow",
    "PollSettings",
    "load_baseline",
    "load_maintenance",
    "open_baseline_detector",
    "parse_maintenance",
    "poll_stats",
    "save_baseline",
]


def open_baseline_detector(path: Path | None, mode: str, context: AssetContext,
                           sink: AlertSink, **options: object) -> BaselineDetector:
    """The detector for ``mode`` over the baseline at ``path``: loaded when the file exists
    (``learn`` and ``auto`` then extend it), a new one otherwise. ``protect`` needs an
    existing file. ``options`` go to :class:`BaselineDetector` (``learn_seconds``...)."""
    if mode not in MODES:
        raise ConfigError(f"baseline mode must be one of {', '.join(MODES)}, not {mode!r}")
    if path is not None and path.exists():
        baseline = load_baseline(path)
    elif mode == "protect":
        where = f" {path} does not exist" if path is not None else " no baseline file was given"
        raise ConfigError(f"baseline protect mode needs a learnt baseline:{where} (learn one "
                          "with otshield baseline learn)")
    else:
        baseline = Baseline()
    return BaselineDetector(baseline, context, sink, mode=mode, **options)  # type: ignore[arg-type]
