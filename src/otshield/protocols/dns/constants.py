"""DNS tables: record types, classes, opcodes and response codes as the IANA "Domain Name System
(DNS) Parameters" registry names them (RFC 1035 section 3.2, RFC 6895 section 2), plus ports.

Unknown values are shown in the RFC 3597 section 5 generic form (``TYPE65280``, ``CLASS7``).
"""

from __future__ import annotations

__all__ = [
    "CLASSES",
    "HEADER_FLAGS",
    "LLMNR_PORT",
    "MAX_ANSWERS",
    "MAX_QUESTIONS",
    "MDNS_PORT",
    "OPCODES",
    "RCODES",
    "TYPES",
    "class_name",
    "type_name",
]

MDNS_PORT = 5353
"""Multicast DNS, RFC 6762."""
LLMNR_PORT = 5355
"""Link-Local Multicast Name Resolution, RFC 4795."""

MAX_ANSWERS = 64
"""Answer records kept per event; the rest are counted and ``answers_truncated`` is set."""
MAX_QUESTIONS = 32
"""Questions kept per event (mDNS queries often ask several)."""

TYPES: dict[int, str] = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP",
    18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR", 24: "SIG",
    25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC",
    33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK",
    41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC",
    48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA",
    55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK", 59: "CDS", 60: "CDNSKEY",
    61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF",
    100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64",
    107: "LP", 108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 258: "AVC", 259: "DOA",
    260: "AMTRELAY", 261: "RESINFO", 32768: "TA", 32769: "DLV",
}

CLASSES: dict[int, str] = {1: "IN", 2: "CS", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}

OPCODES: dict[int, str] = {
    0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO",
}

RCODES: dict[int, str] = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI",
    16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
    22: "BADTRUNC", 23: "BADCOOKIE",
}
"""Response codes; 16 and above need the EDNS(0) extended bits (RFC 6891 section 6.1.3)."""

HEADER_FLAGS: tuple[tuple[int, str], ...] = (
    (0x0400, "AA"), (0x0200, "TC"), (0x0100, "RD"), (0x0080, "RA"), (0x0020, "AD"),
    (0x0010, "CD"),
)
"""Header flag bits (RFC 1035 section 4.1.1, RFC 4035 section 3.2) in ECS ``dns.header_flags``
spelling; ``DO`` comes from the OPT record."""


def type_name(value: int) -> str:
    """Mnemonic of a record type, ``TYPEnnn`` when unassigned."""
    return TYPES.get(value) or f"TYPE{value}"


def class_name(value: int) -> str:
    """Mnemonic of a class, ``CLASSnnn`` when unassigned."""
    return CLASSES.get(value) or f"CLASS{value}"
