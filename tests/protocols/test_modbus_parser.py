"""Unit tests of the pure Modbus parser and framer: annotated byte vectors for every function
code, both directions, exceptions, framing, probing and each anomaly the parser reports.

Vectors follow the examples of the MODBUS Application Protocol Specification V1.1b3, section 6,
wrapped in an MBAP header (transaction id, protocol id, length, unit id).
"""

from __future__ import annotations

import pytest

from otshield.errors import Malformed
from otshield.protocols.modbus.constants import (
    ANOMALY_CODES,
    DIAGNOSTIC_SUBFUNCTIONS,
    EXCEPTION_CODES,
    FUNCTIONS,
    UMAS_FUNCTIONS,
)
from otshield.protocols.modbus.events import ModbusDeviceObject, ModbusFileRecord
from otshield.protocols.modbus.framing import frame_size, junk_problem, probe
from otshield.protocols.modbus.parser import (
    ModbusPdu,
    decode,
    decode_request,
    decode_response,
    object_name,
)


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


def codes(pdu: ModbusPdu) -> list[str]:
    return [code for code, _ in pdu.anomalies or ()]


# -- framing -------------------------------------------------------------------------------------
def test_frame_size_needs_a_whole_header() -> None:
    assert frame_size(b"") is None
    assert frame_size(READ_HOLDING[:7]) is None  # the function code is still missing


def test_frame_size_is_header_plus_length() -> None:
    assert frame_size(hx(
        "0001"  # transaction id
        "0000"  # protocol id
        "0006"  # length 6 -> 12-byte ADU
        "11"  # unit id
        "03"  # function code
    )) == 12


def test_frame_size_tolerates_slightly_oversized_units() -> None:
    assert frame_size(hx("0007" "0000" "00ff" "00" "5a")) == 261  # Schneider UMAS echo
    assert frame_size(hx("0007" "0000" "0104" "00" "5a")) == 266  # 260: the last tolerated


@pytest.mark.parametrize("head", [
    "ffff" "0000" "0001" "ff" "01",  # length 1: no room for a function code
    "ffff" "0000" "0000" "00" "01",
    "ffff" "0000" "0105" "ff" "03",  # 261: beyond the tolerance
    "0001" "8804" "0507" "08" "09",  # quickdraw junk: protocol id 0x8804
    "ffff" "0000" "0006" "01" "00",  # function code 0
])
def test_frame_size_skips_what_cannot_start_a_unit(head: str) -> None:
    data = hx(head + "ffffffffff")  # 13 bytes, no plausible header at any offset
    assert frame_size(data) == 13 - 7  # keep 7 bytes: they may start a header
    assert frame_size(data + READ_HOLDING) == 13  # skip exactly up to the next header


def test_frame_size_junk_scan_needs_a_whole_header() -> None:
    data = hx("ffff" "ffff" "ffff" "ff" "ff")
    assert frame_size(data[:7]) is None
    assert frame_size(data) == 1
    # a zero pair whose header would be implausible is passed over
    assert frame_size(hx("ffff" "0000" "0000" "0000" "0000")) == 3


def test_frame_size_does_not_depend_on_segmentation() -> None:
    stream = hx("0001" "0010" "0006" "0a" "01" "0001" "0003") + bytes(40) + READ_HOLDING
    for cut in range(8, len(stream) + 1):
        skipped = 0
        buf = stream[:cut]
        rest = stream[cut:]
        while True:  # the engine's loop: frame_size over what has arrived so far
            size = frame_size(buf)
            if size is None or size > len(buf):
                if not rest:
                    break
                buf, rest = buf + rest[:5], rest[5:]
                continue
            if buf[:size] == READ_HOLDING:
                break
            skipped += size
            buf = buf[size:]
        assert skipped == 52, cut


