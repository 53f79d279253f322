"""BACnet network and application layers, shared by BACnet/IP and BACnet/Ethernet.

A :class:`BacnetCore` takes one NPDU at a time (from a BVLL message or an LLC frame), emits
network-layer messages as ``bacnet_network`` events and turns APDUs into ``bacnet``
transactions (clause 5.4 transaction state machines, seen from outside):

- confirmed requests are paired with their SimpleACK / ComplexACK / Error / Reject / Abort by
  (requester side, invoke id, far network addresses): a router's DNET/DADR of the request is
  the reply's SNET/SADR and the other way round (6.2.2);
- segmented requests and ComplexACKs (5.2) are put back together, in order, up to
  ``Settings.max_frame_bytes``; retransmitted segments are ignored, a lost one marks the
  transaction ``segments_missing`` and its parameters of that side are not decoded;
- pending requests are bounded by ``Settings.max_pending_requests`` (the oldest is reported
  unanswered, ``bacnet.too_many_pending`` once) and ``Settings.request_timeout`` seconds.

Subclasses say where events come from (:meth:`BacnetCore.where`) and how anomalies and events
leave (:meth:`BacnetCore.anomaly`, :meth:`BacnetCore.emit`).
"""

from __future__ import annotations

from typing import TypedDict

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.events import CommonFields, Event
from otshield.protocols.bacnet.constants import (
    ABORT_REASONS,
    CONFIRMED_SERVICE_CLASS,
    CONFIRMED_SERVICES,
    MAX_APDU,
    MAX_SEGMENTS,
    NETWORK_MESSAGE_CLASS,
    NETWORK_MESSAGES,
    NETWORK_PRIORITIES,
    NETWORK_REJECT_REASONS,
    PDU_TYPES,
    REJECT_REASONS,
    UNCONFIRMED_SERVICE_CLASS,
    UNCONFIRMED_SERVICES,
    VENDORS,
)
from otshield.protocols.bacnet.events import BacnetEvent, BacnetNetworkEvent
from otshield.protocols.bacnet.parser import (
    Apdu,
    Npdu,
    parse_apdu,
    parse_network_message,
    parse_npdu,
)
from otshield.protocols.bacnet.services import (
    ACK_DECODERS,
    CONFIRMED_DECODERS,
    UNCONFIRMED_DECODERS,
    Decoder,
    Detail,
    decode_error,
)
from otshield.protocols.bacnet.tags import TagReader

__all__ = ["BacnetCore", "MacFields", "Side"]

Side = bool | tuple[str, str]
"""Who sent a packet: ``from_client`` on a UDP flow, (source MAC, destination MAC) on a link."""
NetKey = tuple[int | None, str | None, int | None, str | None]
Key = tuple[Side, int, NetKey]


class MacFields(TypedDict):
    src_mac: str
    dst_mac: str
    vlan: int | None


_REPLY_NAMES = {2: "simple-ack", 3: "complex-ack", 5: "error", 6: "reject", 7: "abort"}


class _Pending:
    """A confirmed request waiting for its reply (or for more of its segments)."""

    __slots__ = (
        "ack",
        "ack_buf",
        "ack_next",
        "ack_segments",
        "bvlc",
        "choice",
        "detail",
        "frame",
        "invoke",
        "missing",
        "npdu",
        "origin",
        "req_buf",
        "req_next",
        "req_segments",
        "side",
        "ts",
    )

    def __init__(self, side: Side, invoke: int, choice: int, npdu: Npdu, bvlc: str | None,
                 origin: str | None, ts: float, frame: int) -> None:
        self.side = side
        self.invoke = invoke
        self.choice = choice
        self.npdu = npdu
        self.bvlc = bvlc
        self.origin = origin
        self.ts = ts
        self.frame = frame
        self.detail = Detail()
        self.ack: Detail | None = None
        self.req_buf: bytearray | None = None
        """Segmented request being put together (None when complete or not segmented)."""
        self.req_next = 0
        self.req_segments: int | None = None
        self.ack_buf: bytearray | None = None
        self.ack_next = 0
        self.ack_segments: int | None = None
        self.missing = False


