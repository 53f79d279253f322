"""IEC 60870-5-101/104 information elements: one decoder per value layout, and the time tags.

Every decoder reads the value part of one information object at an offset and returns the
:class:`Iec104Object`; the time tag that follows it (if the type has one) is decoded first and
passed in as keyword fields. References (IEC 60870-5-101:2003): SIQ 7.2.6.1, DIQ 7.2.6.2,
QDS 7.2.6.3, QDP 7.2.6.4, VTI 7.2.6.5, NVA 7.2.6.6, SVA 7.2.6.7, IEEE 754 short float 7.2.6.8,
BCR 7.2.6.9, SEP 7.2.6.10, SPE 7.2.6.11, OCI 7.2.6.12, BSI 7.2.6.13, SCD 7.2.6.40, SCO 7.2.6.15,
DCO 7.2.6.16, RCO 7.2.6.17, CP56Time2a 7.2.6.18, CP24Time2a 7.2.6.19, CP16Time2a 7.2.6.20,
COI 7.2.6.21, QOI 7.2.6.22, QCC 7.2.6.23, QPM 7.2.6.24, QPA 7.2.6.25, QRP 7.2.6.27, FBP
7.2.6.14, TSC 7.2.6.28, file transfer 7.2.6.33-38 (NOF, NOS, LOF, LOS, CHS, SOF) and the
qualifiers FRQ, SRQ, SCQ, LSQ, AFQ (7.2.6.28-32), QOS 7.2.6.39.
"""

from __future__ import annotations

import calendar
import struct
import time as _time
from collections.abc import Callable
from typing import TypedDict

from otshield.protocols.iec104.constants import (
    AFQ_ACK,
    COI_CAUSES,
    DCS_NAMES,
    DPI_NAMES,
    FILE_ERRORS,
    FRZ_NAMES,
    KPA_NAMES,
    LSQ_NAMES,
    QPA_NAMES,
    QRP_NAMES,
    QU_NAMES,
    RCS_NAMES,
    SCQ_SELECT,
    qoi_name,
    rqt_name,
)
from otshield.protocols.iec104.events import Iec104Object

__all__ = ["TIME_SIZES", "TRAILING", "VALUES", "TimeFields", "cp24", "cp56", "segment"]

_H = struct.Struct("<h")
_UH = struct.Struct("<H")
_I = struct.Struct("<i")
_UI = struct.Struct("<I")
_F = struct.Struct("<f")
_HH = struct.Struct("<HH")
_HB = struct.Struct("<HB")


class TimeFields(TypedDict, total=False):
    """The time fields of :class:`Iec104Object` a time tag fills."""

    time: str | None
    time_epoch: float | None
    time_invalid: bool
    time_summer: bool
    time_substituted: bool
    time_partial: bool


def _flags(names: dict[int, str]) -> tuple[tuple[str, ...], ...]:
    """For every octet value, the names of the bits set in it (ascending bit order)."""
    return tuple(tuple(n for bit, n in names.items() if v >> bit & 1) for v in range(256))


# Quality bits shared by SIQ, DIQ, QDS, QDP, SEP (101 7.2.6.1-4, 7.2.6.10): masked per element.
_QUALITY = _flags({0: "OV", 3: "EI", 4: "BL", 5: "SB", 6: "NT", 7: "IV"})
_BCR_FLAGS = _flags({5: "CY", 6: "CA", 7: "IV"})
_SPE = _flags({0: "general_start", 1: "start_l1", 2: "start_l2", 3: "start_l3",
               4: "start_earth", 5: "start_reverse"})
_OCI = _flags({0: "general_command", 1: "command_l1", 2: "command_l2", 3: "command_l3"})
_SOF = _flags({5: "last_file", 6: "directory", 7: "transfer_active"})
_NVA_SCALE = 1.0 / 32768.0
_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
TimeError = list[str]


_FLOATS: dict[bytes, float] = {}
"""Raw short float -> its value rounded: a bounded cache (measured values repeat)."""
_FLOATS_MAX = 4096


def _short_float(b: bytes, o: int) -> float:
    """IEEE 754 single, shown with the 7 significant digits it carries (23.4, not
    23.399999618530273)."""
    raw = b[o:o + 4]
    v = _FLOATS.get(raw)
    if v is None:
        if len(_FLOATS) >= _FLOATS_MAX:
            _FLOATS.clear()
        v = _FLOATS[raw] = float(f"{_F.unpack_from(raw)[0]:.7g}")
    return v


def _names(table: tuple[tuple[str, ...], ...], v: int) -> str | None:
    return ",".join(table[v]) or None


