"""Session tests: sequence numbers, data transfer state, command pairing, limits, junk runs and
the connection summary, driven APDU by APDU through a recording flow."""

from __future__ import annotations

from typing import Any

from otshield.config import Settings
from otshield.protocols.iec104.session import Iec104Session

from .iec104_build import (
    STARTDT_ACT,
    STARTDT_CON,
    STOPDT_ACT,
    STOPDT_CON,
    TESTFR_ACT,
    TESTFR_CON,
    FakeFlow,
    asdu,
    i_frame,
    s_frame,
    u_frame,
)

C, S = True, False
SINGLE_ON_SELECT = (4001, b"\x81")  # SCO: on, select
INTERROGATION = asdu(100, 6, 1, [(0, b"\x14")])


def run(messages: list[tuple[bool, bytes]], flow: FakeFlow | None = None,
        step: float = 0.01) -> FakeFlow:
    flow = flow or FakeFlow()
    session = Iec104Session(flow)
    for from_client, frame in messages:
        flow.step(step)
        session.on_frame(frame, from_client)
    flow.step()
    session.close()
    return flow


def started() -> list[tuple[bool, bytes]]:
    return [(C, u_frame(STARTDT_ACT)), (S, u_frame(STARTDT_CON))]


def details(flow: FakeFlow) -> list[tuple[str, str]]:
    return [(e.code, e.detail) for e in flow.of("anomaly")]


def test_u_frames_are_events_and_s_frames_are_counted() -> None:
    flow = run([*started(), (S, u_frame(TESTFR_ACT)), (C, u_frame(TESTFR_CON)),
                (S, i_frame(0, 0, asdu(1, 3, 1, [(1, b"\x01")]))), (C, s_frame(1)),
                (C, u_frame(STOPDT_ACT)), (S, u_frame(STOPDT_CON))])
    assert [(e.function, e.src_port) for e in flow.of("iec104_apci")] == [
        ("STARTDT_ACT", 49200), ("STARTDT_CON", 2404), ("TESTFR_ACT", 2404),
        ("TESTFR_CON", 49200), ("STOPDT_ACT", 49200), ("STOPDT_CON", 2404)]
    (summary,) = flow.of("iec104_connection")
    assert (summary.src_port, summary.i_frames_src, summary.i_frames_dst, summary.s_frames_src,
            summary.s_frames_dst, summary.u_frames_src, summary.u_frames_dst,
            summary.sequence_errors, summary.data_transfer) == (
        49200, 0, 1, 1, 0, 3, 3, 0, "stopped")
    assert flow.codes() == []


def test_sequence_gap_duplicate_and_wraparound() -> None:
    point = asdu(1, 3, 1, [(1, b"\x01")])
    flow = run([*started(),
                (S, i_frame(0, 0, point)), (S, i_frame(1, 0, point)),
                (S, i_frame(4, 0, point)),     # 2 and 3 missing
                (S, i_frame(4, 0, point)),     # repeated
                (S, i_frame(2, 0, point)),     # behind
                (C, s_frame(3))])
    assert details(flow) == [
        ("iec104.sequence_gap", "N(S) 4, expected 2: 2 I-format APDUs missing"),
        ("iec104.sequence_duplicate", "N(S) 4, expected 5: 1 behind"),
        ("iec104.sequence_duplicate", "N(S) 2, expected 5: 3 behind")]
    assert flow.of("iec104_connection")[0].sequence_errors == 3


def test_wraparound_is_not_a_gap() -> None:
    point = asdu(1, 3, 1, [(1, b"\x01")])
    flow = run([(S, i_frame(32766, 0, point)), (S, i_frame(32767, 0, point)),
                (S, i_frame(0, 0, point)), (C, s_frame(1))], FakeFlow(opened=False))
    assert flow.codes() == []
    # unknown start: the numbering is learnt from the first APDU, data transfer state unknown
    assert flow.of("iec104_connection")[0].data_transfer == "unknown"


def test_handshake_seen_means_numbering_starts_at_zero() -> None:
    flow = run([*started(), (S, i_frame(5, 0, asdu(1, 3, 1, [(1, b"\x01")])))])
    assert details(flow) == [
        ("iec104.sequence_gap", "N(S) 5, expected 0: 5 I-format APDUs missing")]


def test_ack_beyond_sent_is_reported_when_the_other_side_shows_it() -> None:
    point = asdu(1, 3, 1, [(1, b"\x01")])
    flow = run([*started(), (S, i_frame(0, 0, point)),
                (C, s_frame(5)),                  # acknowledges 0..4, only 0 was sent
                (S, i_frame(1, 0, point))])       # the next is 1: 1..4 were never sent
    assert details(flow) == [
        ("iec104.ack_beyond_sent", "N(R) 5 in frame 4 acknowledges I-format APDUs up to 4, "
                                   "the other side had sent up to 0")]


