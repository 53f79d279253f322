"""EtherCAT code tables (IEC 61158-4-12 / ETG.1000.4: 5.3 frame header types, 5.4 datagram
commands; ETG.1000.6 / ESC datasheet: register 0x0120 AL Control, 0x0130 AL Status)."""

from __future__ import annotations

ETHERTYPE = 0x88A4

FRAME_TYPES: dict[int, str] = {1: "commands", 4: "network_variables", 5: "mailbox_gateway"}
TYPE_COMMANDS = 1

# cmd -> (name, function class of the datagram)
COMMANDS: dict[int, tuple[str, str]] = {
    0: ("NOP", "other"), 1: ("APRD", "read"), 2: ("APWR", "write"), 3: ("APRW", "write"),
    4: ("FPRD", "read"), 5: ("FPWR", "write"), 6: ("FPRW", "write"), 7: ("BRD", "read"),
    8: ("BWR", "write"), 9: ("BRW", "write"), 10: ("LRD", "read"), 11: ("LWR", "write"),
    12: ("LRW", "write"), 13: ("ARMW", "read"), 14: ("FRMW", "read"),
}
LOGICAL = frozenset({10, 11, 12})
"""LRD/LWR/LRW carry a 32-bit logical address; the others ADP (position/station) + ADO."""
REGISTER_WRITES = frozenset({2, 3, 5, 6, 8, 9})
"""Physical-address writes that can reach an ESC register (APWR/APRW, FPWR/FPRW, BWR/BRW)."""
POSITION = frozenset({1, 2, 3, 13})
STATION = frozenset({4, 5, 6, 14})

AL_CONTROL = 0x0120
AL_STATES: dict[int, str] = {1: "INIT", 2: "PREOP", 3: "BOOT", 4: "SAFEOP", 8: "OP"}
