"""Beckhoff ADS/AMS event records.

- ``ads``: one ADS transaction (AMS request plus its response, paired by invoke id), emitted on
  the response, or unanswered at timeout / flow end. Device notifications (cyclic, never
  answered) are counted per pair of AMS addresses: one record each when the flow ends.
- ``ads_discovery``: one AMS/UDP (port 48899) discovery or route request with its response:
  device name, TwinCAT version, OS version, AMS Net ID (fingerprint); add-route requests name
  the route, user and whether a password was sent (never the password).
"""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["AdsDiscoveryEvent", "AdsEvent"]


class AdsEvent(Event, tag="ads", rename=ecs(), frozen=True):
    """One ADS request and its response (TE1000 2.2-2.3)."""

    command: int
    command_name: str
    function_class: str
    invoke_id: int
    target_net_id: str
    """AMS Net ID and port the request was sent to."""
    target_port: int
    target_port_name: str | None = None
    source_net_id: str = ""
    source_port: int = 0
    state_flags: int = 0
    """Of the request (of the response when the request is missing)."""
    answered: bool | None = None
    """None for device notifications and "no return" requests, which are never answered."""
    request_missing: bool = False
    request_frame: int | None = None
    """Packet that carried the request (``frame`` is the one that completed the record)."""
    ams_error: int | None = None
    """AMS header error code of the response (0 = none)."""
    result: int | None = None
    """ADS result code in the response data."""
    error_name: str | None = None
    """Meaning of the first non-zero of ``ams_error`` and ``result``."""
    response_time: float | None = None
    index_group: int | None = None
    index_group_name: str | None = None
    index_offset: int | None = None
    length: int | None = None
    """Read: bytes asked; write: bytes written; notification: bytes per sample."""
    read_length: int | None = None
    write_length: int | None = None
    response_length: int | None = None
    """Bytes the response returned (read and read/write)."""
    symbol: str | None = None
    """Symbol name: sent to a by-name index group (0xF003 handle by name...), or the name
    whose handle a by-handle access (0xF005 value, 0xF006 release) uses, when the 0xF003
    exchange that gave out the handle was seen on the flow."""
    sub_requests: int | None = None
    """Sum commands (0xF080-0xF086): how many sub-commands the request bundles."""
    handle: int | None = None
    """Symbol handle (0xF003 answer) or notification handle."""
    ads_state: int | None = None
    """Write control: state asked for; read state: state reported."""
    ads_state_name: str | None = None
    device_state: int | None = None
    transmission_mode: int | None = None
    cycle_time: int | None = None
    """Add device notification: cycle time in 100 ns units."""
    notification_stamps: int | None = None
    notification_samples: int | None = None
    """Samples in a notification (or in all the notifications a summary counts)."""
    notifications: int | None = None
    """Device notification summary: how many notifications it counts."""
    start: float | None = None
    """Device notification summary: packet time of the first one."""
    version: str | None = None
    """Read device info: ``major.minor.build``."""
    device_name: str | None = None


class AdsDiscoveryEvent(Event, tag="ads_discovery", rename=ecs(), frozen=True):
    """An AMS/UDP discovery, add-route or delete-route exchange."""

    service: int
    service_name: str
    function_class: str
    invoke_id: int
    answered: bool = False
    request_missing: bool = False
    request_frame: int | None = None
    net_id: str | None = None
    """AMS Net ID of the requester (of the responder when the request is missing)."""
    responder_net_id: str | None = None
    """AMS Net ID the responding device announces (fingerprint)."""
    host_name: str | None = None
    """Response: the device's host name; add route: the address the route points to."""
    route_name: str | None = None
    route_net_id: str | None = None
    user_name: str | None = None
    password_present: bool | None = None
    twincat_version: str | None = None
    os_version: str | None = None
    status: int | None = None
    """Add-route response status (0 = route added)."""
    error_name: str | None = None
    tags: list[str] | None = None
    """Tag names present in request and response, in order."""
    response_time: float | None = None
