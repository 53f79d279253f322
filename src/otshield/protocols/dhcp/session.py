"""DHCP per-flow session: decode each datagram (DHCPv4 on 67/68, DHCPv6 on 546/547) and emit
one event per message; decoding problems become ``dhcp.*`` anomalies."""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.dhcp.constants import MESSAGE_TYPES, V6_MESSAGE_TYPES, V6_RELAY_TYPES
from otshield.protocols.dhcp.events import Dhcp6Event, DhcpEvent
from otshield.protocols.dhcp.parser import DhcpMessage, decode
from otshield.protocols.dhcp.parser6 import Dhcp6Message, decode6

__all__ = ["V6_PORTS", "DhcpSession"]

V6_PORTS = frozenset({546, 547})
_ZERO = "0.0.0.0"


class DhcpSession:
    """No state between datagrams: DHCP messages stand alone on a flow."""

    __slots__ = ("flow", "v6")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.v6 = flow.server_port in V6_PORTS or flow.client_port in V6_PORTS

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            if self.v6:
                msg6 = decode6(frame)
                if msg6.error is not None:
                    flow.anomaly(*msg6.error, from_client)
                flow.emit(_event6(flow, msg6, from_client))
                return
            msg = decode(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if msg.error is not None:
            flow.anomaly(*msg.error, from_client)
        if not msg.bootp and msg.message_type is None:
            flow.anomaly("dhcp.missing_message_type", "DHCP message without option 53",
                         from_client)
        flow.emit(_event(flow, msg, from_client))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """DHCP is datagram-only."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Datagrams have no gaps."""

    def close(self) -> None:
        """Nothing is held between datagrams."""


def _addr(value: str) -> str | None:
    return None if value == _ZERO else value


def _event(flow: FlowContext, m: DhcpMessage, from_client: bool) -> DhcpEvent:
    if m.bootp:
        mtype = "BOOTP"
    elif m.message_type is None:
        mtype = "UNKNOWN"
    else:
        mtype = MESSAGE_TYPES.get(m.message_type, str(m.message_type))
    return DhcpEvent(
        **flow.fields(from_client), op="request" if m.op == 1 else "reply", message_type=mtype,
        xid=m.xid, client_mac=m.client_mac, client_ip=_addr(m.ciaddr),
        assigned_ip=_addr(m.yiaddr), next_server=_addr(m.siaddr), relay_ip=_addr(m.giaddr),
        hops=m.hops or None, secs=m.secs or None, broadcast=m.broadcast or None,
        requested_ip=m.requested_ip, server_id=m.server_id, lease_time=m.lease_time,
        renewal_time=m.renewal_time, rebinding_time=m.rebinding_time, hostname=m.hostname,
        domain=m.domain, fqdn=m.fqdn, vendor_class=m.vendor_class, user_class=m.user_class,
        client_id=m.client_id, param_list=m.param_list,
        options=tuple(m.options) if m.options else None,
        truncated=m.truncated or None, subnet_mask=m.subnet_mask,
        routers=m.routers, dns_servers=m.dns_servers, ntp_servers=m.ntp_servers,
        message=m.message, max_message_size=m.max_message_size, circuit_id=m.circuit_id,
        remote_id=m.remote_id, server_name=m.server_name, boot_file=m.boot_file)


def _event6(flow: FlowContext, m: Dhcp6Message, from_client: bool) -> Dhcp6Event:
    relay: Dhcp6Message | None = None
    if m.message_type in V6_RELAY_TYPES:
        relay = m
        # The innermost relayed message is the client/server message the relays carry.
        while m.inner is not None:
            m = m.inner
    name = V6_MESSAGE_TYPES.get(m.message_type, str(m.message_type))
    if relay is not None and m is relay:
        name = "UNKNOWN"  # a relay message without a relayed message inside
    return Dhcp6Event(
        **flow.fields(from_client), message_type=name, transaction_id=m.transaction_id,
        relay_type=V6_MESSAGE_TYPES[relay.message_type] if relay is not None else None,
        hop_count=relay.hop_count if relay is not None else None,
        link_address=relay.link_address if relay is not None else None,
        peer_address=relay.peer_address if relay is not None else None,
        client_duid=m.client_duid, client_mac=m.client_mac, server_duid=m.server_duid,
        addresses=tuple(m.addresses) if m.addresses else None,
        prefixes=tuple(m.prefixes) if m.prefixes else None, oro=m.oro,
        options=tuple(m.options) if m.options else None, elapsed=m.elapsed, status=m.status,
        status_message=m.status_message, rapid_commit=m.rapid_commit or None, fqdn=m.fqdn,
        vendor_class=m.vendor_class, user_class=m.user_class, dns_servers=m.dns_servers,
        domains=m.domains, truncated=(m.truncated or (relay is not None and relay.truncated))
        or None)
