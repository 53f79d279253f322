"""EtherNet/IP encapsulation: header, command-specific data and the Common Packet Format.

Pure functions: bytes in, records out; they raise only ``Malformed``.

References (ODVA CIP Networks Library, Volume 2):
- 2-3.1 encapsulation header: command, length, session handle, status, sender context,
  options (24 bytes, little-endian);
- 2-4.3 ListIdentity, 2-4.6 ListServices, 2-4.4 RegisterSession, 2-4.7 SendRRData and
  2-4.8 SendUnitData (interface handle, timeout, then a CPF packet);
- 2-6 Common Packet Format: item count, then typed items (id, length, data); 2-6.2.2
  sequenced address item, 2-6.3.2 connected data item (CIP sequence count first), 2-6.3.3
  socket address items (big-endian sockaddr_in).
"""

from __future__ import annotations

import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.enip.constants import (
    DEVICE_TYPES,
    ENCAP_COMMANDS,
    ENCAP_STATUS,
    IDENTITY_STATES,
    VENDORS,
)
from otshield.protocols.enip.events import EnipIdentity, EnipService

__all__ = [
    "HEADER_SIZE",
    "MAX_CPF_ITEMS",
    "CpfItem",
    "EncapHeader",
    "frame_size",
    "identity_from_attributes",
    "parse_cpf",
    "parse_header",
    "parse_io_datagram",
    "parse_list_identity",
    "parse_list_services",
    "parse_register_session",
    "parse_rr_data",
    "probe",
    "sockaddr",
]

HEADER_SIZE = 24
MAX_CPF_ITEMS = 16
"""More items than any command defines; a larger count is treated as garbage."""

_HEADER = struct.Struct("<HHII8sI")
_U16 = struct.Struct("<H")
_U16U16 = struct.Struct("<HH")
_STATUS_OPTIONS = struct.Struct("<I8xI")
_RR_PREFIX = struct.Struct("<IH")
_IDENT_FIXED = struct.Struct("<HHHBBHI")  # vendor, type, product, major, minor, status, serial
_SOCKADDR = struct.Struct(">HH4s8s")
_SEQ_ADDR = struct.Struct("<II")
_SERVICE_ITEM = struct.Struct("<HH16s")

CpfItem = tuple[int, bytes]
"""(item type id, item data)."""


class EncapHeader(msgspec.Struct, frozen=True, gc=False):
    """The 24-byte encapsulation header (Vol. 2, 2-3.1)."""

    command: int
    length: int
    session: int
    status: int
    context: bytes
    options: int


def frame_size(buf: bytes) -> int | None:
    """Total length of the encapsulation message at the head of a TCP stream.

    Command codes are 16-bit but every defined one is below 0x0100, so a larger value means the
    stream is not at a message boundary (capture started mid-message, bytes lost): the engine
    then resynchronises. A reserved command below 0x0100 is accepted only with a zero options
    field and a defined status, so that stray message bytes are rarely taken for a header."""
    if len(buf) < 4:
        return None
    command: int
    length: int
    command, length = _U16U16.unpack_from(buf)
    if command in ENCAP_COMMANDS:
        return HEADER_SIZE + length
    if command > 0x00FF:
        raise Malformed("enip.bad_header",
                        f"command 0x{command:04x} is not an encapsulation command")
    if len(buf) < HEADER_SIZE:
        return None
    status, options = _STATUS_OPTIONS.unpack_from(buf, 8)
    if options or status not in ENCAP_STATUS:
        raise Malformed("enip.bad_header", f"reserved command 0x{command:04x} with status "
                        f"0x{status:08x} and options 0x{options:08x}: not a message boundary")
    return HEADER_SIZE + length