def _coded(table: dict[int, str], v: int, private_from: int) -> str:
    name = table.get(v)
    if name is not None:
        return name
    return "private" if v >= private_from else "reserved"


# -- time tags ------------------------------------------------------------------------------------
_MINUTES: dict[bytes, tuple[str, int] | None] = {}
"""CP56Time2a octets 3-7 (minute to year, flag bits included) -> (ISO text up to the minute,
epoch of the minute), or None when impossible; a bounded cache, since time tags of one station
share their minute."""
_MINUTES_MAX = 4096


def _minute(key: bytes) -> tuple[str, int] | None:
    mi, hr, dd, mo, yy = key
    minute, hour, day, month, year = mi & 0x3F, hr & 0x1F, dd & 0x1F, mo & 0x0F, yy & 0x7F
    year += 1900 if year >= 70 else 2000
    if (minute > 59 or hour > 23 or not 1 <= month <= 12 or day < 1 or day > _DAYS[month]
            or (month == 2 and day == 29 and not calendar.isleap(year))):
        return None
    return (f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:",
            calendar.timegm((year, month, day, hour, minute, 0)))


def cp56(b: bytes, o: int, bad: TimeError) -> TimeFields:
    """CP56Time2a (7 octets). Years 70-99 are read as 1970-1999, 0-69 as 2000-2069 (the
    convention Wireshark follows too). Impossible fields give no ``time`` and a note in ``bad``."""
    ms: int = _UH.unpack_from(b, o)[0]
    key = b[o + 2:o + 7]
    if key in _MINUTES:
        minute = _MINUTES[key]
    else:
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        minute = _MINUTES[key] = _minute(key)
    mi, hr = key[0], key[1]
    out: TimeFields = {}
    if mi & 0x80:
        out["time_invalid"] = True
    if mi & 0x40:
        out["time_substituted"] = True
    if hr & 0x80:
        out["time_summer"] = True
    if minute is None or ms > 59999:
        yy = key[4] & 0x7F
        bad.append(f"{yy + (1900 if yy >= 70 else 2000):04d}-{key[3] & 0x0F:02d}-"
                   f"{key[2] & 0x1F:02d} {hr & 0x1F:02d}:{mi & 0x3F:02d} {ms} ms")
        return out
    sec, milli = divmod(ms, 1000)
    out["time"] = f"{minute[0]}{sec:02d}.{milli:03d}"
    out["time_epoch"] = minute[1] + ms / 1000
    return out


def cp24(b: bytes, o: int, bad: TimeError, now: float) -> TimeFields:
    """CP24Time2a (3 octets: milliseconds, minutes): the hour and date are the ones that put it
    nearest the packet time ``now``."""
    ms: int = _UH.unpack_from(b, o)[0]
    mi = b[o + 2]
    minute = mi & 0x3F
    out: TimeFields = {"time_partial": True}
    if mi & 0x80:
        out["time_invalid"] = True
    if ms > 59999 or minute > 59:
        bad.append(f"minute {minute} {ms} ms")
        return out
    base = now - now % 3600 + minute * 60 + ms / 1000
    best = min((base - 3600, base, base + 3600), key=lambda t: abs(t - now))
    whole = int(best // 1)
    milli = round((best - whole) * 1000)
    if milli == 1000:
        whole, milli = whole + 1, 0
    t = _time.gmtime(whole)
    out["time"] = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"
                   f"{t.tm_min:02d}:{t.tm_sec:02d}.{milli:03d}")
    out["time_epoch"] = whole + milli / 1000
    return out


TIME_SIZES: dict[str, int] = {"": 0, "cp24": 3, "cp56": 7}


# -- value layouts --------------------------------------------------------------------------------
Decoder = Callable[[bytes, int, int, TimeFields], Iec104Object]
"""(ASDU bytes, offset of the value part, information object address, time fields)."""


def _siq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    return Iec104Object(ioa=ioa, value=bool(x & 1), quality=_QUALITY[x & 0xF0], **t)


def _diq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    return Iec104Object(ioa=ioa, value=x & 3, state=DPI_NAMES[x & 3], quality=_QUALITY[x & 0xF0],
                        **t)


