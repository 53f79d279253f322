"""Decoders of the node management (OPC 10000-4, 5.7), view (5.8), attribute (5.10) and
method (5.11) service sets: the node ids a request names, values read and written, methods
called and their arguments, browse results."""

from __future__ import annotations

import contextlib

from otshield.errors import Malformed
from otshield.protocols.opcua.binary import MAX_ARRAY_VALUES, Reader
from otshield.protocols.opcua.body import (
    MAX_ITEMS,
    Body,
    Decoder,
    ReadSpec,
    add_node,
    attribute_name,
    read_value_id,
    results_tail,
)
from otshield.protocols.opcua.constants import TIMESTAMPS_TO_RETURN
from otshield.protocols.opcua.events import (
    OpcuaBrowse,
    OpcuaCall,
    OpcuaWriteItem,
)
from otshield.protocols.opcua.values import OpcuaDataValue, OpcuaVariant

__all__ = ["REQUESTS", "RESPONSES"]

_BUILD_INFO = 340  # BuildInfo_Encoding_DefaultBinary
_SERVER_STATUS = 864  # ServerStatusDataType_Encoding_DefaultBinary


# -- node management (5.7) -------------------------------------------------------------------------

def _add_nodes_req(r: Reader, b: Body) -> None:
    n = r.count("NodesToAdd", 10)
    for _ in range(n):
        parent = r.expanded_node_id()
        r.node_id()  # ReferenceTypeId
        requested = r.expanded_node_id()
        name = r.qualified_name()
        r.u32()  # NodeClass
        r.extension_object()  # NodeAttributes
        r.expanded_node_id()  # TypeDefinition
        add_node(b, f"{parent}/{name}" if requested in ("i=0", "") else requested)


def _add_nodes_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 5)
    statuses = []
    for _ in range(n):
        statuses.append(r.status_code())
        r.node_id()  # AddedNodeId
    b.statuses = tuple(statuses)
    r.diagnostic_infos()


def _delete_nodes_req(r: Reader, b: Body) -> None:
    n = r.count("NodesToDelete", 3)
    for _ in range(n):
        add_node(b, r.node_id())
        r.boolean()  # DeleteTargetReferences


def _references_req(r: Reader, b: Body, add: bool) -> None:
    n = r.count("References", 6)
    for _ in range(n):
        add_node(b, r.node_id())  # SourceNodeId
        r.node_id()  # ReferenceTypeId
        r.boolean()  # IsForward
        if add:
            r.string()  # TargetServerUri
        r.expanded_node_id()  # TargetNodeId
        if add:
            r.u32()  # TargetNodeClass
        else:
            r.boolean()  # DeleteBidirectional


# -- view (5.8) ------------------------------------------------------------------------------------

def _browse_req(r: Reader, b: Body) -> None:
    r.node_id()  # View.ViewId
    r.datetime()  # View.Timestamp
    r.u32()  # View.ViewVersion
    max_refs = r.u32()
    n = r.count("NodesToBrowse", 8)
    for _ in range(n):
        add_node(b, r.node_id())
        r.u32()  # BrowseDirection
        r.node_id()  # ReferenceTypeId
        r.boolean()  # IncludeSubtypes
        r.u32()  # NodeClassMask
        r.u32()  # ResultMask
    b.browse = OpcuaBrowse(nodes=n, max_references_per_node=max_refs)


def _browse_next_req(r: Reader, b: Body) -> None:
    release = r.boolean()
    n = r.count("ContinuationPoints", 4)
    for _ in range(n):
        r.raw_bytes()
    b.browse = OpcuaBrowse(nodes=n, release_continuation_points=release)


def _browse_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 12)
    statuses = []
    refs = 0
    more = 0
    names: list[str] = []
    for _ in range(n):
        statuses.append(r.status_code())
        if r.raw_bytes():
            more += 1
        k = r.count("References", 8)
        refs += k
        for _j in range(k):
            r.node_id()  # ReferenceTypeId
            r.boolean()  # IsForward
            r.expanded_node_id()  # NodeId
            name = r.qualified_name()
            r.localized_text()  # DisplayName
            r.u32()  # NodeClass
            r.expanded_node_id()  # TypeDefinition
            if len(names) < MAX_ARRAY_VALUES:
                names.append(name)
    r.diagnostic_infos()
    b.statuses = tuple(statuses)
    b.browse = OpcuaBrowse(references=refs, continuation_points=more,
                           reference_names=tuple(names) or None)


def _translate_req(r: Reader, b: Body) -> None:
    n = r.count("BrowsePaths", 6)
    for _ in range(n):
        start = r.node_id()
        k = r.count("RelativePath", 8)
        path = []
        for _j in range(k):
            r.node_id()  # ReferenceTypeId
            r.boolean()  # IsInverse
            r.boolean()  # IncludeSubtypes
            path.append(r.qualified_name())
        add_node(b, "/".join([start, *path]))


def _translate_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 8)
    statuses = []
    for _ in range(n):
        statuses.append(r.status_code())
        k = r.count("Targets", 5)
        for _j in range(k):
            r.expanded_node_id()
            r.u32()  # RemainingPathIndex
    b.statuses = tuple(statuses)
    r.diagnostic_infos()


def _node_list_req(r: Reader, b: Body) -> None:
    n = r.count("NodesToRegister", 2)
    for _ in range(n):
        add_node(b, r.node_id())


def _register_nodes_resp(r: Reader, b: Body) -> None:
    n = r.count("RegisteredNodeIds", 2)
    for _ in range(n):
        r.node_id()


# -- attribute (5.10) ------------------------------------------------------------------------------

