"""IEEE C37.118 event records.

- ``c37118``: one command, header or configuration frame (sent rarely: each is an event).
- ``c37118_data``: data frames are not reported one by one (a PMU sends 10 to 120 a second):
  one record per PMU of a stream when its STAT flags change (sync lost, data invalid,
  configuration change, trigger), every 5 minutes of packet time while it runs, and a summary
  per PMU when the flow ends.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["C37118DataEvent", "C37118Event", "C37118Phasor", "C37118Station"]


class C37118Station(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One PMU block of a configuration frame (table 8 / table 10)."""

    name: str
    idcode: int
    polar: bool
    phasor_float: bool
    analog_float: bool
    freq_float: bool
    phasors: int
    analogs: int
    digitals: int
    channels: list[str]
    """Channel names: phasors, analogs, then 16 per digital word (first 64)."""
    phasor_types: list[str] | None = None
    """voltage or current per phasor."""
    nominal_frequency: int
    cfgcnt: int


class C37118Phasor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    name: str | None = None
    magnitude: float
    """Volts or amperes (integer phasors scaled by PHUNIT)."""
    angle: float
    """Radians."""


class C37118Event(Event, tag="c37118", rename=ecs(), frozen=True):
    """A command, header or configuration frame."""

    frame_type: str
    """command, header, cfg1, cfg2, cfg3."""
    version: int
    idcode: int
    """Stream IDCODE (of the PMU/PDC addressed by a command)."""
    soc: int
    fracsec: int
    time_quality: int
    function_class: str
    frame_time: float | None = None
    """SOC plus FRACSEC / TIME_BASE (configuration frames carry TIME_BASE; other frames use the
    stream's last one)."""
    command: int | None = None
    command_name: str | None = None
    extended_data_size: int | None = None
    header: str | None = None
    """Header frame text (first 512 characters)."""
    time_base: int | None = None
    data_rate: int | None = None
    """Frames per second (negative: seconds per frame)."""
    num_pmu: int | None = None
    cont_idx: int | None = None
    """CFG-3 continuation index (0: the configuration fits one frame)."""
    stations: list[C37118Station] | None = None


class C37118DataEvent(Event, tag="c37118_data", rename=ecs(), frozen=True):
    """Data frames of one PMU in one stream: on a STAT change, or the summary at flow end."""

    reason: str
    """status_change, interim (every 5 minutes of a running stream) or summary (flow end)."""
    idcode: int
    """Stream IDCODE."""
    pmu_idcode: int
    station: str
    frames: int
    """Data frames seen since the previous record of this PMU."""
    start: float
    """Packet time of the first frame the record covers."""
    stat: int
    """STAT word of the last frame."""
    data_error: str
    """good, pmu_error_no_information, test_mode, pmu_error."""
    sync: bool
    """The PMU is in sync with its UTC source (STAT bit 13 clear)."""
    sorted_by_arrival: bool = False
    trigger: bool = False
    trigger_reason: str | None = None
    config_change: bool = False
    data_modified: bool = False
    unlocked_time: str | None = None
    time_quality: int | None = None
    frame_time: float | None = None
    """SOC + FRACSEC / TIME_BASE of the last frame."""
    error_frames: int = 0
    """Frames whose STAT says data error, since the previous record."""
    unsync_frames: int = 0
    trigger_frames: int = 0
    config_change_frames: int = 0
    freq: float | None = None
    """Hz, last frame."""
    freq_min: float | None = None
    freq_max: float | None = None
    dfreq: float | None = None
    """ROCOF, Hz/s, last frame."""
    phasors: list[C37118Phasor] | None = None
    analogs: list[float] | None = None
    digitals: list[int] | None = None
