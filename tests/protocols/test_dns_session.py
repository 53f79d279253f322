"""DNS session: pairing by (id, question), retransmissions, multicast queries, unsolicited
responses, the pending bound, TCP framing, anomalies turned into events."""

from __future__ import annotations

import struct

from otshield.config import Settings
from otshield.protocols.dns.events import DnsEvent
from otshield.protocols.dns.session import DnsSession

from .it_a_build import FakeFlow, dns_header, dns_query, dns_question, dns_rr


def answer(ident: int, name: str, ip: bytes, qtype: int = 1, rcode: int = 0) -> bytes:
    return (dns_header(ident, 0x8180 | rcode, qd=1, an=1 if ip else 0)
            + dns_question(name, qtype) + (dns_rr(b"\xc0\x0c", qtype, 60, ip) if ip else b""))


def udp_flow(server: tuple[str, int] = ("10.0.0.53", 53)) -> FakeFlow:
    return FakeFlow("udp", server=server)


def test_query_and_response_make_one_event() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(dns_query(0x1111, "plc1.plant.local"), True)
    flow.step()
    s.on_frame(answer(0x1111, "plc1.plant.local", b"\x0a\x01\x02\x03"), False)
    s.close()
    (ev,) = flow.of("dns")
    assert isinstance(ev, DnsEvent)
    assert (ev.trans_id, ev.kind, ev.service, ev.query, ev.qtype, ev.qtype_id) == (
        0x1111, "answer", "dns", "plc1.plant.local", "A", 1)
    assert (ev.rcode, ev.rcode_name, ev.resolved_ip, ev.rtt) == (0, "NOERROR", ["10.1.2.3"], 0.25)
    assert ev.header_flags == ["RD", "RA"]
    assert (ev.src_ip, ev.dst_ip, ev.frame) == ("10.0.0.10", "10.0.0.53", 1)
    assert ev.query_seen


def test_pairing_uses_the_question_not_only_the_id() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(dns_query(5, "a.example"), True)
    s.on_frame(dns_query(5, "b.example"), True)
    s.on_frame(answer(5, "B.EXAMPLE", b"\x01\x01\x01\x01"), False)  # case differs (0x20)
    s.close()
    first, second = flow.of("dns")
    assert (first.query, first.kind) == ("b.example", "answer")
    assert (second.query, second.kind, second.rcode) == ("a.example", "query", None)


def test_retransmitted_query_is_one_transaction() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(dns_query(9, "x.example"), True)
    flow.step()
    s.on_frame(dns_query(9, "x.example"), True)
    flow.step()
    s.on_frame(answer(9, "x.example", b"", rcode=3), False)
    s.close()
    (ev,) = flow.of("dns")
    assert (ev.rcode_name, ev.rtt) == ("NXDOMAIN", 0.5)


def test_response_without_question_pairs_by_id() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(dns_query(77, "y.example"), True)
    s.on_frame(dns_header(77, 0x8181, qd=0), False)  # FORMERR without question
    (ev,) = flow.of("dns")
    assert (ev.query, ev.rcode_name, ev.kind) == ("y.example", "FORMERR", "answer")


def test_unsolicited_response() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(answer(3, "z.example", b"\x02\x02\x02\x02"), False)
    (ev,) = flow.of("dns")
    assert not ev.query_seen and ev.kind == "answer"
    assert ev.src_ip == "10.0.0.10"  # unicast: the asker is the source


def test_multicast_query_is_emitted_at_once() -> None:
    flow = FakeFlow("udp", client=("10.0.0.7", 5353), server=("224.0.0.251", 5353))
    s = DnsSession(flow)
    s.on_frame(dns_header(0, 0, qd=1) + dns_question("_ipp._tcp.local", 12, 0x8001), True)
    (ev,) = flow.of("dns")
    assert (ev.service, ev.kind, ev.query, ev.qtype, ev.unicast_response) == (
        "mdns", "query", "_ipp._tcp.local", "PTR", True)
    s.close()
    assert len(flow.of("dns")) == 1


def test_multicast_announcement_source_is_the_responder() -> None:
    flow = FakeFlow("udp", client=("10.0.0.8", 5353), server=("224.0.0.251", 5353))
    s = DnsSession(flow)
    s.on_frame(dns_header(0, 0x8400, qd=0, an=1) + dns_rr("h.local", 1, 120, b"\x0a\0\0\x08"),
               True)
    (ev,) = flow.of("dns")
    assert (ev.src_ip, ev.dst_ip, ev.query_seen) == ("10.0.0.8", "224.0.0.251", False)
    assert ev.answers[0].data == "10.0.0.8"


def test_llmnr_service_name() -> None:
    flow = FakeFlow("udp", client=("10.0.0.9", 5355), server=("10.0.0.7", 61000))
    s = DnsSession(flow)
    s.on_frame(dns_query(1, "wpad", flags=0), True)
    s.close()
    assert flow.of("dns")[0].service == "llmnr"


def test_pending_bound_reports_and_emits_the_oldest() -> None:
    flow = FakeFlow("udp", server=("10.0.0.53", 53), settings=Settings(max_pending_requests=3))
    s = DnsSession(flow)
    for i in range(4):
        s.on_frame(dns_query(i, f"h{i}.example"), True)
    assert flow.codes() == ["dns.too_many_pending"]
    assert [e.query for e in flow.of("dns")] == ["h0.example"]
    s.close()
    assert [e.query for e in flow.of("dns")] == ["h0.example", "h1.example", "h2.example",
                                                 "h3.example"]


def test_tcp_strips_the_length_prefix() -> None:
    flow = FakeFlow("tcp", server=("10.0.0.53", 53))
    s = DnsSession(flow)
    q = dns_query(2, "axfr.example", 252)
    s.on_frame(struct.pack("!H", len(q)) + q, True)
    r = answer(2, "axfr.example", b"", qtype=252)
    s.on_frame(struct.pack("!H", len(r)) + r, False)
    (ev,) = flow.of("dns")
    assert (ev.qtype, ev.transport) == ("AXFR", "tcp")


def test_malformed_messages_become_anomalies_and_the_flow_goes_on() -> None:
    flow = udp_flow()
    s = DnsSession(flow)
    s.on_frame(b"\x00\x01\x02", True)                                       # no header
    s.on_frame(dns_header(4, 0x0100, qd=1) + b"\xc0\x0c\x00\x01\x00\x01", True)  # loop
    s.on_frame(dns_query(5, "ok.example"), True)
    s.close()
    assert flow.codes() == ["dns.truncated", "dns.compression_loop"]
    assert [e.query for e in flow.of("dns")] == ["", "ok.example"]


def test_question_list_is_capped_and_flagged() -> None:
    flow = FakeFlow("udp", client=("10.0.0.7", 5353), server=("224.0.0.251", 5353))
    s = DnsSession(flow)
    many = b"".join(dns_question(f"s{i}._tcp.local", 12) for i in range(40))
    s.on_frame(dns_header(0, 0, qd=40) + many, True)
    (ev,) = flow.of("dns")
    assert ev.questions is not None and len(ev.questions) == 32 and ev.questions_truncated
