"""DLMS/COSEM identification over TCP/UDP (4059 wrapper, 4060 HDLC-over-TCP as seen in the
field, or any flow passing the probe): APDU kinds counted with function classes, wrapper ports
or HDLC addresses kept. See ``parser`` for the formats and references."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.dlms.events import DlmsEvent, build
from otshield.protocols.dlms.parser import frame_size, parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "DlmsEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "dlms", parse, build)


SPEC = ProtocolSpec(
    name="dlms",
    title="DLMS/COSEM",
    session_factory=_session,
    tcp_ports=frozenset({4059, 4060}),
    udp_ports=frozenset({4059}),
    probe=probe,
    frame_size=frame_size,
    event_types=(DlmsEvent,),
    anomaly_codes={
        "dlms.bad_header": "neither a wrapper version 1 nor an HDLC frame, or a broken HDLC "
                           "address",
        "dlms.bad_length": "the wrapper length differs from the bytes that follow",
        "dlms.truncated": "a unit shorter than its headers, or an HDLC frame without its "
                          "closing flag",
        "dlms.malformed": "more malformed units than reported one by one",
        "dlms.invalid_frame_size": "a unit length beyond Settings.max_frame_bytes",
        "dlms.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
    },
    depth="identify",
    port_only_claim=False,
)
