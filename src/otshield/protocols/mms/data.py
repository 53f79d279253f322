"""MMS values and names: the ``Data`` CHOICE, ``ObjectName``, ``VariableAccessSpecification``
and ``AccessResult`` (ISO 9506-2 sections 14.4.1 (Data), 14.4.2 (FloatingPoint, TimeOfDay,
UtcTime), 14.3.1 (VariableAccessSpecification), 14.3.3 (AccessResult), 7.5.2 (ObjectName)),
read with :mod:`otshield.protocols.ber`.

Every list is bounded by a :class:`Budget` shared by one PDU; what does not fit is counted as
truncated rather than kept.
"""

from __future__ import annotations

import datetime
import math
import struct

from otshield.errors import Malformed
from otshield.protocols import ber
from otshield.protocols.mms.constants import DATA_ACCESS_ERROR
from otshield.protocols.mms.events import MmsData

__all__ = [
    "MAX_DEPTH",
    "MAX_NAMES",
    "MAX_VALUES",
    "Budget",
    "access_results",
    "data_list",
    "decode_data",
    "object_name",
    "oid",
    "text",
    "variable_access",
]

MAX_VALUES = 64
"""Data nodes (leaves and containers) kept per PDU."""
MAX_NAMES = 64
"""Names (variables, identifiers, files) kept per PDU."""
MAX_DEPTH = 10
"""Nesting of structures and arrays decoded; deeper ones are summarised."""

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_TOD = struct.Struct(">IH")
_EPOCH_1984 = datetime.datetime(1984, 1, 1, tzinfo=datetime.UTC)
_EPOCH_1970 = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

_DATA_TYPES: dict[int, str] = {
    1: "array", 2: "structure", 3: "boolean", 4: "bit-string", 5: "integer", 6: "unsigned",
    7: "floating-point", 8: "real", 9: "octet-string", 10: "visible-string",
    11: "generalized-time", 12: "binary-time", 13: "bcd", 14: "boolean-array", 15: "objId",
    16: "mms-string", 17: "utc-time",
}


def tlvs(buf: bytes, start: int, end: int, limit: int) -> tuple[list[ber.Tlv], bool]:
    """Up to ``limit`` TLVs of ``buf[start:end]`` and whether more followed. The usual case, a
    low tag number with a short-form length, is read in place; anything else goes through
    :func:`ber.read_tlv` (same checks, same anomalies)."""
    out: list[ber.Tlv] = []
    pos = start
    while pos < end:
        if len(out) >= limit:
            return out, True
        first = buf[pos]
        n = buf[pos + 1] if pos + 1 < end else 0x80
        if n < 0x80 and first & 0x1F != 0x1F and pos + 2 + n <= end:
            out.append((first >> 6, bool(first & 0x20), first & 0x1F, pos + 2, pos + 2 + n))
            pos += 2 + n
            continue
        tlv = ber.read_tlv(buf, pos, end, "mms")
        out.append(tlv)
        # an indefinite length (0x80 right after a one-octet tag) ends with two zero octets
        pos = tlv[4] + 2 if first & 0x1F != 0x1F and n == 0x80 else tlv[4]
        if first & 0x1F == 0x1F:
            break  # high tag numbers are no Data alternative: decoding the first one fails
    return out, False


class Budget:
    """What one PDU may still keep: data nodes and names. ``truncated`` records a drop."""

    __slots__ = ("names", "truncated", "values")

    def __init__(self, values: int = MAX_VALUES, names: int = MAX_NAMES) -> None:
        self.values = values
        self.names = names
        self.truncated = False

    def take_value(self) -> bool:
        if self.values > 0:
            self.values -= 1
            return True
        self.truncated = True
        return False

    def take_name(self) -> bool:
        if self.names > 0:
            self.names -= 1
            return True
        self.truncated = True
        return False


def text(buf: bytes, start: int, end: int) -> str:
    """A VisibleString / MMSString / GraphicString; bytes that are not UTF-8 are escaped."""
    return buf[start:end].decode("utf-8", "backslashreplace")


def oid(buf: bytes, start: int, end: int) -> str:
    """An OBJECT IDENTIFIER (X.690 8.19) in dotted form."""
    if start >= end or buf[end - 1] & 0x80:
        raise Malformed("mms.ber_bad_oid", f"{end - start} octets, last sub-identifier open")
    arcs: list[int] = []
    value = 0
    for b in buf[start:end]:
        value = value << 7 | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _float(buf: bytes, start: int, end: int) -> float | str:
    # FloatingPoint: exponent width octet, then IEEE 754 single (8) or double (11) bits
    n = end - start
    if n == 5:
        value: float = _F32.unpack_from(buf, start + 1)[0]
    elif n == 9:
        value = _F64.unpack_from(buf, start + 1)[0]
    else:
        raise Malformed("mms.bad_data", f"floating-point of {n} octets")
    return value if math.isfinite(value) else str(value)


