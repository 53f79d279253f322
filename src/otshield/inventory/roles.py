"""Which protocols say what about the devices that speak them, and the thresholds behind each
inferred role. Kept as data so that an analyst can read why an asset got a role.

A role is inferred from behaviour, never from a name: a device that answers Modbus is a
controller whatever its hostname says; a host that sends a PLC stop or a program download is an
engineering workstation; a host that polls several controllers is an HMI or SCADA server.
"""

from __future__ import annotations

__all__ = [
    "CONTROL_SERVICES",
    "ENGINEERING_CLASSES",
    "GATEWAY_MIN_IPS",
    "HISTORIAN_PORTS",
    "HMI_MIN_CONTROLLERS",
    "HMI_MIN_READS",
    "IT_SERVICES",
    "OT_SERVER_SERVICES",
    "ROLE_LEVELS",
]

CONTROL_SERVICES: frozenset[str] = frozenset({
    "modbus", "dnp3", "s7comm", "s7commplus", "enip", "cip", "iec104", "mms", "bacnet", "fins",
    "ads", "hartip", "c37118", "melsec", "bsap", "sbus", "cnip", "dlms", "c1222", "genisys",
    "pnio_cm", "fox",
})
"""Protocols whose server side is a controller (PLC, RTU, IED, PMU, building controller)."""

OT_SERVER_SERVICES: frozenset[str] = frozenset({"opcua", "mqtt"})
"""Protocols whose server side is an OT server (OPC UA server, MQTT broker)."""

IT_SERVICES: dict[str, str] = {
    "dns": "DNS server", "dhcp": "DHCP server", "smb": "file server", "http": "web server",
    "tls": "TLS server", "ntp": "time server", "snmp": "SNMP agent", "ftp": "FTP server",
    "telnet": "Telnet server", "ssh": "SSH server", "rdp": "remote desktop host",
    "netbios": "NetBIOS name server",
}
"""IT protocols -> what answering them makes a host."""

HISTORIAN_PORTS: dict[int, str] = {
    1433: "Microsoft SQL Server", 3306: "MySQL", 5432: "PostgreSQL", 5450: "OSIsoft PI",
    5457: "OSIsoft PI AF", 8086: "InfluxDB", 1521: "Oracle", 9000: "ClickHouse",
}
"""Database ports a historian serves its data on."""

ENGINEERING_CLASSES: frozenset[str] = frozenset({"program", "control", "config"})
"""Function classes only engineering work sends: downloads, mode changes, configuration."""

GATEWAY_MIN_IPS = 4
"""A MAC carrying traffic of at least this many IPs (not confirmed by ARP) is a router's."""

HMI_MIN_CONTROLLERS = 2
"""A client polling at least this many controllers is an HMI/SCADA server..."""
HMI_MIN_READS = 20
"""... or one reading a single controller at least this often (a SCADA master and its RTU)."""

ROLE_LEVELS: dict[str, int] = {
    "field_device": 0,
    "controller": 1,
    "hmi": 2,
    "engineering_workstation": 2,
    "historian": 3,
    "ot_server": 3,
    "it_server": 4,
    "it_host": 4,
    "external": 5,
}
"""Purdue level a role implies; an asset takes the lowest of its roles (a PLC with an OPC UA
server inside is a level 1 device). ``network_device`` implies none: routers sit between."""
