"""Unit tests of the pure DNP3 layers: CRC, link framing, transport reassembly, application
fragments and the object library. Byte vectors are annotated field by field (IEEE 1815-2012)."""

from __future__ import annotations

import struct

import pytest

from otshield.errors import Malformed
from otshield.protocols.dnp3.constants import (
    FUNCTIONS,
    MAX_OBJECTS_PER_EVENT,
    MAX_POINTS_PER_EVENT,
    iin_names,
)
from otshield.protocols.dnp3.crc import crc16
from otshield.protocols.dnp3.link import frame_size, parse_link, probe, scan
from otshield.protocols.dnp3.parser import Fragment, parse_fragment
from otshield.protocols.dnp3.transport import Reassembler
from protocols.dnp3_build import crc_bitwise, dnp3_time, header, link_frame


def hx(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def only(f: Fragment) -> Fragment:
    assert f.problems == (), f.problems
    return f


T_2023 = 1_700_000_000_123  # ms since 1970 for time fields


# -- CRC ------------------------------------------------------------------------------------------
def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0xEA82  # the catalogued check value of CRC-16/DNP
    assert crc_bitwise(b"123456789") == 0xEA82


def test_crc_of_a_real_header() -> None:
    # From iti/dnp3/functions/file_read.pcap frame 1 (tshark: "checksum 0xc0f2 [correct]").
    assert crc16(hx("0564 36 c4 0400 0300")) == 0xC0F2


@pytest.mark.parametrize("n", [0, 1, 2, 7, 15, 16, 17, 31, 33, 250])
def test_crc_matches_bitwise_reference(n: int) -> None:
    data = bytes((i * 37 + 11) & 0xFF for i in range(n))
    assert crc16(data) == crc_bitwise(data)
    assert crc16(b"xx" + data + b"yy", 2, 2 + n) == crc_bitwise(data)


# -- link layer -----------------------------------------------------------------------------------
REQUEST_LINK_STATUS = hx(
    "0564"  # start octets
    "05"    # LENGTH 5: control + addresses, no user data
    "c9"    # control: DIR=1 PRM=1 FCB=0 FCV=0, function 9 REQUEST_LINK_STATUS
    "0a00"  # destination 10
    "0100"  # source 1
) + struct.pack("<H", crc_bitwise(hx("0564 05 c9 0a00 0100")))


def test_frame_size_of_header_only_frame() -> None:
    assert frame_size(REQUEST_LINK_STATUS) == 10
    assert frame_size(REQUEST_LINK_STATUS + b"\x05\x64") == 10  # the next frame is not read


@pytest.mark.parametrize(("user_octets", "size"), [
    (1, 13), (15, 27), (16, 28), (17, 31), (32, 46), (250, 292)])
def test_frame_size_counts_block_crcs(user_octets: int, size: int) -> None:
    frame = link_frame(0xC4, 10, 1, bytes(user_octets))
    assert len(frame) == size
    assert frame_size(frame[:10]) == size


def test_frame_size_needs_a_whole_header() -> None:
    assert frame_size(b"") is None
    assert frame_size(b"\x05") is None
    assert frame_size(REQUEST_LINK_STATUS[:9]) is None


@pytest.mark.parametrize(("data", "junk", "code"), [
    (b"\x06" + REQUEST_LINK_STATUS, 1, "dnp3.bad_start"),           # not the first start octet
    (b"\x05\x65\x00" + REQUEST_LINK_STATUS, 3, "dnp3.bad_start"),  # not the second one
    (b"\x64\x05" + REQUEST_LINK_STATUS, 2, "dnp3.bad_start"),        # junk up to a candidate
    (b"abc", 3, "dnp3.bad_start"),                                   # no candidate at all
    (b"ab\x05", 2, "dnp3.bad_start"),                                # a trailing 0x05 is kept
    (hx("0564 04 c9 0a00 0100 0000") + REQUEST_LINK_STATUS, 10, "dnp3.invalid_length"),
    (REQUEST_LINK_STATUS[:8] + b"\x00\x00" + REQUEST_LINK_STATUS, 10, "dnp3.bad_crc"),
])
def test_junk_is_a_unit_up_to_the_next_frame_start(data: bytes, junk: int, code: str) -> None:
    unit = scan(data)
    assert unit.size == junk and unit.problem is not None and unit.problem[0] == code
    assert frame_size(data) == junk
    if data.endswith(REQUEST_LINK_STATUS) and len(data) - junk == 10:
        assert scan(data, junk) == (10, None)


def test_scan_waits_for_a_whole_header() -> None:
    assert scan(b"\x05") == (None, None)
    assert scan(b"\x05\x64\x05") == (None, None)
    assert scan(REQUEST_LINK_STATUS, 10) == (None, None)


def test_parse_link_header_fields() -> None:
    link = parse_link(REQUEST_LINK_STATUS)
    assert (link.control, link.destination, link.source, link.data) == (0xC9, 10, 1, b"")
    assert link.function == 9 and link.from_master and link.primary


def test_parse_link_strips_block_crcs() -> None:
    user = bytes(range(40))  # blocks of 16, 16, 8
    frame = link_frame(0x44, 1, 10, user)
    assert len(frame) == 10 + 40 + 6
    link = parse_link(frame)
    assert link.data == user
    assert not link.from_master and link.primary and link.function == 4


@pytest.mark.parametrize("block", [0, 1, 2])
def test_parse_link_bad_block_crc(block: int) -> None:
    with pytest.raises(Malformed) as exc:
        parse_link(link_frame(0x44, 1, 10, bytes(range(40)), corrupt_block=block))
    assert exc.value.code == "dnp3.bad_crc"
    assert f"block {block}" in exc.value.detail


def test_parse_link_bad_header_crc_and_truncation() -> None:
    with pytest.raises(Malformed) as exc:
        parse_link(link_frame(0x44, 1, 10, b"\xc0", corrupt_header=True))
    assert exc.value.code == "dnp3.bad_crc"
    with pytest.raises(Malformed) as exc:
        parse_link(link_frame(0x44, 1, 10, bytes(20))[:-3])
    assert exc.value.code == "dnp3.invalid_length"
    with pytest.raises(Malformed) as exc:
        parse_link(b"\x05\x64\x05")
    assert exc.value.code == "dnp3.invalid_length"


def test_probe() -> None:
    assert probe(REQUEST_LINK_STATUS, True)
    assert not probe(REQUEST_LINK_STATUS[:9], True)
    assert not probe(b"GET / HTTP/1.1\r\n", True)
    assert not probe(REQUEST_LINK_STATUS[:8] + b"\x00\x00", True)


# -- transport ------------------------------------------------------------------------------------
K = (True, 1, 10)


def test_single_segment_fragment() -> None:
    r = Reassembler()
    assert r.push(K, hx("c5 c001")) == (hx("c001"), 1, ())  # FIN FIR SEQ 5
    assert len(r) == 0


def test_multi_segment_fragment_wraps_sequence() -> None:
    r = Reassembler()
    assert r.push(K, hx("7f aa")) == (None, 0, ())      # FIR, SEQ 63
    assert r.push(K, hx("00 bb")) == (None, 0, ())      # SEQ 0 (63 + 1 modulo 64)
    assert r.push(K, hx("81 cc")) == (hx("aabbcc"), 3, ())  # FIN, SEQ 1
    assert len(r) == 0


def test_directions_and_addresses_reassemble_apart() -> None:
    r = Reassembler()
    r.push(K, hx("40 01"))
    r.push((False, 10, 1), hx("50 02"))
    assert r.push((False, 10, 1), hx("91 03"))[0] == hx("0203")
    assert r.push(K, hx("81 04"))[0] == hx("0104")


def test_out_of_sequence_segment_discards_fragment() -> None:
    r = Reassembler()
    r.push(K, hx("40 01"))
    fragment, _, problems = r.push(K, hx("82 02"))  # SEQ 2, expected 1
    assert fragment is None
    assert [p[0] for p in problems] == ["dnp3.transport_sequence"]
    # further segments of the dropped fragment are not reported again
    assert r.push(K, hx("83 03")) == (None, 0, ())
    assert r.push(K, hx("c4 05"))[0] == hx("05")


def test_segment_without_first() -> None:
    fragment, _, problems = Reassembler().push(K, hx("81 02"))
    assert fragment is None and problems[0][0] == "dnp3.transport_sequence"


def test_repeated_segment_is_ignored() -> None:
    r = Reassembler()
    r.push(K, hx("40 01"))
    r.push(K, hx("01 02"))
    assert r.push(K, hx("01 02")) == (None, 0, ())  # link-layer retry
    assert r.push(K, hx("82 03")) == (hx("010203"), 3, ())


def test_new_first_segment_abandons_unfinished_fragment() -> None:
    r = Reassembler()
    r.push(K, hx("40 01"))
    fragment, n, problems = r.push(K, hx("c9 aa"))
    assert (fragment, n) == (hx("aa"), 1)
    assert [p[0] for p in problems] == ["dnp3.incomplete_fragment"]


def test_fragment_too_large() -> None:
    r = Reassembler(max_fragment=20)
    r.push(K, b"\x40" + bytes(15))
    fragment, _, problems = r.push(K, b"\x01" + bytes(15))
    assert fragment is None and problems[0][0] == "dnp3.fragment_too_large"
    assert r.push(K, b"\x82" + bytes(3)) == (None, 0, ())  # rest of it silently skipped
    fragment, _, problems = r.push(K, b"\xc0" + bytes(21))
    assert fragment is None and problems[0][0] == "dnp3.fragment_too_large"


def test_reassembly_contexts_are_bounded() -> None:
    r = Reassembler(max_contexts=2)
    r.push((True, 1, 10), hx("40 01"))
    r.push((True, 2, 10), hx("40 01"))
    _, _, problems = r.push((True, 3, 10), hx("40 01"))
    assert len(r) == 2
    assert problems[0][0] == "dnp3.too_many_pending"
    assert r.drop(True) == [((True, 2, 10), 1), ((True, 3, 10), 1)]


# -- application layer: header --------------------------------------------------------------------
def test_read_class_data_request() -> None:
    f = only(parse_fragment(hx(
        "c3"      # application control: FIR FIN, SEQ 3
        "01"      # READ
        "3c02 06"  # g60v2 (class 1), qualifier 0x06: no range, all points
        "3c03 06"  # g60v3 (class 2)
        "3c04 06"  # g60v4 (class 3)
        "3c01 06"  # g60v1 (class 0)
    )))
    assert (f.control, f.function_code, f.function, f.iin) == (0xC3, 1, "READ", None)
    assert [(o.group, o.variation, o.qualifier, o.count) for o in f.objects] == [
        (60, 2, 6, 0), (60, 3, 6, 0), (60, 4, 6, 0), (60, 1, 6, 0)]
    assert f.objects[0].name == "Class Objects - class 1 data"
    assert f.object_count == 4 and not f.truncated


def test_response_header_and_iin() -> None:
    f = only(parse_fragment(hx(
        "e4"    # FIR FIN CON, SEQ 4
        "81"    # RESPONSE
        "92"    # IIN1: DEVICE_RESTART (bit 7), NEED_TIME (bit 4), CLASS_1_EVENTS (bit 1)
        "04"    # IIN2: PARAMETER_ERROR (bit 2)
    )))
    assert f.function == "RESPONSE" and f.iin == 0x9204 and f.objects == ()
    assert iin_names(f.iin) == ("CLASS_1_EVENTS", "NEED_TIME", "DEVICE_RESTART",
                                "PARAMETER_ERROR")


def test_every_iin_bit_has_a_name() -> None:
    assert iin_names(0x8000) == ("DEVICE_RESTART",)
    assert iin_names(0x0100) == ("ALL_STATIONS",)
    assert iin_names(0x0001) == ("NO_FUNC_CODE_SUPPORT",)
    assert iin_names(0x0002) == ("OBJECT_UNKNOWN",)
    assert iin_names(0x0008) == ("EVENT_BUFFER_OVERFLOW",)
    assert iin_names(0x0010) == ("ALREADY_EXECUTING",)
    assert iin_names(0x0020) == ("CONFIG_CORRUPT",)
    assert iin_names(0x2000) == ("LOCAL_CONTROL",)
    assert iin_names(0x4000) == ("DEVICE_TROUBLE",)
    assert len(iin_names(0xFFFF)) == 16


@pytest.mark.parametrize(("code", "name"), sorted(FUNCTIONS.items()))
def test_every_function_code_is_named(code: int, name: str) -> None:
    body = hx("c0") + bytes([code]) + (b"\x00\x00" if code >= 129 else b"")
    f = only(parse_fragment(body))
    assert (f.function_code, f.function) == (code, name)


def test_function_table_matches_the_brief() -> None:
    for name in ("CONFIRM", "READ", "WRITE", "SELECT", "OPERATE", "DIRECT_OPERATE",
                 "DIRECT_OPERATE_NR", "IMMED_FREEZE", "COLD_RESTART", "WARM_RESTART",
                 "INITIALIZE_DATA", "INITIALIZE_APPL", "START_APPL", "STOP_APPL", "SAVE_CONFIG",
                 "ENABLE_UNSOLICITED", "DISABLE_UNSOLICITED", "ASSIGN_CLASS", "DELAY_MEASURE",
                 "RECORD_CURRENT_TIME", "OPEN_FILE", "CLOSE_FILE", "DELETE_FILE",
                 "GET_FILE_INFO", "AUTHENTICATE_FILE", "ABORT_FILE", "ACTIVATE_CONFIG",
                 "AUTHENTICATE_REQ", "RESPONSE", "UNSOLICITED_RESPONSE", "AUTHENTICATE_RESP"):
        assert name in FUNCTIONS.values()


@pytest.mark.parametrize("code", [34, 100, 128, 132, 255])
def test_unknown_function(code: int) -> None:
    f = parse_fragment(bytes([0xC0, code, 1, 2, 3]))
    assert f.function == f"UNKNOWN_{code}" and f.objects == ()
    assert [p[0] for p in f.problems] == ["dnp3.unknown_function"]


@pytest.mark.parametrize("data", [b"", b"\xc0", b"\xc0\x81", b"\xc0\x82\x00"])
def test_fragment_too_short(data: bytes) -> None:
    with pytest.raises(Malformed) as exc:
        parse_fragment(data)
    assert exc.value.code == "dnp3.invalid_length"


# -- qualifiers ------------------------------------------------------------------------------------
def _response(*objects: bytes) -> Fragment:
    return parse_fragment(hx("c0 81 0000") + b"".join(objects))


@pytest.mark.parametrize(("qualifier", "range_field", "start", "stop", "count"), [
    (0x00, "02 04", 2, 4, 3),                    # 1-octet start/stop
    (0x01, "0201 0401", 0x102, 0x104, 3),        # 2-octet start/stop
    (0x02, "02000100 04000100", 0x10002, 0x10004, 3),  # 4-octet start/stop
    (0x07, "03", None, None, 3),                 # 1-octet count
    (0x08, "0300", None, None, 3),               # 2-octet count
    (0x09, "03000000", None, None, 3),           # 4-octet count
])
def test_range_specifiers(qualifier: int, range_field: str, start: int | None,
                          stop: int | None, count: int) -> None:
    f = only(_response(
        bytes([30, 4, qualifier]) + hx(range_field)  # g30v4: 16-bit analog input, no flag
        + struct.pack("<3h", 7, -8, 9)))
    o = f.objects[0]
    assert (o.start, o.stop, o.count) == (start, stop, count)
    first = start if start is not None else 0
    assert [(p.index, p.value) for p in o.points] == [(first, 7), (first + 1, -8),
                                                      (first + 2, 9)]


def test_virtual_address_range_is_one_object() -> None:
    f = only(_response(hx("1e04 03 09") + struct.pack("<h", 5)))  # g30v4, 1-octet address 9
    o = f.objects[0]
    assert (o.start, o.stop, o.count, o.points[0].index, o.points[0].value) == (9, 9, 1, 9, 5)


@pytest.mark.parametrize(("qualifier", "prefix"), [(0x17, "B"), (0x28, "H"), (0x39, "I")])
def test_index_prefixes(qualifier: int, prefix: str) -> None:
    body = b"".join(struct.pack("<" + prefix + "Bh", index, 0x01, index * 10)
                    for index in (5, 300 if prefix != "B" else 200))
    count = {0x17: "02", 0x28: "0200", 0x39: "02000000"}[qualifier]
    f = only(_response(bytes([30, 2, qualifier]) + hx(count) + body))  # g30v2 with flag
    points = f.objects[0].points
    second = 300 if prefix != "B" else 200
    assert [(p.index, p.value, p.flags) for p in points] == [
        (5, 50, ("ONLINE",)), (second, second * 10, ("ONLINE",))]


def test_stop_below_start_is_bad_qualifier() -> None:
    f = _response(hx("1e04 00 05 02"))
    assert [p[0] for p in f.problems] == ["dnp3.bad_qualifier"]
    assert (f.objects[0].start, f.objects[0].stop) == (5, 2) and f.truncated


@pytest.mark.parametrize("qualifier", [0x0A, 0x0C, 0x0F, 0x70, 0x7B])
def test_reserved_qualifier_codes(qualifier: int) -> None:
    f = _response(bytes([30, 1, qualifier, 1, 0]) + bytes(10))
    assert [p[0] for p in f.problems] == ["dnp3.bad_qualifier"]
    assert f.object_count == 1 and f.truncated


def test_read_request_lists_requested_indices() -> None:
    f = only(parse_fragment(hx(
        "c1 01"      # READ
        "1e00 17 03"  # g30v0 any variation, 1-octet index prefix, count 3
        "01 05 09"   # indices 1, 5, 9 (no object data in a READ)
        "0100 06"    # g1v0 all points
    )))
    assert [p.index for p in f.objects[0].points] == [1, 5, 9]
    assert f.objects[0].name == "Analog Input - any variation"
    assert (f.objects[1].group, f.objects[1].count) == (1, 0)


# -- object values -------------------------------------------------------------------------------
def test_binary_input_packed() -> None:
    f = only(_response(hx("0101 00 00 09") + bytes([0b10100101, 0b10])))  # g1v1, points 0-9
    assert [p.state for p in f.objects[0].points] == [
        True, False, True, False, False, True, False, True, False, True]


def test_binary_input_with_flags_and_events() -> None:
    f = only(_response(
        hx("0102 00 00 01") + hx("81 02"),  # g1v2: ONLINE+state, RESTART only
        hx("0202 17 01 04") + hx("81") + dnp3_time(T_2023),  # g2v2 index 4, absolute time
        hx("3301 07 01") + dnp3_time(T_2023),  # g51v1 CTO
        hx("0203 17 01 07") + hx("01") + struct.pack("<H", 250),  # g2v3 index 7, +250 ms
    ))
    static, event, cto, relative = f.objects
    assert [(p.index, p.state, p.flags) for p in static.points] == [
        (0, True, ("ONLINE",)), (1, False, ("RESTART",))]
    assert (event.points[0].index, event.points[0].state, event.points[0].time) == (
        4, True, T_2023 / 1000)
    assert cto.points[0].time == T_2023 / 1000
    p = relative.points[0]
    assert (p.index, p.state, p.rel_time_ms, p.time) == (7, False, 250, (T_2023 + 250) / 1000)


def test_binary_input_event_flags() -> None:
    f = only(_response(hx("0201 17 01 00 fe")))  # all flags but ONLINE, state on
    assert f.objects[0].points[0].flags == ("RESTART", "COMM_LOST", "REMOTE_FORCED",
                                            "LOCAL_FORCED", "CHATTER_FILTER", "RESERVED")


def test_double_bit_inputs() -> None:
    f = only(_response(
        hx("0301 00 00 03") + bytes([0b11_10_01_00]),  # g3v1 packed: 0, 1, 2, 3
        hx("0302 00 00 00") + hx("81"),               # g3v2: state 2 (ON), ONLINE
        hx("0401 17 01 02") + hx("41"),               # g4v1 event: state 1 (OFF)
    ))
    assert [(p.value, p.text) for p in f.objects[0].points] == [
        (0, "INTERMEDIATE"), (1, "DETERMINED_OFF"), (2, "DETERMINED_ON"), (3, "INDETERMINATE")]
    assert (f.objects[1].points[0].text, f.objects[1].points[0].flags) == (
        "DETERMINED_ON", ("ONLINE",))
    assert f.objects[2].points[0].text == "DETERMINED_OFF"


def test_binary_outputs() -> None:
    f = only(_response(
        hx("0a01 00 00 02") + bytes([0b101]),       # g10v1 packed
        hx("0a02 00 05 05") + hx("81"),             # g10v2 output status with flags
        hx("0b02 17 01 03") + hx("01") + dnp3_time(T_2023),  # g11v2 event with time
        hx("0d01 17 01 02") + hx("84"),             # g13v1: commanded ON, status NOT_SUPPORTED
    ))
    assert [p.state for p in f.objects[0].points] == [True, False, True]
    assert (f.objects[1].points[0].index, f.objects[1].points[0].state) == (5, True)
    assert f.objects[2].points[0].time == T_2023 / 1000
    p = f.objects[3].points[0]
    assert (p.state, p.status) == (True, "NOT_SUPPORTED")


def test_crob() -> None:
    f = only(parse_fragment(hx(
        "c2 03"        # SELECT
        "0c01 28 0100"  # g12v1 CROB, 2-octet index prefix, count 1
        "0300"          # index 3
        "41"            # control code: trip-close code 01 CLOSE, op type 1 PULSE_ON
        "02"            # count 2
        "e8030000"      # on-time 1000 ms
        "f4010000"      # off-time 500 ms
        "00"            # status SUCCESS
    )))
    p = f.objects[0].points[0]
    assert (p.index, p.op_type, p.tcc, p.clear, p.queue, p.count, p.on_time_ms, p.off_time_ms,
            p.status) == (3, "PULSE_ON", "CLOSE", False, False, 2, 1000, 500, "SUCCESS")


@pytest.mark.parametrize(("code", "op", "tcc", "clear"), [
    (0x03, "LATCH_ON", "NUL", False), (0x04, "LATCH_OFF", "NUL", False),
    (0x81, "PULSE_ON", "TRIP", False), (0x22, "PULSE_OFF", "NUL", True),
    (0x00, "NUL", "NUL", False), (0xC9, "UNKNOWN_9", "RESERVED", False)])
def test_crob_control_codes(code: int, op: str, tcc: str, clear: bool) -> None:
    f = only(parse_fragment(hx("c0 05 0c01 17 01 00") + bytes([code, 1]) + bytes(8) + b"\x7f"))
    p = f.objects[0].points[0]
    assert (p.op_type, p.tcc, p.clear, p.status) == (op, tcc, clear, "UNDEFINED")


def test_pattern_mask_and_pattern_control_block() -> None:
    f = only(parse_fragment(hx("c0 05")
                            + hx("0c02 07 01") + hx("03 01 64000000 64000000 00")  # g12v2 PCB
                            + hx("0c03 00 00 03") + bytes([0b0110])))             # g12v3 mask
    assert f.objects[0].points[0].op_type == "LATCH_ON"
    assert [p.state for p in f.objects[1].points] == [False, True, True, False]


def test_counters() -> None:
    f = only(_response(
        hx("1401 00 00 00") + hx("01") + struct.pack("<I", 4_000_000_000),  # g20v1
        hx("1402 00 01 01") + hx("21") + struct.pack("<H", 65535),  # g20v2, ROLLOVER flag
        hx("1405 00 00 00") + struct.pack("<I", 7),                 # g20v5 no flag
        hx("1506 17 01 02") + hx("01") + struct.pack("<H", 9) + dnp3_time(T_2023),  # g21v6
        hx("1601 17 01 03") + hx("41") + struct.pack("<I", 10),    # g22v1, DISCONTINUITY
        hx("1705 17 01 04") + hx("01") + struct.pack("<I", 11) + dnp3_time(T_2023),  # g23v5
    ))
    values = [(o.group, o.variation, o.points[0].value, o.points[0].flags) for o in f.objects]
    assert values == [
        (20, 1, 4_000_000_000, ("ONLINE",)), (20, 2, 65535, ("ONLINE", "ROLLOVER")),
        (20, 5, 7, ()), (21, 6, 9, ("ONLINE",)), (22, 1, 10, ("ONLINE", "DISCONTINUITY")),
        (23, 5, 11, ("ONLINE",))]
    assert f.objects[3].points[0].time == T_2023 / 1000


def test_analog_inputs() -> None:
    f = only(_response(
        hx("1e01 00 00 00") + hx("01") + struct.pack("<i", -123456),   # g30v1
        hx("1e05 00 00 00") + hx("21") + struct.pack("<f", 1.5),       # g30v5 OVER_RANGE
        hx("1e06 00 00 00") + hx("41") + struct.pack("<d", -2.25),     # g30v6 REFERENCE_ERR
        hx("1e03 00 00 00") + struct.pack("<i", 42),                   # g30v3 no flag
        hx("1f03 00 00 00") + hx("01") + struct.pack("<i", 5) + dnp3_time(T_2023),  # g31v3
        hx("2007 17 01 08") + hx("01") + struct.pack("<f", 0.5) + dnp3_time(T_2023),  # g32v7
        hx("2008 17 01 09") + hx("01") + struct.pack("<d", 8.0) + dnp3_time(T_2023),  # g32v8
        hx("2201 00 00 00") + struct.pack("<H", 100),                  # g34v1 deadband
    ))
    got = [(o.group, o.variation, o.points[0].value, o.points[0].flags) for o in f.objects]
    assert got == [
        (30, 1, -123456, ("ONLINE",)), (30, 5, 1.5, ("ONLINE", "OVER_RANGE")),
        (30, 6, -2.25, ("ONLINE", "REFERENCE_ERR")), (30, 3, 42, ()), (31, 3, 5, ("ONLINE",)),
        (32, 7, 0.5, ("ONLINE",)), (32, 8, 8.0, ("ONLINE",)), (34, 1, 100, ())]
    assert f.objects[5].points[0].time == T_2023 / 1000


def test_analog_outputs() -> None:
    f = only(_response(
        hx("2801 00 00 00") + hx("01") + struct.pack("<i", 77),   # g40v1 status
        hx("2803 00 00 00") + hx("01") + struct.pack("<f", 2.5),  # g40v3 float status
        hx("2a01 17 01 01") + hx("01") + struct.pack("<i", 3),    # g42v1 event
        hx("2b05 17 01 02") + hx("02") + struct.pack("<f", 4.0),  # g43v5 command event
    ))
    assert [o.points[0].value for o in f.objects] == [77, 2.5, 3, 4.0]
    assert f.objects[3].points[0].status == "NO_SELECT"


@pytest.mark.parametrize(("variation", "fmt", "value"), [
    (1, "<i", -5), (2, "<h", 300), (3, "<f", 12.5), (4, "<d", -0.125)])
def test_analog_output_block(variation: int, fmt: str, value: float) -> None:
    f = only(parse_fragment(hx("c0 05") + bytes([41, variation]) + hx("28 0100 0700")
                            + struct.pack(fmt, value) + hx("00")))
    p = f.objects[0].points[0]
    assert (p.index, p.value, p.status) == (7, value, "SUCCESS")


def test_time_objects_and_delays() -> None:
    f = only(parse_fragment(hx("c0 02") + hx("3201 07 01") + dnp3_time(T_2023)))  # WRITE g50v1
    assert f.device_time == T_2023 / 1000
    f = only(_response(hx("3402 07 01") + struct.pack("<H", 345)))  # g52v2 fine
    assert (f.delay_ms, f.objects[0].points[0].value) == (345, 345)
    f = only(_response(hx("3401 07 01") + struct.pack("<H", 3)))    # g52v1 coarse (seconds)
    assert f.delay_ms == 3000
    f = only(parse_fragment(hx("c0 0b") + hx("3202 07 01") + dnp3_time(T_2023)
                            + struct.pack("<I", 60000) + hx("1400 06")))  # FREEZE_AT_TIME
    assert f.objects[0].points[0].value == 60000 and f.objects[1].group == 20
    assert f.device_time is None
    f = only(_response(hx("3204 07 01") + dnp3_time(T_2023) + struct.pack("<IB", 10, 4)))
    assert (f.objects[0].points[0].time, f.objects[0].points[0].value) == (T_2023 / 1000, 10)


def test_iin_object_write() -> None:
    f = only(parse_fragment(hx("c0 02 5001 00 07 07 00")))  # clear IIN1.7 DEVICE_RESTART
    o = f.objects[0]
    assert (o.group, o.variation, o.start, o.points[0].index, o.points[0].state) == (
        80, 1, 7, 7, False)


def test_device_attributes() -> None:
    f = only(_response(
        hx("00fc 00 00 00") + hx("01 04") + b"ACME",                  # g0v252 VSTR
        hx("00f0 00 00 00") + hx("02 02") + struct.pack("<H", 2048),  # g0v240 UINT
        hx("00cb 00 00 00") + hx("04 04") + struct.pack("<f", 12.5),  # g0v203 FLT
        hx("00c8 00 00 00") + hx("05 03 010203"),                    # g0v200 OSTR
        hx("00c6 00 00 00") + hx("07 06") + dnp3_time(T_2023),       # g0v198 TIME
        hx("00ff 00 00 00") + hx("fe 04 f2 00 fc 01"),               # g0v255 list
        hx("00d3 00 00 00") + hx("03 01 ff"),                        # g0v211 INT -1
    ))
    names = [o.name for o in f.objects]
    assert names[0] == "Device Attributes - device manufacturer's name"
    assert names[1] == "Device Attributes - maximum transmit fragment size"
    pts = [o.points[0] for o in f.objects]
    assert pts[0].text == "ACME" and pts[1].value == 2048 and pts[2].value == 12.5
    assert pts[3].text == "010203" and pts[4].time == T_2023 / 1000
    assert pts[5].text == "242,252w" and pts[6].value == -1


def test_device_attribute_placeholder_type_has_no_length() -> None:
    f = only(_response(hx("0000 00 00 01") + hx("00") + hx("03 01 64")))  # NONE, then INT 100
    assert [p.value for p in f.objects[0].points] == [None, 100]


def test_octet_strings_and_small_objects() -> None:
    f = only(_response(
        hx("6e03 00 00 01") + b"abcXYZ",          # g110v3: two 3-octet strings
        hx("6f02 17 01 04") + b"\x00\xff",        # g111v2 event at index 4
        hx("6502 00 00 00") + hx("12345678"),     # g101v2 BCD
        hx("6601 00 00 00") + hx("c8"),           # g102v1 8-bit unsigned
        hx("7901 00 00 00") + hx("01 0100 05000000"),  # g121v1 statistic
    ))
    assert [p.text for p in f.objects[0].points] == ["616263", "58595a"]
    assert (f.objects[1].points[0].index, f.objects[1].points[0].text) == (4, "00ff")
    assert f.objects[0].name == "Octet String - length 3"
    assert f.objects[2].points[0].text == "12345678"
    assert f.objects[3].points[0].value == 200
    assert f.objects[4].points[0].value == 5


# -- file transfer ---------------------------------------------------------------------------------
def _file_command(name: bytes, mode: int) -> bytes:
    body = struct.pack("<HH", 26, len(name)) + dnp3_time(T_2023) + struct.pack(
        "<HIIHHH", 0o644, 0xDEADBEEF, 0, mode, 1024, 7) + name
    return hx("4603 5b 01") + struct.pack("<H", len(body)) + body  # free-format, 2-octet size


def test_open_file_command() -> None:
    f = only(parse_fragment(hx("c5 19") + _file_command(b"/cfg/settings.xml", 1)))
    assert f.function == "OPEN_FILE"
    (fo,) = f.files
    assert (fo.object, fo.name, fo.mode, fo.max_block_size, fo.request_id, fo.permissions,
            fo.created) == ("file_command", "/cfg/settings.xml", "READ", 1024, 7, 0o644,
                            T_2023 / 1000)
    assert f.objects[0].name == "File-control - file command" and f.objects[0].count == 1


def test_file_status_transport_and_descriptor() -> None:
    status = struct.pack("<IIHHB", 0x1234, 5000, 1024, 7, 0)
    transport = struct.pack("<II", 0x1234, 0x80000002) + b"hello"
    tstatus = struct.pack("<IIB", 0x1234, 2, 20) + b"oops"
    descriptor = struct.pack("<HHHI", 20, 5, 1, 99) + dnp3_time(T_2023) + struct.pack(
        "<HH", 0o600, 3) + b"a.txt"
    f = only(_response(*(bytes([70, v, 0x5B, 1]) + struct.pack("<H", len(b)) + b
                         for v, b in ((4, status), (5, transport), (6, tstatus),
                                      (7, descriptor)))))
    s, t, ts, d = f.files
    assert (s.handle, s.size, s.status) == (0x1234, 5000, "SUCCESS")
    assert (t.block, t.last_block, t.data_bytes) == (2, True, 5)
    assert (ts.status, ts.text) == ("BLOCK_SEQUENCE", "oops")
    assert (d.name, d.size, d.file_type, d.request_id) == ("a.txt", 99, 1, 3)


def test_file_authentication_keeps_no_password() -> None:
    body = struct.pack("<HHHHI", 12, 5, 17, 6, 0xAABBCCDD) + b"alice" + b"s3cret"
    f = only(parse_fragment(hx("c0 1d 4602 5b 01") + struct.pack("<H", len(body)) + body))
    (fo,) = f.files
    assert (fo.user_name, fo.password_present) == ("alice", True)
    assert "s3cret" not in repr(f)


def test_short_file_object_is_truncated() -> None:
    f = parse_fragment(hx("c0 19 4603 5b 01 0400 00000000"))
    assert [p[0] for p in f.problems] == ["dnp3.truncated_object"]


# -- problems --------------------------------------------------------------------------------------
def test_unknown_object_that_cannot_be_sized_stops_the_walk() -> None:
    f = _response(hx("0107 00 00 01 ffff"), hx("1e04 00 00 00 0100"))
    assert [p[0] for p in f.problems] == ["dnp3.unknown_object"]
    assert [(o.group, o.variation) for o in f.objects] == [(1, 7)] and f.truncated
    assert f.objects[0].name == "Unknown object g1v7"


def test_unknown_object_with_size_prefix_is_skipped() -> None:
    f = _response(hx("c801 5b 01 0300 aabbcc"), hx("1e04 00 00 00 0100"))
    assert [p[0] for p in f.problems] == ["dnp3.unknown_object"]
    assert [(o.group, o.variation) for o in f.objects] == [(200, 1), (30, 4)]
    assert f.objects[1].points[0].value == 1


def test_unknown_object_in_read_is_reported_and_skipped() -> None:
    f = parse_fragment(hx("c0 01 ff00 06 3c01 06"))
    assert [p[0] for p in f.problems] == ["dnp3.unknown_object"]
    assert [(o.group, o.variation) for o in f.objects] == [(255, 0), (60, 1)]


def test_any_variation_with_data_cannot_be_sized() -> None:
    f = parse_fragment(hx("c0 02 7000 01 0000 ffff 3c01 06"))  # WRITE g112v0 points 0-65535
    assert [p[0] for p in f.problems] == ["dnp3.unknown_object"]
    assert f.object_count == 1


@pytest.mark.parametrize("body", [
    "1e01 00 00 01 01 00000000 01 000000",  # second g30v1 object cut short
    "1e01 00",                              # range field missing
    "1e01 17 02 00",                        # index prefix of the second object missing
    "0101 00 00 10 ff",                     # 17 packed bits need 3 octets
    "00fc 00 00 00 01 08 4142",             # attribute value shorter than its length
    "1e",                                   # 1 trailing octet: no object header
])
def test_truncated_objects(body: str) -> None:
    f = _response(hx(body))
    assert [p[0] for p in f.problems] == ["dnp3.truncated_object"] and f.truncated


def test_variable_size_object_without_size_prefix() -> None:
    f = _response(hx("4603 07 01 00"))
    assert [p[0] for p in f.problems] == ["dnp3.bad_qualifier"]


def test_points_are_capped() -> None:
    n = MAX_POINTS_PER_EVENT + 10
    f = only(_response(hx("1e04 01 0000") + struct.pack("<H", n - 1) + bytes(2 * n),
                       hx("1e04 00 00 00 0500")))
    first, second = f.objects
    assert (first.count, len(first.points), first.points_truncated) == (
        n, MAX_POINTS_PER_EVENT, True)
    assert (second.count, second.points, second.points_truncated) == (1, (), True)
    assert f.truncated


def test_objects_are_capped() -> None:
    n = MAX_OBJECTS_PER_EVENT + 5
    f = only(parse_fragment(hx("c0 01") + hx("3c01 06") * n))
    assert (len(f.objects), f.object_count, f.truncated) == (MAX_OBJECTS_PER_EVENT, n, True)


def test_aggressive_mode_objects_carry_data_in_any_request() -> None:
    f = only(parse_fragment(hx(
        "c0 01"
        "7803 07 01 01000000 0100"  # g120v3 aggressive mode request: CSQ 1, user 1
        "3c01 06"                  # g60v1 class 0
        "7809 5b 01 0400 a1a2a3a4"  # g120v9 MAC, 4 octets
    )))
    assert [(o.group, o.variation) for o in f.objects] == [(120, 3), (60, 1), (120, 9)]


def test_header_builder_agrees() -> None:
    assert header(30, 1, 0x01, 3, 9) == hx("1e01 01 0300 0900")
