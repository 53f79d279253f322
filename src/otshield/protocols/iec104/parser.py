"""Pure IEC 60870-5-104 decoding: APCI (control field formats) and ASDU (header, information
objects).

References: IEC 60870-5-104:2006 5.1 (APDU: start 0x68, length octet counting the control
field and the ASDU, at most 253), 5.2-5.4 (I-format: send and receive sequence numbers, bit 1
of octets 1 and 3 clear; S-format: octet 1 = 0x01, receive sequence number; U-format: octet 1
bits 1-2 set and exactly one of STARTDT/STOPDT/TESTFR act/con), 9 (ASDU on 104: type id,
variable structure qualifier, two-octet cause of transmission with originator address,
two-octet common address, three-octet information object addresses);
IEC 60870-5-101:2003 7.2.2 (variable structure qualifier: SQ bit, number of objects 0-127),
7.2.3 (cause: 6 bits, P/N bit, test bit).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from otshield.errors import Malformed
from otshield.protocols.iec104.constants import (
    CAUSES,
    MAX_APDU_LENGTH,
    MIN_APDU_LENGTH,
    NOT_IN_104,
    OTHER,
    START,
    TYPES,
    U_FUNCTIONS,
)
from otshield.protocols.iec104.elements import (
    TIME_SIZES,
    TRAILING,
    VALUES,
    TimeFields,
    cp24,
    cp56,
    segment,
)
from otshield.protocols.iec104.events import Iec104Object

__all__ = ["ASDU_HEADER", "Apci", "Asdu", "could_start", "decode_apci", "decode_asdu",
           "junk_problem"]

ASDU_HEADER = 6
"""Type id, VSQ, cause, originator, common address (2)."""
_HEADER = struct.Struct("<BBBBH")
_CONTROL = struct.Struct("<HH")
_HB = struct.Struct("<HB")
_EMPTY: TimeFields = {}


class Apci(NamedTuple):
    """One APDU's control information; ``asdu`` holds the bytes after the control field."""

    format: str
    """``I``, ``S`` or ``U``."""
    send_seq: int | None
    recv_seq: int | None
    u_function: str | None
    asdu: bytes


class Asdu(NamedTuple):
    type_id: int
    type_name: str
    function_class: str
    sq: bool
    num_objects: int
    cause: int
    cause_name: str
    negative: bool
    test: bool
    originator: int
    common_address: int
    objects: tuple[Iec104Object, ...]
    truncated: bool
    anomalies: list[tuple[str, str]] | None


def could_start(buf: bytes, p: int) -> bool:
    """Can an APDU begin at ``p``? Needs the 6 octets from ``p`` (start, length, control field)
    in ``buf``: the start octet, a length 4..253 and a control field valid for its format (an
    S- or U-format APDU has length 4)."""
    if buf[p] != START:
        return False
    length = buf[p + 1]
    if length < MIN_APDU_LENGTH or length > MAX_APDU_LENGTH:
        return False
    c1 = buf[p + 2]
    if not c1 & 1:  # I-format: bit 1 of octet 3 is clear too
        return not buf[p + 4] & 1
    if c1 == 0x01:  # S-format
        return length == 4 and buf[p + 3] == 0 and not buf[p + 4] & 1
    return (length == 4 and c1 in U_FUNCTIONS and buf[p + 3] == 0 and buf[p + 4] == 0
            and buf[p + 5] == 0)


def junk_problem(head: bytes) -> tuple[str, str]:
    """(anomaly code, detail) for bytes that cannot start an APDU, from their first octets."""
    if not head or head[0] != START:
        return "iec104.invalid_start", (f"start octet 0x{head[0]:02x}, expected 0x68" if head
                                        else "stray bytes")
    if len(head) < 2:
        return "iec104.invalid_start", "stray bytes"
    length = head[1]
    if length < MIN_APDU_LENGTH or length > MAX_APDU_LENGTH:
        return "iec104.invalid_length", f"APDU length {length} outside 4..253"
    if len(head) >= 3 and head[2] & 1 and length != 4:
        kind = "S" if head[2] & 3 == 1 else "U"
        return "iec104.invalid_length", f"{kind}-format APDU with length {length}, expected 4"
    return "iec104.invalid_control", "control field " + head[2:6].hex()


def decode_apci(frame: bytes) -> Apci:
    """The control information of one whole APDU (as cut by ``frame_size``)."""
    if len(frame) < 6 or not could_start(frame, 0):
        code, detail = junk_problem(frame[:6])
        raise Malformed(code, detail)
    if len(frame) != 2 + frame[1]:
        raise Malformed("iec104.invalid_length",
                        f"APDU length octet {frame[1]} for {len(frame) - 2} octets")
    c12, c34 = _CONTROL.unpack_from(frame, 2)
    if not c12 & 1:
        return Apci("I", c12 >> 1, c34 >> 1, None, frame[6:])
    if c12 == 0x01:
        return Apci("S", None, c34 >> 1, None, b"")
    return Apci("U", None, None, U_FUNCTIONS[frame[2]], b"")


