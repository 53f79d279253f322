"""The Modbus event: one record per transaction (request and its response together), Zeek style.

A request whose response never came is emitted with ``status="unanswered"`` when it times out or
the flow ends; a response with no request is emitted with ``status="unmatched"``. Source is the
Modbus client (the side that sends requests), ``frame`` the packet that completed the record
(the request's own packet for an unanswered one).
Field meanings follow the MODBUS Application Protocol Specification V1.1b3, section 6.
ECS has no Modbus fields, so only the common fields are renamed.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = [
    "ModbusCommStatus",
    "ModbusDeviceObject",
    "ModbusDiagnostic",
    "ModbusEvent",
    "ModbusFileRecord",
    "ModbusMei",
    "ModbusServerId",
    "ModbusUmas",
]


class ModbusFileRecord(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One FC 20/21 sub-request (6.14, 6.15): a record of ``length`` registers in a file."""

    file: int
    record: int
    length: int
    registers: tuple[int, ...] | None = None
    """Record contents: written (FC 21 request) or read (FC 20 response)."""


class ModbusDeviceObject(msgspec.Struct, frozen=True, gc=False):
    """One FC 43/14 device identification object (6.21)."""

    id: int
    name: str
    """``VendorName``... for the standard ids 0-6, ``reserved_0xNN`` / ``private_0xNN`` above."""
    value: str


class ModbusDiagnostic(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """FC 8 (6.8): sub-function and its data (hex), request and response."""

    subfunction: int
    name: str
    """``RESTART_COMMUNICATIONS_OPTION``, ``FORCE_LISTEN_ONLY_MODE``... (6.8.1), or ``UNKNOWN``."""
    request_data: str | None = None
    response_data: str | None = None


class ModbusCommStatus(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """FC 7 exception status byte (6.7); FC 11/12 status word, counters, event log (6.9, 6.10)."""

    exception_status: int | None = None
    status: int | None = None
    event_count: int | None = None
    message_count: int | None = None
    events: str | None = None
    """FC 12 event bytes, hex."""


class ModbusServerId(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """FC 17 (6.13): the device-specific data (hex) and any printable text in it (vendor and
    product names, usually)."""

    data: str
    text: str | None = None


class ModbusMei(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """FC 43 (6.19-6.21): MEI type; for 14 (read device identification) the request's code and
    object id, the response's conformity level, more-follows, next object id and objects."""

    type: int
    name: str
    """``READ_DEVICE_IDENTIFICATION``, ``CANOPEN_GENERAL_REFERENCE`` or ``UNKNOWN``."""
    device_id_code: int | None = None
    object_id: int | None = None
    conformity_level: int | None = None
    more_follows: bool | None = None
    next_object_id: int | None = None
    objects: tuple[ModbusDeviceObject, ...] | None = None


class ModbusUmas(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """FC 90, Schneider UMAS: function code and name (request), session key, status (response)."""

    code: int | None = None
    function: str | None = None
    session: int | None = None
    """The session (pairing) key byte after the function code."""
    status: str | None = None
    """ok (0xFE) / error (0xFD) / unknown."""
    signed: bool = False
    """The request came wrapped in a signed message (UMAS 0x38)."""


class ModbusEvent(Event, tag="modbus", rename=ecs(), frozen=True, kw_only=False):
    """A Modbus/TCP transaction.

    The fields of this class are positional (``kw_only=False``; the common ones stay keyword-only):
    ``record.build_event`` passes the first sixteen by position, about three times faster than
    by keyword on the hot path. Their order is part of that contract (a test pins it).
    """

    transaction_id: int
    unit_id: int
    function_code: int
    """Function code without the exception bit (0x80) of a response; a request carrying the bit
    keeps it (function ``UNKNOWN``)."""
    function: str
    """Name of the function code (``READ_HOLDING_REGISTERS``, ``UNKNOWN``); the second level of
    FC 8, 43 and 90 is in ``diagnostic.name``, ``mei.name`` and ``umas.function``."""
    function_class: str
    """read / write / diagnostics / program / control / identify / other, from the most specific
    level known (a UMAS STOP_PLC is ``control``, an FC 8 restart is ``control``)."""
    status: str
    """ok / exception / unanswered / unmatched."""
    request_frame: int | None = None
    response_time: float | None = None
    """Seconds from request to response (packet time)."""
    request_size: int | None = None
    response_size: int | None = None
    """PDU sizes in bytes (function code included)."""
    exception_code: int | None = None
    exception: str | None = None
    address: int | None = None
    """Starting address (FC 1-6, 15, 16, 22), read address (FC 23), FIFO pointer (FC 24)."""
    quantity: int | None = None
    """Items requested or written (FC 1-4, 15, 16), quantity to read (FC 23)."""
    coils: tuple[bool, ...] | None = None
    """Coils/discrete inputs read (FC 1, 2) or written (FC 5, 15)."""
    registers: tuple[int, ...] | None = None
    """Registers read (FC 3, 4, 23, 24) or written (FC 6, 16)."""
    write_address: int | None = None
    write_quantity: int | None = None
    write_registers: tuple[int, ...] | None = None
    """FC 23 write part."""
    and_mask: int | None = None
    or_mask: int | None = None
    """FC 22 masks."""
    fifo_count: int | None = None
    file_records: tuple[ModbusFileRecord, ...] | None = None
    diagnostic: ModbusDiagnostic | None = None
    comm: ModbusCommStatus | None = None
    server_id: ModbusServerId | None = None
    mei: ModbusMei | None = None
    umas: ModbusUmas | None = None
    request_data: str | None = None
    response_data: str | None = None
    """Opaque payload (hex, capped) of functions without a field-level decoding: user-defined,
    legacy, CANopen, UMAS data."""
    truncated: bool = False
    """A value list or payload was cut to its cap."""
