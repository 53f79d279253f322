"""Session tests: request/response pairing, the transaction record, timeouts, limits, anomalies.

Driven through a fake flow (tests/protocols/modbus_build.FakeFlow), one ADU per ``on_frame``.
"""

from __future__ import annotations

import msgspec
import pytest

from otshield.config import Settings
from otshield.protocols.modbus import SPEC
from otshield.protocols.modbus.events import (
    ModbusCommStatus,
    ModbusDeviceObject,
    ModbusDiagnostic,
    ModbusEvent,
    ModbusFileRecord,
    ModbusMei,
    ModbusServerId,
    ModbusUmas,
)
from otshield.protocols.modbus.session import ModbusSession

from .modbus_build import CLIENT, SERVER, FakeFlow, adu, pdu

REQUEST_TIMEOUT = Settings().request_timeout


def run(messages: list[tuple[bool, bytes]], flow: FakeFlow | None = None,
        close: bool = True) -> FakeFlow:
    flow = flow or FakeFlow()
    session = ModbusSession(flow)
    for from_client, data in messages:
        flow.step()
        session.on_frame(data, from_client)
    if close:
        session.close()
    return flow


def one(flow: FakeFlow) -> ModbusEvent:
    events = flow.of("modbus")
    assert len(events) == 1, events
    event: ModbusEvent = events[0]
    return event


def test_read_transaction_record() -> None:
    flow = run([
        (True, adu(1, 17, pdu(3, "HH", 107, 3))),
        (False, adu(1, 17, pdu(3, "BHHH", 6, 555, 0, 100))),
    ])
    e = one(flow)
    assert flow.codes() == []
    assert (e.transaction_id, e.unit_id, e.function_code, e.function, e.function_class) == (
        1, 17, 3, "READ_HOLDING_REGISTERS", "read")
    assert (e.status, e.address, e.quantity, e.registers) == ("ok", 107, 3, (555, 0, 100))
    assert (e.frame, e.request_frame, e.response_time) == (2, 1, 0.01)
    assert (e.request_size, e.response_size) == (5, 8)
    assert (e.src_ip, e.src_port, e.dst_ip, e.dst_port) == (*CLIENT, *SERVER)
    assert e.ts == pytest.approx(1000.02)


def test_write_record_takes_values_from_the_request() -> None:
    flow = run([
        (True, adu(2, 1, pdu(16, "HHBHH", 1, 2, 4, 10, 258))),
        (False, adu(2, 1, pdu(16, "HH", 1, 2))),
        (True, adu(3, 1, pdu(5, "HH", 172, 0xFF00))),
        (False, adu(3, 1, pdu(5, "HH", 172, 0xFF00))),
    ])
    w16, w5 = flow.of("modbus")
    assert (w16.function_class, w16.address, w16.quantity, w16.registers) == (
        "write", 1, 2, (10, 258))
    assert (w5.function, w5.address, w5.quantity, w5.coils) == (
        "WRITE_SINGLE_COIL", 172, 1, (True,))


def test_coils_are_trimmed_to_the_quantity() -> None:
    flow = run([(True, adu(1, 1, pdu(1, "HH", 19, 10))),
                (False, adu(1, 1, pdu(1, "BBB", 2, 0xCD, 0x01)))])
    assert one(flow).coils == (True, False, True, True, False, False, True, True, True, False)


def test_exception_response() -> None:
    flow = run([(True, adu(5, 1, pdu(2, "HH", 0, 8))),
                (False, adu(5, 1, pdu(0x82, "B", 2)))])
    e = one(flow)
    assert (e.status, e.function_code, e.exception_code, e.exception) == (
        "exception", 2, 2, "ILLEGAL_DATA_ADDRESS")
    assert e.coils is None and flow.codes() == []


def test_pipelined_requests_answered_out_of_order() -> None:
    flow = run([
        (True, adu(10, 1, pdu(3, "HH", 0, 1))),
        (True, adu(11, 1, pdu(4, "HH", 0, 1))),
        (True, adu(10, 2, pdu(1, "HH", 0, 1))),  # same transaction id, other unit
        (False, adu(11, 1, pdu(4, "BH", 2, 44))),
        (False, adu(10, 2, pdu(1, "BB", 1, 1))),
        (False, adu(10, 1, pdu(3, "BH", 2, 33))),
    ])
    got = [(e.transaction_id, e.unit_id, e.function_code, e.request_frame, e.frame)
           for e in flow.of("modbus")]
    assert got == [(11, 1, 4, 2, 4), (10, 2, 1, 3, 5), (10, 1, 3, 1, 6)]
    assert flow.codes() == []


