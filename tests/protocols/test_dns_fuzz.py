"""DNS fuzzing: random and mutated messages raise nothing but Malformed; sessions fed random
datagrams never raise; decoding stays fast on hostile input."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.dns.parser import decode, frame_size
from otshield.protocols.dns.session import DnsSession

from .it_a_build import FakeFlow, dns_header, dns_question, dns_rr

VALID = (dns_header(0x77, 0x8180, qd=1, an=3, ar=1) + dns_question("plc.example", 1)
         + dns_rr(b"\xc0\x0c", 5, 60, b"\x03www\xc0\x0c")
         + dns_rr(b"\x03www\xc0\x0c", 1, 60, b"\x0a\x00\x00\x01")
         + dns_rr(b"\xc0\x0c", 16, 60, b"\x03abc")
         + b"\x00" + b"\x00\x29\x10\x00\x00\x00\x80\x00\x00\x00")


def _decode(data: bytes) -> None:
    try:
        decode(data)
    except Malformed as bad:
        assert bad.code.startswith("dns.")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _decode(data)
    try:
        frame_size(data)
    except Malformed as bad:
        assert bad.code == "dns.invalid_length"


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8),
       st.integers(0, len(VALID)))
def test_mutated_valid_message(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(VALID)
    for pos, value in flips:
        data[pos] = value
    _decode(bytes(data[:cut]))
    _decode(bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=12),
       st.sampled_from(["udp", "tcp"]))
def test_session_never_raises(frames: list[tuple[bool, bytes]], transport: str) -> None:
    flow = FakeFlow(transport, server=("10.0.0.53", 53))
    session = DnsSession(flow)
    for from_client, frame in frames:
        flow.step()
        session.on_frame(VALID[:2] + frame if frame[:1] == b"\x80" else frame, from_client)
    session.on_gap(True, 10)
    session.close()


def test_hostile_messages_cost_little() -> None:
    # 63 KiB: 10000 names pointing at one long chain (linear, thanks to remembered suffixes)
    chain = b"\x01a" * 120 + b"\x00"
    many = dns_header(1, 0, qd=10000) + chain + b"\x00\x01\x00\x01" + (
        b"\xc0\x0c\x00\x01\x00\x01" * 10400)
    # names pointing into every label of a 500-label chain (bounded by the work budget)
    chain = b"\x01a" * 500 + b"\x00"
    inner = dns_header(1, 0, qd=10000) + chain + b"\x00\x01\x00\x01" + b"".join(
        struct.pack("!H", 0xC000 | (12 + 2 * (k % 500))) + b"\x00\x01\x00\x01"
        for k in range(10000))
    for msg in (many, inner):
        # The work bound (remembered suffixes plus a step budget proportional to the message)
        # is what keeps this linear; here the hostile messages must still decode, capped.
        result = decode(msg)
        assert len(result.questions) == 32