@pytest.mark.parametrize(("head", "code", "detail"), [
    ("0001" "0010" "0006" "0a", "modbus.invalid_protocol_id", "protocol id 16, expected 0"),
    ("0001" "0000" "8804" "05", "modbus.invalid_length", "MBAP length 34820 outside 2..254"),
    ("0001" "0000" "0006" "01" "00", "modbus.unknown_function", "function code 0"),
    ("01", "modbus.invalid_length", "1 stray bytes"),
])
def test_junk_problem(head: str, code: str, detail: str) -> None:
    assert junk_problem(hx(head)) == (code, detail)


# -- probe ---------------------------------------------------------------------------------------
READ_HOLDING = hx(
    "0001"  # transaction id 1
    "0000"  # protocol id 0
    "0006"  # length: unit id + 5 PDU bytes
    "11"  # unit id 17
    "03"  # FC 3 read holding registers
    "006b"  # starting address 107
    "0003"  # quantity 3
)


def test_probe_accepts_requests_responses_and_pipelines() -> None:
    assert probe(READ_HOLDING, True)
    assert probe(hx("0001" "0000" "0003" "11" "83" "02"), False)  # exception response
    assert probe(hx("0001" "0000" "0003" "11" "83" "02"), True)  # either direction
    assert probe(READ_HOLDING + READ_HOLDING, True)
    assert probe(READ_HOLDING + READ_HOLDING[:3], True)  # next header still incomplete
    assert probe(READ_HOLDING + READ_HOLDING[:5], True)  # ... protocol id 0 so far


@pytest.mark.parametrize("data", [
    READ_HOLDING[:11],  # first unit incomplete
    READ_HOLDING[:2] + b"\x00\x01" + READ_HOLDING[4:],  # protocol id 1
    READ_HOLDING[:7] + b"\x32" + READ_HOLDING[8:],  # FC 50: unassigned
    READ_HOLDING[:4] + b"\x01\x00" + READ_HOLDING[6:],  # length 256
    READ_HOLDING + hx("0002" "0100"),  # what follows has protocol id 0x0100
    b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n",
    b"",
])
def test_probe_rejects(data: bytes) -> None:
    assert not probe(data, True)


def test_probe_rejects_lookalikes_of_other_protocols() -> None:
    # LDAP with a SASL/GSS-API wrap (malcolm KRB5.pcap, port 389): a 4-byte length 0x74 then
    # 05 04 ...: reads as transaction 0, protocol 0, length 116, unit 5, FC 4 with 114 data
    # bytes. Structurally plausible, but no FC 4 request is that long.
    sasl = hx("00000074" "0504" "04ff" "000c" "000c") + bytes(110)
    assert not probe(sasl, True) and not probe(sasl, False)
    # A structurally sound unit with a semantic oddity is still refused on unknown ground.
    assert not probe(hx("0001" "0000" "0006" "01" "03" "0000" "0000"), True)  # quantity 0


# -- header --------------------------------------------------------------------------------------
def test_header_fields() -> None:
    p = decode_request(READ_HOLDING)
    assert (p.transaction_id, p.unit_id, p.function_code, p.size) == (1, 17, 3, 5)
    assert p.anomalies is None


@pytest.mark.parametrize(("frame", "code"), [
    (hx("0001" "0000" "0002" "11"), "modbus.invalid_length"),  # 7 bytes: no function code
    (hx("0001" "0000" "0007" "11" "03" "006b" "0003"), "modbus.invalid_length"),  # says 7, has 6
    (hx("0001" "0001" "0006" "11" "03" "006b" "0003"), "modbus.invalid_protocol_id"),
])
def test_broken_header_is_malformed(frame: bytes, code: str) -> None:
    for from_client in (True, False):
        with pytest.raises(Malformed) as exc:
            decode(frame, from_client)
        assert exc.value.code == code


def test_oversized_pdu_is_decoded_and_flagged() -> None:
    frame = hx("0007" "0000" "00ff" "00" "5a" "00" "0a") + bytes(range(251))  # UMAS REPEAT, 254
    p = decode_request(frame)
    assert codes(p) == ["modbus.oversized_pdu"]
    assert p.umas_code == 0x0A and p.size == 254


