"""Omron FINS tables: command codes, memory area codes, end codes, FINS/TCP commands and errors.

References: Omron "FINS Commands Reference Manual" (W227), section 5 (command list, 5-1),
section 8 (end codes, 8-1..8-3); CS/CJ "Communications Commands Reference Manual" (W342),
section 5-2 (memory area designations), section 7 (FINS/TCP header, 7-4).
"""

from __future__ import annotations

__all__ = [
    "AREAS",
    "BIT_AREAS",
    "COMMANDS",
    "END_MAIN",
    "END_SUB",
    "FORCED_AREAS",
    "TCP_COMMANDS",
    "TCP_ERRORS",
]

# MRC << 8 | SRC -> (name, function class)
COMMANDS: dict[int, tuple[str, str]] = {
    0x0101: ("memory_area_read", "read"),
    0x0102: ("memory_area_write", "write"),
    0x0103: ("memory_area_fill", "write"),
    0x0104: ("multiple_memory_area_read", "read"),
    0x0105: ("memory_area_transfer", "write"),
    0x0201: ("parameter_area_read", "read"),
    0x0202: ("parameter_area_write", "config"),
    0x0203: ("parameter_area_clear", "config"),
    0x0220: ("data_link_table_read", "read"),
    0x0221: ("data_link_table_write", "config"),
    0x0304: ("program_area_protect", "security"),
    0x0305: ("program_area_protect_clear", "security"),
    0x0306: ("program_area_read", "program"),
    0x0307: ("program_area_write", "program"),
    0x0308: ("program_area_clear", "program"),
    0x0401: ("run", "control"),
    0x0402: ("stop", "control"),
    0x0403: ("reset", "control"),
    0x0501: ("controller_data_read", "identify"),
    0x0502: ("connection_data_read", "identify"),
    0x0601: ("controller_status_read", "diagnostics"),
    0x0602: ("network_status_read", "diagnostics"),
    0x0603: ("data_link_status_read", "diagnostics"),
    0x0620: ("cycle_time_read", "diagnostics"),
    0x0701: ("clock_read", "read"),
    0x0702: ("clock_write", "config"),
    0x0801: ("loopback_test", "diagnostics"),
    0x0802: ("broadcast_test_results_read", "diagnostics"),
    0x0803: ("broadcast_test_data_send", "diagnostics"),
    0x0920: ("message_read_clear", "diagnostics"),
    0x0C01: ("access_right_acquire", "security"),
    0x0C02: ("access_right_forced_acquire", "security"),
    0x0C03: ("access_right_release", "security"),
    0x2101: ("error_clear", "control"),
    0x2102: ("error_log_read", "diagnostics"),
    0x2103: ("error_log_clear", "control"),
    0x2201: ("file_name_read", "program"),
    0x2202: ("single_file_read", "program"),
    0x2203: ("single_file_write", "program"),
    0x2204: ("file_memory_format", "program"),
    0x2205: ("file_delete", "program"),
    0x2206: ("volume_label_create_delete", "program"),
    0x2207: ("file_copy", "program"),
    0x2208: ("file_name_change", "program"),
    0x2209: ("file_data_check", "program"),
    0x220A: ("memory_area_file_transfer", "program"),
    0x220B: ("parameter_area_file_transfer", "program"),
    0x220C: ("program_area_file_transfer", "program"),
    0x220F: ("file_memory_index_read", "program"),
    0x2210: ("file_memory_read", "program"),
    0x2211: ("file_memory_write", "program"),
    0x2215: ("directory_create_delete", "program"),
    0x2220: ("memory_cassette_transfer", "program"),
    0x2301: ("forced_set_reset", "write"),
    0x2302: ("forced_set_reset_cancel", "write"),
    0x230A: ("multiple_forced_status_read", "read"),
    0x2601: ("name_set", "config"),
    0x2602: ("name_delete", "config"),
    0x2603: ("name_read", "identify"),
}

# Memory area code -> name. CV-mode codes (W227 5-2) and CS/CJ-mode codes (W342 5-2-2) do not
# overlap except DM words (0x82), which mean the same in both.
AREAS: dict[int, str] = {
    # CV mode
    0x00: "CIO bit", 0x40: "CIO bit (forced status)", 0x80: "CIO word",
    0xC0: "CIO word (forced status)", 0x01: "TIM/CNT completion flag",
    0x41: "TIM/CNT completion flag (forced status)", 0x81: "TIM/CNT PV", 0x82: "DM word",
    0x03: "transition flag", 0x43: "transition flag (forced status)", 0x04: "step flag",
    0x44: "step status", 0x84: "step timer PV", 0x05: "forced status bit",
    0x85: "forced status word", 0x90: "EM bank 0 word", 0x91: "EM bank 1 word",
    0x92: "EM bank 2 word", 0x93: "EM bank 3 word", 0x94: "EM bank 4 word",
    0x95: "EM bank 5 word", 0x96: "EM bank 6 word", 0x97: "EM bank 7 word",
    0x98: "EM current bank word", 0x9C: "EM current bank number", 0x9D: "action flag",
    0x1B: "action flag (status)", 0xDD: "register",
    # CS/CJ mode
    0x30: "CIO bit", 0x31: "WR bit", 0x32: "HR bit", 0x33: "AR bit",
    0x70: "CIO bit (forced status)", 0x71: "WR bit (forced status)",
    0x72: "HR bit (forced status)", 0xB0: "CIO word", 0xB1: "WR word", 0xB2: "HR word",
    0xB3: "AR word", 0xF0: "CIO word (forced status)", 0xF1: "WR word (forced status)",
    0xF2: "HR word (forced status)", 0x09: "TIM/CNT completion flag",
    0x49: "TIM/CNT completion flag (forced status)", 0x89: "TIM/CNT PV", 0x02: "DM bit",
    0x0A: "EM current bank bit", 0x06: "task flag bit", 0x46: "task flag status",
    0x07: "clock pulses / condition flags", 0xBC: "data register", 0xDC: "index register",
    **{0x20 + b: f"EM bank {b} bit" for b in range(13)},
    **{0xA0 + b: f"EM bank {b} word" for b in range(13)},
    **{0xE0 + b: f"EM bank {b} word" for b in range(0x10, 0x19)},
}

