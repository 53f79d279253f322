"""HART-IP event records.

- ``hartip``: one HART-IP transaction (request plus response, paired by sequence number and
  message id), or one publish (burst) message; token-passing PDUs add the HART command, the
  device address, response code, device status and the values of the identification and
  process-variable commands.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["HartIpEvent", "HartVariable"]


class HartVariable(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One process value: a dynamic variable (command 3) or a device variable slot (9)."""

    code: int
    """Position (PV=0, SV=1...) for command 3, device variable code for command 9."""
    units: int
    units_name: str | None = None
    value: float


class HartIpEvent(Event, tag="hartip", rename=ecs(), frozen=True):
    """One HART-IP request and its response, or one publish."""

    version: int
    message_type: str
    """request (with the response paired), publish, error or nak when unpaired."""
    message_id: int
    message_name: str
    function_class: str
    sequence: int
    answered: bool | None = None
    """None for publish messages."""
    request_missing: bool = False
    request_frame: int | None = None
    """Packet that carried the request (``frame`` is the one that completed the record)."""
    status: int | None = None
    """HART-IP header status of the response (0 = success)."""
    response_time: float | None = None
    master_type: int | None = None
    """Session initiate: 1 primary, 0 secondary host."""
    inactivity_close_timer: int | None = None
    command: int | None = None
    command_name: str | None = None
    frame_type: str | None = None
    """Of the response (ack, or back for publishes); of the request when unanswered."""
    address: str | None = None
    """Unique address (10 hex digits) or polling address of the field device."""
    device_type: int | None = None
    device_id: int | None = None
    response_code: int | None = None
    response_name: str | None = None
    communication_error: bool = False
    device_status: int | None = None
    device_status_flags: list[str] | None = None
    bad_checksum: bool = False
    manufacturer_id: int | None = None
    expanded_device_type: int | None = None
    universal_revision: int | None = None
    device_revision: int | None = None
    software_revision: int | None = None
    hardware_revision: int | None = None
    config_change_counter: int | None = None
    tag: str | None = None
    polling_address: int | None = None
    pv: float | None = None
    pv_units: int | None = None
    pv_units_name: str | None = None
    loop_current: float | None = None
    """mA."""
    percent_of_range: float | None = None
    variables: list[HartVariable] | None = None
