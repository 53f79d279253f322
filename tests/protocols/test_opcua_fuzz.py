"""Fuzzing: random and mutated input raises nothing but ``Malformed`` from the parsers and
nothing at all from the session."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.opcua import OpcuaSession
from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.services import decode_body
from otshield.protocols.opcua.transport import (
    frame_size,
    parse_acknowledge,
    parse_asymmetric,
    parse_error,
    parse_hello,
    parse_reverse_hello,
    probe,
)
from protocols.opcua_build import (
    FakeFlow,
    acknowledge,
    array,
    data_value,
    ext_object,
    f64,
    hello,
    msg,
    node_numeric,
    open_request,
    open_response,
    opn,
    request_header,
    response_header,
    service,
    string,
    u32,
    variant,
    variant_array,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BODIES = [
    service(631, request_header(1), f64(0) + u32(0) + array([
        node_numeric(2258) + u32(13) + string(None) + b"\x00\x00" + string(None)])),
    service(634, response_header(1), array([
        data_value(variant_array(6, [u32(1), u32(2)]), status=0, source=1.0),
        data_value(variant(22, ext_object(864, bytes(40))))]) + array([])),
    service(673, request_header(2), array([node_numeric(5, 2) + u32(13) + string(None)
                                           + data_value(variant(12, string("x")))])),
    service(712, request_header(3), array([node_numeric(1, 2) + node_numeric(2, 2)
                                           + array([variant(11, f64(1.0))])])),
    service(467, request_header(4), string(None) + b"\xff\xff\xff\xff" + array([])
            + array([string("en")]) + ext_object(324, string("p") + string("u")
                                                 + string("pw") + string(None))
            + string(None) + b"\xff\xff\xff\xff"),
    service(829, response_header(5), u32(1) + array([]) + b"\x00" + u32(1) + bytes(8)
            + array([ext_object(811, array([u32(1) + b"\x01\x06" + u32(5)]) + array([]))])
            + array([]) + array([])),
    open_request(), open_response(1, 5, 1),
]
FRAMES = [hello("opc.tcp://h:4840"), acknowledge(), opn(0, 1, 1, open_request()),
          opn(5, 1, 1, open_response(1, 5, 1))] + [
    msg(5, 1, i + 2, i + 2, body) for i, body in enumerate(BODIES)]


def _mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        if buf:
            buf[pos % len(buf)] = value
    return bytes(buf)


def _parsers(data: bytes) -> None:
    for parse in (frame_size, parse_hello, parse_acknowledge, parse_error, parse_reverse_hello,
                  parse_asymmetric):
        with contextlib.suppress(Malformed):
            parse(data)
    probe(data, True)
    for pos in (0, 8, 24):
        with contextlib.suppress(Malformed):
            decode_body(data, pos)
    r = Reader(data)
    for read in (r.variant, r.data_value, r.diagnostic_info, r.expanded_node_id,
                 r.extension_object, r.localized_text):
        r.pos = 0
        with contextlib.suppress(Malformed):
            read()


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _parsers(data)


@FUZZ
@given(st.sampled_from(FRAMES + BODIES),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       st.integers(0, 400))
def test_mutated_messages(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(base, flips)
    _parsers(data)
    _parsers(data[:cut])


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(FRAMES),
                          st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                   max_size=4)), max_size=12))
def test_session_never_raises(script: list[tuple[bool, bytes, list[tuple[int, int]]]]) -> None:
    flow = FakeFlow()
    session = OpcuaSession(flow)
    for from_client, frame, flips in script:
        flow.tick()
        session.on_frame(_mutate(frame, flips), from_client)
    session.on_gap(True, 10)
    session.close()


@FUZZ
@given(st.lists(st.binary(max_size=120), max_size=10))
def test_session_random_frames(frames: list[bytes]) -> None:
    flow = FakeFlow()
    session = OpcuaSession(flow)
    for i, frame in enumerate(frames):
        session.on_frame(frame, i % 2 == 0)
    session.close()


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(BODIES),
                          st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                   max_size=4),
                          st.sampled_from([b"F", b"C", b"A"])), max_size=12))
def test_session_mutated_bodies(script: list[tuple[bool, bytes, list[tuple[int, int]],
                                                   bytes]]) -> None:
    """Mutated service bodies in well-formed chunks reach the service decoders."""
    flow = FakeFlow()
    session = OpcuaSession(flow)
    session.on_frame(hello("opc.tcp://h:4840"), True)
    session.on_frame(acknowledge(), False)
    session.on_frame(opn(0, 1, 1, open_request()), True)
    session.on_frame(opn(5, 1, 1, open_response(1, 5, 1)), False)
    for i, (from_client, body, flips, chunk) in enumerate(script):
        flow.tick()
        session.on_frame(msg(5, 1, i + 2, i % 3 + 2, _mutate(body, flips), chunk), from_client)
    session.close()
