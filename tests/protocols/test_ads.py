"""Beckhoff ADS/AMS decoder: annotated vectors (TE1000 2.1-2.3, AMS/UDP discovery), session
pairing and anomalies, golden AMS/TCP capture with chunked replays, golden discovery and
add-route exchange, tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.ads import SPEC
from otshield.protocols.ads.parser import (
    decode_ams,
    decode_discovery,
    decode_request,
    decode_response,
    frame_size,
    probe,
)
from otshield.protocols.ads.session import AdsSession
from protocols.longtail_build import (
    agreement,
    ams,
    ams_udp,
    codes,
    only,
    replay_view,
    write_tcp,
    write_udp,
)
from resegment import one_byte, random_sizes
from support import corpus_files, corpus_params, decode

PLC = ("192.168.1.8", 48898)
ENG = ("192.168.1.99", 49561)
PLC_NET, ENG_NET = "5.13.117.96.1.1", "192.168.1.99.1.1"
REQ, RESP = 0x0004, 0x0005  # state flags: ADS command (+ response)


def req(cmd: int, invoke: int, data: bytes, port: int = 851) -> bytes:
    return ams(PLC_NET, port, ENG_NET, 33000, cmd, REQ, invoke, data)


def resp(cmd: int, invoke: int, data: bytes, port: int = 851, error: int = 0) -> bytes:
    return ams(ENG_NET, 33000, PLC_NET, port, cmd, RESP, invoke, data, error)


# -- parser vectors -------------------------------------------------------------------------------

READ_STATE = (
    b"\x00\x00"                  # AMS/TCP: reserved (AMS command)
    b"\x20\x00\x00\x00"          # length 32: the AMS header alone
    b"\x05\x0d\x75\x60\x01\x01"  # target AMS Net ID 5.13.117.96.1.1
    b"\x10\x27"                  # target port 10000 (system service)
    b"\xc0\xa8\x01\x63\x01\x01"  # source AMS Net ID 192.168.1.99.1.1
    b"\x03\x80"                  # source port 32771
    b"\x04\x00"                  # command 4: Read State
    b"\x04\x00"                  # state flags: ADS command, request
    b"\x00\x00\x00\x00"          # data length 0
    b"\x00\x00\x00\x00"          # error code 0
    b"\x2a\x00\x00\x00"          # invoke id 42
)


def test_ams_header_vector() -> None:
    assert frame_size(READ_STATE) == 38 and frame_size(READ_STATE[:5]) is None
    hdr = decode_ams(READ_STATE[6:])
    assert (hdr.target, hdr.target_port, hdr.source, hdr.source_port) == (
        PLC_NET, 10000, ENG_NET, 32771)
    assert (hdr.command, hdr.flags, hdr.is_response, hdr.error, hdr.invoke, hdr.data) == (
        4, 4, False, 0, 42, b"")


@pytest.mark.parametrize(("cmd", "data", "expected"), [
    (2, struct.pack("<III", 0x4020, 16, 4),                       # %MB16, 4 bytes
     {"index_group": 0x4020, "index_offset": 16, "length": 4}),
    (3, struct.pack("<III", 0xF005, 0x1234, 2) + b"\x01\x00",     # write by handle 0x1234
     {"index_group": 0xF005, "index_offset": 0x1234, "length": 2}),
    (5, struct.pack("<HHI", 6, 0, 0),                              # ADS state STOP
     {"ads_state": 6, "device_state": 0, "length": 0}),
    (6, struct.pack("<IIIIII", 0x4020, 0, 2, 4, 0, 100_000) + b"\0" * 16,
     {"index_group": 0x4020, "length": 2, "transmission_mode": 4, "cycle_time": 100_000}),
    (7, struct.pack("<I", 7), {"handle": 7}),
    (9, struct.pack("<IIII", 0xF003, 0, 4, 11) + b"MAIN.bStart",  # handle by name
     {"index_group": 0xF003, "read_length": 4, "write_length": 11, "symbol": "MAIN.bStart"}),
    (8, struct.pack("<II", 32, 1)                                  # length 32, 1 stamp
     + struct.pack("<QI", 132_000_000_000_000_000, 2)              # timestamp, 2 samples
     + struct.pack("<II", 1, 2) + b"\x01\x00"                      # handle 1, 2 bytes
     + struct.pack("<II", 2, 1) + b"\x05",                         # handle 2, 1 byte
     {"notification_stamps": 1, "notification_samples": 2}),
])
def test_request_data(cmd: int, data: bytes, expected: dict[str, object]) -> None:
    d = decode_request(cmd, data)
    for key, value in expected.items():
        assert getattr(d, key) == value, key


def test_response_data() -> None:
    d = decode_request(1, b"")
    decode_response(1, struct.pack("<IBBH", 0, 3, 1, 4024) + b"Plc30 App".ljust(16, b"\0"), d)
    assert (d.result, d.version, d.device_name) == (0, "3.1.4024", "Plc30 App")
    d = decode_request(4, b"")
    decode_response(4, struct.pack("<IHH", 0, 5, 0), d)
    assert (d.ads_state, d.device_state) == (5, 0)
    d = decode_request(9, struct.pack("<IIII", 0xF003, 0, 4, 4) + b"X.y\0")
    decode_response(9, struct.pack("<II", 0, 4) + struct.pack("<I", 0x33), d)
    assert (d.handle, d.response_length, d.symbol) == (0x33, 4, "X.y")
    d = decode_request(2, struct.pack("<III", 0x4020, 0, 4))
    decode_response(2, struct.pack("<I", 0x710), d)  # error result, no data
    assert d.result == 0x710


def test_discovery_vectors() -> None:
    search = ams_udp(1, ENG_NET, 10000, [])
    msg = decode_discovery(search)
    assert (msg.service, msg.is_response, msg.net_id, msg.port, msg.tags) == (
        1, False, ENG_NET, 10000, [])
    reply = ams_udp(0x80000001, PLC_NET, 10000, [(5, b"CX_0D7560\0"),
                                                 (3, b"\x03\x01\xb8\x0f")])
    msg = decode_discovery(reply)
    assert (msg.service, msg.is_response, msg.tags) == (
        1, True, [(5, b"CX_0D7560\0"), (3, b"\x03\x01\xb8\x0f")])
    with pytest.raises(Malformed) as info:
        decode_discovery(reply[:-2])
    assert info.value.code == "ads.bad_length"


@pytest.mark.parametrize(("fn", "data", "code"), [
    (frame_size, b"\x07\x00\x20\x00\x00\x00", "ads.bad_header"),      # undefined AMS/TCP cmd
    (frame_size, b"\x00\x00\xff\xff\xff\xff", "ads.bad_length"),      # absurd length
    (decode_ams, READ_STATE[6:-1], "ads.bad_length"),                  # header truncated
    (decode_ams, READ_STATE[6:] + b"\x00", "ads.bad_length"),          # data length says 0
])
def test_bad_units(fn: Any, data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as info:
        fn(data)
    assert info.value.code == code


def test_bad_request_lengths() -> None:
    with pytest.raises(Malformed):
        decode_request(3, struct.pack("<III", 0x4020, 0, 4) + b"\x01")  # 4 announced, 1 sent
    with pytest.raises(Malformed):
        decode_request(8, struct.pack("<II", 8, 1) + b"\0" * 11)  # stamp header truncated


def test_probe() -> None:
    assert probe(READ_STATE, True) and probe(READ_STATE[6:], True)  # AMS/TCP and AMS/UDP
    assert probe(ams_udp(1, ENG_NET, 10000, []), True)
    # regression: a Teredo datagram (UDP 3544) starting with two zero bytes was taken for ADS
    assert not probe(bytes.fromhex("00000000000000000000000000000000000000000000000000000000"
                                   "0000000000000000000000000000"), True)
    bad = READ_STATE[:26] + b"\x01\x00\x00\x00" + READ_STATE[30:]  # AMS data length 1, 0 sent
    assert not probe(bad, True) and not probe(bad[6:], True)


# -- session --------------------------------------------------------------------------------------


def _flow(transport: str = "tcp", **kw: Any) -> RecordingFlow:
    return RecordingFlow(ENG, PLC, transport, settings=Settings(**kw))


def test_session_write_control_pairs() -> None:
    flow = _flow()
    s = AdsSession(flow)
    flow.frame, flow.ts = 5, 1.0
    s.on_frame(req(5, 9, struct.pack("<HHI", 6, 0, 0)), True)
    flow.frame, flow.ts = 6, 1.25
    s.on_frame(resp(5, 9, struct.pack("<I", 0)), False)
    e = flow.of("ads")[0]
    assert (e.command_name, e.function_class, e.ads_state, e.ads_state_name, e.answered,
            e.result, e.request_frame, e.frame, e.response_time, e.target_port_name) == (
        "write_control", "control", 6, "stop", True, 0, 5, 6, 0.25, "PLC runtime 1")


def test_session_errors_and_anomalies() -> None:
    flow = _flow(max_pending_requests=1)
    s = AdsSession(flow)
    s.on_frame(req(1, 1, b""), True)
    s.on_frame(resp(1, 1, b"", error=6), False)            # AMS error: target port not found
    s.on_frame(req(12, 2, b""), True)                      # command 12 does not exist
    s.on_frame(b"\0\0\x21\0\0\0" + b"\0" * 33, True)       # AMS data length disagrees
    s.on_frame(req(2, 3, struct.pack("<III", 0x4020, 0, 2)), True)
    s.on_frame(req(2, 4, struct.pack("<III", 0x4020, 2, 2)), True)  # over the limit of 1
    s.on_frame(resp(2, 77, struct.pack("<II", 0, 0)), False)        # request never seen
    s.close()
    ev = flow.of("ads")
    assert (ev[0].ams_error, ev[0].error_name) == (6, "target port not found")
    assert codes(flow.events) == ["ads.unknown_command", "ads.bad_length",
                                  "ads.too_many_pending", "ads.unanswered_request"]
    assert [(e.invoke_id, e.answered, e.request_missing) for e in ev[1:]] == [
        (3, False, False), (77, True, True), (4, False, False)]


def test_session_discovery_anomalies() -> None:
    flow = _flow("udp")
    s = AdsSession(flow)
    s.on_frame(ams_udp(0x63, ENG_NET, 10000, []), True)         # service 0x63 is not defined
    s.on_frame(ams_udp(1, ENG_NET, 10000, [(5, b"x")])[:-1], True)  # tag truncated
    s.close()
    assert codes(flow.events) == ["ads.unknown_command", "ads.bad_length"]
    (e,) = flow.of("ads_discovery")
    assert (e.service, e.service_name, e.answered) == (0x63, "service_99", False)


def test_session_notifications_are_counted() -> None:
    flow = _flow()
    s = AdsSession(flow)
    note = ams(ENG_NET, 33000, PLC_NET, 851, 8, REQ, 5,
               struct.pack("<II", 21, 1) + struct.pack("<QI", 1, 1)
               + struct.pack("<II", 1, 1) + b"\x01")
    for i in range(3):
        flow.frame, flow.ts = 10 + i, 50.0 + i
        s.on_frame(note, False)
    assert flow.of("ads") == []
    s.close()
    (e,) = flow.of("ads")
    assert (e.command_name, e.answered, e.notifications, e.notification_samples, e.start,
            e.request_frame, e.src_ip, e.source_net_id) == (
        "device_notification", None, 3, 3, 50.0, 10, PLC[0], PLC_NET)


# -- golden captures ------------------------------------------------------------------------------

TCP_EXCHANGE = [
    (True, req(1, 1, b"")),
    (False, resp(1, 1, struct.pack("<IBBH", 0, 3, 1, 4024) + b"Plc30 App".ljust(16, b"\0"))),
    (True, req(9, 2, struct.pack("<IIII", 0xF003, 0, 4, 12) + b"MAIN.bStart\0")),
    (False, resp(9, 2, struct.pack("<III", 0, 4, 0x80000001))),
    (True, req(3, 3, struct.pack("<III", 0xF005, 0x80000001, 1) + b"\x01")),
    (False, resp(3, 3, struct.pack("<I", 0))),
    (True, req(3, 6, struct.pack("<III", 0xF006, 0, 4) + struct.pack("<I", 0x80000001))),
    (False, resp(3, 6, struct.pack("<I", 0))),
    (True, req(9, 7, struct.pack("<IIII", 0xF080, 3, 24, 36) + b"\0" * 36)),  # 3 sum reads
    (False, resp(9, 7, struct.pack("<II", 0, 24) + b"\0" * 24)),
    (True, req(5, 4, struct.pack("<HHI", 6, 0, 0), port=10000)),
    (False, resp(5, 4, struct.pack("<I", 0), port=10000)),
    (True, req(4, 5, b"", port=10000)),
    (False, resp(4, 5, struct.pack("<IHH", 0, 6, 0), port=10000)),
]

EXPECTED = [
    ("read_device_info", "identify", None, None, "3.1.4024", "Plc30 App", None, None),
    ("read_write", "read", 0xF003, "MAIN.bStart", None, None, 0x80000001, None),
    ("write", "write", 0xF005, "MAIN.bStart", None, None, None, None),
    ("write", "other", 0xF006, "MAIN.bStart", None, None, 0x80000001, None),
    ("read_write", "read", 0xF080, None, None, None, None, None),
    ("write_control", "control", None, None, None, None, None, "stop"),
    ("read_state", "diagnostics", None, None, None, None, None, "stop"),
]


def _summary(events: list[Any]) -> list[tuple[object, ...]]:
    return [(e.command_name, e.function_class, e.index_group, e.symbol, e.version,
             e.device_name, e.handle, e.ads_state_name) for e in only(events, "ads")]


def test_golden_tcp_and_chunked(tmp_path: Path) -> None:
    whole = decode(write_tcp(tmp_path / "ads.pcap", TCP_EXCHANGE, ENG, PLC))
    assert _summary(whole) == EXPECTED
    assert only(whole, "ads")[4].sub_requests == 3
    assert codes(whole) == []
    for name, split in (("one", one_byte), ("random", random_sizes(3))):
        replay = decode(write_tcp(tmp_path / f"{name}.pcap", TCP_EXCHANGE, ENG, PLC, split))
        assert replay_view(replay) == replay_view(whole), name


def test_golden_discovery_and_add_route(tmp_path: Path) -> None:
    eng, plc = ("192.168.1.99", 48899), ("192.168.1.8", 48899)
    os_info = struct.pack("<IIIII", 276, 7, 0, 1, 3) + b"\0" * 256  # Windows CE 7.0 build 1
    datagrams = [
        (eng, plc, ams_udp(1, ENG_NET, 10000, [])),
        (plc, eng, ams_udp(0x80000001, PLC_NET, 10000, [
            (5, b"CX-1234\0"), (4, os_info), (3, b"\x03\x01\xb8\x0f")])),
        (eng, plc, ams_udp(6, ENG_NET, 10000, [
            (12, b"ENG-PC\0"), (7, bytes([192, 168, 1, 99, 1, 1])), (13, b"Administrator\0"),
            (2, b"1\0"), (5, b"192.168.1.99\0")], invoke=1)),
        (plc, eng, ams_udp(0x80000006, PLC_NET, 10000, [(1, b"\0\0\0\0")], invoke=1)),
    ]
    events = decode(write_udp(tmp_path / "disc.pcap", datagrams))
    disc = [msgspec.structs.asdict(e) for e in only(events, "ads_discovery")]
    assert [(d["service_name"], d["function_class"], d["answered"]) for d in disc] == [
        ("discovery", "identify", True), ("add_route", "security", True)]
    assert (disc[0]["host_name"], disc[0]["twincat_version"], disc[0]["os_version"],
            disc[0]["responder_net_id"], disc[0]["net_id"]) == (
        "CX-1234", "3.1.4024", "Windows CE 7.0.1", PLC_NET, ENG_NET)
    assert (disc[1]["route_name"], disc[1]["route_net_id"], disc[1]["user_name"],
            disc[1]["password_present"], disc[1]["host_name"], disc[1]["status"]) == (
        "ENG-PC", ENG_NET, "Administrator", True, "192.168.1.99", 0)
    assert b'"1"' not in msgspec.json.encode(only(events, "ads_discovery"))  # no password
    assert codes(events) == []


# -- corpus ---------------------------------------------------------------------------------------

CAPTURES = corpus_files(protocol="Beckhoff ADS")


def _i(v: str) -> int | None:
    return int(v, 0) if v else None


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_tshark_agreement(capture: Any) -> None:
    events = decode(capture.path)
    reqs: dict[int, list[tuple[Any, ...]]] = {}
    resps: dict[int, list[tuple[Any, ...]]] = {}
    notes: dict[tuple[str, int, str, int], int] = {}
    for e in only(events, "ads"):
        if e.notifications is not None:
            key = (e.source_net_id, e.source_port, e.target_net_id, e.target_port)
            notes[key] = notes.get(key, 0) + e.notifications
            continue
        rf = e.request_frame if e.request_frame is not None else (
            None if e.request_missing else e.frame)
        if rf is not None:
            reqs.setdefault(rf, []).append((
                e.command, e.target_net_id, e.target_port, e.source_net_id, e.source_port,
                e.invoke_id, e.index_group, e.index_offset))
        if e.answered:
            resps.setdefault(e.frame, []).append((
                e.command, e.invoke_id, e.ams_error, e.result,
                e.ads_state if e.command == 4 else None, e.device_name))

    tshark_notes: dict[tuple[str, int, str, int], int] = {}

    def requests(row: list[str]) -> list[tuple[Any, ...]]:
        cmd, flags, tnet, tport, snet, sport, invoke, group, offset = row
        if not cmd or int(flags, 0) & 1:
            return []
        if cmd == "8":  # device notifications: counted below
            tshark_notes[(snet, int(sport), tnet, int(tport))] = tshark_notes.get(
                (snet, int(sport), tnet, int(tport)), 0) + 1
            return []
        return [(int(cmd), tnet, int(tport), snet, int(sport), int(invoke, 0), _i(group),
                 _i(offset))]

    def responses(row: list[str]) -> list[tuple[Any, ...]]:
        cmd, flags, invoke, error, result, state, name = row
        if not cmd or not int(flags, 0) & 1:
            return []
        return [(int(cmd), int(invoke, 0), int(error, 0), _i(result),
                 _i(state) if int(cmd) == 4 else None, name or None)]

    g1, t1, m1 = agreement(capture, [
        "ams.cmdid", "ams.stateflags", "ams.targetnetid", "ams.targetport", "ams.sendernetid",
        "ams.senderport", "ams.invokeid", "ams.ads_indexgroup", "ams.ads_indexoffset"],
        "ams", reqs, requests)
    g2, t2, m2 = agreement(capture, [
        "ams.cmdid", "ams.stateflags", "ams.invokeid", "ams.errorcode", "ams.adsresult",
        "ams.ads_state", "ams.ads_devicename"], "ams", resps, responses)
    print(f"{capture.path.name}: ADS requests {g1}/{t1}, responses {g2}/{t2}, device "
          f"notifications tshark {sum(tshark_notes.values())} ours {sum(notes.values())}")
    assert t1 > 0
    assert (g1, g2) == (t1, t2), m1 + m2
    assert notes == tshark_notes


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_corpus_decodes(capture: Any) -> None:
    events = decode(capture.path)
    assert only(events, "ads") and only(events, "ads_discovery")
    for code in codes(events):
        assert not code.startswith("internal.")
        if code.startswith("ads."):
            assert code in SPEC.anomaly_codes


ADD_ROUTE = corpus_files(protocol="Beckhoff ADS", label="suspicious")


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(ADD_ROUTE))
def test_corpus_add_route(capture: Any) -> None:
    """addroute.pcapng frame 187 (read from its bytes): an AMS/UDP add-route request with
    route name SHENHUAJ6-PC, user Administrator and password "1"; frame 188 answers status 0."""
    events = decode(capture.path)
    (route,) = [e for e in only(events, "ads_discovery") if e.service_name == "add_route"]
    assert (route.route_name, route.user_name, route.password_present, route.status,
            route.function_class, route.request_frame, route.frame) == (
        "SHENHUAJ6-PC", "Administrator", True, 0, "security", 187, 188)
    assert b'"1"' not in msgspec.json.encode(route)


# -- fuzzing --------------------------------------------------------------------------------------

VALID = [p for _c, p in TCP_EXCHANGE] + [ams_udp(6, ENG_NET, 10000, [(2, b"x\0")])]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80))
def test_fuzz_random(data: bytes) -> None:
    for fn in (frame_size, decode_ams, decode_discovery):
        with contextlib.suppress(Malformed):
            fn(data)
    for cmd in range(10):
        with contextlib.suppress(Malformed):
            d = decode_request(cmd, data)
            decode_response(cmd, data, d)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 60), st.integers(0, 255), st.booleans())
def test_fuzz_mutated_session(unit: bytes, pos: int, value: int, tcp: bool) -> None:
    data = bytearray(unit)
    if pos < len(data):
        data[pos] = value
    else:
        data = data[:pos % max(1, len(data))]
    flow = _flow("tcp" if tcp else "udp")
    s = AdsSession(flow)
    raw = bytes(data)
    if tcp and raw[:4] != b"\x03\x66\x14\x71" and len(raw) >= 2:
        s.on_frame(raw, True)
        s.on_frame(raw, False)
    elif not tcp:
        s.on_frame(raw[6:] if raw[:2] == b"\0\0" else raw, True)
    s.on_gap(True, 10)
    s.close()
    for e in flow.events:
        if hasattr(e, "code"):
            assert e.code in SPEC.anomaly_codes
