"""Golden tests: captures built here from the protocol layouts, decoded end to end by the engine;
the expected events are written out by hand. The same conversations re-sent with 1-byte and
random TCP segments must decode to the same events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otshield.engine import decode_file
from protocols.s7_build import (
    Exchange,
    ack_data,
    any_item,
    block_file,
    cc,
    cr,
    data_items,
    decode_s7,
    dr,
    dt,
    job,
    plain,
    plc_stop,
    plus_frame,
    plus_request,
    plus_response,
    plus_string_attr,
    read_var,
    s7,
    s7_clock,
    setup_comm,
    szl_001c_record,
    szl_0011_record,
    szl_answer,
    tpkt,
    ud_data,
    userdata,
    userdata_param,
    vlq,
    write_var,
)
from support import without_position

C, S = True, False


def _u(kind: int, group: int, sub: int, seq: int, **kw: Any) -> bytes:
    return userdata_param(kind, group, sub, seq, ext=kind != 1 or kw.pop("ext", False), **kw)


SZL_1C = szl_answer(0x1C, 0, 34, [szl_001c_record(1, "Line 3 PLC"),
                                  szl_001c_record(2, "CPU_A"),
                                  szl_001c_record(5, "S C-X4U123456789")])


def s7_conversation() -> list[Exchange]:
    return [
        (C, cr(1, b"\x01\x00", b"\x01\x02", size_code=0x0A)),
        (S, cc(1, 0x44, b"\x01\x00", b"\x01\x02", size_code=0x09)),
        (C, dt(job(1, setup_comm(1, 1, 480)))),
        (S, dt(ack_data(1, setup_comm(1, 1, 240)))),
        # read DB10.DBW4 (1 WORD) and MB0 (3 BYTEs)
        (C, dt(job(2, read_var([any_item(0x84, 10, 4, 0, 4, 1), any_item(0x83, 0, 0, 0, 2, 3)])))),
        (S, dt(ack_data(2, b"\x04\x02", data_items([(0xFF, 4, b"\x12\x34"),
                                                    (0xFF, 4, b"\xab\xcd\xef")])))),
        # write Q0.1 := 1
        (C, dt(job(3, write_var([any_item(0x82, 0, 0, 1, 1, 1)]), data_items([(0, 3, b"\x01")])))),
        (S, dt(ack_data(3, b"\x05\x01", b"\xff"))),
        # module identification
        (C, dt(userdata(4, _u(1, 4, 1, 0), ud_data(bytes.fromhex("00110000"))))),
        (S, dt(userdata(4, _u(2, 4, 1, 0), ud_data(szl_answer(0x11, 0, 28, [
            szl_0011_record(1, "6ES7 315-2EH14-0AB0", 0xC0, 3, 1),
            szl_0011_record(7, "", 0xC0, 0x5603, 0x0207)]))))),
        # component identification, answered in two data units
        (C, dt(userdata(5, _u(1, 4, 1, 0), ud_data(bytes.fromhex("001c0000"))))),
        (S, dt(userdata(5, _u(2, 4, 1, 3, dur=7, last=False), ud_data(SZL_1C[:50])))),
        (C, dt(userdata(6, _u(1, 4, 1, 3, ext=True), ud_data(b"", ret=0x0A, tsize=0)))),
        (S, dt(userdata(6, _u(2, 4, 1, 3, dur=7, last=True), ud_data(SZL_1C[50:])))),
        # delete FC5, stop the PLC
        (C, dt(job(7, bytes.fromhex("28000000000000fd000a0100") + b"0C00005P"
                   + b"\x05_DELE"))),
        (S, dt(ack_data(7, b"\x28"))),
        (C, dt(job(8, plc_stop()))),
        (S, dt(ack_data(8, b"\x29"))),
        # download DB3: request, the PLC pulls the block, the PLC ends, then activation
        (C, dt(job(9, bytes.fromhex("1a00010000000000") + b"\x09" + block_file("0A", 3)
                   + b"\x0d1000100000038"))),
        (S, dt(ack_data(9, b"\x1a"))),
        (S, dt(job(10, bytes.fromhex("1b00010000000000") + b"\x09" + block_file("0A", 3)))),
        (C, dt(ack_data(10, b"\x1b\x00", bytes.fromhex("000a00fb") + bytes(10)))),
        (S, dt(job(11, bytes.fromhex("1c00000000000000") + b"\x09" + block_file("0A", 3)))),
        (C, dt(ack_data(11, b"\x1c"))),
        (C, dt(job(12, bytes.fromhex("28000000000000fd000a0100") + b"0A00003P"
                   + b"\x05_INSE"))),
        (S, dt(ack_data(12, b"\x28"))),
        # upload OB1
        (C, dt(job(13, bytes.fromhex("1d00000000000000") + b"\x09" + block_file("08", 1, "A")))),
        # status, unknown, upload id 5, then the block length as text "000090"
        (S, dt(ack_data(13, bytes.fromhex("1d00010000000005") + b"\x06000090"))),
        (C, dt(job(14, bytes.fromhex("1e00000000000005")))),
        (S, dt(ack_data(14, b"\x1e\x00", bytes.fromhex("000600fb") + bytes(6)))),
        (C, dt(job(15, bytes.fromhex("1f00000000000005")))),
        (S, dt(ack_data(15, b"\x1f"))),
        # block functions
        (C, dt(userdata(16, _u(1, 3, 1, 0), ud_data(b"", ret=0x0A, tsize=0)))),
        (S, dt(userdata(16, _u(2, 3, 1, 0), ud_data(bytes.fromhex("3038000130410003"))))),
        (C, dt(userdata(17, _u(1, 3, 3, 0), ud_data(b"08" + b"00001" + b"A")))),
        (S, dt(userdata(17, _u(2, 3, 3, 0, err=0xD209), ud_data(b"", ret=0x0A, tsize=0)))),
        # clock
        (C, dt(userdata(18, _u(1, 7, 1, 0), ud_data(b"", ret=0x0A, tsize=0)))),
        (S, dt(userdata(18, _u(2, 7, 1, 0), ud_data(s7_clock(2024, 5, 6, 7, 8, 9, 123, 2))))),
        (C, dt(userdata(19, _u(1, 7, 2, 0), ud_data(s7_clock(2024, 5, 6, 8, 0, 0, 0, 2))))),
        (S, dt(userdata(19, _u(2, 7, 2, 0), ud_data(b"", ret=0x0A, tsize=0)))),
        # PLC password (never stored)
        (C, dt(userdata(20, _u(1, 5, 1, 0), ud_data(b"SECRETPW")))),
        (S, dt(userdata(20, _u(2, 5, 1, 0), ud_data(b"", ret=0x0A, tsize=0)))),
        # cyclic read of MW10 every 10 x 100 ms, one push
        (C, dt(userdata(21, _u(1, 2, 1, 0), ud_data(
            bytes.fromhex("0001000a") + any_item(0x83, 0, 10, 0, 4, 1))))),
        (S, dt(userdata(21, _u(2, 2, 1, 0x21), ud_data(bytes.fromhex("0001ff0400100001"))))),
        (S, dt(userdata(0, _u(0, 2, 1, 0x21), ud_data(bytes.fromhex("0001ff0400100002"))))),
        # the PLC goes to STOP
        (S, dt(s7(7, 0, bytes.fromhex("0101000000000000")))),
        # a read that is never answered, then the disconnect
        (C, dt(job(22, read_var([any_item(0x81, 0, 2, 0, 2, 1)])))),
        (C, dr(0x44, 1, 0x80)),
    ]


J = {"event.dataset": "s7comm", "dir": "c", "answered": True}
UD = {**J, "rosctr": "userdata"}


def _job(ref: int, function: str, cls: str, code: int, **kw: Any) -> dict[str, Any]:
    return {**J, "rosctr": "job", "pdu_ref": ref, "function": function, "function_class": cls,
            "function_code": code, **kw}


def _ud(ref: int, function: str, cls: str, code: int, group: str, group_code: int, seq: int,
        **kw: Any) -> dict[str, Any]:
    return {**UD, "pdu_ref": ref, "function": function, "function_class": cls,
            "function_code": code, "group": group, "group_code": group_code, "sequence": seq,
            **kw}


def _item(**kw: Any) -> dict[str, Any]:
    return {"syntax": "S7ANY", **kw}


S7_EXPECTED: list[dict[str, Any]] = [
    {"event.dataset": "cotp", "dir": "c", "pdu": "connect", "result": "accepted", "src_ref": 1,
     "dst_ref": 0x44, "proto_class": 0, "src_tsap": "0x0100", "dst_tsap": "0x0102",
     "tpdu_size": 512, "connection_type": "pg", "rack": 0, "slot": 2},
    _job(1, "setup_communication", "other", 0xF0, pdu_size=240, pdu_size_requested=480,
         max_amq_calling=1, max_amq_called=1),
    _job(2, "read_var", "read", 4, item_count=2, items=[
        _item(area="DB", area_code=0x84, db=10, byte_address=4, bit_address=0,
              transport_size="WORD", count=1, return_code=255, status="success",
              value="1234", value_length=2),
        _item(area="M", area_code=0x83, byte_address=0, bit_address=0, transport_size="BYTE",
              count=3, return_code=255, status="success", value="abcdef", value_length=3)]),
    _job(3, "write_var", "write", 5, item_count=1, items=[
        _item(area="Q", area_code=0x82, byte_address=0, bit_address=1, transport_size="BIT",
              count=1, return_code=255, status="success", value="01", value_length=1)]),
    _ud(4, "read_szl", "identify", 1, "cpu_functions", 4, 0, szl_id=0x11, szl_index=0,
        szl_list="module_identification", szl_record_count=2, module_identification=[
            {"index": 1, "order_number": "6ES7 315-2EH14-0AB0", "module_type": 0xC0,
             "ausbg": 3, "ausbe": 1},
            {"index": 7, "module_type": 0xC0, "ausbg": 0x5603, "ausbe": 0x0207}],
        order_number="6ES7 315-2EH14-0AB0", firmware_version="V3.2.7"),
    _ud(5, "read_szl", "identify", 1, "cpu_functions", 4, 0, szl_id=0x1C, szl_index=0,
        szl_list="component_identification", more_data=True),
    _ud(6, "read_szl", "identify", 1, "cpu_functions", 4, 3, fragmented=True, szl_id=0x1C,
        szl_index=0, szl_list="component_identification", szl_record_count=3,
        plc_name="Line 3 PLC", module_name="CPU_A", serial_number="S C-X4U123456789"),
    _job(7, "pi_service", "program", 0x28, pi_service="_DELE", pi_action="delete_block",
         blocks=["FC5"], filesystem="passive"),
    _job(8, "plc_stop", "control", 0x29, pi_service="P_PROGRAM", pi_action="stop"),
    _job(9, "request_download", "program", 0x1A, block="DB3", block_type="DB", block_number=3,
         filesystem="passive", filename="_0A00003P", load_memory_length=100, mc7_length=38),
    {**_job(10, "download_block", "program", 0x1B, block="DB3", block_type="DB",
            block_number=3, filesystem="passive", filename="_0A00003P", data_length=10,
            more_data=False), "dir": "s"},
    {**_job(11, "download_ended", "program", 0x1C, block="DB3", block_type="DB",
            block_number=3, filesystem="passive", filename="_0A00003P"), "dir": "s"},
    _job(12, "pi_service", "program", 0x28, pi_service="_INSE", pi_action="activate_block",
         blocks=["DB3"], filesystem="passive"),
    _job(13, "start_upload", "program", 0x1D, block="OB1", block_type="OB", block_number=1,
         filesystem="active", filename="_0800001A", upload_id=5, upload_length=90,
         more_data=False),
    _job(14, "upload", "program", 0x1E, upload_id=5, data_length=6, more_data=False),
    _job(15, "end_upload", "program", 0x1F, upload_id=5),
    _ud(16, "list_blocks", "diagnostics", 1, "block_functions", 3, 0,
        block_counts=[{"block_type": "OB", "count": 1}, {"block_type": "DB", "count": 3}]),
    _ud(17, "block_info", "diagnostics", 3, "block_functions", 3, 0, error_code=0xD209,
        error="block_not_on_module", block="OB1", block_type="OB", block_number=1,
        filesystem="active"),
    _ud(18, "read_clock", "diagnostics", 1, "time_functions", 7, 0,
        plc_time="2024-05-06T07:08:09.123"),
    _ud(19, "set_clock", "control", 2, "time_functions", 7, 0,
        plc_time="2024-05-06T08:00:00.000"),
    _ud(20, "plc_password", "security", 1, "security", 5, 0, password_present=True),
    _ud(21, "cyclic_transfer", "read", 1, "cyclic_data", 2, 0, item_count=1, items=[
        _item(area="M", area_code=0x83, byte_address=10, bit_address=0, transport_size="WORD",
              count=1, return_code=255, status="success", value="0001", value_length=2)],
        cycle_time=1.0, job_id=0x21),
    {"event.dataset": "s7comm", "dir": "s", "rosctr": "userdata", "pdu_ref": 0,
     "function": "cyclic_transfer", "function_class": "read", "function_code": 1,
     "group": "cyclic_data", "group_code": 2, "sequence": 0x21, "unsolicited": True,
     "item_count": 1, "items": [{"return_code": 255, "status": "success", "value": "0002",
                                 "value_length": 2}], "job_id": 0x21},
    {"event.dataset": "s7comm", "dir": "s", "rosctr": "userdata", "pdu_ref": 0,
     "function": "mode_transition", "function_class": "diagnostics", "group": "mode_transition",
     "unsolicited": True, "cpu_mode": "stop", "cpu_mode_code": 0},
    {"event.dataset": "cotp", "dir": "c", "pdu": "disconnect", "src_ref": 1, "dst_ref": 0x44,
     "reason_code": 0x80, "reason": "normal"},
    {"event.dataset": "anomaly", "dir": "c", "event.code": "s7comm.unanswered_request",
     "message": "job function 0x04 with PDU reference 22 got no response",
     "protocol": "s7comm"},
    {**_job(22, "read_var", "read", 4, item_count=1, items=[
        _item(area="I", area_code=0x81, byte_address=2, bit_address=0, transport_size="BYTE",
              count=1)]), "answered": False},
]


def _same(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(actual) == len(expected), [a.get("function", a.get("pdu")) for a in actual]
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a == e, f"event {i}"


@pytest.fixture(scope="module")
def s7_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from protocols.s7_build import write_capture

    return write_capture(tmp_path_factory.mktemp("s7") / "s7.pcap", s7_conversation())


def test_s7_golden(s7_capture: Path) -> None:
    _same(plain(decode_s7(s7_capture)), S7_EXPECTED)


@pytest.mark.parametrize("split", ["byte", "random"])
def test_s7_chunked_replay(s7_capture: Path, tmp_path: Path, split: str) -> None:
    from protocols.s7_build import write_capture

    whole = decode_s7(s7_capture)
    chunked = decode_s7(write_capture(tmp_path / f"{split}.pcap", s7_conversation(),
                                      split=split, seed=11))
    assert without_position(chunked) == without_position(whole)
    _same(plain(chunked), S7_EXPECTED)


def test_registry_wiring(s7_capture: Path) -> None:
    """Through the full registry too (``decode_file``)."""
    events = plain(decode_file(s7_capture), datasets=("s7comm",))
    assert events == [e for e in S7_EXPECTED if e["event.dataset"] == "s7comm"]


# -- S7comm-plus -----------------------------------------------------------------------------------
def plus_conversation() -> list[Exchange]:
    create = plus_request(0x04CA, 1, 0x120, 0x36, bytes.fromhex("0000011d00040000000000")
                          + b"\xa1\x00\x00\x01\x20"
                          + plus_string_attr(296, "Operator")
                          + plus_string_attr(297, "HMI RT")
                          + plus_string_attr(298, "PANEL-7") + b"\xa2\x00\x00\x00\x00")
    created = plus_response(0x04CA, 1, 0x36, b"\x11", b"\x01" + vlq(0x3C1)
                            + b"\xa1\x00\x00\x01\x20\x82\x32\x00\x17\x00"
                            + b"\x82\x3f\x00\x15" + vlq(26) + b"1;6ES7 212-1AE40-0XB0;V4.4"
                            + b"\xa2\x00\x00\x00\x00")
    digest = bytes(range(32))
    big = plus_request(0x054C, 2, 0x3C1, 0x34, bytes(range(200)))
    return [
        (C, cr(0x20, b"\x06\x00", b"SIMATIC-ROOT-HMI")),
        (S, cc(0x20, 0x9, b"\x06\x00", b"SIMATIC-ROOT-HMI")),
        (C, dt(plus_frame(1, create))),
        (S, dt(plus_frame(1, created))),
        (C, dt(b"", eot=False)),  # empty non-final DT, as S7-1200 HMIs send
        (C, dt(plus_frame(2, big[:120], trailer=False))),  # request in two TPKT packets
        (C, dt(plus_frame(2, big[120:]))),
        (S, dt(plus_frame(2, plus_response(0x054C, 2, 0x34, b"\x00", b"\x00\x01")))),
        (S, tpkt(bytes([2, 0xF0, 0x80])) + b""),  # empty final DT: nothing to decode
        (S, dt(plus_frame(3, b"\x33\x70\x00\x0e\x51\x04\x00", digest=digest))),
        (C, dt(bytes.fromhex("72ff0100"))),  # keep-alive, not reported
        (C, dt(plus_frame(2, plus_request(0x04D4, 3, 0x3C1, 0x34)))),
        (S, dt(plus_frame(2, plus_response(0x04D4, 3, 0x34, b"\x00")))),
    ]


P = {"event.dataset": "s7commplus", "dir": "c"}

PLUS_EXPECTED: list[dict[str, Any]] = [
    {"event.dataset": "cotp", "dir": "c", "pdu": "connect", "result": "accepted",
     "src_ref": 0x20, "dst_ref": 9, "proto_class": 0, "src_tsap": "0x0600",
     "dst_tsap": "SIMATIC-ROOT-HMI", "tpdu_size": 1024},
    {**P, "protocol_version": "v1", "opcode": "request", "function": "create_object",
     "function_class": "other", "function_code": 0x04CA, "sequence": 1, "session_id": 0x120,
     "transport_flags": 0x36, "integrity": False, "answered": True, "return_value": 0x11,
     "new_session_id": 0x3C1, "client_user": "Operator", "client_application": "HMI RT",
     "client_host": "PANEL-7", "server_version": "1;6ES7 212-1AE40-0XB0;V4.4",
     "order_number": "6ES7 212-1AE40-0XB0", "firmware_version": "V4.4"},
    {**P, "protocol_version": "v2", "opcode": "request", "function": "get_multi_variables",
     "function_class": "read", "function_code": 0x054C, "sequence": 2, "session_id": 0x3C1,
     "transport_flags": 0x34, "integrity": False, "answered": True, "return_value": 0,
     "fragments": 2},
    {"event.dataset": "s7commplus", "dir": "s", "protocol_version": "v3",
     "opcode": "notification", "function": "notification", "function_class": "read",
     "integrity": True, "unsolicited": True, "subscription_id": 0x70000E51},
    {**P, "protocol_version": "v2", "opcode": "request", "function": "delete_object",
     "function_class": "other", "function_code": 0x04D4, "sequence": 3, "session_id": 0x3C1,
     "transport_flags": 0x34, "integrity": False, "answered": True, "return_value": 0},
]


@pytest.fixture(scope="module")
def plus_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from protocols.s7_build import write_capture

    return write_capture(tmp_path_factory.mktemp("s7p") / "plus.pcap", plus_conversation())


def test_plus_golden(plus_capture: Path) -> None:
    _same(plain(decode_s7(plus_capture)), PLUS_EXPECTED)


@pytest.mark.parametrize("split", ["byte", "random"])
def test_plus_chunked_replay(plus_capture: Path, tmp_path: Path, split: str) -> None:
    from protocols.s7_build import write_capture

    chunked = decode_s7(write_capture(tmp_path / f"{split}.pcap", plus_conversation(),
                                      split=split, seed=5))
    assert without_position(chunked) == without_position(decode_s7(plus_capture))
    _same(plain(chunked), PLUS_EXPECTED)
