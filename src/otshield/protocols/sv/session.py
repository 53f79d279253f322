"""Sampled Values stream tracking: counter continuity, configuration, quality and time
synchronisation per stream, reported as a start event and periodic/end summaries.

References: IEC 61850-9-2 Ed.2 (2011) 8.5.2 (smpCnt counts samples and restarts at 0 on the
synchronisation pulse, so it wraps at the number of samples per second when synchronised, at
65535 otherwise; smpSynch), IEC 61850-7-2 Ed.2 6.2.3 (quality validity bits), 9-2LE guideline
6.2 (channel layout and scaling).

An ASDU repeating the previous one exactly (same smpCnt and sample) within
``DUPLICATE_WINDOW`` is a network duplicate (PRP/HSR, IEC 62439-3) and only counted.
A stream is its source MAC, APPID and svID; the table is bounded (``MAX_STREAMS``). Per-frame
work is kept small: the sample is unpacked in one ``struct`` call, quality words are looked at
only when one is non-zero, and anomalies are raised on transitions, not on every frame.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from otshield.errors import Malformed
from otshield.protocols.base import LinkContext
from otshield.protocols.goose.data import utc_time
from otshield.protocols.goose.header import SIMULATE_BIT
from otshield.protocols.sv.constants import (
    DUPLICATE_WINDOW,
    LE_CHANNELS,
    LE_CURRENT_SCALE,
    LE_VOLTAGE_SCALE,
    MAX_CHANNELS,
    MAX_STREAMS,
    REPORT_INTERVAL,
    SMP_MOD_NAMES,
    VALIDITY_NAMES,
    smp_synch_name,
)
from otshield.protocols.sv.events import SvStreamEvent, SvSummaryEvent
from otshield.protocols.sv.parser import SvAsdu, SvPdu, SvReader

__all__ = ["SvSession"]

_SAMPLE_STRUCTS: dict[int, struct.Struct] = {}


def _sample_struct(channels: int) -> struct.Struct:
    s = _SAMPLE_STRUCTS.get(channels)
    if s is None:
        s = _SAMPLE_STRUCTS[channels] = struct.Struct(">" + "iI" * channels)
    return s


class _Stream:
    __slots__ = (
        "appid",
        "asdus",
        "bad_sample",
        "channels",
        "conf_rev",
        "conf_rev_changes",
        "dat_set",
        "dst_mac",
        "duplicates",
        "first_ts",
        "frame",
        "frames",
        "gaps",
        "invalid",
        "maxs",
        "mins",
        "missing",
        "noasdu_bad",
        "quality_problems",
        "repeats",
        "report_ts",
        "sample",
        "sample_size",
        "sample_ts",
        "simulated",
        "smp_cnt",
        "src_mac",
        "sv_id",
        "sync_lost",
        "synch",
        "synch_changes",
        "ts",
        "unpack",
        "vlan",
        "wrap_at",
        "wraps",
    )

    def __init__(self, ctx: LinkContext, pdu: SvPdu, asdu: SvAsdu) -> None:
        self.src_mac, self.dst_mac, self.vlan = ctx.src_mac, ctx.dst_mac, ctx.vlan
        self.appid, self.sv_id, self.dat_set = pdu.appid, asdu.sv_id, asdu.dat_set
        self.first_ts = self.ts = self.report_ts = ctx.ts
        self.frame = ctx.frame
        self.frames = 0
        self.asdus = 0
        self.smp_cnt = asdu.smp_cnt - 1  # so the first ASDU is in sequence
        self.wrap_at: int | None = None
        self.gaps = self.missing = self.repeats = self.wraps = self.duplicates = 0
        self.sample = b""
        self.sample_ts = 0.0
        self.sample_size = 0
        self.unpack: Callable[[bytes], tuple[int, ...]] | None = None
        self.conf_rev = asdu.conf_rev
        self.conf_rev_changes = 0
        self.synch = asdu.smp_synch
        self.synch_changes = self.sync_lost = 0
        self.quality_problems = 0
        self.invalid = False
        self.simulated = pdu.simulated
        self.channels = len(asdu.sample) // 8 if len(asdu.sample) % 8 == 0 else 0
        self.mins: list[int] = []
        self.maxs: list[int] = []
        self.bad_sample = False
        self.noasdu_bad = False


class SvSession:
    """The link-layer session of Sampled Values (one per engine)."""

    __slots__ = ("ctx", "full_reported", "reader", "streams")

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx
        self.reader = SvReader(MAX_STREAMS)
        self.streams: dict[tuple[str, int, str], _Stream] = {}
        self.full_reported = False

    def on_frame(self, payload: bytes) -> None:
        ctx = self.ctx
        try:
            pdu = self.reader.parse(payload)
        except Malformed as m:
            ctx.anomaly(m.code, m.detail)
            return
        src = ctx.src_mac
        streams = self.streams
        frame = ctx.frame
        ts = ctx.ts
        asdus = pdu.asdus
        for asdu in asdus:
            key = (src, pdu.appid, asdu.sv_id)
            st = streams.pop(key, None)
            if st is None:
                st = self._new(key, pdu, asdu)
            streams[key] = st  # most recently seen last
            if st.frame != frame or not st.frames:
                st.frames += 1
                st.ts = ts
                st.frame = frame
                if pdu.reserved1 & SIMULATE_BIT:
                    st.simulated = True
                if pdu.no_asdu != len(asdus) and not st.noasdu_bad:
                    st.noasdu_bad = True
                    ctx.anomaly("sv.noasdu_mismatch", f"{asdu.sv_id}: noASDU {pdu.no_asdu}, "
                                f"{len(asdus)} ASDUs")
            self._asdu(st, asdu, ts)
            if ts - st.report_ts >= REPORT_INTERVAL:
                self._summary(st, "interim")
                st.report_ts = ts

    def close(self) -> None:
        for st in self.streams.values():
            self._summary(st, "end")
        self.streams.clear()

    def _new(self, key: tuple[str, int, str], pdu: SvPdu, asdu: SvAsdu) -> _Stream:
        ctx = self.ctx
        if len(self.streams) >= MAX_STREAMS:
            oldest = next(iter(self.streams))
            self._summary(self.streams.pop(oldest), "evicted")
            if not self.full_reported:
                self.full_reported = True
                ctx.anomaly("sv.too_many_streams",
                            f"more than {MAX_STREAMS} streams; the least recently seen are "
                            "reported and forgotten")
        st = _Stream(ctx, pdu, asdu)
        ctx.emit(SvStreamEvent(
            **ctx.fields(), appid=pdu.appid, sv_id=asdu.sv_id, dat_set=asdu.dat_set,
            conf_rev=asdu.conf_rev, smp_cnt=asdu.smp_cnt, smp_rate=asdu.smp_rate,
            smp_mod=None if asdu.smp_mod is None else SMP_MOD_NAMES.get(
                asdu.smp_mod, str(asdu.smp_mod)),
            smp_synch=asdu.smp_synch, smp_synch_name=smp_synch_name(asdu.smp_synch),
            refr_tm=None if asdu.refr_tm is None else utc_time(asdu.refr_tm)[0],
            gm_identity=None if asdu.gm_identity is None else asdu.gm_identity.hex(),
            no_asdu=pdu.no_asdu, channels=len(asdu.sample) // 8, security=pdu.security,
            simulated=pdu.simulated, reserved1=pdu.reserved1, reserved2=pdu.reserved2,
            function_class="other"))
        return st

    def _asdu(self, st: _Stream, asdu: SvAsdu, ts: float) -> None:
        ctx = self.ctx
        st.asdus += 1
        cnt = asdu.smp_cnt
        expected = st.smp_cnt + 1
        if cnt != expected:
            if cnt == 0 and (st.wrap_at is None or expected == st.wrap_at):
                st.wraps += 1
                st.wrap_at = expected
            elif cnt == st.smp_cnt and asdu.sample == st.sample and (
                    ts - st.sample_ts <= DUPLICATE_WINDOW):
                # the same sample again at once: a PRP/HSR twin or a second mirror port
                st.duplicates += 1
                st.asdus -= 1
                return
            elif cnt == st.smp_cnt:
                st.repeats += 1
                ctx.anomaly("sv.smpcnt_repeat", f"{st.sv_id}: smpCnt {cnt} repeated")
            else:
                modulus = st.wrap_at or 65536
                lost = (cnt - expected) % modulus
                st.gaps += 1
                st.missing += lost
                ctx.anomaly("sv.smpcnt_gap",
                            f"{st.sv_id}: smpCnt {st.smp_cnt} -> {cnt} ({lost} missing)")
        st.smp_cnt = cnt
        st.sample = asdu.sample
        st.sample_ts = ts
        if asdu.conf_rev != st.conf_rev:
            st.conf_rev_changes += 1
            ctx.anomaly("sv.confrev_changed",
                        f"{st.sv_id}: confRev {st.conf_rev} -> {asdu.conf_rev}")
            st.conf_rev = asdu.conf_rev
        synch = asdu.smp_synch
        if synch != st.synch:
            st.synch_changes += 1
            if synch == 0:
                st.sync_lost += 1
                ctx.anomaly("sv.sync_lost", f"{st.sv_id}: smpSynch {st.synch} -> 0 at smpCnt "
                            f"{cnt}")
            st.synch = synch
        sample = asdu.sample
        unpack = st.unpack
        if unpack is None or len(sample) != st.sample_size:
            n, rest = divmod(len(sample), 8)
            if rest or not n:
                if not st.bad_sample:
                    st.bad_sample = True
                    ctx.anomaly("sv.bad_sample_length",
                                f"{st.sv_id}: sample of {len(sample)} octets")
                return
            unpack = st.unpack = _sample_struct(n).unpack
            st.sample_size = len(sample)
        values = unpack(sample)
        qualities = values[1::2]
        if any(qualities):
            self._quality(st, qualities)
        elif st.invalid:
            st.invalid = False
        measured = values[0:2 * MAX_CHANNELS:2]
        if st.mins and len(st.mins) == len(measured):
            st.mins = list(map(min, st.mins, measured))
            st.maxs = list(map(max, st.maxs, measured))
        else:
            st.mins = list(measured)
            st.maxs = list(measured)
            st.channels = n

    def _quality(self, st: _Stream, qualities: tuple[int, ...]) -> None:
        bad = [(i, q & 3) for i, q in enumerate(qualities) if q & 3]
        if bad:
            st.quality_problems += 1
        invalid = [i for i, v in bad if v == 1]
        if invalid and not st.invalid:
            names = ", ".join(f"{i}" for i in invalid[:8])
            self.ctx.anomaly("sv.quality_invalid",
                             f"{st.sv_id}: channel(s) {names} {VALIDITY_NAMES[1]} at smpCnt "
                             f"{st.smp_cnt}")
        st.invalid = bool(invalid)

    def _summary(self, st: _Stream, reason: str) -> None:
        le = st.channels == LE_CHANNELS and len(st.mins) == LE_CHANNELS
        self.ctx.emit(SvSummaryEvent(
            ts=st.ts, frame=st.frame, src_mac=st.src_mac, dst_mac=st.dst_mac, vlan=st.vlan,
            appid=st.appid, sv_id=st.sv_id, dat_set=st.dat_set, first_seen=st.first_ts,
            last_seen=st.ts, frames=st.frames, asdus=st.asdus, smp_cnt_gaps=st.gaps,
            samples_missing=st.missing, smp_cnt_repeats=st.repeats, duplicates=st.duplicates,
            smp_cnt_wraps=st.wraps,
            wrap_at=st.wrap_at, last_smp_cnt=st.smp_cnt, conf_rev=st.conf_rev,
            conf_rev_changes=st.conf_rev_changes, smp_synch=st.synch,
            smp_synch_changes=st.synch_changes, sync_lost=st.sync_lost,
            quality_problems=st.quality_problems, simulated=st.simulated, channels=st.channels,
            raw_min=st.mins, raw_max=st.maxs,
            current_min=[round(v * LE_CURRENT_SCALE, 3) for v in st.mins[:4]] if le else [],
            current_max=[round(v * LE_CURRENT_SCALE, 3) for v in st.maxs[:4]] if le else [],
            voltage_min=[round(v * LE_VOLTAGE_SCALE, 2) for v in st.mins[4:]] if le else [],
            voltage_max=[round(v * LE_VOLTAGE_SCALE, 2) for v in st.maxs[4:]] if le else [],
            end_reason=reason))
