"""SNMP v1/v2c/v3 (RFC 1157, RFC 1901, RFC 3412-3416) over UDP 161 (agents) and 162 (traps)."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.snmp.events import SnmpEvent
from otshield.protocols.snmp.session import SnmpSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return SnmpSession(flow)


SPEC = ProtocolSpec(
    name="snmp",
    title="Simple Network Management Protocol",
    session_factory=_session,
    udp_ports=frozenset({161, 162}),
    event_types=(SnmpEvent,),
    anomaly_codes={
        "snmp.invalid_ber": "the BER encoding is broken (length, tag or value out of bounds)",
        "snmp.bad_version": "version is not 0 (v1), 1 (v2c) or 3 (v3)",
        "snmp.unknown_pdu": "PDU tag outside the RFC 3416 set",
        "snmp.duplicate_request": "a request reused the id of one still pending",
        "snmp.too_many_pending": "more unanswered requests than max_pending_requests",
    },
)
