"""TLS fuzzing: parsers given random or mutated input raise nothing but Malformed; the session
fed random bytes, or a valid handshake with flipped bytes, never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.tls.fingerprint import ja3, ja4
from otshield.protocols.tls.parser import (
    frame_size,
    heartbeat_overflow,
    parse_alerts,
    parse_certificate_list,
    parse_client_hello,
    parse_server_hello,
    parse_sslv2_client_hello,
    probe,
)
from otshield.protocols.tls.session import TlsSession
from otshield.protocols.tls.x509 import parse_certificate

from .it_a_build import FakeFlow, der_cert
from .test_tls_golden import _conversation

CERT = der_cert([("C", "DE"), ("O", "ACME"), ("CN", "plc.example")], [("CN", "CA")],
                san_dns=["plc.example", "plc"], key="ec-p256")
STREAM = _conversation()
CH_BODY = STREAM[0][1][9:]  # record header (5) + handshake header (4)


def _only_malformed(call: object, *args: object) -> None:
    try:
        call(*args)  # type: ignore[operator]
    except Malformed as bad:
        assert bad.code.startswith("tls.")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    for fn in (frame_size, parse_client_hello, parse_server_hello, parse_certificate,
               parse_certificate_list, parse_alerts, parse_sslv2_client_hello):
        _only_malformed(fn, data)
    heartbeat_overflow(data)
    probe(data, True)
    probe(data, False)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1,
                max_size=6), st.integers(0, 10_000))
def test_mutated_hello_and_certificate(flips: list[tuple[int, int]], cut: int) -> None:
    for valid, fn in ((CH_BODY, parse_client_hello), (CERT, parse_certificate)):
        data = bytearray(valid)
        for pos, value in flips:
            data[pos % len(data)] = value
        for sample in (bytes(data), bytes(data[:cut % (len(data) + 1)])):
            try:
                result = fn(sample)
            except Malformed as bad:
                assert bad.code.startswith("tls.")
                continue
            if fn is parse_client_hello:
                ja3(result)  # type: ignore[arg-type]
                ja4(result)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=10))
def test_session_random_data(chunks: list[tuple[bool, bytes]]) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 443))
    session = TlsSession(flow)
    for from_client, data in chunks:
        session.on_data(b"\x16\x03\x01" + data if data[:1] == b"\x00" else data, from_client)
    session.close()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 7), st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)),
                                   min_size=1, max_size=4), st.integers(1, 64))
def test_session_mutated_handshake(which: int, flips: list[tuple[int, int]], chunk: int) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 443))
    session = TlsSession(flow)
    for index, (from_client, data) in enumerate(STREAM):
        if index == which % len(STREAM):
            mutable = bytearray(data)
            for pos, value in flips:
                mutable[pos % len(mutable)] = value
            data = bytes(mutable)
        for i in range(0, len(data), chunk):
            session.on_data(data[i:i + chunk], from_client)
    session.close()
    assert len(flow.of("tls")) <= 1
