"""The shared identify-depth session: one ``first`` record at the first valid unit, one
``summary`` record with counters at the end, bounded counting, malformed units reported (the
first few one by one), facts kept per direction (first value wins)."""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.identify import (
    MAX_KINDS,
    MAX_REPORTED_MALFORMED,
    IdentifyEvent,
    IdentifySession,
    NameCount,
    Summary,
    Unit,
    fact_int,
    identify_fields,
)
from otshield.protocols.sbus import SPEC as SBUS
from otshield.protocols.sbus.events import SbusEvent

from .identify_build import FakeFlow, sbus


def parse(frame: bytes, from_client: bool) -> Unit:
    """A toy protocol: byte 0 = kind number, byte 1 = station; 0xFF is malformed."""
    if not frame or frame[0] == 0xFF:
        raise Malformed("toy.bad", "bad unit")
    cls = {0: "read", 1: "write", 2: "control"}.get(frame[0], "other")
    return Unit(f"kind{frame[0]}", cls, from_client, {"station": frame[1]} if len(frame) > 1
                else None)


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> IdentifyEvent:
    # an existing record class with a ``station`` field: tests define no new event types
    return SbusEvent(**fields, **identify_fields(phase, first, summary),
                    station=fact_int(summary.client, "station"))


def run(frames: list[tuple[bool, bytes]]) -> FakeFlow:
    flow = FakeFlow()
    session = IdentifySession(flow, "toy", parse, build)
    for from_client, frame in frames:
        flow.step()
        session.on_frame(frame, from_client)
    session.on_gap(True, 5)
    session.close()
    return flow


def test_first_and_summary() -> None:
    flow = run([(True, b"\x00\x07"), (False, b"\x00\x09"), (True, b"\x02\x08"),
                (True, b"\x00")])
    first, summary = flow.of("sbus")
    assert (first.phase, first.message, first.function_class, first.station, first.frame) == (
        "first", "kind0", "read", 7, 1)
    assert first.message_counts is None and first.messages == 1
    assert (summary.phase, summary.message, summary.function_class, summary.messages) == (
        "summary", "kind0", "control", 4)  # the highest class seen, the most frequent kind
    assert summary.message_counts == (NameCount("kind0", 3), NameCount("kind2", 1))
    assert summary.function_classes == (NameCount("read", 3), NameCount("control", 1))
    assert summary.station == 7  # first value of the client's facts wins
    assert flow.codes() == []


def test_malformed_units_are_reported_then_counted() -> None:
    flow = run([(True, b"\xff")] * 7 + [(True, b"\x01\x01")])
    assert flow.codes() == ["toy.bad"] * MAX_REPORTED_MALFORMED + ["toy.malformed"]
    [first, summary] = flow.of("sbus")
    assert (first.message, summary.malformed, summary.messages) == ("kind1", 7, 1)


def test_nothing_valid_nothing_reported() -> None:
    flow = run([(True, b"\xff")])
    assert flow.of("sbus") == [] and flow.codes() == ["toy.bad"]


def test_kinds_are_bounded() -> None:
    flow = run([(True, bytes([i % 250, 1])) for i in range(MAX_KINDS + 10)])
    summary = flow.of("sbus")[-1]
    assert summary.truncated
    assert len(summary.message_counts) == MAX_KINDS + 1
    assert NameCount("other", 10) in summary.message_counts


def test_a_real_spec_session() -> None:
    flow = FakeFlow(transport="udp")
    session = SBUS.session_factory(flow)
    flow.step()
    session.on_frame(sbus(1, 0, b"\x0a\x06\x02\x00\x00"), True)  # read registers
    flow.step()
    session.on_frame(b"garbage", False)
    session.close()
    events = flow.of("sbus")
    assert [type(e) for e in events] == [SbusEvent, SbusEvent]
    assert (events[0].message, events[0].station, events[1].malformed) == (
        "read_registers", 10, 1)
    assert flow.codes() == ["sbus.truncated"]
