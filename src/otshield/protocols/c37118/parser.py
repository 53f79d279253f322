"""IEEE C37.118.2-2011 parsing: common frame fields and CRC, command, header and configuration
(CFG-1, CFG-2, CFG-3) frames, and data frames decoded with their configuration.
Pure: bytes in, records out; raises only ``Malformed``. Big-endian throughout.

References: IEEE Std C37.118.2-2011 6.2 (common fields: SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC,
CHK = CRC-CCITT, polynomial 0x1021, initial 0xFFFF), 6.3 (data frame, table 5; STAT table 7;
FORMAT table 9), 6.4 (CFG-1/2 frame, table 8; PHUNIT, ANUNIT, DIGUNIT, FNOM), 6.4.2 (CFG-3,
table 10), 6.5 (header frame), 6.6 (command frame, table 15).
"""

from __future__ import annotations

import math
import struct
from binascii import crc_hqx

from otshield.errors import Malformed

__all__ = [
    "CommonHeader",
    "Config",
    "PmuConfig",
    "PmuData",
    "check_data",
    "decode_block",
    "decode_common",
    "decode_config",
    "decode_config3",
    "decode_data",
    "frame_size",
    "probe",
]

_COMMON = struct.Struct(">BBHHII")
COMMON_LEN = 14
MAX_CHANNELS = 64
MAX_PMUS = 512
_U16 = struct.Struct(">H")
_I16 = struct.Struct(">h")
_U32 = struct.Struct(">I")
_F32 = struct.Struct(">f")


class CommonHeader:
    __slots__ = ("body", "crc_ok", "fracsec", "frame_type", "idcode", "size", "soc",
                 "time_quality", "version")

    def __init__(self, frame_type: int, version: int, size: int, idcode: int, soc: int,
                 fracsec: int, body: bytes, crc_ok: bool) -> None:
        self.frame_type = frame_type
        self.version = version
        self.size = size
        self.idcode = idcode
        self.soc = soc
        self.fracsec = fracsec & 0x00FFFFFF
        self.time_quality = fracsec >> 24
        self.body = body
        self.crc_ok = crc_ok


class PmuConfig:
    """One PMU block of a configuration frame."""

    __slots__ = (
        "analog_factors",
        "analog_float",
        "annmr",
        "cfgcnt",
        "channels",
        "data_size",
        "dgnmr",
        "fnom",
        "freq_float",
        "freq_offset",
        "freq_struct",
        "idcode",
        "name",
        "phasor_factors",
        "phasor_float",
        "phasor_types",
        "phnmr",
        "polar",
    )

    def __init__(self) -> None:
        self.name = ""
        self.idcode = 0
        self.polar = False
        self.phasor_float = False
        self.analog_float = False
        self.freq_float = False
        self.phnmr = 0
        self.annmr = 0
        self.dgnmr = 0
        self.channels: list[str] = []
        self.phasor_factors: list[float] = []
        """Integer phasors: units per bit (PHUNIT 24-bit factor x 1e-5)."""
        self.phasor_types: list[str] = []
        self.analog_factors: list[float] = []
        self.fnom = 60
        self.cfgcnt = 0
        self.data_size = 0
        self.freq_offset = 0
        self.freq_struct = _I16

    def finish(self) -> None:
        """Where things are in this PMU's block of a data frame (table 5)."""
        ph = 8 if self.phasor_float else 4
        fq = 4 if self.freq_float else 2
        an = 4 if self.analog_float else 2
        self.data_size = 2 + self.phnmr * ph + 2 * fq + self.annmr * an + self.dgnmr * 2
        self.freq_offset = 2 + self.phnmr * ph
        self.freq_struct = _F32 if self.freq_float else _I16

    def frequency(self, body: bytes, off: int) -> float:
        """FREQ of the block at ``off``, in Hz (integer FREQ: mHz from nominal)."""
        raw = self.freq_struct.unpack_from(body, off + self.freq_offset)[0]
        return float(raw) if self.freq_float else self.fnom + raw / 1000.0