def _binary_time(buf: bytes, start: int, end: int) -> str:
    # TimeOfDay: milliseconds since midnight (4 octets), optionally days since 1984-01-01 (2)
    n = end - start
    if n == 6:
        ms, days = _TOD.unpack_from(buf, start)
        when = _EPOCH_1984 + datetime.timedelta(days=days, milliseconds=ms)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if n == 4:
        ms = int.from_bytes(buf[start:end], "big")
        return (f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}"
                f".{ms % 1000:03d}")
    raise Malformed("mms.bad_data", f"binary-time of {n} octets")


def _utc_time(buf: bytes, start: int, end: int) -> tuple[str, int]:
    # UtcTime: seconds since 1970 (4), fraction of a second (3, binary), time quality (1)
    if end - start != 8:
        raise Malformed("mms.bad_data", f"utc-time of {end - start} octets")
    secs = int.from_bytes(buf[start:start + 4], "big")
    frac = int.from_bytes(buf[start + 4:start + 7], "big")
    micros = (frac * 1_000_000) >> 24
    when = _EPOCH_1970 + datetime.timedelta(seconds=secs, microseconds=micros)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z"), buf[start + 7]


def decode_data(buf: bytes, tlv: ber.Tlv, budget: Budget, depth: int = 0) -> MmsData:
    """One Data value (the TLV has already been read)."""
    cls, constructed, tag, start, end = tlv
    if cls != ber.CLASS_CONTEXT:
        raise Malformed("mms.bad_data", f"Data with tag class {cls}")
    name = _DATA_TYPES.get(tag)
    if name is None:
        raise Malformed("mms.bad_data", f"unknown Data alternative [{tag}]")
    if tag in (1, 2):
        if not constructed:
            raise Malformed("mms.bad_data", f"primitive {name}")
        if depth >= MAX_DEPTH:
            budget.truncated = True
            return MmsData(type=name)
        members, more = tlvs(buf, start, end, budget.values)
        if more or len(members) > budget.values:
            budget.truncated = True
        budget.values -= len(members)
        if budget.values < 0:
            budget.values = 0
        return MmsData(type=name, items=tuple(decode_data(buf, sub, budget, depth + 1)
                                              for sub in members))
    if constructed:
        raise Malformed("mms.bad_data", f"constructed {name}")
    if tag == 3:
        if end - start != 1:
            raise Malformed("mms.bad_data", f"boolean of {end - start} octets")
        return MmsData(type=name, value=buf[start] != 0)
    if tag in (4, 14):
        return MmsData(type=name, value=ber.bit_string(buf, start, end, "mms"))
    if tag == 5:
        return MmsData(type=name, value=ber.integer(buf, start, end, "mms"))
    if tag in (6, 13):
        return MmsData(type=name, value=ber.unsigned(buf, start, end, "mms"))
    if tag == 7:
        return MmsData(type=name, value=_float(buf, start, end))
    if tag in (10, 11, 16):
        return MmsData(type=name, value=text(buf, start, end))
    if tag == 12:
        return MmsData(type=name, value=_binary_time(buf, start, end))
    if tag == 17:
        value, quality = _utc_time(buf, start, end)
        return MmsData(type=name, value=value, quality=quality)
    if tag == 15:
        return MmsData(type=name, value=oid(buf, start, end))
    return MmsData(type=name, value=buf[start:end].hex())  # octet-string, real


def data_list(buf: bytes, start: int, end: int, budget: Budget) -> list[MmsData]:
    """SEQUENCE OF Data (write listOfData)."""
    out = []
    members, more = tlvs(buf, start, end, budget.values)
    budget.truncated |= more
    for tlv in members:
        if not budget.take_value():
            break
        out.append(decode_data(buf, tlv, budget))
    return out


def access_results(buf: bytes, start: int, end: int,
                   budget: Budget) -> tuple[list[str], list[MmsData]]:
    """SEQUENCE OF AccessResult: per item ``success`` or the DataAccessError name, and the
    values (a failure is kept as a ``failure`` value so positions line up)."""
    results: list[str] = []
    values: list[MmsData] = []
    members, more = tlvs(buf, start, end, budget.values)
    budget.truncated |= more
    for tlv in members:
        if budget.values <= 0:
            budget.truncated = True
            break
        cls, constructed, tag, vs, ve = tlv
        if cls == ber.CLASS_CONTEXT and tag == 0 and not constructed:
            code = ber.unsigned(buf, vs, ve, "mms")
            reason = DATA_ACCESS_ERROR.get(code, f"unknown-{code}")
            if budget.take_value():
                results.append(reason)
                values.append(MmsData(type="failure", value=reason))
            continue
        if budget.take_value():
            values.append(decode_data(buf, tlv, budget))
            results.append("success")
    return results, values