def test_reused_transaction_id_pairs_in_order_by_content() -> None:
    # iti/modbus/modbus_test.pcap frames 68-72: three writes under transaction id 504.
    w = [adu(504, 7, pdu(6, "HH", 4, 2500)), adu(504, 7, pdu(6, "HH", 4, 0)),
         adu(504, 7, pdu(6, "HH", 5, 14017))]
    flow = run([(True, w[0]), (True, w[1]), (True, w[2]),
                (False, w[0]), (False, w[1]), (False, w[2])])
    got = [(e.request_frame, e.frame, e.address, e.registers) for e in flow.of("modbus")]
    assert got == [(1, 4, 4, (2500,)), (2, 5, 4, (0,)), (3, 6, 5, (14017,))]
    assert flow.codes() == []


def test_reused_transaction_id_answer_skipping_the_first() -> None:
    a, b = adu(7, 1, pdu(6, "HH", 1, 1)), adu(7, 1, pdu(6, "HH", 2, 2))
    flow = run([(True, a), (True, b), (False, b)])
    answered, unanswered = flow.of("modbus")
    assert (answered.request_frame, answered.address, answered.status) == (2, 2, "ok")
    assert (unanswered.request_frame, unanswered.address, unanswered.status) == (
        1, 1, "unanswered")
    assert flow.codes() == ["modbus.unanswered_request"]


def test_unmatched_response() -> None:
    flow = run([(False, adu(9, 3, pdu(4, "BHH", 4, 1, 2)))])
    e = one(flow)
    assert (e.status, e.registers, e.request_frame, e.response_time) == (
        "unmatched", (1, 2), None, None)
    assert (e.src_ip, e.dst_ip) == (CLIENT[0], SERVER[0])  # src stays the client
    assert flow.codes() == ["modbus.unmatched_response"]
    anomaly = flow.of("anomaly")[0]
    assert anomaly.src_ip == SERVER[0]  # the server sent it


def test_unanswered_at_close_is_reported_at_the_request() -> None:
    flow = run([(True, adu(1, 1, pdu(3, "HH", 0, 1))), (True, adu(2, 1, pdu(3, "HH", 5, 1)))])
    events = flow.of("modbus")
    assert [(e.status, e.frame, e.request_frame, e.address) for e in events] == [
        ("unanswered", 1, 1, 0), ("unanswered", 2, 2, 5)]
    assert events[0].ts == pytest.approx(1000.01)
    assert flow.codes() == ["modbus.unanswered_request"] * 2


def test_force_listen_only_expects_no_response() -> None:
    flow = run([(True, adu(1, 10, pdu(8, "HH", 4, 0)))])
    e = one(flow)
    assert (e.status, e.function_class) == ("unanswered", "control")
    assert e.diagnostic == ModbusDiagnostic(subfunction=4, name="FORCE_LISTEN_ONLY_MODE",
                                            request_data="0000")
    assert flow.codes() == []


def test_request_times_out() -> None:
    flow = FakeFlow()
    session = ModbusSession(flow)
    flow.step()
    session.on_frame(adu(1, 1, pdu(3, "HH", 0, 1)), True)
    flow.step(REQUEST_TIMEOUT - 1)
    session.on_frame(adu(2, 1, pdu(3, "HH", 0, 1)), True)
    assert flow.codes() == []
    flow.step(2)
    session.on_frame(adu(1, 1, pdu(3, "BH", 2, 7)), False)  # too late for request 1
    assert flow.codes() == ["modbus.unanswered_request", "modbus.unmatched_response"]
    assert [e.status for e in flow.of("modbus")] == ["unanswered", "unmatched"]
    session.close()
    assert flow.codes()[-1] == "modbus.unanswered_request"  # request 2


def test_too_many_pending_reported_once_and_nothing_dropped_silently() -> None:
    flow = FakeFlow(Settings(max_pending_requests=4))
    msgs = [(True, adu(i, 1, pdu(3, "HH", i, 1))) for i in range(7)]
    msgs += [(False, adu(i, 1, pdu(3, "BH", 2, i))) for i in range(3, 7)]
    run(msgs, flow)
    assert flow.codes() == ["modbus.too_many_pending"]
    statuses = [(e.transaction_id, e.status) for e in flow.of("modbus")]
    assert statuses == [(0, "unanswered"), (1, "unanswered"), (2, "unanswered"),
                        (3, "ok"), (4, "ok"), (5, "ok"), (6, "ok")]


