"""DNP3 session tests with a fake flow: link-layer events, request/response pairing, UDP
datagrams holding several frames, limits, gaps, and every session-level anomaly code."""

from __future__ import annotations

from typing import Any

import pytest

from otshield.config import Settings
from otshield.protocols.dnp3 import ANOMALY_CODES, SPEC
from otshield.protocols.dnp3.session import Dnp3Session
from protocols.dnp3_build import (
    MASTER,
    OUTSTATION,
    FakeFlow,
    frames,
    header,
    link_frame,
    request,
    response,
    segments,
)


def session(settings: Settings | None = None, transport: str = "tcp") -> tuple[Dnp3Session,
                                                                               FakeFlow]:
    flow = FakeFlow(settings, transport)
    return Dnp3Session(flow), flow


def feed(s: Dnp3Session, flow: FakeFlow, data: bytes, from_client: bool | None = None) -> None:
    """Feed link frames one by one, as the engine does over TCP. The flow's client is the
    master: by default the direction follows each frame's DIR bit."""
    pos = 0
    while pos < len(data):
        size = SPEC.frame_size(data[pos:])  # type: ignore[misc]
        assert size is not None
        flow.step()
        direction = bool(data[pos + 3] & 0x80) if from_client is None else from_client
        s.on_frame(data[pos:pos + size], direction)
        pos += size


def dnp3(flow: FakeFlow) -> list[Any]:
    return flow.of("dnp3")


def test_spec_wiring() -> None:
    assert SPEC.name == "dnp3"
    assert 20000 in SPEC.tcp_ports and 20000 in SPEC.udp_ports
    assert SPEC.anomaly_codes is ANOMALY_CODES
    for code in ("dnp3.bad_crc", "dnp3.invalid_length", "dnp3.bad_start",
                 "dnp3.transport_sequence", "dnp3.fragment_too_large", "dnp3.unknown_function",
                 "dnp3.unknown_object", "dnp3.truncated_object", "dnp3.too_many_pending"):
        assert code in ANOMALY_CODES


# -- link layer ------------------------------------------------------------------------------------
def test_link_service_frames_are_events() -> None:
    s, flow = session()
    feed(s, flow, link_frame(0xC9, OUTSTATION, MASTER))                # REQUEST_LINK_STATUS
    feed(s, flow, link_frame(0x0B, MASTER, OUTSTATION), False)         # LINK_STATUS
    feed(s, flow, link_frame(0xC0, OUTSTATION, MASTER))                # RESET_LINK_STATES
    feed(s, flow, link_frame(0x00, MASTER, OUTSTATION), False)         # ACK: not logged
    feed(s, flow, link_frame(0x01, MASTER, OUTSTATION), False)         # NACK
    got = [(e.function, e.function_code, e.primary, e.from_master, e.link_src, e.link_dst,
            e.src_ip) for e in flow.of("dnp3_link")]
    assert got == [
        ("REQUEST_LINK_STATUS", 9, True, True, MASTER, OUTSTATION, "10.20.0.1"),
        ("LINK_STATUS", 11, False, False, OUTSTATION, MASTER, "10.20.0.2"),
        ("RESET_LINK_STATES", 0, True, True, MASTER, OUTSTATION, "10.20.0.1"),
        ("NACK", 1, False, False, OUTSTATION, MASTER, "10.20.0.2"),
    ]
    assert flow.codes() == []


def test_unknown_link_function() -> None:
    s, flow = session()
    feed(s, flow, link_frame(0xC7, OUTSTATION, MASTER))  # primary function 7 is undefined
    assert flow.codes() == ["dnp3.unknown_link_function"]
    assert flow.of("dnp3_link")[0].function == "UNKNOWN_7"


def test_link_service_with_user_data_and_user_data_without_transport() -> None:
    s, flow = session()
    feed(s, flow, link_frame(0xC9, OUTSTATION, MASTER, b"\xc0\xc0\x01"))
    feed(s, flow, link_frame(0xC4, OUTSTATION, MASTER))  # UNCONFIRMED_USER_DATA, no data
    assert flow.codes() == ["dnp3.invalid_length", "dnp3.invalid_length"]


def test_bad_crc_frame_is_dropped_and_reported() -> None:
    s, flow = session()
    bad = link_frame(0xC4, OUTSTATION, MASTER, segments(request(1, 0, header(60, 1, 6)))[0],
                     corrupt_block=0)
    feed(s, flow, bad)
    assert flow.codes() == ["dnp3.bad_crc"] and dnp3(flow) == []


