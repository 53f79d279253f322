"""HART-IP decoder (UDP and TCP 5094): session management, keep-alive, discovery and
token-passing HART PDUs with the universal and common-practice command names, device
identification (command 0: fingerprint), device status and process values (commands 1, 2, 3,
9) -> ``hartip`` events.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.hartip.events import HartIpEvent
from otshield.protocols.hartip.parser import frame_size, probe
from otshield.protocols.hartip.session import HartIpSession

__all__ = ["HARTIP_PORT", "SPEC", "HartIpSession"]

HARTIP_PORT = 5094


def _session(flow: FlowContext) -> Session:
    return HartIpSession(flow)


SPEC = ProtocolSpec(
    name="hartip",
    title="HART-IP",
    session_factory=_session,
    tcp_ports=frozenset({HARTIP_PORT}),
    udp_ports=frozenset({HARTIP_PORT}),
    probe=probe,
    frame_size=frame_size,
    event_types=(HartIpEvent,),
    anomaly_codes={
        "hartip.bad_header": "HART-IP header with an unknown version or message type",
        "hartip.bad_length": "HART-IP byte count impossible or disagreeing with the message",
        "hartip.unknown_message": "HART-IP message id not defined by HCF_SPEC-085",
        "hartip.bad_pdu": "token-passing PDU truncated, or with an invalid delimiter or byte "
                          "count",
        "hartip.bad_checksum": "token-passing PDU whose check byte is not the longitudinal "
                               "parity of the frame",
        "hartip.too_many_pending": "more requests awaiting responses than "
                                   "Settings.max_pending_requests; the oldest are reported "
                                   "unanswered",
        "hartip.unanswered_request": "requests still unanswered after "
                                     "Settings.request_timeout or when the flow ended",
    },
)