def test_ack_of_apdus_lost_from_the_capture_is_not_an_anomaly() -> None:
    point = asdu(1, 3, 1, [(1, b"\x01")])
    flow = FakeFlow()
    session = Iec104Session(flow)
    for from_client, frame in [*started(), (S, i_frame(0, 0, point)), (C, s_frame(5))]:
        flow.step()
        session.on_frame(frame, from_client)
    session.on_gap(False, 64)  # the server's APDUs 1..4 are in the hole
    flow.step()
    session.on_frame(i_frame(5, 0, point), False)
    session.close()
    assert flow.codes() == []


def test_ack_beyond_sent_still_open_at_the_end_is_reported() -> None:
    flow = run([*started(), (C, s_frame(2))])
    assert details(flow) == [
        ("iec104.ack_beyond_sent", "N(R) 2 in frame 3 acknowledges I-format APDUs up to 1, "
                                   "the other side had sent none")]


def test_data_before_startdt() -> None:
    point = asdu(1, 3, 1, [(1, b"\x01")])
    flow = run([(S, i_frame(0, 0, point)), (S, i_frame(1, 0, point)),  # reported once
                *started(), (S, i_frame(2, 0, point)),
                (C, u_frame(STOPDT_ACT)), (S, u_frame(STOPDT_CON)),
                (S, i_frame(3, 0, point))])  # after STOPDT con: a new stopped period
    assert [(e.code, e.frame) for e in flow.of("anomaly")] == [
        ("iec104.data_before_startdt", 1), ("iec104.data_before_startdt", 8)]


def test_command_confirmed_with_termination() -> None:
    command = asdu(45, 6, 7, [SINGLE_ON_SELECT])
    flow = run([*started(), (C, i_frame(0, 0, command)),
                (S, i_frame(0, 1, asdu(45, 7, 7, [SINGLE_ON_SELECT]))),
                (S, i_frame(1, 1, asdu(45, 10, 7, [SINGLE_ON_SELECT])))], step=0.5)
    first, term = flow.of("iec104")
    assert (first.type_name, first.cause_name, first.result, first.frame, first.request_frame,
            first.response_time, first.src_port, first.send_seq, first.recv_seq) == (
        "C_SC_NA_1", "activation", "confirmed", 4, 3, 0.5, 49200, 0, 0)
    assert (first.objects[0].ioa, first.objects[0].value, first.objects[0].select) == (
        4001, True, True)
    assert (term.cause_name, term.result, term.request_frame, term.src_port,
            term.function_class) == ("activation_term", "terminated", 3, 2404, "control")
    assert flow.codes() == []


def test_negative_and_unknown_address_replies() -> None:
    setpoint = (5, b"\x00\x00\x20\x41\x00")  # 10.0, QOS execute
    flow = run([*started(),
                (C, i_frame(0, 0, asdu(50, 6, 1, [setpoint]))),
                (S, i_frame(0, 1, asdu(50, 7, 1, [setpoint], negative=True))),
                (C, i_frame(1, 1, asdu(50, 6, 1, [(6, setpoint[1])]))),
                (S, i_frame(1, 2, asdu(50, 47, 1, [(6, setpoint[1])], negative=True)))])
    assert [(e.function_class, e.result) for e in flow.of("iec104")] == [
        ("write", "negative"), ("write", "unknown_ioa")]


def test_deactivation_pairs_with_deactivation_con() -> None:
    flow = run([*started(),
                (C, i_frame(0, 0, asdu(100, 8, 1, [(0, b"\x14")]))),
                (S, i_frame(0, 1, asdu(100, 7, 1, [(0, b"\x14")]))),   # not its answer
                (S, i_frame(1, 1, asdu(100, 9, 1, [(0, b"\x14")])))])
    events = flow.of("iec104")
    assert [(e.cause_name, e.result) for e in events] == [
        ("activation_con", "unmatched"), ("deactivation", "confirmed")]
    assert flow.codes() == ["iec104.unmatched_confirmation"]


