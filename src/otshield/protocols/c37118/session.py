"""Per-flow IEEE C37.118 state (TCP 4712, UDP 4712/4713).

Configuration frames are kept per stream IDCODE (bounded) so data frames can be decoded
(C37.118.2-2011 6.3: a data frame is meaningless without the configuration of its stream).
Data frames update a per-PMU record that is emitted when the STAT flags change, every
``INTERIM_SECONDS`` of packet time, and as a summary when the flow ends; command, header and
configuration frames are events of their own.
"""

from __future__ import annotations

import math
import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.c37118.constants import (
    COMMANDS,
    DATA_ERRORS,
    FRAME_TYPES,
    TRIGGER_REASONS,
    UNLOCKED_TIME,
)
from otshield.protocols.c37118.events import (
    C37118DataEvent,
    C37118Event,
    C37118Phasor,
    C37118Station,
)
from otshield.protocols.c37118.parser import (
    CommonHeader,
    Config,
    PmuConfig,
    check_data,
    decode_block,
    decode_common,
    decode_config,
    decode_config3,
)

__all__ = ["C37118Session"]

MAX_STREAMS = 64
MAX_HEADER = 512
INTERIM_SECONDS = 300.0
"""A long-running stream is summarised every 5 minutes of packet time, not only at its end."""
_STATE_MASK = 0xEC00  # data error (15-14), sync (13), trigger (11), config change (10)
_STAT = struct.Struct(">H")


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


class _Pmu:
    """What one PMU of a stream sent since its last record."""

    __slots__ = (
        "body",
        "config_change",
        "errors",
        "fmax",
        "fmin",
        "frames",
        "last_time",
        "offset",
        "pmu",
        "quality",
        "start",
        "stat",
        "trigger",
        "unsync",
    )

    def __init__(self, pmu: PmuConfig, ts: float) -> None:
        self.pmu = pmu
        self.frames = 0
        self.start = ts
        self.stat: int | None = None
        self.body = b""
        """Body of the last data frame and where this PMU's block is in it."""
        self.offset = 0
        self.last_time: float | None = None
        self.quality: int | None = None
        self.errors = self.unsync = self.trigger = self.config_change = 0
        self.fmin = math.inf
        self.fmax = -math.inf


class _Stream:
    __slots__ = ("config", "from_client", "pmus")

    def __init__(self, config: Config, from_client: bool) -> None:
        self.config = config
        self.from_client = from_client
        self.pmus: list[_Pmu] = []