def probe(buf: bytes, from_client: bool) -> bool:
    """An encapsulation header with a known command and a consistent length, or an implicit
    I/O datagram (CPF with a sequenced address item and a connected data item)."""
    if len(buf) >= HEADER_SIZE:
        command, length, _session, status, _context, options = _HEADER.unpack_from(buf)
        if (command in ENCAP_COMMANDS and options == 0 and status in ENCAP_STATUS
                and HEADER_SIZE + length <= len(buf)):
            return True
    if len(buf) >= 22 and buf[0] == 2 and buf[1] == 0:
        return (_U16U16.unpack_from(buf, 2) == (0x8002, 8)
                and _U16.unpack_from(buf, 14)[0] == 0x00B1)
    return False


def parse_header(frame: bytes) -> EncapHeader:
    """The header of one whole encapsulation message; the data is ``frame[24:24+length]``."""
    if len(frame) < HEADER_SIZE:
        raise Malformed("enip.invalid_length", f"{len(frame)} bytes, the header alone is 24")
    command, length, session, status, context, options = _HEADER.unpack_from(frame)
    if HEADER_SIZE + length > len(frame):
        raise Malformed("enip.invalid_length",
                        f"length field {length} but {len(frame) - HEADER_SIZE} data bytes")
    return EncapHeader(command, length, session, status, context, options)


def parse_cpf(data: bytes, offset: int = 0) -> list[CpfItem]:
    """The items of a Common Packet Format packet starting at ``offset``."""
    n = len(data)
    if offset + 2 > n:
        raise Malformed("enip.bad_cpf", "no item count")
    count = _U16.unpack_from(data, offset)[0]
    if count == 2 and offset + 10 <= n:  # the common case: an address item and a data item
        t1, l1 = _U16U16.unpack_from(data, offset + 2)
        p2 = offset + 6 + l1
        if p2 + 4 <= n:
            t2, l2 = _U16U16.unpack_from(data, p2)
            if p2 + 4 + l2 == n:
                return [(t1, data[offset + 6:p2]), (t2, data[p2 + 4:n])]
    if count > MAX_CPF_ITEMS:
        raise Malformed("enip.bad_cpf", f"item count {count}")
    pos = offset + 2
    items: list[CpfItem] = []
    for i in range(count):
        if pos + 4 > n:
            raise Malformed("enip.bad_cpf", f"item {i + 1} of {count} missing")
        type_id, length = _U16U16.unpack_from(data, pos)
        pos += 4
        end = pos + length
        if end > n:
            raise Malformed("enip.bad_cpf",
                            f"item 0x{type_id:04x} length {length} runs past the data")
        items.append((type_id, data[pos:end]))
        pos = end
    if pos != n:
        raise Malformed("enip.bad_cpf", f"{n - pos} bytes after the last item")
    return items


def parse_rr_data(data: bytes) -> tuple[int, int, list[CpfItem]]:
    """SendRRData / SendUnitData data: (interface handle, timeout, CPF items)."""
    if len(data) < 6:
        raise Malformed("enip.invalid_length", f"{len(data)} data bytes, 6 needed before the CPF")
    handle, timeout = _RR_PREFIX.unpack_from(data)
    return handle, timeout, parse_cpf(data, 6)


def parse_register_session(data: bytes) -> tuple[int, int]:
    """RegisterSession data: (protocol version, option flags)."""
    if len(data) != 4:
        raise Malformed("enip.invalid_length", f"RegisterSession data is {len(data)} bytes, not 4")
    version, options = _U16U16.unpack_from(data)
    return version, options


def sockaddr(item: bytes) -> tuple[str, int]:
    """A socket address item (sin_family, sin_port, sin_addr, sin_zero; network order)."""
    if len(item) < 16:
        raise Malformed("enip.bad_cpf", f"socket address item of {len(item)} bytes")
    _family, port, addr, _zero = _SOCKADDR.unpack_from(item)
    return ".".join(str(b) for b in addr), port


