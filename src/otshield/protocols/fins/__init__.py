"""Omron FINS decoder: FINS over UDP 9600 (the FINS frame directly in the datagram) and
FINS/TCP over TCP 9600 (16-byte "FINS" header, then the frame). One ``fins`` event per
command/response transaction: command name and class, memory area and address, end code,
controller model and version (fingerprint), CPU mode changes, clock, access rights.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.fins.events import FinsEvent
from otshield.protocols.fins.parser import frame_size, probe
from otshield.protocols.fins.session import FinsSession

__all__ = ["FINS_PORT", "SPEC", "FinsSession"]

FINS_PORT = 9600


def _session(flow: FlowContext) -> Session:
    return FinsSession(flow)


SPEC = ProtocolSpec(
    name="fins",
    title="Omron FINS",
    session_factory=_session,
    tcp_ports=frozenset({FINS_PORT}),
    udp_ports=frozenset({FINS_PORT}),
    probe=probe,
    frame_size=frame_size,
    event_types=(FinsEvent,),
    anomaly_codes={
        "fins.bad_header": "FINS/TCP unit without the \"FINS\" magic, or a FINS frame whose ICF "
                           "reserved bits or RSV byte are set",
        "fins.bad_length": "FINS/TCP length impossible or disagreeing with the unit, or a FINS "
                           "frame or command too short for its fields",
        "fins.unknown_command": "FINS command code or FINS/TCP command not defined by Omron",
        "fins.tcp_error": "FINS/TCP frame send unit carrying a non-zero error code",
        "fins.too_many_pending": "more commands awaiting responses than "
                                 "Settings.max_pending_requests; the oldest are reported "
                                 "unanswered",
        "fins.unanswered_request": "commands still unanswered after Settings.request_timeout "
                                   "or when the flow ended",
    },
)
