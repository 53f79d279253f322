"""DDS-RTPS identification (UDP 7400-7500, or any UDP flow starting with the ``RTPS`` magic):
submessage kinds counted, vendor, GUID prefix, participant and topic names from discovery
kept. See ``parser`` for the format and references."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.identify import IdentifySession
from otshield.protocols.rtps.events import RtpsEvent, build
from otshield.protocols.rtps.parser import parse, probe

__all__ = ["SPEC", "RtpsEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "rtps", parse, build)


SPEC = ProtocolSpec(
    name="rtps",
    title="DDS-RTPS",
    session_factory=_session,
    udp_ports=frozenset(range(7400, 7501)),
    probe=probe,
    event_types=(RtpsEvent,),
    anomaly_codes={
        "rtps.bad_magic": "a datagram on an RTPS flow without the 'RTPS' magic",
        "rtps.truncated": "a message shorter than its header, or a submessage past its end",
        "rtps.malformed": "more malformed messages than reported one by one",
    },
    depth="identify",
    port_only_claim=False,
)