class Config:
    __slots__ = ("cont_idx", "data_rate", "data_size", "pmus", "time_base", "time_flags")

    def __init__(self, time_base: int, time_flags: int, pmus: list[PmuConfig], data_rate: int,
                 cont_idx: int | None = None) -> None:
        self.time_base = time_base
        self.time_flags = time_flags
        self.pmus = pmus
        self.data_rate = data_rate
        self.data_size = sum(p.data_size for p in pmus)
        """Bytes of a data frame body under this configuration."""
        self.cont_idx = cont_idx


class PmuData:
    """One PMU block of a data frame."""

    __slots__ = ("analogs", "dfreq", "digitals", "freq", "phasors", "stat")

    def __init__(self, stat: int, phasors: list[tuple[float, float]], freq: float,
                 dfreq: float, analogs: list[float], digitals: list[int]) -> None:
        self.stat = stat
        self.phasors = phasors
        self.freq = freq
        self.dfreq = dfreq
        self.analogs = analogs
        self.digitals = digitals


def frame_size(buf: bytes) -> int | None:
    """FRAMESIZE (bytes 2-3) counts the whole frame, SYNC to CHK."""
    if not buf:
        return None
    if buf[0] != 0xAA:
        raise Malformed("c37118.bad_sync", f"first byte 0x{buf[0]:02x}, SYNC needs 0xAA")
    if len(buf) < 4:
        return None
    size = _U16.unpack_from(buf, 2)[0]
    if size < COMMON_LEN + 2:
        raise Malformed("c37118.bad_length", f"FRAMESIZE {size}")
    return int(size)


def probe(payload: bytes, from_client: bool) -> bool:
    """SYNC 0xAA with a defined frame type, and a first frame whose CHK is right."""
    if len(payload) < 16 or payload[0] != 0xAA or payload[1] & 0x80 or (payload[1] >> 4) > 5:
        return False
    size = _U16.unpack_from(payload, 2)[0]
    if not 16 <= size <= len(payload):
        return False
    return bool(crc_hqx(payload[:size - 2], 0xFFFF) == _U16.unpack_from(payload, size - 2)[0])


def decode_common(frame: bytes) -> CommonHeader:
    """SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC and the CRC check (6.2)."""
    n = len(frame)
    if n < COMMON_LEN + 2:
        raise Malformed("c37118.bad_length", f"frame of {n} bytes")
    sync, second, size, idcode, soc, fracsec = _COMMON.unpack_from(frame)
    if sync != 0xAA or second & 0x80:
        raise Malformed("c37118.bad_sync", f"SYNC 0x{sync:02x}{second:02x}")
    if size != n:
        raise Malformed("c37118.bad_length", f"FRAMESIZE {size} for {n} bytes")
    crc_ok = crc_hqx(frame[:-2], 0xFFFF) == _U16.unpack_from(frame, n - 2)[0]
    return CommonHeader((second >> 4) & 0x07, second & 0x0F, size, idcode, soc, fracsec,
                        frame[COMMON_LEN:-2], crc_ok)


def _name(raw: bytes) -> str:
    return raw.decode("latin-1").rstrip(" \0")


def _need(body: bytes, end: int, what: str) -> None:
    if end > len(body):
        raise Malformed("c37118.bad_config", f"{what} truncated")


def _format(pmu: PmuConfig, fmt: int) -> None:
    pmu.polar = bool(fmt & 0x01)
    pmu.phasor_float = bool(fmt & 0x02)
    pmu.analog_float = bool(fmt & 0x04)
    pmu.freq_float = bool(fmt & 0x08)


def _phunit(pmu: PmuConfig, word: int) -> None:
    pmu.phasor_types.append("current" if word >> 24 == 1 else "voltage")
    pmu.phasor_factors.append((word & 0xFFFFFF) * 1e-5)


