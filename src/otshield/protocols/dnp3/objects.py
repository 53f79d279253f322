"""The DNP3 object library as data: group/variation -> name, size and layout (IEEE 1815-2012,
object definitions; sizes from the "object size" of each variation).

Every entry is an :class:`ObjDef`. ``size`` is octets per object, or one of ``EMPTY`` (no data:
"any variation" requests, class objects), ``BITS1``/``BITS2`` (packed 1- or 2-bit values),
``VARIABLE`` (size given by a size prefix or by the object's own encoding). Fixed-layout objects
carry a precompiled ``struct.Struct`` and a role string naming each unpacked field:

    B  binary flags octet: state in bit 7, quality flags in bits 0-6
    D  double-bit flags octet: state in bits 7-6, quality flags in bits 0-5
    Q  quality flags octet
    V  value                         S  command status octet (bits 0-6)
    C  commanded state (bit 7) + status (bits 0-6) of a binary command event (g13)
    T  DNP3 time, low 32 bits; t  its high 16 bits (48-bit ms since 1970-01-01 UTC)
    R  relative time, 16-bit ms      x  a field that is not reported
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from otshield.protocols.dnp3.constants import (
    ATTRIBUTE_NAMES,
    FLAGS_ANALOG,
    FLAGS_BINARY_IN,
    FLAGS_BINARY_OUT,
    FLAGS_COUNTER,
    FLAGS_DOUBLE_BIT,
)

__all__ = [
    "BITS1",
    "BITS2",
    "EMPTY",
    "KIND_ATTR",
    "KIND_BIT",
    "KIND_CROB",
    "KIND_DBIT",
    "KIND_EMPTY",
    "KIND_FILE",
    "KIND_OCTETS",
    "KIND_OPAQUE",
    "KIND_STRUCT",
    "OBJECTS",
    "VARIABLE",
    "ObjDef",
    "lookup",
]

EMPTY, BITS1, BITS2, VARIABLE = 0, -1, -2, -3

KIND_EMPTY = 0  # no object data
KIND_BIT = 1  # packed single bits
KIND_DBIT = 2  # packed double bits
KIND_STRUCT = 3  # fixed layout decoded by struct + roles
KIND_CROB = 4  # control relay output block / pattern control block (g12v1, g12v2)
KIND_OCTETS = 5  # octet strings, BCD, virtual terminal data: reported as hex
KIND_ATTR = 6  # device attribute: data type, length, value (g0)
KIND_FILE = 7  # file transfer objects (g70)
KIND_OPAQUE = 8  # known object whose content is not reported (security, data sets)

FlagTable = tuple[tuple[str, ...], ...]


class ObjDef(NamedTuple):
    name: str
    size: int
    kind: int
    fmt: struct.Struct | None = None
    roles: str = ""
    flags: FlagTable | None = None
    always_data: bool = False
    """Carries data even in requests whose other headers have none: the secure authentication
    aggressive-mode objects g120v3 and g120v9, which may wrap any request."""


def _s(name: str, fmt: str, roles: str, flags: FlagTable | None = None) -> ObjDef:
    st = struct.Struct("<" + fmt)
    return ObjDef(name, st.size, KIND_STRUCT, st, roles, flags)


def _empty(name: str) -> ObjDef:
    return ObjDef(name, EMPTY, KIND_EMPTY)


def _var(name: str, kind: int = KIND_OPAQUE) -> ObjDef:
    return ObjDef(name, VARIABLE, kind)


BI, BO, DB = FLAGS_BINARY_IN, FLAGS_BINARY_OUT, FLAGS_DOUBLE_BIT
CT, AN = FLAGS_COUNTER, FLAGS_ANALOG

# Groups whose variation 0 means "any variation" in a request (no data).
_GROUPS: dict[int, str] = {
    1: "Binary Input",
    2: "Binary Input Event",
    3: "Double-bit Binary Input",
    4: "Double-bit Binary Input Event",
    10: "Binary Output",
    11: "Binary Output Event",
    12: "Binary Command",
    13: "Binary Output Command Event",
    20: "Counter",
    21: "Frozen Counter",
    22: "Counter Event",
    23: "Frozen Counter Event",
    30: "Analog Input",
    31: "Frozen Analog Input",
    32: "Analog Input Event",
    33: "Frozen Analog Input Event",
    34: "Analog Input Deadband",
    40: "Analog Output Status",
    41: "Analog Output",
    42: "Analog Output Event",
    43: "Analog Output Command Event",
    50: "Time and Date",
    51: "Time and Date CTO",
    52: "Time Delay",
    70: "File-control",
    80: "Internal Indications",
    101: "Binary-Coded Decimal Integer",
    102: "Unsigned Integer",
    110: "Octet String",
    111: "Octet String Event",
    112: "Virtual Terminal Output Block",
    113: "Virtual Terminal Event Data",
    120: "Authentication",
    121: "Security Statistic",
    122: "Security Statistic Event",
}


def _counters(group: str, frozen_time: bool) -> dict[int, ObjDef]:
    """Counter-family variations (groups 20-23): with flag, delta, with time, without flag."""
    out = {
        1: _s(f"{group} - 32-bit with flag", "BI", "QV", CT),
        2: _s(f"{group} - 16-bit with flag", "BH", "QV", CT),
        3: _s(f"{group} - 32-bit delta with flag", "BI", "QV", CT),
        4: _s(f"{group} - 16-bit delta with flag", "BH", "QV", CT),
    }
    if frozen_time:
        out |= {
            5: _s(f"{group} - 32-bit with flag and time", "BIIH", "QVTt", CT),
            6: _s(f"{group} - 16-bit with flag and time", "BHIH", "QVTt", CT),
            7: _s(f"{group} - 32-bit delta with flag and time", "BIIH", "QVTt", CT),
            8: _s(f"{group} - 16-bit delta with flag and time", "BHIH", "QVTt", CT),
        }
    return out


def _analog_events(group: str, lead: str, flags: FlagTable | None) -> dict[int, ObjDef]:
    """Analog input/output (command) event variations (groups 32, 33, 42, 43); ``lead`` is the
    role of the first octet (quality flags, or command status for g43)."""
    return {
        1: _s(f"{group} - 32-bit", "Bi", lead + "V", flags),
        2: _s(f"{group} - 16-bit", "Bh", lead + "V", flags),
        3: _s(f"{group} - 32-bit with time", "BiIH", lead + "VTt", flags),
        4: _s(f"{group} - 16-bit with time", "BhIH", lead + "VTt", flags),
        5: _s(f"{group} - single-precision", "Bf", lead + "V", flags),
        6: _s(f"{group} - double-precision", "Bd", lead + "V", flags),
        7: _s(f"{group} - single-precision with time", "BfIH", lead + "VTt", flags),
        8: _s(f"{group} - double-precision with time", "BdIH", lead + "VTt", flags),
    }


_LIBRARY: dict[int, dict[int, ObjDef]] = {
    1: {
        1: ObjDef("Binary Input - packed format", BITS1, KIND_BIT),
        2: _s("Binary Input - with flags", "B", "B", BI),
    },
    2: {
        1: _s("Binary Input Event - without time", "B", "B", BI),
        2: _s("Binary Input Event - with absolute time", "BIH", "BTt", BI),
        3: _s("Binary Input Event - with relative time", "BH", "BR", BI),
    },
    3: {
        1: ObjDef("Double-bit Binary Input - packed format", BITS2, KIND_DBIT),
        2: _s("Double-bit Binary Input - with flags", "B", "D", DB),
    },
    4: {
        1: _s("Double-bit Binary Input Event - without time", "B", "D", DB),
        2: _s("Double-bit Binary Input Event - with absolute time", "BIH", "DTt", DB),
        3: _s("Double-bit Binary Input Event - with relative time", "BH", "DR", DB),
    },
    10: {
        1: ObjDef("Binary Output - packed format", BITS1, KIND_BIT),
        2: _s("Binary Output - output status with flags", "B", "B", BO),
    },
    11: {
        1: _s("Binary Output Event - status without time", "B", "B", BO),
        2: _s("Binary Output Event - status with time", "BIH", "BTt", BO),
    },
    12: {
        1: ObjDef("Binary Command - control relay output block (CROB)", 11, KIND_CROB),
        2: ObjDef("Binary Command - pattern control block", 11, KIND_CROB),
        3: ObjDef("Binary Command - pattern mask", BITS1, KIND_BIT),
    },
    13: {
        1: _s("Binary Output Command Event - without time", "B", "C"),
        2: _s("Binary Output Command Event - with time", "BIH", "CTt"),
    },
    20: _counters("Counter", False) | {
        5: _s("Counter - 32-bit without flag", "I", "V"),
        6: _s("Counter - 16-bit without flag", "H", "V"),
        7: _s("Counter - 32-bit delta without flag", "I", "V"),
        8: _s("Counter - 16-bit delta without flag", "H", "V"),
    },
    21: _counters("Frozen Counter", True) | {
        9: _s("Frozen Counter - 32-bit without flag", "I", "V"),
        10: _s("Frozen Counter - 16-bit without flag", "H", "V"),
        11: _s("Frozen Counter - 32-bit delta without flag", "I", "V"),
        12: _s("Frozen Counter - 16-bit delta without flag", "H", "V"),
    },
    22: _counters("Counter Event", True),
    23: _counters("Frozen Counter Event", True),
    30: {
        1: _s("Analog Input - 32-bit with flag", "Bi", "QV", AN),
        2: _s("Analog Input - 16-bit with flag", "Bh", "QV", AN),
        3: _s("Analog Input - 32-bit without flag", "i", "V"),
        4: _s("Analog Input - 16-bit without flag", "h", "V"),
        5: _s("Analog Input - single-precision with flag", "Bf", "QV", AN),
        6: _s("Analog Input - double-precision with flag", "Bd", "QV", AN),
    },
    31: {
        1: _s("Frozen Analog Input - 32-bit with flag", "Bi", "QV", AN),
        2: _s("Frozen Analog Input - 16-bit with flag", "Bh", "QV", AN),
        3: _s("Frozen Analog Input - 32-bit with time-of-freeze", "BiIH", "QVTt", AN),
        4: _s("Frozen Analog Input - 16-bit with time-of-freeze", "BhIH", "QVTt", AN),
        5: _s("Frozen Analog Input - 32-bit without flag", "i", "V"),
        6: _s("Frozen Analog Input - 16-bit without flag", "h", "V"),
        7: _s("Frozen Analog Input - single-precision with flag", "Bf", "QV", AN),
        8: _s("Frozen Analog Input - double-precision with flag", "Bd", "QV", AN),
    },
    32: _analog_events("Analog Input Event", "Q", AN),
    33: _analog_events("Frozen Analog Input Event", "Q", AN),
    34: {
        1: _s("Analog Input Deadband - 16-bit", "H", "V"),
        2: _s("Analog Input Deadband - 32-bit", "I", "V"),
        3: _s("Analog Input Deadband - single-precision", "f", "V"),
    },
    40: {
        1: _s("Analog Output Status - 32-bit with flag", "Bi", "QV", AN),
        2: _s("Analog Output Status - 16-bit with flag", "Bh", "QV", AN),
        3: _s("Analog Output Status - single-precision with flag", "Bf", "QV", AN),
        4: _s("Analog Output Status - double-precision with flag", "Bd", "QV", AN),
    },
    41: {
        1: _s("Analog Output - 32-bit", "iB", "VS"),
        2: _s("Analog Output - 16-bit", "hB", "VS"),
        3: _s("Analog Output - single-precision", "fB", "VS"),
        4: _s("Analog Output - double-precision", "dB", "VS"),
    },
    42: _analog_events("Analog Output Event", "Q", AN),
    43: _analog_events("Analog Output Command Event", "S", None),
    50: {
        1: _s("Time and Date - absolute time", "IH", "Tt"),
        2: _s("Time and Date - absolute time and interval", "IHI", "TtV"),
        3: _s("Time and Date - absolute time at last recorded time", "IH", "Tt"),
        4: _s("Time and Date - indexed absolute time and long interval", "IHIB", "TtVx"),
    },
    51: {
        1: _s("Time and Date CTO - absolute time, synchronized", "IH", "Tt"),
        2: _s("Time and Date CTO - absolute time, unsynchronized", "IH", "Tt"),
    },
    52: {
        1: _s("Time Delay - coarse (s)", "H", "V"),
        2: _s("Time Delay - fine (ms)", "H", "V"),
    },
    60: {
        1: _empty("Class Objects - class 0 data"),
        2: _empty("Class Objects - class 1 data"),
        3: _empty("Class Objects - class 2 data"),
        4: _empty("Class Objects - class 3 data"),
    },
    70: {
        1: _var("File-control - file identifier (obsolete)"),
        2: _var("File-control - authentication", KIND_FILE),
        3: _var("File-control - file command", KIND_FILE),
        4: _var("File-control - file command status", KIND_FILE),
        5: _var("File-control - file transport", KIND_FILE),
        6: _var("File-control - file transport status", KIND_FILE),
        7: _var("File-control - file descriptor", KIND_FILE),
        8: _var("File-control - file specification string", KIND_FILE),
    },
    80: {1: ObjDef("Internal Indications - packed format", BITS1, KIND_BIT)},
    81: {1: ObjDef("Device Storage - buffer fill status (obsolete)", 3, KIND_OPAQUE)},
    82: {1: _var("Device Profile - functions and indexes (obsolete)")},
    83: {
        1: _var("Data Set - private registration object"),
        2: _var("Data Set - private registration object descriptor"),
    },
    85: {1: _var("Data Set Prototype - with UUID")},
    86: {
        1: _var("Data Set Descriptor - data set contents"),
        2: ObjDef("Data Set Descriptor - characteristics", 1, KIND_OPAQUE),
        3: _var("Data Set Descriptor - point index attributes"),
    },
    87: {1: _var("Data Set - present value")},
    88: {1: _var("Data Set Event - snapshot")},
    90: {1: _var("Application - identifier")},
    91: {1: _var("Status of Requested Operation - active configuration")},
    101: {
        1: ObjDef("Binary-Coded Decimal Integer - small", 2, KIND_OCTETS),
        2: ObjDef("Binary-Coded Decimal Integer - medium", 4, KIND_OCTETS),
        3: ObjDef("Binary-Coded Decimal Integer - large", 8, KIND_OCTETS),
    },
    102: {1: _s("Unsigned Integer - 8-bit", "B", "V")},
    120: {
        1: _var("Authentication - challenge"),
        2: _var("Authentication - reply"),
        3: ObjDef("Authentication - aggressive mode request", 6, KIND_OPAQUE, always_data=True),
        4: ObjDef("Authentication - session key status request", 2, KIND_OPAQUE),
        5: _var("Authentication - session key status"),
        6: _var("Authentication - session key change"),
        7: _var("Authentication - error"),
        8: _var("Authentication - user certificate"),
        9: ObjDef("Authentication - message authentication code (MAC)", VARIABLE, KIND_OPAQUE,
                  always_data=True),
        10: _var("Authentication - user status change"),
        11: _var("Authentication - update key change request"),
        12: _var("Authentication - update key change reply"),
        13: _var("Authentication - update key change"),
        14: _var("Authentication - update key change signature"),
        15: _var("Authentication - update key change confirmation"),
    },
    121: {1: _s("Security Statistic - 32-bit with flag", "BHI", "QxV", CT)},
    122: {
        1: _s("Security Statistic Event - 32-bit with flag", "BHI", "QxV", CT),
        2: _s("Security Statistic Event - 32-bit with flag and time", "BHIIH", "QxVTt", CT),
    },
}

_OCTET_GROUPS = {110: "Octet String", 111: "Octet String Event",
                 112: "Virtual Terminal Output Block", 113: "Virtual Terminal Event Data"}


def _build() -> dict[int, ObjDef]:
    table: dict[int, ObjDef] = {}
    for group, variations in _LIBRARY.items():
        for variation, definition in variations.items():
            table[group << 8 | variation] = definition
    for group, name in _GROUPS.items():
        table.setdefault(group << 8, _empty(f"{name} - any variation"))
    for variation in range(256):
        attr = ATTRIBUTE_NAMES.get(variation, f"variation {variation}")
        table[variation] = ObjDef(f"Device Attributes - {attr}", VARIABLE, KIND_ATTR)
    # g110-113: the variation is the length of each string; variation 0 = any length.
    for group, name in _OCTET_GROUPS.items():
        for variation in range(1, 256):
            table[group << 8 | variation] = ObjDef(f"{name} - length {variation}", variation,
                                                   KIND_OCTETS)
    return table


OBJECTS: dict[int, ObjDef] = _build()
"""(group << 8 | variation) -> definition, for every object this decoder can size."""


def lookup(group: int, variation: int) -> ObjDef | None:
    return OBJECTS.get(group << 8 | variation)
