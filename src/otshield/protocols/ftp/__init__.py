"""FTP control channel (RFC 959 and extensions) over TCP 21."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.ftp.events import FtpEvent
from otshield.protocols.ftp.session import FtpSession

__all__ = ["SPEC", "probe"]


def probe(buf: bytes, from_client: bool) -> bool:
    """A server greeting ``220`` (RFC 959 section 5.4: the connection opens with it)."""
    return not from_client and buf[:4] in (b"220 ", b"220-")


def _session(flow: FlowContext) -> Session:
    return FtpSession(flow)


SPEC = ProtocolSpec(
    name="ftp",
    title="File Transfer Protocol (control channel)",
    session_factory=_session,
    tcp_ports=frozenset({21}),
    probe=probe,
    event_types=(FtpEvent,),
    anomaly_codes={
        "ftp.line_too_long": "control line longer than 4096 bytes (dropped)",
        "ftp.bad_command": "client line that is not an FTP command",
        "ftp.bad_reply": "server line that is not an FTP reply",
        "ftp.bad_data_address": "PORT/EPRT argument that is not an address",
        "ftp.port_bounce": "PORT/EPRT names a host other than the client (bounce attack)",
        "ftp.cleartext_credentials": "a non-anonymous password sent in clear",
        "ftp.too_many_pending": "more unanswered commands than max_pending_requests",
    },
)
