"""Decoding of DNP3 object values into points and file records (IEEE 1815-2012 objects: flags,
values, 48-bit times, control relay output blocks, device attributes, file-control objects).

Fixed-layout objects get one specialised point maker each, chosen once per object definition
from its role string (see :mod:`.objects`), so the per-point cost is one ``unpack_from`` and one
record, with no per-field branching.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from otshield.protocols.dnp3.constants import (
    ATTRIBUTE_DATA_TYPES,
    COMMAND_STATUS,
    CROB_OP_TYPES,
    DOUBLE_BIT_STATES,
    FILE_MODES,
    FILE_STATUS,
    MAX_TEXT,
    TCC_NAMES,
)
from otshield.protocols.dnp3.events import Dnp3File, Dnp3Point
from otshield.protocols.dnp3.objects import KIND_STRUCT, OBJECTS, ObjDef

__all__ = [
    "CROB_SIZE",
    "MAKERS",
    "Maker",
    "attr_point",
    "crob_point",
    "file_object",
    "hex_text",
    "text",
]

Maker = Callable[[bytes, int, int, "int | None"], Dnp3Point]
"""``make(data, pos, index, cto_ms)``: the point of one fixed-layout object at ``data[pos]``;
``cto_ms`` is the common time of occurrence for relative times (g51), if one came before."""

_CROB = struct.Struct("<BBIIB")
CROB_SIZE = _CROB.size
_TIME = struct.Struct("<IH")
_F32, _F64 = struct.Struct("<f"), struct.Struct("<d")
_FILE_AUTH = struct.Struct("<HHHHI")  # user name offset/size, password offset/size, key
_FILE_COMMAND = struct.Struct("<HHIHHIIHHH")  # name offset/size, created (48 bits), perms,
#                                               key, size, mode, max block, request id
_FILE_STATUS = struct.Struct("<IIHHB")  # handle, size, max block, request id, status
_FILE_TRANSPORT = struct.Struct("<II")  # handle, block number (bit 31: last block)
_FILE_TSTATUS = struct.Struct("<IIB")  # handle, block number, status
_FILE_DESCRIPTOR = struct.Struct("<HHHIIHHH")  # name offset/size, type, size, created, perms,
#                                                request id
_FILE_OBJECTS = {2: "authentication", 3: "file_command", 4: "file_command_status",
                 5: "file_transport", 6: "file_transport_status", 7: "file_descriptor",
                 8: "file_specification"}
_STATUS: tuple[str, ...] = tuple(COMMAND_STATUS.get(i, f"UNKNOWN_{i}") for i in range(128))
"""Command status by code (bits 0-6 of the status octet)."""
_NO_FLAGS: tuple[tuple[str, ...], ...] = ((),) * 256


def text(raw: bytes) -> str:
    return raw[:MAX_TEXT].decode("utf-8", "replace")


def hex_text(raw: bytes) -> str:
    return raw[: MAX_TEXT // 2].hex()


# -- fixed-layout objects: one maker per role string ----------------------------------------------
def _make_b(d: ObjDef) -> Maker:  # binary: flags octet, state in bit 7
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        (f,) = unpack(data, pos)
        return Dnp3Point(index=index, state=f >= 0x80, flags=table[f])
    return make


def _make_bt(d: ObjDef) -> Maker:  # binary with absolute time
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        f, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, state=f >= 0x80, flags=table[f],
                         time=(lo | hi << 32) / 1000.0)
    return make


def _make_br(d: ObjDef) -> Maker:  # binary with relative time
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        f, rel = unpack(data, pos)
        return Dnp3Point(index=index, state=f >= 0x80, flags=table[f], rel_time_ms=rel,
                         time=None if cto_ms is None else (cto_ms + rel) / 1000.0)
    return make


def _make_d(d: ObjDef) -> Maker:  # double-bit: state in bits 7-6
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        (f,) = unpack(data, pos)
        return Dnp3Point(index=index, value=f >> 6, text=DOUBLE_BIT_STATES[f >> 6],
                         flags=table[f])
    return make


def _make_dt(d: ObjDef) -> Maker:
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        f, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, value=f >> 6, text=DOUBLE_BIT_STATES[f >> 6],
                         flags=table[f], time=(lo | hi << 32) / 1000.0)
    return make


def _make_dr(d: ObjDef) -> Maker:
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        f, rel = unpack(data, pos)
        return Dnp3Point(index=index, value=f >> 6, text=DOUBLE_BIT_STATES[f >> 6],
                         flags=table[f], rel_time_ms=rel,
                         time=None if cto_ms is None else (cto_ms + rel) / 1000.0)
    return make


def _make_c(d: ObjDef) -> Maker:  # binary command event: commanded state + status
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        (c,) = unpack(data, pos)
        return Dnp3Point(index=index, state=c >= 0x80, status=_STATUS[c & 0x7F])
    return make


def _make_ct(d: ObjDef) -> Maker:
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        c, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, state=c >= 0x80, status=_STATUS[c & 0x7F],
                         time=(lo | hi << 32) / 1000.0)
    return make


def _make_qv(d: ObjDef) -> Maker:  # quality flags + value
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        q, v = unpack(data, pos)
        return Dnp3Point(index=index, value=v, flags=table[q])
    return make


def _make_qvt(d: ObjDef) -> Maker:
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        q, v, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, value=v, flags=table[q], time=(lo | hi << 32) / 1000.0)
    return make


def _make_qxv(d: ObjDef) -> Maker:  # security statistic: flags, association, value
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        q, _assoc, v = unpack(data, pos)
        return Dnp3Point(index=index, value=v, flags=table[q])
    return make


def _make_qxvt(d: ObjDef) -> Maker:
    unpack, table = _fmt(d).unpack_from, d.flags or _NO_FLAGS

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        q, _assoc, v, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, value=v, flags=table[q], time=(lo | hi << 32) / 1000.0)
    return make


def _make_v(d: ObjDef) -> Maker:
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        (v,) = unpack(data, pos)
        return Dnp3Point(index=index, value=v)
    return make


def _make_vs(d: ObjDef) -> Maker:  # analog output block: value, then status
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        v, s = unpack(data, pos)
        return Dnp3Point(index=index, value=v, status=_STATUS[s & 0x7F])
    return make


def _make_sv(d: ObjDef) -> Maker:  # analog output command event: status, then value
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        s, v = unpack(data, pos)
        return Dnp3Point(index=index, value=v, status=_STATUS[s & 0x7F])
    return make


def _make_svt(d: ObjDef) -> Maker:
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        s, v, lo, hi = unpack(data, pos)
        return Dnp3Point(index=index, value=v, status=_STATUS[s & 0x7F],
                         time=(lo | hi << 32) / 1000.0)
    return make


def _make_t(d: ObjDef) -> Maker:  # absolute time (and interval)
    unpack = _fmt(d).unpack_from

    def make(data: bytes, pos: int, index: int, cto_ms: int | None) -> Dnp3Point:
        lo, hi, *rest = unpack(data, pos)
        return Dnp3Point(index=index, time=(lo | hi << 32) / 1000.0,
                         value=rest[0] if rest else None)
    return make


def _fmt(d: ObjDef) -> struct.Struct:
    assert d.fmt is not None
    return d.fmt


_FACTORIES: dict[str, Callable[[ObjDef], Maker]] = {
    "B": _make_b, "BTt": _make_bt, "BR": _make_br,
    "D": _make_d, "DTt": _make_dt, "DR": _make_dr,
    "C": _make_c, "CTt": _make_ct,
    "QV": _make_qv, "QVTt": _make_qvt, "QxV": _make_qxv, "QxVTt": _make_qxvt,
    "V": _make_v, "VS": _make_vs, "SV": _make_sv, "SVTt": _make_svt,
    "Tt": _make_t, "TtV": _make_t, "TtVx": _make_t,
}

MAKERS: dict[int, Maker] = {key: _FACTORIES[d.roles](d) for key, d in OBJECTS.items()
                            if d.kind == KIND_STRUCT}
"""(group << 8 | variation) -> point maker, for every fixed-layout object."""


# -- other objects -------------------------------------------------------------------------------
def crob_point(data: bytes, pos: int, index: int) -> Dnp3Point:
    """Control relay output block / pattern control block (group 12): control code (op type,
    queue, clear, trip-close code), count, on-time, off-time (ms), status."""
    code, count, on_time, off_time, status = _CROB.unpack_from(data, pos)
    op = code & 0x0F
    return Dnp3Point(index=index, op_type=CROB_OP_TYPES.get(op, f"UNKNOWN_{op}"),
                     tcc=TCC_NAMES[code >> 6], clear=bool(code & 0x20), queue=bool(code & 0x10),
                     count=count, on_time_ms=on_time, off_time_ms=off_time,
                     status=_STATUS[status & 0x7F])


def attr_point(dtype: int, raw: bytes, index: int) -> Dnp3Point:
    """A device attribute value (group 0: data type code, length, value)."""
    name = ATTRIBUTE_DATA_TYPES.get(dtype)
    n = len(raw)
    if name in ("VSTR", "UNCD"):
        return Dnp3Point(index=index, text=text(raw))
    if name == "UINT" and 0 < n <= 8:
        return Dnp3Point(index=index, value=int.from_bytes(raw, "little"))
    if name == "INT" and 0 < n <= 8:
        return Dnp3Point(index=index, value=int.from_bytes(raw, "little", signed=True))
    if name == "FLT" and n in (4, 8):
        value: float = (_F32 if n == 4 else _F64).unpack(raw)[0]
        return Dnp3Point(index=index, value=value)
    if name == "TIME" and n == 6:
        low, high = _TIME.unpack(raw)
        return Dnp3Point(index=index, time=(low | high << 32) / 1000.0)
    if name in ("U8BS8LIST", "U8BS8EXLIST"):
        # (attribute variation, properties) pairs; property bit 0 = writable.
        pairs = [f"{raw[i]}{'w' if raw[i + 1] & 1 else ''}" for i in range(0, n - 1, 2)]
        return Dnp3Point(index=index, text=",".join(pairs)[:MAX_TEXT])
    return Dnp3Point(index=index, text=hex_text(raw))


def _name_at(raw: bytes, offset: int, size: int, fixed: int) -> str:
    """A file/user name given by (offset from the object start, size); falls back to right after
    the fixed part when the offset points outside the object."""
    if offset + size > len(raw) or offset < fixed:
        offset = fixed
    return text(raw[offset:offset + size])


def file_object(variation: int, raw: bytes) -> Dnp3File | None:
    """One group 70 object, or None when shorter than its fixed part."""
    kind = _FILE_OBJECTS[variation]
    n = len(raw)
    if variation == 2 and n >= _FILE_AUTH.size:
        uoff, ulen, _poff, plen, _key = _FILE_AUTH.unpack_from(raw)
        # The password and the authentication key are credentials: only presence is kept.
        return Dnp3File(object=kind, user_name=_name_at(raw, uoff, ulen, _FILE_AUTH.size),
                        password_present=plen > 0)
    if variation == 3 and n >= _FILE_COMMAND.size:
        noff, nlen, tlo, thi, perms, _key, size, mode, maxb, req = _FILE_COMMAND.unpack_from(raw)
        return Dnp3File(object=kind, name=_name_at(raw, noff, nlen, _FILE_COMMAND.size),
                        created=(tlo | thi << 32) / 1000.0, permissions=perms, size=size,
                        mode=FILE_MODES.get(mode, f"UNKNOWN_{mode}"), max_block_size=maxb,
                        request_id=req)
    if variation == 4 and n >= _FILE_STATUS.size:
        handle, size, maxb, req, status = _FILE_STATUS.unpack_from(raw)
        return Dnp3File(object=kind, handle=handle, size=size, max_block_size=maxb,
                        request_id=req, status=FILE_STATUS.get(status, f"UNKNOWN_{status}"),
                        text=text(raw[_FILE_STATUS.size:]) or None)
    if variation == 5 and n >= _FILE_TRANSPORT.size:
        handle, block = _FILE_TRANSPORT.unpack_from(raw)
        return Dnp3File(object=kind, handle=handle, block=block & 0x7FFFFFFF,
                        last_block=bool(block >> 31), data_bytes=n - _FILE_TRANSPORT.size)
    if variation == 6 and n >= _FILE_TSTATUS.size:
        handle, block, status = _FILE_TSTATUS.unpack_from(raw)
        return Dnp3File(object=kind, handle=handle, block=block & 0x7FFFFFFF,
                        last_block=bool(block >> 31),
                        status=FILE_STATUS.get(status, f"UNKNOWN_{status}"),
                        text=text(raw[_FILE_TSTATUS.size:]) or None)
    if variation == 7 and n >= _FILE_DESCRIPTOR.size:
        noff, nlen, ftype, size, tlo, thi, perms, req = _FILE_DESCRIPTOR.unpack_from(raw)
        return Dnp3File(object=kind, name=_name_at(raw, noff, nlen, _FILE_DESCRIPTOR.size),
                        file_type=ftype, size=size, created=(tlo | thi << 32) / 1000.0,
                        permissions=perms, request_id=req)
    if variation == 8:
        return Dnp3File(object=kind, name=text(raw))
    return None