def decode_config(body: bytes) -> Config:
    """CFG-1 / CFG-2 body (after FRACSEC, before CHK), table 8."""
    _need(body, 6, "TIME_BASE and NUM_PMU")
    tb = _U32.unpack_from(body)[0]
    num = _U16.unpack_from(body, 4)[0]
    if num > MAX_PMUS:
        raise Malformed("c37118.bad_config", f"NUM_PMU {num}")
    off = 6
    pmus: list[PmuConfig] = []
    for _ in range(num):
        _need(body, off + 26, "PMU block")
        pmu = PmuConfig()
        pmu.name = _name(body[off:off + 16])
        idcode, fmt, ph, an, dg = struct.unpack_from(">HHHHH", body, off + 16)
        pmu.idcode = idcode
        _format(pmu, fmt)
        pmu.phnmr, pmu.annmr, pmu.dgnmr = ph, an, dg
        off += 26
        names = ph + an + 16 * dg
        _need(body, off + 16 * names + 4 * (ph + an + dg) + 4, "channel names and units")
        pmu.channels = [_name(body[off + 16 * i:off + 16 * i + 16])
                        for i in range(min(names, MAX_CHANNELS))]
        off += 16 * names
        for i in range(ph):
            _phunit(pmu, _U32.unpack_from(body, off + 4 * i)[0])
        off += 4 * ph
        for i in range(an):
            word = _U32.unpack_from(body, off + 4 * i)[0] & 0xFFFFFF
            pmu.analog_factors.append(float(word - (1 << 24) if word & 0x800000 else word))
        off += 4 * an + 4 * dg
        fnom, pmu.cfgcnt = struct.unpack_from(">HH", body, off)
        pmu.fnom = 50 if fnom & 1 else 60
        off += 4
        pmu.finish()
        pmus.append(pmu)
    _need(body, off + 2, "DATA_RATE")
    rate = _I16.unpack_from(body, off)[0]
    return Config(tb & 0xFFFFFF, tb >> 24, pmus, rate)


def _lname(body: bytes, off: int) -> tuple[str, int]:
    _need(body, off + 1, "name length")
    n = body[off]
    _need(body, off + 1 + n, "name")
    return _name(body[off + 1:off + 1 + n]), off + 1 + n


def decode_config3(body: bytes) -> Config:
    """CFG-3 body (table 10). Only a frame that is whole (CONT_IDX 0) is decoded; the
    fragments of a multi-frame configuration give an empty PMU list."""
    _need(body, 8, "CONT_IDX, TIME_BASE and NUM_PMU")
    cont = _U16.unpack_from(body)[0]
    tb = _U32.unpack_from(body, 2)[0]
    num = _U16.unpack_from(body, 6)[0]
    if cont != 0:
        return Config(tb & 0xFFFFFF, tb >> 24, [], 0, cont)
    if num > MAX_PMUS:
        raise Malformed("c37118.bad_config", f"NUM_PMU {num}")
    off = 8
    pmus: list[PmuConfig] = []
    for _ in range(num):
        pmu = PmuConfig()
        pmu.name, off = _lname(body, off)
        _need(body, off + 26, "PMU block")
        pmu.idcode = _U16.unpack_from(body, off)[0]
        off += 18  # IDCODE, G_PMU_ID (16)
        fmt, ph, an, dg = struct.unpack_from(">HHHH", body, off)
        _format(pmu, fmt)
        pmu.phnmr, pmu.annmr, pmu.dgnmr = ph, an, dg
        off += 8
        for _i in range(ph + an + 16 * dg):
            name, off = _lname(body, off)
            if len(pmu.channels) < MAX_CHANNELS:
                pmu.channels.append(name)
        _need(body, off + 12 * ph + 8 * an + 4 * dg + 12 + 1 + 8 + 4, "scales and PMU data")
        for i in range(ph):  # PHSCALE: flags(4), scale factor float, angle offset float
            word = _U32.unpack_from(body, off + 12 * i)[0]
            pmu.phasor_types.append("current" if word & 0x0800 else "voltage")
            pmu.phasor_factors.append(float(_F32.unpack_from(body, off + 12 * i + 4)[0]))
        off += 12 * ph
        for i in range(an):  # ANSCALE: scale float, offset float
            pmu.analog_factors.append(float(_F32.unpack_from(body, off + 8 * i)[0]))
        off += 8 * an + 4 * dg + 12 + 1 + 8  # DIGUNIT, lat/lon/elev, SVC_CLASS, WINDOW, GRP_DLY
        fnom, pmu.cfgcnt = struct.unpack_from(">HH", body, off)
        pmu.fnom = 50 if fnom & 1 else 60
        off += 4
        pmu.finish()
        pmus.append(pmu)
    _need(body, off + 2, "DATA_RATE")
    rate = _I16.unpack_from(body, off)[0]
    return Config(tb & 0xFFFFFF, tb >> 24, pmus, rate, cont)


