"""Unit tests of the GOOSE / GSE management parsers and the MMS Data decoder, with annotated
byte vectors (IEC 61850-8-1 Annex A and C, ISO 9506-2 Data)."""

from __future__ import annotations

import pytest

from otshield.errors import Malformed
from otshield.protocols.goose.data import binary_time, decode_data, utc_time
from otshield.protocols.goose.events import GooseValue
from otshield.protocols.goose.parser import GooseMgmtPdu, GoosePdu, count_entries, parse_frame
from protocols.iec61850_build import (
    d_array,
    d_binary_time,
    d_bits,
    d_bool,
    d_double,
    d_float,
    d_int,
    d_octets,
    d_struct,
    d_uint,
    d_utc,
    d_visible,
    goose,
    header,
    tlv,
    utc,
)

# A complete frame payload after Ethertype 0x88B8, byte by byte.
FRAME = bytes.fromhex(
    "3001"          # APPID 0x3001
    "0050"          # Length 80 = 8 header octets + 72 APDU octets
    "8000"          # Reserved 1: Simulate bit (Ed.2) set
    "0000"          # Reserved 2
    "6146"          # goosePdu [APPLICATION 1] constructed, 70 octets
    "8006" "49454431" "2f47"   # [0] gocbRef "IED1/G"
    "8102" "07d0"              # [1] timeAllowedtoLive 2000 ms
    "8204" "49454431"          # [2] datSet "IED1"
    "8302" "4731"              # [3] goID "G1"
    "8408" "6553f100" "800000" "0a"  # [4] t: 1700000000 s + 0.5 s, quality 0x0a (10 bits)
    "8503" "008f61"            # [5] stNum 36705 (leading zero octet keeps it positive)
    "8601" "05"                # [6] sqNum 5
    "8701" "01"                # [7] simulation TRUE
    "8801" "02"                # [8] confRev 2
    "8901" "00"                # [9] ndsCom FALSE
    "8a01" "03"                # [10] numDatSetEntries 3
    "ab10"                     # [11] allData, 16 octets
    "8301" "01"                #   boolean TRUE
    "8402" "06" "40"           #   bit-string, 6 unused bits: "01" (Dbpos off)
    "a207" "8501" "fb" "8602" "00c8"  # structure { integer -5, unsigned 200 }
)


def test_annotated_goose_frame() -> None:
    pdu = parse_frame(FRAME)
    assert isinstance(pdu, GoosePdu)
    assert (pdu.appid, pdu.reserved1, pdu.reserved2, pdu.simulated) == (0x3001, 0x8000, 0, True)
    assert (pdu.gocb_ref, pdu.ttl, pdu.dat_set, pdu.go_id) == ("IED1/G", 2000, "IED1", "G1")
    assert utc_time(pdu.t) == ("2023-11-14T22:13:20.500000000Z", 1700000000.5, 0x0A)
    assert (pdu.st_num, pdu.sq_num, pdu.simulation, pdu.conf_rev) == (36705, 5, True, 2)
    assert (pdu.nds_com, pdu.num_entries, pdu.security) == (False, 3, False)
    assert count_entries(pdu.data) == 3
    values, truncated = decode_data(pdu.data, 0, len(pdu.data))
    assert not truncated
    assert values == [
        GooseValue(path="0", type="boolean", value=True),
        GooseValue(path="1", type="bit-string", value="01"),
        GooseValue(path="2", type="structure", value=2),
        GooseValue(path="2.0", type="integer", value=-5),
        GooseValue(path="2.1", type="unsigned", value=200),
    ]


