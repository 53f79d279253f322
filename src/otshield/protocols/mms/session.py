"""Per-flow MMS state: COTP reassembly, the OSI upper layers, pairing, events.

Each TPKT packet holds one COTP TPDU (RFC 1006); connection TPDUs go to the shared
:class:`~otshield.protocols.tpkt.CotpTracker`, DT user data is joined into TSDUs. A TSDU is an
ISO 8327 session unit (CN/AC/RF carry the presentation connect PPDUs with ACSE AARQ/AARE and the
MMS initiate PDUs; GT+DT carry MMS data; FN/DN the ACSE release; AB the abort), or, for stacks
that run MMS straight on COTP, an MMS PDU itself (the first octet tells: SPDU identifiers are
below 0x40, MMS PDU tags are context-class 0x80-0xAD).

Presentation contexts proposed in CP map context ids to MMS or ACSE. When the connection was
not seen from its start, PDVs are told apart by tag class (ACSE APDUs are application class,
MMS PDUs context class), so a capture that starts mid-association still decodes.

Confirmed requests are paired with their response / error by (requesting side, invoke id) in a
map bounded by ``settings.max_pending_requests``; the association (initiate), conclude, cancel
and release exchanges are paired the same way.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.mms.constants import (
    ACSE_AS_ID,
    FUNCTION_CLASS,
    MMS_AS_ID,
    SI_AA,
    SI_AB,
    SI_AC,
    SI_CN,
    SI_DN,
    SI_DT,
    SI_FN,
    SI_NF,
    SI_RF,
)
from otshield.protocols.mms.events import MmsEvent, MmsReportEvent
from otshield.protocols.mms.osi import Acse, parse_acse, parse_ppdu, parse_spdu
from otshield.protocols.mms.parser import (
    CANCEL_ERROR,
    CANCEL_REQUEST,
    CANCEL_RESPONSE,
    CONCLUDE_ERROR,
    CONCLUDE_REQUEST,
    CONCLUDE_RESPONSE,
    CONFIRMED_ERROR,
    CONFIRMED_REQUEST,
    CONFIRMED_RESPONSE,
    INITIATE_ERROR,
    INITIATE_REQUEST,
    INITIATE_RESPONSE,
    REJECT,
    UNCONFIRMED,
    MmsPdu,
    is_mms_tag,
    parse_mms,
)
from otshield.protocols.mms.report import ReportFields, decode_report
from otshield.protocols.mms.services import MmsFields, control_fields
from otshield.protocols.tpkt import COTP_DT, CotpReassembler, CotpTracker, parse_cotp, parse_tpkt

__all__ = ["MAX_TSDU_BYTES", "MmsSession"]

MAX_TSDU_BYTES = 1024 * 1024
"""Largest TSDU joined from DT TPDUs (MMS PDUs are bounded by the negotiated segment size,
typically 8-64 KiB; file and domain segments are the largest)."""

MAX_CONTEXTS = 32
"""Presentation contexts remembered from a CP PPDU (MMS uses two: ACSE and MMS)."""

_ACSE_TAGS = frozenset(range(0x60, 0x65))
_CONFIRMED = "confirmed"


class _Pending:
    """A request waiting for its answer, with where it was seen."""

    __slots__ = ("acse", "frame", "pdu", "requester", "seen", "selectors", "ts")

    def __init__(self, requester: bool, ts: float, frame: int, pdu: MmsPdu | None,
                 acse: Acse | None = None, seen: bool = True) -> None:
        self.seen = seen
        """False for a stand-in: the answer came without a request seen."""
        self.selectors: tuple[str | None, str | None, str | None, str | None] = (
            None, None, None, None)
        """Association requests: calling/called session and presentation selectors."""
        self.requester = requester
        self.ts = ts
        self.frame = frame
        self.pdu = pdu
        self.acse = acse


class MmsSession:
    """Decoder state of one TCP connection carrying MMS."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.max_pending = flow.settings.max_pending_requests
        self.cotp = CotpTracker(flow)
        self._tsdu = (CotpReassembler(MAX_TSDU_BYTES), CotpReassembler(MAX_TSDU_BYTES))
        self._contexts: dict[int, str] = {}
        self._pending: dict[tuple[str, bool, int], _Pending] = {}
        """Confirmed and cancel requests by (kind, requesting side, invoke id)."""
        self._assoc: _Pending | None = None
        self._conclude: _Pending | None = None
        self._release: _Pending | None = None
        self._unknown_context_reported = False
        self._resync = [False, False]
        """Per direction: a gap was seen; DT TPDUs are dropped until one starts a unit."""

    # -- Session interface -----------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        # Fast path: a whole class 0 DT TPDU (LI 2, code 0xF0, EOT) whose TPKT length matches
        n = len(frame)
        if (n > 7 and frame[4] == 2 and frame[5] == 0xF0 and frame[6] & 0x80
                and frame[0] == 3 and frame[1] == 0 and (frame[2] << 8 | frame[3]) == n
                and not self._tsdu[0 if from_client else 1].active
                and not self._resync[0 if from_client else 1]):
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
        d = 0 if from_client else 1
        if self._resync[d]:
            # After a gap the next DT may continue a TSDU whose start was lost: wait for a DT
            # that starts a unit (session SPDU or MMS PDU), else drop up to the next EOT.
            data = tpdu.user_data
            if not data or not _starts_unit(data):
                self._resync[d] = not tpdu.eot
                return
            self._resync[d] = False
        try:
            tsdu = self._tsdu[d].add(tpdu.user_data, tpdu.eot)
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
        self._resync[d] = True

    def close(self) -> None:
        self.cotp.close()
        if self._assoc is not None:
            assoc, self._assoc = self._assoc, None
            self._unanswered_report(assoc, "initiate")
            self._emit_initiate(assoc, None, None, answered=False)
        for entry in list(self._pending.values()):
            self._give_up(entry)
        self._pending.clear()
        if self._conclude is not None:
            entry, self._conclude = self._conclude, None
            self._unanswered_report(entry, "conclude")
            self._emit_simple("conclude", entry, None, answered=False)
        if self._release is not None:
            entry, self._release = self._release, None
            self._emit_simple("release", entry, None, answered=False)

    # -- OSI layers ------------------------------------------------------------------------------
    def _on_tsdu(self, tsdu: bytes, from_client: bool) -> None:
        if not tsdu:
            return
        if is_mms_tag(tsdu[0]):
            self._mms(tsdu, 0, len(tsdu), from_client)
            return
        try:
            spdu = parse_spdu(tsdu)
            ppdu = parse_ppdu(tsdu, spdu.user[0], spdu.user[1], spdu.si) if spdu.user else None
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        si = spdu.si
        if ppdu is not None and ppdu.contexts:
            self._contexts = {ident: ("mms" if syntax == MMS_AS_ID else
                                      "acse" if syntax == ACSE_AS_ID else syntax)
                              for ident, syntax in ppdu.contexts[:MAX_CONTEXTS]}
        acse: Acse | None = None
        mms: list[MmsPdu] = []
        for ctx, start, end in (ppdu.pdvs if ppdu is not None else ()):
            kind = self._kind(tsdu, ctx, start, end, from_client)
            try:
                if kind == "acse":
                    acse = parse_acse(tsdu, start, end)
                    if acse.mms is not None:
                        mms.append(parse_mms(tsdu, acse.mms[0], acse.mms[1]))
                elif kind == "mms":
                    if si == SI_DT:
                        self._mms(tsdu, start, end, from_client)
                    else:
                        mms.append(parse_mms(tsdu, start, end))
            except Malformed as m:
                self.flow.anomaly(m.code, m.detail, from_client)
        init = mms[0] if mms else None
        if si == SI_CN:
            self._initiate_request(from_client, acse, init)
            assert self._assoc is not None
            self._assoc.selectors = (spdu.calling_selector, spdu.called_selector,
                                     ppdu.calling_selector if ppdu else None,
                                     ppdu.called_selector if ppdu else None)
        elif si == SI_AC:
            self._initiate_response(from_client, acse, init, refused=False)
        elif si == SI_RF:
            self._initiate_response(from_client, acse, init, refused=True)
        elif si == SI_FN:
            if self._release is not None:
                self._emit_simple("release", self._release, None, answered=False)
            self._release = _Pending(from_client, self.flow.ts, self.flow.frame, None, acse)
        elif si in (SI_DN, SI_NF):
            self._release_response(from_client, acse, refused=si == SI_NF)
        elif si in (SI_AB, SI_AA):
            self._abort(from_client, acse, ppdu.provider_reason if ppdu else None, spdu.reason)
        for pdu in mms if si in (SI_FN, SI_DN, SI_NF, SI_AB, SI_AA) else ():
            self._on_pdu(pdu, from_client)

    def _kind(self, buf: bytes, ctx: int | None, start: int, end: int, from_client: bool) -> str:
        """What a PDV holds: ``acse``, ``mms`` or something else (skipped)."""
        if start >= end:
            return ""
        known = self._contexts.get(ctx) if ctx is not None else None
        if known is not None:
            return known
        if ctx is not None and self._contexts and not self._unknown_context_reported:
            self._unknown_context_reported = True
            self.flow.anomaly("mms.unknown_context",
                              f"presentation context {ctx} was not proposed (reported once "
                              f"per flow)", from_client)
        first = buf[start]
        if first in _ACSE_TAGS:
            return "acse"
        return "mms" if is_mms_tag(first) else ""

    # -- MMS PDUs --------------------------------------------------------------------------------
    def _mms(self, buf: bytes, start: int, end: int, from_client: bool) -> None:
        try:
            pdu = parse_mms(buf, start, end)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        self._on_pdu(pdu, from_client)

    def _on_pdu(self, pdu: MmsPdu, from_client: bool) -> None:
        kind = pdu.kind
        if pdu.unknown_service:
            self.flow.anomaly("mms.unknown_service",
                              f"{pdu.name} with service tag {pdu.service_code}", from_client)
        if kind in (CONFIRMED_REQUEST, CANCEL_REQUEST):
            self._request(_CONFIRMED if kind == CONFIRMED_REQUEST else "cancel", pdu, from_client)
        elif kind in (CONFIRMED_RESPONSE, CONFIRMED_ERROR):
            if kind == CONFIRMED_ERROR:
                self._error_anomaly(pdu, from_client)
            self._response(_CONFIRMED, pdu, from_client)
        elif kind in (CANCEL_RESPONSE, CANCEL_ERROR):
            self._response("cancel", pdu, from_client)
        elif kind == UNCONFIRMED:
            self._report(pdu, from_client)
        elif kind == REJECT:
            self._reject(pdu, from_client)
        elif kind == INITIATE_REQUEST:
            self._initiate_request(from_client, None, pdu)
        elif kind in (INITIATE_RESPONSE, INITIATE_ERROR):
            self._initiate_response(from_client, None, pdu, refused=False)
        elif kind == CONCLUDE_REQUEST:
            if self._conclude is not None:
                self._unanswered_report(self._conclude, "conclude")
                self._emit_simple("conclude", self._conclude, None, answered=False)
            self._conclude = _Pending(from_client, self.flow.ts, self.flow.frame, pdu)
        elif kind in (CONCLUDE_RESPONSE, CONCLUDE_ERROR):
            if kind == CONCLUDE_ERROR:
                self._error_anomaly(pdu, from_client)
            entry, self._conclude = self._conclude, None
            if entry is None:
                entry = _Pending(not from_client, self.flow.ts, self.flow.frame, None, seen=False)
            self._emit_simple("conclude", entry, pdu, answered=True if entry.seen else None)

    def _error_anomaly(self, pdu: MmsPdu, from_client: bool) -> None:
        self.flow.anomaly("mms.confirmed_error",
                          f"{pdu.name} invoke id {pdu.invoke_id}: {pdu.error_class}/"
                          f"{pdu.error_code}", from_client)

    def _request(self, kind: str, pdu: MmsPdu, from_client: bool) -> None:
        if self._pending:
            # requests older than the timeout will not be answered any more: report them now,
            # oldest first (the map keeps insertion order)
            limit = self.flow.ts - self.flow.settings.request_timeout
            while self._pending:
                first_key = next(iter(self._pending))
                if self._pending[first_key].ts >= limit:
                    break
                self._give_up(self._pending.pop(first_key))
        key = (kind, from_client, pdu.invoke_id or 0)
        old = self._pending.pop(key, None)
        if old is not None:
            # the invoke id was reused before an answer came: the old request went unanswered
            self._give_up(old)
        elif len(self._pending) >= self.max_pending:
            oldest_key = next(iter(self._pending))
            oldest = self._pending.pop(oldest_key)
            self.flow.anomaly("mms.too_many_pending",
                              f"{self.max_pending} requests unanswered; invoke id "
                              f"{oldest_key[2]} given up", from_client)
            self._give_up(oldest, report=False)
        self._pending[key] = _Pending(from_client, self.flow.ts, self.flow.frame, pdu)

    def _response(self, kind: str, pdu: MmsPdu, from_client: bool) -> None:
        entry = self._pending.pop((kind, not from_client, pdu.invoke_id or 0), None)
        if entry is None:
            self.flow.anomaly("mms.unmatched_response",
                              f"{pdu.name} with invoke id {pdu.invoke_id} answers no request "
                              f"seen", from_client)
            entry = _Pending(not from_client, self.flow.ts, self.flow.frame, None, seen=False)
            answered: bool | None = None
        else:
            answered = True
        if kind == _CONFIRMED:
            self._emit_confirmed(entry, pdu, answered=answered)
        else:
            self._emit_simple("cancel", entry, pdu, answered=answered)

    def _give_up(self, entry: _Pending, report: bool = True) -> None:
        pdu = entry.pdu
        assert pdu is not None
        if report:
            self._unanswered_report(entry, pdu.service or pdu.name)
        if pdu.kind == CONFIRMED_REQUEST:
            self._emit_confirmed(entry, None, answered=False)
        else:
            self._emit_simple("cancel", entry, None, answered=False)

    def _unanswered_report(self, entry: _Pending, what: str) -> None:
        invoke = entry.pdu.invoke_id if entry.pdu is not None else None
        self.flow.anomaly("mms.unanswered_request",
                          f"{what}{'' if invoke is None else f' invoke id {invoke}'} "
                          f"got no response", entry.requester)

    def _reject(self, pdu: MmsPdu, from_client: bool) -> None:
        self.flow.anomaly("mms.rejected", f"reject of invoke id {pdu.invoke_id}: "
                                          f"{pdu.reject_reason}", from_client)
        entry = None
        if pdu.invoke_id is not None:
            entry = self._pending.pop((_CONFIRMED, not from_client, pdu.invoke_id), None)
        if entry is not None:
            self._emit_confirmed(entry, pdu, answered=True)
            return
        self._emit_simple("reject", _Pending(not from_client, self.flow.ts, self.flow.frame,
                                             None, seen=False), pdu, answered=None)

    def _report(self, pdu: MmsPdu, from_client: bool) -> None:
        fields = pdu.fields
        values = fields.get("values")
        report: ReportFields = {}
        if fields.get("variable_list") == "RPT" and values:
            report = decode_report(values)
        self.flow.emit(MmsReportEvent(
            **self.flow.fields(from_client), service=pdu.service_code or 0,
            service_name=pdu.service or "unknown",
            variables=fields.get("variables"), variable_list=fields.get("variable_list"),
            values=values, results=fields.get("results"), truncated=pdu.truncated, **report))

    # -- association, release, abort -------------------------------------------------------------
    def _initiate_request(self, from_client: bool, acse: Acse | None,
                          pdu: MmsPdu | None) -> None:
        if self._assoc is not None:
            old, self._assoc = self._assoc, None
            self._unanswered_report(old, "initiate")
            self._emit_initiate(old, None, None, answered=False)
        self._assoc = _Pending(from_client, self.flow.ts, self.flow.frame, pdu, acse)

    def _initiate_response(self, from_client: bool, acse: Acse | None, pdu: MmsPdu | None,
                           refused: bool) -> None:
        entry, self._assoc = self._assoc, None
        if pdu is not None and pdu.kind == INITIATE_ERROR:
            self._error_anomaly(pdu, from_client)
        rejected = refused or (acse is not None and acse.result not in (None, "accepted"))
        if rejected:
            self.flow.anomaly("mms.association_rejected",
                              "session refused (RF)" if refused else
                              f"AARE result {acse.result if acse else None}, diagnostic "
                              f"{acse.diagnostic if acse else None}", from_client)
        if entry is None:
            entry = _Pending(not from_client, self.flow.ts, self.flow.frame, None, seen=False)
        self._emit_initiate(entry, acse, pdu, answered=True if entry.seen else None,
                            rejected=rejected)

    def _release_response(self, from_client: bool, acse: Acse | None, refused: bool) -> None:
        entry, self._release = self._release, None
        if entry is None:
            entry = _Pending(not from_client, self.flow.ts, self.flow.frame, None, seen=False)
        common = self._fields(entry, answered=True)
        reason = (entry.acse.reason if entry.acse else None) or (acse.reason if acse else None)
        self.flow.emit(MmsEvent(**common, pdu="release", function_class="other",
                                answered=True if entry.seen else None,
                                request_frame=self._request_frame(entry, True),
                                result="rejected" if refused else "success", reason=reason))

    def _abort(self, from_client: bool, acse: Acse | None, provider_reason: int | None,
               session_reason: int | None) -> None:
        if acse is not None and acse.reason is not None:
            reason: str | None = acse.reason
        elif provider_reason is not None:
            reason = f"presentation-provider-{provider_reason}"
        elif session_reason is not None:
            reason = f"session-0x{session_reason:02x}"
        else:
            reason = None
        self.flow.emit(MmsEvent(**self.flow.fields(from_client), pdu="abort",
                                function_class="other", result="aborted", reason=reason))

    # -- events ----------------------------------------------------------------------------------
    def _emit_confirmed(self, entry: _Pending, resp: MmsPdu | None,
                        answered: bool | None) -> None:
        req = entry.pdu
        head = req if req is not None else resp
        assert head is not None
        fields: MmsFields = {}
        if req is not None:
            fields.update(req.fields)
        if resp is not None and resp.kind == CONFIRMED_RESPONSE:
            fields.update(resp.fields)
        service = head.service
        if (req is not None and resp is not None and resp.kind == CONFIRMED_RESPONSE
                and resp.service_code != req.service_code):
            self.flow.anomaly("mms.service_mismatch",
                              f"invoke id {req.invoke_id}: request {req.service}, response "
                              f"{resp.service}", not entry.requester)
        function_class = FUNCTION_CLASS.get(service or "", "other")
        control = control_fields(fields, write=service == "write")
        if control:
            fields.update(control)
            function_class = "control"
        result = None
        if resp is not None:
            result = {CONFIRMED_RESPONSE: "success", CONFIRMED_ERROR: "error",
                      REJECT: "rejected"}.get(resp.kind)
        err = resp if resp is not None and resp.kind == CONFIRMED_ERROR else None
        self.flow.emit(MmsEvent(
            **self._fields(entry, answered), pdu=_CONFIRMED, function_class=function_class,
            answered=answered, request_frame=self._request_frame(entry, answered),
            result=result, invoke_id=head.invoke_id, service=head.service_code,
            service_name=service,
            error_class=err.error_class if err else None,
            error_code=err.error_code if err else None,
            error_description=err.error_description if err else None,
            reject_reason=resp.reject_reason if resp is not None else None,
            truncated=bool((req and req.truncated) or (resp and resp.truncated)),
            **fields))

    def _emit_simple(self, what: str, entry: _Pending, resp: MmsPdu | None,
                     answered: bool | None) -> None:
        """conclude, cancel, reject (and unanswered release) events."""
        result = None
        if resp is not None:
            result = {CONCLUDE_RESPONSE: "success", CANCEL_RESPONSE: "success",
                      CONCLUDE_ERROR: "error", CANCEL_ERROR: "error",
                      REJECT: "rejected"}.get(resp.kind)
        head = entry.pdu if entry.pdu is not None else resp
        invoke = head.invoke_id if head is not None else None
        self.flow.emit(MmsEvent(
            **self._fields(entry, answered), pdu=what,
            service_name=what if what in ("conclude", "cancel") else None,
            function_class="control" if what == "cancel" else "other", answered=answered,
            request_frame=self._request_frame(entry, answered),
            result=result, invoke_id=invoke,
            error_class=resp.error_class if resp else None,
            error_code=resp.error_code if resp else None,
            error_description=resp.error_description if resp else None,
            reject_reason=resp.reject_reason if resp else None))

    def _emit_initiate(self, entry: _Pending, acse: Acse | None, resp: MmsPdu | None,
                       answered: bool | None, rejected: bool = False) -> None:
        req_acse = entry.acse
        req = entry.pdu.initiate if entry.pdu is not None else None
        res = resp.initiate if resp is not None else None
        auth = bool(req_acse and (req_acse.mechanism or req_acse.auth_present))
        if rejected:
            result: str | None = "rejected"
        elif resp is not None and resp.kind == INITIATE_ERROR:
            result = "error"
        elif answered is not False:
            result = "success"
        else:
            result = None
        self.flow.emit(MmsEvent(
            **self._fields(entry, answered), pdu="initiate", service_name="initiate",
            function_class="security" if auth else "other", answered=answered, result=result,
            request_frame=self._request_frame(entry, answered),
            calling_ssel=entry.selectors[0], called_ssel=entry.selectors[1],
            calling_psel=entry.selectors[2], called_psel=entry.selectors[3],
            error_class=resp.error_class if resp else None,
            error_code=resp.error_code if resp else None,
            error_description=resp.error_description if resp else None,
            application_context=(req_acse.ap_context if req_acse else None)
            or (acse.ap_context if acse else None),
            called_ap_title=req_acse.called_ap if req_acse else None,
            called_ae_qualifier=req_acse.called_ae if req_acse else None,
            calling_ap_title=req_acse.calling_ap if req_acse else None,
            calling_ae_qualifier=req_acse.calling_ae if req_acse else None,
            responding_ap_title=acse.responding_ap if acse else None,
            auth_mechanism=req_acse.mechanism if req_acse else None,
            auth_value_present=req_acse.auth_present if req_acse else None,
            association_result=acse.result if acse else None,
            association_diagnostic=acse.diagnostic if acse else None,
            max_serv_outstanding_calling=_pick(res.max_calling if res else None,
                                     req.max_calling if req else None),
            max_serv_outstanding_called=_pick(res.max_called if res else None,
                                     req.max_called if req else None),
            nesting_level=_pick(res.nesting if res else None,
                                     req.nesting if req else None),
            local_detail_calling=req.local_detail if req else None,
            local_detail_called=res.local_detail if res else None,
            version=_pick(res.version if res else None,
                                     req.version if req else None),
            parameter_cbb=(res.parameter_cbb if res and res.parameter_cbb is not None
                           else req.parameter_cbb if req else None),
            services_calling=req.services if req else None,
            services_called=res.services if res else None))

    def _fields(self, entry: _Pending, answered: bool | None) -> CommonFields:
        """Common fields with the requester as source; an unanswered request's event belongs
        to the request's packet, an answered one to the packet that completed it."""
        common = self.flow.fields(entry.requester)
        if answered is False:
            common["ts"], common["frame"] = entry.ts, entry.frame
        return common

    @staticmethod
    def _request_frame(entry: _Pending, answered: bool | None) -> int | None:
        return entry.frame if answered and entry.seen else None


_UNIT_STARTS = frozenset({SI_CN, SI_AC, SI_RF, SI_FN, SI_DN, SI_NF, SI_AB, SI_AA})


def _starts_unit(data: bytes) -> bool:
    """Whether TSDU bytes can be the start of a unit: a session SPDU that MMS uses (GT+DT as
    ``01 00 01``) or an MMS PDU tag."""
    first = data[0]
    if first == SI_DT:
        return data[1:3] == b"\x00\x01"
    return first in _UNIT_STARTS or is_mms_tag(first)


def _pick(negotiated: int | None, proposed: int | None) -> int | None:
    """The responder's negotiated value, else the requester's proposal."""
    return negotiated if negotiated is not None else proposed