def _vti(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    step = (x & 0x7F) - 128 if x & 0x40 else x & 0x7F  # 7-bit two's complement
    return Iec104Object(ioa=ioa, value=step, transient=bool(x & 0x80),
                        quality=_QUALITY[b[o + 1] & 0xF1], **t)


def _bsi_qds(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_UI.unpack_from(b, o)[0],
                        quality=_QUALITY[b[o + 4] & 0xF1], **t)


def _nva_qds(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_H.unpack_from(b, o)[0] * _NVA_SCALE,
                        quality=_QUALITY[b[o + 2] & 0xF1], **t)


def _sva_qds(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_H.unpack_from(b, o)[0],
                        quality=_QUALITY[b[o + 2] & 0xF1], **t)


def _float_qds(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_short_float(b, o), quality=_QUALITY[b[o + 4] & 0xF1],
                        **t)


def _bcr(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    f = b[o + 4]
    return Iec104Object(ioa=ioa, value=_I.unpack_from(b, o)[0], sequence=f & 0x1F,
                        quality=_BCR_FLAGS[f], **t)


def _sep(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    return Iec104Object(ioa=ioa, value=x & 3, state=DPI_NAMES[x & 3], quality=_QUALITY[x & 0xF8],
                        elapsed_ms=_UH.unpack_from(b, o + 1)[0], **t)


def _spe(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o] & 0x3F
    return Iec104Object(ioa=ioa, value=x, state=_names(_SPE, x), quality=_QUALITY[b[o + 1] & 0xF8],
                        elapsed_ms=_UH.unpack_from(b, o + 2)[0], **t)


def _oci(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o] & 0x0F
    return Iec104Object(ioa=ioa, value=x, state=_names(_OCI, x), quality=_QUALITY[b[o + 1] & 0xF8],
                        elapsed_ms=_UH.unpack_from(b, o + 2)[0], **t)


def _scd(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    status, changes = _HH.unpack_from(b, o)
    return Iec104Object(ioa=ioa, value=status, changes=changes, quality=_QUALITY[b[o + 4] & 0xF1],
                        **t)


def _nva(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_H.unpack_from(b, o)[0] * _NVA_SCALE, **t)


def _sco(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    qu = x >> 2 & 0x1F
    return Iec104Object(ioa=ioa, value=bool(x & 1), state="on" if x & 1 else "off",
                        select=bool(x & 0x80), qualifier=qu,
                        qualifier_name=_coded(QU_NAMES, qu, 16), **t)


def _dco(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    qu = x >> 2 & 0x1F
    return Iec104Object(ioa=ioa, value=x & 3, state=DCS_NAMES[x & 3], select=bool(x & 0x80),
                        qualifier=qu, qualifier_name=_coded(QU_NAMES, qu, 16), **t)


def _rco(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    qu = x >> 2 & 0x1F
    return Iec104Object(ioa=ioa, value=x & 3, state=RCS_NAMES[x & 3], select=bool(x & 0x80),
                        qualifier=qu, qualifier_name=_coded(QU_NAMES, qu, 16), **t)


def _qos(value: float, x: int, ioa: int, t: TimeFields) -> Iec104Object:
    ql = x & 0x7F
    return Iec104Object(ioa=ioa, value=value, select=bool(x & 0x80), qualifier=ql,
                        qualifier_name="default" if ql == 0 else
                        "private" if ql >= 64 else "reserved", **t)


def _nva_qos(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qos(_H.unpack_from(b, o)[0] * _NVA_SCALE, b[o + 2], ioa, t)


def _sva_qos(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qos(_H.unpack_from(b, o)[0], b[o + 2], ioa, t)


def _float_qos(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qos(_short_float(b, o), b[o + 4], ioa, t)


def _bsi(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_UI.unpack_from(b, o)[0], **t)


def _coi(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    return Iec104Object(ioa=ioa, qualifier=x & 0x7F,
                        qualifier_name=_coded(COI_CAUSES, x & 0x7F, 32),
                        local_change=bool(x & 0x80), **t)


def _qoi(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, qualifier=b[o], qualifier_name=qoi_name(b[o]), **t)


def _qcc(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o]
    return Iec104Object(ioa=ioa, qualifier=x, qualifier_name=rqt_name(x & 0x3F),
                        state=FRZ_NAMES[x >> 6], **t)


def _none(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, **t)


def _u16_value(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, value=_UH.unpack_from(b, o)[0], **t)


def _qrp(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, qualifier=b[o], qualifier_name=_coded(QRP_NAMES, b[o], 128), **t)


def _cp16(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, elapsed_ms=_UH.unpack_from(b, o)[0], **t)


def _qpm(value: float, x: int, ioa: int, t: TimeFields) -> Iec104Object:
    kpa = x & 0x3F
    return Iec104Object(ioa=ioa, value=value, qualifier=kpa,
                        qualifier_name=_coded(KPA_NAMES, kpa, 32), local_change=bool(x & 0x40),
                        in_operation=not x & 0x80, **t)


def _nva_qpm(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qpm(_H.unpack_from(b, o)[0] * _NVA_SCALE, b[o + 2], ioa, t)


def _sva_qpm(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qpm(_H.unpack_from(b, o)[0], b[o + 2], ioa, t)


def _float_qpm(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return _qpm(_short_float(b, o), b[o + 4], ioa, t)


def _qpa(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    return Iec104Object(ioa=ioa, qualifier=b[o], qualifier_name=_coded(QPA_NAMES, b[o], 128), **t)


def _u24(b: bytes, o: int) -> int:
    lo, hi = _HB.unpack_from(b, o)
    return int(lo | hi << 16)


def _file_qualifier(x: int) -> str:
    """FRQ/SRQ bits 1-7 (101 7.2.6.28-29)."""
    q = x & 0x7F
    return "default" if q == 0 else "private" if q >= 64 else "reserved"


def _frq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 5]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], length=_u24(b, o + 2),
                        qualifier=x & 0x7F, qualifier_name=_file_qualifier(x),
                        state="negative" if x & 0x80 else "positive", **t)


def _srq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 6]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], section=b[o + 2],
                        length=_u24(b, o + 3), qualifier=x & 0x7F,
                        qualifier_name=_file_qualifier(x),
                        state="not_ready" if x & 0x80 else "ready", **t)


def _scq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 3]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], section=b[o + 2],
                        qualifier=x, qualifier_name=_coded(SCQ_SELECT, x & 0x0F, 11),
                        state=FILE_ERRORS.get(x >> 4, "reserved") or None, **t)


def _lsq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 3]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], section=b[o + 2],
                        qualifier=x, qualifier_name=_coded(LSQ_NAMES, x, 128),
                        checksum=b[o + 4], **t)


def _afq(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 3]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], section=b[o + 2],
                        qualifier=x, qualifier_name=_coded(AFQ_ACK, x & 0x0F, 11),
                        state=FILE_ERRORS.get(x >> 4, "reserved") or None, **t)


def _sof(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    x = b[o + 5]
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], length=_u24(b, o + 2),
                        file_status=x & 0x1F, state=_names(_SOF, x), **t)