class C37118Session:
    """C37.118 decoder state for one flow."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.streams: dict[int, _Stream] = {}
        self.unconfigured: set[int] = set()
        self.time_base: dict[int, int] = {}

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            hdr = decode_common(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if not hdr.crc_ok:
            flow.anomaly("c37118.bad_crc", f"{FRAME_TYPES.get(hdr.frame_type, 'frame')} from "
                         f"IDCODE {hdr.idcode}: CHK does not match", from_client)
            return
        ftype = hdr.frame_type
        if ftype == 0:
            self._data(hdr, from_client)
        elif ftype in (2, 3, 5):
            self._config(hdr, from_client)
        elif ftype in (1, 4):
            self._simple(hdr, from_client)
        else:
            flow.anomaly("c37118.unknown_frame_type", f"frame type {ftype}", from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: C37.118 over TCP is framed by ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: the framer restarts at the next SYNC word."""

    def close(self) -> None:
        for idcode, stream in self.streams.items():
            for state in stream.pmus:
                if state.frames:
                    self._report(idcode, stream, state, "summary")

    # -- frames ---------------------------------------------------------------------------------
    def _time(self, hdr: CommonHeader, base: int | None) -> float | None:
        if not base:
            return None
        return hdr.soc + hdr.fracsec / base

    def _simple(self, hdr: CommonHeader, from_client: bool) -> None:
        flow = self.flow
        body = hdr.body
        base = C37118Event(
            **flow.fields(from_client), frame_type=FRAME_TYPES[hdr.frame_type],
            version=hdr.version, idcode=hdr.idcode, soc=hdr.soc, fracsec=hdr.fracsec,
            time_quality=hdr.time_quality, function_class="identify",
            frame_time=self._time(hdr, self.time_base.get(hdr.idcode)))
        if hdr.frame_type == 1:
            flow.emit(msgspec.structs.replace(
                base, header=body[:MAX_HEADER].decode("latin-1").rstrip("\0 ")))
            return
        if len(body) < 2:
            flow.anomaly("c37118.bad_length", "command frame without CMD", from_client)
            return
        cmd = int.from_bytes(body[:2], "big")
        if cmd in COMMANDS:
            name, fclass = COMMANDS[cmd]
        elif cmd >= 0x1000:
            name, fclass = "user_defined", "other"
        else:
            name, fclass = f"reserved_{cmd}", "other"
            flow.anomaly("c37118.unknown_command", f"CMD {cmd}", from_client)
        flow.emit(msgspec.structs.replace(
            base, function_class=fclass, command=cmd, command_name=name,
            extended_data_size=len(body) - 2 if cmd == 8 else None))

    def _config(self, hdr: CommonHeader, from_client: bool) -> None:
        flow = self.flow
        try:
            config = decode_config3(hdr.body) if hdr.frame_type == 5 else decode_config(hdr.body)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if config.time_base and (hdr.idcode in self.time_base
                                 or len(self.time_base) < MAX_STREAMS):
            self.time_base[hdr.idcode] = config.time_base
        # CFG-2 (and whole CFG-3) describe what data frames carry; CFG-1 what the PMU can do.
        if hdr.frame_type != 2 and config.pmus:
            old = self.streams.get(hdr.idcode)
            if old is not None:
                for state in old.pmus:
                    if state.frames:
                        self._report(hdr.idcode, old, state, "summary")
            elif len(self.streams) >= MAX_STREAMS:
                flow.anomaly("c37118.too_many_streams",
                             f"more than {MAX_STREAMS} configured streams on one flow",
                             from_client)
                return
            self.streams[hdr.idcode] = _Stream(config, from_client)
            self.unconfigured.discard(hdr.idcode)
        stations = [C37118Station(
            name=p.name, idcode=p.idcode, polar=p.polar, phasor_float=p.phasor_float,
            analog_float=p.analog_float, freq_float=p.freq_float, phasors=p.phnmr,
            analogs=p.annmr, digitals=p.dgnmr, channels=p.channels,
            phasor_types=p.phasor_types or None, nominal_frequency=p.fnom, cfgcnt=p.cfgcnt)
            for p in config.pmus]
        flow.emit(C37118Event(
            **flow.fields(from_client), frame_type=FRAME_TYPES[hdr.frame_type],
            version=hdr.version, idcode=hdr.idcode, soc=hdr.soc, fracsec=hdr.fracsec,
            time_quality=hdr.time_quality, function_class="identify",
            frame_time=self._time(hdr, config.time_base), time_base=config.time_base,
            data_rate=config.data_rate if config.pmus or config.cont_idx is None else None,
            num_pmu=len(config.pmus), cont_idx=config.cont_idx, stations=stations))

    def _data(self, hdr: CommonHeader, from_client: bool) -> None:
        flow = self.flow
        stream = self.streams.get(hdr.idcode)
        if stream is None:
            if hdr.idcode not in self.unconfigured and len(self.unconfigured) < MAX_STREAMS:
                self.unconfigured.add(hdr.idcode)
                flow.anomaly("c37118.data_before_config",
                             f"data frames of IDCODE {hdr.idcode} before its configuration "
                             "frame: not decoded", from_client)
            return
        body = hdr.body
        try:
            check_data(body, stream.config)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if not stream.pmus:
            stream.pmus = [_Pmu(p, flow.ts) for p in stream.config.pmus]
        when = self._time(hdr, stream.config.time_base)
        off = 0
        # Per frame only STAT and FREQ are read; the rest of the last frame is decoded when a
        # record is reported.
        for state in stream.pmus:
            pmu = state.pmu
            stat = _STAT.unpack_from(body, off)[0]
            prev = state.stat
            if prev is not None and (prev ^ stat) & _STATE_MASK:
                self._report(hdr.idcode, stream, state, "status_change")
                state.start = flow.ts
            elif prev is not None and flow.ts - state.start >= INTERIM_SECONDS:
                self._report(hdr.idcode, stream, state, "interim")
                state.start = flow.ts
            if stat & _STATE_MASK and (prev is None or (prev ^ stat) & _STATE_MASK):
                flow.anomaly("c37118.stat_flags",
                             f"PMU {pmu.idcode} ({pmu.name}): {_flags(stat)}", from_client)
            state.frames += 1
            state.stat = stat
            state.body = body
            state.offset = off
            state.last_time = when
            state.quality = hdr.time_quality
            if stat & 0xC000:
                state.errors += 1
            if stat & 0x2000:
                state.unsync += 1
            if stat & 0x0800:
                state.trigger += 1
            if stat & 0x0400:
                state.config_change += 1
            f = pmu.frequency(body, off)
            if f < state.fmin:
                state.fmin = f
            if f > state.fmax:
                state.fmax = f
            off += pmu.data_size

    def _report(self, idcode: int, stream: _Stream, state: _Pmu, reason: str) -> None:
        flow = self.flow
        pmu = state.pmu
        block = decode_block(state.body, state.offset, pmu)
        stat = block.stat
        names = pmu.channels
        phasors = [C37118Phasor(name=names[i] if i < len(names) else None, magnitude=m,
                                angle=a) for i, (m, a) in enumerate(block.phasors[:16])
                   if math.isfinite(m) and math.isfinite(a)]
        flow.emit(C37118DataEvent(
            **flow.fields(stream.from_client), reason=reason, idcode=idcode,
            pmu_idcode=pmu.idcode, station=pmu.name, frames=state.frames, start=state.start,
            stat=stat, data_error=DATA_ERRORS[stat >> 14], sync=not stat & 0x2000,
            sorted_by_arrival=bool(stat & 0x1000), trigger=bool(stat & 0x0800),
            trigger_reason=TRIGGER_REASONS[stat & 0x0F] if stat & 0x0800 else None,
            config_change=bool(stat & 0x0400), data_modified=bool(stat & 0x0200),
            unlocked_time=UNLOCKED_TIME[(stat >> 4) & 0x03] if stat & 0x2000 else None,
            time_quality=state.quality, frame_time=state.last_time,
            error_frames=state.errors, unsync_frames=state.unsync,
            trigger_frames=state.trigger, config_change_frames=state.config_change,
            freq=_finite(block.freq), freq_min=_finite(state.fmin),
            freq_max=_finite(state.fmax), dfreq=_finite(block.dfreq),
            phasors=phasors or None,
            analogs=[a for a in block.analogs[:16] if math.isfinite(a)] or None,
            digitals=block.digitals[:16] or None))
        state.frames = state.errors = state.unsync = state.trigger = state.config_change = 0
        state.fmin, state.fmax = math.inf, -math.inf


def _flags(stat: int) -> str:
    parts = []
    if stat & 0xC000:
        parts.append(DATA_ERRORS[stat >> 14])
    if stat & 0x2000:
        parts.append("not in sync")
    if stat & 0x0800:
        parts.append(f"trigger ({TRIGGER_REASONS[stat & 0x0F]})")
    if stat & 0x0400:
        parts.append("configuration change")
    return ", ".join(parts)
