"""Emerson (Bristol Babcock) BSAP tables: application function codes, link-level function codes,
Remote Database Access (RDB) function codes and their function classes. Facts from the BSAP
reference as collected by CISA's ICSNPP BSAP analyzer (consts.pac)."""

from __future__ import annotations

__all__ = ["APP_FUNCTIONS", "LINK_FUNCTIONS", "RDB_EXT_FUNCTIONS", "RDB_FUNCTIONS"]

RDB = 0xA0
RDB_EXTENSION = 0xA1
PEI_PC = 0x03

APP_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x00: ("illegal", "other"), 0x03: ("pei_pc", "other"), 0x40: ("pei_rtu", "other"),
    0x48: ("diagnostics", "diagnostics"), 0x50: ("transmitter_request", "read"),
    0x51: ("transmitter_response", "read"), 0x60: ("cbo", "other"),
    0x68: ("flash_download", "program"), 0x6A: ("flash_config", "config"),
    0x70: ("command_handler_request", "control"), 0x71: ("command_handler_response", "other"),
    0x78: ("download_request_frames", "program"), 0x88: ("ts_nrt", "config"),
    0x89: ("request_ts_nrt", "config"), 0xA0: ("rdb", "read"), 0xA1: ("rdb_extension", "read"),
    0xA2: ("rbe_firmware", "read"), 0xA3: ("rbe_manager", "read"), 0xA8: ("alarm_ack", "other"),
    0xA9: ("alarm_init", "other"), 0xAA: ("alarm_report", "other"),
    0xB0: ("p2p_master", "other"), 0xB1: ("p2p_slave", "other"),
    0xBF: ("tunnel_request", "other"), 0xC0: ("ip_processing_task", "other"),
    **{code: (f"passthrough_task_{code - 0x97}", "other") for code in range(0x98, 0xA0)},
    **{code: (f"passthrough_com_{code - 0xC0}", "other") for code in range(0xC1, 0xCC)},
}
"""Application (destination/source) function code -> (name, function class)."""

LINK_FUNCTIONS: dict[int, str] = {
    0x81: "dial_up_ack", 0x83: "ack_discarded", 0x85: "poll", 0x86: "down_transmit_ack",
    0x87: "ack_no_data", 0x8A: "up_ack_with_poll", 0x8B: "up_ack_master",
    0x95: "nak_no_buffer",
}
"""Serial link-level function codes found where an application function code would be."""

RDB_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x00: ("read_signal_by_address", "read"), 0x02: ("read_logical_by_address", "read"),
    0x04: ("read_signal_by_name", "read"), 0x06: ("read_logical_by_name", "read"),
    0x0C: ("read_signal_by_list_start", "read"), 0x0D: ("read_signal_by_list_continue", "read"),
    0x0E: ("read_logical_by_list_start", "read"),
    0x0F: ("read_logical_by_list_continue", "read"),
    0x80: ("write_signal_by_address", "write"), 0x84: ("write_signal_by_name", "write"),
    0x8C: ("write_signal_by_list_start", "write"),
    0x8D: ("write_signal_by_list_continue", "write"),
}
"""RDB function code -> (name, function class)."""

RDB_EXT_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x0101: ("reset_system", "control"), 0x0102: ("diagnostics_reset", "diagnostics"),
    0x0201: ("read_date_and_time", "read"), 0x0202: ("read_date", "read"),
    0x0203: ("read_time", "read"), 0x0281: ("write_date_and_time", "config"),
    0x0400: ("change_local_node_address", "config"),
}
"""RDB extension (GFC 3308) function code -> (name, function class)."""

IP_FUNCTIONS: dict[int, str] = {0x0000: "ack", 0x0001: "response", 0x0005: "response",
                                0x0006: "request", 0x0084: "request", 0x0086: "request"}
"""BSAP-IP header message function -> message role."""