def check_data(body: bytes, config: Config) -> None:
    """A data frame body must be as long as its configuration says (table 5)."""
    if len(body) != config.data_size:
        raise Malformed("c37118.config_mismatch", f"data frame of {len(body)} bytes, the "
                        f"configuration needs {config.data_size}")


def decode_data(body: bytes, config: Config) -> list[PmuData]:
    """A data frame body laid out by ``config`` (table 5), every PMU block decoded."""
    check_data(body, config)
    out: list[PmuData] = []
    off = 0
    for pmu in config.pmus:
        out.append(decode_block(body, off, pmu))
        off += pmu.data_size
    return out


def decode_block(body: bytes, off: int, pmu: PmuConfig) -> PmuData:
    """The PMU block at ``off``: STAT, phasors scaled to V/A and radians, FREQ, DFREQ, analog
    values, digital words."""
    stat = _U16.unpack_from(body, off)[0]
    p = off + 2
    phasors: list[tuple[float, float]] = []
    if pmu.phasor_float:
        raw = struct.unpack_from(f">{2 * pmu.phnmr}f", body, p)
        p += 8 * pmu.phnmr
        for i in range(pmu.phnmr):
            a, b = raw[2 * i], raw[2 * i + 1]
            phasors.append((a, b) if pmu.polar else (math.hypot(a, b), math.atan2(b, a)))
    else:
        fmt = f">{'Hh' * pmu.phnmr}" if pmu.polar else f">{'hh' * pmu.phnmr}"
        raw_i = struct.unpack_from(fmt, body, p)
        p += 4 * pmu.phnmr
        for i in range(pmu.phnmr):
            k = pmu.phasor_factors[i]
            a, b = raw_i[2 * i], raw_i[2 * i + 1]
            if pmu.polar:  # angle in 10^-4 radians
                phasors.append((a * k, b / 10000.0))
            else:
                phasors.append((math.hypot(a, b) * k, math.atan2(b, a)))
    if pmu.freq_float:
        freq, dfreq = struct.unpack_from(">ff", body, p)
        p += 8
    else:  # FREQ in mHz from nominal, DFREQ in hundredths of Hz/s
        df, rocof = struct.unpack_from(">hh", body, p)
        freq, dfreq = pmu.fnom + df / 1000.0, rocof / 100.0
        p += 4
    if pmu.analog_float:
        analogs = list(struct.unpack_from(f">{pmu.annmr}f", body, p))
        p += 4 * pmu.annmr
    else:
        analogs = [float(v) for v in struct.unpack_from(f">{pmu.annmr}h", body, p)]
        p += 2 * pmu.annmr
    digitals = list(struct.unpack_from(f">{pmu.dgnmr}H", body, p))
    return PmuData(stat, phasors, float(freq), float(dfreq), analogs, digitals)
