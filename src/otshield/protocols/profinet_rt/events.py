"""The ``profinet_rt`` event: a per-stream summary (at the end of input), a DataStatus change
of a cyclic stream, or an alarm (RTA PDU). Cyclic frames are counted, never emitted one by one."""

from __future__ import annotations

from otshield.events import LinkEvent, ecs

__all__ = ["ProfinetRtEvent"]


class ProfinetRtEvent(LinkEvent, frozen=True, tag="profinet_rt",
                      rename=ecs(kind="event.kind")):
    """``kind``: ``summary``, ``data_status_change`` or ``alarm``. A stream is (src MAC,
    dst MAC, FrameID)."""

    kind: str
    frame_id: int
    frame_class: str
    """``rt_class_1``/``2``/``3``, ``alarm_high``/``low``, ``fragment``, ``ptcp``, ``reserved``."""
    frames: int = 0
    bytes: int = 0
    first_ts: float | None = None
    data_status: int | None = None
    data_status_text: tuple[str, ...] | None = None
    previous_data_status: int | None = None
    previous_data_status_text: tuple[str, ...] | None = None
    cycle_counter: int | None = None
    cycle_step: int | None = None
    """CycleCounter increment between consecutive frames (31.25 us units), as learned."""
    cycle_gaps: int = 0
    lost_frames: int = 0
    """Frames missing according to the cycle counter (estimate)."""
    repeated_frames: int = 0
    transfer_errors: int = 0
    status_changes: int = 0
    alarm_pdu_type: str | None = None
    alarm_block: str | None = None
    alarm_type: str | None = None
    api: int | None = None
    slot: int | None = None
    subslot: int | None = None
    alarm_specifier: int | None = None
    pnio_status: str | None = None
    alarm_src_endpoint: int | None = None
    alarm_dst_endpoint: int | None = None
