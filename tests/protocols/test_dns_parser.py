"""DNS parser unit tests: annotated byte vectors (RFC 1035 section 4.1), every record type
decoded, every anomaly code, and a cross-check against dnspython on the corpus."""

from __future__ import annotations

import struct

import dns.message
import dns.rdatatype
import pytest

from otshield.errors import Malformed
from otshield.protocols.dns.parser import decode, frame_size, read_name
from support import PCAPS

from .it_a_build import dns_header, dns_name, dns_question, dns_rr


def _answers(msg: bytes) -> list[tuple[str, str, str, int, str]]:
    return [(a.name, a.type, a.rclass, a.ttl, a.data) for a in decode(msg).answers]


def test_query_vector() -> None:
    msg = bytes.fromhex(
        "beef"          # id 0xbeef
        "0120"          # flags: QR=0 opcode=0 RD=1 AD=1
        "0001"          # QDCOUNT 1
        "0000"          # ANCOUNT 0
        "0000"          # NSCOUNT 0
        "0000"          # ARCOUNT 0
        "03777777"      # label "www"
        "076578616d706c65"  # label "example"
        "03636f6d"      # label "com"
        "00"            # root
        "001c"          # QTYPE AAAA (28)
        "0001"          # QCLASS IN
    )
    m = decode(msg)
    assert (m.id, m.is_response, m.opcode, m.rcode) == (0xBEEF, False, 0, 0)
    assert m.flags & 0x0100 and m.flags & 0x0020
    assert [(q.name, q.type, q.qclass) for q in m.questions] == [("www.example.com", "AAAA", "IN")]
    assert m.first_qtype == 28
    assert m.issues == []


def test_response_every_decoded_type_with_compression() -> None:
    # Question at offset 12: "example.com" (labels at 12 and 20); owners point back to it.
    head = dns_header(7, 0x8180, qd=1, an=9)  # QR RD RA, NOERROR
    q = dns_question("example.com", 255)
    ptr = b"\xc0\x0c"  # pointer to offset 12
    rrs = [
        dns_rr(ptr, 1, 300, bytes([192, 0, 2, 1])),                              # A
        dns_rr(ptr, 28, 300, bytes.fromhex("20010db8000000000000000000000001")),  # AAAA
        dns_rr(b"\x03www" + ptr, 5, 60, ptr),                                    # CNAME
        dns_rr(ptr, 2, 3600, b"\x03ns1" + ptr),                                  # NS
        dns_rr(ptr, 15, 3600, struct.pack("!H", 10) + b"\x04mail" + ptr),         # MX 10
        dns_rr(ptr, 16, 30, b"\x05hello\x0aworld \"x\"\\"),                      # TXT, 2 strings
        dns_rr("4.1.2.192.in-addr.arpa", 12, 5, ptr),                              # PTR
        dns_rr(ptr, 6, 900, b"\x03ns1" + ptr + b"\x05admin" + ptr
               + struct.pack("!IIIII", 2024010101, 7200, 900, 1209600, 300)),     # SOA
        dns_rr(b"\x04_sip\x04_tcp" + ptr, 33, 86400,
               struct.pack("!HHH", 10, 60, 5060) + b"\x03sip" + ptr),              # SRV
    ]
    m = decode(head + q + b"".join(rrs))
    assert m.issues == []
    assert _answers(head + q + b"".join(rrs)) == [
        ("example.com", "A", "IN", 300, "192.0.2.1"),
        ("example.com", "AAAA", "IN", 300, "2001:db8::1"),
        ("www.example.com", "CNAME", "IN", 60, "example.com"),
        ("example.com", "NS", "IN", 3600, "ns1.example.com"),
        ("example.com", "MX", "IN", 3600, "10 mail.example.com"),
        ("example.com", "TXT", "IN", 30, '"hello" "world \\"x\\"\\\\"'),
        ("4.1.2.192.in-addr.arpa", "PTR", "IN", 5, "example.com"),
        ("example.com", "SOA", "IN", 900,
         "ns1.example.com admin.example.com 2024010101 7200 900 1209600 300"),
        ("_sip._tcp.example.com", "SRV", "IN", 86400, "10 60 5060 sip.example.com"),
    ]
    assert m.resolved_ip == ["192.0.2.1", "2001:db8::1"]
    assert [q.type for q in m.questions] == ["ANY"]


def test_edns_extended_rcode_and_do_bit() -> None:
    msg = (dns_header(1, 0x8100, qd=1, an=0, ar=1) + dns_question("a.example", 1)
           + b"\x00"                          # OPT owner: root
           + struct.pack("!HHIH", 41,         # TYPE OPT
                         1232,                # CLASS = UDP payload size
                         (1 << 24) | 0x8000,  # TTL: extended rcode 1, version 0, DO
                         0))                  # RDLENGTH 0
    m = decode(msg)
    assert m.rcode == 16  # (1 << 4) | 0 = BADVERS
    assert m.dnssec_ok
    assert m.answers == []