# -- read functions ------------------------------------------------------------------------------
def test_fc1_read_coils() -> None:
    req = decode_request(hx(
        "0001" "0000" "0006" "01"
        "01"  # FC 1 read coils
        "0013"  # starting address 19
        "0013"  # quantity 19
    ))
    assert (req.address, req.quantity) == (19, 19)
    resp = decode_response(hx(
        "0001" "0000" "0006" "01"
        "01"  # FC 1
        "03"  # byte count 3
        "cd"  # coils 27-20: 1100 1101 -> LSB first: 1,0,1,1,0,0,1,1
        "6b"  # coils 35-28
        "05"  # coils 38-36, padded with zeros
    ))
    assert resp.byte_count == 3
    assert resp.coils is not None and len(resp.coils) == 24  # the session trims to the quantity
    assert resp.coils[:8] == (True, False, True, True, False, False, True, True)
    assert resp.coils[16:19] == (True, False, True)


def test_fc2_read_discrete_inputs() -> None:
    req = decode_request(hx("0002" "0000" "0006" "01" "02" "00c4" "0016"))  # 22 inputs at 196
    assert (req.function_code, req.address, req.quantity) == (2, 196, 22)
    resp = decode_response(hx("0002" "0000" "0006" "01" "02" "03" "ac" "db" "35"))
    assert resp.coils is not None and resp.coils[:4] == (False, False, True, True)  # 0xac


def test_fc3_read_holding_registers() -> None:
    req = decode_request(READ_HOLDING)
    assert (req.address, req.quantity) == (107, 3)
    resp = decode_response(hx(
        "0001" "0000" "0009" "11"
        "03"  # FC 3
        "06"  # byte count 6
        "022b"  # register 107 = 555
        "0000"  # register 108 = 0
        "0064"  # register 109 = 100
    ))
    assert resp.registers == (555, 0, 100) and resp.byte_count == 6


def test_fc4_read_input_registers() -> None:
    req = decode_request(hx("0001" "0000" "0006" "01" "04" "0008" "0001"))
    assert (req.function_code, req.address, req.quantity) == (4, 8, 1)
    resp = decode_response(hx("0001" "0000" "0005" "01" "04" "02" "000a"))
    assert resp.registers == (10,)


@pytest.mark.parametrize(("fc", "quantity", "bad"), [
    (1, 0, True), (1, 2000, False), (1, 2001, True),
    (2, 2000, False), (2, 2001, True),
    (3, 125, False), (3, 126, True), (3, 0, True),
    (4, 1, False), (4, 147, True),  # zeek fuzz-1011 asks for 147
])
def test_read_quantity_limits(fc: int, quantity: int, bad: bool) -> None:
    p = decode_request(hx(f"0001" "0000" "0006" "01" f"{fc:02x}" "0000" f"{quantity:04x}"))
    assert p.quantity == quantity
    assert codes(p) == (["modbus.invalid_quantity"] if bad else [])


def test_read_request_with_trailing_bytes() -> None:
    p = decode_request(hx("0001" "0000" "0007" "01" "03" "0000" "0001" "ff"))
    assert codes(p) == ["modbus.invalid_length"] and p.quantity == 1


def test_read_request_too_short_keeps_the_function() -> None:
    p = decode_request(hx("0001" "0000" "0004" "01" "03" "0000"))
    assert codes(p) == ["modbus.invalid_length"]
    assert p.function_code == 3 and p.address is None


def test_read_response_byte_count_disagrees_with_data() -> None:
    p = decode_response(hx("0001" "0000" "0007" "01" "03" "06" "0001" "0002"))  # says 6, has 4
    assert codes(p) == ["modbus.byte_count_mismatch"]
    assert p.registers == (1, 2)


def test_register_response_with_odd_byte_count() -> None:
    p = decode_response(hx("0001" "0000" "0006" "01" "04" "03" "0001" "02"))
    assert codes(p) == ["modbus.byte_count_mismatch"]
    assert p.registers == (1,)


