"""Per-flow PROFINET IO CM session (UDP; DCE/RPC connectionless).

Requests wait, keyed by (activity UUID, sequence number) and bounded by
``Settings.max_pending_requests`` and ``Settings.request_timeout``, for their response, fault,
reject or nocall; the event then carries both sides. A PNIO server answers from its own RPC
port, not the one the request went to (a Connect to device:34964 is answered from device:49152),
so the answer usually arrives on another UDP flow: pending calls are also listed in the
protocol's engine-wide index (``flow.shared()``), from which a session removes its entries
when they are answered or when it closes.
Fragmented calls (CL flag ``fragment``) are reassembled per (activity, sequence, packet type) up
to ``Settings.max_frame_bytes``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.pnio_cm.constants import (
    EPM_OPNUMS,
    ERROR_DECODES,
    IM_INDICES,
    INDICES,
    OP_FUNCTION_CLASS,
    OPNUMS,
    PNIO_ERROR_CODES,
    PT_FAULT,
    PT_NOCALL,
    PT_REJECT,
    PT_REQUEST,
    PT_RESPONSE,
)
from otshield.protocols.pnio_cm.events import PnioCmEvent
from otshield.protocols.pnio_cm.parser import PnioBody, RpcHeader, parse_body, parse_header

__all__ = ["PnioCmSession"]

_OUTCOMES = {PT_FAULT: "fault", PT_REJECT: "reject", PT_NOCALL: "nocall"}
_MAX_FRAGMENTS = 256
_EMPTY = PnioBody()
_T = TypeVar("_T")
_Key = tuple[str, int]  # activity UUID, sequence number


class _Call:
    __slots__ = ("body", "fields", "from_client", "head")

    def __init__(self, fields: CommonFields, head: RpcHeader, body: PnioBody | None,
                 from_client: bool) -> None:
        self.fields = fields
        self.head = head
        self.body = body
        self.from_client = from_client


def _operation(h: RpcHeader) -> str:
    if h.interface_name == "epmap":
        return EPM_OPNUMS.get(h.opnum, f"opnum_{h.opnum}")
    if h.interface_name is None:
        return f"opnum_{h.opnum}"
    return OPNUMS.get(h.opnum, f"opnum_{h.opnum}")


def _object_ids(uuid: str) -> tuple[int | None, int | None, int | None]:
    # PNIO object UUID: DEA00000-6C97-11D1-8271-<instance:4><device:4><vendor:4> (hex digits)
    if not uuid.startswith("dea00000-6c97-11d1-8271-"):
        return None, None, None
    tail = uuid[24:]
    return int(tail[8:12], 16), int(tail[4:8], 16), int(tail[0:4], 16)


class PnioCmSession:
    """Implements ``Session`` for one UDP flow carrying PNIO CM calls."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self._pending: OrderedDict[_Key, _Call] = OrderedDict()
        self._calls: dict[_Key, PnioCmSession] = flow.shared()
        """Which session holds each pending call (see the module docstring)."""
        self._limit = max(1, flow.settings.max_pending_requests)
        self._frags: dict[tuple[str, int, int], dict[int, bytes]] = {}
        self._frag_bytes = 0
        self._overflow_reported = False

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            head, body = parse_header(frame)
        except Malformed as exc:
            flow.anomaly(exc.code, exc.detail, from_client)
            return
        if head.ptype not in (PT_REQUEST, PT_RESPONSE) and head.ptype not in _OUTCOMES:
            return  # ping, working, ack, cancel, fack: RPC machinery, nothing to report
        if head.fragment:
            whole = self._reassemble(head, body, from_client)
            if whole is None:
                return
            body = whole
        parsed: PnioBody | None = None
        if head.interface_name not in (None, "epmap") and head.ptype in (PT_REQUEST,
                                                                        PT_RESPONSE):
            try:
                parsed = parse_body(body, head.little, head.ptype == PT_RESPONSE)
            except Malformed as exc:
                flow.anomaly(exc.code, exc.detail, from_client)
            if parsed is not None and parsed.truncated_blocks:
                flow.anomaly("pnio_cm.too_many_blocks", "more than 256 blocks in one call",
                             from_client)
        if head.ptype == PT_REQUEST:
            self._request(head, parsed, from_client)
        else:
            self._answer(head, parsed, from_client)

    def _reassemble(self, head: RpcHeader, body: bytes, from_client: bool) -> bytes | None:
        key = (head.activity, head.seq, head.ptype)
        parts = self._frags.get(key)
        if parts is None:
            if len(self._frags) >= self._limit:
                self.flow.anomaly("pnio_cm.too_many_fragments",
                                  "too many fragmented calls at once; dropped", from_client)
                return None
            parts = self._frags[key] = {}
        limit = self.flow.settings.max_frame_bytes
        if self._frag_bytes + len(body) > limit or len(parts) >= _MAX_FRAGMENTS:
            self._frag_bytes -= sum(len(p) for p in parts.values())
            del self._frags[key]
            self.flow.anomaly("pnio_cm.too_many_fragments",
                              f"fragmented call over {limit} bytes or {_MAX_FRAGMENTS} "
                              "fragments; dropped", from_client)
            return None
        if head.fragnum not in parts:
            parts[head.fragnum] = body
            self._frag_bytes += len(body)
        if head.last_fragment:
            parts[-1] = b""  # marks that the last fragment (highest number) was seen
        if -1 not in parts or len(parts) - 1 != max(parts) + 1:
            return None
        del self._frags[key]
        self._frag_bytes -= sum(len(p) for p in parts.values())
        return b"".join(parts[i] for i in range(max(parts) + 1))

    def _request(self, head: RpcHeader, body: PnioBody | None, from_client: bool) -> None:
        key = (head.activity, head.seq)
        if key in self._pending:
            return  # a retransmission of the same call
        self._expire()
        if len(self._pending) >= self._limit:
            if not self._overflow_reported:
                self._overflow_reported = True
                self.flow.anomaly("pnio_cm.too_many_pending",
                                  f"more than {self._limit} calls awaiting a response",
                                  from_client)
            old_key, old = self._pending.popitem(last=False)
            self._calls.pop(old_key, None)
            self._emit(old, None, None, "unanswered")
        self._pending[key] = _Call(self.flow.fields(from_client), head, body, from_client)
        self._calls[key] = self

    def _expire(self) -> None:
        """Report calls older than ``Settings.request_timeout`` as unanswered."""
        limit = self.flow.ts - self.flow.settings.request_timeout
        pending = self._pending
        while pending:
            key, first = next(iter(pending.items()))
            if first.fields["ts"] >= limit:
                break
            pending.popitem(last=False)
            self._calls.pop(key, None)
            self._emit(first, None, None, "unanswered")

    def _answer(self, head: RpcHeader, body: PnioBody | None, from_client: bool) -> None:
        key = (head.activity, head.seq)
        owner = self._calls.pop(key, None)
        call = owner._pending.pop(key, None) if owner is not None else None
        if head.ptype == PT_RESPONSE:
            status = body.status if body is not None else None
            result = "ok" if not status and not (body and body.rw_status) else "error"
        else:
            result = _OUTCOMES[head.ptype]
        if call is None:
            # Answer without its request (capture started late): described from the caller's
            # point of view, with what the answer says.
            fields = self.flow.fields(not from_client)
            call = _Call(fields, head, None, not from_client)
        else:
            call.fields["ts"], call.fields["frame"] = self.flow.ts, self.flow.frame
        self._emit(call, head, body, result)

    def _emit(self, call: _Call, rhead: RpcHeader | None, resp: PnioBody | None,
              result: str) -> None:
        h = call.head
        r = call.body or _EMPTY
        a = resp or _EMPTY
        op = _operation(h)
        vendor, device, instance = _object_ids(h.object)
        index = _first(r.index, a.index)
        fclass = OP_FUNCTION_CLASS.get(op, "other")
        if fclass == "read" and index is not None and index in IM_INDICES:
            fclass = "identify"
        status = a.status or a.rw_status
        im0 = a.im0
        if op.startswith("read"):
            record_length = _first(a.record_length, r.record_length)
        else:
            record_length = _first(r.record_length, a.record_length)
        self.flow.emit(PnioCmEvent(
            **call.fields, operation=op, opnum=h.opnum,
            interface=h.interface_name or h.interface, activity_uuid=h.activity,
            sequence=h.seq, function_class=fclass, result=result,
            object_vendor_id=vendor, object_device_id=device, object_instance=instance,
            pnio_status=f"0x{status:08x}" if status else None,
            pnio_error=_describe_status(status) if status else None,
            ar_type=_first(r.ar_type, a.ar_type), ar_uuid=_first(r.ar_uuid, a.ar_uuid),
            session_key=_first(r.session_key, a.session_key),
            cm_initiator_mac=r.initiator_mac, station_name=r.station_name,
            iocr_count=r.iocr_count if call.body is not None and op == "connect" else None,
            api=_first(r.api, a.api), slot=_first(r.slot, a.slot),
            subslot=_first(r.subslot, a.subslot), index=index,
            index_name=(INDICES.get(index, f"0x{index:04x}") if index is not None else None),
            record_length=record_length,
            control_command=_first(r.control_command, a.control_command),
            im_vendor_id=im0.vendor_id if im0 else None,
            im_order_id=im0.order_id if im0 else None,
            im_serial_number=im0.serial_number if im0 else None,
            im_hardware_revision=im0.hardware_revision if im0 else None,
            im_software_revision=im0.software_revision if im0 else None,
            im_profile_id=im0.profile_id if im0 else None,
            response_frame=self.flow.frame if rhead is not None else None))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """UDP only: whole datagrams arrive through ``on_frame``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """UDP only: no stream gaps."""

    def close(self) -> None:
        for key, call in self._pending.items():
            if self._calls.get(key) is self:
                del self._calls[key]
            self._emit(call, None, None, "unanswered")
        self._pending.clear()
        if self._frags:
            self.flow.anomaly("pnio_cm.incomplete_fragments",
                              f"{len(self._frags)} fragmented calls never completed", True)
            self._frags.clear()


def _describe_status(v: int) -> str:
    """``connect/pnio code1=0x40 code2=0x04``: ErrorCode and ErrorDecode by name."""
    code, decode, c1, c2 = v >> 24, v >> 16 & 0xFF, v >> 8 & 0xFF, v & 0xFF
    return (f"{PNIO_ERROR_CODES.get(code, f'0x{code:02x}')}/"
            f"{ERROR_DECODES.get(decode, f'0x{decode:02x}')} code1=0x{c1:02x} code2=0x{c2:02x}")


def _first(x: _T | None, y: _T | None) -> _T | None:
    return x if x is not None else y
