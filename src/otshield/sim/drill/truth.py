"""Ground truth for drills: one shape for every source, with stage end times filled in.

Scenarios of the simulator give :class:`~otshield.sim.scenario.GroundTruth` with the packet
time of each stage's first and last packet. The project's older test plant
(:mod:`otshield.detect.testplant`) gives the same fields without ``end_ts`` and ``title``;
:func:`as_truth` turns either into the simulator's type and :func:`fill_end_times` reads the
missing end times from the capture itself (the time of each stage's last frame), so scoring
windows are exact for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from otshield.capture import open_capture
from otshield.sim.drill.score import TruthLike
from otshield.sim.scenario import GroundTruth

__all__ = ["as_truth", "fill_end_times"]


def as_truth(entries: Sequence[TruthLike], scenario: str = "") -> list[GroundTruth]:
    """``entries`` as :class:`GroundTruth` (already-typed entries are kept as they are)."""
    out: list[GroundTruth] = []
    for e in entries:
        if isinstance(e, GroundTruth):
            out.append(e)
            continue
        out.append(GroundTruth(
            stage=e.stage, first_frame=e.first_frame, last_frame=e.last_frame, ts=e.ts,
            src=e.src, dst=e.dst, techniques=tuple(e.techniques), rule=e.rule,
            description=e.description, scenario=str(getattr(e, "scenario", "") or scenario),
            end_ts=float(getattr(e, "end_ts", 0.0) or 0.0),
            title=str(getattr(e, "title", "") or "")))
    return out


def fill_end_times(truth: Sequence[GroundTruth], capture: Path) -> list[GroundTruth]:
    """``truth`` with every missing ``end_ts`` set to the packet time of the stage's last frame
    in ``capture`` (one pass over the file; stages whose frames lie past its end keep 0)."""
    wanted = {t.last_frame for t in truth if not t.end_ts and t.last_frame > 0}
    if not wanted:
        return list(truth)
    times: dict[int, float] = {}
    last = max(wanted)
    with open_capture(capture) as reader:
        for number, (ts, _linktype, _frame) in enumerate(reader, start=1):
            if number in wanted:
                times[number] = float(ts)
            if number >= last:
                break
    out: list[GroundTruth] = []
    for t in truth:
        end = times.get(t.last_frame) if not t.end_ts else None
        out.append(msgspec.structs.replace(t, end_ts=end) if end is not None else t)
    return out
