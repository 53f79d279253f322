"""The decoded form of one S7comm PDU and the item grammar shared by jobs and userdata.

Read/write items (S7comm parameter part): ``0x12, spec length, syntax id, ...``; S7ANY items
(syntax 0x10, length 10): transport size, element count (2), DB number (2), area, address
(3 bytes = byte << 3 | bit). Data items: return code, transport size, length (2; in bits for
transport sizes 3, 4, 5), value. An item of odd length is followed by a fill byte unless it is the
last one (parameter items and data items alike).
"""

from __future__ import annotations

import struct

from otshield.protocols.s7comm.constants import (
    AREAS,
    LENGTH_IN_BITS,
    NUMBERED_AREAS,
    RETURN_RESERVED,
    RETURN_SUCCESS,
    SYNTAX_1200SYM,
    SYNTAX_DBREAD,
    SYNTAX_DRIVEESANY,
    SYNTAX_IDS,
    SYNTAX_NCK,
    SYNTAX_S7ANY,
    TRANSPORT_SIZES,
)
from otshield.protocols.s7comm.events import (
    S7BlockCount,
    S7BlockInfo,
    S7ItemFields,
    S7ModuleIdent,
)

__all__ = [
    "MAX_ITEMS",
    "MAX_LIST",
    "MAX_VALUE_BYTES",
    "ItemValue",
    "S7Pdu",
    "block_name",
    "parse_items",
    "parse_values",
]

MAX_ITEMS = 64
"""Items kept per event (the rest counted in ``item_count`` and flagged)."""
MAX_VALUE_BYTES = 64
"""Bytes of one item value kept (as hex)."""
MAX_LIST = 256
"""Entries kept in other lists (block numbers, PI arguments, module records)."""

_ANY = struct.Struct(">BHHB")  # transport size, count, db, area (address follows, 3 bytes)


class ItemValue:
    """One entry of a data part: return code and the value (cut to ``MAX_VALUE_BYTES``)."""

    __slots__ = ("length", "return_code", "transport_size", "value")

    def __init__(self, return_code: int, transport_size: int, value: bytes | None,
                 length: int) -> None:
        self.return_code = return_code
        self.transport_size = transport_size
        self.value = value
        self.length = length


class S7Pdu:
    """One decoded S7comm PDU. Attributes a PDU type does not carry stay None.

    The defaults live on the class, so a PDU only stores what its type carries (decoding speed
    matters: one of these is made per PDU)."""

    # read / write var and cyclic data
    item_count: int | None = None
    items: list[S7ItemFields] | None = None
    values: list[ItemValue] | None = None
    return_codes: list[int] | None = None
    # setup communication
    max_amq_calling: int | None = None
    max_amq_called: int | None = None
    pdu_size: int | None = None
    # block transfer
    file_id: str | None = None
    filename: str | None = None
    block_type: str | None = None
    block_number: int | None = None
    filesystem: str | None = None
    load_memory_length: int | None = None
    mc7_length: int | None = None
    upload_id: int | None = None
    upload_length: int | None = None
    data_length: int | None = None
    more_data: bool | None = None
    block_error: int | None = None
    # PI service / PLC stop
    pi_service: str | None = None
    pi_arguments: list[str] | None = None
    blocks: list[str] | None = None
    password_present: bool | None = None
    # userdata
    ud_type: int | None = None
    group: int | None = None
    subfunction: int | None = None
    sequence: int | None = None
    data_unit_ref: int | None = None
    last_data_unit: bool = True
    joined: bool = False
    """The payload was joined from several data units."""
    ud_error: int | None = None
    ud_return_code: int | None = None
    ud_transport_size: int | None = None
    ud_payload: bytes = b""
    cpu_mode: int | None = None
    szl_id: int | None = None
    szl_index: int | None = None
    szl_record_count: int | None = None
    module_identification: list[S7ModuleIdent] | None = None
    identity: dict[str, str] | None = None
    block_counts: list[S7BlockCount] | None = None
    block_numbers: list[int] | None = None
    block_info: S7BlockInfo | None = None
    plc_time: str | None = None
    cycle_time: float | None = None
    job_id: int | None = None

    def __init__(self, rosctr: int, pdu_ref: int) -> None:
        self.rosctr = rosctr
        self.pdu_ref = pdu_ref
        self.error_class: int | None = None
        self.error_code: int | None = None
        self.function: int | None = None
        self.issues: list[tuple[str, str]] = []

    def issue(self, code: str, detail: str) -> None:
        """Record a problem that does not stop decoding (reported as an anomaly)."""
        self.issues.append((code, detail))