def stream(s: Dnp3Session, flow: FakeFlow, data: bytes, chunk: int,
           from_client: bool = True) -> None:
    """Deliver a byte stream in ``chunk``-octet pieces, framed as the engine frames TCP."""
    buf = b""
    for i in range(0, len(data), chunk):
        buf += data[i:i + chunk]
        flow.step()
        while buf:
            size = SPEC.frame_size(buf)  # type: ignore[misc]
            if size is None or size > len(buf):
                break
            s.on_frame(buf[:size], from_client)
            buf = buf[size:]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_junk_is_reported_once_per_run(chunk: int) -> None:
    s, flow = session()
    good = link_frame(0xC9, OUTSTATION, MASTER)
    data = b"".join((
        b"\x05\x65" + bytes(8), good,                                      # bad start octets
        link_frame(0xC9, OUTSTATION, MASTER, corrupt_header=True), b"xx", good,  # bad header CRC
        b"\x05\x64\x02" + bytes(7), b"\x05\x05\x64", good,                  # LENGTH 2
        b"\x05", good,                                                       # 0x05 0x05
        b"\x05\x64\x05\x64" + bytes(6), good,                                # bad CRC again
    ))
    stream(s, flow, data, chunk)
    assert flow.codes() == ["dnp3.bad_start", "dnp3.bad_crc", "dnp3.invalid_length",
                            "dnp3.bad_start", "dnp3.bad_crc"]
    assert [a.detail for a in flow.of("anomaly")][3].startswith("octets 0x05 0x05")
    assert len(flow.of("dnp3_link")) == 5


def test_a_gap_ends_a_run_of_junk() -> None:
    s, flow = session()
    s.on_frame(b"\x00", True)
    s.on_frame(b"\x00", True)
    s.on_gap(True, 10)
    s.on_frame(b"\x00", True)
    assert flow.codes() == ["dnp3.bad_start", "dnp3.bad_start"]


# -- application layer -----------------------------------------------------------------------------
def test_request_and_response_are_paired() -> None:
    s, flow = session()
    feed(s, flow, frames(request(1, 3, header(60, 1, 6)), True))
    feed(s, flow, frames(response(3, 0x80, 0, header(1, 2, 0, 0, 0), b"\x81"), False))
    req, rsp = dnp3(flow)
    assert (req.function, req.seq, req.request_function, req.iin) == ("READ", 3, None, None)
    assert (rsp.function, rsp.seq, rsp.request_function, rsp.iin, rsp.iin_flags) == (
        "RESPONSE", 3, "READ", 0x8000, ("DEVICE_RESTART",))
    assert (rsp.src_ip, rsp.link_src, rsp.link_dst, rsp.from_master) == (
        "10.20.0.2", OUTSTATION, MASTER, False)
    assert rsp.objects[0].points[0].state is True


def test_response_with_other_sequence_is_not_paired() -> None:
    s, flow = session()
    feed(s, flow, frames(request(1, 3, header(60, 1, 6)), True))
    feed(s, flow, frames(response(4), False))
    feed(s, flow, frames(response(3), False))
    assert [e.request_function for e in dnp3(flow)] == [None, None, "READ"]


def test_multi_fragment_response() -> None:
    s, flow = session()
    feed(s, flow, frames(request(1, 5, header(60, 1, 6)), True))
    feed(s, flow, frames(response(5, 0, 0, fin=False, con=True), False))
    feed(s, flow, frames(request(0, 5), True))  # CONFIRM
    feed(s, flow, frames(response(6, 0, 0, fir=False, fin=False, con=True), False))
    feed(s, flow, frames(request(0, 6), True))
    feed(s, flow, frames(response(7, 0, 0, fir=False), False))
    got = [(e.function, e.seq, e.fir, e.fin, e.request_function) for e in dnp3(flow)]
    assert got == [("READ", 5, True, True, None), ("RESPONSE", 5, True, False, "READ"),
                   ("CONFIRM", 5, True, True, None), ("RESPONSE", 6, False, False, "READ"),
                   ("CONFIRM", 6, True, True, None), ("RESPONSE", 7, False, True, "READ")]


def test_unsolicited_response_and_confirm() -> None:
    s, flow = session()
    feed(s, flow, frames(response(9, 0x02, 0, header(2, 1, 0x17, 1), b"\x03\x81",
                                  function=130, con=True, uns=True), False))
    feed(s, flow, frames(request(0, 9, uns=True), True))
    u, c = dnp3(flow)
    assert (u.function, u.unsolicited, u.uns, u.con, u.request_function, u.iin_flags) == (
        "UNSOLICITED_RESPONSE", True, True, True, None, ("CLASS_1_EVENTS",))
    assert (c.function, c.unsolicited, c.uns) == ("CONFIRM", False, True)


def test_no_response_functions_and_broadcast_are_not_pending() -> None:
    s, flow = session(Settings(max_pending_requests=1))
    feed(s, flow, frames(request(6, 1, header(12, 1, 0x17, 1), bytes(12)), True))
    feed(s, flow, frames(request(1, 2, header(60, 1, 6)), True, dst=0xFFFF))
    feed(s, flow, frames(request(1, 3, header(60, 1, 6)), True, dst=11))
    assert flow.codes() == []  # one pending request (to 11) fits a limit of 1


