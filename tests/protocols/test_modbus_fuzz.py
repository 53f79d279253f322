"""Fuzzing: random and mutated input reaches the Modbus parser, framer, probe and session, and
nothing but ``Malformed`` ever comes out (the session never raises at all)."""

from __future__ import annotations

import struct

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.modbus.framing import frame_size, probe
from otshield.protocols.modbus.parser import decode_request, decode_response
from otshield.protocols.modbus.session import ModbusSession

from .modbus_build import FakeFlow, adu, pdu

VALID = [
    adu(1, 17, pdu(3, "HH", 107, 3)), adu(1, 17, pdu(3, "BHHH", 6, 555, 0, 100)),
    adu(2, 1, pdu(1, "HH", 19, 10)), adu(2, 1, pdu(1, "BBB", 2, 0xCD, 0x01)),
    adu(3, 1, pdu(16, "HHBHH", 1, 2, 4, 10, 258)), adu(3, 1, pdu(15, "HHBBB", 19, 10, 2, 0xCD, 1)),
    adu(4, 1, pdu(5, "HH", 172, 0xFF00)), adu(5, 1, pdu(0x82, "B", 2)),
    adu(6, 1, pdu(8, "HH", 1, 0)), adu(7, 1, pdu(43, "BBB", 14, 1, 0)),
    adu(7, 1, pdu(43, "BBBBBB", 14, 1, 1, 0, 0, 2) + b"\x00\x04ACME\x01\x02X1"),
    adu(8, 0, pdu(90, "BB", 0x12, 0x41)), adu(8, 0, pdu(90, "BB", 0x12, 0xFE)),
    adu(9, 0, pdu(90, "BBB", 0, 0x38, 1) + bytes(32) + b"\x5a\x00\x40"),
    adu(10, 1, pdu(23, "HHHHBH", 3, 2, 14, 1, 2, 0xFF)), adu(10, 1, pdu(23, "BHH", 4, 1, 2)),
    adu(11, 1, pdu(22, "HHH", 4, 0xF2, 0x25)), adu(12, 1, pdu(24, "H", 1246)),
    adu(12, 1, pdu(24, "HHHH", 6, 2, 440, 4740)),
    adu(13, 1, pdu(20, "BBHHH", 7, 6, 4, 1, 2)), adu(13, 1, pdu(20, "BBBHH", 6, 5, 6, 1, 2)),
    adu(14, 1, pdu(21, "BBHHHH", 9, 6, 4, 7, 1, 0x06AF)),
    adu(15, 1, pdu(12, "BHHHB", 7, 0, 264, 289, 0x20)), adu(16, 1, pdu(11, "HH", 0, 264)),
    adu(17, 1, pdu(17, "BBB", 6, 0, 0xFF) + b"PLC1"), adu(18, 1, pdu(7, "B", 0x6D)),
    adu(19, 1, pdu(65, "H", 0xBEEF)),
]

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fix_length(frame: bytes) -> bytes:
    """Make the MBAP length agree with the bytes, so mutations reach the PDU decoders."""
    if len(frame) < 6:
        return frame
    return frame[:4] + struct.pack(">H", (len(frame) - 6) & 0xFFFF) + frame[6:]


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
        elif action == "set" and len(frame) > 7:
            frame[draw(st.integers(7, len(frame) - 1))] = draw(st.integers(0, 255))
    data = bytes(frame)
    return _fix_length(data) if draw(st.booleans()) else data


def _decode_both(data: bytes) -> None:
    for decoder in (decode_request, decode_response):
        try:
            decoder(data)
        except Malformed as exc:
            assert exc.code.startswith("modbus.")


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    _decode_both(data)
    _decode_both(_fix_length(data))
    size = frame_size(data)  # never raises: what cannot start a unit is skipped
    assert size is None or 1 <= size <= max(266, len(data))
    if size is not None and size < 8:
        assert size <= len(data) - 7
    assert isinstance(probe(data, True), bool) and isinstance(probe(data, False), bool)


@FUZZ
@given(mutated())
def test_mutated_frames_raise_only_malformed(data: bytes) -> None:
    _decode_both(data)
    probe(data, True)


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.one_of(mutated(), st.binary(max_size=80))),
                max_size=30),
       st.integers(1, 8))
def test_session_never_raises(frames: list[tuple[bool, bytes]], max_pending: int) -> None:
    flow = FakeFlow(Settings(max_pending_requests=max_pending))
    session = ModbusSession(flow)
    for from_client, data in frames:
        flow.step(0.5)
        session.on_frame(data, from_client)
    session.on_gap(True, 10)
    session.close()
    for event in flow.events:
        msgspec.json.encode(event)
    anomalies = {e.code for e in flow.of("anomaly")}
    assert all(code.startswith("modbus.") for code in anomalies)


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(VALID), mutated(), st.binary(max_size=20)),
                max_size=20),
       st.lists(st.integers(1, 50), min_size=1, max_size=10))
def test_framed_stream_never_raises(units: list[bytes], cuts: list[int]) -> None:
    """The engine's loop: frame_size over an arbitrarily chunked stream."""
    stream = b"".join(units)
    flow = FakeFlow()
    session = ModbusSession(flow)
    buf = b""
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        buf += stream[pos:pos + step]
        pos += step
        i += 1
        while buf:
            size = frame_size(buf)
            if size is None or size > len(buf):
                break
            flow.step()
            session.on_frame(buf[:size], i % 3 != 0)
            buf = buf[size:]
    session.close()


def _units(stream: bytes, cuts: list[int]) -> list[tuple[str, bytes]]:
    """Units frame_size cuts from ``stream`` arriving in pieces of ``cuts`` sizes; consecutive
    skipped pieces merged into one run; the bytes left over at the end last."""
    out: list[tuple[str, bytes]] = []
    buf = b""
    pos = i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        buf += stream[pos:pos + step]
        pos += step
        i += 1
        while (size := frame_size(buf)) is not None and size <= len(buf):
            unit, buf = buf[:size], buf[size:]
            try:
                decode_request(unit)
                out.append(("unit", unit))
            except Malformed:
                if out and out[-1][0] == "skipped":
                    out[-1] = ("skipped", out[-1][1] + unit)
                else:
                    out.append(("skipped", unit))
    out.append(("left", buf))
    return out


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(VALID), mutated(), st.binary(max_size=20)),
                max_size=15),
       st.lists(st.integers(1, 50), min_size=1, max_size=8),
       st.lists(st.integers(1, 50), min_size=1, max_size=8))
def test_units_do_not_depend_on_segmentation(units: list[bytes], cuts_a: list[int],
                                             cuts_b: list[int]) -> None:
    stream = b"".join(units)
    assert _units(stream, cuts_a) == _units(stream, cuts_b) == _units(stream, [len(stream) or 1])