# -- single writes -------------------------------------------------------------------------------
def test_fc5_write_single_coil_both_values() -> None:
    on = decode_request(hx(
        "0001" "0000" "0006" "01"
        "05"  # FC 5 write single coil
        "00ac"  # output address 172
        "ff00"  # ON
    ))
    assert (on.address, on.quantity, on.coils) == (172, 1, (True,))
    off = decode_response(hx("0001" "0000" "0006" "01" "05" "00ac" "0000"))  # echo, OFF
    assert off.coils == (False,)


def test_fc5_invalid_value() -> None:
    p = decode_request(hx("03d5" "0000" "0006" "ff" "05" "ffff" "1234"))
    assert codes(p) == ["modbus.invalid_coil_value"]
    assert p.address == 0xFFFF and p.coils is None


def test_fc6_write_single_register() -> None:
    p = decode_request(hx(
        "0001" "0000" "0006" "01"
        "06"  # FC 6 write single register
        "0001"  # register address 1
        "0003"  # value 3
    ))
    assert (p.address, p.quantity, p.registers) == (1, 1, (3,))
    assert decode_response(hx("0001" "0000" "0006" "01" "06" "0001" "0003")).registers == (3,)


# -- multiple writes -----------------------------------------------------------------------------
def test_fc15_write_multiple_coils() -> None:
    p = decode_request(hx(
        "0001" "0000" "0009" "01"
        "0f"  # FC 15 write multiple coils
        "0013"  # starting address 19
        "000a"  # quantity 10
        "02"  # byte count 2
        "cd"  # coils 19-26: 1,0,1,1,0,0,1,1
        "01"  # coils 27-28: 1,0
    ))
    assert (p.address, p.quantity, p.byte_count) == (19, 10, 2)
    assert p.coils == (True, False, True, True, False, False, True, True, True, False)
    resp = decode_response(hx("0001" "0000" "0006" "01" "0f" "0013" "000a"))
    assert (resp.address, resp.quantity) == (19, 10)


def test_fc15_byte_count_must_follow_quantity() -> None:
    p = decode_request(hx("0001" "0000" "000a" "01" "0f" "0013" "000a" "03" "cd01" "00"))
    assert codes(p) == ["modbus.byte_count_mismatch"]  # 10 coils take 2 bytes, not 3


def test_fc15_quantity_limit() -> None:
    p = decode_request(hx("0001" "0000" "0008" "01" "0f" "0000" "07b1" "01" "00"))  # 1969
    assert "modbus.invalid_quantity" in codes(p)


def test_fc16_write_multiple_registers() -> None:
    p = decode_request(hx(
        "0001" "0000" "000b" "01"
        "10"  # FC 16 write multiple registers
        "0001"  # starting address 1
        "0002"  # quantity 2
        "04"  # byte count 4
        "000a"  # 10
        "0102"  # 258
    ))
    assert (p.address, p.quantity, p.registers) == (1, 2, (10, 258))
    resp = decode_response(hx("0001" "0000" "0006" "01" "10" "0001" "0002"))
    assert (resp.address, resp.quantity) == (1, 2)


def test_fc16_byte_count_mismatches() -> None:
    short = decode_request(hx("0001" "0000" "0009" "01" "10" "0001" "0002" "04" "000a"))
    assert codes(short) == ["modbus.byte_count_mismatch"]  # says 4, 2 present
    assert short.registers == (10,)
    wrong = decode_request(hx("0001" "0000" "0009" "01" "10" "0001" "0002" "02" "000a"))
    assert codes(wrong) == ["modbus.byte_count_mismatch"]  # 2 registers take 4 bytes
    many = decode_request(hx("0001" "0000" "0007" "01" "10" "0001" "007c" "00"))
    assert "modbus.invalid_quantity" in codes(many)  # 124 > 123


# -- serial-line diagnostics functions ------------------------------------------------------------
def test_fc7_read_exception_status() -> None:
    assert decode_request(hx("0001" "0000" "0002" "01" "07")).anomalies is None
    resp = decode_response(hx("0001" "0000" "0003" "01" "07" "6d"))  # outputs 0110 1101
    assert resp.exception_status == 0x6D


