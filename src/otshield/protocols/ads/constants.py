"""Beckhoff ADS/AMS tables: commands, AMS ports, index groups, ADS states, error codes, AMS/TCP
header commands and AMS/UDP discovery services and tags.

References: Beckhoff Information System, "ADS specification" (TE1000): AMS/TCP packet (2.1),
AMS header (2.2: state flags, command ids), ADS commands (2.3.1-2.3.9), ADS return codes
(ADS error codes list), ADS states (ADSSTATE enum), reserved index groups (ADSIGRP_* in
TcAdsDef.h), AMS port numbers (AMSPORT_* in TcAdsDef.h). AMS/UDP discovery (port 48899) as
documented by Beckhoff's "TwinCAT Router" notes and implemented by the ADS client libraries.
"""

from __future__ import annotations

__all__ = [
    "ADS_STATES",
    "COMMANDS",
    "ERRORS",
    "INDEX_GROUPS",
    "PORTS",
    "READ_GROUPS",
    "TCP_COMMANDS",
    "UDP_SERVICES",
    "UDP_TAGS",
]

# command id -> (name, function class)
COMMANDS: dict[int, tuple[str, str]] = {
    0: ("invalid", "other"),
    1: ("read_device_info", "identify"),
    2: ("read", "read"),
    3: ("write", "write"),
    4: ("read_state", "diagnostics"),
    5: ("write_control", "control"),
    6: ("add_device_notification", "read"),
    7: ("delete_device_notification", "read"),
    8: ("device_notification", "read"),
    9: ("read_write", "write"),
}

# AMS port -> name (TcAdsDef.h AMSPORT_*)
PORTS: dict[int, str] = {
    1: "AMS router", 100: "logger", 110: "event logger", 300: "I/O", 301: "additional task 1",
    302: "additional task 2", 500: "NC", 501: "NC SAF task", 511: "NC SVB task",
    520: "ISG", 700: "CNC", 800: "PLC runtime 1 (TwinCAT 2)",
    801: "PLC runtime 1 (TwinCAT 2)", 811: "PLC runtime 2 (TwinCAT 2)",
    821: "PLC runtime 3 (TwinCAT 2)", 831: "PLC runtime 4 (TwinCAT 2)",
    851: "PLC runtime 1", 852: "PLC runtime 2", 853: "PLC runtime 3", 854: "PLC runtime 4",
    900: "camshaft controller", 10000: "system service", 14000: "scope server",
    20000: "license server",
}

# index group -> name (TcAdsDef.h ADSIGRP_*)
INDEX_GROUPS: dict[int, str] = {
    0x4020: "PLC memory (%M)", 0x4021: "PLC memory bit (%MX)", 0x4025: "PLC memory size",
    0x4030: "PLC retain data", 0x4031: "PLC retain size", 0x4040: "PLC data (%MB)",
    0x4045: "PLC data size",
    0xF000: "symbol table", 0xF001: "symbol name", 0xF002: "symbol value",
    0xF003: "symbol handle by name", 0xF004: "symbol value by name",
    0xF005: "symbol value by handle", 0xF006: "release symbol handle",
    0xF007: "symbol info by name", 0xF008: "symbol version",
    0xF009: "symbol info by name (extended)", 0xF00A: "symbol download",
    0xF00B: "symbol upload", 0xF00C: "symbol upload info", 0xF00D: "symbol download 2",
    0xF00E: "data type upload", 0xF00F: "symbol upload info 2", 0xF010: "symbol notes",
    0xF020: "input image (bytes)", 0xF021: "input image (bits)", 0xF025: "input image size",
    0xF030: "output image (bytes)", 0xF031: "output image (bits)",
    0xF035: "output image size", 0xF040: "clear input image",
    0xF050: "clear output image", 0xF060: "read/write input and output",
    0xF080: "sum command: read", 0xF081: "sum command: write",
    0xF082: "sum command: read/write", 0xF083: "sum command: read (extended)",
    0xF084: "sum command: read (extended 2)", 0xF085: "sum command: add notifications",
    0xF086: "sum command: delete notifications",
    0xF100: "device data (ADS and device state)",
}

# ReadWrite to these index groups reads (they write a name or a list of requests)
READ_GROUPS = frozenset({0xF003, 0xF004, 0xF007, 0xF009, 0xF080, 0xF083, 0xF084, 0xF085})

# ADSSTATE -> name
ADS_STATES: dict[int, str] = {
    0: "invalid", 1: "idle", 2: "reset", 3: "init", 4: "start", 5: "run", 6: "stop",
    7: "save_config", 8: "load_config", 9: "power_failure", 10: "power_good", 11: "error",
    12: "shutdown", 13: "suspend", 14: "resume", 15: "config", 16: "reconfig",
    17: "stopping", 18: "incompatible", 19: "exception",
}