def test_every_data_type() -> None:
    data = b"".join([
        d_bool(False), d_bits("0000000000001"), d_int(-70000), d_uint(4_000_000_000),
        d_float(1.5), d_double(-2.25), d_octets(b"\x01\xab"), d_visible("on"),
        d_binary_time(3_723_004), d_binary_time(1000, days=1), d_utc(0, 0x400000, 0x20),
        tlv(0x90, "é".encode()),            # mMSString (UTF-8)
        tlv(0x8D, b"\x12"),                 # bcd 18
        tlv(0x8E, b"\x04\xf0"),             # booleanArray, 4 unused bits: "1111"
        tlv(0x8F, b"\x28\xc2\x7b"),         # objId 1.0.8571
        tlv(0x8B, b"20240101"),             # generalized-time (text)
        tlv(0x88, b"\x03\x31"),             # real (ISO 6093): hex only
        d_array(d_bool(True)),
    ])
    values, truncated = decode_data(data, 0, len(data))
    assert [(v.type, v.value) for v in values] == [
        ("boolean", False), ("bit-string", "0000000000001"), ("integer", -70000),
        ("unsigned", 4_000_000_000), ("floating-point", 1.5), ("floating-point", -2.25),
        ("octet-string", "01ab"), ("visible-string", "on"), ("binary-time", "01:02:03.004"),
        ("binary-time", "1984-01-02T00:00:01.000Z"),
        ("utc-time", "1970-01-01T00:00:00.250000000Z"), ("mms-string", "é"), ("bcd", 18),
        ("boolean-array", "1111"), ("obj-id", "1.0.8571"), ("generalized-time", "20240101"),
        ("real", "0331"), ("array", 1), ("boolean", True),
    ]
    assert values[-1].path == "17.0" and not truncated


def test_data_bounds() -> None:
    many = b"".join(d_bool(True) for _ in range(300))
    values, truncated = decode_data(many, 0, len(many))
    assert len(values) == 256 and truncated
    deep = d_bool(True)
    for _ in range(12):
        deep = d_struct(deep)
    values, truncated = decode_data(deep, 0, len(deep))
    assert truncated and len(values) == 8  # 8 nesting levels of structures, members cut


@pytest.mark.parametrize(("data", "code"), [
    (tlv(0x83, b"\x01\x00"), "goose.bad_data"),          # boolean of 2 octets
    (tlv(0x87, b"\x08\x00\x00"), "goose.bad_data"),      # floating-point of 3 octets
    (tlv(0x91, b"\x00" * 7), "goose.bad_data"),          # utc-time of 7 octets
    (tlv(0x8C, b"\x00" * 5), "goose.bad_data"),          # binary-time of 5 octets
    (tlv(0x92, b"\x00"), "goose.bad_data"),              # [18]: no such Data
    (tlv(0x03, b"\x00"), "goose.bad_data"),              # universal class
    (tlv(0x82, b""), "goose.bad_data"),                  # primitive structure
    (tlv(0xA3, b"\x83\x01\x00"), "goose.bad_data"),      # constructed boolean
    (tlv(0x84, b"\x09\x00"), "goose.ber_bad_bitstring"),  # 9 unused bits
    (tlv(0x85, b""), "goose.ber_bad_integer"),           # empty integer
    (b"\x83\x05\x00", "goose.ber_truncated"),            # length beyond the data
])
def test_bad_data(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode_data(data, 0, len(data))
    assert exc.value.code == code


def test_header_errors() -> None:
    with pytest.raises(Malformed) as exc:
        parse_frame(b"\x00\x01\x00")                     # shorter than the 8-octet header
    assert exc.value.code == "goose.bad_length"
    frame = goose()
    with pytest.raises(Malformed) as exc:
        parse_frame(frame[:-1])                          # Length one beyond the frame
    assert exc.value.code == "goose.bad_length"
    with pytest.raises(Malformed) as exc:
        parse_frame(header(1, b"", length=7))            # Length below 8
    assert exc.value.code == "goose.bad_length"
    # Ethernet padding after Length is allowed
    assert isinstance(parse_frame(frame + b"\0" * 10), GoosePdu)
    with pytest.raises(Malformed) as exc:
        parse_frame(header(1, tlv(0x62, b"")))           # [APPLICATION 2]
    assert exc.value.code == "goose.unknown_pdu"
    with pytest.raises(Malformed) as exc:
        parse_frame(header(1, b"\x61\x05\x80"))          # goosePdu longer than the frame
    assert exc.value.code == "goose.ber_truncated"


def test_missing_and_bad_fields() -> None:
    body = tlv(0x80, b"x") + tlv(0x81, b"\x01")
    with pytest.raises(Malformed) as exc:
        parse_frame(header(1, tlv(0x61, body)))
    assert exc.value.code == "goose.missing_field"
    assert "datSet" in exc.value.detail and "allData" in exc.value.detail
    for frame, text in [(goose(t=b"\x00" * 7), "t of 7"), (goose(st_num=1 << 40), "stNum")]:
        with pytest.raises(Malformed) as exc:
            parse_frame(frame)
        assert exc.value.code == "goose.bad_field" and text in exc.value.detail
    # optional goID absent, security present
    pdu = parse_frame(goose(go_id=None, security=b"\x04\x00"))
    assert isinstance(pdu, GoosePdu) and pdu.go_id == "" and pdu.security


def test_gse_management_request() -> None:
    frame = bytes.fromhex(
        "0001" "0029" "0000" "0000"   # APPID 1, Length 41, reserved
        "601f"                        # gseMngtPdu [APPLICATION 0], 31 octets
        "8001" "07"                   # [0] stateID 7
        "a11a"                        # [1] requests
        "a218"                        # [2] getGOOSEElementNumber
        "8006" "474f43423031"         #   [0] ident "GOCB01"
        "a10e"                        #   [1] references
        "1a05" "4c44302f58"           #     VisibleString "LD0/X"
        "1a05" "4c44302f59")          #     VisibleString "LD0/Y"
    pdu = parse_frame(frame)
    assert isinstance(pdu, GooseMgmtPdu)
    assert (pdu.state_id, pdu.pdu, pdu.service, pdu.ident) == (
        7, "request", "getGOOSEElementNumber", "GOCB01")
    assert pdu.references == ["LD0/X", "LD0/Y"]


def test_gse_management_responses() -> None:
    positive = tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0xA1, tlv(0x80, b"G") + tlv(
        0x81, b"\x03") + tlv(0xA2, b""))))
    pdu = parse_frame(header(2, positive))
    assert isinstance(pdu, GooseMgmtPdu)
    assert (pdu.pdu, pdu.service, pdu.ident, pdu.conf_rev, pdu.positive) == (
        "response", "getGoReference", "G", 3, True)
    negative = tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0xA3, tlv(0x80, b"G") + tlv(
        0x83, b"\x02"))))
    pdu = parse_frame(header(2, negative))
    assert isinstance(pdu, GooseMgmtPdu) and (pdu.positive, pdu.error) == (False, 2)
    unsupported = tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0x80, b"")))
    pdu = parse_frame(header(2, unsupported))
    assert isinstance(pdu, GooseMgmtPdu) and pdu.service == "gseMngtNotSupported"
    for bad in (tlv(0x60, tlv(0x80, b"\x01")),                       # no request/response
                tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA1, tlv(0x80, b"")))):  # request [0]
        with pytest.raises(Malformed) as exc:
            parse_frame(header(2, bad))
        assert exc.value.code in ("goose.missing_field", "goose.bad_field")


