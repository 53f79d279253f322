"""PCCC (DF1 command set) carried by the CIP PCCC object's Execute_PCCC service.

References:
- Execute_PCCC (class 0x67, service 0x4B) request data: requestor id (length byte counting
  itself, CIP vendor id, CIP serial number, optional vendor data), then the PCCC command:
  CMD, STS, TNS (16-bit), and for CMD 0x06/0x07/0x0F a function code and its data. The reply
  repeats the requestor id, then CMD | 0x40, STS, TNS and, when STS is 0xF0, an EXT STS byte.
- Allen-Bradley DF1 protocol and command set reference (1770-6.5.16), ch. 7-10: command and
  function codes; typed logical read/write address fields (byte size, file number, file type,
  element, sub-element, each number above 254 sent as 0xFF then 16 bits).
"""

from __future__ import annotations

import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.enip.constants import (
    PCCC_BASIC_FUNCTIONS,
    PCCC_COMMANDS,
    PCCC_CPU_MODES,
    PCCC_FILE_TYPES,
    PCCC_FUNCTIONS,
    PCCC_STATUS,
)
from otshield.protocols.enip.events import PcccInfo

__all__ = ["parse_pccc_reply", "parse_pccc_request", "pccc_function"]

_REQUESTOR = struct.Struct("<BHI")
_CMD = struct.Struct("<BBH")
_U16 = struct.Struct("<H")

_FUNCTION_CODES = frozenset({0x06, 0x07, 0x0F})
_TWO_FIELDS = frozenset({0xA1, 0xA9})
_THREE_FIELDS = frozenset({0xA2, 0xAA, 0xAB})


def _requestor(data: bytes) -> tuple[int, int | None, str | None]:
    """Offset of the PCCC command after the requestor id, vendor id, serial."""
    if not data:
        raise Malformed("cip.bad_pccc", "no requestor id")
    size = data[0]
    if size < 1 or size > len(data):
        raise Malformed("cip.bad_pccc", f"requestor id of {size} bytes in {len(data)}")
    if size >= _REQUESTOR.size:
        _len, vendor, serial = _REQUESTOR.unpack_from(data)
        return size, vendor, f"0x{serial:08x}"
    return size, None, None


def _number(data: bytes, pos: int) -> tuple[int, int]:
    """A PCCC address number: one byte, or 0xFF then a 16-bit value."""
    if pos >= len(data):
        raise Malformed("cip.bad_pccc", "address field truncated")
    if data[pos] != 0xFF:
        return data[pos], pos + 1
    if pos + 3 > len(data):
        raise Malformed("cip.bad_pccc", "extended address field truncated")
    return _U16.unpack_from(data, pos + 1)[0], pos + 3


def pccc_function(command: int, function: int | None) -> str:
    """Function class of a PCCC command (read, write, program, control, diagnostics, other)."""
    if function is None:
        return PCCC_BASIC_FUNCTIONS.get(command, "other")
    entry = PCCC_FUNCTIONS.get((command, function))
    return entry[1] if entry is not None else "other"


def parse_pccc_request(data: bytes) -> PcccInfo:
    """The PCCC command inside an Execute_PCCC request."""
    pos, vendor, serial = _requestor(data)
    if pos + 4 > len(data):
        raise Malformed("cip.bad_pccc", f"command of {len(data) - pos} bytes")
    command, _sts, tns = _CMD.unpack_from(data, pos)
    pos += 4
    if command not in _FUNCTION_CODES:
        return PcccInfo(command=command, command_name=PCCC_COMMANDS.get(command),
                        transaction=tns, requestor_vendor_id=vendor, requestor_serial=serial)
    if pos >= len(data):
        raise Malformed("cip.bad_pccc", f"command 0x{command:02x} without a function code")
    function = data[pos]
    pos += 1
    entry = PCCC_FUNCTIONS.get((command, function))
    byte_size = file_number = file_type = element = sub = None
    type_name = address = cpu_mode = None
    if command == 0x0F and (function in _TWO_FIELDS or function in _THREE_FIELDS):
        if pos >= len(data):
            raise Malformed("cip.bad_pccc", "typed logical address truncated")
        byte_size = data[pos]
        file_number, pos = _number(data, pos + 1)
        if pos >= len(data):
            raise Malformed("cip.bad_pccc", "file type missing")
        file_type = data[pos]
        element, pos = _number(data, pos + 1)
        if function in _THREE_FIELDS:
            sub, pos = _number(data, pos)
        letter, type_name = PCCC_FILE_TYPES.get(file_type, ("", None))
        address = f"{letter or '?'}{file_number}:{element}" + (f".{sub}" if sub else "")
    elif command == 0x0F and function == 0x80 and pos < len(data):
        cpu_mode = PCCC_CPU_MODES.get(data[pos], str(data[pos]))
    return PcccInfo(command=command, command_name=PCCC_COMMANDS.get(command),
                    function_code=function, function_name=entry[0] if entry else None,
                    transaction=tns, requestor_vendor_id=vendor, requestor_serial=serial,
                    file_type=file_type, file_type_name=type_name, file_number=file_number,
                    element=element, sub_element=sub, address=address, byte_size=byte_size,
                    cpu_mode=cpu_mode)


def parse_pccc_reply(data: bytes, request: PcccInfo) -> PcccInfo:
    """Complete the request's record with the reply status."""
    pos, _vendor, _serial = _requestor(data)
    if pos + 4 > len(data):
        raise Malformed("cip.bad_pccc", f"reply of {len(data) - pos} bytes")
    _cmd, sts, _tns = _CMD.unpack_from(data, pos)
    ext = data[pos + 4] if sts == 0xF0 and pos + 4 < len(data) else None
    return msgspec.structs.replace(request, status=sts, status_name=PCCC_STATUS.get(sts),
                                   extended_status=ext)
