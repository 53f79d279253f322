"""DHCP (RFC 2131/2132, BOOTP RFC 951) over UDP 67/68 and DHCPv6 (RFC 8415) over UDP 546/547."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.dhcp.events import Dhcp6Event, DhcpEvent
from otshield.protocols.dhcp.session import DhcpSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return DhcpSession(flow)


SPEC = ProtocolSpec(
    name="dhcp",
    title="DHCP / BOOTP / DHCPv6",
    session_factory=_session,
    udp_ports=frozenset({67, 68, 546, 547}),
    event_types=(DhcpEvent, Dhcp6Event),
    anomaly_codes={
        "dhcp.truncated": "message shorter than its fixed header",
        "dhcp.bad_op": "BOOTP op is neither 1 (request) nor 2 (reply)",
        "dhcp.bad_hlen": "hardware address length above 16",
        "dhcp.bad_option_length": "an option runs past the end of the message",
        "dhcp.bad_message_type": "option 53 is not one byte",
        "dhcp.missing_message_type": "DHCP magic cookie but no message type option",
        "dhcp.relay_too_deep": "DHCPv6 relay messages nested beyond the hop limit (8)",
    },
)