def test_mdns_unicast_bit_and_cache_flush() -> None:
    msg = (dns_header(0, 0x8400, qd=1, an=1)
           + dns_question("printer.local", 1, 0x8001)                 # QU bit + IN
           + dns_rr("printer.local", 1, 120, b"\x0a\x00\x00\x05", rclass=0x8001))  # cache flush
    m = decode(msg)
    assert m.unicast_response
    assert m.questions[0].qclass == "IN"
    assert _answers(msg) == [("printer.local", "A", "IN", 120, "10.0.0.5")]


def test_unknown_type_generic_form_and_long_rdata() -> None:
    msg = dns_header(1, 0x8000, qd=0, an=2) + dns_rr("x", 65280, 1, b"\x01\x02") + dns_rr(
        "y", 48, 1, bytes(range(200)))  # DNSKEY: not decoded, 200 octets shown as 128 + "..."
    answers = decode(msg).answers
    assert (answers[0].type, answers[0].data) == ("TYPE65280", "\\# 2 0102")
    assert answers[1].type == "DNSKEY"
    assert answers[1].data == "\\# 200 " + bytes(range(128)).hex() + "..."


def test_name_presentation_escapes() -> None:
    wire = (b"\x03a.b"          # a label containing a dot
            + b"\x02\\x"        # a backslash
            + b"\x07My Host"    # a space (mDNS instance names)
            + b"\x06B\xc3\xbcro1"  # UTF-8 "Büro1"
            + b"\x02\xff\x01"   # bytes that are not UTF-8
            + b"\x00")
    name, end, size, _ = read_name(wire, 0)
    assert name == "a\\.b.\\\\x.My Host.Büro1.\\255\\001"
    assert end == len(wire)
    assert size == len(wire)
    assert read_name(b"\x00", 0)[0] == "."


def test_answers_capped_at_64() -> None:
    rrs = b"".join(dns_rr(b"\xc0\x0c", 1, 1, bytes([10, 0, 0, i])) for i in range(70))
    m = decode(dns_header(1, 0x8180, qd=1, an=70) + dns_question("many.example", 1) + rrs)
    assert len(m.answers) == 64 and m.answers_truncated
    assert m.issues == []


def test_frame_size() -> None:
    assert frame_size(b"") is None
    assert frame_size(b"\x00") is None
    assert frame_size(b"\x00\x1d" + b"\x00" * 5) == 31  # 2-byte prefix + 29
    with pytest.raises(Malformed) as bad:
        frame_size(b"\x00\x0b")  # 11 < a 12-byte header
    assert bad.value.code == "dns.invalid_length"


# -- anomalies ---------------------------------------------------------------------------------
def _codes(msg: bytes) -> list[str]:
    return [code for code, _ in decode(msg).issues]


def test_header_truncated_raises() -> None:
    with pytest.raises(Malformed) as bad:
        decode(b"\x00\x01\x01\x00\x00\x01")  # 6 bytes: half a header
    assert bad.value.code == "dns.truncated"


def test_truncated_question_and_record() -> None:
    assert _codes(dns_header(1, 0, qd=1) + b"\x07exam") == ["dns.truncated"]
    assert _codes(dns_header(1, 0, qd=1) + dns_name("a.b") + b"\x00") == ["dns.truncated"]
    # answer announced, RDLENGTH 16 but only 4 bytes follow
    msg = (dns_header(1, 0x8000, qd=0, an=1) + b"\x00" + struct.pack("!HHIH", 28, 1, 1, 16)
           + b"\0" * 4)
    assert _codes(msg) == ["dns.truncated"]


def test_pointer_outside_message() -> None:
    msg = dns_header(1, 0, qd=1) + b"\xc0\xff" + b"\x00\x01\x00\x01"  # points to 255
    assert _codes(msg) == ["dns.invalid_pointer"]


def test_compression_loop() -> None:
    msg = dns_header(1, 0, qd=1) + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # offset 12 -> itself
    assert _codes(msg) == ["dns.compression_loop"]
    two = dns_header(1, 0, qd=1) + b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01"  # a -> a -> a ...
    assert _codes(two) == ["dns.compression_loop"]


@pytest.mark.parametrize("label", [b"\x40", b"\x80", b"\x41\x00"])
def test_reserved_label_types(label: bytes) -> None:
    msg = dns_header(1, 0, qd=1) + b"\x01a" + label + b"\x00\x00\x01\x00\x01"
    assert _codes(msg) == ["dns.invalid_name"]


def test_oversized_name_ripple20_shape_is_flagged_and_kept() -> None:
    # CNAME whose data is 63+63+63+62+1 label octets = 258 wire octets (CVE-2020-11901).
    target = b"".join(bytes([n]) + c * n for n, c in ((63, b"a"), (63, b"b"), (63, b"c"),
                                                        (62, b"d"))) + b"\x01e\x00"
    msg = (dns_header(0x4A89, 0x8400, qd=1, an=1) + dns_question("sadownload.mcafee.com", 1)
           + dns_rr(b"\xc0\x0c", 5, 300, target))
    m = decode(msg)
    assert [c for c, _ in m.issues] == ["dns.oversized_name"]
    assert "258 octets" in m.issues[0][1]
    assert m.answers[0].type == "CNAME"
    assert m.answers[0].data == ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62, "e"])


