"""SNMP per-flow session: pairs requests with responses (request-id for v1/v2c, msgID for v3),
emits one :class:`SnmpEvent` per exchange, traps at once, and unanswered requests at close or
when the pending limit pushes them out."""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.snmp.constants import (
    ERROR_STATUS,
    GENERIC_TRAPS,
    PDU_TYPES,
    READ_PDUS,
    REQUEST_PDUS,
    RESPONSE_PDUS,
    SECURITY_LEVELS,
    SNMP_TRAP_OID,
    TRAP_V1,
    VERSIONS,
)
from otshield.protocols.snmp.events import SnmpEvent, SnmpVarbind
from otshield.protocols.snmp.parser import SnmpMessage, decode

__all__ = ["SnmpSession"]

_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_GETBULK = 0xA5
_REPORTABLE = 0x04  # RFC 3412 section 6.4: set on messages that expect a reply

Pending = tuple[SnmpMessage, bool, float, int]  # request, from_client, ts, frame


class SnmpSession:
    """Pending requests are keyed ``("r", request-id)`` or ``("m", msgID)`` (v3) and bounded by
    ``settings.max_pending_requests``."""

    __slots__ = ("flow", "limit", "pending")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.pending: dict[tuple[str, int], Pending] = {}
        self.limit = flow.settings.max_pending_requests

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            msg = decode(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        tag = msg.pdu_tag
        if tag is None:  # SNMPv3 encrypted PDU: only msgFlags tell a request from a reply
            is_request = bool((msg.msg_flags or 0) & _REPORTABLE)
            is_response = not is_request
        else:
            is_request = tag in REQUEST_PDUS
            is_response = tag in RESPONSE_PDUS
        key = ("m", msg.msg_id or 0) if msg.version == 3 else ("r", msg.request_id or 0)
        if is_request:
            if key in self.pending:
                flow.anomaly("snmp.duplicate_request", f"request id {key[1]} already pending",
                             from_client)
                self._flush(self.pending.pop(key))
            elif len(self.pending) >= self.limit:
                flow.anomaly("snmp.too_many_pending", f"{self.limit} requests unanswered",
                             from_client)
                self._flush(self.pending.pop(next(iter(self.pending))))
            self.pending[key] = (msg, from_client, flow.ts, flow.frame)
            return
        if is_response:
            entry = self.pending.pop(key, None)
            if entry is not None:
                req, req_from_client = entry[0], entry[1]
                flow.emit(_event(flow.fields(req_from_client), req, msg))
                return
        # traps, and responses whose request was not seen
        flow.emit(_event(flow.fields(from_client), msg, None))

    def _flush(self, entry: Pending) -> None:
        req, from_client, ts, frame = entry
        common = self.flow.fields(from_client)
        common["ts"], common["frame"] = ts, frame
        self.flow.emit(_event(common, req, None, unanswered=True))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """SNMP here is datagram-only (RFC 3417 section 2)."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Datagrams have no gaps."""

    def close(self) -> None:
        pending, self.pending = self.pending, {}
        for entry in pending.values():
            self._flush(entry)


def _varbinds(msg: SnmpMessage) -> tuple[SnmpVarbind, ...] | None:
    if not msg.varbinds:
        return None
    return tuple(SnmpVarbind(v.oid, v.type, v.value) for v in msg.varbinds)


def _find(msg: SnmpMessage, name: str) -> str | None:
    for v in msg.varbinds:
        if v.oid == name:
            return v.value
    return None


def _event(common: CommonFields, first: SnmpMessage, resp: SnmpMessage | None,
           unanswered: bool = False) -> SnmpEvent:
    tag = first.pdu_tag
    values = resp if resp is not None and tag in READ_PDUS else first
    status = resp if resp is not None else (first if tag in RESPONSE_PDUS else None)
    trap_oid: str | None = None
    uptime: int | None = None
    if tag == TRAP_V1:
        trap_oid, uptime = first.enterprise, first.timestamp
    elif tag in (0xA6, 0xA7):
        trap_oid = _find(first, SNMP_TRAP_OID)
        up = _find(first, _SYS_UPTIME)
        uptime = int(up) if up is not None and up.isdigit() else None
    v3 = first.version == 3
    flags = first.msg_flags or 0
    truncated = (values.varbind_count > len(values.varbinds) or values.value_cut
                 or first.varbind_count > len(first.varbinds))
    response_type: str | None = None
    if resp is not None:
        response_type = PDU_TYPES[resp.pdu_tag] if resp.pdu_tag is not None else "encrypted"
    return SnmpEvent(
        **common,
        version=VERSIONS.get(first.version, str(first.version)),
        pdu_type=PDU_TYPES[tag] if tag is not None else "encrypted",
        request_id=first.request_id, response_type=response_type,
        unanswered=unanswered or None,
        community_present=None if v3 else first.community_length is not None,
        community_length=first.community_length, community_default=first.community_default,
        oids=tuple(v.oid for v in first.varbinds) if first.varbinds else None,
        varbinds=_varbinds(values),
        varbind_count=values.varbind_count if tag is not None else None,
        truncated=truncated or None,
        error_status=(ERROR_STATUS.get(status.error_status or 0, str(status.error_status))
                      if status is not None and status.error_status is not None else None),
        error_index=status.error_index if status is not None else None,
        non_repeaters=first.error_status if tag == _GETBULK else None,
        max_repetitions=first.error_index if tag == _GETBULK else None,
        trap_oid=trap_oid, agent_addr=first.agent_addr,
        generic_trap=(GENERIC_TRAPS.get(first.generic_trap, str(first.generic_trap))
                      if first.generic_trap is not None else None),
        specific_trap=first.specific_trap, uptime=uptime,
        msg_id=first.msg_id,
        security_level=SECURITY_LEVELS.get(flags & 3, "invalid") if v3 else None,
        user=first.user if first.user is not None else (resp.user if resp else None),
        engine_id=first.engine_id or (resp.engine_id if resp else None),
        engine_boots=first.engine_boots, engine_time=first.engine_time,
        context_name=first.context_name)
