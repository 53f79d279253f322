"""The RDP event: one per connection attempt, summarising the connection sequence up to where
it goes encrypted (after the X.224 exchange for TLS/CredSSP, after the MCS exchange for standard
RDP security), as Zeek's rdp.log does."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["RdpEvent"]


class RdpEvent(Event, tag="rdp", rename=ecs(), frozen=True):
    """One RDP connection setup (src is the client)."""

    cookie: str | None = None
    """``mstshash`` cookie: the user name the client typed (mstsc truncates it)."""
    routing_token: str | None = None
    """Load-balancer routing token (``Cookie: msts=...``) sent instead of a cookie."""
    requested_protocols: tuple[str, ...] | None = None
    """Security protocols offered: TLS, CredSSP (NLA), RDSTLS...; () means standard RDP only."""
    request_flags: tuple[str, ...] | None = None
    """RDP_NEG_REQ flags: restricted_admin_mode_required is the pass-the-hash friendly mode."""
    correlation_id: str | None = None
    result: str | None = None
    """success, failure (RDP_NEG_FAILURE), no_response, or "legacy" (no negotiation at all)."""
    selected_protocol: str | None = None
    """RDP (standard RDP security, weak), TLS, CredSSP..."""
    response_flags: tuple[str, ...] | None = None
    failure: str | None = None
    client_name: str | None = None
    client_build: int | None = None
    client_version: str | None = None
    keyboard_layout: int | None = None
    desktop_width: int | None = None
    desktop_height: int | None = None
    channels: tuple[str, ...] | None = None
    """Static virtual channels requested (rdpdr, cliprdr, rdpsnd...); MS_T120 is BlueKeep."""
    client_encryption_methods: tuple[str, ...] | None = None
    encryption_method: str | None = None
    encryption_level: str | None = None
