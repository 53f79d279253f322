"""Service-specific CIP data: Connection Manager (Forward_Open, Large_Forward_Open,
Forward_Close, Unconnected_Send), Multiple_Service_Packet, attribute lists, Logix tag services,
Identity Get_Attributes_All.

References (ODVA CIP Networks Library Volume 1 unless noted):
- 3-5.5.2 Forward_Open / Large_Forward_Open request and replies (table 3-5.16 to 3-5.21),
  3-5.5.1.1 network connection parameters (16-bit) and 3-5.5.1.2 (32-bit, Large),
  3-5.5.1.12 transport class and trigger, 3-5.5.1.3 priority/time tick and timeout ticks;
- 3-5.5.3 Forward_Close, 3-5.5.4 Unconnected_Send (request, 0xD2 failure reply);
- A-4.10 Multiple_Service_Packet (service count, offsets from the count field);
- A-4.3 Get_Attribute_List / A-4.4 Set_Attribute_List;
- 5-2.2 Identity object instance attributes 1-8;
- Rockwell 1756-PM020 ch. 3: Read_Tag, Write_Tag, Read_Tag_Fragmented, Write_Tag_Fragmented
  (data type, [structure handle], element count, [byte offset], data).

Decoders fill a :class:`Detail` and record non-fatal problems in ``Detail.errors`` as
(anomaly code, detail); those that cannot locate the embedded messages raise ``Malformed``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import msgspec

from otshield.errors import Malformed
from otshield.protocols.enip.constants import (
    CIP_DATA_TYPE_SIZES,
    CIP_DATA_TYPES,
    CONNECTION_PRIORITIES,
    CONNECTION_TYPES,
    TRANSPORT_TRIGGERS,
)
from otshield.protocols.enip.encap import identity_from_attributes
from otshield.protocols.enip.epath import PathInfo, parse_path
from otshield.protocols.enip.events import CipConnection, EnipIdentity, PcccInfo
from otshield.protocols.enip.pccc import parse_pccc_reply, parse_pccc_request

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_EMBEDDED",
    "Detail",
    "decode_reply",
    "decode_request",
    "split_multiple",
    "unwrap_unconnected_send",
]

MAX_EMBEDDED = 256
"""Services of one Multiple_Service_Packet that are decoded; more is flagged."""
MAX_ATTRIBUTES = 64
"""Attribute ids kept from one attribute list."""

_U16 = struct.Struct("<H")
_U16U16 = struct.Struct("<HH")
_U16U32 = struct.Struct("<HI")
_UCS = struct.Struct("<BBH")
_FO = struct.Struct("<BBIIHHIB3xIHIHBB")
_LFO = struct.Struct("<BBIIHHIB3xIIIIBB")
_FO_OK = struct.Struct("<IIHHIIIBB")
_TRIAD = struct.Struct("<HHI")
_FC = struct.Struct("<BBHHIBB")


class Detail:
    """Service-specific fields of one request or reply, for the event."""

    __slots__ = ("attribute_count", "attributes", "connection", "data_type", "elements",
                 "errors", "identity", "offset", "pccc", "value")

    def __init__(self) -> None:
        self.attributes: list[int] | None = None
        self.attribute_count: int | None = None
        self.data_type: int | None = None
        self.elements: int | None = None
        self.offset: int | None = None
        self.value: int | float | None = None
        self.identity: EnipIdentity | None = None
        self.connection: CipConnection | None = None
        self.pccc: PcccInfo | None = None
        self.errors: list[tuple[str, str]] = []

    @property
    def data_type_name(self) -> str | None:
        return CIP_DATA_TYPES.get(self.data_type) if self.data_type is not None else None


# -- embedded messages ---------------------------------------------------------------------------

def split_multiple(data: bytes) -> tuple[list[bytes], int]:
    """The services of a Multiple_Service_Packet request or reply body: (messages, declared
    count). At most :data:`MAX_EMBEDDED` messages are returned."""
    n = len(data)
    if n < 2:
        raise Malformed("cip.bad_multiple_service", "no service count")
    count = _U16.unpack_from(data)[0]
    table_end = 2 + 2 * count
    if table_end > n:
        raise Malformed("cip.bad_multiple_service", f"{count} offsets run past {n} bytes")
    kept = min(count, MAX_EMBEDDED)
    offsets = list(struct.unpack_from(f"<{kept}H", data, 2)) if kept else []
    following = _U16.unpack_from(data, 2 + 2 * kept)[0] if kept < count else n
    bounds = [*offsets, following]
    out: list[bytes] = []
    for k in range(kept):
        start, end = bounds[k], bounds[k + 1]
        if start < table_end or end > n or end < start:
            raise Malformed("cip.bad_multiple_service",
                            f"service {k + 1} at offsets {start}-{end} of {n} bytes")
        out.append(data[start:end])
    return out, count


def unwrap_unconnected_send(data: bytes) -> tuple[int, bytes, PathInfo | None, str | None]:
    """Unconnected_Send request body: (timeout ms, embedded request, route path, route path
    error)."""
    n = len(data)
    if n < 4:
        raise Malformed("cip.bad_unconnected_send", f"{n} bytes")
    tick, ticks, size = _UCS.unpack_from(data)
    end = 4 + size
    if end > n:
        raise Malformed("cip.bad_unconnected_send",
                        f"embedded request of {size} bytes runs past {n - 4}")
    embedded = data[4:end]
    pos = end + (size & 1)
    route: PathInfo | None = None
    error: str | None = None
    if pos + 2 <= n:
        words = data[pos]
        rend = pos + 2 + 2 * words
        if rend > n:
            error = f"route path of {words} words runs past the request"
        else:
            try:
                route = parse_path(data[pos + 2:rend])
            except Malformed as m:
                error = m.detail
    else:
        error = "no route path"
    return (1 << (tick & 0x0F)) * ticks, embedded, route, error


# -- requests ------------------------------------------------------------------------------------

def decode_request(name: str | None, class_id: int | None, data: bytes) -> Detail:
    """Service-specific request fields."""
    d = Detail()
    if name is None:
        return d
    decoder = _REQUESTS.get(name)
    if decoder is None:
        return d
    if name == "Execute_PCCC" and class_id != 0x67:
        return d
    try:
        decoder(data, d)
    except Malformed as m:
        d.errors.append((m.code, m.detail))
    return d


def decode_reply(name: str | None, class_id: int | None, req: Detail, status: int,
                 data: bytes, instance: int | None = None) -> Detail:
    """Service-specific reply fields (``req`` is the decoded request, completed in place for
    the connection and PCCC records). ``instance`` tells an Identity instance (1 and up, whose
    Get_Attributes_All reply is the device identity) from the class (0)."""
    d = req
    if name is None:
        return d
    try:
        if name in ("Forward_Open", "Large_Forward_Open"):
            _forward_open_reply(data, status, d)
        elif name == "Forward_Close":
            _forward_close_reply(data, status, d)
        elif (name == "Get_Attributes_All" and class_id == 0x01 and status == 0
              and instance is not None and instance > 0):
            d.identity = identity_from_attributes(data, want_state=len(data) > 0)
        elif name in ("Read_Tag", "Read_Tag_Fragmented") and status in (0, 6):
            _read_tag_reply(data, d)
        elif name == "Execute_PCCC" and class_id == 0x67 and d.pccc is not None:
            d.pccc = parse_pccc_reply(data, d.pccc)
    except Malformed as m:
        d.errors.append((m.code, m.detail))
    return d


def _attribute_list(data: bytes, d: Detail) -> None:
    if len(data) < 2:
        raise Malformed("cip.invalid_length", "attribute list without a count")
    count = _U16.unpack_from(data)[0]
    d.attribute_count = count
    kept = min(count, MAX_ATTRIBUTES, (len(data) - 2) // 2)
    d.attributes = list(struct.unpack_from(f"<{kept}H", data, 2)) if kept else []
    if 2 + 2 * count > len(data):
        raise Malformed("cip.invalid_length", f"{count} attribute ids in {len(data) - 2} bytes")


def _set_attribute_list(data: bytes, d: Detail) -> None:
    # values follow each id with a size only the object knows: keep the count and first id
    if len(data) < 2:
        raise Malformed("cip.invalid_length", "attribute list without a count")
    d.attribute_count = _U16.unpack_from(data)[0]
    if len(data) >= 4 and d.attribute_count:
        d.attributes = [_U16.unpack_from(data, 2)[0]]


def _type_header(data: bytes, d: Detail) -> int:
    """Data type (and structure handle): the offset after them."""
    if len(data) < 2:
        raise Malformed("cip.invalid_length", "tag data without a data type")
    dtype = _U16.unpack_from(data)[0]
    d.data_type = dtype
    return 4 if dtype == 0x02A0 else 2


def _atomic(dtype: int | None, raw: bytes, count: int | None) -> int | float | None:
    spec = CIP_DATA_TYPE_SIZES.get(dtype) if dtype is not None else None
    if spec is None or len(raw) != spec[1] or count not in (None, 1):
        return None
    value: int | float = struct.unpack(spec[0], raw)[0]
    if dtype == 0xC1:  # Logix sends true as 0xFF
        return 1 if value else 0
    return value


def _read_tag(data: bytes, d: Detail) -> None:
    if len(data) < 2:
        raise Malformed("cip.invalid_length", "Read_Tag without an element count")
    d.elements = _U16.unpack_from(data)[0]


def _read_tag_fragmented(data: bytes, d: Detail) -> None:
    if len(data) < 6:
        raise Malformed("cip.invalid_length", "Read_Tag_Fragmented shorter than 6 bytes")
    d.elements, d.offset = _U16U32.unpack_from(data)


def _write_tag(data: bytes, d: Detail) -> None:
    pos = _type_header(data, d)
    if len(data) < pos + 2:
        raise Malformed("cip.invalid_length", "Write_Tag without an element count")
    d.elements = _U16.unpack_from(data, pos)[0]
    d.value = _atomic(d.data_type, data[pos + 2:], d.elements)


def _write_tag_fragmented(data: bytes, d: Detail) -> None:
    pos = _type_header(data, d)
    if len(data) < pos + 6:
        raise Malformed("cip.invalid_length", "Write_Tag_Fragmented header truncated")
    d.elements, d.offset = _U16U32.unpack_from(data, pos)


def _read_tag_reply(data: bytes, d: Detail) -> None:
    if not data:
        return
    pos = _type_header(data, d)
    if len(data) < pos:
        raise Malformed("cip.invalid_length", "structure handle truncated")
    if d.offset in (None, 0):
        d.value = _atomic(d.data_type, data[pos:], d.elements)


def _connection_params(p: int, large: bool) -> tuple[int, bool, str, str, bool]:
    """(size, fixed, priority, type, redundant owner) of network connection parameters."""
    if large:
        return (p & 0xFFFF, not ((p >> 25) & 1), CONNECTION_PRIORITIES[(p >> 26) & 3],
                CONNECTION_TYPES[(p >> 29) & 3], bool((p >> 31) & 1))
    return (p & 0x1FF, not ((p >> 9) & 1), CONNECTION_PRIORITIES[(p >> 10) & 3],
            CONNECTION_TYPES[(p >> 13) & 3], bool((p >> 15) & 1))


def _forward_open(data: bytes, d: Detail, large: bool) -> None:
    layout = _LFO if large else _FO
    if len(data) < layout.size:
        raise Malformed("cip.bad_forward_open",
                        f"{len(data)} bytes, {layout.size} before the connection path")
    (tick, ticks, o2t_id, t2o_id, serial, vendor, orig_serial, multiplier, o2t_rpi, o2t_p,
     t2o_rpi, t2o_p, trigger, words) = layout.unpack_from(data)
    o2t = _connection_params(o2t_p, large)
    t2o = _connection_params(t2o_p, large)
    path_bytes = data[layout.size:layout.size + 2 * words]
    path_text: str | None = None
    if len(path_bytes) < 2 * words:
        d.errors.append(("cip.bad_forward_open", f"connection path of {words} words truncated"))
    else:
        try:
            path_text = parse_path(path_bytes).text
        except Malformed as m:
            d.errors.append((m.code, f"connection path: {m.detail}"))
    d.connection = CipConnection(
        connection_serial=serial, originator_vendor_id=vendor,
        originator_serial=f"0x{orig_serial:08x}", o2t_connection_id=o2t_id,
        t2o_connection_id=t2o_id, timeout_ms=(1 << (tick & 0x0F)) * ticks,
        timeout_multiplier=multiplier, o2t_rpi_us=o2t_rpi, t2o_rpi_us=t2o_rpi,
        o2t_size=o2t[0], t2o_size=t2o[0], o2t_fixed_size=o2t[1], t2o_fixed_size=t2o[1],
        o2t_priority=o2t[2], t2o_priority=t2o[2], o2t_type=o2t[3], t2o_type=t2o[3],
        o2t_redundant_owner=o2t[4], t2o_redundant_owner=t2o[4], transport_class=trigger & 0x0F,
        trigger=TRANSPORT_TRIGGERS.get((trigger >> 4) & 7, str((trigger >> 4) & 7)),
        direction="server" if trigger & 0x80 else "client", connection_path=path_text)


def _forward_open_reply(data: bytes, status: int, d: Detail) -> None:
    if status == 0:
        if len(data) < _FO_OK.size:
            raise Malformed("cip.bad_forward_open", f"success reply of {len(data)} bytes")
        o2t_id, t2o_id, serial, vendor, orig_serial, o2t_api, t2o_api, _size, _res = (
            _FO_OK.unpack_from(data))
        changes: dict[str, int | str] = {
            "o2t_connection_id": o2t_id, "t2o_connection_id": t2o_id, "o2t_api_us": o2t_api,
            "t2o_api_us": t2o_api}
    else:
        if len(data) < 9:
            if not data:
                return
            raise Malformed("cip.bad_forward_open", f"failure reply of {len(data)} bytes")
        serial, vendor, orig_serial = _TRIAD.unpack_from(data)
        changes = {"remaining_path_size": data[8]}
    if d.connection is None:  # the request was not seen
        d.connection = CipConnection(connection_serial=serial, originator_vendor_id=vendor,
                                     originator_serial=f"0x{orig_serial:08x}")
    d.connection = msgspec.structs.replace(d.connection, **changes)


def _forward_close(data: bytes, d: Detail) -> None:
    if len(data) < _FC.size:
        raise Malformed("cip.bad_forward_open", f"Forward_Close of {len(data)} bytes")
    tick, ticks, serial, vendor, orig_serial, words, _res = _FC.unpack_from(data)
    path_bytes = data[_FC.size:_FC.size + 2 * words]
    path_text: str | None = None
    if len(path_bytes) == 2 * words:
        try:
            path_text = parse_path(path_bytes).text
        except Malformed as m:
            d.errors.append((m.code, f"connection path: {m.detail}"))
    else:
        d.errors.append(("cip.bad_forward_open", f"connection path of {words} words truncated"))
    d.connection = CipConnection(connection_serial=serial, originator_vendor_id=vendor,
                                 originator_serial=f"0x{orig_serial:08x}",
                                 timeout_ms=(1 << (tick & 0x0F)) * ticks,
                                 connection_path=path_text)


def _forward_close_reply(data: bytes, status: int, d: Detail) -> None:
    if len(data) < 9:
        if not data:
            return
        raise Malformed("cip.bad_forward_open", f"Forward_Close reply of {len(data)} bytes")
    serial, vendor, orig_serial = _TRIAD.unpack_from(data)
    if d.connection is None:
        d.connection = CipConnection(connection_serial=serial, originator_vendor_id=vendor,
                                     originator_serial=f"0x{orig_serial:08x}")
    if status != 0:
        d.connection = msgspec.structs.replace(d.connection, remaining_path_size=data[8])


def _pccc(data: bytes, d: Detail) -> None:
    d.pccc = parse_pccc_request(data)


_REQUESTS: dict[str, Callable[[bytes, Detail], None]] = {
    "Get_Attribute_List": _attribute_list,
    "Set_Attribute_List": _set_attribute_list,
    "Read_Tag": _read_tag,
    "Read_Tag_Fragmented": _read_tag_fragmented,
    "Write_Tag": _write_tag,
    "Write_Tag_Fragmented": _write_tag_fragmented,
    "Forward_Open": lambda data, d: _forward_open(data, d, False),
    "Large_Forward_Open": lambda data, d: _forward_open(data, d, True),
    "Forward_Close": _forward_close,
    "Execute_PCCC": _pccc,
}