def test_no_data_request_with_data() -> None:
    p = decode_request(hx("0001" "0000" "0003" "01" "07" "00"))
    assert codes(p) == ["modbus.invalid_length"]


def test_fc8_diagnostics() -> None:
    req = decode_request(hx(
        "0001" "0000" "0006" "01"
        "08"  # FC 8 diagnostics
        "0000"  # sub-function 0 return query data
        "a537"  # data
    ))
    assert (req.subfunction, req.diagnostic_data) == (0, "a537")
    resp = decode_response(hx("0001" "0000" "0006" "01" "08" "000b" "0123"))  # bus msg count
    assert (resp.subfunction, resp.diagnostic_data) == (0x0B, "0123")
    bare = decode_request(hx("0001" "0000" "0004" "01" "08" "0001"))  # restart, no data
    assert (bare.subfunction, bare.diagnostic_data) == (1, None)


def test_fc11_get_comm_event_counter() -> None:
    resp = decode_response(hx(
        "0001" "0000" "0006" "01"
        "0b"  # FC 11
        "ffff"  # status: busy
        "0108"  # event count 264
    ))
    assert (resp.comm_status, resp.event_count) == (0xFFFF, 264)


def test_fc12_get_comm_event_log() -> None:
    resp = decode_response(hx(
        "0001" "0000" "000b" "01"
        "0c"  # FC 12
        "08"  # byte count 8
        "0000"  # status
        "0108"  # event count 264
        "0121"  # message count 289
        "20" "00"  # events
    ))
    assert (resp.comm_status, resp.event_count, resp.message_count, resp.comm_events) == (
        0, 264, 289, "2000")


def test_fc17_report_server_id() -> None:
    resp = decode_response(hx(
        "0000" "0000" "0015" "0a"
        "11"  # FC 17 report server id
        "12"  # byte count 18
        "00"  # server id (device specific)
        "ff"  # run indicator ON
        "57696e6770617468204c696d69746564"  # "Wingpath Limited"
    ))
    assert resp.server_id == "00ff57696e6770617468204c696d69746564"
    assert resp.server_text == "Wingpath Limited"


# -- file records --------------------------------------------------------------------------------
def test_fc20_read_file_record() -> None:
    req = decode_request(hx(
        "0001" "0000" "0011" "01"
        "14"  # FC 20 read file record
        "0e"  # byte count 14
        "06" "0004" "0001" "0002"  # type 6, file 4, record 1, 2 registers
        "06" "0003" "0009" "0002"  # type 6, file 3, record 9, 2 registers
    ))
    assert req.file_records == (ModbusFileRecord(file=4, record=1, length=2),
                                ModbusFileRecord(file=3, record=9, length=2))
    resp = decode_response(hx(
        "0001" "0000" "000f" "01"
        "14"  # FC 20
        "0c"  # response data length 12
        "05" "06" "0df8" "0020"  # 5 bytes: type 6, two registers
        "05" "06" "33cd" "0040"
    ))
    assert resp.file_data == ((0x0DF8, 0x20), (0x33CD, 0x40))


def test_fc20_reference_and_byte_count_checks() -> None:
    p = decode_request(hx("0001" "0000" "000a" "01" "14" "07" "05" "0000" "2710" "0001"))
    assert codes(p) == ["modbus.invalid_reference"]  # reference type 5
    p = decode_request(hx("0001" "0000" "000a" "01" "14" "07" "06" "0001" "2710" "0001"))
    assert codes(p) == ["modbus.invalid_reference"]  # record 10000 > 9999
    empty = decode_request(hx("0010" "0000" "0003" "08" "14" "00"))  # icsnpp: byte count 0
    assert codes(empty) == ["modbus.byte_count_mismatch"] and empty.file_records == ()


def test_fc20_response_sub_response_overrun() -> None:
    p = decode_response(hx("0001" "0000" "0007" "01" "14" "04" "09" "06" "0df8"))
    assert codes(p) == ["modbus.invalid_length"] and p.file_data == ()


