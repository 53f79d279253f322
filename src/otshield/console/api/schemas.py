"""The API's response bodies as pydantic models (FastAPI needs them for the OpenAPI schema
and to check every answer against it). They mirror the store's views
(:mod:`otshield.store.alerts`, :mod:`otshield.store.assets`) and the inventory and alert
records; :func:`from_struct` converts a msgspec struct into one.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from pydantic import BaseModel, Field

__all__ = [
    "AdvisoryOut",
    "AlertDetailOut",
    "AlertNoteOut",
    "AlertRecordOut",
    "AlertSummaryOut",
    "AssetDetailOut",
    "AssetRefOut",
    "AssetSummaryOut",
    "ConduitOut",
    "FactOut",
    "RoleOut",
    "SuppressionOut",
    "from_struct",
]

M = TypeVar("M", bound=BaseModel)


def from_struct(model: type[M], value: object) -> M:
    """A msgspec struct (or anything msgspec can turn into builtins) as ``model``."""
    return model.model_validate(msgspec.to_builtins(value))


# -- inventory --------------------------------------------------------------------------------


class FactOut(BaseModel):
    name: str
    value: str
    source: str
    """Where it was read (``modbus.device_identification``, ``oui``, ``override``)."""
    first_seen: float
    last_seen: float
    frame: int = 0
    count: int = 1


class RoleOut(BaseModel):
    role: str
    evidence: list[str]
    source: str
    """``inferred`` or ``override``."""
    since: float = 0.0


class AdvisoryOut(BaseModel):
    advisory: str
    cve: str
    title: str
    product: str
    confidence: str
    reason: str
    score: float | None = None
    severity: str = ""
    remediation: str = ""


class ConduitOut(BaseModel):
    client: str
    server: str
    protocol: str
    transport: str
    port: int
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    function_classes: dict[str, int] = Field(default_factory=dict)
    first_seen: float = 0.0
    last_seen: float = 0.0


class AssetRecordOut(BaseModel):
    id: str
    ips: list[str]
    macs: list[str]
    vlans: list[int] = Field(default_factory=list)
    name: str = ""
    vendor: str = ""
    product: str = ""
    version: str = ""
    cpe: str = ""
    roles: list[RoleOut] = Field(default_factory=list)
    purdue_level: int | None = None
    level_reason: str = ""
    zone: str = ""
    facts: list[FactOut] = Field(default_factory=list)
    advisories: list[AdvisoryOut] = Field(default_factory=list)
    protocols_served: dict[str, int] = Field(default_factory=dict)
    protocols_used: dict[str, int] = Field(default_factory=dict)
    first_seen: float = 0.0
    last_seen: float = 0.0
    packets: int = 0
    bytes: int = 0


class AssetSummaryOut(BaseModel):
    id: str
    name: str
    ips: list[str]
    macs: list[str]
    vendor: str
    product: str
    version: str
    roles: list[str]
    purdue_level: int | None
    zone: str
    safety: bool
    first_seen: float
    last_seen: float
    open_alerts: int = 0
    risk: int = 0
    """Open alerts weighted by severity (see ``/overview``)."""


# -- alerts -----------------------------------------------------------------------------------


class AlertSummaryOut(BaseModel):
    id: int
    rule_id: str
    title: str
    description: str
    severity: str
    confidence: str
    category: str
    protocol: str
    src_ip: str
    dst_ip: str
    src_asset: str
    dst_asset: str
    src_zone: str
    dst_zone: str
    techniques: list[str]
    first_seen: float
    last_seen: float
    count: int
    status: str
    assignee: str
    acknowledged_by: str
    acknowledged_at: float | None
    closed_by: str
    closed_at: float | None
    close_reason: str
    suppression_id: int | None


class AssetRefOut(BaseModel):
    ip: str = ""
    mac: str = ""
    asset: str = ""
    name: str = ""
    zone: str = ""
    level: int | None = None
    roles: list[str] = Field(default_factory=list)
    safety: bool = False


class TechniqueOut(BaseModel):
    id: str
    name: str = ""
    tactics: list[str] = Field(default_factory=list)
    url: str = ""


class AlertRecordOut(BaseModel):
    """The detector's alert as stored (the merged record): what happened, why, the evidence."""

    rule_id: str
    title: str
    severity: str
    confidence: str = "medium"
    category: str = ""
    description: str = ""
    response: str = ""
    techniques: list[TechniqueOut] = Field(default_factory=list)
    tactics: list[str] = Field(default_factory=list)
    ts: float = 0.0
    frame: int = 0
    community_id: str = ""
    src_ip: str = ""
    src_port: int = 0
    dst_ip: str = ""
    dst_port: int = 0
    transport: str = ""
    src_mac: str = ""
    dst_mac: str = ""
    vlan: int | None = None
    source: AssetRefOut | None = None
    destination: AssetRefOut | None = None
    protocol: str = ""
    key: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    count: int = 1
    frames: list[int] = Field(default_factory=list)
    """Frames of the first occurrences in their capture."""
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    """The triggering events (ECS field names)."""
    details: dict[str, str] = Field(default_factory=dict)


class AlertNoteOut(BaseModel):
    id: int
    author: str
    created_at: float
    text: str


class AlertDetailOut(BaseModel):
    summary: AlertSummaryOut
    alert: AlertRecordOut
    notes: list[AlertNoteOut]


class SuppressionOut(BaseModel):
    id: int
    rule_id: str
    src_ip: str
    dst_ip: str
    until: float | None
    reason: str
    created_by: str
    created_at: float
    lifted_at: float | None
    lifted_by: str
    active: bool


class AssetDetailOut(BaseModel):
    summary: AssetSummaryOut
    record: AssetRecordOut
    conduits: list[ConduitOut]
    alerts: list[AlertSummaryOut]
    alerts_total: int