def _query_log_value(b: bytes, o: int, ioa: int, t: TimeFields) -> Iec104Object:
    """F_SC_NB_1: name of file, then start and stop times (two CP56Time2a); the caller passes
    the start time, the stop time is read here."""
    stop = cp56(b, o + 9, [])
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0],
                        time_stop=stop.get("time"), **t)


def segment(b: bytes, o: int, ioa: int) -> Iec104Object:
    """F_SG_NA_1 header (name of file, section, segment length); the data is not kept."""
    return Iec104Object(ioa=ioa, file_name=_UH.unpack_from(b, o)[0], section=b[o + 2],
                        length=b[o + 3])


VALUES: dict[str, tuple[int, Decoder]] = {
    # layout: (octets of the value part, decoder); "segment" is variable (see ``segment``)
    "siq": (1, _siq),
    "diq": (1, _diq),
    "vti": (2, _vti),
    "bsi_qds": (5, _bsi_qds),
    "nva_qds": (3, _nva_qds),
    "sva_qds": (3, _sva_qds),
    "float_qds": (5, _float_qds),
    "bcr": (5, _bcr),
    "sep": (3, _sep),
    "spe": (4, _spe),
    "oci": (4, _oci),
    "scd": (5, _scd),
    "nva": (2, _nva),
    "sco": (1, _sco),
    "dco": (1, _dco),
    "rco": (1, _rco),
    "nva_qos": (3, _nva_qos),
    "sva_qos": (3, _sva_qos),
    "float_qos": (5, _float_qos),
    "bsi": (4, _bsi),
    "coi": (1, _coi),
    "qoi": (1, _qoi),
    "qcc": (1, _qcc),
    "none": (0, _none),
    "fbp": (2, _u16_value),
    "qrp": (1, _qrp),
    "cp16": (2, _cp16),
    "tsc": (2, _u16_value),
    "nva_qpm": (3, _nva_qpm),
    "sva_qpm": (3, _sva_qpm),
    "float_qpm": (5, _float_qpm),
    "qpa": (1, _qpa),
    "frq": (6, _frq),
    "srq": (7, _srq),
    "scq": (4, _scq),
    "lsq": (5, _lsq),
    "afq": (4, _afq),
    "sof": (6, _sof),
    # name of file; the start time follows as this layout's "time tag" ("cp56"), then the stop
    # time, which the table entry accounts for with 7 more octets
    "query_log": (2, _query_log_value),
}

TRAILING: dict[str, int] = {"query_log": 7}
"""Octets of a layout after its time tag (the stop time of F_SC_NB_1)."""
