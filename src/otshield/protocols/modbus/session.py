"""Per-flow Modbus/TCP state: pairs each response with its request and emits one event each.

Pairing key: (transaction id, unit id), MBAP header (Messaging on TCP/IP Implementation Guide
V1.0b, 3.1.3: the server copies both into its response). Clients may pipeline requests, so
several can be pending; the pending map is bounded by ``Settings.max_pending_requests``.
A request unanswered for ``Settings.request_timeout`` seconds of packet time, or still pending
when the flow ends, is emitted with ``status="unanswered"``.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.modbus.constants import FC_DIAGNOSTICS, FC_MEI
from otshield.protocols.modbus.framing import junk_problem
from otshield.protocols.modbus.parser import ModbusPdu, decode_request, decode_response
from otshield.protocols.modbus.record import build_event

__all__ = ["MODBUS_PORT", "ModbusSession", "mismatch"]

MODBUS_PORT = 502
_FORCE_LISTEN_ONLY = 0x04  # FC 8 sub-function answered by silence (6.8.1)
_NEVER = float("inf")


class _Pending:
    __slots__ = ("frame", "later", "pdu", "ts")

    def __init__(self, pdu: ModbusPdu, ts: float, frame: int) -> None:
        self.pdu = pdu
        self.ts = ts
        self.frame = frame
        self.later: list[_Pending] | None = None  # requests sent later under the same key


def _echo(pdu: ModbusPdu) -> str:
    """What an FC 5/6/22 response said, for the anomaly (the event keeps the request's values)."""
    if pdu.and_mask is not None:
        return f"address {pdu.address} and 0x{pdu.and_mask:04x} or 0x{pdu.or_mask or 0:04x}"
    value = pdu.coils if pdu.coils is not None else pdu.registers
    return f"address {pdu.address} value {list(value) if value is not None else None}"


def mismatch(req: ModbusPdu, resp: ModbusPdu) -> str | None:
    """Why ``resp`` does not answer ``req`` (None if it does, as far as the fields tell)."""
    fc = req.function_code
    if resp.function_code != fc:
        return f"response function {resp.function_code} to request function {fc}"
    if resp.is_exception:
        return None
    q = req.quantity
    count = resp.byte_count
    if fc in (1, 2):
        if q is not None and count is not None and count != (q + 7) // 8:
            return f"function {fc}: {count} data bytes for {q} items"
    elif fc in (3, 4, 23):
        if q is not None and count is not None and count != 2 * q:
            return f"function {fc}: {count} data bytes for {q} registers"
    elif fc in (5, 6, 22):
        echo = (resp.address, resp.coils, resp.registers, resp.and_mask, resp.or_mask)
        if resp.address is not None and echo != (
                req.address, req.coils, req.registers, req.and_mask, req.or_mask):
            return f"function {fc}: the echo differs from the request: {_echo(resp)}"
    elif fc in (15, 16):
        if resp.address is not None and (resp.address, resp.quantity) != (req.address, q):
            return (f"function {fc}: response says address {resp.address} quantity "
                    f"{resp.quantity}, request {req.address} {q}")
    elif fc == FC_DIAGNOSTICS:
        if resp.subfunction is not None and resp.subfunction != req.subfunction:
            return (f"function 8: response sub-function {resp.subfunction}, request "
                    f"{req.subfunction}")
    elif fc == 20:
        if (req.file_records is not None and resp.file_data is not None
                and len(req.file_records) != len(resp.file_data)):
            return (f"function 20: {len(resp.file_data)} sub-responses to "
                    f"{len(req.file_records)} sub-requests")
    elif fc == 21:
        if resp.file_records is not None and resp.file_records != req.file_records:
            return (f"function 21: the echo differs from the request: "
                    f"{[(r.file, r.record, r.length) for r in resp.file_records]}")
    elif fc == FC_MEI and resp.device_id_code is not None and (
            (resp.mei_type, resp.device_id_code) != (req.mei_type, req.device_id_code)):
        return (f"function 43: response MEI {resp.mei_type}/{resp.device_id_code}, request "
                f"{req.mei_type}/{req.device_id_code}")
    return None


class ModbusSession:
    """Modbus/TCP decoder state for one flow (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self._flow = flow
        self._timeout = flow.settings.request_timeout
        # Roles: where exactly one side uses port 502, that side is the Modbus server whoever
        # opened the connection (crafted and reflected traffic exists, and tshark decides the
        # same way); on other ports the TCP client is the Modbus client.
        self._client = not (flow.client_port == MODBUS_PORT and flow.server_port != MODBUS_PORT)
        self._pending: dict[int, _Pending] = {}  # (transaction id << 8 | unit id) -> oldest
        self._count = 0  # requests pending, same-key successors included
        self._max_pending = max(1, flow.settings.max_pending_requests)
        self._saturated = False  # too_many_pending reported; reset once the backlog halves
        self._gap = False
        self._expire_at = _NEVER  # no pending request can have timed out before this
        # Bytes skipped since the stream lost step, and the first 8 of them, per direction
        # (0: flow client to server, 1: back): one anomaly per run, whatever the segmentation.
        self._stream = flow.transport == "tcp"
        self._junk = [0, 0]
        self._junk_head = [b"", b""]

    # -- Session interface -------------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self._flow
        is_request = from_client == self._client
        try:
            pdu = decode_request(frame) if is_request else decode_response(frame)
        except Malformed as m:
            if self._stream:  # a run of bytes frame_size skipped: reported when it ends
                d = 0 if from_client else 1
                if len(self._junk_head[d]) < 8:
                    self._junk_head[d] += frame[:8 - len(self._junk_head[d])]
                self._junk[d] += len(frame)
            else:  # a datagram stands alone
                flow.anomaly(m.code, m.detail, from_client)
            return
        if self._junk[0 if from_client else 1]:
            self._end_junk(from_client, frame)
        if pdu.anomalies is not None:
            for code, detail in pdu.anomalies:
                flow.anomaly(code, detail, from_client)
        if flow.ts > self._expire_at:
            self._expire(flow.ts)
        key = pdu.transaction_id << 8 | pdu.unit_id
        if is_request:
            self._request(key, pdu)
        else:
            self._response(key, pdu)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: the engine frames Modbus with ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        # Requests or responses may be lost in the hole; later reports say so.
        self._gap = True
        if self._junk[0 if from_client else 1]:
            self._end_junk(from_client, b"")

    def close(self) -> None:
        for from_client in (True, False):
            if self._junk[0 if from_client else 1]:
                self._end_junk(from_client, b"")
        pending, self._pending = self._pending, {}
        self._count = 0
        entries = [e for head in pending.values() for e in (head, *(head.later or ()))]
        entries.sort(key=lambda e: e.frame)
        for entry in entries:
            self._unanswered(entry, "no response before the flow ended")

    def _end_junk(self, from_client: bool, following: bytes) -> None:
        """Report a run of skipped bytes; the unit that follows completes a short run's head."""
        d = 0 if from_client else 1
        size = self._junk[d]
        code, detail = junk_problem((self._junk_head[d] + following)[:8])
        self._junk[d] = 0
        self._junk_head[d] = b""
        self._flow.anomaly(code, f"{detail}: {size} bytes skipped to the next Modbus header",
                           from_client)

    # -- pairing -----------------------------------------------------------------------------------
    def _request(self, key: int, pdu: ModbusPdu) -> None:
        flow = self._flow
        if self._count >= self._max_pending:
            if not self._saturated:
                self._saturated = True
                flow.anomaly("modbus.too_many_pending",
                             f"{self._count} requests without a response; the oldest are "
                             "reported unanswered to make room", self._client)
            self._unanswered(self._pop_oldest(), "", report=False)
        entry = _Pending(pdu, flow.ts, flow.frame)
        if not self._pending:
            self._expire_at = flow.ts + self._timeout
        head = self._pending.get(key)
        if head is None:
            self._pending[key] = entry
        elif head.later is None:
            # A reused transaction id: servers answer in order, so successors queue behind.
            head.later = [entry]
        else:
            head.later.append(entry)
        self._count += 1

    def _response(self, key: int, pdu: ModbusPdu) -> None:
        flow = self._flow
        entry = self._take(key, pdu)
        if entry is None:
            flow.emit(build_event(flow.fields(self._client), None, pdu, None, None))
            flow.anomaly("modbus.unmatched_response",
                         f"no request with transaction id {pdu.transaction_id} unit "
                         f"{pdu.unit_id} (function {pdu.function_code})"
                         + (" after a stream gap" if self._gap else ""), not self._client)
            return
        if self._saturated and self._count <= self._max_pending // 2:
            self._saturated = False
        why = mismatch(entry.pdu, pdu)
        if why is not None:
            flow.anomaly("modbus.response_mismatch", why, not self._client)
        flow.emit(build_event(flow.fields(self._client), entry.pdu, pdu, entry.ts, entry.frame))

    def _take(self, key: int, resp: ModbusPdu) -> _Pending | None:
        """The pending request ``resp`` answers: with several under one key, the oldest that
        fits the response, else the oldest."""
        head = self._pending.pop(key, None)
        if head is None:
            return None
        self._count -= 1
        later = head.later
        if later is None:
            return head
        head.later = None
        chain = [head, *later]
        pick = next((e for e in chain if mismatch(e.pdu, resp) is None), head)
        chain.remove(pick)
        successor = chain[0]
        successor.later = chain[1:] or None
        self._pending[key] = successor
        return pick

    def _pop_oldest(self) -> _Pending:
        key = next(iter(self._pending))
        head = self._pending.pop(key)
        if head.later:
            successor = head.later.pop(0)
            successor.later = head.later or None
            self._pending[key] = successor
            head.later = None
        self._count -= 1
        return head

    def _expire(self, now: float) -> None:
        limit = now - self._timeout
        pending = self._pending
        while pending:
            oldest = next(iter(pending.values())).ts
            if oldest >= limit:
                self._expire_at = oldest + self._timeout
                return
            self._unanswered(self._pop_oldest(), f"no response within {self._timeout:g} s")
        self._expire_at = _NEVER

    def _unanswered(self, entry: _Pending, why: str, report: bool = True) -> None:
        flow = self._flow
        fields = flow.fields(self._client)
        fields["ts"] = entry.ts
        fields["frame"] = entry.frame
        flow.emit(build_event(fields, entry.pdu, None, None, entry.frame))
        pdu = entry.pdu
        if report and not (pdu.function_code == FC_DIAGNOSTICS
                           and pdu.subfunction == _FORCE_LISTEN_ONLY):
            flow.anomaly("modbus.unanswered_request",
                         f"transaction id {pdu.transaction_id} unit {pdu.unit_id} function "
                         f"{pdu.function_code}: {why}"
                         + (" (stream gap seen)" if self._gap else ""), self._client)