def test_too_many_pending_rearms_after_the_backlog_drains() -> None:
    flow = FakeFlow(Settings(max_pending_requests=2))
    msgs = [(True, adu(i, 1, pdu(3, "HH", i, 1))) for i in range(3)]
    msgs += [(False, adu(i, 1, pdu(3, "BH", 2, i))) for i in range(1, 3)]
    msgs += [(True, adu(i, 1, pdu(3, "HH", i, 1))) for i in range(10, 13)]
    run(msgs, flow, close=False)
    assert flow.codes() == ["modbus.too_many_pending"] * 2


@pytest.mark.parametrize(("request_adu", "response_adu", "detail"), [
    (adu(1, 1, pdu(3, "HH", 0, 3)), adu(1, 1, pdu(3, "BHH", 4, 1, 2)), "4 data bytes for 3"),
    (adu(1, 1, pdu(6, "HH", 4, 1)), adu(1, 1, pdu(6, "HH", 4, 2)), "value [2]"),
    (adu(1, 1, pdu(22, "HHH", 0, 1, 1)), adu(1, 1, pdu(22, "HHH", 0, 0x7D, 0x7D)),
     "and 0x007d or 0x007d"),
    (adu(1, 1, pdu(16, "HHBH", 1, 1, 2, 5)), adu(1, 1, pdu(16, "HH", 1, 2)), "quantity 2"),
    (adu(1, 1, pdu(8, "HH", 0, 5)), adu(1, 1, pdu(8, "HH", 1, 5)), "sub-function 1"),
    (adu(1, 1, pdu(3, "HH", 0, 1)), adu(1, 1, pdu(4, "BH", 2, 9)), "response function 4"),
])
def test_response_mismatch(request_adu: bytes, response_adu: bytes, detail: str) -> None:
    flow = run([(True, request_adu), (False, response_adu)])
    assert flow.codes() == ["modbus.response_mismatch"]
    assert detail in flow.of("anomaly")[0].detail
    e = one(flow)
    assert e.status == "ok" and e.function_code == request_adu[7]


def test_response_of_another_function_adds_no_values() -> None:
    flow = run([(True, adu(1, 1, pdu(3, "HH", 0, 1))), (False, adu(1, 1, pdu(4, "BH", 2, 9)))])
    e = one(flow)
    assert (e.function, e.registers, e.response_size) == ("READ_HOLDING_REGISTERS", None, 4)


def test_skipped_bytes_are_one_anomaly_per_run() -> None:
    # frame_size hands over what it skips in pieces; the session reports the run once.
    junk = adu(1, 1, pdu(3, "HH", 0, 1), pid=7) + bytes(20)
    flow = run([
        (True, junk[:3]), (True, junk[3:12]), (True, junk[12:]),
        (True, adu(2, 1, pdu(3, "HH", 0, 1))),
        (False, adu(2, 1, pdu(3, "BH", 2, 1))),
    ])
    assert flow.codes() == ["modbus.invalid_protocol_id"]
    assert flow.of("anomaly")[0].detail == (
        "protocol id 7, expected 0: 32 bytes skipped to the next Modbus header")
    assert one(flow).transaction_id == 2


def test_short_run_takes_its_header_from_the_next_unit() -> None:
    flow = run([(True, b"\x00\x00"), (True, adu(2, 1, pdu(3, "HH", 0, 1)))])
    # the 8 bytes at the run's start: 00 00 | 00 02 00 00 00 06 -> protocol id 2
    assert flow.of("anomaly")[0].detail == (
        "protocol id 2, expected 0: 2 bytes skipped to the next Modbus header")


def test_run_is_reported_at_close_and_at_a_gap() -> None:
    flow = FakeFlow()
    session = ModbusSession(flow)
    session.on_frame(bytes.fromhex("0001" "0000" "8804") + bytes(10), True)
    session.on_gap(True, 5)
    session.on_frame(bytes.fromhex("ffff" "ffff"), False)
    session.close()
    assert flow.codes() == ["modbus.invalid_length", "modbus.invalid_protocol_id"]


def test_bad_datagram_is_reported_at_once() -> None:
    flow = FakeFlow()
    flow.transport = "udp"
    run([(True, adu(1, 1, pdu(3, "HH", 0, 1), pid=7)), (True, b"\x01")], flow)
    assert flow.codes() == ["modbus.invalid_protocol_id", "modbus.invalid_length"]