def test_unanswered_commands_at_close_and_on_timeout() -> None:
    flow = FakeFlow(Settings(request_timeout=10.0))
    session = Iec104Session(flow)
    flow.step()
    session.on_frame(i_frame(0, 0, INTERROGATION), True)            # frame 1
    flow.step(11.0)
    session.on_frame(u_frame(TESTFR_ACT), True)                      # frame 2: 1 expired
    flow.step()
    session.on_frame(i_frame(1, 0, asdu(46, 6, 1, [(9, b"\x02")])), True)  # frame 3
    flow.step()
    session.close()
    unanswered = [(e.type_name, e.result, e.frame) for e in flow.of("iec104")]
    assert unanswered == [("C_IC_NA_1", "unanswered", 1), ("C_DC_NA_1", "unanswered", 3)]
    assert [(e.code, e.frame) for e in flow.of("anomaly")
            if e.code == "iec104.unanswered_command"] == [
        ("iec104.unanswered_command", 2), ("iec104.unanswered_command", 4)]


def test_too_many_pending() -> None:
    flow = FakeFlow(Settings(max_pending_requests=2))
    session = Iec104Session(flow)
    for n in range(4):
        flow.step()
        session.on_frame(i_frame(n, 0, asdu(45, 6, 1, [(n, b"\x01")])), True)
    flow.step()
    session.close()
    assert [e.objects[0].ioa for e in flow.of("iec104")] == [0, 1, 2, 3]
    assert flow.codes().count("iec104.too_many_pending") == 1
    # the two pushed out are not reported again; the two left are, at close
    assert flow.codes().count("iec104.unanswered_command") == 2


def test_file_transfer_function_class_follows_the_direction() -> None:
    ready = asdu(120, 13, 1, [(1, b"\x02\x00\x10\x00\x00\x00")])
    call = asdu(122, 13, 1, [(1, b"\x02\x00\x00\x02")])
    delete = asdu(122, 13, 1, [(1, b"\x02\x00\x00\x04")])
    ack = asdu(124, 13, 1, [(1, b"\x02\x00\x00\x01")])
    flow = run([*started(),
                (S, i_frame(0, 0, ready)), (C, i_frame(0, 1, call)), (C, i_frame(1, 1, ack)),
                (C, i_frame(2, 1, ready)), (S, i_frame(1, 3, call)), (S, i_frame(2, 3, ack)),
                (C, i_frame(3, 3, delete))])
    assert [e.function_class for e in flow.of("iec104")] == [
        "read", "read", "read", "program", "program", "program", "program"]


def test_roles_follow_port_2404() -> None:
    # a flow whose client side is on 2404 (seen from the middle): the server is controlling
    flow = run([(False, i_frame(0, 0, INTERROGATION)),
                (True, i_frame(0, 1, asdu(100, 7, 1, [(0, b"\x14")])))],
               FakeFlow(opened=False, client_port=2404, server_port=50000))
    (event,) = flow.of("iec104")
    assert (event.result, event.src_port) == ("confirmed", 50000)
    assert flow.of("iec104_connection")[0].src_port == 50000


def test_junk_is_reported_once_per_run() -> None:
    flow = run([(C, b"\x00\x01\x02"), (C, b"\x03\x04"), (C, u_frame(STARTDT_ACT)),
                (S, b"\x68\x02\x00\x00\x00\x00"), (S, u_frame(STARTDT_CON))])
    assert details(flow) == [
        ("iec104.invalid_start", "start octet 0x00, expected 0x68: 5 bytes skipped to the next "
                                 "APDU"),
        ("iec104.invalid_length", "APDU length 2 outside 4..253: 6 bytes skipped to the next "
                                  "APDU")]


def test_short_asdu_and_unknown_type_are_reported() -> None:
    flow = run([*started(), (S, i_frame(0, 0, b"\x01\x01")),
                (S, i_frame(1, 0, asdu(99, 3, 1, [(1, b"\x00")])))])
    assert flow.codes() == ["iec104.short_asdu", "iec104.unknown_type_id"]
    (event,) = flow.of("iec104")
    assert (event.type_name, event.objects) == ("UNKNOWN", ())


def _events_view(flow: FakeFlow) -> list[dict[str, Any]]:
    return [{"tag": e.__struct_config__.tag, "frame": e.frame} for e in flow.events]


def test_on_data_is_unused() -> None:
    flow = FakeFlow()
    session = Iec104Session(flow)
    session.on_data(b"\x68\x04\x07\x00\x00\x00", True)
    assert _events_view(flow) == []


def test_termination_without_a_confirmed_command_is_a_plain_asdu() -> None:
    flow = run([*started(), (S, i_frame(0, 0, asdu(100, 10, 1, [(0, b"\x14")])))])
    (event,) = flow.of("iec104")
    assert (event.result, event.request_frame) == (None, None)
    assert flow.codes() == []
