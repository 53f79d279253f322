"""Modbus tables: function codes, exception codes, diagnostics sub-functions, MEI types, device
identification objects, Schneider UMAS function codes, and the function classes used by rules.

References:
- MODBUS Application Protocol Specification V1.1b3 (modbus.org, 2012): section 5 (function code
  categories: public, user-defined 65-72 and 100-110, reserved), section 6 (one sub-section per
  public function code, with the quantity limits used here), 6.8.1 (diagnostics sub-functions),
  6.21 (read device identification objects), section 7 (exception codes), Annex A (codes
  reserved for legacy products: 9, 10, 13, 14, 41, 42, 90, 91, 125, 126, 127).
- MODBUS Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3 (MBAP header).
- Legacy Modicon names (484/584/984/884 programming, ConCept, firmware replacement) as Wireshark's
  Modbus dissector lists them.
- UMAS (Schneider Electric Unity, carried in function code 90): L. Martin Liras, "The Unity
  (UMAS) protocol" (2017); the public UMAS Wireshark plugins derived from it, extended with the
  codes published with "From Pass-the-Hash to Code Execution on Schneider Electric M340 PLCs"
  (Black Hat Europe 2024). UMAS is undocumented by the vendor; codes outside the first source
  are marked as such below.

Function classes (what a rule usually wants to know): ``read``, ``write`` (changes process data),
``diagnostics``, ``program`` (logic/firmware transfer), ``control`` (changes the device's running
or communication state), ``identify``, ``other``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANOMALY_CODES",
    "CLASS_CONTROL",
    "CLASS_DIAGNOSTICS",
    "CLASS_IDENTIFY",
    "CLASS_OTHER",
    "CLASS_PROGRAM",
    "CLASS_READ",
    "CLASS_WRITE",
    "COIL_OFF",
    "COIL_ON",
    "CONFORMITY_LEVELS",
    "DEVICE_ID_CODES",
    "DEVICE_OBJECTS",
    "DIAGNOSTIC_SUBFUNCTIONS",
    "EXCEPTION_CODES",
    "FC_DIAGNOSTICS",
    "FC_MEI",
    "FC_UMAS",
    "FIFO_MAX_COUNT",
    "FILE_MAX_RECORD_NUMBER",
    "FILE_REFERENCE_TYPE",
    "FUNCTIONS",
    "MAX_COILS",
    "MAX_DEVICE_OBJECTS",
    "MAX_FILE_RECORDS",
    "MAX_MBAP_LENGTH",
    "MAX_RAW_BYTES",
    "MAX_REGISTERS",
    "MAX_TOLERATED_MBAP_LENGTH",
    "MEI_CANOPEN",
    "MEI_READ_DEVICE_ID",
    "MEI_TYPES",
    "MIN_MBAP_LENGTH",
    "MORE_FOLLOWS",
    "QUANTITY_LIMITS",
    "READ_WRITE_READ_LIMIT",
    "READ_WRITE_WRITE_LIMIT",
    "UMAS_FUNCTIONS",
    "UMAS_SIGNATURE_LENGTH",
    "UMAS_SIGNED",
    "UMAS_STATUS",
    "UNKNOWN",
]

CLASS_READ: Final = "read"
CLASS_WRITE: Final = "write"
CLASS_DIAGNOSTICS: Final = "diagnostics"
CLASS_PROGRAM: Final = "program"
CLASS_CONTROL: Final = "control"
CLASS_IDENTIFY: Final = "identify"
CLASS_OTHER: Final = "other"

UNKNOWN: Final = "UNKNOWN"

MIN_MBAP_LENGTH: Final = 2
"""The MBAP length counts the unit id and the PDU, which has at least a function code."""
MAX_MBAP_LENGTH: Final = 254
"""Unit id + the largest PDU the specification allows (253 bytes, section 4.1)."""
MAX_TOLERATED_MBAP_LENGTH: Final = 260
"""Longest length still framed (with a ``modbus.oversized_pdu`` anomaly). Real devices overshoot
the limit a little (Schneider Modicon answers a 255-length UMAS echo); allowing up to the size of
a whole ADU keeps those units while a garbage length still resynchronises the stream."""

"""Packet-time seconds after which a request without a response is reported unanswered. Modbus
clients time out after a few seconds; a response arriving this late is no longer an answer."""

FC_DIAGNOSTICS: Final = 8
FC_MEI: Final = 43
FC_UMAS: Final = 90

# code -> (name, class): public codes (sections 5.1, 6), legacy Modicon codes, user-defined ranges.
FUNCTIONS: Final[dict[int, tuple[str, str]]] = {
    1: ("READ_COILS", CLASS_READ),
    2: ("READ_DISCRETE_INPUTS", CLASS_READ),
    3: ("READ_HOLDING_REGISTERS", CLASS_READ),
    4: ("READ_INPUT_REGISTERS", CLASS_READ),
    5: ("WRITE_SINGLE_COIL", CLASS_WRITE),
    6: ("WRITE_SINGLE_REGISTER", CLASS_WRITE),
    7: ("READ_EXCEPTION_STATUS", CLASS_DIAGNOSTICS),
    8: ("DIAGNOSTICS", CLASS_DIAGNOSTICS),  # refined per sub-function
    9: ("PROGRAM_484", CLASS_PROGRAM),
    10: ("POLL_484", CLASS_PROGRAM),
    11: ("GET_COMM_EVENT_COUNTER", CLASS_DIAGNOSTICS),
    12: ("GET_COMM_EVENT_LOG", CLASS_DIAGNOSTICS),
    13: ("PROGRAM_584_984", CLASS_PROGRAM),
    14: ("POLL_584_984", CLASS_PROGRAM),
    15: ("WRITE_MULTIPLE_COILS", CLASS_WRITE),
    16: ("WRITE_MULTIPLE_REGISTERS", CLASS_WRITE),
    17: ("REPORT_SERVER_ID", CLASS_IDENTIFY),
    18: ("PROGRAM_884_U84", CLASS_PROGRAM),
    19: ("RESET_COMM_LINK_884_U84", CLASS_CONTROL),
    20: ("READ_FILE_RECORD", CLASS_READ),
    21: ("WRITE_FILE_RECORD", CLASS_WRITE),
    22: ("MASK_WRITE_REGISTER", CLASS_WRITE),
    23: ("READ_WRITE_MULTIPLE_REGISTERS", CLASS_WRITE),  # it writes, whatever else it does
    24: ("READ_FIFO_QUEUE", CLASS_READ),
    40: ("PROGRAM_CONCEPT", CLASS_PROGRAM),
    41: ("RESERVED_41", CLASS_OTHER),
    42: ("RESERVED_42", CLASS_OTHER),
    43: ("ENCAPSULATED_INTERFACE_TRANSPORT", CLASS_OTHER),  # refined per MEI type
    90: ("UMAS", CLASS_OTHER),  # refined per UMAS function code
    91: ("RESERVED_91", CLASS_OTHER),
    125: ("FIRMWARE_REPLACEMENT", CLASS_PROGRAM),
    126: ("PROGRAM_584_984_2", CLASS_PROGRAM),
    127: ("REPORT_LOCAL_ADDRESS", CLASS_IDENTIFY),
    **{code: ("USER_DEFINED", CLASS_OTHER) for code in (*range(65, 73), *range(100, 111))},
}

# Inclusive (min, max) quantity of items a request may name (section 6, per function).
QUANTITY_LIMITS: Final[dict[int, tuple[int, int]]] = {
    1: (1, 2000),
    2: (1, 2000),
    3: (1, 125),
    4: (1, 125),
    15: (1, 1968),
    16: (1, 123),
}
READ_WRITE_READ_LIMIT: Final = (1, 125)
"""FC 23 quantity to read (6.17)."""
READ_WRITE_WRITE_LIMIT: Final = (1, 121)
"""FC 23 quantity to write (6.17)."""
FIFO_MAX_COUNT: Final = 31
"""FC 24: a FIFO queue holds at most 31 registers (6.18)."""
FILE_REFERENCE_TYPE: Final = 6
"""FC 20/21 sub-request reference type, always 6 (6.14, 6.15)."""
FILE_MAX_RECORD_NUMBER: Final = 0x270F
"""FC 20/21 record numbers run 0..9999 (6.14)."""
COIL_ON: Final = 0xFF00
COIL_OFF: Final = 0x0000

EXCEPTION_CODES: Final[dict[int, str]] = {
    1: "ILLEGAL_FUNCTION",
    2: "ILLEGAL_DATA_ADDRESS",
    3: "ILLEGAL_DATA_VALUE",
    4: "SERVER_DEVICE_FAILURE",
    5: "ACKNOWLEDGE",
    6: "SERVER_DEVICE_BUSY",
    7: "NEGATIVE_ACKNOWLEDGE",  # legacy Modicon program functions; not in V1.1b3 section 7
    8: "MEMORY_PARITY_ERROR",
    10: "GATEWAY_PATH_UNAVAILABLE",
    11: "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND",
}

# FC 8 sub-function -> (name, class) (6.8.1). Sub-functions that change how the device talks
# (restart, listen-only, delimiter) or erase its counters are "control".
DIAGNOSTIC_SUBFUNCTIONS: Final[dict[int, tuple[str, str]]] = {
    0x00: ("RETURN_QUERY_DATA", CLASS_DIAGNOSTICS),
    0x01: ("RESTART_COMMUNICATIONS_OPTION", CLASS_CONTROL),
    0x02: ("RETURN_DIAGNOSTIC_REGISTER", CLASS_DIAGNOSTICS),
    0x03: ("CHANGE_ASCII_INPUT_DELIMITER", CLASS_CONTROL),
    0x04: ("FORCE_LISTEN_ONLY_MODE", CLASS_CONTROL),
    0x0A: ("CLEAR_COUNTERS_AND_DIAGNOSTIC_REGISTER", CLASS_CONTROL),
    0x0B: ("RETURN_BUS_MESSAGE_COUNT", CLASS_DIAGNOSTICS),
    0x0C: ("RETURN_BUS_COMMUNICATION_ERROR_COUNT", CLASS_DIAGNOSTICS),
    0x0D: ("RETURN_BUS_EXCEPTION_ERROR_COUNT", CLASS_DIAGNOSTICS),
    0x0E: ("RETURN_SERVER_MESSAGE_COUNT", CLASS_DIAGNOSTICS),
    0x0F: ("RETURN_SERVER_NO_RESPONSE_COUNT", CLASS_DIAGNOSTICS),
    0x10: ("RETURN_SERVER_NAK_COUNT", CLASS_DIAGNOSTICS),
    0x11: ("RETURN_SERVER_BUSY_COUNT", CLASS_DIAGNOSTICS),
    0x12: ("RETURN_BUS_CHARACTER_OVERRUN_COUNT", CLASS_DIAGNOSTICS),
    0x14: ("CLEAR_OVERRUN_COUNTER_AND_FLAG", CLASS_CONTROL),
    # Modbus Plus only, dropped from V1.1b3 but still answered by some gateways.
    0x15: ("GET_CLEAR_MODBUS_PLUS_STATISTICS", CLASS_DIAGNOSTICS),
}

# FC 43 MEI type -> (name, class) (6.19-6.21). Types 0-12 and 15-255 are reserved.
MEI_TYPES: Final[dict[int, tuple[str, str]]] = {
    13: ("CANOPEN_GENERAL_REFERENCE", CLASS_OTHER),
    14: ("READ_DEVICE_IDENTIFICATION", CLASS_IDENTIFY),
}
MEI_READ_DEVICE_ID: Final = 14
MEI_CANOPEN: Final = 13

DEVICE_ID_CODES: Final[dict[int, str]] = {
    1: "BASIC",
    2: "REGULAR",
    3: "EXTENDED",
    4: "SPECIFIC",
}

CONFORMITY_LEVELS: Final[dict[int, str]] = {
    0x01: "BASIC_STREAM",
    0x02: "REGULAR_STREAM",
    0x03: "EXTENDED_STREAM",
    0x81: "BASIC_STREAM_AND_INDIVIDUAL",
    0x82: "REGULAR_STREAM_AND_INDIVIDUAL",
    0x83: "EXTENDED_STREAM_AND_INDIVIDUAL",
}

# Read Device Identification object id -> name (6.21). 0x07-0x7F reserved (regular category),
# 0x80-0xFF private (extended category).
DEVICE_OBJECTS: Final[dict[int, str]] = {
    0x00: "VendorName",
    0x01: "ProductCode",
    0x02: "MajorMinorRevision",
    0x03: "VendorUrl",
    0x04: "ProductName",
    0x05: "ModelName",
    0x06: "UserApplicationName",
}
MORE_FOLLOWS: Final = 0xFF

# UMAS function code -> (name, class). The request is [0x5A, session key, code, data...].
# Codes marked (BH24) come only from the Black Hat Europe 2024 research plugin.
UMAS_FUNCTIONS: Final[dict[int, tuple[str, str]]] = {
    0x01: ("INIT_COMM", CLASS_OTHER),
    0x02: ("READ_ID", CLASS_IDENTIFY),
    0x03: ("READ_PROJECT_INFO", CLASS_IDENTIFY),
    0x04: ("READ_PLC_INFO", CLASS_IDENTIFY),
    0x05: ("READ_LOADER_INFO", CLASS_IDENTIFY),  # (BH24)
    0x06: ("READ_CARD_INFO", CLASS_IDENTIFY),
    0x07: ("READ_BLOCK_INFO", CLASS_READ),  # (BH24)
    0x0A: ("REPEAT", CLASS_OTHER),
    # Reservation makes the client the PLC's single owner, locking other engineering stations out.
    0x10: ("TAKE_PLC_RESERVATION", CLASS_CONTROL),
    0x11: ("RELEASE_PLC_RESERVATION", CLASS_CONTROL),
    0x12: ("KEEP_ALIVE", CLASS_OTHER),
    0x20: ("READ_MEMORY_BLOCK", CLASS_READ),
    0x21: ("WRITE_MEMORY_BLOCK", CLASS_WRITE),  # (BH24)
    0x22: ("READ_VARIABLES", CLASS_READ),
    0x23: ("WRITE_VARIABLES", CLASS_WRITE),
    0x24: ("READ_COILS_REGISTERS", CLASS_READ),
    0x25: ("WRITE_COILS_REGISTERS", CLASS_WRITE),
    0x26: ("DATA_DICTIONARY", CLASS_READ),  # (BH24)
    0x27: ("DATA_DICTIONARY_PRELOAD", CLASS_READ),  # (BH24)
    0x28: ("READ_PHYSICAL_ADDRESS", CLASS_READ),  # (BH24)
    0x29: ("WRITE_PHYSICAL_ADDRESS", CLASS_WRITE),  # (BH24)
    0x2A: ("BROWSE_EVENTS", CLASS_READ),  # (BH24)
    # Liras: "upload" copies the strategy from the engineering PC to the PLC, "download" back.
    0x30: ("INITIALIZE_UPLOAD", CLASS_PROGRAM),
    0x31: ("UPLOAD_BLOCK", CLASS_PROGRAM),
    0x32: ("END_STRATEGY_UPLOAD", CLASS_PROGRAM),
    0x33: ("INITIALIZE_DOWNLOAD", CLASS_PROGRAM),
    0x34: ("DOWNLOAD_BLOCK", CLASS_PROGRAM),
    0x35: ("END_DOWNLOAD", CLASS_PROGRAM),
    0x36: ("BACKUP", CLASS_PROGRAM),  # (BH24)
    0x37: ("PRELOAD_BLOCKS", CLASS_PROGRAM),  # (BH24)
    0x38: ("SIGNED_MESSAGE", CLASS_OTHER),  # (BH24) wraps another UMAS request, see parser
    0x39: ("READ_ETH_MASTER_DATA", CLASS_READ),
    0x40: ("START_PLC", CLASS_CONTROL),
    0x41: ("STOP_PLC", CLASS_CONTROL),
    0x42: ("INIT_PLC", CLASS_CONTROL),  # (BH24)
    0x43: ("SWAP", CLASS_PROGRAM),  # (BH24)
    0x50: ("MONITOR_PLC", CLASS_READ),
    0x51: ("GET_AUTO_MODIF", CLASS_READ),  # (BH24)
    0x52: ("GET_FORCED_BITS", CLASS_READ),  # (BH24)
    0x53: ("GET_SELECTED_BLOCKS", CLASS_READ),  # (BH24)
    0x58: ("CHECK_PLC", CLASS_DIAGNOSTICS),
    0x60: ("BKPT_SET", CLASS_CONTROL),  # (BH24) breakpoints and stepping halt the logic
    0x61: ("BKPT_DEL", CLASS_CONTROL),  # (BH24)
    0x62: ("STEP_OVER", CLASS_CONTROL),  # (BH24)
    0x63: ("STEP_IN", CLASS_CONTROL),  # (BH24)
    0x64: ("STEP_OUT", CLASS_CONTROL),  # (BH24)
    0x65: ("GET_CALL_STACK", CLASS_DIAGNOSTICS),  # (BH24)
    0x66: ("CHECK_DEBUG_ALLOWED", CLASS_DIAGNOSTICS),  # (BH24)
    0x6C: ("PROCESS_MSG", CLASS_OTHER),  # (BH24)
    0x6D: ("PRIVATE", CLASS_OTHER),  # (BH24)
    0x6E: ("RESERVATION_NONCES", CLASS_CONTROL),  # (BH24) part of taking a reservation
    0x70: ("READ_IO_OBJECT", CLASS_READ),
    0x71: ("WRITE_IO_OBJECT", CLASS_WRITE),
    0x72: ("READ_RACK", CLASS_IDENTIFY),  # (BH24)
    0x73: ("GET_STATUS_MODULE", CLASS_DIAGNOSTICS),
    0x74: ("READ_DEVICE_DATA", CLASS_READ),  # (BH24)
}
UMAS_SIGNED: Final = 0x38
UMAS_SIGNATURE_LENGTH: Final = 32
"""A signed request (0x38) is [magic, 32-byte signature, then a whole inner UMAS request]."""

# Second byte of a UMAS response after the session key.
UMAS_STATUS: Final[dict[int, str]] = {0xFE: "ok", 0xFD: "error"}

MAX_COILS: Final = 2000
"""Coil/discrete-input values kept per event: the most one read may ask for (6.1)."""
MAX_REGISTERS: Final = 125
"""Register values kept per list: the most one read may ask for (6.3); a 253-byte PDU holds 126."""
MAX_RAW_BYTES: Final = 64
"""Opaque payload (user-defined, CANopen, UMAS data, diagnostics data) kept as hex, per side."""
MAX_FILE_RECORDS: Final = 35
"""FC 20/21: a 253-byte PDU holds at most 35 seven-byte sub-requests."""
MAX_DEVICE_OBJECTS: Final = 64
"""FC 43/14 objects kept per response (a 253-byte PDU holds at most 122 empty ones)."""

ANOMALY_CODES: Final[dict[str, str]] = {
    "modbus.invalid_length": "the stream holds bytes that cannot start an ADU (MBAP length "
    "under 2 or over 260): they are skipped up to the next plausible header and reported once "
    "per run; or a PDU is too short or too long for its function",
    "modbus.invalid_protocol_id": "MBAP protocol identifier other than 0 (not Modbus): the run "
    "of bytes is skipped up to the next plausible header and reported once",
    "modbus.oversized_pdu": "PDU longer than the 253 bytes the specification allows (still "
    "decoded; Schneider UMAS echoes do this)",
    "modbus.unknown_function": "a request uses a function code that is neither public, legacy, "
    "reserved nor user-defined, or has the exception bit set; or a unit has function code 0 "
    "(skipped like an invalid header)",
    "modbus.unknown_exception_code": "an exception response carries a code the specification "
    "does not define",
    "modbus.unknown_umas_function": "a function code 90 (Schneider UMAS) request with an unknown "
    "UMAS function code",
    "modbus.invalid_quantity": "a quantity of coils/registers (or FIFO count) outside the limits "
    "of its function (e.g. FC 3: 1..125)",
    "modbus.byte_count_mismatch": "a byte count field disagrees with the bytes present, with the "
    "quantity it must match, or with its allowed range",
    "modbus.invalid_coil_value": "FC 5 value other than 0xFF00 (on) or 0x0000 (off)",
    "modbus.invalid_reference": "FC 20/21 sub-request with a reference type other than 6, file "
    "number 0 or record number over 9999",
    "modbus.invalid_mei": "FC 43 with a reserved MEI type, or a read device identification with an "
    "invalid code, conformity level or more-follows value",
    "modbus.response_mismatch": "a response does not fit its request: other function code, echo "
    "differing from the request, or a different number of items",
    "modbus.unanswered_request": "a request got no response within the timeout or before the flow "
    "ended (not reported for FC 8 force listen only mode, which has no response)",
    "modbus.unmatched_response": "a response whose transaction and unit id match no pending "
    "request",
    "modbus.too_many_pending": "more unanswered requests than max_pending_requests; the oldest are "
    "reported unanswered to make room (reported once until the backlog halves)",
}
"""Every anomaly code the Modbus decoder emits -> what it means."""
