"""MMS ``Data`` values as GOOSE ``allData`` carries them, and the IEC 61850 time formats.

References: ISO 9506-2:2003 (MMS) 14.4.2 ``Data`` CHOICE, reused by IEC 61850-8-1 Ed.2 A.3
(GOOSE allData) with the context tags below; IEC 61850-8-1 8.1.3.7 ``FloatingPoint`` (one octet
exponent width, 8 for single or 11 for double precision, then the IEEE 754 value, big-endian);
ISO 9506-2 ``TimeOfDay`` (4 octets of milliseconds since midnight, optionally 2 octets of days
since 1984-01-01); IEC 61850-8-1 8.1.3.7 / 7-2 6.1.2.9 ``UtcTime`` (4 octets seconds since
1970-01-01 UTC, 3 octets binary fraction of a second, 1 octet time quality: bit 7 leap seconds
known, bit 6 clock failure, bit 5 clock not synchronised, bits 4-0 accuracy in bits).

Values are returned as one flat, bounded list: a structure or array appears as one entry whose
value is its member count, followed by its members with dotted paths (``"5"``, ``"5.0"``,
``"5.1"``). A flat list keeps the output schema simple for a SIEM and the bound easy to hold.
"""

from __future__ import annotations

import functools
import struct
import time

from otshield.errors import Malformed
from otshield.protocols.ber import integer, unsigned
from otshield.protocols.goose.constants import DATA_TYPES, MAX_DATA_DEPTH, MAX_DATA_VALUES
from otshield.protocols.goose.events import GooseValue
from otshield.protocols.goose.tlv import children

__all__ = ["binary_time", "decode_data", "utc_time"]

_F32 = struct.Struct("!f")
_F64 = struct.Struct("!d")
_TOD = struct.Struct("!IH")
_EPOCH_1984 = 441763200  # 1984-01-01T00:00:00Z in Unix seconds, the TimeOfDay day origin


