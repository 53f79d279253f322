"""TLS and SSL (RFC 8446, RFC 5246, SSL 3.0 RFC 6101, SSL 2.0 hellos): handshake metadata,
server certificates (TLS <= 1.2), alerts, and the JA3, JA3S and JA4 fingerprints; one event per
connection."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.tls.constants import TLS_PORTS
from otshield.protocols.tls.events import TlsEvent
from otshield.protocols.tls.parser import probe
from otshield.protocols.tls.session import TlsSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return TlsSession(flow)


SPEC = ProtocolSpec(
    name="tls",
    title="Transport Layer Security",
    session_factory=_session,
    tcp_ports=TLS_PORTS,
    probe=probe,
    # Records are framed by the session (see session.py): a lost record boundary must cost one
    # anomaly, not one per following segment.
    frame_size=None,
    event_types=(TlsEvent,),
    # A TLS port carrying something else (or a capture joining mid-record) is left to the
    # port guess rather than decoded as broken TLS.
    port_only_claim=False,
    anomaly_codes={
        "tls.invalid_record": "a record header with an unknown content type, a version other "
                              "than 3.x, or a length over 2^14+2048; the direction is not "
                              "read further",
        "tls.invalid_handshake": "a ClientHello/ServerHello whose fields do not fit its length",
        "tls.handshake_too_large": "a handshake message longer than the reassembly limit "
                                   "(256 KiB or max_frame_bytes); the direction's handshake is "
                                   "not read further",
        "tls.invalid_certificate": "a Certificate message or DER certificate that cannot be "
                                   "parsed",
        "tls.certificate_explicit_curve": "an EC certificate with explicit curve parameters "
                                          "(CurveBall, CVE-2020-0601)",
        "tls.invalid_alert": "an alert record that is not (level 1|2, description) pairs",
        "tls.heartbleed": "a plaintext heartbeat claiming more payload than its record holds "
                          "(Heartbleed, CVE-2014-0160)",
    },
)