def decode_asdu(data: bytes, now: float) -> Asdu:
    """An ASDU (104 section 9). ``now`` is the packet time, to place CP24Time2a time tags.

    Raises Malformed only when the 6-octet header is incomplete; other problems (unknown type,
    objects not fitting) are listed in ``anomalies`` and what can be decoded is."""
    n = len(data)
    if n < ASDU_HEADER:
        raise Malformed("iec104.short_asdu", f"{n} octets after the control field, the ASDU "
                        f"header needs {ASDU_HEADER}")
    tid, vsq, cot, originator, ca = _HEADER.unpack_from(data, 0)
    count = vsq & 0x7F
    sq = bool(vsq & 0x80)
    cause = cot & 0x3F
    anomalies: list[tuple[str, str]] | None = None
    cause_name = CAUSES.get(cause)
    if cause_name is None:
        cause_name = "not_used" if cause == 0 else "reserved"
        anomalies = [("iec104.unknown_cause", f"cause of transmission {cause}")]
    info = TYPES.get(tid)
    objects: tuple[Iec104Object, ...] = ()
    truncated = False
    if info is None:
        name, cls = "UNKNOWN", OTHER
        anomalies = (anomalies or []) + [("iec104.unknown_type_id",
                                          f"type identification {tid}")]
    else:
        name, _desc, layout, tag, cls = info
        if tid in NOT_IN_104:
            anomalies = (anomalies or []) + [("iec104.type_not_in_104",
                                              f"{name} ({tid}) is not used on IEC 104")]
        bad_time: list[str] = []
        if layout == "segment":
            objects, problem = _segments(data, sq, count)
        else:
            objects, problem = _objects(data, sq, count, layout, tag, now, bad_time)
        if problem is not None:
            truncated = len(objects) < count
            anomalies = (anomalies or []) + [("iec104.bad_asdu_length", f"{name}: {problem}")]
        if bad_time:
            anomalies = (anomalies or []) + [(
                "iec104.invalid_time", f"{name}: impossible time tag {bad_time[0]}"
                + (f" (and {len(bad_time) - 1} more)" if len(bad_time) > 1 else ""))]
    return Asdu(tid, name, cls, sq, count, cause, cause_name, bool(cot & 0x40), bool(cot & 0x80),
                originator, ca, objects, truncated, anomalies)


def _ioa(data: bytes, o: int) -> int:
    lo, hi = _HB.unpack_from(data, o)
    return int(lo | hi << 16)


def _objects(data: bytes, sq: bool, count: int, layout: str, tag: str, now: float,
             bad_time: list[str]) -> tuple[tuple[Iec104Object, ...], str | None]:
    """Fixed-size information objects; (objects that fit, what is wrong with the length)."""
    vsize, decode = VALUES[layout]
    tsize = TIME_SIZES[tag]
    esize = vsize + tsize + TRAILING.get(layout, 0)
    n = len(data)
    if count == 0:
        expected = ASDU_HEADER
    elif sq:
        expected = ASDU_HEADER + 3 + count * esize
    else:
        expected = ASDU_HEADER + count * (3 + esize)
    fits = count
    if n < expected:  # decode the whole objects present
        room = n - ASDU_HEADER - (3 if sq else 0)
        # (with SQ set, room < 0 whenever an object is 0 octets: no division by zero)
        fits = min(count, room // (esize if sq else 3 + esize)) if room > 0 else 0
    out: list[Iec104Object] = []
    append = out.append
    o = ASDU_HEADER
    cp56_tag, cp24_tag = tag == "cp56", tag == "cp24"
    base = 0
    if sq and fits:
        base = data[o] | data[o + 1] << 8 | data[o + 2] << 16
        o += 3
    for k in range(fits):
        if sq:
            ioa = (base + k) & 0xFFFFFF
        else:
            ioa = data[o] | data[o + 1] << 8 | data[o + 2] << 16
            o += 3
        if cp56_tag:
            append(decode(data, o, ioa, cp56(data, o + vsize, bad_time)))
        elif cp24_tag:
            append(decode(data, o, ioa, cp24(data, o + vsize, bad_time, now)))
        else:
            append(decode(data, o, ioa, _EMPTY))
        o += esize
    if n == expected:
        return tuple(out), None
    per = f"{esize} octets" if sq else f"3 + {esize} octets"
    return tuple(out), (f"{count} objects of {per}{' after one address' if sq else ''} need "
                        f"{expected - ASDU_HEADER} octets, the ASDU carries {n - ASDU_HEADER}")


def _segments(data: bytes, sq: bool, count: int
              ) -> tuple[tuple[Iec104Object, ...], str | None]:
    """F_SG_NA_1: objects of name of file, section, segment length and that many octets."""
    n = len(data)
    out: list[Iec104Object] = []
    o = ASDU_HEADER
    ioa = 0
    if sq and count:
        if o + 3 > n:
            return (), f"no room for the address of {count} segments"
        ioa = _ioa(data, o)
        o += 3
    for i in range(count):
        if not sq:
            if o + 3 > n:
                return tuple(out), f"segment {i + 1} of {count} has no address"
            ioa = _ioa(data, o)
            o += 3
        if o + 4 > n or o + 4 + data[o + 3] > n:
            return tuple(out), f"segment {i + 1} of {count} runs past the end of the ASDU"
        out.append(segment(data, o, ioa))
        o += 4 + data[o + 3]
        if sq:
            ioa = (ioa + 1) & 0xFFFFFF
    if o != n:
        return tuple(out), f"{n - o} octets after {count} segments"
    return tuple(out), None
