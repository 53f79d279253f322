"""Fuzzing: random and mutated input reaches the MQTT framer, probe, parser and session, and
nothing but ``Malformed`` ever comes out of the pure functions (the session never raises)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.mqtt.parser import decode, frame_size, probe
from otshield.protocols.mqtt.session import MqttSession

from .mqtt_build import FakeFlow, connect, packet, props, s, varint

VALID = [
    connect("c", level=3), connect("c", level=4, flags=0xEE,
                                   tail=s("w") + s("m") + s("u") + s("p")),
    connect("c", level=5, flags=0x06, properties=props(b"\x11\x00\x00\x00\x05"),
            tail=props(b"\x18\x00\x00\x00\x01") + s("w") + s("m")),
    b"\x20\x02\x00\x00", packet(2, 0, b"\x00\x00" + props(b"\x12" + s("id"), b"\x24\x01")),
    packet(3, 0, s("t") + b"x"), packet(3, 3, s("t") + b"\x00\x01" + b"payload"),
    packet(3, 4, s("t") + b"\x00\x02" + props(b"\x23\x00\x01", b"\x26" + s("k") + s("v")) + b"p"),
    packet(4, 0, b"\x00\x01"), packet(5, 0, b"\x00\x02\x10" + props(b"\x1f" + s("r"))),
    packet(6, 2, b"\x00\x02"), packet(7, 0, b"\x00\x02"),
    packet(8, 2, b"\x00\x03" + s("a/#") + b"\x01"),
    packet(8, 2, b"\x00\x03" + props(b"\x0b\x01") + s("a/#") + b"\x2d"),
    packet(9, 0, b"\x00\x03\x01\x80"), packet(10, 2, b"\x00\x04" + s("a")),
    packet(11, 0, b"\x00\x04"), packet(11, 0, b"\x00\x04\x00\x00\x11"),
    b"\xc0\x00", b"\xd0\x00", b"\xe0\x00", packet(14, 0, b"\x8e" + props(b"\x1c" + s("x"))),
    packet(15, 0, b"\x18" + props(b"\x15" + s("K"), b"\x16" + s(b"d"))),
]

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fix_length(frame: bytes) -> bytes:
    """Make the remaining length agree with the bytes, so mutations reach the field readers."""
    if not frame:
        return frame
    i = 1
    while i < len(frame) and i < 5 and frame[i] & 0x80:
        i += 1
    body = frame[i + 1:]
    return frame[:1] + varint(len(body)) + body


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
        elif action == "set" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    return _fix_length(bytes(frame)) if draw(st.booleans()) else bytes(frame)


def _pure(frame: bytes) -> None:
    for fn in (lambda: frame_size(frame), lambda: decode(frame, 4), lambda: decode(frame, 5),
               lambda: decode(frame, 3)):
        try:
            fn()
        except Malformed as m:
            assert m.code.startswith("mqtt.")
    probe(frame, True)
    probe(frame, False)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(frame: bytes) -> None:
    _pure(frame)


@FUZZ
@given(mutated())
def test_mutated_frames(frame: bytes) -> None:
    _pure(frame)


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.one_of(mutated(), st.sampled_from(VALID))),
                max_size=30),
       st.integers(1, 4))
def test_session_never_raises(frames: list[tuple[bool, bytes]], pending: int) -> None:
    flow = FakeFlow(Settings(max_pending_requests=pending, request_timeout=0.05))
    session = MqttSession(flow)
    for from_client, frame in frames:
        flow.step()
        size = None
        with contextlib.suppress(Malformed):
            size = frame_size(frame)
        if size is not None and size == len(frame) and frame:
            session.on_frame(frame, from_client)
    session.on_gap(True, 10)
    session.close()