@functools.lru_cache(maxsize=1024)
def _iso_seconds(sec: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of Unix seconds; cached: a publisher's t and the time stamps in
    its data repeat from message to message."""
    g = time.gmtime(sec)
    return (f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:{g.tm_min:02d}:"
            f"{g.tm_sec:02d}")


def utc_time(raw: bytes) -> tuple[str, float, int]:
    """An 8-octet UtcTime as (ISO 8601 text with nanoseconds, epoch seconds, quality octet).

    The fraction is truncated to whole nanoseconds, as Wireshark shows it."""
    sec = raw[0] << 24 | raw[1] << 16 | raw[2] << 8 | raw[3]
    frac = raw[4] << 16 | raw[5] << 8 | raw[6]
    return (f"{_iso_seconds(sec)}.{(frac * 1_000_000_000) >> 24:09d}Z",
            sec + frac / 16777216.0, raw[7])


def binary_time(raw: bytes) -> str:
    """A 4- or 6-octet TimeOfDay: ``HH:MM:SS.mmm`` or, with the day count, a full ISO date."""
    if len(raw) == 6:
        ms, days = _TOD.unpack(raw)
    else:
        ms, days = int.from_bytes(raw, "big"), -1
    secs, milli = divmod(ms, 1000)
    if days < 0:
        h, rest = divmod(secs, 3600)
        return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}.{milli:03d}"
    g = time.gmtime(_EPOCH_1984 + days * 86400 + secs)
    return (f"{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:{g.tm_min:02d}:"
            f"{g.tm_sec:02d}.{milli:03d}Z")


def _bits(buf: bytes, s: int, e: int, proto: str) -> str:
    """A BIT STRING (X.690 8.6) as '0'/'1' text, first bit first; the first content octet is
    the number of unused bits in the last octet."""
    if s >= e:
        raise Malformed(f"{proto}.ber_bad_bitstring", "no unused-bits octet")
    unused = buf[s]
    n = e - s - 1
    if unused > 7 or (unused and not n):
        raise Malformed(f"{proto}.ber_bad_bitstring", f"{unused} unused bits")
    if not n:
        return ""
    return format(int.from_bytes(buf[s + 1:e], "big") >> unused, f"0{8 * n - unused}b")


def _oid(raw: bytes) -> str:
    """OBJECT IDENTIFIER contents (X.690 8.19) in dotted form."""
    arcs: list[int] = []
    value = 0
    for b in raw:
        value = value << 7 | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def _scalar(num: int, buf: bytes, s: int, e: int, proto: str) -> bool | int | float | str | None:
    n = e - s
    if num == 3:  # boolean
        if n != 1:
            raise Malformed(f"{proto}.bad_data", f"boolean of {n} octets")
        return buf[s] != 0
    if num in (4, 14):  # bit-string, booleanArray
        return _bits(buf, s, e, proto)
    if num in (5, 13):  # integer, bcd
        return integer(buf, s, e, proto)
    if num == 6:  # unsigned
        return unsigned(buf, s, e, proto)
    if num == 7:  # floating-point: exponent width octet + IEEE 754 single or double
        if n == 5:
            return float(_F32.unpack_from(buf, s + 1)[0])
        if n == 9:
            return float(_F64.unpack_from(buf, s + 1)[0])
        raise Malformed(f"{proto}.bad_data", f"floating-point of {n} octets")
    if num in (8, 9):  # real (ISO 6093 text/binary, not used by IEC 61850), octet-string
        return buf[s:e].hex()
    if num in (10, 11):  # visible-string, generalized-time
        return buf[s:e].decode("ascii", "replace")
    if num == 16:  # MMSString: UTF-8
        return buf[s:e].decode("utf-8", "replace")
    if num == 12:  # binary-time
        if n not in (4, 6):
            raise Malformed(f"{proto}.bad_data", f"binary-time of {n} octets")
        return binary_time(buf[s:e])
    if num == 15:
        return _oid(buf[s:e])
    if num == 17:  # utc-time
        if n != 8:
            raise Malformed(f"{proto}.bad_data", f"utc-time of {n} octets")
        return utc_time(buf[s:e])[0]
    raise Malformed(f"{proto}.bad_data", f"unknown Data tag [{num}]")


def _walk(buf: bytes, off: int, end: int, prefix: str, depth: int, out: list[GooseValue],
          proto: str) -> bool:
    """Append the Data values in ``buf[off:end]``; True when a bound cut the list short."""
    truncated = False
    for i, (ident, s, e) in enumerate(children(buf, off, end, proto)):
        if len(out) >= MAX_DATA_VALUES:
            return True
        num = ident & 0x1F
        kind = DATA_TYPES.get(num)
        if ident & 0xC0 != 0x80 or kind is None:
            raise Malformed(f"{proto}.bad_data", f"identifier 0x{ident:02x} is not a Data")
        path = prefix + str(i)
        if ident == 0x83 and e - s == 1:  # boolean, the commonest value: no call
            out.append(GooseValue(path=path, type="boolean", value=buf[s] != 0))
            continue
        if num in (1, 2):  # array, structure: SEQUENCE OF Data
            if not ident & 0x20:
                raise Malformed(f"{proto}.bad_data", f"primitive {kind}")
            members = len(children(buf, s, e, proto))
            out.append(GooseValue(path=path, type=kind, value=members))
            if depth + 1 >= MAX_DATA_DEPTH:
                truncated = truncated or members > 0
            elif _walk(buf, s, e, path + ".", depth + 1, out, proto):
                return True
        else:
            if ident & 0x20:
                raise Malformed(f"{proto}.bad_data", f"constructed {kind}")
            out.append(GooseValue(path=path, type=kind, value=_scalar(num, buf, s, e, proto)))
    return truncated


def decode_data(buf: bytes, start: int, end: int, proto: str = "goose") -> tuple[
        list[GooseValue], bool]:
    """The ``SEQUENCE OF Data`` in ``buf[start:end]`` as a flat list and whether it was cut at
    :data:`MAX_DATA_VALUES` entries or :data:`MAX_DATA_DEPTH` nesting levels.

    Raises ``Malformed('<proto>.bad_data')`` (or a ``ber_*`` code) for an impossible value."""
    out: list[GooseValue] = []
    truncated = _walk(buf, start, end, "", 0, out, proto)
    return out, truncated
