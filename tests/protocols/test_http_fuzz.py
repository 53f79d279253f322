"""HTTP fuzzing: head parsers raise nothing but Malformed; the session fed random bytes, or the
golden conversation with flipped bytes cut anywhere, never raises and stays bounded."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.http.parser import (
    chunk_size,
    credentials,
    parse_request_head,
    parse_response_head,
    probe,
)
from otshield.protocols.http.session import HttpSession

from .it_a_build import FakeFlow
from .test_http_golden import conversation

LINES = st.lists(st.sampled_from([
    b"GET / HTTP/1.1", b"HTTP/1.1 200 OK", b"Host: a", b"Content-Length: 3",
    b"Transfer-Encoding: chunked", b"0", b"5", b"hello", b"", b" folded", b"X:y",
    b"Authorization: Basic dTpw", b"CONNECT a:1 HTTP/1.1", b"HTTP/1.1 100 Continue",
    b"HTTP/1.1 101 Switching", b"GET /x", b"PRI * HTTP/2.0", b"\x00\xff"]), max_size=30)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_parsers_on_random_bytes(data: bytes) -> None:
    for fn in (parse_request_head, parse_response_head, chunk_size):
        try:
            fn(data)
        except Malformed as bad:
            assert bad.code.startswith("http.")
    try:
        credentials(data.decode("latin-1"))
    except Malformed as bad:
        assert bad.code == "http.invalid_authorization"
    probe(data, True)
    probe(data, False)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.booleans(), LINES, st.sampled_from([b"\r\n", b"\n"])),
                max_size=8), st.integers(1, 40))
def test_session_on_line_soup(messages: list[tuple[bool, list[bytes], bytes]],
                              chunk: int) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 80))
    session = HttpSession(flow)
    for from_client, lines, eol in messages:
        data = eol.join(lines) + eol
        for i in range(0, len(data), chunk):
            session.on_data(data[i:i + chunk], from_client)
    session.on_gap(False, 100)
    session.on_data(b"HTTP/1.1 200 OK\r\n\r\n", False)
    session.close()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                   min_size=1, max_size=4), st.integers(1, 64),
       st.integers(0, 10_000))
def test_session_mutated_conversation(which: int, flips: list[tuple[int, int]], chunk: int,
                                      cut: int) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 80))
    session = HttpSession(flow)
    for index, (from_client, data) in enumerate(conversation()):
        if index == which:
            mutable = bytearray(data)
            for pos, value in flips:
                mutable[pos % len(mutable)] = value
            data = bytes(mutable[:cut % (len(mutable) + 1)])
        for i in range(0, len(data), chunk):
            session.on_data(data[i:i + chunk], from_client)
    session.close()
    assert len(flow.of("http")) <= 8