def test_absurd_name_stops_decoding() -> None:
    chain = b"\x3f" + b"x" * 63
    msg = dns_header(1, 0, qd=1) + chain * 20 + b"\x00\x00\x01\x00\x01"  # 1281 octets
    m = decode(msg)
    assert [c for c, _ in m.issues] == ["dns.oversized_name"]
    assert m.questions == []


def test_rdata_length_mismatch() -> None:
    a5 = dns_header(1, 0x8000, qd=0, an=1) + dns_rr("a", 1, 1, b"\x01\x02\x03\x04\x05")
    assert _codes(a5) == ["dns.rdata_length_mismatch"]
    cname_short = dns_header(1, 0x8000, qd=0, an=1) + dns_rr("a", 5, 1, dns_name("b") + b"\x00")
    assert _codes(cname_short) == ["dns.rdata_length_mismatch"]
    # the record after a bad one is still read
    both = dns_header(1, 0x8000, qd=0, an=2) + dns_rr("a", 1, 1, b"\x01") + dns_rr(
        "b", 1, 1, b"\x01\x02\x03\x04")
    assert [a.data for a in decode(both).answers] == ["", "1.2.3.4"]


def test_trailing_data() -> None:
    assert _codes(dns_query_bytes() + b"junk") == ["dns.trailing_data"]


def dns_query_bytes() -> bytes:
    return dns_header(9, 0x0100) + dns_question("example.org", 1)


def test_decompression_bomb_is_cut_short() -> None:
    # One 400-label name, then 400 questions each pointing at a different label of it: every
    # pointer target is new, so each walk is long (quadratic work without a budget).
    chain = b"\x01a" * 400 + b"\x00"
    pointers = b"".join(struct.pack("!H", 0xC000 | (12 + 2 * k)) + b"\x00\x01\x00\x01"
                        for k in range(400))
    msg = dns_header(1, 0, qd=401) + chain + b"\x00\x01\x00\x01" + pointers
    m = decode(msg)
    assert [c for c, _ in m.issues] == ["dns.oversized_name", "dns.name_expansion_limit"]
    assert "801 octets" in m.issues[0][1]


def test_many_names_pointing_at_one_long_name_are_cheap() -> None:
    chain = b"\x01a" * 120 + b"\x00"
    msg = dns_header(1, 0, qd=2001) + chain + b"\x00\x01\x00\x01" + (
        b"\xc0\x0c\x00\x01\x00\x01" * 2000)
    m = decode(msg)
    assert m.issues == []
    assert len(m.questions) == 32 and m.questions[-1].name == ".".join(["a"] * 120)


def test_issue_codes_reported_once_per_message() -> None:
    rrs = b"".join(dns_rr("a", 1, 1, b"\x01") for _ in range(10))
    assert _codes(dns_header(1, 0x8000, qd=0, an=10) + rrs) == ["dns.rdata_length_mismatch"]


# -- cross-check with dnspython on the corpus -------------------------------------------------
_PLAIN_TYPES = {1, 2, 5, 6, 12, 15, 28, 33}


def _dnspython_style(text: str) -> str:
    """Our presentation form as dnspython writes it: dnspython escapes every byte outside
    0x21-0x7e (we keep valid UTF-8 and spaces readable) and also '"();@$'."""
    out = []
    for c in text:
        if ord(c) > 0x7E or c == " ":
            out.append("".join(f"\\{b:03d}" for b in c.encode()))
        elif c in '"();@$':
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


@pytest.mark.corpus
def test_agrees_with_dnspython_on_corpus_messages() -> None:
    path = PCAPS / "malcolm-pcap" / "it" / "DNS.pcap"
    if not path.exists():
        pytest.skip("corpus not available")
    from otshield.capture import open_capture
    from otshield.netstack import Packet
    from otshield.netstack import decode as l2

    compared = 0
    reader = open_capture(path)
    p = Packet()
    for _, linktype, frame in reader:
        if l2(linktype, frame, p) is not None or p.proto != 17 or 53 not in (p.sport, p.dport):
            continue
        payload = bytes(p.payload)
        try:
            theirs = dns.message.from_wire(payload)
        except Exception:
            continue  # dnspython refuses it: the anomaly tests cover those
        ours = decode(payload)
        assert ours.issues == [], payload.hex()
        assert [_dnspython_style(q.name) for q in ours.questions] == [
            q.name.to_text(omit_final_dot=True) or "." for q in theirs.question]
        expected = []
        for rrset in theirs.answer:
            for rd in rrset:
                if rrset.rdtype in _PLAIN_TYPES:
                    expected.append((rrset.name.to_text(omit_final_dot=True),
                                     dns.rdatatype.to_text(rrset.rdtype),
                                     rd.to_text().replace(". ", " ").rstrip(".")))
        got = [(_dnspython_style(a.name), a.type,
                " ".join(_dnspython_style(part) for part in a.data.split(" ")))
               for a in ours.answers if
               a.type in {dns.rdatatype.to_text(t) for t in _PLAIN_TYPES}]
        assert sorted(got) == sorted(expected)
        compared += 1
    reader.close()
    assert compared > 1000
