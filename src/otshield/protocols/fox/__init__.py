"""Niagara Fox identification (TCP 1911, or any port where a Fox header opens the stream):
message kinds counted, the hello fingerprints of both sides kept. See ``parser`` for the format
and references."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.fox.events import FoxEvent, FoxHost, build
from otshield.protocols.fox.parser import frame_size, parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "FoxEvent", "FoxHost"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "fox", parse, build)


SPEC = ProtocolSpec(
    name="fox",
    title="Niagara Fox",
    session_factory=_session,
    tcp_ports=frozenset({1911}),
    probe=probe,
    frame_size=frame_size,
    event_types=(FoxEvent,),
    anomaly_codes={
        "fox.bad_header": "a message does not start with a Fox header line",
        "fox.malformed": "more malformed messages than reported one by one",
        "fox.invalid_frame_size": "no ';;' terminator within 64 KiB",
        "fox.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
    },
    depth="identify",
)
