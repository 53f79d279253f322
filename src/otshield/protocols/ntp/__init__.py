"""NTP (RFC 5905; mode 6 RFC 9327; mode 7 ntpd private) over UDP 123."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.ntp.events import NtpEvent
from otshield.protocols.ntp.session import NtpSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return NtpSession(flow)


SPEC = ProtocolSpec(
    name="ntp",
    title="Network Time Protocol",
    session_factory=_session,
    udp_ports=frozenset({123}),
    event_types=(NtpEvent,),
    anomaly_codes={
        "ntp.truncated": "datagram shorter than the header of its mode",
        "ntp.bad_version": "version 0 or above 4",
        "ntp.reserved_mode": "mode 0 (reserved) used",
        "ntp.bad_control_length": "mode 6 count runs past the datagram",
        "ntp.bad_trailer": "bytes after the header are neither extension fields nor a MAC",
        "ntp.control_message": "mode 6 control traffic (ntpq: reconnaissance, reflection)",
        "ntp.private_message": "mode 7 private traffic (ntpdc, deprecated, reconnaissance)",
        "ntp.monlist": "mode 7 monlist query or reply (amplification, CVE-2013-5211)",
    },
)
