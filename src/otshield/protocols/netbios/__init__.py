"""NetBIOS over TCP/IP: name service (UDP 137) and datagram service with browser announcements
(UDP 138), RFC 1001/1002 and [MS-BRWS]. The session service (TCP 139) is framed by the SMB
decoder, which carries it."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.netbios.events import NbdgmEvent, NbnsEvent
from otshield.protocols.netbios.session import NetbiosSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return NetbiosSession(flow)


SPEC = ProtocolSpec(
    name="netbios",
    title="NetBIOS name and datagram services",
    session_factory=_session,
    udp_ports=frozenset({137, 138}),
    event_types=(NbnsEvent, NbdgmEvent),
    anomaly_codes={
        "nbns.truncated": "name service packet shorter than its header or records",
        "nbns.bad_name": "a name is not a valid first-level encoded NetBIOS name",
        "nbdgm.truncated": "datagram shorter than its header",
        "nbdgm.bad_name": "source or destination name not validly encoded",
        "nbdgm.bad_type": "datagram message type outside 0x10-0x16",
        "nbdgm.bad_smb": "the datagram's SMB mailslot transaction is malformed",
    },
)
