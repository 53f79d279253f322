"""DHCP and DHCPv6 code tables.

References: RFC 2131 section 2-3 (BOOTP/DHCP message), RFC 2132 (options: 9.6 message types,
9.3 option overload), RFC 3396 (long options: repeated codes are concatenated), RFC 4702
(client FQDN, option 81), RFC 3046 (relay agent information, option 82), RFC 6926 and RFC 7724
(lease query message types); RFC 8415 (DHCPv6: 7.3 message types, 21 options), RFC 4704 (DHCPv6
client FQDN, option 39).
"""

from __future__ import annotations

__all__ = [
    "MAGIC_COOKIE",
    "MESSAGE_TYPES",
    "OPT_CLIENT_FQDN",
    "OPT_CLIENT_ID",
    "OPT_DNS_SERVERS",
    "OPT_DOMAIN_NAME",
    "OPT_END",
    "OPT_HOSTNAME",
    "OPT_LEASE_TIME",
    "OPT_MAX_MESSAGE_SIZE",
    "OPT_MESSAGE",
    "OPT_MESSAGE_TYPE",
    "OPT_NTP_SERVERS",
    "OPT_OVERLOAD",
    "OPT_PAD",
    "OPT_PARAM_LIST",
    "OPT_REBINDING_TIME",
    "OPT_RELAY_AGENT",
    "OPT_RENEWAL_TIME",
    "OPT_REQUESTED_IP",
    "OPT_ROUTERS",
    "OPT_SERVER_ID",
    "OPT_SUBNET_MASK",
    "OPT_TFTP_BOOTFILE",
    "OPT_TFTP_SERVER",
    "OPT_USER_CLASS",
    "OPT_VENDOR_CLASS",
    "V6_DUID_TYPES",
    "V6_MESSAGE_TYPES",
    "V6_RELAY_TYPES",
    "V6_STATUS_CODES",
]

MAGIC_COOKIE = b"\x63\x82\x53\x63"
"""RFC 2131 section 3: the options field starts with 99.130.83.99."""

MESSAGE_TYPES: dict[int, str] = {
    1: "DISCOVER",
    2: "OFFER",
    3: "REQUEST",
    4: "DECLINE",
    5: "ACK",
    6: "NAK",
    7: "RELEASE",
    8: "INFORM",
    9: "FORCERENEW",
    10: "LEASEQUERY",
    11: "LEASEUNASSIGNED",
    12: "LEASEUNKNOWN",
    13: "LEASEACTIVE",
    14: "BULKLEASEQUERY",
    15: "LEASEQUERYDONE",
    16: "ACTIVELEASEQUERY",
    17: "LEASEQUERYSTATUS",
    18: "TLS",
}

# Option codes (RFC 2132 unless noted).
OPT_PAD = 0
OPT_SUBNET_MASK = 1
OPT_ROUTERS = 3
OPT_DNS_SERVERS = 6
OPT_HOSTNAME = 12
OPT_DOMAIN_NAME = 15
OPT_NTP_SERVERS = 42
OPT_REQUESTED_IP = 50
OPT_LEASE_TIME = 51
OPT_OVERLOAD = 52
OPT_MESSAGE_TYPE = 53
OPT_SERVER_ID = 54
OPT_PARAM_LIST = 55
OPT_MESSAGE = 56
OPT_MAX_MESSAGE_SIZE = 57
OPT_RENEWAL_TIME = 58
OPT_REBINDING_TIME = 59
OPT_VENDOR_CLASS = 60
OPT_CLIENT_ID = 61
OPT_TFTP_SERVER = 66
OPT_TFTP_BOOTFILE = 67
OPT_USER_CLASS = 77  # RFC 3004
OPT_CLIENT_FQDN = 81  # RFC 4702
OPT_RELAY_AGENT = 82  # RFC 3046
OPT_END = 255

V6_MESSAGE_TYPES: dict[int, str] = {
    1: "SOLICIT",
    2: "ADVERTISE",
    3: "REQUEST",
    4: "CONFIRM",
    5: "RENEW",
    6: "REBIND",
    7: "REPLY",
    8: "RELEASE",
    9: "DECLINE",
    10: "RECONFIGURE",
    11: "INFORMATION-REQUEST",
    12: "RELAY-FORW",
    13: "RELAY-REPL",
    14: "LEASEQUERY",
    15: "LEASEQUERY-REPLY",
    16: "LEASEQUERY-DONE",
    17: "LEASEQUERY-DATA",
    18: "RECONFIGURE-REQUEST",
    19: "RECONFIGURE-REPLY",
    20: "DHCPV4-QUERY",
    21: "DHCPV4-RESPONSE",
}

V6_RELAY_TYPES: frozenset[int] = frozenset({12, 13})
"""RFC 8415 section 9: relay messages have a different header (hop count, two addresses)."""

V6_DUID_TYPES: dict[int, str] = {1: "LLT", 2: "EN", 3: "LL", 4: "UUID"}
"""RFC 8415 section 11.1."""

V6_STATUS_CODES: dict[int, str] = {
    0: "Success",
    1: "UnspecFail",
    2: "NoAddrsAvail",
    3: "NoBinding",
    4: "NotOnLink",
    5: "UseMulticast",
    6: "NoPrefixAvail",
}
"""RFC 8415 section 21.13."""
