"""Emerson BSAP identification over UDP (1234 BSAP-IP, 1235 serial BSAP in UDP, or any UDP
flow whose datagrams pass the probe): message kinds (RDB functions first) counted. See
``parser`` for the formats and references."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.bsap.events import BsapEvent, build
from otshield.protocols.bsap.parser import parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "BsapEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "bsap", parse, build)


SPEC = ProtocolSpec(
    name="bsap",
    title="Emerson BSAP",
    session_factory=_session,
    udp_ports=frozenset({1234, 1235}),
    probe=probe,
    event_types=(BsapEvent,),
    anomaly_codes={
        "bsap.truncated": "a message shorter than its headers, or a serial frame without "
                          "DLE ETX and CRC",
        "bsap.bad_header": "a BSAP-IP header length or message function not known",
        "bsap.malformed": "more malformed messages than reported one by one",
    },
    depth="identify",
    port_only_claim=False,
)
