"""Session tests: pairing, limits and every session-level anomaly, fed TPKT frames directly."""

from __future__ import annotations

from otshield.config import Settings
from otshield.protocols.mms.session import MmsSession
from protocols.mms_build import (
    ACSE_CTX,
    FakeFlow,
    aare,
    aarq,
    ab,
    abrt,
    ac,
    cn,
    confirmed_request,
    confirmed_response,
    cp,
    cpa,
    ctx,
    data,
    dom_name,
    dt,
    fully_encoded,
    gt_dt,
    initiate_request,
    initiate_response,
    list_of_variable,
    rf,
    tpkt,
)

F = False


def read(invoke: int) -> bytes:
    return dt(data(confirmed_request(invoke, 4, ctx(1, list_of_variable(dom_name("L", "V"))))))


def read_ok(invoke: int) -> bytes:
    return dt(data(confirmed_response(invoke, 4, ctx(1, ctx(3, b"\x01", F)))))


def feed(session: MmsSession, flow: FakeFlow, frames: list[tuple[bool, bytes]]) -> None:
    for from_client, frame in frames:
        flow.frame += 1
        session.on_frame(frame, from_client)


def test_pairs_by_invoke_id_out_of_order() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, read(1)), (True, read(2)), (False, read_ok(2)), (False, read_ok(1))])
    s.close()
    events = flow.of("mms")
    assert [(e.invoke_id, e.answered, e.request_frame, e.frame) for e in events] == [
        (2, True, 3, 4), (1, True, 2, 5)]
    assert flow.codes() == []


def test_server_side_requests_pair_too() -> None:
    """ICCP: both ends send confirmed requests; the requester is the event's source."""
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(False, read(7)), (True, read_ok(7))])
    (event,) = flow.of("mms")
    assert event.src_port == 102 and event.answered


def test_too_many_pending() -> None:
    flow = FakeFlow(Settings(max_pending_requests=2))
    s = MmsSession(flow)
    feed(s, flow, [(True, read(1)), (True, read(2)), (True, read(3))])
    assert flow.codes() == ["mms.too_many_pending"]
    given_up = flow.of("mms")
    assert [(e.invoke_id, e.answered) for e in given_up] == [(1, False)]
    s.close()
    assert flow.codes().count("mms.unanswered_request") == 2


def test_invoke_id_reuse_reports_unanswered() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, read(1)), (True, read(1)), (False, read_ok(1))])
    assert flow.codes() == ["mms.unanswered_request"]
    assert [e.answered for e in flow.of("mms")] == [False, True]


def test_unmatched_response_and_service_mismatch() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(False, read_ok(9))])
    assert flow.codes() == ["mms.unmatched_response"]
    assert flow.of("mms")[0].answered is None
    feed(s, flow, [(True, read(3)),
                   (False, dt(data(confirmed_response(3, 2, ctx(0, b"v", F)))))])
    assert "mms.service_mismatch" in flow.codes()


def test_unknown_service_and_confirmed_error() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(data(confirmed_request(4, 95, b"", constructed=False))))])
    assert flow.codes() == ["mms.unknown_service"]
    err = ctx(2, ctx(0, b"\x04", F) + ctx(2, ctx(0, ctx(11, b"\x07", F))))  # file-non-existent
    feed(s, flow, [(False, dt(data(err)))])
    assert flow.codes()[-1] == "mms.confirmed_error"
    event = flow.of("mms")[-1]
    assert (event.service_name, event.result, event.error_class, event.error_code,
            event.function_class) == ("unknown-95", "error", "file", "file-non-existent",
                                      "other")


def test_association_rejected_by_aare_and_by_refuse() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(cn(cp(aarq(initiate_request("1")))))),
                   (False, dt(ac(cpa(aare(initiate_response("1"), result=1, diagnostic=14)))))])
    feed(s, flow, [(True, dt(cn(cp(aarq(initiate_request("1")))))), (False, dt(rf(2)))])
    assert flow.codes() == ["mms.association_rejected", "mms.association_rejected"]
    first, second = flow.of("mms")
    assert (first.result, first.association_result, first.association_diagnostic) == (
        "rejected", "rejected-permanent", "authentication-required")
    assert second.result == "rejected" and second.function_class == "other"


def test_unanswered_association_at_close() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(cn(cp(aarq(initiate_request("1"), password=b"pw")))))])
    s.close()
    (event,) = flow.of("mms")
    assert (event.pdu, event.answered, event.function_class, event.auth_value_present) == (
        "initiate", False, "security", True)
    assert flow.codes() == ["mms.unanswered_request"]


def test_abort() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(False, dt(ab(ctx(0, fully_encoded(ACSE_CTX, abrt(1))))))])
    (event,) = flow.of("mms")
    assert (event.pdu, event.result, event.reason, event.src_port) == (
        "abort", "aborted", "acse-service-provider", 102)


def test_cancel_pairs() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(data(bytes.fromhex("850105")))),   # cancel-RequestPDU 5
                   (False, dt(data(bytes.fromhex("860105"))))])  # cancel-ResponsePDU 5
    (event,) = flow.of("mms")
    assert (event.pdu, event.invoke_id, event.result, event.answered) == (
        "cancel", 5, "success", True)


