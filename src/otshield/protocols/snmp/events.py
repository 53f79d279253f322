"""The SNMP event: one per transaction (a request and its response, paired by request-id, or by
msgID for SNMPv3 whose PDU may be encrypted); traps are transactions of one message."""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["SnmpEvent", "SnmpVarbind"]


class SnmpVarbind(msgspec.Struct, frozen=True, gc=False):
    """One variable binding: OID, value type (integer, octet_string, timeticks...) and value as
    text (octets that are not printable as hex; None for NULL and the v2 exception values)."""

    oid: str
    type: str
    value: str | None = None


class SnmpEvent(Event, tag="snmp", rename=ecs(user="user.name"), frozen=True):
    """One SNMP exchange. The community string is never stored, only its presence and length."""

    version: str
    """v1, v2c or v3."""
    pdu_type: str
    """First PDU of the exchange: get, getnext, getbulk, set, trap, trapv2, inform, or response /
    report when the request was not seen; "encrypted" for an SNMPv3 authPriv request."""
    request_id: int | None = None
    response_type: str | None = None
    """response or report (or "encrypted"), when the reply was seen."""
    unanswered: bool | None = None
    """The flow ended (or the pending limit was hit) before a reply to this request."""
    community_present: bool | None = None
    community_length: int | None = None
    community_default: bool | None = None
    """The community is a factory default (public/private): a finding in itself."""
    oids: tuple[str, ...] | None = None
    """OIDs of the first PDU's variable bindings (at most 32)."""
    varbinds: tuple[SnmpVarbind, ...] | None = None
    """Values: from the response for get/getnext/getbulk, else from the request (set, trap,
    inform); at most 32."""
    varbind_count: int | None = None
    """Bindings in the PDU ``varbinds`` came from (all of them, not only those kept)."""
    truncated: bool | None = None
    """Bindings or long values were cut to the limits."""
    error_status: str | None = None
    error_index: int | None = None
    non_repeaters: int | None = None
    max_repetitions: int | None = None
    trap_oid: str | None = None
    """snmpTrapOID.0 of an SNMPv2 trap/inform; for v1 traps the enterprise OID."""
    agent_addr: str | None = None
    generic_trap: str | None = None
    specific_trap: int | None = None
    uptime: int | None = None
    """sysUpTime of a trap, in hundredths of a second."""
    msg_id: int | None = None
    security_level: str | None = None
    """SNMPv3 noAuthNoPriv, authNoPriv or authPriv."""
    user: str | None = None
    """SNMPv3 USM user name."""
    engine_id: str | None = None
    engine_boots: int | None = None
    engine_time: int | None = None
    context_name: str | None = None
