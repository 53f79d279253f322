"""Pure Modbus/TCP parser: one whole ADU (MBAP header + PDU) in, a :class:`ModbusPdu` out.

References: MODBUS Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3 (MBAP header: transaction
id, protocol id 0, length of unit id + PDU, unit id); MODBUS Application Protocol Specification
V1.1b3, section 6 (request and response layout of every public function code), section 7
(exception responses). UMAS layout (FC 90): [0x5A, session key, UMAS code, data] in requests,
[0x5A, session key, 0xFE ok | 0xFD error, data] in responses (Liras 2017).

Only a broken MBAP header makes the unit undecodable (``Malformed`` is raised). Problems inside a
PDU whose header is sound are collected on ``ModbusPdu.anomalies`` and decoding keeps what it
could, so the session still pairs the transaction and reports it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from itertools import chain

from otshield.errors import Malformed
from otshield.protocols.modbus.constants import (
    COIL_OFF,
    COIL_ON,
    CONFORMITY_LEVELS,
    DEVICE_ID_CODES,
    DEVICE_OBJECTS,
    EXCEPTION_CODES,
    FIFO_MAX_COUNT,
    FILE_MAX_RECORD_NUMBER,
    FILE_REFERENCE_TYPE,
    FUNCTIONS,
    MAX_COILS,
    MAX_DEVICE_OBJECTS,
    MAX_FILE_RECORDS,
    MAX_MBAP_LENGTH,
    MAX_RAW_BYTES,
    MAX_REGISTERS,
    MAX_TOLERATED_MBAP_LENGTH,
    MEI_READ_DEVICE_ID,
    MEI_TYPES,
    MIN_MBAP_LENGTH,
    MORE_FOLLOWS,
    QUANTITY_LIMITS,
    READ_WRITE_READ_LIMIT,
    READ_WRITE_WRITE_LIMIT,
    UMAS_FUNCTIONS,
    UMAS_SIGNATURE_LENGTH,
    UMAS_SIGNED,
    UMAS_STATUS,
)
from otshield.protocols.modbus.events import ModbusDeviceObject, ModbusFileRecord

__all__ = [
    "HEADER",
    "PUBLIC_CODES",
    "ModbusPdu",
    "decode",
    "decode_request",
    "decode_response",
    "object_name",
]

HEADER = struct.Struct(">HHHBB")  # transaction id, protocol id, length, unit id, function code
_U16 = struct.Struct(">H")
_U16X2 = struct.Struct(">HH")
_U16X3 = struct.Struct(">HHH")
_U16X4 = struct.Struct(">HHHH")
_FILE_SUB = struct.Struct(">BHHH")  # reference type, file number, record number, record length
_REGS = [struct.Struct(f">{i}H") for i in range(131)]  # a 260-byte ADU holds at most 130
_BITS: tuple[tuple[bool, ...], ...] = tuple(
    tuple(bool(b >> i & 1) for i in range(8)) for b in range(256))  # coils: LSB first (6.1)
_PRINTABLE = re.compile(rb"[\x20-\x7e]{3,}")
_DATA = 8  # offset of the first byte after the function code


class ModbusPdu:
    """A decoded ADU. Attributes not set on an instance keep the class default (None), so a PDU
    carries only what its function defines; the session merges request and response."""

    transaction_id: int
    unit_id: int
    function_code: int
    """Without the exception bit of a response (a request keeps a set bit: it is no exception)."""
    size: int
    """PDU bytes (function code included)."""
    is_exception: bool = False
    exception_code: int | None = None
    address: int | None = None
    quantity: int | None = None
    byte_count: int | None = None
    coils: tuple[bool, ...] | None = None
    registers: tuple[int, ...] | None = None
    write_address: int | None = None
    write_quantity: int | None = None
    write_registers: tuple[int, ...] | None = None
    and_mask: int | None = None
    or_mask: int | None = None
    fifo_count: int | None = None
    file_records: tuple[ModbusFileRecord, ...] | None = None
    file_data: tuple[tuple[int, ...], ...] | None = None
    """FC 20 response: register contents of each sub-response, in order."""
    subfunction: int | None = None
    diagnostic_data: str | None = None
    exception_status: int | None = None
    comm_status: int | None = None
    event_count: int | None = None
    message_count: int | None = None
    comm_events: str | None = None
    server_id: str | None = None
    server_text: str | None = None
    mei_type: int | None = None
    device_id_code: int | None = None
    object_id: int | None = None
    conformity_level: int | None = None
    more_follows: bool | None = None
    next_object_id: int | None = None
    objects: tuple[ModbusDeviceObject, ...] | None = None
    umas_code: int | None = None
    umas_session: int | None = None
    umas_status: str | None = None
    umas_signed: bool = False
    raw: str | None = None
    truncated: bool = False
    anomalies: list[tuple[str, str]] | None = None
    """Soft findings: (anomaly code, detail)."""

    def __init__(self, transaction_id: int, unit_id: int, function_code: int, size: int) -> None:
        self.transaction_id = transaction_id
        self.unit_id = unit_id
        self.function_code = function_code
        self.size = size

    def flag(self, code: str, detail: str) -> None:
        """Record a soft anomaly; decoding goes on."""
        if self.anomalies is None:
            self.anomalies = [(code, detail)]
        else:
            self.anomalies.append((code, detail))


Body = Callable[[ModbusPdu, bytes, int], None]
"""Decodes the data after the function code: (pdu, whole ADU, data length)."""


# -- entry points ----------------------------------------------------------------------------------
def decode(frame: bytes, from_client: bool) -> ModbusPdu:
    """Decode one ADU sent by the client (a request) or by the server (a response)."""
    return decode_request(frame) if from_client else decode_response(frame)


def _header(frame: bytes) -> ModbusPdu:
    n = len(frame)
    if n < 8:
        raise Malformed("modbus.invalid_length", f"{n} bytes, an ADU has at least 8")
    tid, pid, length, unit, fc = HEADER.unpack_from(frame, 0)
    if pid != 0:
        raise Malformed("modbus.invalid_protocol_id", f"protocol id {pid}, expected 0")
    if length != n - 6:
        raise Malformed("modbus.invalid_length", f"MBAP length {length}, {n - 6} bytes follow")
    if length > MAX_TOLERATED_MBAP_LENGTH:
        raise Malformed("modbus.invalid_length",
                        f"MBAP length {length} outside {MIN_MBAP_LENGTH}..{MAX_MBAP_LENGTH}")
    if not fc & 0x7F:
        raise Malformed("modbus.unknown_function", f"function code {fc} is no function")
    pdu = ModbusPdu(tid, unit, fc & 0x7F, length - 1)
    if length > MAX_MBAP_LENGTH:
        pdu.flag("modbus.oversized_pdu", f"PDU of {length - 1} bytes, the limit is 253")
    return pdu


def decode_request(frame: bytes) -> ModbusPdu:
    """Decode a client ADU. Raises ``Malformed`` only for a broken MBAP header."""
    pdu = _header(frame)
    fc = frame[7]
    n = len(frame) - _DATA
    if fc & 0x80:
        pdu.function_code = fc  # keep what was sent: a request has no exception form
        pdu.flag("modbus.unknown_function", f"function code {fc} in a request")
        _opaque(pdu, frame, n)
        return pdu
    body = _REQUEST_BODY.get(fc)
    if body is None:
        if fc not in FUNCTIONS:
            pdu.flag("modbus.unknown_function", f"function code {fc}")
        _opaque(pdu, frame, n)
        return pdu
    try:
        body(pdu, frame, n)
    except Malformed as m:
        pdu.flag(m.code, m.detail)
    return pdu


def decode_response(frame: bytes) -> ModbusPdu:
    """Decode a server ADU (normal or exception response)."""
    pdu = _header(frame)
    fc = frame[7]
    n = len(frame) - _DATA
    if fc & 0x80:
        pdu.is_exception = True
        if n < 1:
            pdu.flag("modbus.invalid_length", "exception response without an exception code")
            return pdu
        if n > 1:
            pdu.flag("modbus.invalid_length", f"exception response with {n} data bytes, not 1")
        code = frame[_DATA]
        pdu.exception_code = code
        if code not in EXCEPTION_CODES:
            pdu.flag("modbus.unknown_exception_code", f"exception code {code}")
        return pdu
    body = _RESPONSE_BODY.get(fc)
    if body is None:
        _opaque(pdu, frame, n)
        return pdu
    try:
        body(pdu, frame, n)
    except Malformed as m:
        pdu.flag(m.code, m.detail)
    return pdu


# -- helpers ---------------------------------------------------------------------------------------
def _need(pdu: ModbusPdu, n: int, need: int, exact: bool = True) -> None:
    """The data after the function code must be ``need`` bytes (at least, if not ``exact``)."""
    if n < need:
        raise Malformed("modbus.invalid_length",
                        f"function {pdu.function_code}: {n} data bytes, needs {need}")
    if exact and n > need:
        pdu.flag("modbus.invalid_length",
                 f"function {pdu.function_code}: {n} data bytes, expected {need}")


def _hex(pdu: ModbusPdu, frame: bytes, start: int, end: int) -> str:
    if end - start > MAX_RAW_BYTES:
        pdu.truncated = True
        end = start + MAX_RAW_BYTES
    return frame[start:end].hex()


def _opaque(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    if n:
        pdu.raw = _hex(pdu, frame, _DATA, _DATA + n)


def _registers(pdu: ModbusPdu, frame: bytes, offset: int, count: int) -> tuple[int, ...]:
    if count > MAX_REGISTERS:
        pdu.truncated = True
        count = MAX_REGISTERS
    return _REGS[count].unpack_from(frame, offset)


def _coils(pdu: ModbusPdu, frame: bytes, offset: int, nbytes: int, count: int) -> tuple[bool, ...]:
    if count > MAX_COILS:
        pdu.truncated = True
        count = MAX_COILS
    bits = tuple(chain.from_iterable(map(_BITS.__getitem__, frame[offset:offset + nbytes])))
    return bits[:count] if count < len(bits) else bits


def _check_quantity(pdu: ModbusPdu, quantity: int, limits: tuple[int, int], what: str) -> None:
    lo, hi = limits
    if not lo <= quantity <= hi:
        pdu.flag("modbus.invalid_quantity",
                 f"function {pdu.function_code}: {what} {quantity} outside {lo}..{hi}")


def _byte_count(pdu: ModbusPdu, declared: int, present: int, expected: int | None = None) -> None:
    if declared != present:
        pdu.flag("modbus.byte_count_mismatch",
                 f"function {pdu.function_code}: byte count {declared}, {present} bytes follow")
    elif expected is not None and declared != expected:
        pdu.flag("modbus.byte_count_mismatch",
                 f"function {pdu.function_code}: byte count {declared}, "
                 f"the quantity implies {expected}")


# -- request bodies --------------------------------------------------------------------------------
def _req_read(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 1-4 (6.1-6.4): starting address, quantity. (The hot path: checks inlined.)"""
    if n != 4:
        _need(pdu, n, 4)
    pdu.address, quantity = _U16X2.unpack_from(frame, _DATA)
    pdu.quantity = quantity
    lo, hi = QUANTITY_LIMITS[pdu.function_code]
    if not lo <= quantity <= hi:
        _check_quantity(pdu, quantity, (lo, hi), "quantity")