def test_bare_mms_on_cotp() -> None:
    """Stacks that skip session/presentation: the MMS PDU is the whole TSDU."""
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(initiate_request("111"))), (False, dt(initiate_response("111"))),
                   (True, dt(bytes.fromhex("8b00"))), (False, dt(bytes.fromhex("8c00")))])
    initiate, conclude = flow.of("mms")
    assert (initiate.pdu, initiate.result, initiate.services_called) == (
        "initiate", "success", ["status", "getNameList", "identify"])
    assert (conclude.pdu, conclude.result) == ("conclude", "success")


def test_unknown_context_reported_once() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [(True, dt(cn(cp(aarq(initiate_request("1")))))),
                   (False, dt(ac(cpa(aare(initiate_response("1")))))),
                   (True, dt(gt_dt(fully_encoded(9, confirmed_request(1, 2, b"", F))))),
                   (True, dt(gt_dt(fully_encoded(9, confirmed_request(2, 2, b"", F)))))])
    assert flow.codes() == ["mms.unknown_context"]


def test_malformed_layers() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    feed(s, flow, [
        (True, dt(bytes.fromhex("0d05c1"))),                 # SPDU length overruns
        (True, dt(gt_dt(bytes.fromhex("6203020101")))),      # User-data [APPLICATION 2]
        (True, dt(cn(cp(bytes.fromhex("6500"))))),           # ACSE [APPLICATION 5]
        (True, dt(data(bytes.fromhex("a000")))),             # MMS without invokeID
        (True, tpkt(b"\x09\xf0\x80")),                       # COTP LI beyond the TPDU
        (True, b"\x03\x00\x00\x07\x02\xf0\x80"),             # empty DT: nothing to decode
    ])
    assert flow.codes() == ["mms.bad_session", "mms.bad_presentation", "mms.bad_acse",
                            "mms.bad_pdu", "cotp.invalid"]


def test_gap_resynchronises_on_next_unit() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)
    whole = data(confirmed_response(1, 4, ctx(1, ctx(3, b"\x01", F))))
    feed(s, flow, [(True, read(1)), (True, read(2))])
    s.on_gap(False, 100)
    # the tail of a TSDU whose head was lost, then a whole response: only the latter decodes
    feed(s, flow, [(False, dt(whole[10:])), (False, read_ok(2))])
    assert flow.codes() == []
    assert [e.invoke_id for e in flow.of("mms")] == [2]
    s.on_gap(False, 100)
    feed(s, flow, [(False, dt(whole[5:], eot=False)), (False, dt(whole[:3])),
                   (False, read_ok(1))])
    assert [e.invoke_id for e in flow.of("mms")] == [2, 1]


def test_request_timeout_reports_old_requests() -> None:
    flow = FakeFlow(Settings(request_timeout=10.0))
    s = MmsSession(flow)
    feed(s, flow, [(True, read(1))])
    flow.ts += 11.0
    feed(s, flow, [(True, read(2))])
    assert flow.codes() == ["mms.unanswered_request"]
    (given_up,) = flow.of("mms")
    assert (given_up.invoke_id, given_up.answered, given_up.frame) == (1, False, 2)
    feed(s, flow, [(False, read_ok(2))])
    assert [e.invoke_id for e in flow.of("mms")] == [1, 2]


def test_control_writes_and_select() -> None:
    flow = FakeFlow()
    s = MmsSession(flow)

    def write(invoke: int, item: str) -> bytes:
        return dt(data(confirmed_request(invoke, 5, list_of_variable(dom_name("C", item))
                                         + ctx(0, ctx(2, ctx(3, b"\x01", F))))))

    def write_ok(invoke: int) -> bytes:
        return dt(data(confirmed_response(invoke, 5, ctx(1, b"", F))))

    def read_item(invoke: int, item: str) -> bytes:
        return dt(data(confirmed_request(invoke, 4, ctx(1, list_of_variable(
            dom_name("C", item))))))

    feed(s, flow, [(True, write(1, "XCBR1$CO$Pos$SBOw")), (False, write_ok(1)),
                   (True, write(2, "XCBR1$CO$Pos")), (False, write_ok(2)),
                   (True, read_item(3, "XCBR1$CO$Pos$SBO")), (False, read_ok(3)),
                   (True, read_item(4, "XCBR1$CO$Pos$Oper$ctlVal")), (False, read_ok(4)),
                   (True, write(5, "XCBR1$CF$Pos$ctlModel")), (False, write_ok(5))])
    got = [(e.function_class, e.control_object, e.control_action,
            e.ctl_val.value if e.ctl_val else None) for e in flow.of("mms")]
    assert got == [("control", "C/XCBR1$CO$Pos", "SBOw", True),
                   ("control", "C/XCBR1$CO$Pos", None, None),
                   ("control", "C/XCBR1$CO$Pos", "SBO", None),
                   ("read", None, None, None),
                   ("write", None, None, None)]