class BacnetCore:
    """Network and application layers of BACnet; see the module docstring."""

    medium = ""

    def __init__(self, settings: Settings) -> None:
        self.limit = max(1, settings.max_pending_requests)
        self.timeout = settings.request_timeout
        self.max_bytes = settings.max_frame_bytes
        self.pending: dict[Key, _Pending] = {}
        self.next_check = 0.0
        self.flagged_full = False
        self.unanswered = 0

    # -- what subclasses provide -----------------------------------------------------------
    def where(self, side: Side) -> tuple[CommonFields, MacFields]:
        """Common event fields with ``side`` as the source, at the current packet."""
        raise NotImplementedError

    def anomaly(self, code: str, detail: str) -> None:
        """Report an anomaly about the current packet."""
        raise NotImplementedError

    def emit(self, event: Event) -> None:
        raise NotImplementedError

    def now(self) -> float:
        raise NotImplementedError

    # -- network layer ---------------------------------------------------------------------
    def npdu(self, buf: bytes, pos: int, side: Side, peer: Side, bvlc: str | None,
             origin: str | None) -> None:
        """One NPDU at ``buf[pos:]`` sent by ``side`` to ``peer``."""
        try:
            npdu = parse_npdu(buf, pos)
        except Malformed as m:
            self.anomaly(m.code, m.detail)
            return
        if npdu.message is not None:
            try:
                parse_network_message(npdu, buf)
            except Malformed as m:
                self.anomaly(m.code, m.detail)
            self._network(npdu, side, bvlc, origin)
            return
        try:
            apdu = parse_apdu(buf, npdu.apdu_offset)
        except Malformed as m:
            self.anomaly(m.code, m.detail)
            return
        if self.pending and self.now() >= self.next_check:
            self.expire()
        t = apdu.pdu_type
        if t == 1:
            self._unconfirmed(buf, apdu, npdu, side, bvlc, origin)
        elif t == 0:
            self._request(buf, apdu, npdu, side, bvlc, origin)
        elif t == 4:
            return  # Segment-ACK: flow control only
        else:
            self._reply(buf, apdu, npdu, side, peer, bvlc, origin)

    def _network(self, npdu: Npdu, side: Side, bvlc: str | None, origin: str | None) -> None:
        msg = npdu.message
        assert msg is not None
        cls = NETWORK_MESSAGE_CLASS.get(msg, "other")
        if msg == 0x06 and not npdu.ports:
            cls = "read"  # an empty Initialize-Routing-Table asks for the table
        if msg > 0x13 and msg < 0x80:
            self.anomaly("bacnet.unknown_network_message", f"reserved message type 0x{msg:02x}")
        common, macs = self.where(side)
        self.emit(BacnetNetworkEvent(
            **common, **macs, medium=self.medium, function_class=cls, bvlc_function=bvlc,
            message=NETWORK_MESSAGES.get(msg) or str(msg), message_type=msg,
            vendor_id=npdu.vendor_id, networks=npdu.networks,
            reject_reason=(NETWORK_REJECT_REASONS.get(npdu.reason) or str(npdu.reason))
            if msg == 0x03 and npdu.reason is not None else None,
            ports=npdu.ports, dnet=npdu.dnet, dadr=npdu.dadr, snet=npdu.snet, sadr=npdu.sadr,
            hop_count=npdu.hop_count, address=origin))

    # -- application layer -----------------------------------------------------------------
    def _decode(self, table: dict[int, Decoder], choice: int, buf: bytes | bytearray,
                start: int, detail: Detail) -> None:
        decoder = table.get(choice)
        if decoder is None:
            return
        r = TagReader(bytes(buf) if isinstance(buf, bytearray) else buf, start)
        try:
            decoder(r, detail)
            if not r.at_end():
                self.anomaly("bacnet.bad_tag",
                             f"{r.end - r.pos} octets after the service parameters")
        except Malformed as m:
            self.anomaly(m.code, m.detail)

    def _unconfirmed(self, buf: bytes, apdu: Apdu, npdu: Npdu, side: Side, bvlc: str | None,
                     origin: str | None) -> None:
        choice = apdu.service
        assert choice is not None
        name = UNCONFIRMED_SERVICES.get(choice)
        if name is None:
            self.anomaly("bacnet.unknown_service", f"unconfirmed service choice {choice}")
        detail = Detail()
        self._decode(UNCONFIRMED_DECODERS, choice, buf, apdu.body, detail)
        common, macs = self.where(side)
        self._event(common, macs, npdu, bvlc, origin, "unconfirmed-request", choice,
                    name or str(choice), UNCONFIRMED_SERVICE_CLASS.get(choice, "other"), None,
                    detail, None)

    def _key(self, requester: Side, invoke: int, npdu: Npdu, request: bool) -> Key:
        if request:
            return requester, invoke, (npdu.dnet, npdu.dadr, npdu.snet, npdu.sadr)
        return requester, invoke, (npdu.snet, npdu.sadr, npdu.dnet, npdu.dadr)

    def _request(self, buf: bytes, apdu: Apdu, npdu: Npdu, side: Side, bvlc: str | None,
                 origin: str | None) -> None:
        choice = apdu.service
        invoke = apdu.invoke_id
        assert choice is not None and invoke is not None
        key = self._key(side, invoke, npdu, True)
        if apdu.segmented and apdu.sequence != 0:
            entry = self.pending.get(key)
            if entry is None or entry.req_segments is None:
                self.anomaly("bacnet.segment_error",
                             f"request segment {apdu.sequence} of invoke id {invoke} without "
                             "its first segment")
                return
            self._request_segment(entry, buf, apdu)
            return
        if choice not in CONFIRMED_SERVICES:
            self.anomaly("bacnet.unknown_service", f"confirmed service choice {choice}")
        old = self.pending.get(key)
        if old is not None:
            if (apdu.segmented and old.req_buf is not None and old.choice == choice
                    and old.req_next == 1):
                return  # the first segment again: a retransmission
            del self.pending[key]
            self._unanswered(old)  # invoke id reused: the earlier request got no reply
        if len(self.pending) >= self.limit:
            oldest = next(iter(self.pending))
            self._unanswered(self.pending.pop(oldest))
            if not self.flagged_full:
                self.flagged_full = True
                self.anomaly("bacnet.too_many_pending",
                             f"more than {self.limit} confirmed requests awaiting replies")
        common, _ = self.where(side)
        entry = _Pending(side, invoke, choice, npdu, bvlc, origin, common["ts"], common["frame"])
        self.pending[key] = entry
        detail = entry.detail
        detail.max_apdu_accepted = MAX_APDU.get(apdu.max_apdu)
        if apdu.segmented_accepted:
            detail.max_segments_accepted = MAX_SEGMENTS[apdu.max_segments]
        if apdu.segmented:
            entry.req_buf = bytearray(buf[apdu.body:])
            entry.req_next = 1
            entry.req_segments = 1
            if not apdu.more_follows:
                self._request_complete(entry)
        else:
            self._decode(CONFIRMED_DECODERS, choice, buf, apdu.body, entry.detail)

    def _request_segment(self, entry: _Pending, buf: bytes, apdu: Apdu) -> None:
        seq = apdu.sequence
        assert seq is not None and entry.req_segments is not None
        if entry.req_buf is None and not entry.missing:
            return  # a retransmission after the request was complete
        if seq != entry.req_next:
            if (entry.req_next - seq) & 0xFF < 128:
                return  # a retransmitted earlier segment
            self._lost(entry, f"request segment {seq} where {entry.req_next} was due")
        entry.req_segments += 1
        entry.req_next = (seq + 1) & 0xFF
        if entry.req_buf is not None:
            if len(entry.req_buf) + len(buf) - apdu.body > self.max_bytes:
                self._lost(entry, "segmented request longer than Settings.max_frame_bytes")
            else:
                entry.req_buf += buf[apdu.body:]
        if not apdu.more_follows:
            self._request_complete(entry)

    def _request_complete(self, entry: _Pending) -> None:
        if entry.req_buf is not None:
            self._decode(CONFIRMED_DECODERS, entry.choice, entry.req_buf, 0, entry.detail)
        entry.req_buf = None

    def _lost(self, entry: _Pending, detail: str) -> None:
        if not entry.missing:
            self.anomaly("bacnet.segment_error", detail)
        entry.missing = True
        entry.req_buf = None
        entry.ack_buf = None

    def _reply(self, buf: bytes, apdu: Apdu, npdu: Npdu, side: Side, peer: Side,
               bvlc: str | None, origin: str | None) -> None:
        invoke = apdu.invoke_id
        assert invoke is not None
        t = apdu.pdu_type
        requester = side if (t == 7 and not apdu.server) else peer
        key = self._key(requester, invoke, npdu, requester == side)
        entry = self.pending.get(key)
        if entry is not None and apdu.service is not None and apdu.service != entry.choice:
            self.anomaly("bacnet.reply_mismatch",
                         f"reply for service {apdu.service} to a request for {entry.choice}")
            entry = None
        if entry is None:
            self._orphan(buf, apdu, npdu, requester, bvlc, origin)
            return
        if t == 3:
            if apdu.segmented:
                if not self._ack_segment(entry, buf, apdu):
                    return
            else:
                entry.ack = Detail()
                self._decode(ACK_DECODERS, entry.choice, buf, apdu.body, entry.ack)
        del self.pending[key]
        self._complete(entry, buf, apdu)

    def _ack_segment(self, entry: _Pending, buf: bytes, apdu: Apdu) -> bool:
        """Add one ComplexACK segment; True when the last one arrived."""
        seq = apdu.sequence
        assert seq is not None
        body = buf[apdu.body:]
        if entry.ack_segments is None:
            entry.ack_segments, entry.ack_next, entry.ack_buf = 0, 0, bytearray()
        if seq != entry.ack_next:
            if entry.ack_segments and (entry.ack_next - seq) & 0xFF < 128:
                return False  # a retransmitted earlier segment
            self._lost(entry, f"response segment {seq} where {entry.ack_next} was due")
        entry.ack_segments += 1
        entry.ack_next = (seq + 1) & 0xFF
        if entry.ack_buf is not None:
            if len(entry.ack_buf) + len(body) > self.max_bytes:
                self._lost(entry, "segmented response longer than Settings.max_frame_bytes")
            else:
                entry.ack_buf += body
        if apdu.more_follows:
            return False
        entry.ack = Detail()
        if entry.ack_buf is not None:
            self._decode(ACK_DECODERS, entry.choice, entry.ack_buf, 0, entry.ack)
        entry.ack_buf = None
        return True

    def _complete(self, entry: _Pending, buf: bytes, apdu: Apdu) -> None:
        t = apdu.pdu_type
        common, macs = self.where(entry.side)
        ts = common["ts"]
        error_class = error_code = reject = abort = None
        abort_by_server: bool | None = None
        if t == 5:
            error_class, error_code = self._error(buf, apdu)
        elif t == 6:
            reject = self._reason(REJECT_REASONS, apdu.reason)
        elif t == 7:
            abort = self._reason(ABORT_REASONS, apdu.reason)
            abort_by_server = apdu.server
        self._event(common, macs, entry.npdu, entry.bvlc, entry.origin, "confirmed-request",
                    entry.choice, CONFIRMED_SERVICES.get(entry.choice) or str(entry.choice),
                    CONFIRMED_SERVICE_CLASS.get(entry.choice, "other"), entry.invoke,
                    entry.detail, entry.ack, answered=True, reply=_REPLY_NAMES[t],
                    error_class=error_class, error_code=error_code, reject_reason=reject,
                    abort_reason=abort, abort_by_server=abort_by_server,
                    response_time=round(ts - entry.ts, 6), entry=entry)

    @staticmethod
    def _reason(table: dict[int, str], code: int | None) -> str:
        assert code is not None
        if code >= 64:
            return f"proprietary-{code}"
        return table.get(code) or str(code)

    def _error(self, buf: bytes, apdu: Apdu) -> tuple[str | None, str | None]:
        r = TagReader(buf, apdu.body)
        try:
            return decode_error(r)
        except Malformed as m:
            self.anomaly(m.code, m.detail)
            return None, None

    def _orphan(self, buf: bytes, apdu: Apdu, npdu: Npdu, requester: Side, bvlc: str | None,
                origin: str | None) -> None:
        """A reply whose request was not seen."""
        t = apdu.pdu_type
        choice = apdu.service
        if t == 3 and apdu.segmented and apdu.sequence != 0:
            return  # later segments of an unknown response: the first one was reported
        ack: Detail | None = None
        if t == 3 and choice is not None and not apdu.segmented:
            ack = Detail()
            self._decode(ACK_DECODERS, choice, buf, apdu.body, ack)
        error_class = error_code = reject = abort = None
        if t == 5:
            error_class, error_code = self._error(buf, apdu)
        elif t == 6:
            reject = self._reason(REJECT_REASONS, apdu.reason)
        elif t == 7:
            abort = self._reason(ABORT_REASONS, apdu.reason)
        common, macs = self.where(requester)
        name = (CONFIRMED_SERVICES.get(choice) or str(choice)) if choice is not None \
            else "unknown"
        self._event(common, macs, npdu, bvlc, origin, PDU_TYPES[t], choice, name,
                    CONFIRMED_SERVICE_CLASS.get(choice, "other") if choice is not None
                    else "other", apdu.invoke_id, Detail(), ack, answered=True,
                    reply=_REPLY_NAMES[t], error_class=error_class, error_code=error_code,
                    reject_reason=reject, abort_reason=abort,
                    abort_by_server=apdu.server if t == 7 else None, request_missing=True,
                    response_segments=1 if apdu.segmented else None,
                    segments_missing=bool(apdu.segmented and apdu.more_follows))

    def _unanswered(self, entry: _Pending) -> None:
        common, macs = self.where(entry.side)
        common["ts"] = entry.ts
        common["frame"] = entry.frame
        if entry.req_buf is not None or entry.ack_buf is not None:
            entry.missing = True  # the last segment of the request or response never came
        self.unanswered += 1
        self._event(common, macs, entry.npdu, entry.bvlc, entry.origin, "confirmed-request",
                    entry.choice, CONFIRMED_SERVICES.get(entry.choice) or str(entry.choice),
                    CONFIRMED_SERVICE_CLASS.get(entry.choice, "other"), entry.invoke,
                    entry.detail, None, answered=False, entry=entry)

    def expire(self) -> None:
        """Report requests older than ``Settings.request_timeout`` as unanswered."""
        now = self.now()
        limit = now - self.timeout
        for key in [k for k, e in self.pending.items() if e.ts < limit]:
            self._unanswered(self.pending.pop(key))
        self.next_check = now + min(self.timeout, 1.0)

    def finish(self) -> None:
        """End of input: every pending request is unanswered."""
        for entry in list(self.pending.values()):
            self._unanswered(entry)
        self.pending.clear()
        if self.unanswered:
            self.anomaly("bacnet.unanswered_request",
                         f"{self.unanswered} confirmed requests got no reply")
            self.unanswered = 0

    def _event(self, common: CommonFields, macs: MacFields, npdu: Npdu, bvlc: str | None,
               origin: str | None, pdu_type: str, choice: int | None, name: str, cls: str,
               invoke: int | None, req: Detail, ack: Detail | None, *,
               answered: bool | None = None, reply: str | None = None,
               error_class: str | None = None, error_code: str | None = None,
               reject_reason: str | None = None, abort_reason: str | None = None,
               abort_by_server: bool | None = None, response_time: float | None = None,
               request_missing: bool = False, response_segments: int | None = None,
               segments_missing: bool = False, entry: _Pending | None = None) -> None:
        decoded = req.__dict__ if ack is None else {**req.__dict__, **ack.__dict__}
        extra = {k: v for k, v in decoded.items() if v is not None}
        vendor = extra.get("vendor_id")
        if vendor is not None:
            extra["vendor_name"] = VENDORS.get(vendor)
        request_segments = None
        if entry is not None:
            if answered:
                extra["request_frame"] = entry.frame
            request_segments = entry.req_segments
            response_segments = entry.ack_segments
            segments_missing = entry.missing
        self.emit(BacnetEvent(
            **common, **macs, medium=self.medium, pdu_type=pdu_type, service=name,
            service_choice=choice, function_class=cls, invoke_id=invoke, answered=answered,
            reply=reply, error_class=error_class, error_code=error_code,
            reject_reason=reject_reason, abort_reason=abort_reason,
            abort_by_server=abort_by_server, response_time=response_time,
            request_missing=request_missing, request_segments=request_segments,
            response_segments=response_segments, segments_missing=segments_missing,
            bvlc_function=bvlc, forwarded_from=origin, dnet=npdu.dnet, dadr=npdu.dadr,
            snet=npdu.snet, sadr=npdu.sadr,
            network_priority=NETWORK_PRIORITIES[npdu.priority], **extra))
