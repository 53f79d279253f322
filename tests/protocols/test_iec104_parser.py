"""Unit tests of the pure IEC 104 decoding: APCI formats, framing, probe, ASDU header and the
information elements of every standard type, with byte vectors annotated field by field
(values worked out from IEC 60870-5-101 section 7 and IEC 60870-5-104 sections 5 and 9)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from otshield.errors import Malformed
from otshield.protocols.iec104 import SPEC
from otshield.protocols.iec104.constants import ANOMALY_CODES, TYPES
from otshield.protocols.iec104.framing import frame_size, probe
from otshield.protocols.iec104.parser import decode_apci, decode_asdu

from .iec104_build import asdu, cp56, i_frame, u_frame

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


# -- APCI ----------------------------------------------------------------------------------------
def test_i_format() -> None:
    frame = bytes.fromhex(
        "68"      # start
        "0e"      # length 14: control field + 10-octet ASDU
        "0a00"    # N(S) = 0x000a >> 1 = 5
        "0600"    # N(R) = 0x0006 >> 1 = 3
        "6401060001000000" "0014")  # ASDU C_IC_NA_1 (bytes after the control field)
    apci = decode_apci(frame)
    assert (apci.format, apci.send_seq, apci.recv_seq, apci.u_function) == ("I", 5, 3, None)
    assert apci.asdu == bytes.fromhex("64010600010000000014")


def test_i_format_sequence_numbers_use_15_bits() -> None:
    apci = decode_apci(i_frame(32767, 32766, asdu(100, 6, 1, [(0, b"\x14")])))
    assert (apci.send_seq, apci.recv_seq) == (32767, 32766)


def test_s_format() -> None:
    frame = bytes.fromhex("68" "04" "01" "00" "e803")  # S-format, N(R) = 0x03e8 >> 1 = 500
    apci = decode_apci(frame)
    assert (apci.format, apci.send_seq, apci.recv_seq, apci.asdu) == ("S", None, 500, b"")


@pytest.mark.parametrize(("octet", "name"), [
    (0x07, "STARTDT_ACT"), (0x0B, "STARTDT_CON"), (0x13, "STOPDT_ACT"), (0x23, "STOPDT_CON"),
    (0x43, "TESTFR_ACT"), (0x83, "TESTFR_CON")])
def test_u_format(octet: int, name: str) -> None:
    apci = decode_apci(bytes([0x68, 0x04, octet, 0, 0, 0]))  # start, length 4, function, spare
    assert (apci.format, apci.u_function) == ("U", name)


@pytest.mark.parametrize(("frame", "code"), [
    ("690401000000", "iec104.invalid_start"),       # start octet 0x69
    ("680301000000", "iec104.invalid_length"),      # length 3 < 4
    ("68fe00000000", "iec104.invalid_length"),      # length 254 > 253
    ("68050100000000", "iec104.invalid_length"),    # S-format with length 5
    ("6805070000 0000", "iec104.invalid_length"),   # U-format with length 5
    ("680403000000", "iec104.invalid_control"),     # U-format without a function bit
    ("68040f000000", "iec104.invalid_control"),     # STARTDT act and con at once
    ("680407000100", "iec104.invalid_control"),     # U-format with a non-zero spare octet
    ("680405000000", "iec104.invalid_control"),     # S-format octet 1 with bit 3 set
    ("680401000100", "iec104.invalid_control"),     # S-format, octet 3 bit 1 set
    ("680400000100", "iec104.invalid_control"),     # I-format, octet 3 bit 1 set
    ("68", "iec104.invalid_start"),                 # too short to judge
])
def test_invalid_apci(frame: str, code: str) -> None:
    with pytest.raises(Malformed) as err:
        decode_apci(bytes.fromhex(frame.replace(" ", "")))
    assert err.value.code == code
    assert code in ANOMALY_CODES


def test_length_octet_disagreeing_with_the_unit() -> None:
    with pytest.raises(Malformed) as err:
        decode_apci(bytes.fromhex("680e0000000064"))  # says 14 octets, carries 5
    assert err.value.code == "iec104.invalid_length"


# -- framing and probe ---------------------------------------------------------------------------
def test_frame_size() -> None:
    assert frame_size(b"\x68\x04\x07\x00\x00") is None  # fewer than 6 octets: wait
    assert frame_size(u_frame(0x07)) == 6
    assert frame_size(i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")]))[:6]) == 16  # 2 + 14
    # junk: up to the next offset that can start an APDU
    assert frame_size(b"\x00\x01\x02" + u_frame(0x43)) == 3
    # 0x68 followed by an impossible length is not a start either
    assert frame_size(b"\x68\x02\x00\x68\x04\x43\x00\x00\x00") == 3
    # no start in sight: all but the last 5 octets (they may begin a header)
    assert frame_size(bytes(20)) == 15


def test_probe() -> None:
    startdt = u_frame(0x07)
    interrogation = i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")]))
    assert probe(startdt, True)
    assert probe(startdt + interrogation, True)
    assert probe(interrogation + b"\x68\x0e", True)  # the start of a next APDU
    assert not probe(b"GET / HTTP/1.1\r\n", True)
    assert not probe(b"\x68\x04\x07\x00", True)  # not one whole APDU yet
    assert not probe(startdt + b"\x00", True)  # followed by something else
    assert not probe(i_frame(0, 0, asdu(99, 6, 1, [(0, b"\x14")])), True)  # unknown type


def test_spec_declares_its_anomalies_and_events() -> None:
    assert SPEC.name == "iec104" and 2404 in SPEC.tcp_ports
    assert all(code.startswith("iec104.") for code in SPEC.anomaly_codes)
    assert {e.__struct_config__.tag for e in SPEC.event_types} == {
        "iec104", "iec104_apci", "iec104_connection"}


# -- ASDU header ---------------------------------------------------------------------------------
def test_asdu_header() -> None:
    data = bytes.fromhex(
        "0d"      # type 13 M_ME_NC_1
        "82"      # VSQ: SQ=1, 2 objects
        "c7"      # cause 7 activation_con, P/N (0x40) and T (0x80) set
        "05"      # originator address 5
        "3412"    # common address 0x1234
        "e80300"  # first IOA 1000
        "0000c841" "00"   # 25.0, QDS clear
        "0000c8c1" "81")  # -25.0, QDS IV + OV
    a = decode_asdu(data, NOW)
    assert (a.type_id, a.type_name, a.function_class, a.sq, a.num_objects) == (
        13, "M_ME_NC_1", "read", True, 2)
    assert (a.cause, a.cause_name, a.negative, a.test, a.originator, a.common_address) == (
        7, "activation_con", True, True, 5, 0x1234)
    assert [(o.ioa, o.value, o.quality) for o in a.objects] == [
        (1000, 25.0, ()), (1001, -25.0, ("OV", "IV"))]
    assert a.anomalies is None and not a.truncated


def test_short_asdu() -> None:
    with pytest.raises(Malformed) as err:
        decode_asdu(bytes.fromhex("0d0103"), NOW)
    assert err.value.code == "iec104.short_asdu"


def _codes(a: Any) -> list[str]:
    return [code for code, _ in a.anomalies or ()]


def test_unknown_type_id() -> None:
    a = decode_asdu(bytes.fromhex("63" "01" "0300" "0100" "010000" "00"), NOW)  # type 99
    assert (a.type_name, a.function_class, a.objects) == ("UNKNOWN", "other", ())
    assert _codes(a) == ["iec104.unknown_type_id"]


@pytest.mark.parametrize("cause", [0, 14, 19, 42, 43])
def test_undefined_causes(cause: int) -> None:
    a = decode_asdu(asdu(1, cause, 1, [(1, b"\x01")]), NOW)
    assert _codes(a) == ["iec104.unknown_cause"]
    assert a.cause_name == ("not_used" if cause == 0 else "reserved")


def test_cause_names() -> None:
    names = {c: decode_asdu(asdu(1, c, 1, [(1, b"\x00")]), NOW).cause_name
             for c in (1, 3, 5, 10, 11, 13, 20, 21, 36, 37, 41, 44, 47, 48, 63)}
    assert names == {
        1: "periodic", 3: "spontaneous", 5: "request", 10: "activation_term",
        11: "return_remote", 13: "file_transfer", 20: "interrogated_station",
        21: "interrogated_group_1", 36: "interrogated_group_16",
        37: "counter_interrogated_general", 41: "counter_interrogated_group_4",
        44: "unknown_type_id", 47: "unknown_ioa", 48: "private", 63: "private"}


def test_objects_not_filling_the_asdu() -> None:
    # 3 single points declared, 2 present: decode 2, mark truncated
    a = decode_asdu(asdu(1, 3, 1, [(1, b"\x01"), (2, b"\x00")], count=3), NOW)
    assert [o.ioa for o in a.objects] == [1, 2] and a.truncated
    assert _codes(a) == ["iec104.bad_asdu_length"]
    # one object too many octets: decoded, reported, not truncated
    a = decode_asdu(asdu(1, 3, 1, [(1, b"\x01")]) + b"\x00", NOW)
    assert [o.ioa for o in a.objects] == [1] and not a.truncated
    assert _codes(a) == ["iec104.bad_asdu_length"]
    # SQ=1: one address, 2 objects of 3 octets, cut in the second
    a = decode_asdu(asdu(11, 3, 1, [(7, b"\x01\x00\x00"), (0, b"\x02\x00")], sq=True), NOW)
    assert [(o.ioa, o.value) for o in a.objects] == [(7, 1)] and a.truncated


def test_type_not_in_104_is_decoded_and_reported() -> None:
    a = decode_asdu(asdu(2, 3, 1, [(5, b"\x01" + bytes.fromhex("e8030a"))]), NOW)
    assert _codes(a) == ["iec104.type_not_in_104"]
    assert a.objects[0].value is True


def test_invalid_time() -> None:
    # M_SP_TB_1 with an all-zero CP56Time2a (month 0, day 0)
    a = decode_asdu(asdu(30, 3, 1, [(1, b"\x01" + bytes(7))]), NOW)
    assert _codes(a) == ["iec104.invalid_time"]
    assert a.objects[0].time is None and a.objects[0].value is True


# -- time tags -----------------------------------------------------------------------------------
def test_cp56time2a() -> None:
    element = bytes.fromhex(
        "01"     # SIQ: on
        "1ac7"   # milliseconds 0xc71a = 50970 -> 50.970 s
        "9e"     # minute 30 (0x1e), IV (0x80)
        "8c"     # hour 12, SU (0x80)
        "2f"     # day 15, day of week 1 (0x20)
        "07"     # July
        "18")    # year 24 -> 2024
    o = decode_asdu(asdu(30, 3, 1, [(1, element)]), NOW).objects[0]
    assert (o.time, o.time_invalid, o.time_summer, o.time_partial) == (
        "2024-07-15T12:30:50.970", True, True, False)
    assert o.time_epoch == 1721046650.97


def test_cp56time2a_years_70_to_99_are_1900s() -> None:
    o = decode_asdu(asdu(30, 3, 1, [(1, b"\x00" + cp56(1999, 12, 31, 23, 59, 59999))]),
                    NOW).objects[0]
    assert o.time == "1999-12-31T23:59:59.999"


def test_cp24time2a_takes_hour_and_date_from_the_packet() -> None:
    # packet at 22:13:20Z; time tag minute 12, 30.5 s -> same hour
    tag = bytes.fromhex("2877" "0c")  # 0x7728 = 30504 ms; minute 12
    o = decode_asdu(asdu(2, 3, 1, [(1, b"\x00" + tag)]), NOW).objects[0]
    assert (o.time, o.time_partial, o.time_epoch) == ("2023-11-14T22:12:30.504", True,
                                                      1699999950.504)
    # minute 59 is nearer the previous hour
    o = decode_asdu(asdu(2, 3, 1, [(1, b"\x00" + bytes.fromhex("0000bb"))]), NOW).objects[0]
    assert o.time == "2023-11-14T21:59:00.000" and o.time_invalid  # 0xbb: IV + minute 59


# -- information elements of every type ----------------------------------------------------------
T56 = cp56(2024, 1, 2, 3, 4, 5006)  # 2024-01-02T03:04:05.006
T56_FIELDS = {"time": "2024-01-02T03:04:05.006", "time_epoch": 1704164645.006}
T24 = bytes.fromhex("8e1304")  # 5006 ms, minute 4
T24_FIELDS = {"time": "2023-11-14T22:04:05.006", "time_epoch": 1699999445.006,
              "time_partial": True}

# (type id, element octets (value part + time tag), expected object fields besides ioa)
CASES: list[tuple[int, bytes, dict[str, Any]]] = [
    # SIQ 0x91: SPI on, BL (0x10), IV (0x80)
    (1, b"\x91", {"value": True, "quality": ["BL", "IV"]}),
    (2, b"\x00" + T24, {"value": False, "quality": [], **T24_FIELDS}),
    # DIQ 0x62: DPI 2 on, SB (0x20), NT (0x40)
    (3, b"\x62", {"value": 2, "state": "on", "quality": ["SB", "NT"]}),
    (4, b"\x03" + T24, {"value": 3, "state": "indeterminate", "quality": [], **T24_FIELDS}),
    # VTI 0xc5: transient, value -59 (0x45 as 7-bit two's complement); QDS 0x01 OV
    (5, b"\xc5\x01", {"value": -59, "transient": True, "quality": ["OV"]}),
    (6, b"\x05\x00" + T24, {"value": 5, "transient": False, "quality": [], **T24_FIELDS}),
    # BSI 0x80000001 (little-endian), QDS 0
    (7, b"\x01\x00\x00\x80\x00", {"value": 0x80000001, "quality": []}),
    (8, b"\xff\x00\x00\x00\x10" + T24, {"value": 255, "quality": ["BL"], **T24_FIELDS}),
    # NVA 0x4000 = 0.5, QDS 0x80 IV
    (9, b"\x00\x40\x80", {"value": 0.5, "quality": ["IV"]}),
    (10, b"\x00\x80\x00" + T24, {"value": -1.0, "quality": [], **T24_FIELDS}),
    # SVA -2 (0xfffe), QDS 0
    (11, b"\xfe\xff\x00", {"value": -2, "quality": []}),
    (12, b"\x10\x27\x00" + T24, {"value": 10000, "quality": [], **T24_FIELDS}),
    # IEEE 754 0x41bb3333 = 23.4, QDS 0
    (13, b"\x33\x33\xbb\x41\x00", {"value": 23.4, "quality": []}),
    (14, b"\x00\x00\x80\xbf\x00" + T24, {"value": -1.0, "quality": [], **T24_FIELDS}),
    # BCR: counter -5 (0xfffffffb), flags 0xe3: SQ 3, CY, CA, IV
    (15, b"\xfb\xff\xff\xff\xe3", {"value": -5, "sequence": 3, "quality": ["CY", "CA", "IV"]}),
    (16, b"\x64\x00\x00\x00\x00" + T24, {"value": 100, "sequence": 0, "quality": [],
                                         **T24_FIELDS}),
    # SEP 0x0a: ES 2 (on), EI (0x08); CP16 elapsed 300 ms
    (17, b"\x0a\x2c\x01" + T24, {"value": 2, "state": "on", "quality": ["EI"],
                                 "elapsed_ms": 300, **T24_FIELDS}),
    # SPE 0x03: general start + L1; QDP 0x80 IV; CP16 relay duration 20 ms
    (18, b"\x03\x80\x14\x00" + T24, {"value": 3, "state": "general_start,start_l1",
                                     "quality": ["IV"], "elapsed_ms": 20, **T24_FIELDS}),
    # OCI 0x09: general command + L3; QDP 0; CP16 relay operating time 1 ms
    (19, b"\x09\x00\x01\x00" + T24, {"value": 9, "state": "general_command,command_l3",
                                     "quality": [], "elapsed_ms": 1, **T24_FIELDS}),
    # SCD: status 0x00ff, change detection 0x0101; QDS 0
    (20, b"\xff\x00\x01\x01\x00", {"value": 255, "changes": 257, "quality": []}),
    # NVA 0xc000 = -0.5, no quality descriptor
    (21, b"\x00\xc0", {"value": -0.5}),
    (30, b"\x01" + T56, {"value": True, "quality": [], **T56_FIELDS}),
    (31, b"\x01" + T56, {"value": 1, "state": "off", "quality": [], **T56_FIELDS}),
    (32, b"\x3f\x00" + T56, {"value": 63, "transient": False, "quality": [], **T56_FIELDS}),
    (33, b"\x00\x00\x00\x00\x00" + T56, {"value": 0, "quality": [], **T56_FIELDS}),
    (34, b"\xff\x7f\x00" + T56, {"value": 32767 / 32768, "quality": [], **T56_FIELDS}),
    (35, b"\x00\x80\x00" + T56, {"value": -32768, "quality": [], **T56_FIELDS}),
    (36, b"\x00\x00\x20\x41\x00" + T56, {"value": 10.0, "quality": [], **T56_FIELDS}),
    (37, b"\x01\x00\x00\x00\x1f" + T56, {"value": 1, "sequence": 31, "quality": [],
                                         **T56_FIELDS}),
    (38, b"\x01\x00\x00" + T56, {"value": 1, "state": "off", "quality": [], "elapsed_ms": 0,
                                 **T56_FIELDS}),
    (39, b"\x20\x00\x00\x00" + T56, {"value": 32, "state": "start_reverse", "quality": [],
                                     "elapsed_ms": 0, **T56_FIELDS}),
    (40, b"\x00\x00\x00\x00" + T56, {"value": 0, "quality": [], "elapsed_ms": 0,
                                     **T56_FIELDS}),
    # SCO 0x85: on, QU 1 short pulse, S/E select
    (45, b"\x85", {"value": True, "state": "on", "select": True, "qualifier": 1,
                   "qualifier_name": "short_pulse"}),
    # DCO 0x0e: off... DCS 2 on, QU 3 persistent, execute
    (46, b"\x0e", {"value": 2, "state": "on", "select": False, "qualifier": 3,
                   "qualifier_name": "persistent_output"}),
    # RCO 0x01: RCS 1 lower, QU 0, execute
    (47, b"\x01", {"value": 1, "state": "lower", "select": False, "qualifier": 0,
                   "qualifier_name": "no_additional_definition"}),
    # NVA 0x2000 = 0.25, QOS 0x80: select, QL 0
    (48, b"\x00\x20\x80", {"value": 0.25, "select": True, "qualifier": 0,
                           "qualifier_name": "default"}),
    # SVA 1234, QOS 0x41: QL 65 private, execute
    (49, b"\xd2\x04\x41", {"value": 1234, "select": False, "qualifier": 65,
                           "qualifier_name": "private"}),
    (50, b"\x00\x00\x48\x42\x00", {"value": 50.0, "select": False, "qualifier": 0,
                                   "qualifier_name": "default"}),
    (51, b"\x78\x56\x34\x12", {"value": 0x12345678}),
    (58, b"\x00" + T56, {"value": False, "state": "off", "select": False, "qualifier": 0,
                         "qualifier_name": "no_additional_definition", **T56_FIELDS}),
    (59, b"\x81" + T56, {"value": 1, "state": "off", "select": True, "qualifier": 0,
                         "qualifier_name": "no_additional_definition", **T56_FIELDS}),
    (60, b"\x02" + T56, {"value": 2, "state": "higher", "select": False, "qualifier": 0,
                         "qualifier_name": "no_additional_definition", **T56_FIELDS}),
    (61, b"\x00\x00\x00" + T56, {"value": 0.0, "select": False, "qualifier": 0,
                                 "qualifier_name": "default", **T56_FIELDS}),
    (62, b"\x9c\xff\x00" + T56, {"value": -100, "select": False, "qualifier": 0,
                                 "qualifier_name": "default", **T56_FIELDS}),
    (63, b"\x00\x00\x80\x3f\x80" + T56, {"value": 1.0, "select": True, "qualifier": 0,
                                         "qualifier_name": "default", **T56_FIELDS}),
    (64, b"\x01\x00\x00\x00" + T56, {"value": 1, **T56_FIELDS}),
    # COI 0x82: remote reset, after a change of local parameters
    (70, b"\x82", {"qualifier": 2, "qualifier_name": "remote_reset", "local_change": True}),
    # QOI 20 station, 21 group 1
    (100, b"\x14", {"qualifier": 20, "qualifier_name": "station"}),
    # QCC 0x45: RQT 5 general, FRZ 1 freeze
    (101, b"\x45", {"qualifier": 0x45, "qualifier_name": "general", "state": "freeze"}),
    (102, b"", {}),
    (103, T56, T56_FIELDS),
    # FBP 0x55aa
    (104, b"\xaa\x55", {"value": 0x55AA}),
    # QRP 1 general reset of process
    (105, b"\x01", {"qualifier": 1, "qualifier_name": "general_reset"}),
    # CP16 delay 500 ms
    (106, b"\xf4\x01", {"elapsed_ms": 500}),
    # TSC 7 + CP56
    (107, b"\x07\x00" + T56, {"value": 7, **T56_FIELDS}),
    # NVA 0.5, QPM 0x41: KPA 1 threshold, LPC set, POP clear (in operation)
    (110, b"\x00\x40\x41", {"value": 0.5, "qualifier": 1, "qualifier_name": "threshold",
                            "local_change": True, "in_operation": True}),
    # SVA 3, QPM 0x84: KPA 4 high limit, POP set (not in operation)
    (111, b"\x03\x00\x84", {"value": 3, "qualifier": 4, "qualifier_name": "high_limit",
                            "local_change": False, "in_operation": False}),
    (112, b"\x00\x00\x80\x40\x03", {"value": 4.0, "qualifier": 3, "qualifier_name": "low_limit",
                                    "local_change": False, "in_operation": True}),
    # QPA 3 cyclic transmission
    (113, b"\x03", {"qualifier": 3, "qualifier_name": "cyclic_transmission"}),
    # NOF 2, LOF 0x010000 = 65536, FRQ 0 positive
    (120, b"\x02\x00\x00\x00\x01\x00", {"file_name": 2, "length": 65536, "qualifier": 0,
                                        "qualifier_name": "default", "state": "positive"}),
    # NOF 2, NOS 1, LOF 100, SRQ 0x80 not ready
    (121, b"\x02\x00\x01\x64\x00\x00\x80", {"file_name": 2, "section": 1, "length": 100,
                                            "qualifier": 0, "qualifier_name": "default",
                                            "state": "not_ready"}),
    # NOF 2, NOS 0, SCQ 0x21: select file, error 2 checksum failed
    (122, b"\x02\x00\x00\x21", {"file_name": 2, "section": 0, "qualifier": 0x21,
                                "qualifier_name": "select_file", "state": "checksum_failed"}),
    # NOF 2, NOS 1, LSQ 3 section transfer without deactivation, CHS 0x5a
    (123, b"\x02\x00\x01\x03\x5a", {"file_name": 2, "section": 1, "qualifier": 3,
                                    "qualifier_name": "section_transfer_without_deactivation",
                                    "checksum": 0x5A}),
    # NOF 2, NOS 1, AFQ 0x03 positive ack of section
    (124, b"\x02\x00\x01\x03", {"file_name": 2, "section": 1, "qualifier": 3,
                                "qualifier_name": "section_positive"}),
    # NOF 2, NOS 1, LOS 3, three data octets (not kept)
    (125, b"\x02\x00\x01\x03abc", {"file_name": 2, "section": 1, "length": 3}),
    # NOF 9, LOF 1000, SOF 0x20 last file of the directory, status 0; CP56 creation time
    (126, b"\x09\x00\xe8\x03\x00\x20" + T56, {"file_name": 9, "length": 1000, "file_status": 0,
                                              "state": "last_file", **T56_FIELDS}),
    # NOF 9, start time, stop time
    (127, b"\x09\x00" + T56 + cp56(2024, 1, 3, 0, 0, 0),
     {"file_name": 9, **T56_FIELDS, "time_stop": "2024-01-03T00:00:00.000"}),
]


def test_every_standard_type_has_a_vector() -> None:
    assert {c[0] for c in CASES} == set(TYPES)


@pytest.mark.parametrize(("type_id", "element", "expected"), CASES,
                         ids=[f"{c[0]}-{TYPES[c[0]][0]}" for c in CASES])
def test_information_elements(type_id: int, element: bytes, expected: dict[str, Any]) -> None:
    a = decode_asdu(asdu(type_id, 3, 7, [(0x010203, element)]), NOW)
    assert a.type_name == TYPES[type_id][0]
    assert (a.anomalies is None) == (type_id not in {2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19,
                                                     104, 106})
    assert len(a.objects) == 1
    got = msgspec.json.decode(msgspec.json.encode(a.objects[0]))
    assert got.pop("ioa") == 0x010203
    assert got == expected


def test_sequence_of_elements_numbers_addresses_consecutively() -> None:
    # M_ME_NB_1, SQ=1, 3 objects from address 0xfffffe: 24-bit addresses wrap
    a = decode_asdu(asdu(11, 20, 1, [(0xFFFFFE, b"\x01\x00\x00"), (0, b"\x02\x00\x00"),
                                     (0, b"\x03\x00\x00")], sq=True), NOW)
    assert [(o.ioa, o.value) for o in a.objects] == [(0xFFFFFE, 1), (0xFFFFFF, 2), (0, 3)]


def test_segments_with_several_objects() -> None:
    a = decode_asdu(asdu(125, 13, 1, [(1, b"\x02\x00\x01\x02xy"), (2, b"\x02\x00\x01\x01z")]),
                    NOW)
    assert [(o.ioa, o.length) for o in a.objects] == [(1, 2), (2, 1)] and a.anomalies is None
    bad = decode_asdu(asdu(125, 13, 1, [(1, b"\x02\x00\x01\x09xy")]), NOW)
    assert _codes(bad) == ["iec104.bad_asdu_length"] and bad.truncated


def test_qualifier_ranges() -> None:
    def qoi(q: int) -> str | None:
        return decode_asdu(asdu(100, 6, 1, [(0, bytes([q]))]), NOW).objects[0].qualifier_name

    assert [qoi(q) for q in (0, 19, 20, 21, 36, 37, 64)] == [
        "not_used", "reserved", "station", "group_1", "group_16", "reserved", "private"]
