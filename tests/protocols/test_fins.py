"""Omron FINS decoder: annotated vectors (W227 3-2, 5-3, 8; W342 7-4), session pairing and
anomalies, golden UDP and FINS/TCP captures with chunked replays, tshark agreement on the
corpus, fuzzing."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.fins import SPEC
from otshield.protocols.fins.parser import (
    decode_command,
    decode_frame,
    decode_response,
    decode_tcp,
    frame_size,
    probe,
)
from otshield.protocols.fins.session import FinsSession
from protocols.longtail_build import (
    agreement,
    codes,
    fins_command,
    fins_response,
    fins_tcp,
    only,
    replay_view,
    split_multi,
    write_tcp,
    write_udp,
)
from resegment import one_byte, random_sizes
from support import corpus_files, corpus_params, decode

PLC = ("10.0.0.164", 9600)
HMI = ("10.0.0.173", 50000)

# -- parser vectors -------------------------------------------------------------------------------

READ_DM = (
    b"\x80"          # ICF: gateway used, command, response required
    b"\x00"          # RSV
    b"\x02"          # GCT: 2 gateways may be crossed
    b"\x00\x0a\x00"  # DNA 0 (local network), DA1 node 10, DA2 unit 0 (CPU)
    b"\x00\x14\x00"  # SNA 0, SA1 node 20, SA2 unit 0
    b"\x11"          # SID 0x11
    b"\x01\x01"      # MRC/SRC: memory area read
    b"\x82"          # memory area: DM words
    b"\x00\x64"      # word address 100
    b"\x00"          # bit 0
    b"\x00\x02"      # 2 words
)

READ_DM_RESPONSE = (
    b"\xc0\x00\x02"  # ICF response, RSV, GCT
    b"\x00\x14\x00"  # DNA/DA1/DA2: back to node 20
    b"\x00\x0a\x00"  # SNA/SA1/SA2: from node 10
    b"\x11"          # SID copied from the command
    b"\x01\x01"      # memory area read
    b"\x00\x00"      # end code: normal completion
    b"\x12\x34\x56\x78"  # two words of data
)


def test_memory_area_read_vector() -> None:
    msg = decode_frame(READ_DM)
    assert (msg.icf, msg.gateway, msg.is_response, msg.response_required) == (0x80, True, False,
                                                                               True)
    assert (msg.dna, msg.da1, msg.da2, msg.sna, msg.sa1, msg.sa2, msg.sid) == (0, 10, 0, 0, 20,
                                                                               0, 0x11)
    assert msg.code == 0x0101 and msg.end_code is None
    d = decode_command(msg.code, msg.data)
    assert (d.memory_area, d.address, d.bit, d.count) == (0x82, 100, 0, 2)
    resp = decode_frame(READ_DM_RESPONSE)
    assert resp.is_response and resp.end_code == 0 and resp.data == b"\x12\x34\x56\x78"
    decode_response(resp.code, resp.data, d)
    assert (d.data_size, d.values) == (4, [0x1234, 0x5678])


def test_memory_values() -> None:
    # bit areas carry one byte per bit, word areas two bytes per word, forced-status reads
    # pair values with force flags and are not broken down
    d = decode_command(0x0102, b"\x30\x00\x64\x03\x00\x03" + b"\x01\x00\x01")  # CIO 100.03
    assert (d.memory_area, d.bit, d.count, d.values) == (0x30, 3, 3, [1, 0, 1])
    d = decode_command(0x0103, b"\x82\x00\x0a\x00\x00\x05\xbe\xef")  # DM10..14 := 0xBEEF
    assert d.values == [0xBEEF]
    d = decode_command(0x0101, b"\xf0\x00\x00\x00\x00\x01")
    decode_response(0x0101, b"\x00\x01\x00\x01", d)
    assert d.values is None and d.data_size == 4


CONTROLLER_DATA = (
    b"CJ2M-CPU31".ljust(20, b" ")       # controller model
    + b"02.01".ljust(20, b" ")          # controller version
    + b"\0" * 40                        # for system use
)


@pytest.mark.parametrize(("code", "params", "expected"), [
    (0x0102, b"\xb1\x00\x0a\x00\x00\x01\xab\xcd",   # WR word 10, 1 word, data abcd
     {"memory_area": 0xB1, "address": 10, "count": 1, "data_size": 2}),
    (0x0103, b"\x82\x00\x00\x00\x00\x0a\x00\x00",   # DM 0, 10 words filled with 0
     {"memory_area": 0x82, "address": 0, "count": 10, "data_size": 2}),
    (0x0104, b"\x82\x00\x01\x00\xb0\x00\x02\x00",   # DM1 and CIO2
     {"areas": ["0x82:1.0", "0xb0:2.0"], "count": 2}),
    (0x0105, b"\x82\x00\x01\x00\xb2\x00\x05\x00\x00\x03",  # DM1 -> HR5, 3 words
     {"memory_area": 0x82, "dest_area": 0xB2, "dest_address": 5, "count": 3}),
    (0x0201, b"\x80\x00\x00\x00\x80\x14",           # PLC setup area, word 0, 20 words (last)
     {"parameter_area": 0x8000, "address": 0, "count": 20}),
    (0x0307, b"\xff\xff\x00\x00\x01\x00\x00\x04\x01\x02\x03\x04",  # program 0xFFFF @256, 4 B
     {"program_number": 0xFFFF, "address": 256, "count": 4, "data_size": 4}),
    (0x0304, b"\xff\xff\x00\x00\x00\x00\x00\xff\xff\xff\xff\x31\x32\x33\x34",  # password 1234
     {"program_number": 0xFFFF, "password_present": True}),
    (0x0401, b"\xff\xff\x04",                        # program 0xFFFF, run mode
     {"program_number": 0xFFFF, "cpu_mode": "run"}),
    (0x0402, b"\xff\xff", {"program_number": 0xFFFF}),
    (0x0702, b"\x24\x03\x15\x10\x30\x45\x05",       # 2024-03-15 10:30:45, Friday (BCD)
     {"clock": "2024-03-15T10:30:45"}),
    (0x0C02, b"\xff\xff", {"program_number": 0xFFFF}),
])
def test_command_parameters(code: int, params: bytes, expected: dict[str, object]) -> None:
    d = decode_command(code, params)
    for key, value in expected.items():
        assert getattr(d, key) == value, key


def test_response_details() -> None:
    d = decode_command(0x0501, b"")
    decode_response(0x0501, CONTROLLER_DATA, d)
    assert (d.controller_model, d.controller_version) == ("CJ2M-CPU31", "02.01")
    decode_response(0x0601, b"\x01\x04" + b"\0" * 24, d)  # running, run mode
    assert (d.cpu_status, d.cpu_mode) == ("run", "run")
    decode_response(0x0701, b"\x99\x12\x31\x23\x59\x58\x05", d)  # 1999-12-31 23:59:58
    assert d.clock == "1999-12-31T23:59:58"


@pytest.mark.parametrize(("frame", "code"), [
    (b"\x80\x00\x02\x00\x00", "fins.bad_length"),            # shorter than a header
    (b"\x80\x01\x02" + b"\0" * 9, "fins.bad_header"),        # RSV not zero
    (b"\x84\x00\x02" + b"\0" * 9, "fins.bad_header"),        # ICF reserved bit 2 set
    (b"\xc0\x00\x02" + b"\0" * 7 + b"\x01\x01", "fins.bad_length"),  # response, no end code
])
def test_bad_frames(frame: bytes, code: str) -> None:
    with pytest.raises(Malformed) as info:
        decode_frame(frame)
    assert info.value.code == code


def test_short_command_parameters() -> None:
    with pytest.raises(Malformed) as info:
        decode_command(0x0101, b"\x82\x00")
    assert info.value.code == "fins.bad_length"


def test_fins_tcp_header() -> None:
    unit = (b"FINS"              # magic
            b"\x00\x00\x00\x0c"  # length: 12 bytes follow
            b"\x00\x00\x00\x00"  # command 0: client node address data send
            b"\x00\x00\x00\x00"  # error code 0
            b"\x00\x00\x00\x00")  # client node 0: ask the server to assign one
    assert frame_size(unit) == 20 and frame_size(unit[:6]) is None
    hdr = decode_tcp(unit)
    assert (hdr.command, hdr.error, hdr.client_node) == (0, 0, 0)
    with pytest.raises(Malformed) as info:
        frame_size(b"FINX\x00\x00\x00\x0c")
    assert info.value.code == "fins.bad_header"
    with pytest.raises(Malformed) as info:
        frame_size(b"FINS\x00\x00\x00\x02")
    assert info.value.code == "fins.bad_length"


def test_probe() -> None:
    assert probe(READ_DM, True) and probe(READ_DM_RESPONSE, False)
    assert probe(b"FINS\x00\x00", True)
    # regression: a Kerberos-over-TCP record (4-byte length, then ASN.1) was taken for FINS
    assert not probe(bytes.fromhex("0000006a6a8167308164a103020105a20302010aa3"), True)
    # an AMS/TCP header is not a FINS frame either
    assert not probe(b"\x00\x00\x20\x00\x00\x00\x05\x0d\x75\x60\x01\x01\x10\x27", True)


# -- session --------------------------------------------------------------------------------------


def _flow(transport: str = "udp", **kw: int) -> RecordingFlow:
    return RecordingFlow(HMI, PLC, transport, settings=Settings(**kw))


def test_session_pairs_and_reports() -> None:
    flow = _flow()
    s = FinsSession(flow)
    flow.frame, flow.ts = 1, 10.0
    s.on_frame(READ_DM, True)
    flow.frame, flow.ts = 2, 10.5
    s.on_frame(READ_DM_RESPONSE, False)
    ev = flow.of("fins")
    assert len(ev) == 1
    e = ev[0]
    assert (e.command_name, e.function_class, e.answered, e.memory_area_name, e.address,
            e.count, e.end_code, e.end_code_name, e.request_frame, e.frame) == (
        "memory_area_read", "read", True, "DM word", 100, 2, 0, "normal completion", 1, 2)
    assert e.src_ip == HMI[0] and e.response_time == 0.5 and e.values == [0x1234, 0x5678]


def test_session_end_codes_and_flags() -> None:
    flow = _flow()
    s = FinsSession(flow)
    s.on_frame(fins_command(0x0402, b"\xff\xff", sid=3), True)
    # end code 0x2202 with the relay error bit (0x8000) and non-fatal CPU error bit (0x0040)
    s.on_frame(fins_response(0x0402, 0xA242, b"", sid=3), False)
    e = flow.of("fins")[0]
    assert (e.command_name, e.function_class, e.end_code, e.end_code_name, e.relay_error,
            e.nonfatal_cpu_error, e.fatal_cpu_error) == (
        "stop", "control", 0x2202, "not possible while running", True, True, False)


def test_session_anomalies() -> None:
    flow = _flow(max_pending_requests=2)
    s = FinsSession(flow)
    s.on_frame(b"\x80\x00", True)                                 # too short
    s.on_frame(fins_command(0x7777, b"", sid=1), True)            # undefined command
    s.on_frame(fins_command(0x0101, b"\x82", sid=2), True)        # parameters too short
    s.on_frame(fins_command(0x0101, READ_DM[12:], sid=4), True)   # third pending: limit 2
    s.close()
    assert codes(flow.events) == ["fins.bad_length", "fins.unknown_command", "fins.bad_length",
                                  "fins.too_many_pending", "fins.unanswered_request"]
    assert [e.answered for e in flow.of("fins")] == [False, False, False]


def test_session_one_way_and_timeout() -> None:
    flow = _flow(request_timeout=5)
    s = FinsSession(flow)
    s.on_frame(fins_command(0x0702, b"\x24\x01\x01\x00\x00", sid=1, icf=0x81), True)
    e = flow.of("fins")[0]
    assert (e.command_name, e.function_class, e.answered, e.clock) == (
        "clock_write", "config", None, "2024-01-01T00:00:00")
    flow.ts = 100.0
    s.on_frame(fins_command(0x0401, b"\xff\xff\x04", sid=2), True)
    flow.ts = 200.0
    s.on_frame(fins_command(0x0501, b"", sid=3), True)
    assert codes(flow.events) == ["fins.unanswered_request"]
    assert [x.command_name for x in flow.of("fins")] == ["clock_write", "run"]


def test_session_tcp_units() -> None:
    flow = _flow("tcp")
    s = FinsSession(flow)
    s.on_frame(fins_tcp(0, b"\0\0\0\0"), True)
    s.on_frame(fins_tcp(1, b"\0\0\0\x21\0\0\0\x0a"), False)
    s.on_frame(fins_tcp(2, READ_DM, error=1), True)
    s.on_frame(fins_tcp(9, b""), True)
    s.on_frame(b"FINS\x00\x00\x00\x08\x00\x00\x00\x02", True)  # length says 8, unit short
    e = flow.of("fins")[0]
    assert (e.tcp_command, e.client_node, e.server_node, e.answered) == (
        "server_node_address_send", 0x21, 0x0A, True)
    assert codes(flow.events) == ["fins.tcp_error", "fins.unknown_command", "fins.bad_length"]


# -- golden captures and chunked replay -----------------------------------------------------------

UDP_EXCHANGE = [
    (True, READ_DM), (False, READ_DM_RESPONSE),
    (True, fins_command(0x0501, b"", sid=0x12)),
    (False, fins_response(0x0501, 0x0000, CONTROLLER_DATA, sid=0x12)),
    (True, fins_command(0x0402, b"\xff\xff", sid=0x13)),
    (False, fins_response(0x0402, 0x0000, b"", sid=0x13)),
    (True, fins_command(0x0C02, b"\xff\xff", sid=0x14)),
    (False, fins_response(0x0C02, 0x3001, b"", sid=0x14)),
]

EXPECTED = [
    ("memory_area_read", "read", 0x82, 100, 2, 0, None, None),
    ("controller_data_read", "identify", None, None, None, 0, "CJ2M-CPU31", "02.01"),
    ("stop", "control", None, None, None, 0, None, None),
    ("access_right_forced_acquire", "security", None, None, None, 0x3001, None, None),
]


def _summary(events: list[Any]) -> list[tuple[object, ...]]:
    return [(e.command_name, e.function_class, e.memory_area, e.address, e.count,
             e.end_code, e.controller_model, e.controller_version)
            for e in only(events, "fins")]


def test_golden_udp(tmp_path: Path) -> None:
    path = write_udp(tmp_path / "fins.pcap",
                     [(HMI, PLC, p) if c else (PLC, HMI, p) for c, p in UDP_EXCHANGE])
    events = decode(path)
    assert _summary(events) == EXPECTED
    assert codes(events) == []
    assert all(e.transport == "udp" and e.src_ip == HMI[0] for e in only(events, "fins"))


def _tcp_messages() -> list[tuple[bool, bytes]]:
    msgs = [(True, fins_tcp(0, b"\0\0\0\0")), (False, fins_tcp(1, b"\0\0\0\x14\0\0\0\x0a"))]
    return msgs + [(c, fins_tcp(2, p)) for c, p in UDP_EXCHANGE]


def test_golden_tcp_and_chunked(tmp_path: Path) -> None:
    whole = decode(write_tcp(tmp_path / "t.pcap", _tcp_messages(), HMI, PLC))
    fins = only(whole, "fins")
    assert fins[0].tcp_command == "server_node_address_send" and fins[0].client_node == 0x14
    assert _summary(fins[1:]) == EXPECTED
    assert codes(whole) == []
    for name, split in (("one", one_byte), ("random", random_sizes(7))):
        replay = decode(write_tcp(tmp_path / f"{name}.pcap", _tcp_messages(), HMI, PLC, split))
        assert replay_view(replay) == replay_view(whole), name


# -- corpus: tshark agreement and robustness ------------------------------------------------------

CAPTURES = corpus_files(protocol="Omron FINS")


def _ours(events: list[Any]) -> tuple[dict[int, list[tuple[object, ...]]],
                                         dict[int, list[tuple[object, ...]]]]:
    req: dict[int, list[tuple[object, ...]]] = {}
    resp: dict[int, list[tuple[object, ...]]] = {}
    for e in only(events, "fins"):
        if e.command_code is None:
            continue
        rf = e.request_frame if e.request_frame is not None else (
            None if e.request_missing else e.frame)
        if rf is not None:
            req.setdefault(rf, []).append((e.command_code, e.sid, e.memory_area, e.address,
                                           e.count))
        if e.answered:
            resp.setdefault(e.frame, []).append((e.command_code, e.sid, e.end_code,
                                                 e.controller_model))
    return req, resp


def _i(v: str) -> int | None:
    return int(v, 0) if v else None


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_tshark_agreement(capture: Any) -> None:
    events = decode(capture.path)
    req, resp = _ours(events)

    def requests(row: list[str]) -> list[tuple[object, ...]]:
        icf, cmd, sid, area, addr, count = row
        if not cmd or int(icf, 0) & 0x40:
            return []
        areas = split_multi(area)
        # multiple memory area read / transfer: we report the first item (or the source)
        first_count = _i(split_multi(count)[0]) if count else None
        if int(cmd, 0) == 0x0104:
            first_count = len(areas)
        return [(int(cmd, 0), int(sid, 0), _i(areas[0]) if areas else None,
                 _i(split_multi(addr)[0]) if addr else None, first_count)]

    def responses(row: list[str]) -> list[tuple[object, ...]]:
        icf, cmd, sid, code, model = row
        if not cmd or not int(icf, 0) & 0x40 or not code:
            return []
        return [(int(cmd, 0), int(sid, 0), int(code, 0) & 0x7F3F, model or None)]

    g1, t1, m1 = agreement(capture, ["omron.icf", "omron.command", "omron.sid",
                                     "omron.memory.area.read", "omron.memory.address",
                                     "omron.memory.numitems"],
                           "omron", req, requests)
    g2, t2, m2 = agreement(capture, ["omron.icf", "omron.command", "omron.sid",
                                     "omron.response.code", "omron.controller.model"],
                           "omron", resp, responses)
    print(f"{capture.path.name}: FINS commands {g1}/{t1}, responses {g2}/{t2}")
    assert t1 > 0
    assert (g1, g2) == (t1, t2), m1 + m2


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_corpus_decodes(capture: Any) -> None:
    events = decode(capture.path)
    assert only(events, "fins")
    for code in codes(events):
        assert code.startswith("internal.") is False
        if code.startswith("fins."):
            assert code in SPEC.anomaly_codes


# -- fuzzing --------------------------------------------------------------------------------------

VALID = [READ_DM, READ_DM_RESPONSE] + [p for _c, p in UDP_EXCHANGE]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_fuzz_random(data: bytes) -> None:
    for fn in (decode_frame, decode_tcp, frame_size):
        with contextlib.suppress(Malformed):
            fn(data)
    for code in (0x0101, 0x0104, 0x0105, 0x0201, 0x0304, 0x0307, 0x0401, 0x0702):
        try:
            d = decode_command(code, data)
            decode_response(code, data, d)
        except Malformed:
            pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 40), st.integers(0, 255), st.booleans())
def test_fuzz_mutated_session(frame: bytes, pos: int, value: int, tcp: bool) -> None:
    data = bytearray(frame)
    if pos < len(data):
        data[pos] = value
    else:
        data = data[:pos % max(1, len(data))]
    flow = _flow("tcp" if tcp else "udp")
    s = FinsSession(flow)
    s.on_frame(fins_tcp(2, bytes(data)) if tcp else bytes(data), True)
    s.on_frame(bytes(data), False)
    s.on_gap(True, 10)
    s.close()
    for e in flow.events:
        if hasattr(e, "code"):
            assert e.code in SPEC.anomaly_codes
