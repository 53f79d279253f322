"""Protocol names guessed from the port alone, for flows no decoder claims.

Used for the flow record (``protocol: "guess:iec104"``) and the summary, so an analyst sees
which industrial protocols are on the wire before they have a decoder. Ports from IANA
registrations and vendor documentation.
"""

from __future__ import annotations

__all__ = ["TCP_GUESSES", "UDP_GUESSES", "guess"]

TCP_GUESSES: dict[int, str] = {
    102: "iso-tsap", 502: "modbus", 2404: "iec104", 4840: "opcua", 4843: "opcua-tls",
    1883: "mqtt", 8883: "mqtt-tls", 20000: "dnp3", 44818: "enip", 9600: "omron-fins",
    5007: "melsec", 5006: "melsec", 48898: "ads", 5094: "hart-ip", 4712: "c37.118",
    4713: "c37.118", 1911: "niagara-fox", 4911: "niagara-fox-tls", 1234: "bsap?",
    18245: "ge-srtp", 18246: "ge-srtp", 2222: "enip-io", 789: "crimson", 1962: "pcworx",
    20547: "proconos", 2455: "codesys", 11740: "codesys", 1200: "codesys", 5450: "pi-server",
    3000: "dlms?", 4059: "dlms", 34962: "profinet-rt", 34963: "profinet-rt", 34964: "profinet-cm",
    5020: "modbus-alt", 5502: "modbus-alt", 10001: "atg", 1089: "ff-annunc", 1090: "ff-fms",
    1091: "ff-sm", 9100: "jetdirect", 5900: "vnc", 3389: "rdp", 22: "ssh", 23: "telnet",
    21: "ftp", 25: "smtp", 53: "dns", 80: "http", 88: "kerberos", 110: "pop3", 135: "msrpc",
    139: "netbios-ssn", 143: "imap", 389: "ldap", 443: "tls", 445: "smb", 636: "ldaps",
    1433: "mssql", 3306: "mysql", 5432: "postgresql", 5985: "winrm", 5986: "winrm-tls",
    8080: "http-alt", 1723: "pptp", 1720: "h323", 5060: "sip", 6379: "redis",
}

UDP_GUESSES: dict[int, str] = {
    47808: "bacnet", 20000: "dnp3", 44818: "enip", 2222: "enip-io", 9600: "omron-fins",
    5007: "melsec", 48899: "ads", 5094: "hart-ip", 4713: "c37.118", 34964: "profinet-cm",
    102: "iso-tsap", 1089: "ff-annunc", 1090: "ff-fms", 1091: "ff-sm", 1628: "lonworks",
    1629: "lonworks", 2221: "enip-alt", 5050: "saia-sbus", 1541: "foxboro", 18245: "ge-srtp",
    53: "dns", 67: "dhcp", 68: "dhcp", 69: "tftp", 123: "ntp", 137: "netbios-ns",
    138: "netbios-dgm", 161: "snmp", 162: "snmp-trap", 500: "isakmp", 514: "syslog",
    546: "dhcpv6", 547: "dhcpv6", 1900: "ssdp", 5353: "mdns", 5355: "llmnr", 3702: "ws-discovery",
    319: "ptp", 320: "ptp", 4840: "opcua-udp", 7400: "rtps", 7401: "rtps"
}


def guess(transport: str, client_port: int, server_port: int) -> str:
    """The likely protocol of a flow from its ports (server port first), or ``""``."""
    table = TCP_GUESSES if transport == "tcp" else UDP_GUESSES
    return table.get(server_port) or table.get(client_port) or ""
