"""Telnet (RFC 854/855 and option RFCs) over TCP 23."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.telnet.events import TelnetEvent
from otshield.protocols.telnet.session import TelnetSession

__all__ = ["SPEC", "probe"]


def probe(buf: bytes, from_client: bool) -> bool:
    """Telnet option negotiation opens most sessions: IAC WILL/WONT/DO/DONT <option>."""
    return len(buf) >= 3 and buf[0] == 0xFF and 251 <= buf[1] <= 254


def _session(flow: FlowContext) -> Session:
    return TelnetSession(flow)


SPEC = ProtocolSpec(
    name="telnet",
    title="Telnet",
    session_factory=_session,
    tcp_ports=frozenset({23}),
    probe=probe,
    event_types=(TelnetEvent,),
    anomaly_codes={
        "telnet.cleartext_login": "a password prompt was answered over clear-text Telnet",
        "telnet.subnegotiation_too_long": "an IAC SB ... SE block longer than 512 bytes",
        "telnet.env_user_injection":
            "NEW-ENVIRON USER starting with -f (login bypass, CVE-2007-0882)",
    },
)
