"""PROFINET IO CM over DCE/RPC CL: header and NDR/block vectors, the four PNIO interfaces,
Connect/Read/Write/Control pairing (also across the UDP flows a PNIO server answers on),
I&M0 identification, fragment reassembly, anomalies, golden captures through the engine."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.engine import decode_file
from otshield.errors import Malformed
from otshield.protocols.pnio_cm.parser import format_uuid, parse_body, parse_header, probe
from otshield.protocols.pnio_cm.session import PnioCmSession
from protocols.profinet_build import (
    CONTROLLER_IF,
    EPM_IF,
    ar_block_req,
    ar_block_res,
    control_block,
    im0_record,
    ndr_request,
    ndr_response,
    pn_block,
    rpc,
    rw_header,
    write_udp,
)
from support import of_type, without_position

ACT = uuid.UUID("13142f90-0000-1000-a994-d2106890ca5a")
AR = uuid.UUID("7c74224e-166c-4a58-bf6b-6c25a75870f0")
MAC = bytes.fromhex("00a0456dd343")
CTRL, DEV, DEV_RPC = ("192.168.1.3", 65151), ("192.168.1.2", 34964), ("192.168.1.2", 49152)


def _connect_req(little: bool = True) -> bytes:
    blocks = (ar_block_req(AR, 1, MAC, b"plc-1")
              + pn_block(0x0102, bytes(40)) + pn_block(0x0102, bytes(40))  # two IOCR blocks
              + pn_block(0x0103, bytes(20)))                               # AlarmCR block
    return rpc(0, 0, ACT, 0, ndr_request(blocks, little), little=little)


def _connect_res(status: int = 0) -> bytes:
    return rpc(2, 0, ACT, 0, ndr_response(status, ar_block_res(AR, 1, bytes(6)) if not status
                                          else b""), flags1=0x28)


def test_header_vector_little_endian() -> None:
    d = bytes.fromhex(
        "04"        # RPC version 4 (connectionless)
        "00"        # ptype request
        "20"        # flags1: idempotent
        "00"        # flags2
        "100000"    # drep: little-endian integers, ASCII, IEEE float
        "00"        # serial high
        "0000a0de976cd1118271000100030 15a".replace(" ", "")      # object UUID (LE fields)
        + "0100a0de976cd111827100a02442df7d"                     # interface: PNIO device
        + "902f14130000001 0a994d2106890ca5a".replace(" ", "")   # activity UUID
        + "00000000"    # server boot time
        "01000000"      # interface version
        "05000000"      # sequence number 5
        "0200"          # opnum 2 (Read)
        "ffff" "ffff"   # interface / activity hints
        "0000"          # body length 0
        "0000"          # fragment number
        "00" "00"       # auth protocol, serial low
    )
    h, body = parse_header(d)
    assert (h.ptype, h.seq, h.opnum, h.little, body) == (0, 5, 2, True, b"")
    assert h.interface_name == "device"
    assert h.object == "dea00000-6c97-11d1-8271-00010003015a"
    assert h.activity == str(ACT)
    assert probe(d, True)


def test_big_endian_drep_and_interfaces() -> None:
    d = rpc(0, 4, ACT, 7, b"", iface=CONTROLLER_IF, little=False)
    h, _ = parse_header(d)
    assert (h.little, h.interface_name, h.seq, h.opnum, h.activity) == (False, "controller", 7,
                                                                        4, str(ACT))
    assert format_uuid(CONTROLLER_IF.bytes, False) == str(CONTROLLER_IF)
    assert not probe(rpc(0, 2, ACT, 0, b"", iface=EPM_IF), True)  # endpoint mapper: not PNIO
    assert not probe(d[:79], True)


@pytest.mark.parametrize("data,code", [
    (rpc(0, 0, ACT, 0, b"")[:60], "pnio_cm.truncated"),
    (b"\x05" + rpc(0, 0, ACT, 0, b"")[1:], "pnio_cm.bad_header"),
    (rpc(0, 0, ACT, 0, b"abcd")[:-2], "pnio_cm.truncated"),
])
def test_header_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_header(data)
    assert exc.value.code == code


def test_connect_body() -> None:
    _, body = parse_header(_connect_req())
    b = parse_body(body, True, False)
    assert (b.ar_type, b.ar_uuid, b.session_key, b.initiator_mac, b.station_name,
            b.iocr_count) == ("io_car_single", str(AR), 1, "00:a0:45:6d:d3:43", "plc-1", 2)
    assert b.blocks == [0x0101, 0x0102, 0x0102, 0x0103]


def test_body_malformed() -> None:
    with pytest.raises(Malformed) as exc:
        parse_body(bytes(10), True, False)
    assert exc.value.code == "pnio_cm.truncated"
    with pytest.raises(Malformed) as exc:
        parse_body(ndr_request(pn_block(0x0101, bytes(4)))[:-1] + b"", True, False)
    assert exc.value.code == "pnio_cm.bad_ndr"
    with pytest.raises(Malformed) as exc:
        parse_body(ndr_request(b"\x01\x01\x00\x40\x01\x00"), True, False)
    assert exc.value.code == "pnio_cm.bad_block"
    with pytest.raises(Malformed) as exc:
        parse_body(ndr_request(pn_block(0x0101, bytes(10))), True, False)
    assert exc.value.code == "pnio_cm.bad_block"


def test_read_im0_response_identifies_device() -> None:
    rec = im0_record(0x002A, "6ES7 151-1AA05-0AB0", "S C-X4U123456", 3, ("V", 2, 7, 1))
    body = ndr_response(0, rw_header(0x8009, AR, 0, 0, 1, 0xAFF0, len(rec)) + rec)
    b = parse_body(body, True, True)
    assert (b.index, b.slot, b.subslot, b.record_length) == (0xAFF0, 0, 1, len(rec))
    assert b.im0 is not None
    assert (b.im0.vendor_id, b.im0.order_id, b.im0.serial_number, b.im0.hardware_revision,
            b.im0.software_revision) == (0x2A, "6ES7 151-1AA05-0AB0", "S C-X4U123456", 3,
                                         "V2.7.1")


def _flow() -> RecordingFlow:
    return RecordingFlow(CTRL, DEV, transport="udp")


def test_session_pairs_connect_and_reports_error_status() -> None:
    flow = _flow()
    s = PnioCmSession(flow)
    flow.frame = 1
    s.on_frame(_connect_req(), True)
    assert flow.events == []
    flow.frame = 2
    s.on_frame(_connect_res(0xDB814004), False)
    (ev,) = flow.of("pnio_cm")
    assert (ev.operation, ev.function_class, ev.result, ev.pnio_status, ev.station_name,
            ev.cm_initiator_mac, ev.iocr_count, ev.frame, ev.src_ip) == (
        "connect", "control", "error", "0xdb814004", "plc-1", "00:a0:45:6d:d3:43", 2, 2,
        CTRL[0])
    assert (ev.object_vendor_id, ev.object_device_id, ev.object_instance) == (0x2A, 0x0A01, 1)
    assert ev.pnio_error == "connect/pnio code1=0x40 code2=0x04"


def test_answer_on_another_flow_is_paired() -> None:
    """A PNIO device answers from its RPC port: the response arrives on a second UDP flow."""
    settings = Settings()
    req_flow = RecordingFlow(CTRL, DEV, transport="udp", settings=settings)
    res_flow = RecordingFlow(DEV_RPC, CTRL, transport="udp", settings=settings, flow_id=8)
    res_flow.state = req_flow.state  # flows of one engine share the protocol's state
    a, b = PnioCmSession(req_flow), PnioCmSession(res_flow)
    a.on_frame(_connect_req(), True)
    res_flow.frame = 2
    b.on_frame(_connect_res(), True)
    a.close()
    b.close()
    assert req_flow.events == []
    (ev,) = res_flow.of("pnio_cm")
    assert (ev.result, ev.ar_uuid, ev.flow_id, ev.src_ip, ev.response_frame) == (
        "ok", str(AR), 7, CTRL[0], 2)


def test_write_read_control_and_function_classes() -> None:
    flow = _flow()
    s = PnioCmSession(flow)
    calls = [
        (3, 1, ndr_request(rw_header(0x0008, AR, 0, 1, 1, 0x0100, 4) + b"\x01\x02\x03\x04"),
         ndr_response(0, rw_header(0x8008, AR, 0, 1, 1, 0x0100, 4,
                                   bytes(4) + b"\xdf\x80\xb0\x00"))),  # AddValues, PNIOStatus
        (2, 2, ndr_request(rw_header(0x0009, AR, 0, 0, 1, 0xAFF0, 64)),
         ndr_response(0, rw_header(0x8009, AR, 0, 0, 1, 0xAFF0, 0))),
        (4, 3, ndr_request(control_block(0x0110, AR, 1, 0x0001)),
         ndr_response(0, control_block(0x8110, AR, 1, 0x0008))),
        (1, 4, ndr_request(control_block(0x0114, AR, 1, 0x0004)), None),
    ]
    for opnum, seq, req, res in calls:
        s.on_frame(rpc(0, opnum, ACT, seq, req), True)
        if res is not None:
            s.on_frame(rpc(2, opnum, ACT, seq, res, flags1=0x28), False)
    s.on_frame(rpc(0, 2, ACT, 9, ndr_request(b"")), True)
    s.on_frame(rpc(3, 2, ACT, 9, b"\x01\x00\x00\x1c"), False)  # fault: nca_s_op_rng_error
    s.close()
    got = [(e.operation, e.function_class, e.result, e.index_name, e.control_command,
            e.pnio_status) for e in flow.of("pnio_cm")]
    assert got == [
        ("write", "config", "error", "0x0100", None, "0xdf80b000"),
        ("read", "identify", "ok", "im0", None, None),
        ("control", "control", "ok", None, ("prm_end",), None),
        ("read", "read", "fault", None, None, None),
        ("release", "control", "unanswered", None, ("release",), None),
    ]


def test_fragmented_call_reassembled_same_as_whole() -> None:
    whole = _connect_req()
    body = whole[80:]
    parts = [body[:100], body[100:150], body[150:]]
    frags = [rpc(0, 0, ACT, 0, p, flags1=0x24 | (0x02 if i == 2 else 0), fragnum=i)
             for i, p in enumerate(parts)]
    results = []
    for frames in ([whole], frags, [frags[2], frags[0], frags[1]]):
        flow = _flow()
        s = PnioCmSession(flow)
        for f in frames:
            s.on_frame(f, True)
        s.on_frame(_connect_res(), False)
        results.append(without_position(flow.events))
    assert results[0] == results[1] == results[2]
    assert results[0][0]["station_name"] == "plc-1"


def test_pending_limit_and_incomplete_fragments() -> None:
    flow = RecordingFlow(CTRL, DEV, transport="udp", settings=Settings(max_pending_requests=2))
    s = PnioCmSession(flow)
    for seq in range(3):
        s.on_frame(rpc(0, 2, ACT, 100 + seq, ndr_request(b"")), True)
    s.on_frame(rpc(0, 0, ACT, 50, b"\x00" * 30, flags1=0x24), True)
    s.close()
    assert flow.codes() == ["pnio_cm.too_many_pending", "pnio_cm.incomplete_fragments"]
    assert [e.result for e in flow.of("pnio_cm")] == ["unanswered"] * 3


def test_session_survives_malformed() -> None:
    flow = _flow()
    s = PnioCmSession(flow)
    s.on_frame(b"\x04\x00", True)
    s.on_frame(rpc(0, 2, ACT, 1, b"\x00" * 8), True)
    s.on_frame(rpc(2, 2, ACT, 1, ndr_response(0, b"\x80\x09\x00\x40"), flags1=0x28), False)
    assert flow.codes() == ["pnio_cm.truncated", "pnio_cm.truncated", "pnio_cm.bad_block"]
    assert [e.result for e in flow.of("pnio_cm")] == ["ok"]


def test_golden_capture(tmp_path: Path) -> None:
    """Connect to 34964 answered from the device's RPC port, then a Write, through the engine."""
    path = tmp_path / "cm.pcap"
    write_req = ndr_request(rw_header(0x0008, AR, 0, 1, 1, 0x8028, 2) + b"\x00\x01")
    write_udp(path, [
        (CTRL, DEV, _connect_req()),
        (DEV_RPC, CTRL, _connect_res()),
        (CTRL, DEV_RPC, rpc(0, 3, ACT, 1, write_req)),
        (DEV_RPC, CTRL, rpc(2, 3, ACT, 1, ndr_response(0, rw_header(0x8008, AR, 0, 1, 1, 0x8028,
                                                                    2)), flags1=0x28)),
    ])
    events = decode_file(path)
    cm = of_type(events, "pnio_cm")
    got = [(e.frame, e.operation, e.result, e.src_ip, e.dst_port, e.function_class) for e in cm]
    assert got == [
        (2, "connect", "ok", CTRL[0], 34964, "control"),
        (4, "write", "ok", CTRL[0], 49152, "config"),
    ]
    assert cm[1].index_name == "record_input_data_object_element" and cm[1].record_length == 2
    assert not of_type(events, "anomaly")


