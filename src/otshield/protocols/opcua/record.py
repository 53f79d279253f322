"""Builds the OpcuaEvent of a service transaction from its request and response messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import msgspec

from otshield.events import CommonFields
from otshield.protocols.opcua.constants import ATTRIBUTES, SERVICE_CLASSES, status_name
from otshield.protocols.opcua.events import (
    OpcuaCall,
    OpcuaChannel,
    OpcuaEvent,
    OpcuaMonitoredItem,
    OpcuaReadItem,
    OpcuaWriteItem,
)
from otshield.protocols.opcua.services import MAX_ITEMS, Body, build_info_from

__all__ = ["Message", "build_event", "merge"]

S = TypeVar("S", bound=msgspec.Struct)


@dataclass(slots=True)
class Message:
    """One whole (reassembled) secure conversation message as the session saw it."""

    kind: str
    """open_secure_channel / close_secure_channel / service."""
    ts: float
    frame: int
    channel_id: int
    token_id: int | None
    request_id: int | None
    sequence_number: int | None
    """None when encrypted (the sequence header is encrypted with the body)."""
    size: int
    chunks: int
    body: Body | None
    """None when the body could not be read (encrypted, or undecodable)."""
    encrypted: bool = False
    policy: str | None = None
    policy_uri: str | None = None
    mode: str | None = None
    expires: float = 0.0
    certificate: str | None = None
    """OPN: SHA-1 of the SenderCertificate."""
    receiver: str | None = None
    """OPN: ReceiverCertificateThumbprint (hex)."""


def merge(a: S | None, b: S | None) -> S | None:
    """Fields of ``b`` that are set, over those of ``a`` (request and response halves)."""
    if a is None:
        return b
    if b is None:
        return a
    changes = {k: v for k, v in msgspec.structs.asdict(b).items() if v is not None}
    return msgspec.structs.replace(a, **changes)


def _name(status: int | None) -> str | None:
    return status_name(status) if status is not None else None


def build_event(fields: CommonFields, req: Message | None, resp: Message | None,
                status: str | None = None, error: tuple[int, str | None] | None = None
                ) -> OpcuaEvent:
    """One event for a request and its response (either may be missing)."""
    first = req if req is not None else resp
    assert first is not None
    qb = req.body if req is not None else None
    rb = resp.body if resp is not None else None
    service = (qb.service if qb is not None else rb.service if rb is not None
               and rb.service != "ServiceFault" else None)
    if service is None and first.kind == "open_secure_channel":
        service = "OpenSecureChannel"
    elif service is None and first.kind == "close_secure_channel":
        service = "CloseSecureChannel"
    result = rb.service_result if rb is not None else None
    encrypted = (req is not None and req.encrypted) or (resp is not None and resp.encrypted)
    if status is None:
        if resp is None:
            status = "unanswered"
        elif result is not None and result & 0x80000000:
            status = "bad"
        elif encrypted and qb is None and rb is None:
            status = "encrypted"
        else:
            status = "ok"
    truncated = (qb is not None and qb.truncated) or (rb is not None and rb.truncated)

    reads: tuple[OpcuaReadItem, ...] | None = None
    writes: tuple[OpcuaWriteItem, ...] | None = None
    calls: tuple[OpcuaCall, ...] | None = None
    monitored: tuple[OpcuaMonitoredItem, ...] | None = None
    statuses = rb.statuses if rb is not None else None
    if qb is not None and qb.read_specs is not None:
        values = rb.data_values if rb is not None and rb.data_values is not None else []
        reads = tuple(
            OpcuaReadItem(node_id=node, attribute=ATTRIBUTES.get(attr, str(attr)),
                          index_range=rng, result=values[i] if i < len(values) else None)
            for i, (node, attr, rng) in enumerate(qb.read_specs))
        if values:
            statuses = tuple(v.status or 0 for v in values)
    elif rb is not None and rb.data_values is not None:
        reads = tuple(OpcuaReadItem(result=v) for v in rb.data_values)
        statuses = tuple(v.status or 0 for v in rb.data_values)
    if qb is not None and qb.writes is not None:
        writes = tuple(
            w if statuses is None or i >= len(statuses)
            else msgspec.structs.replace(w, status_name=status_name(statuses[i]))
            for i, w in enumerate(qb.writes))
    if qb is not None and qb.calls is not None:
        results = rb.call_results if rb is not None and rb.call_results is not None else []
        calls = tuple(
            c if i >= len(results) else msgspec.structs.replace(
                c, status_name=status_name(results[i][0]), output_arguments=results[i][1])
            for i, c in enumerate(qb.calls))
    if qb is not None and qb.monitored is not None:
        created = (rb.monitored_results if rb is not None and rb.monitored_results is not None
                   else [])
        monitored = tuple(
            m if i >= len(created) else msgspec.structs.replace(
                m, status_name=status_name(created[i][0]), monitored_item_id=created[i][1])
            for i, m in enumerate(qb.monitored))
    operation_results: tuple[str, ...] | None = None
    bad: int | None = None
    if statuses:
        operation_results = tuple(status_name(s) for s in statuses[:MAX_ITEMS])
        bad = sum(1 for s in statuses if s & 0xC0000000)
        truncated = truncated or len(statuses) > MAX_ITEMS
    build = (build_info_from(qb.read_specs, rb)
             if qb is not None and qb.read_specs is not None and rb is not None else None)
    channel = merge(qb.channel if qb else None, rb.channel if rb else None)
    if first.kind == "open_secure_channel":
        channel = merge(channel, OpcuaChannel(
            channel_id=resp.channel_id if resp is not None else None,
            client_certificate_thumbprint=req.certificate if req is not None else None,
            receiver_thumbprint=req.receiver if req is not None else None,
            server_certificate_thumbprint=resp.certificate if resp is not None else None))
    mode = (qb.security_mode if qb is not None and qb.security_mode is not None
            else first.mode if first.mode is not None
            else resp.mode if resp is not None else None)
    kind = first.kind
    fc = "security" if kind != "service" else SERVICE_CLASSES.get(service or "", "other")
    return OpcuaEvent(
        **fields, kind=kind, function_class=fc, status=status,
        service=service if service is not None or kind != "service" or encrypted else "unknown",
        request_type_id=qb.type_id if qb is not None else None,
        response_type_id=rb.type_id if rb is not None else None,
        request_frame=req.frame if req is not None else None,
        response_time=(resp.ts - req.ts) if req is not None and resp is not None else None,
        secure_channel_id=(channel.channel_id if channel is not None
                           and channel.channel_id is not None else
                           resp.channel_id if resp is not None else first.channel_id),
        token_id=(channel.token_id if channel is not None and channel.token_id is not None
                  else first.token_id),
        request_id=first.request_id,
        sequence_number=req.sequence_number if req is not None else None,
        response_sequence_number=resp.sequence_number if resp is not None else None,
        security_policy=first.policy, security_policy_uri=first.policy_uri,
        security_mode=mode, encrypted=encrypted,
        request_chunks=req.chunks if req is not None else None,
        response_chunks=resp.chunks if resp is not None else None,
        request_size=req.size if req is not None else None,
        response_size=resp.size if resp is not None else None,
        request_handle=(qb.request_handle if qb is not None else
                        rb.request_handle if rb is not None else None),
        session_token_hash=qb.session_token_hash if qb is not None else None,
        request_timestamp=qb.timestamp if qb is not None else None,
        timeout_hint=qb.timeout_hint if qb is not None else None,
        return_diagnostics=qb.return_diagnostics if qb is not None else None,
        audit_entry_id=qb.audit_entry_id if qb is not None else None,
        service_result=result, service_result_name=_name(result),
        diagnostics=rb.diagnostics if rb is not None else None,
        error_code=error[0] if error is not None else None,
        error_name=_name(error[0]) if error is not None else None,
        reason=error[1] if error is not None else None,
        nodes=tuple(qb.nodes) if qb is not None and qb.nodes is not None else None,
        operation_results=operation_results, bad_results=bad,
        user_name=qb.user_name if qb is not None else None,
        channel=channel,
        session=merge(qb.session if qb else None, rb.session if rb else None),
        identity=qb.identity if qb is not None else None,
        max_age=qb.max_age if qb is not None else None,
        timestamps_to_return=qb.timestamps_to_return if qb is not None else None,
        reads=reads, writes=writes, calls=calls,
        browse=merge(qb.browse if qb else None, rb.browse if rb else None),
        subscription=merge(qb.subscription if qb else None, rb.subscription if rb else None),
        publish=merge(qb.publish if qb else None, rb.publish if rb else None),
        monitored_items=monitored,
        endpoints=tuple(rb.endpoints) if rb is not None and rb.endpoints is not None else None,
        servers=tuple(rb.servers) if rb is not None and rb.servers is not None else None,
        build_info=build, request_missing=req is None and status != "encrypted",
        truncated=truncated)
