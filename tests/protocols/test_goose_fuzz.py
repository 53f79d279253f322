"""Fuzzing: random and mutated GOOSE / GSE management frames raise nothing but ``Malformed``
from the parsers, and nothing at all from the session."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.goose.data import decode_data
from otshield.protocols.goose.parser import GoosePdu, GooseReader, count_entries, parse_frame
from otshield.protocols.goose.session import GooseSession
from protocols.iec61850_build import (
    FakeLink,
    d_bits,
    d_bool,
    d_double,
    d_float,
    d_struct,
    d_utc,
    goose,
    header,
    tlv,
)

VALID = [
    goose(data=[d_bool(True), d_bits("01"), d_struct(d_float(1.0), d_utc(5)), d_double(2.0)]),
    goose(go_id=None, security=b"\x04\x02\x00\x00", reserved1=0x8000, simulation=True),
    header(1, tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA1, tlv(0xA2, tlv(0x80, b"X") + tlv(
        0xA1, tlv(0x1A, b"ref")))))),
]


def _parse(data: bytes) -> None:
    with contextlib.suppress(Malformed):
        pdu = parse_frame(data)
        if isinstance(pdu, GoosePdu):
            count_entries(pdu.data)
            decode_data(pdu.data, 0, len(pdu.data))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _parse(data)
    _parse(header(1, data))
    with contextlib.suppress(Malformed):
        decode_data(data, 0, len(data))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                        min_size=1, max_size=6), st.integers(0, 400))
def test_mutated_frames(frame: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    buf = bytearray(frame)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    _parse(bytes(buf))
    _parse(bytes(buf[:cut]))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(VALID), st.binary(max_size=120),
                          st.builds(lambda s, q, d: goose(st_num=s, sq_num=q, data=[d_bool(d)]),
                                    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                                    st.booleans())),
                max_size=20), st.lists(st.floats(0, 100), min_size=20, max_size=20))
def test_session_never_raises(frames: list[bytes], gaps: list[float]) -> None:
    link = FakeLink()
    session = GooseSession(link)
    for frame, gap in zip(frames, gaps, strict=False):
        link.step(gap)
        session.on_frame(frame)
    session.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(VALID), st.integers(0, 300),
                          st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                   max_size=2)), min_size=1, max_size=12))
def test_reader_equals_parse_frame(frames: list[tuple[bytes, int, list[tuple[int, int]]]]
                                   ) -> None:
    """The retransmission-reusing reader gives exactly what the full parser gives, frame after
    frame (or the same Malformed)."""
    reader = GooseReader(max_layouts=2)
    for frame, sq, edits in frames:
        buf = bytearray(frame)
        for pos, value in edits:
            buf[pos % len(buf)] = value
        data = bytes(buf)
        if sq < 256 and not edits:
            data = goose(sq_num=sq)  # retransmissions of one state: the reuse path
        try:
            expected: object = parse_frame(data)
        except Malformed as m:
            expected = m.code
        try:
            got: object = reader.parse(data)
        except Malformed as m:
            got = m.code
        assert got == expected