def parse_items(pdu: S7Pdu, buf: bytes, pos: int, count: int) -> list[S7ItemFields]:
    """``count`` variable specifications from ``buf[pos:]`` (fill bytes skipped). Shortfalls and
    leftovers are reported as ``s7comm.item_count_mismatch``."""
    items: list[S7ItemFields] = []
    end = len(buf)
    for i in range(count):
        if pos + 3 > end:
            pdu.issue("s7comm.item_count_mismatch", f"{count} items declared, {i} present")
            break
        spec_type = buf[pos]
        spec_len = buf[pos + 1]
        item_end = pos + 2 + spec_len
        if item_end > end or spec_len < 1:
            pdu.issue("s7comm.invalid_item",
                      f"item {i + 1}: length {spec_len} overruns the parameter part")
            break
        if len(items) < MAX_ITEMS:
            items.append(_item(buf, pos + 2, spec_type, spec_len))
        pos = item_end
        if spec_len & 1 and i < count - 1:  # the item (2 + spec_len bytes) has odd length
            pos += 1
    if pos < end and count:
        pdu.issue("s7comm.item_count_mismatch",
                  f"{count} items declared, {end - pos} bytes left in the parameter part")
    return items


def _item(buf: bytes, pos: int, spec_type: int, spec_len: int) -> S7ItemFields:
    """One variable specification; ``pos`` is the syntax id byte."""
    syntax = buf[pos]
    name = SYNTAX_IDS.get(syntax, f"0x{syntax:02x}")
    if spec_type == 0x12 and spec_len == 10 and syntax == SYNTAX_S7ANY:
        tsize, count, db, area = _ANY.unpack_from(buf, pos + 1)
        address = (buf[pos + 7] << 16) | (buf[pos + 8] << 8) | buf[pos + 9]
        item: S7ItemFields = {
            "syntax": name, "area": AREAS.get(area) or f"0x{area:02x}", "area_code": area}
        if area == 0x84 or area == 0x85:
            item["db"] = db
        if area in NUMBERED_AREAS:
            item["byte_address"] = address
        else:
            item["byte_address"] = address >> 3
            item["bit_address"] = address & 7
        item["transport_size"] = TRANSPORT_SIZES.get(tsize) or f"0x{tsize:02x}"
        item["count"] = count
        return item
    if spec_type == 0x12 and spec_len >= 7 and syntax == SYNTAX_DBREAD:
        # number of areas, then (length, DB, start byte) per area; the first one is kept
        length = buf[pos + 2]
        db, start = struct.unpack_from(">HH", buf, pos + 3)
        return {"syntax": name, "area": "DB", "area_code": 0x84, "db": db,
                "byte_address": start, "transport_size": "BYTE", "count": length}
    if spec_type == 0x12 and spec_len >= 14 and syntax == SYNTAX_1200SYM:
        area1, area2 = struct.unpack_from(">HH", buf, pos + 2)
        if area1 == 0x8A0E:
            return {"syntax": name, "area": "DB", "area_code": 0x84, "db": area2}
        sym_area = _SYMBOLIC_AREAS.get(area2)
        return {"syntax": name, "area": sym_area} if sym_area else {"syntax": name}
    if spec_type == 0x12 and spec_len == 8 and syntax in SYNTAX_NCK:
        return {"syntax": name, "area": "NCK"}
    if spec_type == 0x12 and spec_len == 10 and syntax == SYNTAX_DRIVEESANY:
        number, index = struct.unpack_from(">HH", buf, pos + 6)
        return {"syntax": name, "area": "DRIVE", "byte_address": number, "bit_address": index}
    return {"syntax": name}


_SYMBOLIC_AREAS = {0x50: "I", 0x51: "Q", 0x52: "M", 0x53: "C", 0x54: "T"}
"""Areas of the S7-1200 symbolic address mode (syntax 0xB2)."""


def parse_values(pdu: S7Pdu, data: bytes, pos: int, count: int,
                 strict: bool = False) -> list[ItemValue]:
    """``count`` data items (return code, transport size, length, value) from ``data[pos:]``;
    ``strict`` also reports bytes left after them as ``s7comm.item_count_mismatch``."""
    values: list[ItemValue] = []
    end = len(data)
    for i in range(count):
        if pos + 4 > end:
            pdu.issue("s7comm.item_count_mismatch", f"{count} data items declared, {i} present")
            break
        ret = data[pos]
        tsize = data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
        value: bytes | None = None
        nbytes = 0
        if ret in (RETURN_SUCCESS, RETURN_RESERVED):
            nbytes = (length + 7) >> 3 if tsize in LENGTH_IN_BITS else length
            if pos + nbytes > end:
                pdu.issue("s7comm.invalid_item",
                          f"data item {i + 1}: {nbytes} bytes declared, {end - pos} present")
                nbytes = end - pos
            value = data[pos:pos + min(nbytes, MAX_VALUE_BYTES)]
            pos += nbytes
            if nbytes & 1 and i < count - 1:
                pos += 1
        if len(values) < MAX_ITEMS:
            values.append(ItemValue(ret, tsize, value, nbytes))
    if strict and pos < end:
        pdu.issue("s7comm.item_count_mismatch",
                  f"{count} data items declared, {end - pos} bytes left in the data part")
    return values


def block_name(block_type: str | None, number: int | None) -> str | None:
    """``OB1``, ``DB10``; None when either part is unknown."""
    if block_type is None or number is None:
        return None
    return f"{block_type}{number}"
