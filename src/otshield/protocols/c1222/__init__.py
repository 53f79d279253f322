"""ANSI C12.22 identification (TCP/UDP 1153, or any flow starting with an [APPLICATION 0]
ACSE-like message): EPSEM services counted, AP titles and security mode kept. See ``parser``."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.c1222.events import C1222Event, build
from otshield.protocols.c1222.parser import frame_size, parse, probe
from otshield.protocols.identify import IdentifySession

__all__ = ["SPEC", "C1222Event"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "c1222", parse, build)


SPEC = ProtocolSpec(
    name="c1222",
    title="ANSI C12.22",
    session_factory=_session,
    tcp_ports=frozenset({1153}),
    udp_ports=frozenset({1153}),
    probe=probe,
    frame_size=frame_size,
    event_types=(C1222Event,),
    anomaly_codes={
        "c1222.bad_header": "a message not starting with [APPLICATION 0]",
        "c1222.bad_length": "bytes after the message's BER value",
        "c1222.truncated": "an EPSEM without flags or service",
        "c1222.ber_truncated": "a BER element runs past its container",
        "c1222.ber_bad_tag": "a BER tag number longer than 4 octets",
        "c1222.ber_bad_length": "a BER length with more than 4 octets or indefinite on a "
                                "primitive",
        "c1222.ber_too_deep": "indefinite BER lengths nested too deeply",
        "c1222.malformed": "more malformed messages than reported one by one",
        "c1222.invalid_frame_size": "a message length beyond Settings.max_frame_bytes",
        "c1222.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
    },
    depth="identify",
)
