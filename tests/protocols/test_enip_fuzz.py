"""Fuzzing: random and mutated input raises nothing but ``Malformed`` from the parsers, and
nothing at all from the request-tree builder and the sessions."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.enip import EnipIoSession, EnipSession
from otshield.protocols.enip.cip import parse_request, parse_response
from otshield.protocols.enip.encap import (
    frame_size,
    parse_cpf,
    parse_header,
    parse_io_datagram,
    parse_list_identity,
    parse_list_services,
    parse_rr_data,
    probe,
)
from otshield.protocols.enip.epath import parse_path
from otshield.protocols.enip.pccc import parse_pccc_reply, parse_pccc_request
from otshield.protocols.enip.services import (
    decode_reply,
    decode_request,
    split_multiple,
    unwrap_unconnected_send,
)
from otshield.protocols.enip.transaction import build_orphan, build_request
from protocols.enip_build import (
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
    send_rr,
    send_unit,
    symbol,
    unconnected_send,
)

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

SAMPLES = [
    send_rr(unconnected_send(request(0x01, logical(0x01, 0x01)))),
    send_rr(reply(0x01, 0, struct.pack("<HHHBBHI", 1, 14, 54, 20, 11, 0, 1) + b"\x01A")),
    send_rr(forward_open(0, 5, 1, 2, 3, 1000, 1000, 0x43F4, 0x43F4, 0xA3,
                         b"\x01\x00" + logical(0x02, 0x01))),
    send_rr(forward_open_ok(7, 5, 1, 2, 3, 1000, 1000)),
    send_unit(request(0x0A, logical(0x02, 0x01), multiple([
        request(0x4C, symbol("A", 1), b"\x01\x00"),
        request(0x4D, symbol("B"), b"\xc4\x00\x01\x00\x01\x00\x00\x00")])), 7, 1),
    send_unit(reply(0x0A, 0, multiple([reply(0x4C, 0, b"\xc4\x00\x01\x00\x00\x00"),
                                       reply(0x4D)])), 5, 1),
    send_rr(pccc_request(0x0F, 1, 0xA2, b"\x02\x07\x89\x00\x00")),
    send_rr(pccc_reply(0x0F, 1, 0xF0, b"\x10")),
    encap(0x63, cpf((0x0C, identity_item(1, 12, 58, 4, 3, 0x30, 1, b"X", 3)))),
    encap(0x65, b"\x01\x00\x00\x00"),
]

PARSERS = [frame_size, parse_header, parse_cpf, parse_io_datagram, parse_list_identity,
           parse_list_services, parse_rr_data, parse_path, parse_request, parse_response,
           split_multiple, unwrap_unconnected_send, parse_pccc_request]


@FUZZ
@given(st.binary(max_size=200))
def test_parsers_raise_only_malformed(data: bytes) -> None:
    probe(data, True)
    for parse in PARSERS:
        with contextlib.suppress(Malformed):
            parse(data)  # type: ignore[operator]
    build_request(data)
    build_orphan(data)


@FUZZ
@given(st.sampled_from(["Get_Attribute_List", "Set_Attribute_List", "Read_Tag",
                        "Read_Tag_Fragmented", "Write_Tag", "Write_Tag_Fragmented",
                        "Forward_Open", "Large_Forward_Open", "Forward_Close", "Execute_PCCC",
                        "Get_Attributes_All"]),
       st.sampled_from([None, 0x01, 0x06, 0x67, 0x6B]), st.integers(0, 255),
       st.binary(max_size=80), st.binary(max_size=80))
def test_service_decoders_collect_errors(name: str, class_id: int | None, status: int,
                                         req: bytes, rep: bytes) -> None:
    d = decode_request(name, class_id, req)
    decode_reply(name, class_id, d, status, rep, instance=1)
    for code, _detail in d.errors:
        assert code.startswith(("cip.", "enip."))
    with contextlib.suppress(Malformed):
        info = parse_pccc_request(req)
        parse_pccc_reply(rep, info)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out[:max(0, len(out) - cut)])


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(range(len(SAMPLES))),
                          st.lists(st.tuples(st.integers(0, 500), st.integers(0, 255)),
                                   max_size=4),
                          st.integers(0, 6), st.booleans()), max_size=12),
       st.sampled_from(["tcp", "udp"]))
def test_session_survives_mutated_messages(steps: list[tuple[int, list[tuple[int, int]], int,
                                                             bool]], transport: str) -> None:
    flow = FakeFlow(transport)
    session = EnipSession(flow)
    for index, edits, cut, from_client in steps:
        flow.tick()
        session.on_frame(_mutate(SAMPLES[index], edits, cut), from_client)
    session.close()
    for e in flow.events:
        assert e.__struct_config__.tag in ("enip", "cip", "anomaly")


@FUZZ
@given(st.lists(st.tuples(st.binary(max_size=120), st.booleans()), max_size=10))
def test_session_survives_random_frames(frames: list[tuple[bytes, bool]]) -> None:
    flow = FakeFlow()
    session = EnipSession(flow)
    for data, from_client in frames:
        flow.tick()
        session.on_frame(encap(0x6F, data) if data[:1] == b"\x00" else data, from_client)
    session.close()


@FUZZ
@given(st.lists(st.tuples(st.one_of(st.binary(max_size=60),
                                    st.builds(io_datagram, st.integers(0, 3),
                                              st.integers(0, 2**32 - 1), st.binary(max_size=20))),
                          st.booleans()), max_size=20))
def test_io_session_survives_anything(frames: list[tuple[bytes, bool]]) -> None:
    flow = FakeFlow("udp", 2222, 2222)
    session = EnipIoSession(flow)
    for data, from_client in frames:
        flow.tick()
        session.on_frame(data, from_client)
    session.close()
    assert sum(e.packets for e in flow.of("cip_io")) <= len(frames)
