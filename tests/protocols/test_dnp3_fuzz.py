"""Hypothesis fuzzing of the DNP3 decoder: random and mutated input raises nothing but
``Malformed`` from the pure parsers, and nothing at all from the session."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.dnp3.crc import crc16
from otshield.protocols.dnp3.link import MAX_FRAME_SIZE, frame_size, parse_link, scan
from otshield.protocols.dnp3.parser import parse_fragment
from otshield.protocols.dnp3.session import Dnp3Session
from otshield.protocols.dnp3.transport import Reassembler
from protocols.dnp3_build import (
    FakeFlow,
    crc_bitwise,
    dnp3_time,
    frames,
    header,
    link_frame,
    request,
    response,
)

FRAGMENTS = [
    request(1, 0, header(60, 2, 6), header(60, 1, 6), header(30, 0, 0x17, 2), b"\x01\x02"),
    request(2, 1, header(50, 1, 7, 1), dnp3_time(1_700_000_000_000)),
    request(3, 2, header(12, 1, 0x28, 1), struct.pack("<HBBIIB", 3, 0x41, 1, 100, 0, 0)),
    request(25, 3, header(70, 3, 0x5B, 1), struct.pack("<H", 30), struct.pack(
        "<HHIHHIIHHH", 26, 4, 0, 0, 0, 0, 0, 1, 1024, 1), b"a.tx"),
    response(0, 0x90, 0, header(1, 2, 0, 0, 2), b"\x81\x01\x81", header(30, 5, 0, 0, 0),
             struct.pack("<Bf", 1, 1.5), header(2, 3, 0x28, 1), b"\x01\x00\x81\x10\x00",
             header(0, 252, 0, 0, 0), b"\x01\x03abc", header(110, 2, 0, 0, 0), b"hi"),
    response(1, 0, 0, header(51, 1, 7, 1), dnp3_time(1), header(3, 1, 0, 0, 6), b"\x1b\x02",
             header(20, 1, 0x17, 1), b"\x05\x01\x00\x00\x00\x07", function=130, uns=True),
]


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_fragments_raise_only_malformed(data: bytes) -> None:
    try:
        f = parse_fragment(data)
    except Malformed as exc:
        assert exc.code.startswith("dnp3.")
        return
    assert all(code.startswith("dnp3.") for code, _ in f.problems)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(FRAGMENTS), edits, st.integers(0, 20))
def test_mutated_fragments_raise_only_malformed(fragment: bytes, changes: list[tuple[int, int]],
                                                cut: int) -> None:
    data = _mutate(fragment, changes)
    data = data[:len(data) - cut] if cut else data
    with contextlib.suppress(Malformed):
        parse_fragment(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=320))
def test_framing_never_raises(data: bytes) -> None:
    size = frame_size(data)
    assert size is None or 1 <= size <= max(MAX_FRAME_SIZE, len(data))
    unit = scan(data)
    if unit.size is not None and unit.problem is None:
        assert 10 <= unit.size <= MAX_FRAME_SIZE
    try:
        parse_link(data)
    except Malformed as exc:
        assert exc.code in ("dnp3.bad_start", "dnp3.invalid_length", "dnp3.bad_crc")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_crc_matches_reference(data: bytes) -> None:
    assert crc16(data) == crc_bitwise(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([(True, 1, 10), (False, 10, 1), (True, 2, 10)]),
                          st.binary(min_size=1, max_size=60)), max_size=40))
def test_reassembler_never_raises(pushes: list[tuple[tuple[bool, int, int], bytes]]) -> None:
    r = Reassembler(max_fragment=200, max_contexts=2)
    for key, segment in pushes:
        fragment, n, _problems = r.push(key, segment)
        assert fragment is None or (n >= 1 and len(fragment) <= 200)
        assert len(r) <= 2
    r.drop()


def _session(transport: str) -> tuple[Dnp3Session, FakeFlow]:
    flow = FakeFlow(Settings(max_pending_requests=4), transport)
    return Dnp3Session(flow), flow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=20),
       st.sampled_from(["tcp", "udp"]))
def test_session_survives_random_units(units: list[tuple[bool, bytes]], transport: str) -> None:
    s, flow = _session(transport)
    for from_client, data in units:
        if data:
            s.on_frame(data, from_client)
    s.on_gap(True, 5)
    s.close()
    assert all(e.code.startswith("dnp3.") for e in flow.of("anomaly"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.booleans(), edits), max_size=10),
       st.integers(1, 40))
def test_session_survives_mutated_streams(items: list[tuple[bytes, bool, list[tuple[int, int]]]],
                                          chunk: int) -> None:
    """Valid conversations with octets changed, framed from a byte stream as the engine does."""
    s, flow = _session("tcp")
    buffers = {True: b"", False: b""}
    for fragment, from_master, changes in items:
        data = _mutate(frames(fragment, from_master) + link_frame(0xC9, 10, 1), changes)
        for i in range(0, len(data), chunk):
            buf = buffers[from_master] + data[i:i + chunk]
            while buf:
                size = frame_size(buf)
                if size is None or size > len(buf):
                    break
                s.on_frame(buf[:size], from_master)
                buf = buf[size:]
            buffers[from_master] = buf
    s.close()
    assert all(e.code.startswith("dnp3.") for e in flow.of("anomaly"))
