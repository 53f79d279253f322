"""The inventory's records: assets with the facts that identify them, the roles they play with
the evidence for each, their Purdue level and zone, and the conduits between them.

Every fact keeps where it came from (``modbus.device_identification``, ``oui``, ``dhcp``) and
when (first/last packet time, first frame), because an analyst must be able to check it and a
later capture may contradict it. A user override is a fact too, with source ``override``, and
wins over what was inferred.

These records are what the CLI prints, what is saved between runs, and what the map and the
console are drawn from.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = [
    "PURDUE_LEVELS",
    "ROLES",
    "AdvisoryMatch",
    "AssetEvent",
    "AssetRecord",
    "ConduitRecord",
    "FactRecord",
    "InventorySnapshot",
    "RoleRecord",
    "ZoneRecord",
]

ROLES: dict[str, str] = {
    "controller": "PLC, RTU or IED: answers an industrial control protocol",
    "field_device": "sensor, actuator, I/O or drive on a fieldbus (level 0)",
    "hmi": "HMI or SCADA server: polls several field devices",
    "engineering_workstation": "programs controllers, changes their mode or configuration",
    "historian": "collects process data from many sources and serves it",
    "ot_server": "OPC UA server or MQTT broker between OT and IT",
    "network_device": "router, gateway or switch",
    "it_server": "IT service: DNS, DHCP, directory, file, web, mail",
    "it_host": "office or IT client using IT protocols only",
    "external": "address outside the private ranges (internet)",
}
"""Role -> what it means; the roles an asset may have (several at once)."""

PURDUE_LEVELS: dict[int, str] = {
    0: "physical process: sensors, actuators, fieldbus devices",
    1: "basic control: PLCs, RTUs, IEDs",
    2: "supervisory control: HMIs, SCADA, engineering workstations",
    3: "site operations: historians, OT servers, DMZ services",
    4: "enterprise IT",
    5: "internet and external networks",
}


class FactRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One observed (or user-given) fact about an asset."""

    name: str
    """``vendor``, ``product``, ``model``, ``firmware``, ``serial``, ``hostname``, ``os``..."""
    value: str
    source: str
    """Where it was read: ``<protocol>.<message>``, ``oui``, ``override``."""
    first_seen: float
    last_seen: float
    frame: int = 0
    """First packet that showed it (1-based, in the capture where it was first seen)."""
    count: int = 1


class RoleRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A role with the behaviour that shows it."""

    role: str
    evidence: list[str]
    source: str
    """``inferred`` or ``override``."""
    since: float = 0.0


class AdvisoryMatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A published vulnerability that concerns an asset, and why we think so."""

    advisory: str
    cve: str
    title: str
    product: str
    confidence: str
    """``affected`` (vendor, product and version match) or ``version unknown``."""
    reason: str
    score: float | None = None
    severity: str = ""
    remediation: str = ""


class AssetRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One device (or, for routed traffic, one address)."""

    id: str
    """``ip:<address>`` or, for devices seen only at layer 2, ``mac:<address>``."""
    ips: list[str]
    macs: list[str]
    vlans: list[int] = msgspec.field(default_factory=list)
    name: str = ""
    """Best display name: hostname, station or PLC name, else the address."""
    vendor: str = ""
    product: str = ""
    version: str = ""
    cpe: str = ""
    """CPE 2.3-style identity ``cpe:2.3:h:<vendor>:<product>:<version>`` when vendor and
    product are known."""
    roles: list[RoleRecord] = msgspec.field(default_factory=list)
    purdue_level: int | None = None
    level_reason: str = ""
    zone: str = ""
    facts: list[FactRecord] = msgspec.field(default_factory=list)
    advisories: list[AdvisoryMatch] = msgspec.field(default_factory=list)
    protocols_served: dict[str, int] = msgspec.field(default_factory=dict)
    """Protocol -> flows in which this asset was the server."""
    protocols_used: dict[str, int] = msgspec.field(default_factory=dict)
    """Protocol -> flows in which this asset was the client."""
    first_seen: float = 0.0
    last_seen: float = 0.0
    packets: int = 0
    bytes: int = 0


class ConduitRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Traffic between two assets on one protocol: an edge of the network map."""

    client: str
    server: str
    protocol: str
    transport: str
    port: int
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    function_classes: dict[str, int] = msgspec.field(default_factory=dict)
    """``read``, ``write``, ``program``, ``control``, ``config``... -> transactions."""
    first_seen: float = 0.0
    last_seen: float = 0.0


class ZoneRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A zone (IEC 62443): from the site file, or proposed from the traffic."""

    name: str
    purdue_level: int | None = None
    security_level_target: int | None = None
    subnets: list[str] = msgspec.field(default_factory=list)
    vlans: list[int] = msgspec.field(default_factory=list)
    source: str
    """``site`` (from the site file) or ``proposed`` (from the communication structure)."""
    assets: list[str] = msgspec.field(default_factory=list)


class InventorySnapshot(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Everything the inventory knows; saved between runs so captures accumulate."""

    version: int = 1
    assets: list[AssetRecord] = msgspec.field(default_factory=list)
    conduits: list[ConduitRecord] = msgspec.field(default_factory=list)
    zones: list[ZoneRecord] = msgspec.field(default_factory=list)
    overrides: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    """Asset id -> fact name (or ``role``, ``purdue_level``, ``zone``) -> value set by a user."""
    captures: list[str] = msgspec.field(default_factory=list)
    """Inputs analysed so far, in order."""


class AssetEvent(Event, frozen=True, tag="asset",
                 rename=ecs(change="event.action", asset="asset.id")):
    """A change in the inventory the detection engine can alert on: ``new_asset``,
    ``identity_changed`` (vendor, product, firmware...), ``mac_changed`` (an IP answered from
    another MAC), ``new_role``."""

    change: str
    asset: str
    detail: str
    field: str = ""
    old: str = ""
    new: str = ""
