"""Typed event records: one definition gives the JSON output, the JSON schema and the field list.

Every record is a frozen ``msgspec.Struct``. The class keyword ``tag`` names the event type
(``modbus``, ``dns``, ``anomaly``); it is written as ``event.dataset`` and chooses the JSON-lines
file the record goes to. Field names that have an Elastic Common Schema (ECS) counterpart are
renamed to it on output (``src_ip`` -> ``source.ip``) through :func:`ecs`, so a SIEM can take the
files as they are; Python code keeps short attribute names.

A protocol module declares its events like this::

    class ModbusEvent(Event, tag="modbus", rename=ecs()):
        unit_id: int
        function_code: int

and builds them with the common fields of its flow: ``ModbusEvent(**flow.fields(True), ...)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

import msgspec

__all__ = [
    "ECS_COMMON",
    "AnomalyEvent",
    "ArpEvent",
    "CommonFields",
    "Event",
    "FlowEvent",
    "LinkEvent",
    "LinkFields",
    "ecs",
    "event_schema",
    "event_types",
]

ECS_COMMON: dict[str, str] = {
    "ts": "@timestamp",
    "src_ip": "source.ip",
    "src_port": "source.port",
    "dst_ip": "destination.ip",
    "dst_port": "destination.port",
    "transport": "network.transport",
    "community_id": "network.community_id",
    "src_mac": "source.mac",
    "dst_mac": "destination.mac",
    "vlan": "network.vlan.id",
}
"""Attribute name -> ECS field name for the fields every event shares."""


def ecs(**extra: str) -> dict[str, str]:
    """The rename map for an event class: the common ECS names plus ``extra`` ones."""
    return {**ECS_COMMON, **extra}


class CommonFields(TypedDict):
    """What every event carries about where and when it was seen (see ``Flow.fields``)."""

    ts: float
    frame: int
    flow_id: int
    community_id: str
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str


class LinkFields(TypedDict):
    """What every link-layer event carries (see ``LinkContext.fields``)."""

    ts: float
    frame: int
    src_mac: str
    dst_mac: str
    vlan: int | None


class Event(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="event.dataset",
    rename=ecs(),
    gc=False,
):
    """Base of every record. ``ts`` is packet time (epoch seconds), ``frame`` the 1-based number
    of the packet that completed the record; src is the side that sent the request (or the packet),
    dst the other side."""

    ts: float
    frame: int
    flow_id: int = 0
    community_id: str = ""
    src_ip: str = ""
    src_port: int = 0
    dst_ip: str = ""
    dst_port: int = 0
    transport: str = ""

    dataset: ClassVar[str] = ""


class AnomalyEvent(Event, frozen=True, tag="anomaly",
                   rename=ecs(code="event.code", detail="message")):
    """Something on the wire broke a specification or a limit: a named, never silent, finding.

    ``code`` is ``<layer or protocol>.<snake_case>`` (``tcp.gap``, ``dnp3.bad_crc``)."""

    code: str
    detail: str = ""
    protocol: str = ""
    src_mac: str = ""
    """Set for link-layer protocols (GOOSE, PROFINET DCP), whose frames have no IP addresses."""
    dst_mac: str = ""
    vlan: int | None = None


class LinkEvent(Event, frozen=True, kw_only=True):
    """Base of events of protocols carried directly in Ethernet frames: they have MAC addresses
    and a VLAN instead of IP addresses and ports. Build with ``Sub(**link.fields(), ...)``."""

    src_mac: str = ""
    dst_mac: str = ""
    vlan: int | None = None


class FlowEvent(Event, frozen=True, tag="flow", rename=ecs(state="flow.state")):
    """A finished (or evicted, or still open at the end of input) bidirectional flow."""

    start: float
    protocol: str = ""
    """Application protocol decoded on the flow, or ``guess:<name>`` from the port alone."""
    state: str = ""
    opened_by_src: bool = True
    """False when the start of the flow was not seen and the client was guessed."""
    src_mac: str = ""
    dst_mac: str = ""
    vlan: int | None = None
    packets_to_server: int = 0
    packets_to_client: int = 0
    bytes_to_server: int = 0
    bytes_to_client: int = 0
    gaps: int = 0
    end_reason: str = ""


class ArpEvent(Event, frozen=True, tag="arp", rename=ecs(operation="arp.operation")):
    """An ARP request or reply: the IP-to-MAC facts the inventory needs."""

    operation: str
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str
    vlan: int | None = None


def event_types() -> list[type[Event]]:
    """Every concrete event class known now (the built-ins and those of loaded protocols)."""
    seen: list[type[Event]] = []
    stack: list[type[Event]] = [Event]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__struct_config__.tag is not None and sub not in seen:
                seen.append(sub)
    return sorted(seen, key=lambda c: str(c.__struct_config__.tag))


def event_schema() -> dict[str, Any]:
    """A JSON schema covering every event type (a tagged union on ``event.dataset``)."""
    types = event_types()
    schemas, components = msgspec.json.schema_components(types)
    return {"anyOf": list(schemas), "$defs": components}