def test_fc21_write_file_record() -> None:
    frame = hx(
        "0001" "0000" "0010" "01"
        "15"  # FC 21 write file record
        "0d"  # byte count 13
        "06" "0004" "0007" "0003"  # type 6, file 4, record 7, 3 registers
        "06af" "04be" "100d"  # the data
    )
    req = decode_request(frame)
    assert req.file_records == (
        ModbusFileRecord(file=4, record=7, length=3, registers=(0x06AF, 0x04BE, 0x100D)),)
    assert decode_response(frame).file_records == req.file_records  # the response is an echo


def test_fc21_record_runs_past_the_pdu() -> None:
    p = decode_request(hx("0001" "0000" "000c" "01" "15" "09" "06" "0004" "0007" "0003" "06af"))
    assert "modbus.invalid_length" in codes(p) and p.file_records == ()


# -- mask write, read/write, FIFO ----------------------------------------------------------------
def test_fc22_mask_write_register() -> None:
    frame = hx(
        "0001" "0000" "0008" "01"
        "16"  # FC 22 mask write register
        "0004"  # reference address 4
        "00f2"  # AND mask
        "0025"  # OR mask
    )
    for p in (decode_request(frame), decode_response(frame)):
        assert (p.address, p.and_mask, p.or_mask) == (4, 0xF2, 0x25)


def test_fc23_read_write_multiple_registers() -> None:
    req = decode_request(hx(
        "0001" "0000" "0011" "01"
        "17"  # FC 23 read/write multiple registers
        "0003"  # read starting address 3
        "0006"  # quantity to read 6
        "000e"  # write starting address 14
        "0003"  # quantity to write 3
        "06"  # write byte count 6
        "00ff" "00ff" "00ff"  # values written
    ))
    assert (req.address, req.quantity, req.write_address, req.write_quantity) == (3, 6, 14, 3)
    assert req.write_registers == (255, 255, 255)
    resp = decode_response(hx("0001" "0000" "000f" "01" "17" "0c"
                              "00fe" "0acd" "0001" "0003" "000d" "00ff"))
    assert resp.registers == (0xFE, 0xACD, 1, 3, 0xD, 0xFF)


def test_fc23_limits() -> None:
    p = decode_request(hx("0001" "0000" "000d" "01" "17" "0000" "0000" "0001" "007a" "02" "0001"))
    assert codes(p) == ["modbus.invalid_quantity", "modbus.invalid_quantity",
                        "modbus.byte_count_mismatch"]  # read 0, write 122, 122 regs != 2 bytes


def test_fc24_read_fifo_queue() -> None:
    req = decode_request(hx("0001" "0000" "0004" "01" "18" "04de"))  # FIFO pointer 1246
    assert req.address == 1246
    resp = decode_response(hx(
        "0001" "0000" "000a" "01"
        "18"  # FC 24
        "0006"  # byte count 6
        "0002"  # FIFO count 2
        "01b8" "1284"  # values
    ))
    assert (resp.fifo_count, resp.registers) == (2, (440, 4740))


def test_fc24_fifo_count_limit() -> None:
    body = "".join("0000" for _ in range(32))
    frame = hx("0001" "0000" f"{6 + 64:04x}" "01" "18" f"{2 + 64:04x}" "0020" + body)
    assert codes(decode_response(frame)) == ["modbus.invalid_quantity"]  # 32 > 31


