"""Per-flow S7comm / S7comm-plus state: COTP reassembly, request/response pairing, events.

Each TPKT packet holds one COTP TPDU. Connection TPDUs (CR/CC/DR/ER) go to the shared
:class:`~otshield.protocols.tpkt.CotpTracker`; DT user data is joined into TSDUs (EOT) and a TSDU
starting with 0x32 is S7comm, with 0x72 S7comm-plus.

S7comm jobs and userdata requests are paired with their ack / ack-data / userdata response by
(requesting side, PDU reference): either side may send jobs (a PLC sends "download block" jobs to
the programming device during a download). Userdata responses split over several data units are
joined before their payload is decoded. S7comm-plus requests are paired with responses by
sequence number. The pending maps are bounded by ``settings.max_pending_requests``.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.s7comm.constants import (
    CONNECTION_TYPES,
    FUNC_MODE_TRANSITION,
    PLUS_FLAG_NO_RESPONSE,
    PLUS_OPCODE_NOTIFICATION,
    PLUS_OPCODE_REQUEST,
    PLUS_PROTOCOL_ID,
    PROTOCOL_ID,
    ROSCTR_ACK,
    ROSCTR_ACK_DATA,
    ROSCTR_JOB,
    ROSCTR_NAMES,
    ROSCTR_USERDATA,
    UD_TYPE_REQUEST,
    UD_TYPE_RESPONSE,
)
from otshield.protocols.s7comm.parser import parse_pdu
from otshield.protocols.s7comm.pdu import S7Pdu
from otshield.protocols.s7comm.plus import (
    PlusPdu,
    PlusReassembler,
    parse_plus_body,
    parse_plus_frame,
)
from otshield.protocols.s7comm.record import plus_event, s7_event
from otshield.protocols.s7comm.userdata import decode_payload
from otshield.protocols.tpkt import (
    COTP_DT,
    CotpReassembler,
    CotpTracker,
    TsapInfo,
    parse_cotp,
    parse_tpkt,
)

__all__ = ["MAX_UD_BYTES", "MAX_UD_TRAINS", "S7commSession", "s7_tsap"]

MAX_UD_BYTES = 64 * 1024
"""Largest userdata payload joined from data units."""
MAX_UD_TRAINS = 16
"""Userdata responses being joined at once, per direction."""
MAX_TSDU_BYTES = 1024 * 1024
"""Largest TSDU joined from DT TPDUs (S7 PDUs are at most 960 bytes; S7comm-plus larger)."""
MAX_EARLY = 32
"""Responses held, per flow, while their request may still arrive."""
EARLY_WINDOW = 2.0
"""Seconds (packet time) a response waits for a request seen after it: a mirror port can
deliver the two directions out of order, and a stream hole skipped on the peer's ACK releases
the request after the response."""


def s7_tsap(tsap: bytes | None) -> TsapInfo | None:
    """Siemens convention for a 2-byte called TSAP: connection type, then rack << 5 | slot."""
    if tsap is None or len(tsap) != 2:
        return None
    return TsapInfo(connection_type=CONNECTION_TYPES.get(tsap[0], f"0x{tsap[0]:02x}"),
                    rack=tsap[1] >> 5, slot=tsap[1] & 0x1F)


class _Pending:
    __slots__ = ("frame", "pdu", "ts")

    def __init__(self, pdu: S7Pdu, ts: float, frame: int) -> None:
        self.pdu = pdu
        self.ts = ts
        self.frame = frame


class _Early:
    __slots__ = ("frame", "pdu", "ts")

    def __init__(self, pdu: S7Pdu | PlusPdu, ts: float, frame: int) -> None:
        self.pdu = pdu
        self.ts = ts
        self.frame = frame


class _PlusPending:
    __slots__ = ("fragments", "frame", "pdu", "ts")

    def __init__(self, pdu: PlusPdu, fragments: int, ts: float, frame: int) -> None:
        self.pdu = pdu
        self.fragments = fragments
        self.ts = ts
        self.frame = frame


class S7commSession:
    """Decoder state of one TCP connection on port 102."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.max_pending = flow.settings.max_pending_requests
        self.cotp = CotpTracker(flow, s7_tsap)
        self._tsdu = (CotpReassembler(MAX_TSDU_BYTES), CotpReassembler(MAX_TSDU_BYTES))
        self._plus = (PlusReassembler(), PlusReassembler())
        self._ud_trains: tuple[dict[int, list[bytes]], dict[int, list[bytes]]] = ({}, {})
        self._pending: dict[tuple[bool, int], _Pending] = {}
        self._plus_pending: dict[tuple[bool, int], _PlusPending] = {}
        # responses whose request has not been seen yet, keyed like the pending maps with the
        # protocol id first (0x32 / 0x72)
        self._early: dict[tuple[int, bool, int], _Early] = {}
        self._unknown_reported = False

    # -- Session interface -----------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        # Fast path for the common case, a whole class 0 DT TPDU (LI 2, code 0xF0) in a TPKT
        # packet whose length field matches: no TPDU object, no reassembly buffer.
        n = len(frame)
        if (n > 7 and frame[4] == 2 and frame[5] == 0xF0 and frame[6] & 0x80
                and frame[0] == 3 and frame[1] == 0 and (frame[2] << 8 | frame[3]) == n):
            reasm = self._tsdu[0 if from_client else 1]
            if not reasm.active:
                self._on_tsdu(frame[7:], from_client)
                return
        try:
            tpdu = parse_cotp(parse_tpkt(frame))
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        if tpdu.code != COTP_DT:
            self.cotp.on_tpdu(tpdu, from_client)
            return
        try:
            tsdu = self._tsdu[0 if from_client else 1].add(tpdu.user_data, tpdu.eot)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        if tsdu:
            self._on_tsdu(tsdu, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: TPKT is length-framed, the engine calls :meth:`on_frame`."""

    def on_gap(self, from_client: bool, size: int) -> None:
        d = 0 if from_client else 1
        self._tsdu[d].reset()
        self._plus[d].reset()
        self._ud_trains[d].clear()

    def close(self) -> None:
        self.cotp.close()
        self._flush_early(None)
        for (requester, _ref), entry in list(self._pending.items()):
            self._unanswered(requester, entry)
        self._pending.clear()
        for (requester, _seq), pentry in list(self._plus_pending.items()):
            self._plus_unanswered(requester, pentry)
        self._plus_pending.clear()

    # -- dispatch --------------------------------------------------------------------------------
    def _on_tsdu(self, tsdu: bytes, from_client: bool) -> None:
        first = tsdu[0]
        if first == PROTOCOL_ID:
            self._s7(tsdu, from_client)
        elif first == PLUS_PROTOCOL_ID:
            self._s7plus(tsdu, from_client)
        elif not self._unknown_reported:
            self._unknown_reported = True
            self.flow.anomaly("s7comm.unknown_protocol",
                              f"COTP data starts with 0x{first:02x}, neither S7comm nor "
                              f"S7comm-plus (reported once per flow)", from_client)

    def _issues(self, issues: list[tuple[str, str]], from_client: bool) -> None:
        for code, detail in issues:
            self.flow.anomaly(code, detail, from_client)

    # -- S7comm ----------------------------------------------------------------------------------
    def _s7(self, tsdu: bytes, from_client: bool) -> None:
        try:
            pdu = parse_pdu(tsdu)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        rosctr = pdu.rosctr
        if rosctr == ROSCTR_JOB:
            self._issues(pdu.issues, from_client)
            self._request(pdu, from_client)
        elif rosctr in (ROSCTR_ACK, ROSCTR_ACK_DATA):
            self._issues(pdu.issues, from_client)
            self._response(pdu, from_client)
        else:
            self._userdata(pdu, from_client)

    def _userdata(self, pdu: S7Pdu, from_client: bool) -> None:
        kind = pdu.ud_type
        if pdu.function != FUNC_MODE_TRANSITION:
            if kind == UD_TYPE_REQUEST:
                decode_payload(pdu, pdu.ud_payload)
            else:
                self._join_data_units(pdu, from_client)
        self._issues(pdu.issues, from_client)
        if pdu.function == FUNC_MODE_TRANSITION or kind not in (UD_TYPE_REQUEST,
                                                                  UD_TYPE_RESPONSE):
            self._emit(None, pdu, from_client, answered=None, unsolicited=True)
        elif kind == UD_TYPE_REQUEST:
            self._request(pdu, from_client)
        else:
            self._response(pdu, from_client)

    def _join_data_units(self, pdu: S7Pdu, from_client: bool) -> None:
        """Decode a response/indication payload, joining data units of one reference first."""
        ref = pdu.data_unit_ref
        if not ref:
            decode_payload(pdu, pdu.ud_payload)
            return
        trains = self._ud_trains[0 if from_client else 1]
        parts = trains.get(ref)
        if not pdu.last_data_unit:
            if parts is None:
                if len(trains) >= MAX_UD_TRAINS:
                    oldest = next(iter(trains))
                    del trains[oldest]
                    pdu.issue("s7comm.too_many_fragments",
                              f"data unit {oldest} dropped, {MAX_UD_TRAINS} being joined")
                parts = trains[ref] = []
            parts.append(pdu.ud_payload)
            if sum(len(p) for p in parts) > MAX_UD_BYTES:
                del trains[ref]
                pdu.issue("s7comm.fragment_overflow",
                          f"data unit {ref} exceeds {MAX_UD_BYTES} bytes, dropped")
            return
        if parts is None:
            decode_payload(pdu, pdu.ud_payload)
            return
        del trains[ref]
        parts.append(pdu.ud_payload)
        whole = b"".join(parts)
        pdu.joined = True
        if len(whole) > MAX_UD_BYTES:
            pdu.issue("s7comm.fragment_overflow", f"data unit {ref}: {len(whole)} bytes")
            return
        pdu.ud_payload = whole
        decode_payload(pdu, whole)

    def _request(self, pdu: S7Pdu, from_client: bool) -> None:
        key = (from_client, pdu.pdu_ref)
        if self._early:
            early = self._early.pop((PROTOCOL_ID, from_client, pdu.pdu_ref), None)
            if early is not None:
                assert isinstance(early.pdu, S7Pdu)
                self._pair(pdu, early.pdu, from_client, at=(early.ts, early.frame))
                return
        old = self._pending.pop(key, None)
        if old is not None:
            # the reference was reused before an answer came: the old request went unanswered
            self._unanswered(from_client, old)
        elif len(self._pending) >= self.max_pending:
            oldest_key = next(iter(self._pending))
            oldest = self._pending.pop(oldest_key)
            self.flow.anomaly("s7comm.too_many_pending",
                              f"{self.max_pending} requests unanswered; PDU reference "
                              f"{oldest_key[1]} given up", from_client)
            self._unanswered(oldest_key[0], oldest, report=False)
        self._pending[key] = _Pending(pdu, self.flow.ts, self.flow.frame)

    def _response(self, pdu: S7Pdu, from_client: bool) -> None:
        requester = not from_client
        if self._early:
            self._flush_early(self.flow.ts - EARLY_WINDOW)
        entry = self._pending.pop((requester, pdu.pdu_ref), None)
        if entry is None:
            self._hold_early((PROTOCOL_ID, requester, pdu.pdu_ref), pdu)
            return
        self._pair(entry.pdu, pdu, requester)

    def _pair(self, req: S7Pdu, resp: S7Pdu, requester: bool,
              at: tuple[float, int] | None = None) -> None:
        if (req.item_count is not None and resp.item_count is not None
                and req.item_count != resp.item_count):
            self.flow.anomaly("s7comm.item_count_mismatch",
                              f"request has {req.item_count} items, response "
                              f"{resp.item_count}", not requester)
        self._emit(req, resp, requester, answered=True, at=at)

    def _hold_early(self, key: tuple[int, bool, int], pdu: S7Pdu | PlusPdu) -> None:
        old = self._early.pop(key, None)
        if old is not None:
            self._orphan(key, old)
        elif len(self._early) >= MAX_EARLY:
            first = next(iter(self._early))
            self._orphan(first, self._early.pop(first))
        self._early[key] = _Early(pdu, self.flow.ts, self.flow.frame)

    def _flush_early(self, before: float | None) -> None:
        """Report held responses (all, or those older than ``before``) as unmatched."""
        for key, early in list(self._early.items()):
            if before is None or early.ts < before:
                del self._early[key]
                self._orphan(key, early)

    def _orphan(self, key: tuple[int, bool, int], early: _Early) -> None:
        proto, requester, ref = key
        at = (early.ts, early.frame)
        pdu = early.pdu
        if isinstance(pdu, S7Pdu):
            self.flow.anomaly("s7comm.unmatched_response",
                              f"{ROSCTR_NAMES.get(pdu.rosctr)} with PDU reference {ref} "
                              f"answers no request seen", not requester)
            self._emit(None, pdu, requester, answered=None, at=at)
        else:
            self.flow.anomaly("s7commplus.unmatched_response",
                              f"response with sequence {ref} answers no request seen",
                              not requester)
            self._plus_emit(None, pdu, requester, answered=None, fragments=1, at=at)
        del proto

    def _unanswered(self, requester: bool, entry: _Pending, report: bool = True) -> None:
        if report:
            self.flow.anomaly("s7comm.unanswered_request",
                              f"{self._describe(entry.pdu)} with PDU reference "
                              f"{entry.pdu.pdu_ref} got no response", requester)
        self._emit(entry.pdu, None, requester, answered=False, at=(entry.ts, entry.frame))

    @staticmethod
    def _describe(pdu: S7Pdu) -> str:
        if pdu.rosctr == ROSCTR_USERDATA:
            return f"userdata group {pdu.group} subfunction {pdu.subfunction}"
        return f"job function 0x{pdu.function or 0:02x}"

    # -- events --------------------------------------------------------------------------------
    def _emit(self, req: S7Pdu | None, resp: S7Pdu | None, requester: bool, *,
              answered: bool | None, unsolicited: bool = False,
              at: tuple[float, int] | None = None) -> None:
        common = self.flow.fields(requester)
        if at is not None:
            common["ts"], common["frame"] = at
        event, unknown = s7_event(common, req, resp, answered=answered, unsolicited=unsolicited)
        if unknown is not None:
            self.flow.anomaly("s7comm.unknown_function", unknown, requester)
        self.flow.emit(event)

    # -- S7comm-plus -------------------------------------------------------------------------------
    def _s7plus(self, tsdu: bytes, from_client: bool) -> None:
        reasm = self._plus[0 if from_client else 1]
        try:
            frame = parse_plus_frame(tsdu)
            if frame.keepalive:
                return
            done = reasm.add(frame)
            if done is None:
                return
            version, body, integrity, fragments = done
            pdu = parse_plus_body(version, body, integrity)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        self._issues(pdu.issues, from_client)
        if pdu.opcode is None or pdu.opcode == PLUS_OPCODE_NOTIFICATION:
            self._plus_emit(None, pdu, from_client, answered=None, unsolicited=True,
                            fragments=fragments)
        elif pdu.opcode == PLUS_OPCODE_REQUEST:
            seq = pdu.sequence or 0
            if self._early:
                early = self._early.pop((PLUS_PROTOCOL_ID, from_client, seq), None)
                if early is not None:
                    assert isinstance(early.pdu, PlusPdu)
                    self._plus_emit(pdu, early.pdu, from_client, answered=True,
                                    fragments=fragments, at=(early.ts, early.frame))
                    return
            key = (from_client, seq)
            old = self._plus_pending.pop(key, None)
            if old is not None:
                self._plus_unanswered(from_client, old)
            elif len(self._plus_pending) >= self.max_pending:
                oldest_key = next(iter(self._plus_pending))
                oldest = self._plus_pending.pop(oldest_key)
                self.flow.anomaly("s7commplus.too_many_pending",
                                  f"{self.max_pending} requests unanswered; sequence "
                                  f"{oldest_key[1]} given up", from_client)
                self._plus_unanswered(oldest_key[0], oldest, report=False)
            self._plus_pending[key] = _PlusPending(pdu, fragments, self.flow.ts, self.flow.frame)
        else:
            requester = not from_client
            if self._early:
                self._flush_early(self.flow.ts - EARLY_WINDOW)
            entry = self._plus_pending.pop((requester, pdu.sequence or 0), None)
            if entry is None:
                self._hold_early((PLUS_PROTOCOL_ID, requester, pdu.sequence or 0), pdu)
                return
            self._plus_emit(entry.pdu, pdu, requester, answered=True,
                            fragments=max(entry.fragments, fragments))

    def _plus_unanswered(self, requester: bool, entry: _PlusPending, report: bool = True) -> None:
        # transport flag 0x40: the client does not wait for an answer (HMI writes); a missing
        # response is then normal
        optional = bool((entry.pdu.transport_flags or 0) & PLUS_FLAG_NO_RESPONSE)
        if report and not optional:
            self.flow.anomaly("s7commplus.unanswered_request",
                              f"request with sequence {entry.pdu.sequence} got no response",
                              requester)
        self._plus_emit(entry.pdu, None, requester, answered=False, fragments=entry.fragments,
                        at=(entry.ts, entry.frame))

    def _plus_emit(self, req: PlusPdu | None, resp: PlusPdu | None, requester: bool, *,
                   answered: bool | None, fragments: int, unsolicited: bool = False,
                   at: tuple[float, int] | None = None) -> None:
        common = self.flow.fields(requester)
        if at is not None:
            common["ts"], common["frame"] = at
        event, unknown = plus_event(common, req, resp, answered=answered, fragments=fragments,
                                    unsolicited=unsolicited)
        if unknown is not None:
            self.flow.anomaly("s7commplus.unknown_function", unknown, requester)
        self.flow.emit(event)