def test_time_formats() -> None:
    assert utc_time(utc(0, 0xFFFFFF, 0x80)) == ("1970-01-01T00:00:00.999999940Z",
                                                0xFFFFFF / 16777216.0, 0x80)
    assert binary_time(b"\x05\x26\x5c\x00") == "24:00:00.000"  # 86400000 ms, as sent
    assert binary_time(b"\x00\x00\x00\x00\x00\x00") == "1984-01-01T00:00:00.000Z"


def test_reader_reuses_retransmissions() -> None:
    from otshield.protocols.goose.parser import GooseReader

    reader = GooseReader()
    frames = [goose(st_num=4, sq_num=sq) for sq in (0, 1, 2, 127, 128, 129)]
    frames.append(goose(st_num=4, sq_num=130, data=[d_bool(True), d_bits("1")]))
    for frame in frames:
        assert reader.parse(frame) == parse_frame(frame)
    # sqNum 128 needs a second octet: a new size, so a second layout; the last frame has that
    # size again (shorter data) and replaces it after a full parse
    assert len(reader._layouts) == 2


BER_ERRORS = [
    (b"\x83\x85\x00\x00\x00\x00\x01\x00", "ber_bad_length"),      # 5 length octets
    (b"\x9f\x81\x81\x81\x81\x01\x00", "ber_bad_tag"),             # tag number of 5 octets
    (b"\xa2\x80" * 40 + b"\x00\x00" * 40, "ber_too_deep"),        # indefinite, 40 levels
]


@pytest.mark.parametrize(("raw", "code"), BER_ERRORS)
def test_ber_errors_are_named(raw: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode_data(raw, 0, len(raw))
    assert exc.value.code == f"goose.{code}"
    with pytest.raises(Malformed) as exc:
        parse_frame(header(1, raw))
    assert exc.value.code == f"goose.{code}"