# -- encapsulated interface transport ------------------------------------------------------------
def test_fc43_14_read_device_identification() -> None:
    req = decode_request(hx(
        "0017" "0000" "0005" "01"
        "2b"  # FC 43
        "0e"  # MEI type 14 read device identification
        "01"  # read device id code 1 (basic)
        "00"  # object id 0
    ))
    assert (req.mei_type, req.device_id_code, req.object_id) == (14, 1, 0)
    resp = decode_response(hx(
        "0017" "0000" "0021" "01"
        "2b" "0e" "01"
        "81"  # conformity level: basic, stream and individual
        "00"  # more follows: no
        "00"  # next object id
        "03"  # number of objects
        "00" "07" "436f6d70616e79"  # VendorName "Company"
        "01" "04" "50433031"  # ProductCode "PC01"
        "02" "04" "76312e32"  # MajorMinorRevision "v1.2"
        "80" "02" "0102"  # private object 0x80
    ))
    assert resp.conformity_level == 0x81 and resp.more_follows is False
    assert resp.objects == (
        ModbusDeviceObject(id=0, name="VendorName", value="Company"),
        ModbusDeviceObject(id=1, name="ProductCode", value="PC01"),
        ModbusDeviceObject(id=2, name="MajorMinorRevision", value="v1.2"),
    )
    assert codes(resp) == ["modbus.invalid_length"]  # 4 bytes after the 3 announced objects


def test_fc43_more_follows_and_bad_values() -> None:
    p = decode_response(hx("0000" "0000" "000c" "00" "2b" "0e" "01" "00" "4d" "b7" "00"
                           "00000000"))  # zeek modbus-eit.pcap
    assert codes(p) == ["modbus.invalid_mei", "modbus.invalid_mei", "modbus.invalid_length"]
    assert (p.conformity_level, p.more_follows, p.next_object_id, p.objects) == (0, False, 0xB7, ())
    more = decode_response(hx("0000" "0000" "000b" "00" "2b" "0e" "02" "82" "ff" "05" "01"
                              "04" "01" "41"))
    assert more.more_follows is True and more.next_object_id == 5
    assert more.objects == (ModbusDeviceObject(id=4, name="ProductName", value="A"),)


def test_fc43_object_overrun_keeps_earlier_objects() -> None:
    p = decode_response(hx("0000" "0000" "000e" "00" "2b" "0e" "01" "01" "00" "00" "02"
                           "00" "01" "41" "01" "09" "42"))
    assert codes(p) == ["modbus.invalid_length"]
    assert p.objects == (ModbusDeviceObject(id=0, name="VendorName", value="A"),)


def test_fc43_request_checks() -> None:
    assert codes(decode_request(hx("0001" "0000" "0005" "0a" "2b" "0e" "05" "00"))) == [
        "modbus.invalid_mei"]  # read device id code 5
    assert codes(decode_request(hx("0001" "0000" "0006" "0a" "2b" "0e" "03" "01" "00"))) == [
        "modbus.invalid_length"]  # quickdraw: a trailing byte
    canopen = decode_request(hx("0001" "0000" "0005" "01" "2b" "0d" "0102"))
    assert (canopen.mei_type, canopen.raw, canopen.anomalies) == (13, "0102", None)
    reserved = decode_request(hx("0001" "0000" "0003" "01" "2b" "07"))
    assert codes(reserved) == ["modbus.invalid_mei"]


def test_object_names() -> None:
    assert object_name(6) == "UserApplicationName"
    assert object_name(0x20) == "reserved_0x20"
    assert object_name(0x90) == "private_0x90"


# -- UMAS ----------------------------------------------------------------------------------------
def test_umas_request_and_response() -> None:
    req = decode_request(hx(
        "0001" "0000" "0006" "00"
        "5a"  # FC 90 UMAS
        "00"  # session key
        "41"  # STOP_PLC
        "ff00"  # data
    ))
    assert (req.umas_session, req.umas_code, req.raw) == (0, 0x41, "ff00")
    ok = decode_response(hx("0001" "0000" "0004" "00" "5a" "00" "fe"))
    assert (ok.umas_status, ok.raw) == ("ok", None)
    err = decode_response(hx("0001" "0000" "0006" "00" "5a" "00" "fd" "0203"))
    assert (err.umas_status, err.raw) == ("error", "0203")
    odd = decode_response(hx("0001" "0000" "0004" "00" "5a" "00" "12"))
    assert odd.umas_status == "unknown"


