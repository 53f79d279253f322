"""The ``profinet_dcp`` event: one DCP transaction (Get/Set request + response) or one
Identify request, Identify response or Hello (a device announcing itself)."""

from __future__ import annotations

from otshield.events import LinkEvent, ecs

__all__ = ["ProfinetDcpEvent"]


class ProfinetDcpEvent(LinkEvent, frozen=True, tag="profinet_dcp",
                       rename=ecs(function_class="event.action")):
    """``src_mac`` sent the request (or the Identify response/Hello); ``dst_mac`` the other side.

    For a Set, ``station_name``/``ip``... are the values written: the configuration change an
    OT monitor must surface. ``result`` is ``ok``, ``error`` (see ``block_errors``),
    ``not_supported`` or ``unanswered``; None for unpaired messages (Identify, Hello)."""

    service: str
    """``get``, ``set``, ``identify``, ``hello``."""
    service_type: str
    """``request``, ``response`` or ``response_not_supported`` (the message that completed it)."""
    xid: int
    function_class: str
    blocks: tuple[str, ...] = ()
    """Option/suboption of every block (``ip/ip_parameter``, ``device/name_of_station``)."""
    response_delay: int | None = None
    qualifier: str | None = None
    """Set: ``permanent`` or ``temporary`` (BlockQualifier bit 0)."""
    station_name: str | None = None
    alias_name: str | None = None
    vendor_name: str | None = None
    vendor_id: int | None = None
    device_id: int | None = None
    oem_vendor_id: int | None = None
    oem_device_id: int | None = None
    device_instance: str | None = None
    device_roles: tuple[str, ...] | None = None
    device_options: tuple[str, ...] | None = None
    ip: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    dns_servers: tuple[str, ...] | None = None
    ip_state: str | None = None
    mac: str | None = None
    """IP/MAC address block (a Get/Identify answer)."""
    dhcp: str | None = None
    """Hex of the DHCP option block value."""
    signal_value: int | None = None
    reset_mode: int | None = None
    initiative: int | None = None
    result: str | None = None
    block_errors: tuple[str, ...] = ()
    """``<block>:<error>`` for every Control/Response block of the response."""
    response_frame: int | None = None
