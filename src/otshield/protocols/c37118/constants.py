"""IEEE C37.118.2-2011 tables: frame types, commands, STAT word fields, time quality codes.

References: IEEE Std C37.118.2-2011 6.2 (SYNC word, table 2 common fields), table 3 (time
quality flags in FRACSEC), table 7 (data frame STAT word), table 15 (command frame CMD codes).
"""

from __future__ import annotations

__all__ = [
    "COMMANDS",
    "DATA_ERRORS",
    "FRAME_TYPES",
    "TIME_QUALITY",
    "TRIGGER_REASONS",
    "UNLOCKED_TIME",
]

FRAME_TYPES: dict[int, str] = {
    0: "data", 1: "header", 2: "cfg1", 3: "cfg2", 4: "command", 5: "cfg3",
}

# CMD -> (name, function class)
COMMANDS: dict[int, tuple[str, str]] = {
    1: ("turn_off_transmission", "control"),
    2: ("turn_on_transmission", "control"),
    3: ("send_header", "read"),
    4: ("send_cfg1", "read"),
    5: ("send_cfg2", "read"),
    6: ("send_cfg3", "read"),
    8: ("extended_frame", "other"),
}

# STAT bits 15-14 (table 7)
DATA_ERRORS: dict[int, str] = {
    0: "good", 1: "pmu_error_no_information", 2: "test_mode", 3: "pmu_error",
}

# STAT bits 5-4: time since the PMU lost sync
UNLOCKED_TIME: dict[int, str] = {0: "locked_or_under_10s", 1: "10s_to_100s", 2: "100s_to_1000s",
                                 3: "over_1000s"}

# STAT bits 3-0
TRIGGER_REASONS: dict[int, str] = {
    0: "manual", 1: "magnitude_low", 2: "magnitude_high", 3: "phase_angle_diff",
    4: "frequency_high_or_low", 5: "df_dt_high", 6: "reserved", 7: "digital",
    **{i: "user_defined" for i in range(8, 16)},
}

# FRACSEC time quality bits 3-0 (table 3): clock error bound
TIME_QUALITY: dict[int, str] = {
    0x0: "locked", 0x1: "1ns", 0x2: "10ns", 0x3: "100ns", 0x4: "1us", 0x5: "10us",
    0x6: "100us", 0x7: "1ms", 0x8: "10ms", 0x9: "100ms", 0xA: "1s", 0xB: "10s",
    0xF: "fault",
}
