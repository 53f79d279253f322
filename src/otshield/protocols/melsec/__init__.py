"""MELSEC identification: MC protocol 3E/4E frames (binary and ASCII) and MELSOFT engineering
traffic over TCP/UDP (5000-5010, MELSOFT discovery UDP 5560, or any flow passing the probe).
MC commands are named with function classes (remote run/stop/reset = control, file commands =
program); MELSOFT is identified and counted only. See ``parser``."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.identify import IdentifySession
from otshield.protocols.melsec.events import MelsecEvent, build
from otshield.protocols.melsec.parser import frame_size, parse, probe

__all__ = ["SPEC", "MelsecEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "melsec", parse, build)


SPEC = ProtocolSpec(
    name="melsec",
    title="MELSEC MC / MELSOFT",
    session_factory=_session,
    tcp_ports=frozenset(range(5000, 5011)),
    udp_ports=frozenset(range(5000, 5011)) | {5560},
    probe=probe,
    frame_size=frame_size,
    event_types=(MelsecEvent,),
    anomaly_codes={
        "melsec.bad_subheader": "a unit whose subheader is neither MC (3E/4E, binary or "
                                "ASCII) nor MELSOFT",
        "melsec.bad_length": "the data length field differs from the unit",
        "melsec.bad_ascii": "non-hexadecimal digits in an ASCII MC header",
        "melsec.truncated": "a unit shorter than its header",
        "melsec.malformed": "more malformed units than reported one by one",
        "melsec.invalid_frame_size": "a unit length beyond Settings.max_frame_bytes",
        "melsec.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
    },
    depth="identify",
    port_only_claim=False,
)
