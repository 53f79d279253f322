"""What a decoded OPC UA service body holds (:class:`Body`) and the small helpers the
service decoders share. A body is filled by ``services.decode_body`` and the per-service-set
decoders (``discovery``, ``nodes``, ``subscriptions``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from otshield.errors import Malformed
from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.constants import ATTRIBUTES
from otshield.protocols.opcua.events import (
    OpcuaApplication,
    OpcuaBrowse,
    OpcuaCall,
    OpcuaChannel,
    OpcuaEndpoint,
    OpcuaIdentity,
    OpcuaMonitoredItem,
    OpcuaPublish,
    OpcuaSessionInfo,
    OpcuaSubscription,
    OpcuaWriteItem,
)
from otshield.protocols.opcua.values import OpcuaDataValue, OpcuaVariant

__all__ = ["MAX_ITEMS", "Body", "Decoder", "ReadSpec", "add_node", "attribute_name",
           "read_value_id", "results_tail", "thumbprint"]

MAX_ITEMS = 64
"""Operations (nodes read, written, called...) kept per transaction; counts stay exact."""

ReadSpec = tuple[str, int, str | None]
"""(node id, attribute id, index range) of one ReadValueId."""


@dataclass(slots=True)
class Body:
    """What one service body said. Fields unused by a service stay None."""

    service: str
    type_id: str
    is_request: bool
    error: Malformed | None = None
    truncated: bool = False
    # RequestHeader / ResponseHeader
    request_handle: int | None = None
    session_token_hash: str | None = None
    timestamp: str | None = None
    timeout_hint: int | None = None
    return_diagnostics: int | None = None
    audit_entry_id: str | None = None
    service_result: int | None = None
    diagnostics: str | None = None
    # service fields
    nodes: list[str] | None = None
    statuses: tuple[int, ...] | None = None
    read_specs: list[ReadSpec] | None = None
    data_values: list[OpcuaDataValue] | None = None
    build_sources: list[tuple[int, bytes | None]] | None = None
    """(index of the read result, ExtensionObject body) for ServerStatus / BuildInfo reads."""
    max_age: float | None = None
    timestamps_to_return: str | None = None
    writes: list[OpcuaWriteItem] | None = None
    calls: list[OpcuaCall] | None = None
    call_results: list[tuple[int, tuple[OpcuaVariant, ...]]] | None = None
    browse: OpcuaBrowse | None = None
    channel: OpcuaChannel | None = None
    security_mode: str | None = None
    session: OpcuaSessionInfo | None = None
    identity: OpcuaIdentity | None = None
    user_name: str | None = None
    subscription: OpcuaSubscription | None = None
    publish: OpcuaPublish | None = None
    monitored: list[OpcuaMonitoredItem] | None = None
    monitored_results: list[tuple[int, int]] | None = None
    endpoints: list[OpcuaEndpoint] | None = None
    servers: list[OpcuaApplication] | None = None


def thumbprint(raw: bytes | None) -> str | None:
    return hashlib.sha1(raw).hexdigest() if raw else None


def add_node(b: Body, node: str) -> None:
    nodes = b.nodes
    if nodes is None:
        b.nodes = [node]
    elif len(nodes) < MAX_ITEMS:
        nodes.append(node)
    else:
        b.truncated = True


def results_tail(r: Reader, b: Body) -> None:
    """``Results: StatusCode[]`` then ``DiagnosticInfos``: the common response tail."""
    b.statuses = r.status_codes()
    r.diagnostic_infos()



def attribute_name(attribute_id: int) -> str:
    """AttributeId name (``Value``), or the number when not standard."""
    return ATTRIBUTES.get(attribute_id, str(attribute_id))


def read_value_id(r: Reader) -> ReadSpec:
    """ReadValueId (Part 4, 7.29): NodeId, AttributeId, IndexRange, DataEncoding."""
    node = r.node_id()
    attribute = r.u32()
    index_range = r.string()
    r.qualified_name()  # DataEncoding
    return node, attribute, index_range

Decoder = Callable[[Reader, Body], None]
"""Decodes the fields of one service message after its header into a Body."""
