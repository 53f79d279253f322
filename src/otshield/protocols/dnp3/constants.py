"""DNP3 (IEEE 1815-2012) code tables: link and application function codes, internal indications,
qualifiers, quality flags, control and file status codes, device attribute names.

The object library (group/variation -> size and layout) lives in :mod:`.objects`.

References (IEEE Std 1815-2012):
  clause 9  data link layer: frame format, control octet, link function codes
  clause 8  transport function: header octet (FIN, FIR, SEQ)
  clause 4  application layer: control octet, function codes, internal indications, object
            headers and qualifier codes (object prefix and range specifier)
  data object library: quality flags, CROB control code, command status codes, device
            attributes, file-control objects
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTE_DATA_TYPES",
    "ATTRIBUTE_NAMES",
    "BROADCAST_ADDRESSES",
    "COMMAND_STATUS",
    "CROB_OP_TYPES",
    "DOUBLE_BIT_STATES",
    "FILE_MODES",
    "FILE_STATUS",
    "FLAGS_ANALOG",
    "FLAGS_BINARY_IN",
    "FLAGS_BINARY_OUT",
    "FLAGS_COUNTER",
    "FLAGS_DOUBLE_BIT",
    "FUNCTIONS",
    "FUNCTIONS_ANY_VARIATION",
    "FUNCTIONS_HEADERS_ONLY",
    "FUNCTIONS_NO_RESPONSE",
    "FUNCTION_CLASSES",
    "IIN_BITS",
    "LINK_PRIMARY",
    "LINK_SECONDARY",
    "MAX_FILES_PER_EVENT",
    "MAX_FRAGMENT_SIZE",
    "MAX_OBJECTS_PER_EVENT",
    "MAX_POINTS_PER_EVENT",
    "MAX_REASSEMBLIES",
    "MAX_TEXT",
    "RESPONSE_FUNCTIONS",
    "TCC_NAMES",
    "flag_names",
    "iin_names",
]

# ---------------------------------------------------------------------------------------------
# Limits. Memory per flow is bounded by these; the decoder reports (never silently drops) when
# a limit is hit.
MAX_FRAGMENT_SIZE = 2048
"""Largest application fragment reassembled. 2048 octets is the usual DNP3 maximum; some devices
are configured for larger fragments, which are then reported (dnp3.fragment_too_large)."""
MAX_REASSEMBLIES = 64
"""Transport reassembly contexts (direction, source, destination) kept per flow."""
MAX_POINTS_PER_EVENT = 256
"""Point values kept per application fragment event; the rest are counted, flagged truncated."""
MAX_OBJECTS_PER_EVENT = 64
"""Object headers kept per application fragment event; the rest are counted, flagged truncated."""
MAX_FILES_PER_EVENT = 32
"""File-control objects (g70: commands, descriptors of a directory listing...) kept per event."""
MAX_TEXT = 256
"""Characters kept of a string value (file names, attributes, octet strings as hex)."""

BROADCAST_ADDRESSES = frozenset({0xFFFD, 0xFFFE, 0xFFFF})
"""Broadcast destination addresses (clause 9): they reach all outstations, which send no
response."""

# ---------------------------------------------------------------------------------------------
# Data link layer (clause 9): function code of the control octet, by its PRM bit.
LINK_PRIMARY: dict[int, str] = {
    0: "RESET_LINK_STATES",
    1: "RESET_USER_PROCESS",  # obsolete
    2: "TEST_LINK_STATES",
    3: "CONFIRMED_USER_DATA",
    4: "UNCONFIRMED_USER_DATA",
    9: "REQUEST_LINK_STATUS",
}
LINK_SECONDARY: dict[int, str] = {
    0: "ACK",
    1: "NACK",
    11: "LINK_STATUS",
    14: "LINK_NOT_FUNCTIONING",  # obsolete
    15: "NOT_SUPPORTED",
}

# ---------------------------------------------------------------------------------------------
# Application layer function codes (clause 4).
FUNCTIONS: dict[int, str] = {
    0: "CONFIRM",
    1: "READ",
    2: "WRITE",
    3: "SELECT",
    4: "OPERATE",
    5: "DIRECT_OPERATE",
    6: "DIRECT_OPERATE_NR",
    7: "IMMED_FREEZE",
    8: "IMMED_FREEZE_NR",
    9: "FREEZE_CLEAR",
    10: "FREEZE_CLEAR_NR",
    11: "FREEZE_AT_TIME",
    12: "FREEZE_AT_TIME_NR",
    13: "COLD_RESTART",
    14: "WARM_RESTART",
    15: "INITIALIZE_DATA",
    16: "INITIALIZE_APPL",
    17: "START_APPL",
    18: "STOP_APPL",
    19: "SAVE_CONFIG",
    20: "ENABLE_UNSOLICITED",
    21: "DISABLE_UNSOLICITED",
    22: "ASSIGN_CLASS",
    23: "DELAY_MEASURE",
    24: "RECORD_CURRENT_TIME",
    25: "OPEN_FILE",
    26: "CLOSE_FILE",
    27: "DELETE_FILE",
    28: "GET_FILE_INFO",
    29: "AUTHENTICATE_FILE",
    30: "ABORT_FILE",
    31: "ACTIVATE_CONFIG",
    32: "AUTHENTICATE_REQ",
    # 1815-2012 calls 0x21 AUTH_REQ_NO_ACK (SAv2 and Zeek: AUTHENTICATE_ERR).
    33: "AUTHENTICATE_REQ_NR",
    129: "RESPONSE",
    130: "UNSOLICITED_RESPONSE",
    131: "AUTHENTICATE_RESP",
}
FUNCTION_CLASSES: dict[str, str] = {
    "CONFIRM": "other",
    "READ": "read",
    "WRITE": "write",
    "SELECT": "control",
    "OPERATE": "control",
    "DIRECT_OPERATE": "control",
    "DIRECT_OPERATE_NR": "control",
    "IMMED_FREEZE": "control",
    "IMMED_FREEZE_NR": "control",
    "FREEZE_CLEAR": "control",
    "FREEZE_CLEAR_NR": "control",
    "FREEZE_AT_TIME": "control",
    "FREEZE_AT_TIME_NR": "control",
    "COLD_RESTART": "control",
    "WARM_RESTART": "control",
    "INITIALIZE_DATA": "control",
    "INITIALIZE_APPL": "control",
    "START_APPL": "control",
    "STOP_APPL": "control",
    "SAVE_CONFIG": "program",
    "ENABLE_UNSOLICITED": "write",
    "DISABLE_UNSOLICITED": "write",
    "ASSIGN_CLASS": "write",
    "DELAY_MEASURE": "diagnostics",
    "RECORD_CURRENT_TIME": "diagnostics",
    "OPEN_FILE": "program",
    "CLOSE_FILE": "program",
    "DELETE_FILE": "program",
    "GET_FILE_INFO": "read",
    "AUTHENTICATE_FILE": "security",
    "ABORT_FILE": "program",
    "ACTIVATE_CONFIG": "program",
    "AUTHENTICATE_REQ": "security",
    "AUTHENTICATE_REQ_NR": "security",
    "AUTHENTICATE_RESP": "security",
}
"""Function -> class shared by every OT decoder (read, write, control, program, diagnostics,
security, other): what rules reason about. Restarts and application start/stop change what the
device does, so they are control; file and configuration operations are program. A response
takes the class of the request it answers."""
RESPONSE_FUNCTIONS = frozenset({129, 130, 131})
"""Functions sent by outstations: their header carries the two IIN octets (clause 4)."""

FUNCTIONS_NO_RESPONSE = frozenset({0, 6, 8, 10, 12, 33})
"""Requests the outstation never answers (CONFIRM and the *_NR "no acknowledgement" codes)."""

FUNCTIONS_HEADERS_ONLY = frozenset({1, 7, 8, 9, 10, 13, 14, 15, 19, 20, 21, 22, 23, 24})
"""Requests whose object headers carry no object data (clause 4: READ, freeze, restart,
ENABLE/DISABLE_UNSOLICITED, ASSIGN_CLASS, measurement requests); index prefixes are still present.
Every other function carries object data after each header."""

FUNCTIONS_ANY_VARIATION = frozenset({11, 12})
"""Data-carrying requests whose other headers name points by "any variation" (variation 0)
without data: FREEZE_AT_TIME(_NR) sends a g50v2 time, then the counters to freeze. Elsewhere a
variation 0 header that announces objects where data must follow cannot be sized."""

# ---------------------------------------------------------------------------------------------
# Internal indications (clause 4): the names of IIN1 bits 0-7, then of IIN2 bits 0-7. The 16-bit
# value is IIN1 << 8 | IIN2 (the two octets read in wire order, as Wireshark and Zeek show it).
IIN_BITS: tuple[str, ...] = (
    "ALL_STATIONS",          # IIN1.0 broadcast received
    "CLASS_1_EVENTS",        # IIN1.1
    "CLASS_2_EVENTS",        # IIN1.2
    "CLASS_3_EVENTS",        # IIN1.3
    "NEED_TIME",             # IIN1.4
    "LOCAL_CONTROL",         # IIN1.5
    "DEVICE_TROUBLE",        # IIN1.6
    "DEVICE_RESTART",        # IIN1.7
    "NO_FUNC_CODE_SUPPORT",  # IIN2.0
    "OBJECT_UNKNOWN",        # IIN2.1
    "PARAMETER_ERROR",       # IIN2.2
    "EVENT_BUFFER_OVERFLOW", # IIN2.3
    "ALREADY_EXECUTING",     # IIN2.4
    "CONFIG_CORRUPT",        # IIN2.5
    "RESERVED_2",            # IIN2.6
    "RESERVED_1",            # IIN2.7
)


def _bit_names(names: tuple[str | None, ...]) -> tuple[tuple[str, ...], ...]:
    """For every value of a bit field, the tuple of names of its set bits (a lookup table, so
    the hot path does one index instead of a loop over bits)."""
    width = len(names)
    return tuple(
        tuple(n for bit, n in enumerate(names) if n is not None and value >> bit & 1)
        for value in range(1 << width)
    )


_IIN1_TABLE = _bit_names(IIN_BITS[:8])
_IIN2_TABLE = _bit_names(IIN_BITS[8:])


def iin_names(iin: int) -> tuple[str, ...]:
    """Names of the set internal indication bits (``iin`` = IIN1 << 8 | IIN2)."""
    return _IIN1_TABLE[iin >> 8 & 0xFF] + _IIN2_TABLE[iin & 0xFF]


# ---------------------------------------------------------------------------------------------
# Quality flags of static and event objects (the "flags" octet). Bit 7 of binary objects is
# the point state, bits 6-7 of double-bit objects are the state: they are not flags.
_COMMON = ("ONLINE", "RESTART", "COMM_LOST", "REMOTE_FORCED", "LOCAL_FORCED")
FLAGS_BINARY_IN = _bit_names((*_COMMON, "CHATTER_FILTER", "RESERVED", None))
FLAGS_DOUBLE_BIT = _bit_names((*_COMMON, "CHATTER_FILTER", None, None))
FLAGS_BINARY_OUT = _bit_names((*_COMMON, "RESERVED_1", "RESERVED_2", None))
FLAGS_COUNTER = _bit_names((*_COMMON, "ROLLOVER", "DISCONTINUITY", "RESERVED"))
FLAGS_ANALOG = _bit_names((*_COMMON, "OVER_RANGE", "REFERENCE_ERR", "RESERVED"))


def flag_names(table: tuple[tuple[str, ...], ...], flags: int) -> tuple[str, ...]:
    """Names of the set quality flags of ``flags`` in one of the FLAGS_* tables."""
    return table[flags & 0xFF]


DOUBLE_BIT_STATES: tuple[str, ...] = ("INTERMEDIATE", "DETERMINED_OFF", "DETERMINED_ON",
                                      "INDETERMINATE")
"""The two-bit state of double-bit binary inputs (groups 3 and 4)."""

# ---------------------------------------------------------------------------------------------
# Control relay output block (g12v1) control code: op type, queue, clear, trip-close code.
CROB_OP_TYPES: dict[int, str] = {0: "NUL", 1: "PULSE_ON", 2: "PULSE_OFF", 3: "LATCH_ON",
                                 4: "LATCH_OFF"}
TCC_NAMES: tuple[str, ...] = ("NUL", "CLOSE", "TRIP", "RESERVED")

COMMAND_STATUS: dict[int, str] = {
    # Status of control operations (CROB, analog output block, command events).
    0: "SUCCESS",
    1: "TIMEOUT",
    2: "NO_SELECT",
    3: "FORMAT_ERROR",
    4: "NOT_SUPPORTED",
    5: "ALREADY_ACTIVE",
    6: "HARDWARE_ERROR",
    7: "LOCAL",
    8: "TOO_MANY_OBJS",
    9: "NOT_AUTHORIZED",
    10: "AUTOMATION_INHIBIT",
    11: "PROCESSING_LIMITED",
    12: "OUT_OF_RANGE",
    13: "DOWNSTREAM_LOCAL",
    14: "ALREADY_COMPLETE",
    15: "BLOCKED",
    16: "CANCELLED",
    17: "BLOCKED_OTHER_MASTER",
    18: "DOWNSTREAM_FAIL",
    126: "NON_PARTICIPATING",
    127: "UNDEFINED",
}

# ---------------------------------------------------------------------------------------------
# File transfer (group 70).
FILE_MODES: dict[int, str] = {0: "NULL", 1: "READ", 2: "WRITE", 3: "APPEND"}
FILE_STATUS: dict[int, str] = {
    0: "SUCCESS",
    1: "PERMISSION_DENIED",
    2: "INVALID_MODE",
    3: "FILE_NOT_FOUND",
    4: "FILE_LOCKED",
    5: "TOO_MANY_OPEN",
    6: "INVALID_HANDLE",
    7: "WRITE_BLOCK_SIZE",
    8: "COMM_LOST",
    9: "CANNOT_ABORT",
    16: "NOT_OPENED",
    17: "HANDLE_EXPIRED",
    18: "BUFFER_OVERRUN",
    19: "FATAL",
    20: "BLOCK_SEQUENCE",
    255: "UNDEFINED",
}

# ---------------------------------------------------------------------------------------------
# Device attributes (group 0): variation -> attribute name; value data type codes.
ATTRIBUTE_NAMES: dict[int, str] = {
    196: "configuration ID",
    197: "configuration version",
    198: "configuration build date",
    199: "configuration last change date",
    200: "configuration signature",
    201: "configuration signature algorithm",
    202: "master resource ID (mRID)",
    203: "device altitude",
    204: "device longitude",
    205: "device latitude",
    206: "user-assigned secondary operator name",
    207: "user-assigned primary operator name",
    208: "user-assigned system name",
    209: "secure authentication version",
    210: "number of security statistics per association",
    211: "identifier of support for user-specific attributes",
    212: "number of master-defined data set prototypes",
    213: "number of outstation-defined data set prototypes",
    214: "number of master-defined data sets",
    215: "number of outstation-defined data sets",
    216: "maximum number of binary output objects per request",
    217: "local timing accuracy",
    218: "duration of time accuracy",
    219: "support for analog output events",
    220: "maximum analog output index",
    221: "number of analog outputs",
    222: "support for binary output events",
    223: "maximum binary output index",
    224: "number of binary outputs",
    225: "support for frozen counter events",
    226: "support for frozen counters",
    227: "support for counter events",
    228: "maximum counter index",
    229: "number of counter points",
    230: "support for frozen analog inputs",
    231: "support for analog input events",
    232: "maximum analog input index",
    233: "number of analog input points",
    234: "support for double-bit binary input events",
    235: "maximum double-bit binary input index",
    236: "number of double-bit binary input points",
    237: "support for binary input events",
    238: "maximum binary input index",
    239: "number of binary input points",
    240: "maximum transmit fragment size",
    241: "maximum receive fragment size",
    242: "device manufacturer's software version",
    243: "device manufacturer's hardware version",
    244: "user-assigned owner name",
    245: "user-assigned location name",
    246: "user-assigned ID code/number",
    247: "user-assigned device name",
    248: "device serial number",
    249: "DNP3 subset and conformance",
    250: "device manufacturer's product name and model",
    252: "device manufacturer's name",
    254: "non-specific all attributes request",
    255: "list of attribute variations",
}
ATTRIBUTE_DATA_TYPES: dict[int, str] = {
    1: "VSTR",  # visible ASCII string
    2: "UINT",
    3: "INT",
    4: "FLT",
    5: "OSTR",  # octet string
    6: "BSTR",  # bit string
    7: "TIME",  # DNP3 48-bit time
    8: "UNCD",  # Unicode (UTF-8) string
    254: "U8BS8LIST",  # list of (variation, properties) octet pairs
    255: "U8BS8EXLIST",  # same, extended
}
