"""LonWorks CN/IP identification (UDP 1628/1629, or any UDP flow whose datagrams carry a valid
CN/IP header): packet types counted, vendor code and session kept. See ``parser``."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.cnip.events import CnipEvent, build
from otshield.protocols.cnip.parser import parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "CnipEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "cnip", parse, build)


SPEC = ProtocolSpec(
    name="cnip",
    title="LonWorks CN/IP",
    session_factory=_session,
    udp_ports=frozenset({1628, 1629}),
    probe=probe,
    event_types=(CnipEvent,),
    anomaly_codes={
        "cnip.truncated": "a packet shorter than the 20-byte common header",
        "cnip.bad_length": "the length field differs from the datagram, or the extended "
                           "header runs past it",
        "cnip.bad_version": "a version other than 1",
        "cnip.malformed": "more malformed packets than reported one by one",
    },
    depth="identify",
)
