"""S7comm session: pairing, data-unit joining, limits and every session-level anomaly."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.events import AnomalyEvent
from otshield.protocols.s7comm import ANOMALIES, SPEC, probe
from otshield.protocols.s7comm.events import S7commEvent, S7commPlusEvent
from otshield.protocols.s7comm.session import MAX_UD_TRAINS, S7commSession
from protocols.s7_build import (
    FakeFlow,
    ack_data,
    any_item,
    block_file,
    cc,
    cr,
    data_items,
    dt,
    job,
    plus_frame,
    plus_request,
    plus_response,
    read_var,
    s7,
    setup_comm,
    szl_0011_record,
    szl_answer,
    tpkt,
    ud_data,
    userdata,
    userdata_param,
    write_var,
)


class Harness:
    def __init__(self, settings_: Settings | None = None) -> None:
        self.flow = FakeFlow(settings_)
        self.session = S7commSession(self.flow)

    def send(self, from_client: bool, packet: bytes) -> None:
        self.flow.step()
        self.session.on_frame(packet, from_client)

    def c(self, s7pdu: bytes) -> None:
        self.send(True, dt(s7pdu))

    def s(self, s7pdu: bytes) -> None:
        self.send(False, dt(s7pdu))

    def s7(self) -> list[S7commEvent]:
        return [e for e in self.flow.events if isinstance(e, S7commEvent)]

    def plus(self) -> list[S7commPlusEvent]:
        return [e for e in self.flow.events if isinstance(e, S7commPlusEvent)]

    def anomalies(self) -> list[str]:
        return [e.code for e in self.flow.events if isinstance(e, AnomalyEvent)]


def fields(event: Any) -> dict[str, Any]:
    d: dict[str, Any] = msgspec.to_builtins(event)
    for k in ("@timestamp", "flow_id", "network.community_id", "source.ip", "destination.ip",
              "network.transport", "destination.port"):
        d.pop(k, None)
    return d


def test_every_anomaly_code_is_documented() -> None:
    assert SPEC.anomaly_codes is ANOMALIES
    for code in ANOMALIES:
        assert code.split(".")[0] in ("tpkt", "cotp", "s7comm", "s7commplus")
        assert ANOMALIES[code]


def test_probe() -> None:
    assert probe(dt(job(1, setup_comm(1, 1, 480))), True)
    assert probe(dt(plus_frame(1, plus_request(0x04CA, 1, 0x120, 0x36))), True)
    assert probe(cr(1, b"\x01\x00", b"\x01\x02"), True)
    assert probe(cr(1, b"\x01\x00", b"SIMATIC-ROOT-HMI"), True)
    assert not probe(cr(1, b"\x00\x01", b"\x00\x01"), True)  # MMS-style TSAPs
    assert not probe(cr(1, None, None), True)  # RDP-style request without TSAPs
    assert not probe(dt(b"\x0d\x00"), True)  # OSI session layer (MMS)
    assert not probe(b"\x03\x00\x00", True)
    assert not probe(b"GET / HTTP/1.1\r\n", True)


def test_read_pairing_merges_addresses_and_values() -> None:
    t = Harness()
    t.c(job(0x10, read_var([any_item(0x84, 1, 4, 0, 2, 2), any_item(0x81, 0, 0, 5, 1, 1)])))
    assert t.s7() == []
    t.s(ack_data(0x10, b"\x04\x02", data_items([(0xFF, 4, b"\xaa\xbb"), (0x0A, 0, b"")])))
    (event,) = t.s7()
    assert fields(event) == {
        "event.dataset": "s7comm", "frame": 3,
        "source.port": 50100,
        "rosctr": "job", "pdu_ref": 0x10, "function": "read_var", "function_class": "read",
        "function_code": 4, "answered": True, "item_count": 2,
        "items": [
            {"syntax": "S7ANY", "area": "DB", "area_code": 0x84, "db": 1, "byte_address": 4,
             "bit_address": 0, "transport_size": "BYTE", "count": 2, "return_code": 0xFF,
             "status": "success", "value": "aabb", "value_length": 2},
            {"syntax": "S7ANY", "area": "I", "area_code": 0x81, "byte_address": 0,
             "bit_address": 5, "transport_size": "BIT", "count": 1, "return_code": 0x0A,
             "status": "object_does_not_exist"},
        ],
    }
    assert t.anomalies() == []


def test_write_takes_values_from_the_request_and_results_from_the_response() -> None:
    t = Harness()
    t.c(job(7, write_var([any_item(0x82, 0, 1, 0, 2, 1)]), data_items([(0, 4, b"\x01")])))
    t.s(ack_data(7, b"\x05\x01", b"\x05"))  # invalid address
    (event,) = t.s7()
    assert event.items is not None
    item = event.items[0]
    assert (item.area, item.value, item.return_code, item.status) == (
        "Q", "01", 5, "invalid_address")


def test_jobs_from_the_plc_are_paired_too() -> None:
    t = Harness()
    # during a download the PLC asks the programming device for the block
    # function 0x1b, status, 2 unknown bytes, 4 unknown bytes, file name "_0A00001P"
    t.s(job(0x300, bytes.fromhex("1b 00 0100 00000000 09") + block_file("0A", 1, "P")))
    t.c(ack_data(0x300, b"\x1b\x00", bytes.fromhex("0002 00fb 7070")))
    (event,) = t.s7()
    assert (event.src_port, event.function, event.block, event.data_length) == (
        102, "download_block", "DB1", 2)


def test_ack_with_error_and_header_error_names() -> None:
    t = Harness()
    t.c(job(5, bytes.fromhex("1d 00 0000 00000000 09") + block_file("08", 0, "A")))
    t.s(s7(2, 5, error=(0xD2, 0x0C)))
    (event,) = t.s7()
    assert (event.error_class, event.error_code, event.error) == (
        "0xd2", 0xD20C, "ob_priority_class_missing")
    t.c(job(6, read_var([any_item(0x83, 0, 0, 0, 2, 1)])))
    t.s(ack_data(6, b"", error=(0x85, 0x00)))
    assert (t.s7()[1].error_class, t.s7()[1].error_code) == ("supplies", 0x8500)


def test_unanswered_and_reused_references() -> None:
    t = Harness()
    t.c(job(1, setup_comm(1, 1, 480)))
    t.c(job(1, setup_comm(1, 1, 240)))  # same reference again: the first went unanswered
    assert t.anomalies() == ["s7comm.unanswered_request"]
    t.session.close()
    assert t.anomalies() == ["s7comm.unanswered_request"] * 2
    first, second = t.s7()
    assert (first.answered, first.pdu_size_requested) == (False, 480)
    assert (second.answered, second.pdu_size_requested) == (False, 240)
    assert second.frame == 3  # reported at the request's packet


def test_too_many_pending() -> None:
    t = Harness(Settings(max_pending_requests=3))
    for ref in range(4):
        t.c(job(ref, setup_comm(1, 1, 240)))
    assert t.anomalies() == ["s7comm.too_many_pending"]
    (given_up,) = t.s7()
    assert (given_up.pdu_ref, given_up.answered) == (0, False)


def test_response_before_its_request_is_held_then_paired() -> None:
    t = Harness()
    t.s(ack_data(9, setup_comm(1, 1, 240)))
    assert t.s7() == []
    t.c(job(9, setup_comm(1, 1, 480)))
    (event,) = t.s7()
    assert (event.answered, event.pdu_size, event.pdu_size_requested) == (True, 240, 480)
    assert event.frame == 2  # the response's packet completed it
    assert t.anomalies() == []


def test_unmatched_response_after_the_window_or_at_close() -> None:
    t = Harness()
    t.s(ack_data(9, setup_comm(1, 1, 240)))
    t.flow.ts += 5.0
    t.s(ack_data(10, setup_comm(1, 1, 240)))  # later response flushes the stale one
    assert t.anomalies() == ["s7comm.unmatched_response"]
    t.session.close()
    assert t.anomalies() == ["s7comm.unmatched_response"] * 2
    assert [(e.pdu_ref, e.answered, e.src_port) for e in t.s7()] == [
        (9, None, 50100), (10, None, 50100)]


def test_item_count_mismatch_between_request_and_response() -> None:
    t = Harness()
    t.c(job(3, read_var([any_item(0x83, 0, 0, 0, 2, 1), any_item(0x83, 0, 1, 0, 2, 1)])))
    t.s(ack_data(3, b"\x04\x01", data_items([(0xFF, 4, b"\x01")])))
    assert t.anomalies() == ["s7comm.item_count_mismatch"]


SZL_REQ = userdata_param(1, 4, 1, 0)


def test_szl_response_joined_from_data_units() -> None:
    t = Harness()
    answer = szl_answer(0x11, 0, 28, [szl_0011_record(1, "6ES7 412-2EK06-0AB0", 0xC0, 6, 1),
                                       szl_0011_record(7, "", 0xC0, 0x5606, 0x0403)])
    t.c(userdata(0x100, SZL_REQ, ud_data(bytes.fromhex("00110000"))))
    t.s(userdata(0x100, userdata_param(2, 4, 1, 2, ext=True, dur=0xD5, last=False),
                 ud_data(answer[:30])))
    t.c(userdata(0x200, userdata_param(1, 4, 1, 2, ext=True), ud_data(b"", ret=0x0A, tsize=0)))
    t.s(userdata(0x200, userdata_param(2, 4, 1, 2, ext=True, dur=0xD5, last=True),
                 ud_data(answer[30:])))
    first, second = t.s7()
    assert (first.szl_id, first.more_data, first.fragmented, first.order_number) == (
        0x11, True, False, None)
    assert (second.szl_id, second.fragmented, second.order_number, second.firmware_version) == (
        0x11, True, "6ES7 412-2EK06-0AB0", "V6.4.3")
    assert (second.function_class, second.szl_list) == ("identify", "module_identification")
    assert t.anomalies() == []


def test_data_unit_limits() -> None:
    t = Harness()
    for ref in range(MAX_UD_TRAINS + 1):
        t.s(userdata(ref, userdata_param(2, 4, 1, 0, ext=True, dur=ref + 1, last=False),
                     ud_data(b"\x00\x11")))
    assert t.anomalies()[-1] == "s7comm.too_many_fragments"
    t2 = Harness()
    big = b"\xee" * 60000
    t2.s(userdata(1, userdata_param(2, 4, 1, 0, ext=True, dur=9, last=False), ud_data(big)))
    t2.s(userdata(2, userdata_param(2, 4, 1, 0, ext=True, dur=9, last=False), ud_data(big)))
    assert "s7comm.fragment_overflow" in t2.anomalies()


def test_unknown_userdata_function() -> None:
    t = Harness()
    t.c(userdata(1, userdata_param(1, 4, 0x30, 0), ud_data(b"")))
    t.s(userdata(1, userdata_param(2, 4, 0x30, 0, ext=True), ud_data(b"")))
    (event,) = t.s7()
    assert (event.function, event.function_class, event.group) == (
        "unknown_0x30", "diagnostics", "cpu_functions")
    assert t.anomalies() == ["s7comm.unknown_function"]


def test_indications_are_unsolicited() -> None:
    t = Harness()
    t.s(bytes.fromhex("32070000000000080000" "0101 00000000 02 00"))  # mode transition: RUN
    t.s(userdata(0, userdata_param(0, 4, 0x03, 0, ext=True), ud_data(b"\x43\x01" + bytes(18))))
    mode, diag = t.s7()
    assert (mode.function, mode.cpu_mode, mode.unsolicited, mode.answered, mode.src_port) == (
        "mode_transition", "run", True, None, 102)
    assert (diag.function, diag.unsolicited) == ("diagnostic_message", True)


def test_cotp_connection_and_garbage() -> None:
    t = Harness()
    t.send(True, cr(1, b"\x01\x00", b"\x01\x02"))
    t.send(False, cc(1, 0x44, b"\x01\x00", b"\x01\x02"))
    t.send(True, tpkt(b"\x02\x30\x00"))  # unknown TPDU code
    t.send(True, b"\x03\x00\x00\x09\x02\xf0\x80")  # length field disagrees with the packet
    t.c(b"\x0d\x05\x00")  # COTP data that is not S7
    t.c(b"\x0d\x05\x00")
    t.c(b"\x32\x09")  # S7 header cut short
    assert t.anomalies() == ["cotp.invalid", "tpkt.invalid_length", "s7comm.unknown_protocol",
                             "s7comm.invalid_header"]


def test_segmented_tsdu_and_gap() -> None:
    t = Harness()
    pdu = job(1, setup_comm(1, 1, 480))
    t.send(True, dt(pdu[:5], eot=False))
    t.send(True, dt(pdu[5:], eot=True))
    t.s(ack_data(1, setup_comm(1, 1, 240)))
    assert t.s7()[0].pdu_size == 240
    t.send(True, dt(pdu[:5], eot=False))
    t.session.on_gap(True, 100)  # the rest is lost
    t.send(True, dt(job(2, setup_comm(1, 1, 960)), eot=True))
    t.s(ack_data(2, setup_comm(1, 1, 960)))
    assert t.s7()[1].pdu_size_requested == 960
    assert t.anomalies() == []


def test_plus_pairing_and_flags() -> None:
    t = Harness()
    t.c(plus_frame(2, plus_request(0x054C, 5, 0x3BE, 0x34, b"\x00" * 8)))
    t.s(plus_frame(2, plus_response(0x054C, 5, 0x34, b"\x00", b"\x00" * 4)))
    t.c(plus_frame(2, plus_request(0x04F2, 6, 0x3BE, 0x74)))  # may go unanswered
    t.c(plus_frame(2, plus_request(0x04F2, 7, 0x3BE, 0x34)))  # must be answered
    t.s(plus_frame(2, plus_response(0x0999, 8, 0x34, b"\x00")))  # answers nothing seen
    t.session.close()
    # at close: the held response is reported first, then the request that needed an answer
    assert t.anomalies() == ["s7commplus.unmatched_response", "s7commplus.unknown_function",
                             "s7commplus.unanswered_request"]
    events = {e.sequence: e for e in t.plus()}
    assert (events[5].function, events[5].answered, events[5].return_value) == (
        "get_multi_variables", True, 0)
    assert (events[6].answered, events[7].answered, events[8].answered) == (False, False, None)
    assert events[8].function == "unknown_0x0999"


def test_plus_too_many_pending_and_garbage() -> None:
    t = Harness(Settings(max_pending_requests=2))
    for seq in range(3):
        t.c(plus_frame(2, plus_request(0x054C, seq, 1, 0x34)))
    assert t.anomalies() == ["s7commplus.too_many_pending"]
    t.c(b"\x72\x02\x00\x40\x31")  # data length beyond the frame
    t.c(b"\x72\x01\x00\x01\x44\x72\x01\x00\x00")  # unknown opcode
    assert t.anomalies()[1:] == ["s7commplus.invalid_length", "s7commplus.unknown_opcode"]


def test_plus_fragments_counted() -> None:
    t = Harness()
    body = plus_request(0x0586, 9, 0x3C0, 0x34, b"\x11" * 30)
    t.c(plus_frame(2, body[:20], trailer=False))
    t.c(plus_frame(2, body[20:], trailer=True))
    t.s(plus_frame(2, plus_response(0x0586, 9, 0x34, b"\x00")))
    (event,) = t.plus()
    assert (event.function, event.fragments, event.session_id) == (
        "get_var_sub_streamed", 2, 0x3C0)


_GOOD = [
    dt(job(1, read_var([any_item(0x84, 1, 0, 0, 2, 4)]))),
    dt(ack_data(1, b"\x04\x01", data_items([(0xFF, 4, b"\x01\x02\x03\x04")]))),
    dt(userdata(2, SZL_REQ, ud_data(bytes.fromhex("001c0000")))),
    dt(userdata(2, userdata_param(2, 4, 1, 0, ext=True), ud_data(szl_answer(
        0x1C, 0, 34, [bytes(34)])))),
    dt(plus_frame(2, plus_request(0x04CA, 1, 0x120, 0x36, b"\xa3\x82\x28\x00\x15\x01A"))),
    cr(1, b"\x01\x00", b"\x01\x02"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(_GOOD), st.integers(0, 200),
                          st.integers(0, 255)), max_size=8))
def test_fuzz_session_never_raises(steps: list[tuple[bool, bytes, int, int]]) -> None:
    t = Harness()
    for from_client, packet, pos, value in steps:
        mutated = bytearray(packet)
        if pos < len(mutated):
            mutated[pos] = value
        t.send(from_client, bytes(mutated))
    t.session.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=60)), max_size=6))
def test_fuzz_random_tsdus(steps: list[tuple[bool, bytes]]) -> None:
    t = Harness()
    for from_client, data in steps:
        t.send(from_client, dt(b"\x32" + data))
        t.send(from_client, dt(b"\x72" + data))
    t.session.close()


def test_typed_field_maps_match_the_event_structs() -> None:
    from otshield.events import Event
    from otshield.protocols.s7comm.events import S7EventFields, S7Item, S7ItemFields

    base = set(Event.__struct_fields__)
    required = {"rosctr", "pdu_ref", "function", "function_class"}
    optional = set(S7commEvent.__struct_fields__) - base - required
    assert set(S7EventFields.__annotations__) == optional
    assert set(S7ItemFields.__annotations__) == set(S7Item.__struct_fields__)


def test_spec_event_types_and_schema() -> None:
    from otshield.events import event_schema
    from otshield.protocols.tpkt import CotpEvent

    assert SPEC.event_types == (S7commEvent, S7commPlusEvent, CotpEvent)
    schema = msgspec.json.encode(event_schema()).decode()
    for tag in ('"s7comm"', '"s7commplus"', '"cotp"'):
        assert tag in schema


def test_events_encode_to_json() -> None:
    t = Harness()
    t.c(plus_frame(2, plus_request(0x0586, 6, 1, 0x34)))
    t.s(plus_frame(2, plus_response(0x0586, 6, 0x34, bytes.fromhex("c08895b080ef91fff4"))))
    (event,) = t.plus()
    assert event.return_value == 0x8020AB001BC8FFF4  # a full 64-bit value
    decoded = msgspec.json.decode(msgspec.json.encode(event))
    assert decoded["return_value"] == event.return_value
    assert decoded["event.dataset"] == "s7commplus" and decoded["source.port"] == 50100
