"""DNS golden tests: captures written with pcapwriter, decoded end to end, compared with the
events expected from RFC 1035 / RFC 6762 (written by hand). DNS over TCP is replayed re-split
into 1-byte and random segments and must give the same events."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from .it_a_build import (
    comparable,
    dns_header,
    dns_query,
    dns_question,
    dns_rr,
    events_of,
    one_byte,
    random_sizes,
    write_tcp,
    write_udp,
)

C = ("10.0.0.10", 50123)
C2 = ("10.0.0.10", 50124)
NS = ("10.0.0.53", 53)
_POSITION = {"network.community_id", "flow_id"}


def _strip(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in _POSITION} for e in events]


def _common(frame: int, src: tuple[str, int], dst: tuple[str, int], ts: float,
            transport: str = "udp") -> dict[str, Any]:
    return {"@timestamp": ts, "frame": frame, "source.ip": src[0], "source.port": src[1],
            "destination.ip": dst[0], "destination.port": dst[1],
            "network.transport": transport}


RIPPLE_CNAME = b"".join(bytes([n]) + c * n for n, c in (
    (63, b"a"), (63, b"b"), (63, b"c"), (62, b"d"))) + b"\x01e\x00"


def test_udp_dns_mdns_and_ripple20(tmp_path: Path) -> None:
    path = write_udp(tmp_path / "dns.pcap", [
        # 1: query A plc.example (id 0x1001, RD)
        (C, NS, dns_query(0x1001, "plc.example")),
        # 2: response NOERROR, one A record via a pointer to the question
        (NS, C, dns_header(0x1001, 0x8180, qd=1, an=1) + dns_question("plc.example", 1)
         + dns_rr(b"\xc0\x0c", 1, 300, bytes([192, 168, 1, 10]))),
        # 3: query AAAA, never answered
        (C, NS, dns_query(0x1002, "plc.example", 28)),
        # 4: mDNS browse to the group, QU bit set
        (("10.0.0.7", 5353), ("224.0.0.251", 5353),
         dns_header(0, 0, qd=1) + dns_question("_http._tcp.local", 12, 0x8001)),
        # 5-6: the Ripple20 long CNAME (258-octet name)
        (C2, NS, dns_query(0x4A89, "sadownload.mcafee.com")),
        (NS, C2, dns_header(0x4A89, 0x8400, qd=1, an=1)
         + dns_question("sadownload.mcafee.com", 1) + dns_rr(b"\xc0\x0c", 5, 300, RIPPLE_CNAME)),
    ])
    t0 = 1_700_000_000.0
    long_name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62, "e"])
    expected = [
        {"event.dataset": "dns", "dns.id": 0x1001, "dns.type": "answer",
         "network.protocol": "dns", "dns.op_code": "QUERY", "dns.question.name": "plc.example",
         "dns.question.type": "A", "dns.question.type_id": 1, "dns.question.class": "IN",
         "dns.rcode": 0, "dns.response_code": "NOERROR", "dns.header_flags": ["RD", "RA"],
         "dns.answers": [{"name": "plc.example", "type": "A", "class": "IN", "ttl": 300,
                          "data": "192.168.1.10"}],
         "dns.resolved_ip": ["192.168.1.10"], "dns.answer_count": 1, "dns.authority_count": 0,
         "dns.additional_count": 0, "dns.rtt": 0.01, **_common(2, C, NS, t0 + 0.01)},
        {"event.dataset": "dns", "dns.id": 0, "dns.type": "query", "network.protocol": "mdns",
         "dns.op_code": "QUERY", "dns.question.name": "_http._tcp.local",
         "dns.question.type": "PTR", "dns.question.type_id": 12, "dns.question.class": "IN",
         "dns.unicast_response": True,
         **_common(4, ("10.0.0.7", 5353), ("224.0.0.251", 5353), t0 + 0.03)},
        {"event.dataset": "anomaly", "event.code": "dns.oversized_name",
         "message": "name at offset 51 is 258 octets (limit 255)", "protocol": "dns",
         **_common(6, NS, C2, t0 + 0.05)},
        {"event.dataset": "dns", "dns.id": 0x4A89, "dns.type": "answer",
         "network.protocol": "dns", "dns.op_code": "QUERY",
         "dns.question.name": "sadownload.mcafee.com", "dns.question.type": "A",
         "dns.question.type_id": 1, "dns.question.class": "IN", "dns.rcode": 0,
         "dns.response_code": "NOERROR", "dns.header_flags": ["AA"],
         "dns.answers": [{"name": "sadownload.mcafee.com", "type": "CNAME", "class": "IN",
                          "ttl": 300, "data": long_name}],
         "dns.answer_count": 1, "dns.authority_count": 0, "dns.additional_count": 0,
         "dns.rtt": 0.01, **_common(6, C2, NS, t0 + 0.05)},
        {"event.dataset": "dns", "dns.id": 0x1002, "dns.type": "query",
         "network.protocol": "dns", "dns.op_code": "QUERY", "dns.question.name": "plc.example",
         "dns.question.type": "AAAA", "dns.question.type_id": 28, "dns.question.class": "IN",
         "dns.header_flags": ["RD"], **_common(3, C, NS, t0 + 0.02)},
    ]
    got = _strip(events_of(path, "dns"))
    anomalies = _strip(events_of(path, "anomaly"))
    # Emission order: paired at the response, multicast at once, unanswered at the flow's end.
    assert got == [e for e in expected if e["event.dataset"] == "dns"]
    assert anomalies == [e for e in expected if e["event.dataset"] == "anomaly"]


def _tcp_messages() -> list[tuple[bool, bytes]]:
    q1 = dns_query(0x2001, "historian.plant", 1)
    q2 = dns_query(0x2002, "historian.plant", 16)
    r1 = (dns_header(0x2001, 0x8580, qd=1, an=1) + dns_question("historian.plant", 1)
          + dns_rr(b"\xc0\x0c", 1, 60, bytes([10, 9, 8, 7])))
    r2 = (dns_header(0x2002, 0x8580, qd=1, an=1) + dns_question("historian.plant", 16)
          + dns_rr(b"\xc0\x0c", 16, 60, b"\x0bv=spf1 -all"))

    def framed(m: bytes) -> bytes:
        return struct.pack("!H", len(m)) + m

    # both queries in one segment (RFC 7766 section 6.2.1.1 pipelining), answers reversed
    return [(True, framed(q1) + framed(q2)), (False, framed(r2)), (False, framed(r1))]


def test_dns_over_tcp(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "tcp.pcap", NS, _tcp_messages())
    got = _strip(events_of(path, "dns"))
    assert [(e["dns.id"], e["dns.question.type"], e["dns.answers"][0]["data"],
             e["network.transport"], e["dns.header_flags"]) for e in got] == [
        (0x2002, "TXT", '"v=spf1 -all"', "tcp", ["AA", "RD", "RA"]),
        (0x2001, "A", "10.9.8.7", "tcp", ["AA", "RD", "RA"]),
    ]
    # handshake (3 frames), segment 4 + ack 5, response 6 + ack 7, response 8
    assert [e["frame"] for e in got] == [6, 8]
    assert events_of(path, "anomaly") == []


@pytest.mark.parametrize("mode", ["one_byte", "random"])
def test_dns_over_tcp_resegmented(tmp_path: Path, mode: str) -> None:
    whole = write_tcp(tmp_path / "whole.pcap", NS, _tcp_messages())
    split = one_byte if mode == "one_byte" else random_sizes(11)
    again = write_tcp(tmp_path / "split.pcap", NS, _tcp_messages(), split=split)
    assert comparable(again, ("dns",)) == comparable(whole, ("dns",))
    assert len(comparable(whole, ("dns",))) == 2


def test_tcp_length_prefix_too_short(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "bad.pcap", NS, [(True, b"\x00\x05hello")])
    assert [e["event.code"] for e in events_of(path, "anomaly")] == ["dns.invalid_length"]