# ADS / AMS return code -> meaning
ERRORS: dict[int, str] = {
    0x000: "no error", 0x001: "internal error", 0x002: "no real-time",
    0x003: "allocation locked memory error", 0x004: "mailbox full",
    0x005: "wrong HMSG", 0x006: "target port not found", 0x007: "target machine not found",
    0x008: "unknown command id", 0x009: "invalid task id", 0x00A: "no IO",
    0x00B: "unknown AMS command", 0x00C: "Win32 error", 0x00D: "port not connected",
    0x00E: "invalid AMS length", 0x00F: "invalid AMS Net ID",
    0x010: "installation level too low", 0x011: "no debugging available",
    0x012: "port disabled", 0x013: "port already connected", 0x014: "AMS sync Win32 error",
    0x015: "AMS sync timeout", 0x016: "AMS sync error", 0x017: "AMS sync no index map",
    0x018: "invalid AMS port", 0x019: "no memory", 0x01A: "TCP send error",
    0x01B: "host unreachable", 0x01C: "invalid AMS fragment", 0x01D: "TLS send error",
    0x01E: "access denied (secure ADS)",
    0x500: "router: no locked memory", 0x501: "router: memory size could not be changed",
    0x502: "router: mailbox full", 0x503: "router: debug mailbox full",
    0x504: "router: unknown port type", 0x505: "router not initialised",
    0x506: "router: port number already assigned", 0x507: "router: port not registered",
    0x508: "router: maximum number of ports reached", 0x509: "router: invalid port",
    0x50A: "router not active", 0x50B: "router: mailbox full for fragmented messages",
    0x50C: "router: fragment timeout", 0x50D: "router: port removed",
    0x700: "general device error", 0x701: "service not supported",
    0x702: "invalid index group", 0x703: "invalid index offset",
    0x704: "reading or writing not permitted", 0x705: "parameter size not correct",
    0x706: "invalid parameter values", 0x707: "device not ready", 0x708: "device busy",
    0x709: "invalid operating system context", 0x70A: "insufficient memory",
    0x70B: "invalid parameter values", 0x70C: "not found", 0x70D: "syntax error",
    0x70E: "objects do not match", 0x70F: "object already exists",
    0x710: "symbol not found", 0x711: "invalid symbol version",
    0x712: "device (server) in invalid state", 0x713: "AdsTransMode not supported",
    0x714: "invalid notification handle", 0x715: "notification client not registered",
    0x716: "no further notification handle", 0x717: "notification size too large",
    0x718: "device not initialised", 0x719: "device timeout",
    0x71A: "interface query failed", 0x71B: "wrong interface requested",
    0x71C: "invalid class id", 0x71D: "invalid object id", 0x71E: "request pending",
    0x71F: "request aborted", 0x720: "signal warning", 0x721: "invalid array index",
    0x722: "symbol not active", 0x723: "access denied", 0x724: "missing license",
    0x725: "license expired", 0x726: "license exceeded", 0x727: "invalid license",
    0x728: "license problem: system id invalid", 0x729: "license not limited in time",
    0x72A: "licensing problem: issue time in the future",
    0x72B: "license period too long", 0x72C: "exception at system startup",
    0x72D: "license file read twice", 0x72E: "invalid signature",
    0x72F: "invalid certificate", 0x730: "public key not known from OEM",
    0x731: "license not valid for this system id", 0x732: "demo license prohibited",
    0x733: "invalid function id", 0x734: "outside the valid range",
    0x735: "invalid alignment", 0x736: "invalid platform level",
    0x737: "context: forward to passive level", 0x738: "context: forward to dispatch level",
    0x739: "context: forward to real-time",
    0x740: "client error", 0x741: "service contains an invalid parameter",
    0x742: "polling list empty", 0x743: "var connection already in use",
    0x744: "invoke id in use", 0x745: "timeout elapsed", 0x746: "error in Win32 subsystem",
    0x747: "invalid client timeout value", 0x748: "port not open", 0x749: "no AMS address",
    0x750: "internal error in ADS sync", 0x751: "hash table overflow",
    0x752: "key not found in hash table", 0x753: "no more symbols in cache",
    0x754: "invalid response received", 0x755: "sync port locked",
}

# AMS/TCP header first field (reserved / AMS/TCP command) -> name
TCP_COMMANDS: dict[int, str] = {
    0x0000: "ams_command",
    0x0001: "port_close",
    0x1000: "port_connect",
    0x1001: "router_notification",
    0x1002: "get_local_net_id",
}

# AMS/UDP discovery service id (response flag 0x80000000 masked) -> (name, function class)
UDP_SERVICES: dict[int, tuple[str, str]] = {
    1: ("discovery", "identify"),
    6: ("add_route", "security"),
    7: ("delete_route", "security"),
}

# AMS/UDP discovery tag id -> name
UDP_TAGS: dict[int, str] = {
    1: "status",
    2: "password",
    3: "twincat_version",
    4: "os_version",
    5: "host_name",
    7: "ams_net_id",
    9: "fingerprint",
    12: "route_name",
    13: "user_name",
    14: "fingerprint",
}
