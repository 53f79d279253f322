"""Session tests: request/reply pairing, limits and every anomaly code, with a stand-in flow."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

from otshield.config import Settings
from otshield.pcapwriter import PcapWriter, TcpConversation
from otshield.protocols.enip import SPEC, EnipIoSession, EnipSession
from otshield.protocols.enip.io import IO_REPORT_INTERVAL
from protocols.enip_build import (
    CTX,
    FakeFlow,
    cpf,
    encap,
    forward_open,
    forward_open_ok,
    identity_item,
    io_datagram,
    logical,
    multiple,
    pccc_reply,
    pccc_request,
    reply,
    request,
    rr_data,
    send_rr,
    send_unit,
    symbol,
    unconnected_send,
)

C, S = True, False  # sent by the client / by the server


def run(frames: list[tuple[bool, bytes]], flow: FakeFlow | None = None,
        close: bool = True) -> FakeFlow:
    flow = flow or FakeFlow()
    session = EnipSession(flow) if flow.server_port == 44818 else EnipIoSession(flow)
    for from_client, frame in frames:
        flow.tick()
        session.on_frame(frame, from_client)
    if close:
        session.close()
    return flow


# -- encapsulation commands -----------------------------------------------------------------------
def test_register_session_pairs_and_takes_the_handle_from_the_reply() -> None:
    flow = run([(C, encap(0x65, b"\x01\x00\x00\x00")),
                (S, encap(0x65, b"\x01\x00\x00\x00", session=0x12345678))])
    (e,) = flow.of("enip")
    assert (e.command_name, e.session_handle, e.protocol_version, e.options) == (
        "RegisterSession", 0x12345678, 1, 0)
    assert e.answered and e.status == 0 and e.sender_context == CTX.hex()
    assert e.response_time == pytest.approx(0.001) and e.frame == 3
    assert (e.src_ip, e.dst_port) == ("10.0.0.1", 44818)
    assert flow.codes() == []


def test_list_identity_over_tcp() -> None:
    item = identity_item(1, 14, 54, 20, 11, 0x3060, 0x12345678, b"1756-L61/B", 3)
    flow = run([(C, encap(0x63)), (S, encap(0x63, cpf((0x000C, item))))])
    (e,) = flow.of("enip")
    assert e.function_class == "identify" and e.items == 1 and e.answered
    assert e.identity.product_name == "1756-L61/B" and e.identity.serial_number == "0x12345678"
    assert e.identity.revision == "20.11"


def test_list_identity_broadcast_over_udp() -> None:
    """The request goes to a broadcast address: its replies come back on other flows, so the
    request alone is no anomaly, and a reply alone names the requester as source."""
    flow = run([(C, encap(0x63))], FakeFlow("udp"))
    (e,) = flow.of("enip")
    assert e.answered is False and flow.codes() == []
    item = identity_item(1, 12, 58, 4, 3, 0x30, 0x524D8E, b"1756-ENBT/A", 3)
    flow = run([(S, encap(0x63, cpf((0x000C, item))))], FakeFlow("udp"))
    (e,) = flow.of("enip")
    assert e.request_missing and e.identity.product_name == "1756-ENBT/A"
    assert e.src_ip == "10.0.0.1"


def test_list_services_and_interfaces() -> None:
    svc = struct.pack("<HH16s", 1, 0x120, b"Communications")
    flow = run([(C, encap(0x04)), (S, encap(0x04, cpf((0x0100, svc)))),
                (C, encap(0x64, context=b"B" * 8)), (S, encap(0x64, cpf(), context=b"B" * 8))])
    services, interfaces = flow.of("enip")
    assert services.services[0].name == "Communications" and services.services[0].io_over_udp
    assert interfaces.command_name == "ListInterfaces" and interfaces.items == 0


def test_one_way_commands() -> None:
    flow = run([(C, encap(0x00, b"keepalive")), (C, encap(0x66, session=7))])
    nop, unregister = flow.of("enip")
    assert nop.command_name == "NOP" and nop.answered is None
    assert unregister.command_name == "UnRegisterSession" and unregister.session_handle == 7
    assert flow.codes() == []


# -- CIP pairing ----------------------------------------------------------------------------------
def test_unconnected_pairing_is_first_in_first_out_per_context() -> None:
    get = request(0x0E, logical(0x01, 0x01, 0x07))
    flow = run([(C, send_rr(get)), (C, send_rr(request(0x0E, logical(0x01, 0x01, 0x01)))),
                (S, send_rr(reply(0x0E, 0, b"\x05\x00"))), (S, send_rr(reply(0x0E, 0x14)))])
    first, second = flow.of("cip")
    assert (first.attribute, first.status, first.response_size) == (7, 0, 2)
    assert (second.attribute, second.status, second.status_name) == (1, 0x14,
                                                                     "attribute not supported")
    assert first.function_class == "identify" and first.class_name == "Identity"
    assert first.enip_command == "SendRRData" and first.sender_context == CTX.hex()


def test_connected_pairing_learns_ids_from_forward_open() -> None:
    fo = forward_open(0, 0x80000014, 0x14, 0x4D, 0x32952BF3, 8_000_000, 8_000_000, 0x43F4,
                      0x43F4, 0xA3, logical(0x02, 0x01))
    read = request(0x4C, symbol("Motor", 2), b"\x01\x00")
    flow = run([
        (C, send_rr(fo)),
        (S, send_rr(forward_open_ok(0x00790301, 0x80000014, 0x14, 0x4D, 0x32952BF3,
                                    8_000_000, 8_000_000))),
        (C, send_unit(read, 0x00790301, 5)),
        (C, send_unit(read, 0x00790301, 6)),
        (S, send_unit(reply(0x4C, 0, b"\xc4\x00\x2a\x00\x00\x00"), 0x80000014, 6)),
        (S, send_unit(reply(0x4C, 0, b"\xc4\x00\x07\x00\x00\x00"), 0x80000014, 5)),
    ])
    fo_event, r6, r5 = flow.of("cip")
    assert fo_event.service_name == "Forward_Open"
    assert fo_event.connection.o2t_connection_id == 0x00790301
    assert (r6.sequence, r6.value, r6.symbol, r6.connection_id) == (6, 42, "Motor[2]", 0x790301)
    assert (r5.sequence, r5.value) == (5, 7)
    assert r6.enip_command == "SendUnitData" and r6.sender_context is None
    assert flow.codes() == []


def test_forward_open_socket_address_items() -> None:
    """A class 1 Forward_Open reply names the multicast group the target produces to in a
    T->O socket address item (Vol. 2, 2-6.3.3)."""
    fo = forward_open(0, 0x11, 0x15, 0x4D, 1, 10_000, 10_000, 0x4804, 0x2804, 0x01,
                      logical(0x04, 0x64))
    ok = forward_open_ok(0x22, 0x11, 0x15, 0x4D, 1, 10_000, 10_000)
    sock = struct.pack(">HH4s8s", 2, 2222, bytes([239, 192, 1, 1]), bytes(8))
    answer = encap(0x6F, rr_data((0x0000, b""), (0x00B2, ok), (0x8001, sock)), 0x11223344)
    flow = run([(C, send_rr(fo)), (S, answer)])
    (e,) = flow.of("cip")
    assert e.connection.t2o_socket == "239.192.1.1:2222" and e.connection.o2t_socket is None
    assert (e.connection.transport_class, e.connection.trigger) == (1, "cyclic")
    bad = encap(0x6F, rr_data((0x0000, b""), (0x00B2, ok), (0x8001, b"\x00\x02")), 0x11223344)
    assert run([(C, send_rr(fo)), (S, bad)]).codes() == ["enip.bad_cpf"]


def test_connected_pairing_without_the_forward_open() -> None:
    """The capture started after the Forward_Open: the first reply whose sequence count matches
    a pending request binds the two connection ids."""
    read = request(0x0E, logical(0x01, 0x01, 0x07))
    flow = run([(C, send_unit(read, 0xAA, 1)), (S, send_unit(reply(0x0E, 0, b"x"), 0xBB, 1)),
                (C, send_unit(read, 0xAA, 2)), (C, send_unit(read, 0xCC, 2)),
                (S, send_unit(reply(0x0E, 0, b"y"), 0xBB, 2))])
    first, second, left = flow.of("cip")
    assert first.answered and first.connection_id == 0xAA
    assert second.answered and second.connection_id == 0xAA and second.sequence == 2
    assert not left.answered and left.connection_id == 0xCC
    assert flow.codes() == ["cip.unanswered_request"]


def test_unconnected_send_success_and_routing_failure() -> None:
    embedded = request(0x01, logical(0x01, 0x01))
    ident = struct.pack("<HHHBBHI", 1, 14, 54, 16, 20, 0x3060, 0x51823F) + b"\x03ABC"
    flow = run([(C, send_rr(unconnected_send(embedded))), (S, send_rr(reply(0x01, 0, ident))),
                (C, send_rr(unconnected_send(request(0x07, logical(0x8E, 0x01)), b"\x01\x03"))),
                (S, send_rr(reply(0x52, 0x01, b"\x00\x00", (0x0204,))))])
    ok, failed = flow.of("cip")
    assert (ok.service_name, ok.unconnected_send, ok.route_path) == ("Get_Attributes_All", True,
                                                                    "1/0")
    assert ok.identity.product_name == "ABC" and ok.function_class == "identify"
    assert (failed.service_name, failed.function_class, failed.route_path) == (
        "Stop", "control", "1/3")
    assert (failed.reply_service, failed.status, failed.extended_status) == (0x52, 1, [0x0204])
    assert failed.extended_status_name == "unconnected request timed out"
    assert flow.codes() == []


def test_multiple_service_packet() -> None:
    reads = [request(0x4C, symbol("A"), b"\x01\x00"), request(0x4D, symbol("B"),
                                                              b"\xc3\x00\x01\x00\x05\x00")]
    msp = request(0x0A, logical(0x02, 0x01), multiple(reads))
    answer = reply(0x0A, 0x1E, multiple([reply(0x4C, 0, b"\xc3\x00\x09\x00"),
                                         reply(0x4D, 0x05)]))
    flow = run([(C, send_rr(msp)), (S, send_rr(answer))])
    wrapper, a, b = flow.of("cip")
    assert (wrapper.service_name, wrapper.embedded_services, wrapper.status) == (
        "Multiple_Service_Packet", 2, 0x1E)
    assert (a.multiple_index, a.service_name, a.symbol, a.value, a.status) == (0, "Read_Tag", "A",
                                                                               9, 0)
    assert (b.multiple_index, b.service_name, b.function_class, b.value, b.status) == (
        1, "Write_Tag", "write", 5, 5)
    flow = run([(C, send_rr(msp)), (S, send_rr(reply(0x0A, 0, multiple([reply(0x4C)]))))])
    assert flow.codes() == ["cip.multiple_count_mismatch"]
    assert [e.answered for e in flow.of("cip")] == [True, True, False]


def test_pccc_transaction() -> None:
    flow = run([(C, send_rr(pccc_request(0x0F, 0x1234, 0x80, b"\x01"))),
                (S, send_rr(pccc_reply(0x0F, 0x1234)))])
    (e,) = flow.of("cip")
    assert (e.service_name, e.function_class, e.pccc.function_name, e.pccc.cpu_mode,
            e.pccc.status) == ("Execute_PCCC", "control", "change_cpu_mode", "remote_program", 0)


def test_orphan_reply_and_encapsulation_error() -> None:
    flow = run([(S, send_rr(reply(0x0A, 0, multiple([reply(0x4C, 0, b"\xc1\x00\x01")]))))])
    wrapper, child = flow.of("cip")
    assert wrapper.request_missing and child.request_missing and child.service == 0x4C
    assert wrapper.src_ip == "10.0.0.1"  # the requester is the source
    flow = run([(C, send_rr(request(0x0E, logical(0x01, 0x01, 0x01)))),
                (S, encap(0x6F, session=0x11223344, status=0x64))])
    (e,) = flow.of("cip")
    assert e.answered and e.enip_status == 0x64 and e.status is None
    flow = run([(S, encap(0x70, session=9, status=0x64))])
    (e,) = flow.of("enip")
    assert e.request_missing and e.status_name == "invalid session handle"


def test_unanswered_requests_at_close_keep_the_request_time() -> None:
    flow = run([(C, send_rr(request(0x06, logical(0x8E, 0x01))))])
    (e,) = flow.of("cip")
    assert (e.answered, e.service_name, e.function_class, e.frame) == (False, "Start", "control", 2)
    assert e.response_time is None
    assert flow.codes() == ["cip.unanswered_request"]


def test_pending_limit_evicts_the_oldest() -> None:
    flow = FakeFlow(settings=Settings(max_pending_requests=2))
    frames = [(C, send_rr(request(0x0E, logical(0x01, 0x01, a)), context=bytes([a]) * 8))
              for a in (1, 2, 3, 4)]
    run(frames, flow, close=False)
    evicted = flow.of("cip")
    assert [e.attribute for e in evicted] == [1, 2] and not any(e.answered for e in evicted)
    assert flow.codes() == ["enip.too_many_pending"]  # once per flow


def test_pending_requests_time_out() -> None:
    flow = FakeFlow()
    session = EnipSession(flow)
    session.on_frame(send_rr(request(0x0E, logical(0x01, 0x01, 0x01))), True)
    flow.ts += Settings().request_timeout + 1
    session.on_frame(encap(0x00), True)
    unanswered = [e for e in flow.of("cip") if not e.answered]
    assert len(unanswered) == 1 and unanswered[0].ts == 1000.0


# -- implicit I/O ---------------------------------------------------------------------------------
def test_io_counts_gaps_and_repeats() -> None:
    flow = FakeFlow("udp", server_port=2222, client_port=2222)
    frames = [(C, io_datagram(0x11, seq, b"\x00" * size))
              for seq, size in ((10, 6), (11, 6), (14, 8), (14, 8), (13, 4))]
    frames.append((S, io_datagram(0x22, 1, b"\x00" * 2)))
    run(frames, flow)
    first, second = flow.of("cip_io")
    assert (first.connection_id, first.packets, first.bytes, first.min_size,
            first.max_size) == (0x11, 5, 32, 4, 8)
    assert (first.first_sequence, first.last_sequence, first.sequence_gaps,
            first.sequence_repeats) == (10, 14, 2, 2)
    assert first.mean_interval_ms == pytest.approx(1.0) and not first.interim
    assert (second.connection_id, second.packets, second.src_ip) == (0x22, 1, "10.0.0.2")


def test_io_interim_reports() -> None:
    flow = FakeFlow("udp", server_port=2222, client_port=2222)
    session = EnipIoSession(flow)
    session.on_frame(io_datagram(1, 1, b"ab"), True)
    flow.ts += IO_REPORT_INTERVAL
    session.on_frame(io_datagram(1, 2, b"ab"), True)
    flow.ts += 1
    session.on_frame(io_datagram(1, 3, b"ab"), True)
    session.close()
    interim, final = flow.of("cip_io")
    assert interim.interim and interim.packets == 2 and not final.interim and final.packets == 1


# -- every anomaly code ---------------------------------------------------------------------------
def _engine_codes(settings: Settings, payload: bytes, tmp: Any) -> list[str]:
    from protocols.enip_build import decode_enip_with

    path = tmp / "x.pcap"
    with path.open("wb") as fh:
        conv = TcpConversation(PcapWriter(fh), ("10.0.0.1", 50000), ("10.0.0.2", 44818))
        conv.handshake().send(True, payload).close()
    return [e.code for e in decode_enip_with(path, settings)
            if e.__struct_config__.tag == "anomaly"]


def _codes(frames: list[tuple[bool, bytes]], flow: FakeFlow | None = None) -> list[str]:
    return run(frames, flow).codes()


GET = request(0x0E, logical(0x01, 0x01, 0x07))

TRIGGERS: dict[str, Callable[[Any], list[str]]] = {
    "enip.bad_header": lambda tmp: _engine_codes(Settings(), b"\x00\x01\x00\x00" * 8, tmp),
    "enip.invalid_length": lambda tmp: _codes([(C, encap(0x63) + b"xx")], FakeFlow("udp")),
    "enip.invalid_frame_size": lambda tmp: _engine_codes(
        Settings(max_frame_bytes=64), encap(0x6F, bytes(100)), tmp),
    "enip.buffer_overflow": lambda tmp: _engine_codes(
        Settings(max_stream_buffer=64), encap(0x6F, bytes(1000))[:200], tmp),
    "enip.unknown_command": lambda tmp: _codes([(C, encap(0x99)), (S, encap(0x99, status=1))]),
    "enip.nonzero_options": lambda tmp: _codes([(C, encap(0x00, options=1)),
                                                (C, encap(0x00, options=1))]),
    "enip.bad_cpf": lambda tmp: _codes([(C, encap(0x6F, rr_data((0x0000, b""))))]),
    "enip.bad_identity": lambda tmp: _codes([(C, encap(0x63)),
                                             (S, encap(0x63, cpf((0x0C, b"x"))))]),
    "enip.too_many_pending": lambda tmp: _codes(
        [(C, send_rr(GET)), (C, send_rr(GET))],
        FakeFlow(settings=Settings(max_pending_requests=1))),
    "enip.unanswered_request": lambda tmp: _codes([(C, encap(0x63))]),
    "enip.too_many_io_connections": lambda tmp: _codes(
        [(C, io_datagram(1, 1, b"")), (C, io_datagram(2, 1, b""))],
        FakeFlow("udp", 2222, 2222, Settings(max_pending_requests=1))),
    "cip.invalid_length": lambda tmp: _codes([(C, send_rr(b"\x4c"))]),
    "cip.bad_path": lambda tmp: _codes([(C, send_rr(request(0x0E, b"\xe0\x00")))]),
    "cip.unknown_service": lambda tmp: _codes([(C, send_rr(request(0x40, b"")))]),
    "cip.reply_mismatch": lambda tmp: _codes([(C, send_rr(GET)), (S, send_rr(reply(0x10)))]),
    "cip.bad_multiple_service": lambda tmp: _codes(
        [(C, send_rr(request(0x0A, logical(0x02, 0x01), b"\x05\x00")))]),
    "cip.too_many_services": lambda tmp: _codes([(C, send_rr(request(
        0x0A, logical(0x02, 0x01), multiple([b"\x17\x00"] * 300))))]),
    "cip.multiple_count_mismatch": lambda tmp: _codes([
        (C, send_rr(request(0x0A, logical(0x02, 0x01), multiple([GET, GET])))),
        (S, send_rr(reply(0x0A, 0, multiple([reply(0x0E)]))))]),
    "cip.bad_unconnected_send": lambda tmp: _codes(
        [(C, send_rr(request(0x52, logical(0x06, 0x01), b"\x0a\xf0\x20\x00")))]),
    "cip.bad_forward_open": lambda tmp: _codes(
        [(C, send_rr(request(0x54, logical(0x06, 0x01), b"\x0a")))]),
    "cip.bad_pccc": lambda tmp: _codes([(C, send_rr(request(0x4B, logical(0x67, 0x01),
                                                            b"\x07\x4d")))]),
    "cip.unanswered_request": lambda tmp: _codes([(C, send_rr(GET))]),
}


def test_every_anomaly_code_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(SPEC.anomaly_codes)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_anomaly(code: str, tmp_path: Any) -> None:
    assert code in TRIGGERS[code](tmp_path)