def test_parser_anomalies_come_with_the_event() -> None:
    flow = run([(True, adu(1, 1, pdu(4, "HH", 900, 147))),
                (False, adu(1, 1, pdu(0x84, "B", 3)))])
    assert flow.codes() == ["modbus.invalid_quantity"]
    assert one(flow).quantity == 147


def test_server_on_port_502_is_the_server_whoever_connected() -> None:
    # quickdraw: 10.0.0.8:502 opened the connection and sends exception responses.
    flow = FakeFlow(client_port=502, server_port=4446)
    run([(True, adu(1, 10, pdu(0x81, "B", 6)))], flow)
    e = one(flow)
    assert (e.status, e.function_code, e.exception) == ("unmatched", 1, "SERVER_DEVICE_BUSY")
    assert (e.src_port, e.dst_port) == (4446, 502)  # the Modbus client is the source
    assert flow.codes() == ["modbus.unmatched_response"]


def test_gap_is_mentioned() -> None:
    flow = FakeFlow()
    session = ModbusSession(flow)
    session.on_gap(True, 100)
    flow.step()
    session.on_frame(adu(1, 1, pdu(3, "BH", 2, 1)), False)
    assert "after a stream gap" in flow.of("anomaly")[0].detail


@pytest.mark.parametrize(("request_pdu", "function", "cls", "extra"), [
    (pdu(8, "HH", 1, 0), "DIAGNOSTICS", "control",
     {"diagnostic": ModbusDiagnostic(subfunction=1, name="RESTART_COMMUNICATIONS_OPTION",
                                     request_data="0000")}),
    (pdu(8, "HH", 0x0B, 0), "DIAGNOSTICS", "diagnostics",
     {"diagnostic": ModbusDiagnostic(subfunction=11, name="RETURN_BUS_MESSAGE_COUNT",
                                     request_data="0000")}),
    (pdu(8, "HH", 0x99, 0), "DIAGNOSTICS", "diagnostics",
     {"diagnostic": ModbusDiagnostic(subfunction=0x99, name="UNKNOWN", request_data="0000")}),
    (pdu(90, "BB", 0, 0x41), "UMAS", "control",
     {"umas": ModbusUmas(code=0x41, function="STOP_PLC", session=0)}),
    (pdu(90, "BB", 0, 0x34), "UMAS", "program",
     {"umas": ModbusUmas(code=0x34, function="DOWNLOAD_BLOCK", session=0)}),
    (pdu(90, "BB", 0, 0x02), "UMAS", "identify",
     {"umas": ModbusUmas(code=2, function="READ_ID", session=0)}),
    (pdu(43, "BBB", 14, 1, 0), "ENCAPSULATED_INTERFACE_TRANSPORT", "identify",
     {"mei": ModbusMei(type=14, name="READ_DEVICE_IDENTIFICATION", device_id_code=1,
                       object_id=0)}),
    (pdu(43, "BH", 13, 0x0102), "ENCAPSULATED_INTERFACE_TRANSPORT", "other",
     {"mei": ModbusMei(type=13, name="CANOPEN_GENERAL_REFERENCE"), "request_data": "0102"}),
    (pdu(23, "HHHHBH", 0, 1, 5, 1, 2, 9), "READ_WRITE_MULTIPLE_REGISTERS", "write",
     {"address": 0, "quantity": 1, "write_address": 5, "write_quantity": 1,
      "write_registers": (9,)}),
    (pdu(125, "H", 1), "FIRMWARE_REPLACEMENT", "program", {"request_data": "0001"}),
    (pdu(66, "H", 1), "USER_DEFINED", "other", {"request_data": "0001"}),
    (pdu(50, "H", 1), "UNKNOWN", "other", {"request_data": "0001"}),
    (pdu(17), "REPORT_SERVER_ID", "identify", {}),
    (pdu(7), "READ_EXCEPTION_STATUS", "diagnostics", {}),
])
def test_function_names_and_classes(request_pdu: bytes, function: str, cls: str,
                                    extra: dict[str, object]) -> None:
    e = one(run([(True, adu(1, 1, request_pdu))]))
    assert (e.function, e.function_class) == (function, cls)
    for name, value in extra.items():
        assert getattr(e, name) == value


