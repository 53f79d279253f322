"""The link session of Ethertype 0x8892: DCP frames go to the DCP tracker, cyclic RT frames
are counted per stream (src MAC, dst MAC, FrameID) with cycle-counter and DataStatus checks,
alarms are decoded and emitted, everything else is counted.

Per-frame work for cyclic data is a dict lookup, one ``struct`` unpack and a few integer
comparisons; events come only on DataStatus changes, alarms and, at the end, one summary per
stream.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import LinkContext
from otshield.protocols.profinet_dcp.session import DcpTracker
from otshield.protocols.profinet_rt.constants import DS_PROBLEM_MASK
from otshield.protocols.profinet_rt.events import ProfinetRtEvent
from otshield.protocols.profinet_rt.parser import TRAILER, classify, data_status_names, parse_alarm

__all__ = ["MAX_GAP_REPORTS", "MAX_STREAMS", "ProfinetRtSession"]

MAX_STREAMS = 4096
"""Streams (src MAC, dst MAC, FrameID) counted at once; more is ``profinet_rt.too_many_streams``."""
_unpack_trailer = TRAILER.unpack_from
MAX_GAP_REPORTS = 8
"""Cycle-counter gap anomalies per stream; later gaps are only counted in the summary."""


class _Stream:
    __slots__ = (
        "cycle",
        "cyclic",
        "ds",
        "first_ts",
        "frame",
        "frame_class",
        "frames",
        "gap_reports",
        "gaps",
        "lost",
        "nbytes",
        "repeats",
        "status_changes",
        "step",
        "transfer_errors",
        "ts",
        "vlan",
    )

    def __init__(self, frame_class: str, cyclic: bool, ts: float, vlan: int | None) -> None:
        self.frame_class = frame_class
        self.cyclic = cyclic
        self.first_ts = ts
        self.ts = ts
        self.frame = 0
        self.vlan = vlan
        self.frames = 0
        self.nbytes = 0
        self.cycle = -1
        self.step = 0
        self.ds = -1
        self.gaps = 0
        self.lost = 0
        self.repeats = 0
        self.gap_reports = 0
        self.transfer_errors = 0
        self.status_changes = 0


class ProfinetRtSession:
    """One per engine (see ``LinkSession``)."""

    def __init__(self, link: LinkContext) -> None:
        self.link = link
        self.dcp = DcpTracker(link)
        self._streams: dict[tuple[str, str, int], _Stream] = {}
        self._full_reported = False

    def on_frame(self, payload: bytes) -> None:
        link = self.link
        if len(payload) < 2:
            link.anomaly("profinet_rt.truncated", f"{len(payload)} bytes: no FrameID")
            return
        fid = payload[0] << 8 | payload[1]
        if 0xFEFC <= fid <= 0xFEFF:
            self.dcp.on_pdu(payload[2:])
            return
        key = (link.src_mac, link.dst_mac, fid)
        st = self._streams.get(key)
        if st is None:
            if len(self._streams) >= MAX_STREAMS:
                if not self._full_reported:
                    self._full_reported = True
                    link.anomaly("profinet_rt.too_many_streams",
                                 f"more than {MAX_STREAMS} RT streams; new ones not counted")
                return
            fclass, cyclic = classify(fid)
            st = self._streams[key] = _Stream(fclass, cyclic, link.ts, link.vlan)
        n = len(payload)
        st.frames += 1
        st.nbytes += n
        st.ts = link.ts
        st.frame = link.frame
        if st.cyclic:
            # The hot path, inlined: APDU status, then only compare with the stream's state.
            if n < 6:
                link.anomaly("profinet_rt.truncated",
                             f"cyclic frame of {n} bytes has no APDU status")
                return
            cycle, ds, tstat = _unpack_trailer(payload, n - 4)
            if tstat:
                self._transfer_error(st, fid, tstat)
            last = st.cycle
            st.cycle = cycle
            if last >= 0 and (cycle - last) & 0xFFFF != st.step:
                self._cycle_check(st, fid, (cycle - last) & 0xFFFF)
            if ds != st.ds:
                self._status(st, fid, ds, cycle)
        elif fid == 0xFC01 or fid == 0xFE01:
            self._alarm(st, fid, payload)

    def _transfer_error(self, st: _Stream, fid: int, tstat: int) -> None:
        st.transfer_errors += 1
        if st.transfer_errors == 1:
            self.link.anomaly("profinet_rt.transfer_status_error",
                              f"FrameID 0x{fid:04x}: TransferStatus 0x{tstat:02x}")

    def _cycle_check(self, st: _Stream, fid: int, delta: int) -> None:
        step = st.step
        if delta == step:
            return
        if delta == 0:
            st.repeats += 1
            return
        if step == 0 or delta < step or delta >= 0x8000:
            # First interval, a faster step than assumed, or the counter went back (provider
            # restart): (re)learn the step rather than report a gap.
            st.step = delta if delta < 0x8000 else step
            return
        st.gaps += 1
        lost = delta // step - 1 if delta % step == 0 else 1
        st.lost += max(lost, 1)
        if st.gap_reports < MAX_GAP_REPORTS:
            st.gap_reports += 1
            self.link.anomaly("profinet_rt.cycle_counter_gap",
                              f"FrameID 0x{fid:04x}: cycle counter advanced by {delta} "
                              f"instead of {step} (about {max(lost, 1)} frames missing)")

    def _status(self, st: _Stream, fid: int, ds: int, cycle: int) -> None:
        old = st.ds
        st.ds = ds
        link = self.link
        if old >= 0:
            st.status_changes += 1
            link.emit(ProfinetRtEvent(
                **link.fields(), kind="data_status_change", frame_id=fid,
                frame_class=st.frame_class, data_status=ds, data_status_text=data_status_names(ds),
                previous_data_status=old, previous_data_status_text=data_status_names(old),
                cycle_counter=cycle))
        bad = ~ds & DS_PROBLEM_MASK
        if bad and (old < 0 or bad & ~(~old & DS_PROBLEM_MASK)):
            link.anomaly("profinet_rt.data_status_problem",
                         f"FrameID 0x{fid:04x}: provider reports "
                         f"{', '.join(data_status_names(ds))} (DataStatus 0x{ds:02x})")

    def _alarm(self, st: _Stream, fid: int, payload: bytes) -> None:
        link = self.link
        try:
            a = parse_alarm(payload)
        except Malformed as exc:
            link.anomaly(exc.code, exc.detail)
            return
        if a.pdu_type in ("ack", "nack"):
            return  # transport acknowledgements: counted in the summary only
        link.emit(ProfinetRtEvent(
            **link.fields(), kind="alarm", frame_id=fid, frame_class=st.frame_class,
            alarm_pdu_type=a.pdu_type, alarm_block=a.block, alarm_type=a.alarm_type, api=a.api,
            slot=a.slot, subslot=a.subslot, alarm_specifier=a.specifier,
            pnio_status=a.pnio_status, alarm_src_endpoint=a.src_endpoint,
            alarm_dst_endpoint=a.dst_endpoint))

    def close(self) -> None:
        self.dcp.close()
        emit = self.link.emit
        for (src, dst, fid), st in self._streams.items():
            ds = st.ds if st.ds >= 0 else None
            emit(ProfinetRtEvent(
                ts=st.ts, frame=st.frame, src_mac=src, dst_mac=dst, vlan=st.vlan,
                kind="summary", frame_id=fid, frame_class=st.frame_class, frames=st.frames,
                bytes=st.nbytes, first_ts=st.first_ts, data_status=ds,
                data_status_text=data_status_names(ds) if ds is not None else None,
                cycle_counter=st.cycle if st.cycle >= 0 else None,
                cycle_step=st.step or None, cycle_gaps=st.gaps, lost_frames=st.lost,
                repeated_frames=st.repeats, transfer_errors=st.transfer_errors,
                status_changes=st.status_changes))
        self._streams.clear()
