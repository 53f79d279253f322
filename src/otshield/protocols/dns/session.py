"""DNS per-flow session: pairs each response with its query by (id, question name, type), the
way a resolver matches them (RFC 5452 section 9.1), and emits one :class:`DnsEvent` per
transaction.

Queries sent to a multicast group (mDNS 224.0.0.251 / ff02::fb, LLMNR 224.0.0.252 / ff02::1:3)
are answered on other flows (the responder's own multicast or unicast flow), so they are emitted
at once instead of waiting. Pending queries are bounded by ``max_pending_requests``; the oldest
is emitted unanswered and ``dns.too_many_pending`` reported when the bound is hit.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.dns.constants import (
    HEADER_FLAGS,
    LLMNR_PORT,
    MDNS_PORT,
    OPCODES,
    RCODES,
)
from otshield.protocols.dns.events import DnsEvent
from otshield.protocols.dns.parser import DnsMessage, decode

__all__ = ["DnsSession"]

_Key = tuple[int, str, str]
_Pending = tuple[CommonFields, DnsMessage, bool]  # query fields, query, query from client


def _is_multicast(ip: str) -> bool:
    if ":" in ip:
        return ip[:2].lower() == "ff"
    head = ip.split(".", 1)[0]
    return head.isdigit() and 224 <= int(head) <= 239


def _key(msg: DnsMessage) -> _Key:
    if msg.questions:
        q = msg.questions[0]
        return (msg.id, q.name.lower(), q.type)
    return (msg.id, "", "")


def _flags(msg: DnsMessage) -> list[str]:
    flags = msg.flags
    out = [name for bit, name in HEADER_FLAGS if flags & bit]
    if msg.dnssec_ok:
        out.append("DO")
    return out


class DnsSession:
    """State of one DNS flow (UDP 5-tuple or TCP connection)."""

    __slots__ = ("client_multicast", "flow", "multicast", "pending", "service", "tcp")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.tcp = flow.transport == "tcp"
        ports = (flow.client_port, flow.server_port)
        self.service = "mdns" if MDNS_PORT in ports else "llmnr" if LLMNR_PORT in ports else "dns"
        self.multicast = _is_multicast(flow.server_ip)
        self.client_multicast = _is_multicast(flow.client_ip)
        self.pending: dict[_Key, _Pending] = {}

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            msg = decode(frame[2:] if self.tcp else frame)
        except Malformed as bad:
            flow.anomaly(bad.code, bad.detail, from_client)
            return
        for code, detail in msg.issues:
            flow.anomaly(code, detail, from_client)
        if msg.is_response:
            self._response(msg, from_client)
        elif self.multicast:
            flow.emit(self._event(flow.fields(from_client), msg, None, True))
        else:
            self._query(msg, from_client)

    def _query(self, msg: DnsMessage, from_client: bool) -> None:
        key = _key(msg)
        pending = self.pending
        if key in pending:
            return  # a retransmission: the first one dates the transaction
        flow = self.flow
        if len(pending) >= flow.settings.max_pending_requests:
            old_key = next(iter(pending))
            fields, old, _ = pending.pop(old_key)
            flow.anomaly("dns.too_many_pending",
                         f"{len(pending) + 1} unanswered queries; oldest id {old.id} reported "
                         "unanswered", from_client)
            flow.emit(self._event(fields, old, None, True))
        pending[key] = (flow.fields(from_client), msg, from_client)

    def _response(self, msg: DnsMessage, from_client: bool) -> None:
        flow = self.flow
        pending = self.pending
        hit = pending.pop(_key(msg), None)
        if hit is None and pending:
            # A server may answer without echoing the question (FORMERR, some mDNS/LLMNR
            # stacks): fall back to the id alone.
            for key in pending:
                if key[0] == msg.id:
                    hit = pending.pop(key)
                    break
        if hit is not None:
            qfields, query, query_from_client = hit
            fields = flow.fields(query_from_client)
            event = self._event(fields, query, msg, True, fields["ts"] - qfields["ts"])
        else:
            # Unsolicited (multicast announcement) or the query was missed: src is the asker
            # when the response is unicast, else the responder.
            to_group = self.multicast if from_client else self.client_multicast
            src_is_client = from_client if to_group else not from_client
            event = self._event(flow.fields(src_is_client), None, msg, False)
        flow.emit(event)

    def _event(self, fields: CommonFields, query: DnsMessage | None, resp: DnsMessage | None,
               query_seen: bool, rtt: float | None = None) -> DnsEvent:
        main = resp if resp is not None else query
        assert main is not None
        questions = (query if query is not None and query.questions else main).questions
        first = questions[0] if questions else None
        qtype_id = (query if query is not None and query.questions else main).first_qtype
        return DnsEvent(
            **fields,
            trans_id=main.id,
            kind="answer" if resp is not None else "query",
            service=self.service,
            opcode=OPCODES.get(main.opcode) or str(main.opcode),
            query=first.name if first is not None else "",
            qtype=first.type if first is not None else "",
            qtype_id=qtype_id if qtype_id >= 0 else None,
            qclass=first.qclass if first is not None else "",
            questions=list(questions) if len(questions) > 1 else None,
            questions_truncated=(query if query is not None and query.questions
                                 else main).qdcount > len(questions),
            rcode=resp.rcode if resp is not None else None,
            rcode_name=(RCODES.get(resp.rcode) or str(resp.rcode)) if resp is not None else None,
            header_flags=_flags(main),
            answers=resp.answers if resp is not None else [],
            resolved_ip=resp.resolved_ip if resp is not None else [],
            answers_truncated=resp.answers_truncated if resp is not None else False,
            answer_count=resp.ancount if resp is not None else None,
            authority_count=resp.nscount if resp is not None else None,
            additional_count=resp.arcount if resp is not None else None,
            rtt=round(rtt, 6) if rtt is not None else None,
            query_seen=query_seen,
            unicast_response=(query or main).unicast_response,
        )

    def on_data(self, data: bytes, from_client: bool) -> None:
        """DNS over TCP is framed by its length prefix (``frame_size``): frames only."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """A lost TCP segment loses whole messages only; the framer resynchronises."""

    def close(self) -> None:
        """Report every query still waiting as unanswered."""
        flow = self.flow
        for fields, query, _ in self.pending.values():
            flow.emit(self._event(fields, query, None, True))
        self.pending.clear()