def test_identification_and_counters_come_from_the_response() -> None:
    flow = run([
        (True, adu(1, 1, pdu(43, "BBB", 14, 1, 0))),
        (False, adu(1, 1, pdu(43, "BBBBBB", 14, 1, 0x81, 0, 0, 1) + b"\x00\x04ACME")),
        (True, adu(2, 1, pdu(17))),
        (False, adu(2, 1, pdu(17, "BBB", 6, 0, 0xFF) + b"PLC1")),
        (True, adu(3, 1, pdu(11))),
        (False, adu(3, 1, pdu(11, "HH", 0xFFFF, 264))),
        (True, adu(4, 1, pdu(7))),
        (False, adu(4, 1, pdu(7, "B", 0x6D))),
        (True, adu(5, 1, pdu(8, "HH", 0x0E, 0))),
        (False, adu(5, 1, pdu(8, "HH", 0x0E, 37))),
    ])
    mei, sid, c11, c7, diag = flow.of("modbus")
    assert mei.mei == ModbusMei(type=14, name="READ_DEVICE_IDENTIFICATION", device_id_code=1,
                                object_id=0, conformity_level=0x81, more_follows=False,
                                next_object_id=0,
                                objects=(ModbusDeviceObject(id=0, name="VendorName",
                                                            value="ACME"),))
    assert sid.server_id == ModbusServerId(data="00ff504c4331", text="PLC1")
    assert c11.comm == ModbusCommStatus(status=0xFFFF, event_count=264)
    assert c7.comm == ModbusCommStatus(exception_status=0x6D)
    assert diag.diagnostic == ModbusDiagnostic(subfunction=14, name="RETURN_SERVER_MESSAGE_COUNT",
                                               request_data="0000", response_data="0025")
    assert flow.codes() == []


def test_file_records_get_the_data_read() -> None:
    flow = run([
        (True, adu(1, 1, pdu(20, "BBHHH", 7, 6, 4, 1, 2))),
        (False, adu(1, 1, pdu(20, "BBBHH", 6, 5, 6, 0x0DF8, 0x20))),
    ])
    assert one(flow).file_records == (
        ModbusFileRecord(file=4, record=1, length=2, registers=(0x0DF8, 0x20)),)


def test_fifo_and_mask() -> None:
    flow = run([
        (True, adu(1, 1, pdu(24, "H", 1246))),
        (False, adu(1, 1, pdu(24, "HHHH", 6, 2, 440, 4740))),
        (True, adu(2, 1, pdu(22, "HHH", 4, 0xF2, 0x25))),
        (False, adu(2, 1, pdu(22, "HHH", 4, 0xF2, 0x25))),
    ])
    fifo, mask = flow.of("modbus")
    assert (fifo.address, fifo.fifo_count, fifo.registers) == (1246, 2, (440, 4740))
    assert (mask.address, mask.and_mask, mask.or_mask) == (4, 0xF2, 0x25)


def test_umas_status_from_the_response() -> None:
    flow = run([(True, adu(3, 0, pdu(90, "BBH", 7, 0x40, 0xFF00))),
                (False, adu(3, 0, pdu(90, "BB", 7, 0xFD) + b"\x02"))])
    e = one(flow)
    assert e.umas == ModbusUmas(code=0x40, function="START_PLC", session=7, status="error")
    assert (e.request_data, e.response_data, e.function_class) == ("ff00", "02", "control")


def test_events_encode_to_json_with_ecs_names() -> None:
    flow = run([(True, adu(1, 17, pdu(3, "HH", 107, 3))),
                (False, adu(1, 17, pdu(3, "BHHH", 6, 555, 0, 100)))])
    doc = msgspec.json.decode(msgspec.json.encode(one(flow)))
    assert doc["event.dataset"] == "modbus"
    assert doc["source.ip"] == CLIENT[0] and doc["destination.port"] == 502
    assert doc["registers"] == [555, 0, 100] and "coils" not in doc


def test_spec() -> None:
    assert SPEC.name == "modbus" and 502 in SPEC.tcp_ports
    assert SPEC.frame_size is not None and SPEC.probe is not None
    assert SPEC.event_types == (ModbusEvent,)
    emitted = {"modbus.invalid_length", "modbus.invalid_protocol_id", "modbus.unknown_function",
               "modbus.invalid_quantity", "modbus.byte_count_mismatch",
               "modbus.unanswered_request", "modbus.unmatched_response",
               "modbus.too_many_pending", "modbus.response_mismatch"}
    assert emitted <= set(SPEC.anomaly_codes)
    assert "modbus.exception_response" not in SPEC.anomaly_codes


def test_positional_field_order_is_pinned() -> None:
    # record.build_event passes these by position.
    assert ModbusEvent.__struct_fields__[:16] == (
        "transaction_id", "unit_id", "function_code", "function", "function_class", "status",
        "request_frame", "response_time", "request_size", "response_size", "exception_code",
        "exception", "address", "quantity", "coils", "registers")
