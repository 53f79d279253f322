"""Fuzzing: random and mutated input reaches the IEC 104 APCI and ASDU decoders, the framer,
the probe and the session, and nothing but ``Malformed`` ever comes out (the session never
raises at all)."""

from __future__ import annotations

import contextlib

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.iec104.constants import TYPES
from otshield.protocols.iec104.framing import frame_size, probe
from otshield.protocols.iec104.parser import decode_apci, decode_asdu
from otshield.protocols.iec104.session import Iec104Session

from .iec104_build import FakeFlow, asdu, cp56, i_frame, s_frame, u_frame
from .test_iec104_parser import CASES

T = cp56(2024, 5, 6, 7, 8, 9000)
VALID = [
    u_frame(0x07), u_frame(0x0B), u_frame(0x43), s_frame(12),
    i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")])),
    i_frame(1, 1, asdu(13, 20, 1, [(100, b"\x00\x00\xc0\x3f\x00"), (0, b"\x00\x00\x10\xc0\x01")],
                       sq=True)),
    i_frame(2, 1, asdu(45, 7, 1, [(4001, b"\x81")], negative=True)),
    i_frame(3, 1, asdu(125, 13, 1, [(1, b"\x02\x00\x01\x03abc")])),
    i_frame(4, 1, asdu(127, 5, 1, [(1, b"\x09\x00" + T + T)])),
    *(i_frame(5, 1, asdu(tid, 3, 1, [(9, element), (10, element)])) for tid, element, _ in CASES),
]

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fix_length(frame: bytes) -> bytes:
    """Make the APDU length octet agree with the bytes, so mutations reach the ASDU decoder."""
    if len(frame) < 2:
        return frame
    return frame[:1] + bytes([(len(frame) - 2) & 0xFF]) + frame[2:]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(["flip", "cut", "grow", "set"]))
        if action == "flip" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut" and frame:
            del frame[draw(st.integers(0, len(frame) - 1)):]
        elif action == "grow":
            frame += draw(st.binary(max_size=40))
        elif action == "set" and len(frame) > 8:
            # type id, VSQ or cause of the ASDU: reach every table entry and layout
            at = draw(st.sampled_from([6, 7, 8]))
            frame[at] = draw(st.sampled_from([*TYPES, 0, 99, 255, 0x80 | 5, 0x7F]))
    return _fix_length(bytes(frame)) if draw(st.booleans()) else bytes(frame)


def _decode_all(data: bytes) -> None:
    try:
        apci = decode_apci(data)
    except Malformed:
        pass
    else:
        if apci.format == "I":
            try:
                a = decode_asdu(apci.asdu, 1_700_000_000.0)
                msgspec.json.encode(a.objects)
            except Malformed:
                pass
    with contextlib.suppress(Malformed):
        decode_asdu(data, 0.0)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _decode_all(data)
    size = frame_size(data)
    assert size is None or 0 < size <= len(data) or size == 2 + data[1]
    probe(data, True)


@FUZZ
@given(mutated())
def test_mutated_frames(data: bytes) -> None:
    _decode_all(data)
    frame_size(data)
    probe(data, False)


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.one_of(mutated(), st.binary(max_size=60))),
                max_size=30),
       st.booleans())
def test_session_never_raises(frames: list[tuple[bool, bytes]], opened: bool) -> None:
    flow = FakeFlow(Settings(max_pending_requests=4, request_timeout=0.05), opened=opened)
    session = Iec104Session(flow)
    for from_client, frame in frames:
        flow.step()
        session.on_frame(frame, from_client)
        if frame and frame[0] == 0:
            session.on_gap(from_client, 10)
    session.close()
    for event in flow.events:
        msgspec.json.encode(event)


@FUZZ
@given(st.binary(max_size=400))
def test_framing_always_progresses(stream: bytes) -> None:
    # what the engine does with frame_size: cut units until it asks for more bytes
    pos = 0
    while pos < len(stream):
        size = frame_size(stream[pos:])
        if size is None:
            break
        assert size > 0
        if pos + size > len(stream):  # a whole APDU announced: the engine waits for it
            assert stream[pos] == 0x68 and size == 2 + stream[pos + 1]
            break
        pos += size
