"""Sampled Values event records.

A merging unit sends 4000 to 14400 frames a second per stream, so nothing is reported per frame:
- ``sv_stream``: a stream (source MAC, APPID, svID) seen for the first time, with its
  configuration;
- ``sv_stream_summary``: per stream at the end of input, on eviction and every
  ``REPORT_INTERVAL`` seconds while it runs: frame and sample counts, smpCnt continuity,
  quality and synchronisation problems, and the range of every channel.

``function_class`` of ``sv_stream`` is "other": sampled values are measurements streamed to
protection relays, neither a command nor a request.
"""

from __future__ import annotations

from otshield.events import LinkEvent, ecs

__all__ = ["SvStreamEvent", "SvSummaryEvent"]


class SvStreamEvent(LinkEvent, frozen=True, kw_only=True, tag="sv_stream", rename=ecs()):
    """The first ASDU of a Sampled Values stream."""

    appid: int
    sv_id: str
    dat_set: str = ""
    conf_rev: int
    smp_cnt: int
    smp_rate: int | None = None
    smp_mod: str | None = None
    smp_synch: int
    smp_synch_name: str
    """"none", "local", "global", "local_id" (5-254) or "reserved"."""
    refr_tm: str | None = None
    gm_identity: str | None = None
    no_asdu: int
    """ASDUs per frame."""
    channels: int
    """Value + quality pairs in a sample (8 for a 9-2LE stream)."""
    security: bool = False
    simulated: bool = False
    """The header's Simulate bit (Reserved 1, bit 15)."""
    reserved1: int = 0
    reserved2: int = 0
    function_class: str


class SvSummaryEvent(LinkEvent, frozen=True, kw_only=True, tag="sv_stream_summary",
                     rename=ecs()):
    """Counters of one Sampled Values stream since it was first seen."""

    appid: int
    sv_id: str
    dat_set: str = ""
    first_seen: float
    last_seen: float
    frames: int
    """Frames received, network duplicates included."""
    asdus: int
    smp_cnt_gaps: int = 0
    samples_missing: int = 0
    """Sum of the smpCnt values skipped over all gaps."""
    smp_cnt_repeats: int = 0
    duplicates: int = 0
    """ASDUs seen twice within ``DUPLICATE_WINDOW`` (PRP/HSR twins, two mirror ports); not in
    ``asdus``."""
    smp_cnt_wraps: int = 0
    wrap_at: int | None = None
    """smpCnt value after which the counter restarted at 0 (samples per second)."""
    last_smp_cnt: int
    conf_rev: int
    conf_rev_changes: int = 0
    smp_synch: int
    smp_synch_changes: int = 0
    sync_lost: int = 0
    quality_problems: int = 0
    """ASDUs with at least one channel whose validity was not good."""
    simulated: bool = False
    channels: int
    raw_min: list[int] = []
    """Smallest raw INT32 value per channel (first ``MAX_CHANNELS`` channels)."""
    raw_max: list[int] = []
    current_min: list[float] = []
    """9-2LE streams (8 channels): IA, IB, IC, IN minimum in amperes."""
    current_max: list[float] = []
    voltage_min: list[float] = []
    """9-2LE streams: UA, UB, UC, UN minimum in volts."""
    voltage_max: list[float] = []
    end_reason: str
    """"end" (end of input), "evicted" (stream table full) or "interim" (periodic report)."""
