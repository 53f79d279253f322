"""The DNS event: one per transaction (query and its response together), as Zeek's dns.log and
the ECS ``dns.*`` field set describe it. A query never answered is emitted with ``kind="query"``
when the flow ends; a response whose query was not seen, with ``query_seen=False``."""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["DnsAnswer", "DnsEvent", "DnsQuestion"]


class DnsQuestion(msgspec.Struct, frozen=True, gc=False, rename={"qclass": "class"}):
    """One entry of the question section."""

    name: str
    type: str
    qclass: str


class DnsAnswer(msgspec.Struct, frozen=True, gc=False, rename={"rclass": "class"}):
    """One answer record, ECS ``dns.answers`` shape. ``data`` is the record data in zone-file
    presentation form (RFC 1035 section 5.1) for the common types, RFC 3597 ``\\# len hex``
    otherwise."""

    name: str
    type: str
    rclass: str
    ttl: int
    data: str


class DnsEvent(
    Event,
    tag="dns",
    frozen=True,
    rename=ecs(
        trans_id="dns.id",
        kind="dns.type",
        service="network.protocol",
        opcode="dns.op_code",
        query="dns.question.name",
        qtype="dns.question.type",
        qtype_id="dns.question.type_id",
        qclass="dns.question.class",
        questions="dns.questions",
        questions_truncated="dns.questions_truncated",
        rcode="dns.rcode",
        rcode_name="dns.response_code",
        header_flags="dns.header_flags",
        answers="dns.answers",
        resolved_ip="dns.resolved_ip",
        answers_truncated="dns.answers_truncated",
        answer_count="dns.answer_count",
        authority_count="dns.authority_count",
        additional_count="dns.additional_count",
        rtt="dns.rtt",
        query_seen="dns.query_seen",
        unicast_response="dns.unicast_response",
    ),
):
    """A DNS, mDNS or LLMNR transaction. ``src`` is the side that asked (for a response seen
    without its query on a multicast group, the responder)."""

    trans_id: int
    kind: str
    """``answer`` when a response was seen, ``query`` for a query never answered."""
    service: str
    """``dns``, ``mdns`` (RFC 6762) or ``llmnr`` (RFC 4795)."""
    opcode: str
    query: str = ""
    """First question name (``.`` is the root)."""
    qtype: str = ""
    qtype_id: int | None = None
    qclass: str = ""
    questions: list[DnsQuestion] | None = None
    """Every question, only when there is more than one (mDNS); capped at 32."""
    questions_truncated: bool = False
    rcode: int | None = None
    """Response code, with the EDNS(0) extended bits when an OPT record carries them."""
    rcode_name: str | None = None
    header_flags: list[str] = msgspec.field(default_factory=list)
    """AA, TC, RD, RA, AD, CD of the response (of the query when unanswered), and DO."""
    answers: list[DnsAnswer] = msgspec.field(default_factory=list)
    resolved_ip: list[str] = msgspec.field(default_factory=list)
    answers_truncated: bool = False
    """More than 64 answer records: only the first 64 are listed."""
    answer_count: int | None = None
    authority_count: int | None = None
    additional_count: int | None = None
    rtt: float | None = None
    """Seconds from query to response."""
    query_seen: bool = True
    unicast_response: bool = False
    """mDNS "QU" bit: the asker wants a unicast reply (RFC 6762 section 5.4)."""