def _read_req(r: Reader, b: Body) -> None:
    b.max_age = r.f64()
    ttr = r.u32()
    b.timestamps_to_return = TIMESTAMPS_TO_RETURN.get(ttr, str(ttr))
    n = r.count("NodesToRead", 11)
    specs: list[ReadSpec] = []
    for i in range(n):
        spec = read_value_id(r)
        if i < MAX_ITEMS:
            specs.append(spec)
            add_node(b, spec[0])
        else:
            b.truncated = True
    b.read_specs = specs


def _read_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 1)
    values: list[OpcuaDataValue] = []
    sources: list[tuple[int, bytes | None]] = []
    ext: list[tuple[int | None, bytes | None]] = []
    for i in range(n):
        dv = r.data_value(0, ext)
        if ext:
            for numeric, body in ext:
                if numeric in (_BUILD_INFO, _SERVER_STATUS) and i < MAX_ITEMS:
                    sources.append((i, body))
            ext.clear()
        if i < MAX_ITEMS:
            values.append(dv)
        else:
            b.truncated = True
    r.diagnostic_infos()
    b.data_values = values
    b.build_sources = sources or None


def _write_req(r: Reader, b: Body) -> None:
    n = r.count("NodesToWrite", 11)
    items: list[OpcuaWriteItem] = []
    for i in range(n):
        node = r.node_id()
        attribute = r.u32()
        index_range = r.string()
        value = r.data_value()
        if i < MAX_ITEMS:
            items.append(OpcuaWriteItem(node_id=node, attribute=attribute_name(attribute),
                                        value=value, index_range=index_range))
            add_node(b, node)
        else:
            b.truncated = True
    b.writes = items


def _history_read_req(r: Reader, b: Body) -> None:
    r.extension_object()  # HistoryReadDetails
    ttr = r.u32()
    b.timestamps_to_return = TIMESTAMPS_TO_RETURN.get(ttr, str(ttr))
    r.boolean()  # ReleaseContinuationPoints
    n = r.count("NodesToRead", 11)
    for _ in range(n):
        add_node(b, r.node_id())
        r.string()  # IndexRange
        r.qualified_name()  # DataEncoding
        r.raw_bytes()  # ContinuationPoint


def _history_read_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 11)
    statuses = []
    for _ in range(n):
        statuses.append(r.status_code())
        r.raw_bytes()  # ContinuationPoint
        r.extension_object()  # HistoryData
    b.statuses = tuple(statuses)
    r.diagnostic_infos()


def _history_update_req(r: Reader, b: Body) -> None:
    n = r.count("HistoryUpdateDetails", 3)
    for _ in range(n):
        _numeric, _text, details = r.extension_object()
        if details is not None and len(details) >= 2:
            # every HistoryUpdateDetails subtype starts with the NodeId it updates
            with contextlib.suppress(Malformed):
                add_node(b, Reader(details).node_id())


def _history_update_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 12)
    statuses = []
    for _ in range(n):
        statuses.append(r.status_code())
        r.status_codes()  # OperationResults
        r.diagnostic_infos()
    b.statuses = tuple(statuses)
    r.diagnostic_infos()


# -- method (5.11) ---------------------------------------------------------------------------------

def _variants(r: Reader, what: str) -> tuple[OpcuaVariant, ...]:
    n = r.count(what, 1)
    out = []
    for i in range(n):
        v = r.variant()
        if i < MAX_ARRAY_VALUES:
            out.append(v)
    return tuple(out)


def _call_req(r: Reader, b: Body) -> None:
    n = r.count("MethodsToCall", 8)
    calls: list[OpcuaCall] = []
    for i in range(n):
        obj = r.node_id()
        method = r.node_id()
        inputs = _variants(r, "InputArguments")
        if i < MAX_ITEMS:
            calls.append(OpcuaCall(object_id=obj, method_id=method, input_arguments=inputs))
            add_node(b, method)
        else:
            b.truncated = True
    b.calls = calls


def _call_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 16)
    results: list[tuple[int, tuple[OpcuaVariant, ...]]] = []
    for i in range(n):
        status = r.status_code()
        r.status_codes()  # InputArgumentResults
        r.diagnostic_infos()  # InputArgumentDiagnosticInfos
        outputs = _variants(r, "OutputArguments")
        if i < MAX_ITEMS:
            results.append((status, outputs))
    r.diagnostic_infos()
    b.call_results = results
    b.statuses = tuple(s for s, _ in results)


REQUESTS: dict[str, Decoder] = {
    "AddNodes": _add_nodes_req,
    "AddReferences": lambda r, b: _references_req(r, b, True),
    "DeleteNodes": _delete_nodes_req,
    "DeleteReferences": lambda r, b: _references_req(r, b, False),
    "Browse": _browse_req,
    "BrowseNext": _browse_next_req,
    "TranslateBrowsePathsToNodeIds": _translate_req,
    "RegisterNodes": _node_list_req,
    "UnregisterNodes": _node_list_req,
    "Read": _read_req,
    "HistoryRead": _history_read_req,
    "Write": _write_req,
    "HistoryUpdate": _history_update_req,
    "Call": _call_req,
}

RESPONSES: dict[str, Decoder] = {
    "AddNodes": _add_nodes_resp,
    "AddReferences": results_tail,
    "DeleteNodes": results_tail,
    "DeleteReferences": results_tail,
    "Browse": _browse_resp,
    "BrowseNext": _browse_resp,
    "TranslateBrowsePathsToNodeIds": _translate_resp,
    "RegisterNodes": _register_nodes_resp,
    "Read": _read_resp,
    "HistoryRead": _history_read_resp,
    "Write": results_tail,
    "HistoryUpdate": _history_update_resp,
    "Call": _call_resp,
}
