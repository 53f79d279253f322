"""RDP connection-sequence tables.

References: [MS-RDPBCGR] 2.2.1.1.1 (RDP_NEG_REQ: requested protocols, flags), 2.2.1.2.1
(RDP_NEG_RSP flags), 2.2.1.2.2 (RDP_NEG_FAILURE codes), 2.2.1.3.2 (TS_UD_CS_CORE), 2.2.1.3.3
(TS_UD_CS_SEC encryption methods), 2.2.1.3.4 (TS_UD_CS_NET channels), 2.2.1.4.3 (TS_UD_SC_SEC1
encryption level); ITU-T X.224 section 13.3 (TPDU codes).
"""

from __future__ import annotations

__all__ = [
    "CS_CORE",
    "CS_NET",
    "CS_SECURITY",
    "ENCRYPTION_LEVELS",
    "ENCRYPTION_METHODS",
    "FAILURE_CODES",
    "NEG_REQ_FLAGS",
    "NEG_RSP_FLAGS",
    "PROTOCOLS",
    "SC_CORE",
    "SC_SECURITY",
    "X224_CC",
    "X224_CR",
    "X224_DT",
    "bits",
    "protocol_name",
]

X224_CR, X224_CC, X224_DT = 0xE0, 0xD0, 0xF0

PROTOCOLS: tuple[tuple[int, str], ...] = (
    (0x00000001, "TLS"),
    (0x00000002, "CredSSP"),
    (0x00000004, "RDSTLS"),
    (0x00000008, "CredSSP-EX"),
    (0x00000010, "RDSAAD"),
)
"""requestedProtocols bits; 0 alone is standard RDP security (PROTOCOL_RDP)."""

NEG_REQ_FLAGS: tuple[tuple[int, str], ...] = (
    (0x01, "restricted_admin_mode_required"),
    (0x02, "redirected_authentication_mode_required"),
    (0x08, "correlation_info_present"),
)
NEG_RSP_FLAGS: tuple[tuple[int, str], ...] = (
    (0x01, "extended_client_data_supported"),
    (0x02, "dynvc_gfx_protocol_supported"),
    (0x08, "restricted_admin_mode_supported"),
    (0x10, "redirected_authentication_mode_supported"),
)

FAILURE_CODES: dict[int, str] = {
    1: "SSL_REQUIRED_BY_SERVER",
    2: "SSL_NOT_ALLOWED_BY_SERVER",
    3: "SSL_CERT_NOT_ON_SERVER",
    4: "INCONSISTENT_FLAGS",
    5: "HYBRID_REQUIRED_BY_SERVER",
    6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
}

ENCRYPTION_METHODS: tuple[tuple[int, str], ...] = (
    (0x00000001, "40BIT"),
    (0x00000002, "128BIT"),
    (0x00000008, "56BIT"),
    (0x00000010, "FIPS"),
)
ENCRYPTION_LEVELS: dict[int, str] = {0: "NONE", 1: "LOW", 2: "CLIENT_COMPATIBLE", 3: "HIGH",
                                     4: "FIPS"}

CS_CORE, CS_SECURITY, CS_NET = 0xC001, 0xC002, 0xC003
SC_CORE, SC_SECURITY = 0x0C01, 0x0C02


def bits(value: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """Names of the flag bits set in ``value``."""
    return tuple(name for bit, name in table if value & bit)


def protocol_name(value: int) -> str:
    """A selectedProtocol value: RDP (standard security), TLS, CredSSP..."""
    if value == 0:
        return "RDP"
    names = bits(value, PROTOCOLS)
    return names[0] if len(names) == 1 else f"0x{value:08x}"
