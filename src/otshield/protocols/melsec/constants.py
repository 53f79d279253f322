"""MELSEC communication (MC) protocol tables: command codes with function classes, sub-command
unit names. From Mitsubishi Electric "MELSEC Communication Protocol Reference Manual"
(SH-080008, chapter 5 command list)."""

from __future__ import annotations

__all__ = ["COMMANDS", "SUBCOMMAND_UNITS"]

COMMANDS: dict[int, tuple[str, str]] = {
    0x0401: ("batch_read", "read"),
    0x1401: ("batch_write", "write"),
    0x0403: ("random_read", "read"),
    0x1402: ("random_write", "write"),
    0x0406: ("batch_read_multiple_blocks", "read"),
    0x1406: ("batch_write_multiple_blocks", "write"),
    0x0801: ("monitor_register", "read"),
    0x0802: ("monitor", "read"),
    0x0601: ("read_memory", "read"),
    0x1601: ("write_memory", "write"),
    0x0613: ("read_module_buffer", "read"),
    0x1613: ("write_module_buffer", "write"),
    0x1001: ("remote_run", "control"),
    0x1002: ("remote_stop", "control"),
    0x1003: ("remote_pause", "control"),
    0x1005: ("remote_latch_clear", "control"),
    0x1006: ("remote_reset", "control"),
    0x0101: ("read_cpu_model", "identify"),
    0x1630: ("remote_unlock", "security"),
    0x1631: ("remote_lock", "security"),
    0x0619: ("loopback_test", "diagnostics"),
    0x1617: ("clear_error", "diagnostics"),
    0x1810: ("read_directory", "program"),
    0x1811: ("search_directory", "program"),
    0x1820: ("new_file", "program"),
    0x1822: ("delete_file", "program"),
    0x1824: ("copy_file", "program"),
    0x1825: ("modify_file_attribute", "program"),
    0x1826: ("modify_file_date", "program"),
    0x1827: ("open_file", "program"),
    0x1828: ("read_file", "program"),
    0x1829: ("write_file", "program"),
    0x182A: ("close_file", "program"),
}
"""Command -> (name, function class). File commands move programs and parameters: program."""

SUBCOMMAND_UNITS: dict[int, str] = {0x0000: "words", 0x0001: "bits", 0x0002: "words",
                                    0x0003: "bits", 0x0080: "words", 0x0081: "bits",
                                    0x0082: "words", 0x0083: "bits"}
"""Device-access sub-commands: word or bit units (0x0002/0x0003 iQ-R device codes, 0x008x
with extension specification)."""

DEVICE_COMMANDS = frozenset({0x0401, 0x1401, 0x0403, 0x1402})
"""Commands whose name takes the sub-command's unit (``batch_read_words``)."""