def identity_from_attributes(data: bytes, offset: int = 0, *, encap_version: int | None = None,
                             socket: tuple[str, int] | None = None,
                             want_state: bool = True) -> EnipIdentity:
    """Identity attributes 1-8 as laid out in a ListIdentity item and in the Identity object's
    Get_Attributes_All reply: vendor, device type, product code, revision, status, serial,
    product name (SHORT_STRING), state (optional)."""
    n = len(data)
    if offset + _IDENT_FIXED.size + 1 > n:
        raise Malformed("enip.bad_identity", f"identity of {n - offset} bytes")
    vendor, devtype, product, major, minor, status, serial = _IDENT_FIXED.unpack_from(data, offset)
    pos = offset + _IDENT_FIXED.size
    name_len = data[pos]
    pos += 1
    if pos + name_len > n:
        raise Malformed("enip.bad_identity", f"product name of {name_len} bytes runs past the data")
    name = data[pos:pos + name_len].decode("latin-1")
    pos += name_len
    state = data[pos] if want_state and pos < n else None
    return EnipIdentity(
        vendor_id=vendor, vendor_name=VENDORS.get(vendor), device_type=devtype,
        device_type_name=DEVICE_TYPES.get(devtype), product_code=product,
        revision=f"{major}.{minor:02d}", revision_major=major, revision_minor=minor,
        status=status, serial_number=f"0x{serial:08x}", product_name=name, state=state,
        state_name=IDENTITY_STATES.get(state) if state is not None else None,
        encapsulation_version=encap_version,
        socket_ip=socket[0] if socket else None, socket_port=socket[1] if socket else None,
        owned=bool(status & 0x0001), configured=bool(status & 0x0004),
        minor_recoverable_fault=bool(status & 0x0100),
        minor_unrecoverable_fault=bool(status & 0x0200),
        major_recoverable_fault=bool(status & 0x0400),
        major_unrecoverable_fault=bool(status & 0x0800))


def parse_list_identity(data: bytes) -> tuple[int, list[EnipIdentity]]:
    """ListIdentity reply: (item count, identity items)."""
    items = parse_cpf(data)
    out: list[EnipIdentity] = []
    for type_id, item in items:
        if type_id != 0x000C:
            continue
        if len(item) < 18:
            raise Malformed("enip.bad_identity", f"identity item of {len(item)} bytes")
        version = _U16.unpack_from(item)[0]
        out.append(identity_from_attributes(item, 18, encap_version=version,
                                            socket=sockaddr(item[2:18])))
    return len(items), out


def parse_list_services(data: bytes) -> tuple[int, list[EnipService]]:
    """ListServices reply: (item count, service items)."""
    items = parse_cpf(data)
    out: list[EnipService] = []
    for type_id, item in items:
        if type_id != 0x0100:
            continue
        if len(item) < _SERVICE_ITEM.size:
            raise Malformed("enip.bad_cpf", f"ListServices item of {len(item)} bytes")
        version, flags, raw = _SERVICE_ITEM.unpack_from(item)
        out.append(EnipService(name=raw.split(b"\0", 1)[0].decode("latin-1"), version=version,
                               capability_flags=flags, cip_over_tcp=bool(flags & 0x0020),
                               io_over_udp=bool(flags & 0x0100)))
    return len(items), out


def parse_io_datagram(data: bytes) -> tuple[int, int, int]:
    """Implicit I/O (UDP 2222) datagram: (connection id, encapsulation sequence number,
    connected data length). The CPF must hold a sequenced address item (0x8002) and a
    connected data item (0x00B1); socket address items may follow."""
    items = parse_cpf(data)
    conn_id = seq = -1
    size = -1
    for type_id, item in items:
        if type_id == 0x8002:
            if len(item) != 8:
                raise Malformed("enip.bad_cpf", f"sequenced address item of {len(item)} bytes")
            conn_id, seq = _SEQ_ADDR.unpack_from(item)
        elif type_id == 0x00B1:
            size = len(item)
    if conn_id < 0 or size < 0:
        raise Malformed("enip.bad_cpf", "I/O datagram without sequenced address and data items")
    return conn_id, seq, size