def object_name(buf: bytes, tlv: ber.Tlv) -> tuple[str | None, str]:
    """ObjectName CHOICE -> (domain or None, item). aa-specific names get domain ``@aa``."""
    cls, constructed, tag, start, end = tlv
    if cls != ber.CLASS_CONTEXT or tag > 2:
        raise Malformed("mms.bad_pdu", f"ObjectName alternative [{tag}] class {cls}")
    if tag == 1:
        if not constructed:
            raise Malformed("mms.bad_pdu", "primitive domain-specific ObjectName")
        parts = [text(buf, t[3], t[4]) for t in ber.iter_tlvs(buf, start, end, "mms")]
        if len(parts) != 2:
            raise Malformed("mms.bad_pdu", f"domain-specific ObjectName with {len(parts)} parts")
        return parts[0], parts[1]
    return ("@aa" if tag == 2 else None), text(buf, start, end)


def format_name(domain: str | None, item: str) -> str:
    """``domain/item`` as IEC 61850 writes object references; a VMD name alone."""
    return item if domain is None else f"{domain}/{item}"


def explicit(buf: bytes, tlv: ber.Tlv) -> ber.Tlv:
    """The single value inside an explicitly tagged (constructed) element."""
    if not tlv[1]:
        raise Malformed("mms.bad_pdu", f"[{tlv[2]}] should be constructed")
    return ber.read_tlv(buf, tlv[3], tlv[4], "mms")


_VAR_SPEC = ("name", "address", "description", "scattered", "invalidated")


class VariableAccess:
    """A decoded VariableAccessSpecification."""

    __slots__ = ("list_name", "names")

    def __init__(self) -> None:
        self.names: list[tuple[str | None, str]] = []
        self.list_name: str | None = None


def _domain_specific(buf: bytes, pos: int, end: int) -> tuple[str, str] | None:
    """The common encoding of a named variable, read in place: ``a0 L a1 L 1a n <domain>
    1a m <item>`` filling the entry exactly, every length in the short form. None for anything
    else (the general path then decodes it)."""
    if (end - pos < 8 or buf[pos] != 0xA0 or buf[pos + 2] != 0xA1 or buf[pos + 4] != 0x1A
            or buf[pos + 1] != end - pos - 2 or buf[pos + 3] != end - pos - 4):
        return None
    n = buf[pos + 5]
    item = pos + 6 + n
    if (n >= 0x80 or item + 2 > end or buf[item] != 0x1A or buf[item + 1] >= 0x80
            or item + 2 + buf[item + 1] != end):
        return None
    return (buf[pos + 6:item].decode("utf-8", "backslashreplace"),
            buf[item + 2:end].decode("utf-8", "backslashreplace"))


def variable_access(buf: bytes, tlv: ber.Tlv, budget: Budget) -> VariableAccess:
    """VariableAccessSpecification CHOICE { listOfVariable [0], variableListName [1] }."""
    cls, constructed, tag, start, end = tlv
    spec = VariableAccess()
    if cls != ber.CLASS_CONTEXT or not constructed or tag > 1:
        raise Malformed("mms.bad_pdu", f"VariableAccessSpecification [{tag}] class {cls}")
    if tag == 1:
        domain, item = object_name(buf, ber.read_tlv(buf, start, end, "mms"))
        spec.list_name = format_name(domain, item)
        return spec
    for entry in ber.iter_tlvs(buf, start, end, "mms"):
        # SEQUENCE { variableSpecification, alternateAccess [5] OPTIONAL }
        if not budget.take_name():
            break
        fast = _domain_specific(buf, entry[3], entry[4])
        if fast is not None:
            spec.names.append(fast)
            continue
        if not entry[1]:
            raise Malformed("mms.bad_pdu", "listOfVariable entry is not a SEQUENCE")
        vspec = ber.read_tlv(buf, entry[3], entry[4], "mms")
        if vspec[0] == ber.CLASS_CONTEXT and vspec[2] == 0:  # name [0] ObjectName
            name = object_name(buf, explicit(buf, vspec))
        else:
            # address, variableDescription, scatteredAccess, invalidated: no name to show
            name = (None, f"<{_VAR_SPEC[min(vspec[2], 4)]}>")
        spec.names.append(name)
    return spec
