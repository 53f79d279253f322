"""SNMP code tables: versions, PDU tags, error status, generic traps, value types.

References: RFC 1157 section 4 (SNMPv1 PDUs, 4.1.6 generic traps); RFC 3416 section 3 (SNMPv2
PDUs and error-status values); RFC 2578 section 7.1 (application types); RFC 3412 section 6
(SNMPv3 message, msgFlags); RFC 3414 section 2.4 (USM security parameters).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_COMMUNITIES",
    "ERROR_STATUS",
    "GENERIC_TRAPS",
    "PDU_TYPES",
    "READ_PDUS",
    "REQUEST_PDUS",
    "RESPONSE_PDUS",
    "SECURITY_LEVELS",
    "SNMP_TRAP_OID",
    "TRAP_V1",
    "VALUE_TYPES",
    "VERSIONS",
]

VERSIONS: dict[int, str] = {0: "v1", 1: "v2c", 3: "v3"}

PDU_TYPES: dict[int, str] = {
    0xA0: "get",
    0xA1: "getnext",
    0xA2: "response",
    0xA3: "set",
    0xA4: "trap",  # SNMPv1 Trap-PDU, its own layout
    0xA5: "getbulk",
    0xA6: "inform",
    0xA7: "trapv2",
    0xA8: "report",
}
TRAP_V1 = 0xA4
REQUEST_PDUS: frozenset[int] = frozenset({0xA0, 0xA1, 0xA3, 0xA5, 0xA6})
"""PDUs that expect a Response (RFC 3416 section 4.2)."""
RESPONSE_PDUS: frozenset[int] = frozenset({0xA2, 0xA8})
READ_PDUS: frozenset[int] = frozenset({0xA0, 0xA1, 0xA5})
"""For these the interesting values are in the response, not the request."""

ERROR_STATUS: dict[int, str] = {
    0: "noError",
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}

GENERIC_TRAPS: dict[int, str] = {
    0: "coldStart",
    1: "warmStart",
    2: "linkDown",
    3: "linkUp",
    4: "authenticationFailure",
    5: "egpNeighborLoss",
    6: "enterpriseSpecific",
}

VALUE_TYPES: dict[int, str] = {
    0x02: "integer",
    0x04: "octet_string",
    0x05: "null",
    0x06: "oid",
    0x40: "ip_address",
    0x41: "counter32",
    0x42: "gauge32",
    0x43: "timeticks",
    0x44: "opaque",
    0x45: "nsap_address",
    0x46: "counter64",
    0x47: "uinteger32",
    0x80: "no_such_object",
    0x81: "no_such_instance",
    0x82: "end_of_mib_view",
}

SECURITY_LEVELS: dict[int, str] = {0: "noAuthNoPriv", 1: "authNoPriv", 3: "authPriv"}
"""msgFlags bits 0 (auth) and 1 (priv), RFC 3412 section 6.4; priv without auth is invalid."""

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
"""snmpTrapOID.0: the second varbind of an SNMPv2 trap/inform names the notification."""

DEFAULT_COMMUNITIES: frozenset[bytes] = frozenset({b"public", b"private"})
"""Factory-default community strings: their use is a finding in itself. Only a yes/no is kept,
never the string (a community is a password)."""
