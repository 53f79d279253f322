"""NetBIOS events, one per message: name service packets (``nbns``) and datagram service
packets (``nbdgm``). Name queries are mostly broadcasts answered from another address (another
flow), so they are not paired; the transaction id ties them together downstream."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["NbdgmEvent", "NbnsEvent"]


class NbnsEvent(Event, tag="nbns", rename=ecs(), frozen=True):
    """One NetBIOS name service packet (query, registration, release, refresh, WACK)."""

    transaction_id: int
    opcode: str
    response: bool
    name: str | None = None
    """``NAME<xx>`` (scope, if any, as ``NAME.scope<xx>``)."""
    name_type: str | None = None
    """Meaning of the suffix byte: workstation, file_server, domain_controllers..."""
    query_type: str | None = None
    """NB (name to address) or NBSTAT (node status: the node's names and MAC)."""
    rcode: str | None = None
    broadcast: bool | None = None
    addresses: tuple[str, ...] | None = None
    """Addresses answered, or being registered/released."""
    ttl: int | None = None
    group: bool | None = None
    node_type: str | None = None
    """B, P, M or H node."""
    node_names: tuple[str, ...] | None = None
    """NBSTAT answer: every name the node holds (at most 32)."""
    mac: str | None = None
    """NBSTAT answer: the node's unit id (MAC address)."""
    truncated: bool | None = None
    """Records (beyond 32), addresses (beyond 16) or node names (beyond 32) were left out."""


class NbdgmEvent(Event, tag="nbdgm", rename=ecs(), frozen=True):
    """One NetBIOS datagram, with the mailslot and browser announcement it carries."""

    msg_type: str
    datagram_id: int
    source_ip: str
    """Address in the datagram header (the original sender when an NBDD relayed it)."""
    source_port: int
    source_name: str | None = None
    destination_name: str | None = None
    mailslot: str | None = None
    browser_command: str | None = None
    host_name: str | None = None
    """Announcing (or election-requesting) host."""
    domain: str | None = None
    """Workgroup or domain of a DomainAnnouncement."""
    os_version: str | None = None
    """Major.minor from a host announcement (Windows: 5.1 XP, 6.1 7/2008 R2, 10.0...)."""
    server_type: tuple[str, ...] | None = None
    browser_version: str | None = None
    comment: str | None = None
    election_criteria: int | None = None
    error: str | None = None
