"""Fuzzing: random and mutated Sampled Values frames raise nothing but ``Malformed`` from the
parser, and nothing at all from the session."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.sv.parser import SvReader, parse_frame
from otshield.protocols.sv.session import SvSession
from protocols.iec61850_build import FakeLink, header, sample, sv, sv_asdu, utc

VALID = [
    sv([sv_asdu(1), sv_asdu(2, sv_id="B", refr_tm=utc(3), smp_mod=1,
                           gm_identity=b"\x00" * 8)]),
    sv([sv_asdu(65535, values=sample([1, 2, 3], [1, 3, 0x2000]))], security=b"\x04\x00"),
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    for frame in (data, header(0x4000, data)):
        with contextlib.suppress(Malformed):
            parse_frame(frame)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                        min_size=1, max_size=6), st.integers(0, 400))
def test_mutated_frames(frame: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    buf = bytearray(frame)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    for candidate in (bytes(buf), bytes(buf[:cut])):
        with contextlib.suppress(Malformed):
            parse_frame(candidate)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.sampled_from(VALID), st.binary(max_size=100),
    st.builds(lambda c, r, s, v: sv([sv_asdu(c, conf_rev=r, smp_synch=s, values=v)]),
              st.integers(0, 65535), st.integers(0, 3), st.integers(0, 255),
              st.binary(max_size=72))), max_size=25))
def test_session_never_raises(frames: list[bytes]) -> None:
    link = FakeLink()
    session = SvSession(link)
    for frame in frames:
        link.step()
        session.on_frame(frame)
    session.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([*VALID, sv([sv_asdu(7, refr_tm=utc(1))])]),
                          st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                   max_size=3)), min_size=1, max_size=12))
def test_reader_equals_parse_frame(frames: list[tuple[bytes, list[tuple[int, int]]]]) -> None:
    """The layout-reusing reader gives exactly what the full parser gives, frame after frame
    (or the same Malformed)."""
    reader = SvReader(max_layouts=3)
    for frame, edits in frames:
        buf = bytearray(frame)
        for pos, value in edits:
            buf[pos % len(buf)] = value
        data = bytes(buf)
        try:
            expected: object = parse_frame(data)
        except Malformed as m:
            expected = m.code
        try:
            got: object = reader.parse(data)
        except Malformed as m:
            got = m.code
        assert got == expected