def _write_coil(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 5 (6.5), request and echo: output address, 0xFF00 (on) or 0x0000 (off)."""
    _need(pdu, n, 4)
    pdu.address, value = _U16X2.unpack_from(frame, _DATA)
    pdu.quantity = 1
    if value == COIL_ON:
        pdu.coils = (True,)
    elif value == COIL_OFF:
        pdu.coils = (False,)
    else:
        pdu.flag("modbus.invalid_coil_value", f"coil value 0x{value:04x}, not 0xff00 or 0x0000")


def _write_register(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 6 (6.6), request and echo: register address, value."""
    _need(pdu, n, 4)
    pdu.address, value = _U16X2.unpack_from(frame, _DATA)
    pdu.quantity = 1
    pdu.registers = (value,)


def _no_data(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 7, 11, 12, 17 requests carry nothing after the function code."""
    if n:
        pdu.flag("modbus.invalid_length", f"function {pdu.function_code}: {n} unexpected bytes")


def _diagnostics(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 8 (6.8), request and response: sub-function, data."""
    _need(pdu, n, 2, exact=False)
    pdu.subfunction = _U16.unpack_from(frame, _DATA)[0]
    if n > 2:
        pdu.diagnostic_data = _hex(pdu, frame, _DATA + 2, _DATA + n)


def _req_write_coils(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 15 (6.11): address, quantity, byte count, packed coil values."""
    _need(pdu, n, 5, exact=False)
    pdu.address, quantity = _U16X2.unpack_from(frame, _DATA)
    pdu.quantity = quantity
    count = pdu.byte_count = frame[_DATA + 4]
    _check_quantity(pdu, quantity, QUANTITY_LIMITS[15], "quantity")
    _byte_count(pdu, count, n - 5, (quantity + 7) // 8)
    available = min(count, n - 5)
    pdu.coils = _coils(pdu, frame, _DATA + 5, available, min(quantity, available * 8))


def _req_write_registers(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 16 (6.12): address, quantity, byte count, register values."""
    _need(pdu, n, 5, exact=False)
    pdu.address, quantity = _U16X2.unpack_from(frame, _DATA)
    pdu.quantity = quantity
    count = pdu.byte_count = frame[_DATA + 4]
    _check_quantity(pdu, quantity, QUANTITY_LIMITS[16], "quantity")
    _byte_count(pdu, count, n - 5, 2 * quantity)
    pdu.registers = _registers(pdu, frame, _DATA + 5, min(count, n - 5) // 2)


def _file_reference(pdu: ModbusPdu, ref_type: int, file: int, record: int) -> None:
    if ref_type != FILE_REFERENCE_TYPE:
        pdu.flag("modbus.invalid_reference", f"reference type {ref_type}, must be 6")
    elif file == 0 or record > FILE_MAX_RECORD_NUMBER:
        pdu.flag("modbus.invalid_reference", f"file {file} record {record}")


def _req_read_file(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 20 (6.14): byte count, then 7-byte sub-requests (type 6, file, record, length)."""
    _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    _byte_count(pdu, count, n - 1)
    if not 0x07 <= count <= 0xF5 or count % 7:
        pdu.flag("modbus.byte_count_mismatch", f"function 20: byte count {count}")
    records: list[ModbusFileRecord] = []
    pos, end = _DATA + 1, _DATA + 1 + min(count, n - 1)
    while pos + 7 <= end and len(records) < MAX_FILE_RECORDS:
        ref_type, file, record, length = _FILE_SUB.unpack_from(frame, pos)
        _file_reference(pdu, ref_type, file, record)
        records.append(ModbusFileRecord(file=file, record=record, length=length))
        pos += 7
    pdu.file_records = tuple(records)


def _write_file(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 21 (6.15), request and echo: byte count, then sub-requests (type 6, file, record,
    length, 2 x length bytes of data)."""
    _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    _byte_count(pdu, count, n - 1)
    if not 0x09 <= count <= 0xFB:
        pdu.flag("modbus.byte_count_mismatch", f"function 21: byte count {count}")
    records: list[ModbusFileRecord] = []
    pos, end = _DATA + 1, _DATA + 1 + min(count, n - 1)
    try:  # records decoded before a broken one are kept
        while pos + 7 <= end and len(records) < MAX_FILE_RECORDS:
            ref_type, file, record, length = _FILE_SUB.unpack_from(frame, pos)
            _file_reference(pdu, ref_type, file, record)
            pos += 7
            if pos + 2 * length > end:
                raise Malformed("modbus.invalid_length",
                                f"function 21: record of {length} registers runs past the PDU")
            regs = _registers(pdu, frame, pos, length)
            records.append(ModbusFileRecord(file=file, record=record, length=length,
                                            registers=regs))
            pos += 2 * length
    finally:
        pdu.file_records = tuple(records)
    if pos != end and len(records) < MAX_FILE_RECORDS:
        pdu.flag("modbus.invalid_length", f"function 21: {end - pos} bytes after the records")


def _mask_write(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 22 (6.16), request and echo: address, AND mask, OR mask."""
    _need(pdu, n, 6)
    pdu.address, pdu.and_mask, pdu.or_mask = _U16X3.unpack_from(frame, _DATA)


def _req_read_write(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 23 (6.17): read address, quantity to read, write address, quantity to write, write
    byte count, values to write."""
    _need(pdu, n, 9, exact=False)
    pdu.address, pdu.quantity, pdu.write_address, pdu.write_quantity = _U16X4.unpack_from(
        frame, _DATA)
    count = pdu.byte_count = frame[_DATA + 8]
    _check_quantity(pdu, pdu.quantity, READ_WRITE_READ_LIMIT, "quantity to read")
    _check_quantity(pdu, pdu.write_quantity, READ_WRITE_WRITE_LIMIT, "quantity to write")
    _byte_count(pdu, count, n - 9, 2 * pdu.write_quantity)
    pdu.write_registers = _registers(pdu, frame, _DATA + 9, min(count, n - 9) // 2)


def _req_fifo(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 24 (6.18): FIFO pointer address."""
    _need(pdu, n, 2)
    pdu.address = _U16.unpack_from(frame, _DATA)[0]


def _req_mei(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 43 (6.19-6.21): MEI type; 14 = read device id code + object id; 13 = CANopen."""
    _need(pdu, n, 1, exact=False)
    mei = pdu.mei_type = frame[_DATA]
    if mei == MEI_READ_DEVICE_ID:
        _need(pdu, n, 3)
        pdu.device_id_code, pdu.object_id = frame[_DATA + 1], frame[_DATA + 2]
        if pdu.device_id_code not in DEVICE_ID_CODES:
            pdu.flag("modbus.invalid_mei", f"read device id code {pdu.device_id_code}")
        return
    if mei not in MEI_TYPES:
        pdu.flag("modbus.invalid_mei", f"MEI type {mei} is reserved")
    if n > 1:
        pdu.raw = _hex(pdu, frame, _DATA + 1, _DATA + n)


def _umas(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 90 request: session key, UMAS code, data. A signed request (0x38) carries a magic byte
    and a 32-byte signature before the whole inner request, whose code is the one reported."""
    _need(pdu, n, 2, exact=False)
    pdu.umas_session, code = frame[_DATA], frame[_DATA + 1]
    data = _DATA + 2
    inner = data + 1 + UMAS_SIGNATURE_LENGTH
    if code == UMAS_SIGNED and len(frame) >= inner + 3 and frame[inner] == 90:
        pdu.umas_signed = True
        code = frame[inner + 2]
        data = inner + 3
    pdu.umas_code = code
    if code not in UMAS_FUNCTIONS:
        pdu.flag("modbus.unknown_umas_function", f"UMAS function code 0x{code:02x}")
    if len(frame) > data:
        pdu.raw = _hex(pdu, frame, data, len(frame))


# -- response bodies -------------------------------------------------------------------------------
def _resp_bits(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 1, 2 (6.1, 6.2): byte count, packed bits (the session trims them to the quantity)."""
    if n < 1:
        _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    if count != n - 1:
        _byte_count(pdu, count, n - 1)
        count = min(count, n - 1)
    pdu.coils = _coils(pdu, frame, _DATA + 1, count, count * 8)


def _resp_registers(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 3, 4, 23 (6.3, 6.4, 6.17): byte count, register values."""
    if n < 1:
        _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    if count != n - 1:
        _byte_count(pdu, count, n - 1)
        count = min(count, n - 1)
    if count & 1:
        pdu.flag("modbus.byte_count_mismatch",
                 f"function {pdu.function_code}: odd byte count {count} for registers")
    regs = count >> 1
    pdu.registers = (_REGS[regs].unpack_from(frame, _DATA + 1) if regs <= MAX_REGISTERS
                     else _registers(pdu, frame, _DATA + 1, regs))


def _resp_exception_status(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 7 (6.7): one byte of exception status outputs."""
    _need(pdu, n, 1)
    pdu.exception_status = frame[_DATA]


def _resp_event_counter(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 11 (6.9): status word, event count."""
    _need(pdu, n, 4)
    pdu.comm_status, pdu.event_count = _U16X2.unpack_from(frame, _DATA)


def _resp_event_log(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 12 (6.10): byte count, status, event count, message count, 0-64 event bytes."""
    _need(pdu, n, 7, exact=False)
    count = pdu.byte_count = frame[_DATA]
    _byte_count(pdu, count, n - 1)
    pdu.comm_status, pdu.event_count, pdu.message_count = _U16X3.unpack_from(frame, _DATA + 1)
    if n > 7:
        pdu.comm_events = _hex(pdu, frame, _DATA + 7, _DATA + n)


def _resp_addr_quantity(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 15, 16 (6.11, 6.12): starting address, quantity written."""
    _need(pdu, n, 4)
    pdu.address, pdu.quantity = _U16X2.unpack_from(frame, _DATA)


def _resp_server_id(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 17 (6.13): byte count, device-specific server id, run indicator, additional data."""
    _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    _byte_count(pdu, count, n - 1)
    end = _DATA + 1 + min(count, n - 1)
    pdu.server_id = _hex(pdu, frame, _DATA + 1, end)
    texts = _PRINTABLE.findall(frame, _DATA + 1, end)
    if texts:
        pdu.server_text = b" ".join(texts).decode("ascii")


def _resp_read_file(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 20 (6.14): data length, then sub-responses (length, type 6, 2 x N bytes of data)."""
    _need(pdu, n, 1, exact=False)
    count = pdu.byte_count = frame[_DATA]
    _byte_count(pdu, count, n - 1)
    data: list[tuple[int, ...]] = []
    pos, end = _DATA + 1, _DATA + 1 + min(count, n - 1)
    try:  # sub-responses decoded before a broken one are kept
        while pos + 2 <= end and len(data) < MAX_FILE_RECORDS:
            length, ref_type = frame[pos], frame[pos + 1]
            if ref_type != FILE_REFERENCE_TYPE:
                pdu.flag("modbus.invalid_reference", f"reference type {ref_type}, must be 6")
            if length < 1 or pos + 1 + length > end:
                raise Malformed("modbus.invalid_length",
                                f"function 20: sub-response of {length} bytes runs past the PDU")
            data.append(_registers(pdu, frame, pos + 2, (length - 1) // 2))
            pos += 1 + length
    finally:
        pdu.file_data = tuple(data)


def _resp_fifo(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 24 (6.18): byte count (2 bytes), FIFO count, FIFO registers."""
    _need(pdu, n, 4, exact=False)
    count, fifo = _U16X2.unpack_from(frame, _DATA)
    pdu.byte_count, pdu.fifo_count = count, fifo
    _byte_count(pdu, count, n - 2, 2 + 2 * fifo)
    if fifo > FIFO_MAX_COUNT:
        pdu.flag("modbus.invalid_quantity", f"function 24: FIFO count {fifo} over 31")
    pdu.registers = _registers(pdu, frame, _DATA + 4, min(fifo, (n - 4) // 2))


def _resp_mei(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 43/14 (6.21): MEI type, read device id code, conformity level, more follows, next
    object id, number of objects, then (id, length, value) objects."""
    _need(pdu, n, 1, exact=False)
    mei = pdu.mei_type = frame[_DATA]
    if mei != MEI_READ_DEVICE_ID:
        if mei not in MEI_TYPES:
            pdu.flag("modbus.invalid_mei", f"MEI type {mei} is reserved")
        if n > 1:
            pdu.raw = _hex(pdu, frame, _DATA + 1, _DATA + n)
        return
    _need(pdu, n, 6, exact=False)
    code, level, more, next_id, count = frame[_DATA + 1:_DATA + 6]
    pdu.device_id_code, pdu.conformity_level, pdu.next_object_id = code, level, next_id
    if code not in DEVICE_ID_CODES:
        pdu.flag("modbus.invalid_mei", f"read device id code {code}")
    if level not in CONFORMITY_LEVELS:
        pdu.flag("modbus.invalid_mei", f"conformity level 0x{level:02x}")
    if more not in (0, MORE_FOLLOWS):
        pdu.flag("modbus.invalid_mei", f"more follows 0x{more:02x}, not 0x00 or 0xff")
    pdu.more_follows = more == MORE_FOLLOWS
    objects: list[ModbusDeviceObject] = []
    pos, end = _DATA + 6, _DATA + n
    try:  # objects decoded before a broken one are kept
        for _ in range(count):
            if pos + 2 > end:
                raise Malformed("modbus.invalid_length", f"function 43/14: {count} objects "
                                f"announced, {len(objects)} present")
            oid, length = frame[pos], frame[pos + 1]
            if pos + 2 + length > end:
                raise Malformed("modbus.invalid_length", f"function 43/14: object 0x{oid:02x} "
                                f"of {length} bytes runs past the PDU")
            if len(objects) < MAX_DEVICE_OBJECTS:
                value = frame[pos + 2:pos + 2 + length].decode("utf-8", "replace")
                objects.append(ModbusDeviceObject(id=oid, name=object_name(oid), value=value))
            else:
                pdu.truncated = True
            pos += 2 + length
    finally:
        pdu.objects = tuple(objects)
    if pos != end:
        pdu.flag("modbus.invalid_length", f"function 43/14: {end - pos} bytes after the objects")


def _resp_umas(pdu: ModbusPdu, frame: bytes, n: int) -> None:
    """FC 90 response: session key, status (0xFE ok, 0xFD error), data."""
    _need(pdu, n, 2, exact=False)
    pdu.umas_session, status = frame[_DATA], frame[_DATA + 1]
    pdu.umas_status = UMAS_STATUS.get(status, "unknown")
    if n > 2:
        pdu.raw = _hex(pdu, frame, _DATA + 2, _DATA + n)


def object_name(oid: int) -> str:
    """Name of a device identification object id (6.21)."""
    name = DEVICE_OBJECTS.get(oid)
    if name is not None:
        return name
    return f"private_0x{oid:02x}" if oid >= 0x80 else f"reserved_0x{oid:02x}"


_REQUEST_BODY: dict[int, Body] = {  # the public function codes and UMAS
    1: _req_read, 2: _req_read, 3: _req_read, 4: _req_read,
    5: _write_coil, 6: _write_register, 7: _no_data, 8: _diagnostics, 11: _no_data,
    12: _no_data, 15: _req_write_coils, 16: _req_write_registers, 17: _no_data,
    20: _req_read_file, 21: _write_file, 22: _mask_write, 23: _req_read_write, 24: _req_fifo,
    43: _req_mei, 90: _umas,
}

_RESPONSE_BODY: dict[int, Body] = {
    1: _resp_bits, 2: _resp_bits, 3: _resp_registers, 4: _resp_registers,
    5: _write_coil, 6: _write_register, 7: _resp_exception_status, 8: _diagnostics,
    11: _resp_event_counter, 12: _resp_event_log, 15: _resp_addr_quantity,
    16: _resp_addr_quantity, 17: _resp_server_id, 20: _resp_read_file, 21: _write_file,
    22: _mask_write, 23: _resp_registers, 24: _resp_fifo, 43: _resp_mei, 90: _resp_umas,
}

PUBLIC_CODES = frozenset(_REQUEST_BODY)
"""The public function codes and UMAS: those with a field-level decoding."""
