"""Genisys identification (TCP 10001, or any TCP flow whose first message is a Genisys message
with a valid CRC): message types counted, station address kept. See ``parser``."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.genisys.events import GenisysEvent, build
from otshield.protocols.genisys.parser import frame_size, parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "GenisysEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "genisys", parse, build)


SPEC = ProtocolSpec(
    name="genisys",
    title="Genisys",
    session_factory=_session,
    tcp_ports=frozenset({10001}),
    probe=probe,
    frame_size=frame_size,
    event_types=(GenisysEvent,),
    anomaly_codes={
        "genisys.bad_header": "a message starting with a byte that is no Genisys header",
        "genisys.truncated": "a message too short for its station address or CRC",
        "genisys.bad_escape": "a byte >= 0xF0 in the body not escaped as 0xF0 + nibble",
        "genisys.bad_crc": "the CRC-16 does not match the message",
        "genisys.bad_length": "an address byte without its data byte",
        "genisys.malformed": "more malformed messages than reported one by one",
        "genisys.invalid_frame_size": "no 0xF6 terminator within 4 KiB",
        "genisys.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
    },
    depth="identify",
    port_only_claim=False,
)