def test_request_timeout() -> None:
    flow = RecordingFlow(CTRL, DEV, transport="udp", settings=Settings(request_timeout=5.0))
    s = PnioCmSession(flow)
    s.on_frame(rpc(0, 2, ACT, 1, ndr_request(b"")), True)
    flow.ts += 10
    s.on_frame(rpc(0, 2, ACT, 2, ndr_request(b"")), True)
    assert [(e.sequence, e.result) for e in flow.of("pnio_cm")] == [(1, "unanswered")]
    s.on_frame(rpc(2, 2, ACT, 1, ndr_response(0, b""), flags1=0x28), False)  # too late: orphan
    assert [(e.sequence, e.result) for e in flow.of("pnio_cm")][1:] == [(1, "ok")]


def test_block_and_fragment_limits() -> None:
    flow = RecordingFlow(CTRL, DEV, transport="udp", settings=Settings(max_frame_bytes=100))
    s = PnioCmSession(flow)
    many = pn_block(0x0102, b"") * 300  # 300 empty IOCR blocks: more than are decoded
    s.on_frame(rpc(0, 0, ACT, 1, ndr_request(many)), True)
    s.on_frame(rpc(0, 0, ACT, 2, bytes(80), flags1=0x24, fragnum=0), True)
    s.on_frame(rpc(0, 0, ACT, 2, bytes(80), flags1=0x24, fragnum=1), True)  # over 100 bytes
    assert flow.codes() == ["pnio_cm.too_many_blocks", "pnio_cm.too_many_fragments"]
