"""DHCP events: one per message. A DHCP exchange crosses flows (DISCOVER goes 0.0.0.0 ->
broadcast, the OFFER comes back from the server's own address, often to broadcast), so pairing
inside one flow would miss most replies; the transaction id (``xid``) ties messages together
downstream, as Zeek does when it builds dhcp.log."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["Dhcp6Event", "DhcpEvent"]


class DhcpEvent(Event, tag="dhcp", rename=ecs(), frozen=True):
    """One DHCPv4 (or BOOTP) message."""

    op: str
    """request (client to server) or reply."""
    message_type: str
    """DISCOVER, OFFER, REQUEST, ACK, NAK, RELEASE, INFORM, DECLINE... or BOOTP."""
    xid: int
    client_mac: str
    client_ip: str | None = None
    """ciaddr: the address the client already has."""
    assigned_ip: str | None = None
    """yiaddr: the address offered or acknowledged."""
    next_server: str | None = None
    """siaddr: the boot (TFTP) server for network boot."""
    relay_ip: str | None = None
    """giaddr: the relay agent that forwarded the message."""
    hops: int | None = None
    secs: int | None = None
    broadcast: bool | None = None
    requested_ip: str | None = None
    server_id: str | None = None
    lease_time: int | None = None
    renewal_time: int | None = None
    rebinding_time: int | None = None
    hostname: str | None = None
    domain: str | None = None
    fqdn: str | None = None
    vendor_class: str | None = None
    user_class: str | None = None
    client_id: str | None = None
    param_list: tuple[int, ...] | None = None
    """Parameter request list: with ``options`` the classic DHCP fingerprint of the client OS."""
    options: tuple[int, ...] | None = None
    truncated: bool | None = None
    """Some option codes (beyond 64) or addresses (beyond 16 per list) were left out."""
    subnet_mask: str | None = None
    routers: tuple[str, ...] | None = None
    dns_servers: tuple[str, ...] | None = None
    ntp_servers: tuple[str, ...] | None = None
    message: str | None = None
    """Server text (why a NAK) or client text (why a DECLINE)."""
    max_message_size: int | None = None
    circuit_id: str | None = None
    remote_id: str | None = None
    server_name: str | None = None
    boot_file: str | None = None
    """Network boot image (``file`` field or option 67): firmware and PXE images."""


class Dhcp6Event(Event, tag="dhcpv6", rename=ecs(), frozen=True):
    """One DHCPv6 message; for a relay message, the relay fields plus the relayed message."""

    message_type: str
    transaction_id: int | None = None
    relay_type: str | None = None
    """RELAY-FORW or RELAY-REPL when the message came through a relay agent."""
    hop_count: int | None = None
    link_address: str | None = None
    peer_address: str | None = None
    client_duid: str | None = None
    client_mac: str | None = None
    """From a DUID-LLT/DUID-LL with hardware type Ethernet."""
    server_duid: str | None = None
    addresses: tuple[str, ...] | None = None
    prefixes: tuple[str, ...] | None = None
    oro: tuple[int, ...] | None = None
    options: tuple[int, ...] | None = None
    elapsed: float | None = None
    status: str | None = None
    status_message: str | None = None
    rapid_commit: bool | None = None
    fqdn: str | None = None
    vendor_class: str | None = None
    user_class: str | None = None
    dns_servers: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None
    truncated: bool | None = None
    """Some option codes (beyond 64) or addresses/prefixes/names (beyond 16) were left out."""