def test_too_many_pending_requests() -> None:
    s, flow = session(Settings(max_pending_requests=2))
    for outstation in (11, 12, 13):
        feed(s, flow, frames(request(1, 0, header(60, 1, 6)), True, dst=outstation))
    assert flow.codes() == ["dnp3.too_many_pending"]
    # the oldest (to 11) was forgotten, the others still pair
    feed(s, flow, frames(response(0), False, src=11))
    feed(s, flow, frames(response(0), False, src=13))
    assert [e.request_function for e in dnp3(flow)[3:]] == [None, "READ"]


def test_newer_request_replaces_unanswered_one() -> None:
    s, flow = session()
    feed(s, flow, frames(request(1, 1, header(60, 1, 6)), True))
    feed(s, flow, frames(request(13, 2), True))  # COLD_RESTART
    feed(s, flow, frames(response(1), False))
    feed(s, flow, frames(response(2, 0, 0, header(52, 1, 7, 1), b"\x05\x00"), False))
    assert [e.request_function for e in dnp3(flow)[2:]] == [None, "COLD_RESTART"]
    assert dnp3(flow)[3].delay_ms == 5000


def test_multi_segment_fragment_is_one_event() -> None:
    s, flow = session()
    body = header(30, 4, 1, 0, 199) + bytes(400)  # 200 x 16-bit analog values
    feed(s, flow, frames(response(0, 0, 0, body), False, tseq=62))
    (e,) = dnp3(flow)
    assert (e.segments, e.fragment_size, e.objects[0].count) == (2, 4 + len(body), 200)
    assert e.frame == flow.frame  # the packet that completed the fragment


def test_unknown_function_is_an_event_and_an_anomaly() -> None:
    s, flow = session()
    feed(s, flow, frames(bytes([0xC0, 0x70, 1, 2]), True))
    assert flow.codes() == ["dnp3.unknown_function"]
    assert dnp3(flow)[0].function == "UNKNOWN_112"


def test_object_problems_are_anomalies_with_the_event() -> None:
    s, flow = session()
    feed(s, flow, frames(response(0, 0, 0, header(30, 1, 0, 0, 3), bytes(7)), False))
    assert flow.codes() == ["dnp3.truncated_object"]
    assert dnp3(flow)[0].truncated


def test_fragment_too_short_is_invalid_length() -> None:
    s, flow = session()
    feed(s, flow, frames(b"\xc0", True))
    assert flow.codes() == ["dnp3.invalid_length"] and dnp3(flow) == []


def test_transport_problems() -> None:
    s, flow = session()
    segs = segments(bytes(300), seq=0)  # two segments
    ctl = 0xC4
    feed(s, flow, link_frame(ctl, OUTSTATION, MASTER, segs[1]))  # no first segment
    feed(s, flow, link_frame(ctl, OUTSTATION, MASTER, segs[0]))
    feed(s, flow, link_frame(ctl, OUTSTATION, MASTER, segs[0]))  # first again: abandons
    assert flow.codes() == ["dnp3.transport_sequence", "dnp3.incomplete_fragment"]


def test_fragment_too_large() -> None:
    s, flow = session()
    feed(s, flow, frames(request(2, 0) + bytes(2100), True))
    assert flow.codes() == ["dnp3.fragment_too_large"] and dnp3(flow) == []


def test_gap_and_close_report_unfinished_fragments() -> None:
    s, flow = session()
    first = segments(bytes(300))[0]
    feed(s, flow, link_frame(0xC4, OUTSTATION, MASTER, first))
    s.on_gap(True, 100)
    feed(s, flow, link_frame(0x44, MASTER, OUTSTATION, first), False)
    s.on_gap(True, 50)  # nothing pending in that direction any more
    s.close()
    assert flow.codes() == ["dnp3.incomplete_fragment", "dnp3.incomplete_fragment"]
    assert [a.src_ip for a in flow.of("anomaly")] == ["10.20.0.1", "10.20.0.2"]


# -- UDP -------------------------------------------------------------------------------------------
def test_udp_datagram_with_several_frames() -> None:
    s, flow = session(transport="udp")
    datagram = frames(request(1, 1, header(60, 2, 6)), True) + link_frame(0xC9, OUTSTATION,
                                                                          MASTER)
    flow.step()
    s.on_frame(datagram, True)
    assert [e.function for e in dnp3(flow)] == ["READ"]
    assert [e.function for e in flow.of("dnp3_link")] == ["REQUEST_LINK_STATUS"]


def test_udp_datagram_problems() -> None:
    s, flow = session(transport="udp")
    good = frames(request(1, 1, header(60, 2, 6)), True)
    bad_crc = link_frame(0xC4, OUTSTATION, MASTER, segments(request(1, 2))[0], corrupt_block=0)
    s.on_frame(bad_crc + good + good[:5], True)  # bad frame, good frame, 5 stray octets
    s.on_frame(b"\x00\x01" + good, True)         # junk, then a frame
    assert flow.codes() == ["dnp3.bad_crc", "dnp3.invalid_length", "dnp3.bad_start"]
    assert [e.seq for e in dnp3(flow)] == [1, 1]