# Areas addressed bit by bit: one byte per item in read/write data (W227 5-3-2).
BIT_AREAS = frozenset({0x00, 0x01, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x33, 0x02, 0x09,
                       0x06, 0x07, 0x0A, *range(0x20, 0x2D)})
# Areas read with their forced status: bit areas 1 byte, word areas 4 bytes per item.
FORCED_AREAS = frozenset({0x40, 0x41, 0x43, 0x44, 0xC0, 0x70, 0x71, 0x72, 0xF0, 0xF1, 0xF2,
                          0x49, 0x46})

# End code main part (MRES with the relay bit masked) -> meaning (W227 8-1)
END_MAIN: dict[int, str] = {
    0x00: "normal completion", 0x01: "local node error", 0x02: "destination node error",
    0x03: "communications controller error", 0x04: "not executable",
    0x05: "routing error", 0x10: "command format error", 0x11: "parameter error",
    0x20: "read not possible", 0x21: "write not possible",
    0x22: "not executable in current mode", 0x23: "no such device",
    0x24: "cannot start/stop", 0x25: "unit error", 0x26: "command error",
    0x30: "access right error", 0x40: "abort",
}

# Full end code (main << 8 | sub, flags masked) -> meaning (W227 8-3)
END_SUB: dict[int, str] = {
    0x0000: "normal completion", 0x0001: "service canceled",
    0x0101: "local node not in network", 0x0102: "token timeout", 0x0103: "retries failed",
    0x0104: "too many send frames", 0x0105: "node address range error",
    0x0106: "node address duplication",
    0x0201: "destination node not in network", 0x0202: "unit missing",
    0x0203: "third node missing", 0x0204: "destination node busy",
    0x0205: "response timeout",
    0x0301: "communications controller error", 0x0302: "CPU unit error",
    0x0303: "controller error", 0x0304: "unit number error",
    0x0401: "undefined command", 0x0402: "not supported by model/version",
    0x0501: "destination address setting error", 0x0502: "no routing tables",
    0x0503: "routing table error", 0x0504: "too many relays",
    0x1001: "command too long", 0x1002: "command too short",
    0x1003: "elements/data don't match", 0x1004: "command format error",
    0x1005: "header error",
    0x1101: "area classification missing", 0x1102: "access size error",
    0x1103: "address range error", 0x1104: "address range exceeded",
    0x1106: "program missing", 0x1109: "relational error", 0x110A: "duplicate data access",
    0x110B: "response too long", 0x110C: "parameter error",
    0x2002: "protected", 0x2003: "table missing", 0x2004: "data missing",
    0x2005: "program missing", 0x2006: "file missing", 0x2007: "data mismatch",
    0x2101: "read-only", 0x2102: "protected", 0x2103: "cannot register",
    0x2105: "program missing", 0x2106: "file missing", 0x2107: "file name already exists",
    0x2108: "cannot change",
    0x2201: "not possible during execution", 0x2202: "not possible while running",
    0x2203: "wrong PLC mode (program)", 0x2204: "wrong PLC mode (debug)",
    0x2205: "wrong PLC mode (monitor)", 0x2206: "wrong PLC mode (run)",
    0x2207: "specified node not polling node", 0x2208: "step cannot be executed",
    0x2301: "file device missing", 0x2302: "memory missing", 0x2303: "clock missing",
    0x2401: "table missing",
    0x2502: "memory error", 0x2503: "I/O setting error", 0x2504: "too many I/O points",
    0x2505: "CPU bus error", 0x2506: "I/O duplication", 0x2507: "I/O bus error",
    0x2509: "SYSMAC BUS/2 error", 0x250A: "CPU bus unit error",
    0x250D: "SYSMAC BUS number duplication", 0x250F: "memory error",
    0x2510: "SYSMAC BUS terminator missing",
    0x2601: "no protection", 0x2602: "incorrect password", 0x2604: "protected",
    0x2605: "service already executing", 0x2606: "service stopped",
    0x2607: "no execution right", 0x2608: "settings not complete",
    0x2609: "necessary items not set", 0x260A: "number already defined",
    0x260B: "error will not clear",
    0x3001: "no access right", 0x4001: "service aborted",
}

# FINS/TCP header command (W342 7-4-2) -> name
TCP_COMMANDS: dict[int, str] = {
    0: "client_node_address_send",
    1: "server_node_address_send",
    2: "fins_frame_send",
    3: "fins_frame_send_error",
    6: "connection_confirmation",
}

# FINS/TCP header error code (W342 7-4-2) -> meaning
TCP_ERRORS: dict[int, str] = {
    0x00: "normal",
    0x01: "header is not FINS",
    0x02: "data length too long",
    0x03: "command not supported",
    0x20: "all connections in use",
    0x21: "specified node already connected",
    0x22: "attempt to access a protected node from an unspecified IP address",
    0x23: "client FINS node address out of range",
    0x24: "same FINS node address used by client and server",
    0x25: "all node addresses available for allocation are in use",
}
