"""NTP code tables: modes, leap indicator, kiss codes, mode 6 opcodes, mode 7 request codes.

References: RFC 5905 section 7.3 (header fields, modes) and 7.4 (kiss codes); RFC 1305
Appendix B (mode 6 control messages, opcodes 1-7); RFC 9327 (mode 6, later opcodes); ntpd
``include/ntp_request.h`` for mode 7 (implementation-specific, never standardised).
"""

from __future__ import annotations

__all__ = [
    "CONTROL_OPCODES",
    "KISS_CODES",
    "LEAP",
    "MODES",
    "MONLIST_REQUESTS",
    "NTS_EXTENSION_TYPES",
    "PRIVATE_IMPLEMENTATIONS",
    "PRIVATE_REQUESTS",
    "UNIX_MINUS_NTP",
]

UNIX_MINUS_NTP = 2_208_988_800
"""Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01)."""

MODES: dict[int, str] = {
    0: "reserved",
    1: "symmetric_active",
    2: "symmetric_passive",
    3: "client",
    4: "server",
    5: "broadcast",
    6: "control",
    7: "private",
}

LEAP: dict[int, str] = {
    0: "no_warning",
    1: "last_minute_61",
    2: "last_minute_59",
    3: "unsynchronized",
}

KISS_CODES: frozenset[str] = frozenset({
    "ACST", "AUTH", "AUTO", "BCST", "CRYP", "DENY", "DROP", "RSTR", "INIT", "MCST", "NKEY",
    "NTSN", "RATE", "RMOT", "STEP",
})
"""RFC 5905 figure 13 plus RFC 8915 section 5.7 (NTSN): codes a stratum-0 server may send."""

CONTROL_OPCODES: dict[int, str] = {
    0: "unspecified",
    1: "read_status",
    2: "read_variables",
    3: "write_variables",
    4: "read_clock_variables",
    5: "write_clock_variables",
    6: "set_trap",
    7: "async_message",
    8: "configure",
    9: "save_config",
    10: "read_mru",
    11: "read_ordlist",
    12: "request_nonce",
    31: "unset_trap",
}

PRIVATE_IMPLEMENTATIONS: dict[int, str] = {0: "univ", 2: "xntpd_old", 3: "xntpd"}

PRIVATE_REQUESTS: dict[int, str] = {
    0: "peer_list",
    1: "peer_list_sum",
    2: "peer_info",
    3: "peer_stats",
    4: "sys_info",
    5: "sys_stats",
    6: "io_stats",
    7: "mem_stats",
    8: "loop_info",
    9: "timer_stats",
    10: "config",
    11: "unconfig",
    12: "set_sys_flag",
    13: "clr_sys_flag",
    14: "monitor",
    15: "nomonitor",
    16: "get_restrict",
    17: "resaddflags",
    18: "ressubflags",
    19: "unrestrict",
    20: "mon_getlist",
    21: "reset_stats",
    22: "reset_peer",
    23: "reread_keys",
    24: "do_dirty_hack",
    25: "dont_dirty_hack",
    26: "trustkey",
    27: "untrustkey",
    28: "authinfo",
    29: "traps",
    30: "add_trap",
    31: "clr_trap",
    32: "request_key",
    33: "control_key",
    34: "get_ctlstats",
    35: "get_leapinfo",
    36: "get_clockinfo",
    37: "set_clkfudge",
    38: "get_kernel",
    39: "get_clkbuginfo",
    41: "set_precision",
    42: "mon_getlist_1",
    43: "hostname_associd",
    44: "if_stats",
    45: "if_reload",
}

MONLIST_REQUESTS: frozenset[int] = frozenset({20, 42})
"""MON_GETLIST and MON_GETLIST_1: the "monlist" query abused for amplification (CVE-2013-5211)."""

NTS_EXTENSION_TYPES: frozenset[int] = frozenset({0x0104, 0x0204, 0x0304, 0x0404})
"""RFC 8915 section 5.7: unique identifier, cookie, cookie placeholder, authenticator."""