def test_umas_signed_request_reports_the_inner_code() -> None:
    frame = hx("0001" "0000" "0028" "00" "5a" "07"
               "38"  # signed message
               "01"  # magic
               + "ab" * 32  # signature
               + "5a" "07" "40")  # inner request: START_PLC
    p = decode_request(frame)
    assert (p.umas_code, p.umas_signed) == (0x40, True)


def test_umas_unknown_code() -> None:
    p = decode_request(hx("0001" "0000" "0004" "00" "5a" "00" "99"))
    assert codes(p) == ["modbus.unknown_umas_function"]


# -- other and unknown codes ---------------------------------------------------------------------
@pytest.mark.parametrize("fc", [65, 72, 100, 110, 9, 126, 41])
def test_user_defined_and_legacy_codes_are_opaque(fc: int) -> None:
    p = decode_request(hx(f"0001" "0000" "0004" "01" f"{fc:02x}" "beef"))
    assert (p.function_code, p.raw, p.anomalies) == (fc, "beef", None)


def test_function_code_zero_is_no_unit() -> None:
    for from_client in (True, False):
        with pytest.raises(Malformed) as exc:
            decode(hx("0001" "0000" "0003" "01" "00" "00"), from_client)
        assert exc.value.code == "modbus.unknown_function"


@pytest.mark.parametrize("fc", [25, 50, 73, 99, 111])
def test_unknown_function(fc: int) -> None:
    p = decode_request(hx(f"0001" "0000" "0003" "01" f"{fc:02x}" "00"))
    assert codes(p) == ["modbus.unknown_function"] and p.function_code == fc


def test_request_with_exception_bit() -> None:
    p = decode_request(hx("0001" "0000" "0004" "0a" "81" "0600"))  # quickdraw
    assert codes(p) == ["modbus.unknown_function"] and p.function_code == 0x81


def test_raw_payload_is_capped() -> None:
    p = decode_request(hx("0001" "0000" "0066" "01" "41") + bytes(100))
    assert p.raw == "00" * 64 and p.truncated


# -- exceptions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("code", sorted(EXCEPTION_CODES))
def test_exception_response(code: int) -> None:
    p = decode_response(hx("0001" "0000" "0003" "0a" "81" f"{code:02x}"))
    assert (p.function_code, p.is_exception, p.exception_code) == (1, True, code)
    assert p.anomalies is None


def test_exception_response_oddities() -> None:
    unknown = decode_response(hx("0001" "0000" "0003" "0a" "83" "09"))
    assert codes(unknown) == ["modbus.unknown_exception_code"]
    long = decode_response(hx("0001" "0000" "0004" "0a" "81" "0600"))  # quickdraw
    assert codes(long) == ["modbus.invalid_length"] and long.exception_code == 6
    bare = decode_response(hx("0001" "0000" "0002" "0a" "81"))
    assert codes(bare) == ["modbus.invalid_length"] and bare.exception_code is None


# -- tables --------------------------------------------------------------------------------------
def test_tables_cover_the_specification() -> None:
    public = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43}
    user = set(range(65, 73)) | set(range(100, 111))
    assert public | user | {90} <= set(FUNCTIONS)
    assert set(DIAGNOSTIC_SUBFUNCTIONS) >= {0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20}
    assert EXCEPTION_CODES[11] == "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND"
    for code, name in [(0x01, "INIT_COMM"), (0x02, "READ_ID"), (0x10, "TAKE_PLC_RESERVATION"),
                       (0x33, "INITIALIZE_DOWNLOAD"), (0x40, "START_PLC"), (0x41, "STOP_PLC"),
                       (0x73, "GET_STATUS_MODULE")]:
        assert UMAS_FUNCTIONS[code][0] == name
    assert UMAS_FUNCTIONS[0x41][1] == "control" and UMAS_FUNCTIONS[0x34][1] == "program"
    assert DIAGNOSTIC_SUBFUNCTIONS[1][1] == "control"
    for code in ANOMALY_CODES:
        assert code.startswith("modbus.") and code == code.lower()
