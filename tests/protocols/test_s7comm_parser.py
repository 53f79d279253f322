"""S7comm parser: annotated byte vectors for every function, userdata group and anomaly code.

Most vectors are PDUs seen in the public captures (Snap7 client against an S7-300), written out
field by field.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.s7comm.events import S7BlockCount, S7ModuleIdent
from otshield.protocols.s7comm.parser import parse_pdu
from otshield.protocols.s7comm.pdu import MAX_ITEMS, MAX_VALUE_BYTES, S7Pdu
from otshield.protocols.s7comm.userdata import decode_payload, s7_date_and_time, s7_timestamp


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def pdu(hexstr: str) -> S7Pdu:
    """Parse a PDU written out completely (header included)."""
    return parse_pdu(h(hexstr))


def build(rosctr: int, ref: int, param: str, data: str = "", err: str = "0000") -> bytes:
    """Header (0x32, ROSCTR, redundancy 0, PDU reference, parameter and data lengths computed,
    error class/code for ack-data) + parameter + data."""
    head = bytes([0x32, rosctr, 0, 0]) + ref.to_bytes(2, "big")
    head += len(h(param)).to_bytes(2, "big") + len(h(data)).to_bytes(2, "big")
    if rosctr in (2, 3):
        head += h(err)
    return head + h(param) + h(data)


def job(ref: int, param: str, data: str = "") -> S7Pdu:
    return parse_pdu(build(1, ref, param, data))


def ackd(ref: int, param: str, data: str = "", err: str = "0000") -> S7Pdu:
    return parse_pdu(build(3, ref, param, data, err))


def ud(param: str, data: str, ref: int = 1) -> S7Pdu:
    """A userdata PDU with its payload decoded (as the session does for one data unit)."""
    p = parse_pdu(build(7, ref, param, data))
    decode_payload(p, p.ud_payload)
    return p


def udx(hexstr: str) -> S7Pdu:
    """A userdata PDU written out completely, with its payload decoded."""
    p = pdu(hexstr)
    decode_payload(p, p.ud_payload)
    return p


def udd(payload: str, ret: str = "ff", tsize: str = "09") -> str:
    """Userdata data part: return code, transport size, computed length, payload."""
    return ret + tsize + f"{len(h(payload)):04x}" + payload


# -- header ----------------------------------------------------------------------------------------
def test_job_header() -> None:
    p = pdu(
        "32"    # protocol id
        "01"    # ROSCTR job
        "0000"  # redundancy id
        "0100"  # PDU reference 256
        "0008"  # parameter length 8
        "0000"  # data length 0
        "f0 00 0001 0001 01e0"  # setup communication: AmQ 1/1, PDU 480
    )
    assert (p.rosctr, p.pdu_ref, p.function) == (1, 256, 0xF0)
    assert (p.error_class, p.error_code) == (None, None)
    assert (p.max_amq_calling, p.max_amq_called, p.pdu_size) == (1, 1, 480)
    assert p.issues == []


def test_ack_header_with_error() -> None:
    p = pdu(
        "32" "02"  # ack
        "0000" "1500" "0000" "0000"
        "d2"       # error class 0xd2
        "0c"       # error code 0x0c -> 0xd20c
    )
    assert (p.rosctr, p.pdu_ref, p.error_class, p.error_code, p.function) == (
        2, 0x1500, 0xD2, 0x0C, None)


@pytest.mark.parametrize("raw, code", [
    ("3201000001", "s7comm.invalid_header"),  # 5 bytes
    ("33010000010000000000", "s7comm.invalid_header"),  # protocol id 0x33
    ("32030000010000000000", "s7comm.invalid_header"),  # ack-data needs 12 bytes
    ("32050000010000000000", "s7comm.unknown_rosctr"),  # ROSCTR 5
    ("32 01 0000 0001 0002 0000" "f0", "s7comm.invalid_length"),  # parameter 2, 1 present
    ("32 01 0000 0001 0000 0004", "s7comm.invalid_length"),  # data 4, none present
    ("32 01 0000 0001 0002 0000" "f000", "s7comm.invalid_parameter"),  # setup cut short
    ("32 01 0000 0001 0001 0000" "04", "s7comm.invalid_parameter"),  # read without count
])
def test_malformed_headers(raw: str, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        pdu(raw)
    assert exc.value.code == code


def test_unknown_job_function_is_an_issue() -> None:
    p = pdu("32 01 0000 0001 0002 0000" "77 00")  # function 0x77
    assert p.function == 0x77
    assert p.issues == [("s7comm.unknown_function", "function 0x77")]


# -- read / write var ------------------------------------------------------------------------------
READ_REQ = (
    "32 01 0000 1b00 001a 0000"
    "04"    # read var
    "02"    # 2 items
    "12 0a 10"  # item 1: variable spec, length 10, syntax S7ANY
    "02"        #   transport size BYTE
    "0010"      #   16 elements
    "0000"      #   DB 0 (unused)
    "83"        #   area M
    "000000"    #   address byte 0, bit 0
    "12 0a 10"  # item 2
    "01"        #   BIT
    "0001"      #   1 element
    "0005"      #   DB 5
    "84"        #   area DB
    "00004b"    #   address 0x4b = byte 9, bit 3
)


def test_read_var_request_items() -> None:
    p = pdu(READ_REQ)
    assert p.item_count == 2
    assert p.items == [
        dict(syntax="S7ANY", area="M", area_code=0x83, byte_address=0, bit_address=0,
               transport_size="BYTE", count=16),
        dict(syntax="S7ANY", area="DB", area_code=0x84, db=5, byte_address=9, bit_address=3,
               transport_size="BIT", count=1),
    ]
    assert p.issues == []


def test_read_var_response_values() -> None:
    p = pdu(
        "32 03 0000 1b00 0002 0011 00 00"
        "04 02"       # read var, 2 items
        "ff"          # item 1: success
        "04"          #   transport size BYTE/WORD/DWORD (length in bits)
        "0018"        #   24 bits = 3 bytes
        "acde0d"      #   value
        "00"          #   fill byte (odd length, not the last item)
        "0a"          # item 2: object does not exist
        "00" "0000"   #   no data
        "ff 03 0001 01"  # a third item the count does not declare
    )
    assert p.issues == [("s7comm.item_count_mismatch",
                         "2 data items declared, 5 bytes left in the data part")]
    assert p.values is not None and len(p.values) == 2
    first, second = p.values
    assert (first.return_code, first.transport_size, first.value, first.length) == (
        0xFF, 4, bytes.fromhex("acde0d"), 3)
    assert (second.return_code, second.value) == (0x0A, None)


def test_read_var_response_bit_and_octet_string() -> None:
    p = pdu(
        "32 03 0000 0001 0002 000e 00 00"
        "04 02"
        "ff 03 0001 01"   # BIT, length 1 bit -> 1 byte, value 1
        "00"              # fill byte
        "ff 09 0004 41424344"  # OCTET STRING, length in bytes
    )
    assert p.values is not None
    assert [(v.transport_size, v.value) for v in p.values] == [
        (3, b"\x01"), (9, b"ABCD")]


def test_write_var_request_and_response() -> None:
    req = pdu(
        "32 01 0000 1800 000e 0008"
        "05 01"                        # write var, 1 item
        "12 0a 10 08 0001 0000 83 000080"  # REAL, 1 element, area M, byte 16
        "00"          # return code: reserved in a request
        "07"          # transport size REAL (length in bytes)
        "0004"        # 4 bytes
        "79e9f642"    # value
    )
    assert req.items == [dict(syntax="S7ANY", area="M", area_code=0x83, byte_address=16,
                                bit_address=0, transport_size="REAL", count=1)]
    assert req.values is not None and req.values[0].value == bytes.fromhex("79e9f642")
    resp = pdu("32 03 0000 1800 0002 0001 00 00" "05 01" "ff")  # one return code: success
    assert resp.return_codes == [0xFF]


def test_timer_and_counter_items_use_element_numbers() -> None:
    p = pdu("32 01 0000 0002 000e 0000" "04 01"
            "12 0a 10 1d 0001 0000 1d 00000c")  # TIMER, area T, element 12
    assert p.items == [dict(syntax="S7ANY", area="T", area_code=0x1D, byte_address=12,
                              transport_size="TIMER", count=1)]


def test_other_address_syntaxes() -> None:
    p = job(
        3,
        "04 03"
        "12 07 b0"           # DBREAD, length 7
        "01"                 #   1 area
        "10 0014 0002"       #   16 bytes of DB20 from byte 2
        "00"                 # fill byte
        "12 0e b2"           # 1200 symbolic, length 14
        "ff" "8a0e" "0011"   #   reserved, area DB, DB17
        "aabbccdd" "40000001"  # CRC, one LID
        "12 08 82"           # NCK, length 8
        "41 0001 0002 1a 01"
    )
    assert p.items == [
        dict(syntax="DBREAD", area="DB", area_code=0x84, db=20, byte_address=2,
               transport_size="BYTE", count=16),
        dict(syntax="1200SYM", area="DB", area_code=0x84, db=17),
        dict(syntax="NCK", area="NCK"),
    ]
    assert p.issues == []


def test_item_count_mismatch_and_invalid_item() -> None:
    short = pdu("32 01 0000 0004 000e 0000" "04 02" "12 0a 10 02 0001 0000 83 000000")
    assert short.issues == [("s7comm.item_count_mismatch", "2 items declared, 1 present")]
    extra = pdu("32 01 0000 0005 0010 0000" "04 01" "12 0a 10 02 0001 0000 83 000000" "abcd")
    assert extra.issues == [("s7comm.item_count_mismatch",
                             "1 items declared, 2 bytes left in the parameter part")]
    overrun = pdu("32 01 0000 0006 0008 0000" "04 01" "12 0a 10 02 0001 00")
    assert overrun.issues[0][0] == "s7comm.invalid_item"
    values = pdu("32 03 0000 0007 0002 0006 00 00" "04 01" "ff 04 0020 0102")  # 4 bytes said
    assert values.issues[0][0] == "s7comm.invalid_item"
    assert values.values is not None and values.values[0].value == b"\x01\x02"


def test_items_and_values_are_bounded() -> None:
    count = MAX_ITEMS + 6
    item = "12 0a 10 02 0001 0000 83 000000"
    p = pdu(f"32 01 0000 0008 {2 + 12 * count:04x} 0000" f"04 {count:02x}" + item * count)
    assert p.item_count == count and p.items is not None and len(p.items) == MAX_ITEMS
    big = "ab" * (MAX_VALUE_BYTES + 10)
    r = pdu(f"32 03 0000 0009 0002 {4 + MAX_VALUE_BYTES + 10:04x} 00 00" "04 01"
            f"ff 09 {MAX_VALUE_BYTES + 10:04x}" + big)
    assert r.values is not None
    assert len(r.values[0].value or b"") == MAX_VALUE_BYTES
    assert r.values[0].length == MAX_VALUE_BYTES + 10


# -- block transfer --------------------------------------------------------------------------------
def test_start_upload_request_and_response() -> None:
    req = pdu(
        "32 01 0000 0800 0012 0000"
        "1d"          # start upload
        "00"          # function status
        "0000"        # unknown
        "00000000"    # upload id
        "09"          # file name length
        "5f 3042 3030303030 41"  # "_" + "0B" (SDB) + "00000" + "A" (active file system)
    )
    assert (req.function, req.block_type, req.block_number, req.filesystem, req.file_id) == (
        0x1D, "SDB", 0, "active", "_")
    assert req.filename == "_0B00000A"
    resp = pdu(
        "32 03 0000 0800 0010 0000 00 00"
        "1d 00 0100"
        "00000007"    # upload id 7
        "07"          # length string of 7 characters
        "30303030323136"  # "0000216" bytes
    )
    assert (resp.upload_id, resp.upload_length, resp.more_data) == (7, 216, False)


def test_upload_and_end_upload() -> None:
    req = pdu("32 01 0000 0900 0008 0000" "1e 00 0000 00000007")  # upload id 7
    assert (req.function, req.upload_id) == (0x1E, 7)
    resp = pdu("32 03 0000 0900 0002 0008 00 00"
               "1e 01"        # function status: more data follows
               "0004 00fb"    # data length 4, unknown
               "70700302")    # 4 bytes of the block
    assert (resp.data_length, resp.more_data) == (4, True)
    end = pdu("32 01 0000 0a00 0008 0000" "1f 00 0000 00000007")
    assert (end.function, end.upload_id, end.block_error) == (0x1F, 7, None)


def test_download_functions() -> None:
    request = pdu(
        "32 01 0000 0100 0020 0000"
        "1a 00 0100 00000000"
        "09 5f 3041 3030303031 50"   # _0A00001P: DB1 to the passive file system
        "0d"                         # part 2 length 13
        "31"                         # unknown character '1'
        "303030323634"               # load memory length "000264"
        "303030313430"               # MC7 length "000140"
    )
    assert (request.block_type, request.block_number, request.filesystem) == (
        "DB", 1, "passive")
    assert (request.load_memory_length, request.mc7_length) == (264, 140)
    block = pdu("32 01 0000 0200 0012 0000"
                "1b 00 0100 00000000 09 5f 3041 3030303031 50")  # sent by the PLC
    assert (block.function, block.block_type, block.block_number) == (0x1B, "DB", 1)
    ended = pdu("32 01 0000 0300 0012 0000"
                "1c 00 d209 00000000 09 5f 3041 3030303031 50")  # with an error code
    assert (ended.function, ended.block_error) == (0x1C, 0xD209)
    data = pdu("32 03 0000 0200 0002 000a 00 00" "1b 00" "0006 00fb 707003020100")
    assert data.data_length == 6


def test_block_transfer_errors() -> None:
    with pytest.raises(Malformed) as exc:
        pdu("32 01 0000 0001 0003 0000" "1d 00 00")
    assert exc.value.code == "s7comm.invalid_parameter"
    with pytest.raises(Malformed):  # file name longer than the parameter part
        pdu("32 01 0000 0001 000a 0000" "1d 00 0000 00000000 09")


def test_nc_file_name_is_kept_raw() -> None:
    p = pdu("32 01 0000 0001 0011 0000" "1d 00 0000 00000000 08" "2f5f4e5f4d504600")
    assert p.filename == "/_N_MPF\x00" and p.block_type is None


# -- PI service / PLC stop -------------------------------------------------------------------------
def test_pi_service_insert_and_delete_blocks() -> None:
    p = job(
        0x400,
        "28"                  # PI service
        "000000000000fd"      # 7 unknown bytes
        "0012"                # parameter block length 18
        "02 00"               # 2 blocks, unknown byte
        "3038 3030303031 50"  # "08" OB, "00001", passive
        "3041 3030303130 50"  # "0A" DB, "00010", passive
        "05" "5f494e5345"     # "_INSE"
    )
    assert p.pi_service == "_INSE"
    assert p.blocks == ["OB1", "DB10"]
    assert p.filesystem == "passive"
    d = job(0x500, "28 000000000000fd 000a 01 00 3043 3030303032 42"
            "05 5f44454c45")  # _DELE of FC2 (both file systems)
    assert (d.pi_service, d.blocks, d.filesystem) == ("_DELE", ["FC2"], "active_and_passive")


def test_pi_service_with_argument() -> None:
    p = pdu("32 01 0000 1d00 0012 0000"
            "28 000000000000fd"
            "0002" "4550"      # argument "EP"
            "05" "5f4d4f4455")  # _MODU: copy RAM to ROM
    assert (p.pi_service, p.pi_arguments) == ("_MODU", ["EP"])
    start = pdu("32 01 0000 1f00 0016 0000" "28 000000000000fd 0002 4320 09 505f50524f4752414d")
    assert (start.pi_service, start.pi_arguments) == ("P_PROGRAM", ["C "])
    garb = pdu("32 01 0000 1e00 0010 0000" "28 000000000000fd 0000 05 5f47415242")
    assert (garb.pi_service, garb.pi_arguments) == ("_GARB", None)


def test_nc_login_password_is_never_kept() -> None:
    p = job(1,
            "28 000000000000fd"
            "000a"
            "01 50"                # address identifier "P" (1 + 1 bytes: even, no pad)
            "06 736563726574"      # password "secret": 6 characters
            "00"                   # pad: 1 + 6 is odd
            "09 5f4e5f4c4f47494e5f")  # "_N_LOGIN_"
    assert p.pi_service == "_N_LOGIN_"
    assert p.password_present is True
    assert p.pi_arguments is not None and "secret" not in "".join(p.pi_arguments)
    assert p.pi_arguments[0] == "P"
    assert p.pi_arguments[1] == "<password>"


def test_plc_stop() -> None:
    p = pdu("32 01 0000 1c00 0010 0000"
            "29"              # PLC stop
            "0000000000"      # 5 unknown bytes
            "09"              # name length
            "505f50524f4752414d")  # "P_PROGRAM"
    assert (p.function, p.pi_service) == (0x29, "P_PROGRAM")
    ack = pdu("32 03 0000 1c00 0001 0000 00 00" "29")
    assert ack.function == 0x29
    with pytest.raises(Malformed):
        pdu("32 01 0000 1c00 0004 0000" "29 000000")
    with pytest.raises(Malformed):
        pdu("32 01 0000 0001 0008 0000" "28 000000000000")


# -- userdata --------------------------------------------------------------------------------------
def test_read_szl_request() -> None:
    p = udx(
        "32 07 0000 0100 0008 0008"
        "00 01 12"    # head: function 0, 1 item, variable spec 0x12
        "04"          # parameter length 4 (request)
        "11"          # syntax id 0x11
        "44"          # type 1 (request) << 6 | group 4 (CPU functions)
        "01"          # subfunction 1: read SZL
        "00"          # sequence number
        "ff 09 0004"  # return code, transport size, length 4
        "0011 0000"   # SZL id 0x0011, index 0
    )
    assert (p.ud_type, p.group, p.subfunction, p.sequence) == (1, 4, 1, 0)
    assert (p.szl_id, p.szl_index) == (0x11, 0)


def test_read_szl_0011_response() -> None:
    p = ud(
        "00 01 12 08 12"  # head, parameter length 8, syntax 0x12
        "84 01 02"        # type 2 (response) | group 4, read SZL, sequence 2
        "00 00 0000",     # data unit 0, last, no error
        "ff 09 0040"      # success, 64 bytes
        "0011 0000 001c 0002"  # SZL 0x0011, index 0, 28-byte records, 2 of them
        "0001" "36455337203331352d32454831342d3041423020" "00c0 0003 0001"
        "0007" "2020202020202020202020202020202020202020" "00c0 5603 0207"
    )
    assert (p.szl_id, p.szl_index, p.szl_record_count) == (0x11, 0, 2)
    assert p.module_identification == [
        S7ModuleIdent(index=1, order_number="6ES7 315-2EH14-0AB0", module_type=0xC0, ausbg=3,
                      ausbe=1),
        S7ModuleIdent(index=7, order_number=None, module_type=0xC0, ausbg=0x5603, ausbe=0x0207),
    ]
    assert p.identity == {"order_number": "6ES7 315-2EH14-0AB0", "firmware_version": "V3.2.7"}


def test_read_szl_001c_component_identification() -> None:
    records = "".join(
        f"{idx:04x}" + text.encode().ljust(32, b"\0").hex()
        for idx, text in [(1, "S7300/ET200M station_1"), (2, "PLC_1"), (3, ""),
                          (4, "Original Siemens Equipment"), (5, "S C-B1U393142011"),
                          (7, "CPU 315-2 PN/DP"), (8, "MMC 4A1AC019"), (9, "\x00\x2a")])
    p = ud("00 01 12 08 12 84 01 02 00 00 0000", udd("001c 0000 0022 0008" + records))
    assert p.identity == {
        "plc_name": "S7300/ET200M station_1", "module_name": "PLC_1",
        "copyright": "Original Siemens Equipment", "serial_number": "S C-B1U393142011",
        "module_type_name": "CPU 315-2 PN/DP", "memory_card_serial": "MMC 4A1AC019"}


def test_szl_header_only_and_truncated() -> None:
    head = udx("32 07 0000 0001 000c 000c" "00 01 12 08 12 84 01 00 00 00 0000"
              "ff 09 0008" "0f11 0000 001c 0004")  # extract 0xF: count only
    assert (head.szl_id, head.szl_record_count, head.issues) == (0x0F11, 4, [])
    cut = udx("32 07 0000 0001 000c 000e" "00 01 12 08 12 84 01 00 00 00 0000"
             "ff 09 000a" "0011 0000 001c 0004 0001")
    assert cut.issues == [("s7comm.invalid_szl",
                           "SZL 0x0011: 4 records of 28 bytes, 2 bytes present")]
    tiny = udx("32 07 0000 0001 000c 0006" "00 01 12 08 12 84 01 00 00 00 0000" "ff 09 0002 0011")
    assert tiny.issues[0][0] == "s7comm.invalid_szl"


def test_userdata_response_error_and_data_units() -> None:
    p = pdu("32 07 0000 0b00 000c 0004"
            "00 01 12 08 12 83 03 00"  # response, block functions, block info
            "00 00 d209"               # error: block not found on the module
            "0a 00 0000")              # return code: object does not exist, no data
    assert (p.ud_error, p.ud_return_code, p.ud_payload) == (0xD209, 0x0A, b"")
    frag = pdu("32 07 0000 0200 000c 0006" "00 01 12 08 12 84 01 02"
               "d5"       # data unit reference 0xd5
               "01"       # not the last data unit
               "0000" "ff 09 0002 0102")
    assert (frag.data_unit_ref, frag.last_data_unit, frag.ud_payload) == (0xD5, False, b"\x01\x02")
    short = pdu("32 07 0000 0001 0008 0006" "00 01 12 04 11 44 01 00" "ff 09 0008 0102")
    assert short.issues == [("s7comm.invalid_length",
                             "userdata data length 8, 2 bytes present")]


def test_list_blocks_response() -> None:
    p = udx("32 07 0000 0700 000c 000c"
           "00 01 12 08 12 83 01 00 00 00 0000"
           "ff 09 0008"
           "3038 0001"    # OB: 1
           "3041 0002")   # DB: 2
    assert p.block_counts == [S7BlockCount("OB", 1), S7BlockCount("DB", 2)]


def test_list_blocks_of_type() -> None:
    req = udx("32 07 0000 0001 0008 0006" "00 01 12 04 11 43 02 00" "ff 09 0002 3041")  # DBs
    assert req.block_type == "DB"
    resp = udx("32 07 0000 0001 000c 000c" "00 01 12 08 12 83 02 01 00 00 0000"
              "ff 09 0008" "0001 22 05" "000a 22 05")  # DB1, DB10 (flags, language DB)
    assert resp.block_numbers == [1, 10]


def test_block_info_request_and_response() -> None:
    req = udx("32 07 0000 0b00 0008 000c" "00 01 12 04 11 43 03 00"
             "ff 09 0008" "3041 3030303031 41")  # DB1, active file system
    assert (req.block_type, req.block_number, req.filesystem) == ("DB", 1, "active")
    body = (
        "3041 0046 0001 7070"  # type "0A", info length, unknown, "pp"
        "01"                  # unknown
        "01"                  # flags
        "05"                  # language DB
        "0a"                  # block type DB
        "0001"                # number 1
        "00000108"            # load memory 264
        "00000003"            # know-how protection
        "000f4240 0001"       # code timestamp: 1,000,000 ms, day 1 -> 1984-01-02 00:16:40
        "00000000 0000"       # interface timestamp: 1984-01-01
        "001c 0000 0000 0024"  # SSB, ADD, local data lengths, MC7 length 36
        + b"ALICE".ljust(8, b"\0").hex() + b"FAM".ljust(8, b"\0").hex()
        + b"NAME".ljust(8, b"\0").hex()
        + "12"                # version 1.2
        "00"
        "abcd"                # checksum
        "00000000 00000000"
    )
    resp = ud("00 01 12 08 12 83 03 00 00 00 0000", udd(body))
    assert (resp.block_type, resp.block_number) == ("DB", 1)
    info = resp.block_info
    assert info is not None
    assert (info.language, info.load_memory_length, info.mc7_length) == ("DB", 264, 36)
    assert info.know_how_protected
    assert (info.author, info.family, info.name, info.version, info.checksum) == (
        "ALICE", "FAM", "NAME", "1.2", 0xABCD)
    assert info.code_timestamp == "1984-01-02T00:16:40.000"
    assert info.interface_timestamp == "1984-01-01T00:00:00.000"
    short = udx("32 07 0000 0b00 000c 0008" "00 01 12 08 12 83 03 00 00 00 0000"
                "ff 09 0004 30410046")
    assert short.issues == [("s7comm.invalid_block_info", "4 bytes")]


def test_clock_functions() -> None:
    read = udx("32 07 0000 1600 000c 000e"
              "00 01 12 08 12 87 01 02 00 00 0000"  # response, time functions, read clock
              "ff 09 000a"
              "00"      # reserved
              "19"      # century (not used)
              "16"      # year 16 -> 2016
              "02 08"   # February 8
              "14 51 37"  # 14:51:37
              "91 62")  # 916 ms, weekday 2 (Monday)
    assert read.plc_time == "2016-02-08T14:51:37.916"
    setc = udx("32 07 0000 1700 0008 000e" "00 01 12 04 11 47 02 00"
              "ff 09 000a" "00 19 99 12 31 23 59 59 99 91")
    assert setc.plc_time == "1999-12-31T23:59:59.999"
    bad = udx("32 07 0000 1700 0008 000e" "00 01 12 04 11 47 02 00"
             "ff 09 000a" "00 19 16 13 08 14 51 37 91 62")  # month 13
    assert bad.plc_time is None and bad.issues[0][0] == "s7comm.invalid_timestamp"
    cut = udx("32 07 0000 1700 0008 0008" "00 01 12 04 11 47 02 00" "ff 09 0004 00191602")
    assert cut.issues == [("s7comm.invalid_timestamp", "4 bytes")]


def test_security_password_presence_only() -> None:
    p = udx("32 07 0000 0001 0008 000c" "00 01 12 04 11 45 01 00"  # security, PLC password
           "ff 09 0008" "0102030405060708")  # the scrambled password
    assert p.password_present is True
    clear = udx("32 07 0000 0002 0008 0004" "00 01 12 04 11 45 02 00" "0a 00 0000")
    assert clear.password_present is None


def test_cyclic_subscription_and_push() -> None:
    req = ud("00 01 12 04 11 42 01 00",  # request, cyclic data, cyclic transfer
             udd("00 01"    # reserved, 1 item
                 "01 05"    # time base 1 s, factor 5 -> every 5 s
                 "12 0a 10 04 0001 0000 82 000000"))  # WORD of Q0
    assert (req.item_count, req.cycle_time) == (1, 5.0)
    assert req.items == [dict(syntax="S7ANY", area="Q", area_code=0x82, byte_address=0,
                                bit_address=0, transport_size="WORD", count=1)]
    push = udx("32 07 0000 0000 000c 000c"
              "00 01 12 08 12 02 01 03 00 00 0000"  # indication (type 0), cyclic, job 3
              "ff 09 0008" "00 01" "ff 04 0010 1234")
    assert push.ud_type == 0 and push.job_id == 3
    assert push.values is not None and push.values[0].value == b"\x12\x34"
    unsub = udx("32 07 0000 0002 0008 0006" "00 01 12 04 11 42 04 00" "ff 09 0002 8003")
    assert unsub.job_id == 3


def test_mode_transition_indication() -> None:
    p = pdu("32 07 0000 0000 0008 0000"
            "01"          # function: mode transition
            "01"          # item count
            "00000000"    # unknown
            "08"          # mode ? (not in our table)
            "00")
    assert (p.function, p.group, p.cpu_mode, p.ud_type) == (1, 0, 8, 0)
    with pytest.raises(Malformed):
        pdu("32 07 0000 0000 0004 0000" "01 01 0000")


def test_usend_and_short_userdata_parameter() -> None:
    p = pdu("32 07 0000 0000 000c 0000" "00 01 12 08 13 00 00000001 0000")
    assert (p.group, p.subfunction) == (6, 0)
    with pytest.raises(Malformed) as exc:
        pdu("32 07 0000 0000 0004 0000" "00 01 12 04")
    assert exc.value.code == "s7comm.invalid_parameter"
    with pytest.raises(Malformed):
        pdu("32 07 0000 0000 0001 0000" "00")


def test_timestamps() -> None:
    assert s7_date_and_time(bytes.fromhex("00 00 89 12 31 23 59 59 00 00".replace(" ", ""))) == (
        "2089-12-31T23:59:59.000")
    assert s7_date_and_time(bytes.fromhex("00009000010000000000")) is None  # month 0
    assert s7_date_and_time(bytes.fromhex("000090010100000000a0")) is None  # ms digit 0xa
    assert s7_timestamp(bytes.fromhex("0526 5c00 0000".replace(" ", ""))) is None  # > 1 day


# -- fuzzing ---------------------------------------------------------------------------------------
_SEEDS = [
    build(1, 1, "04 02 12 0a 10 02 0010 0000 83 000000 12 0a 10 01 0001 0005 84 00004b"),
    build(3, 1, "04 02", "ff 04 0018 acde0d 00 0a 00 0000"),
    build(1, 2, "05 01 12 0a 10 08 0001 0000 83 000080", "00 07 0004 79e9f642"),
    build(1, 3, "1a 00 0100 00000000 09 5f 3041 3030303031 50 0d 31 303030323634 303030313430"),
    build(1, 4, "28 000000000000fd 000a 01 00 3043 3030303032 42 05 5f44454c45"),
    build(1, 5, "28 000000000000fd 000a 01 50 06 736563726574 00 09 5f4e5f4c4f47494e5f"),
    build(3, 6, "1d 00 0100 00000007 07 30303030323136"),
    build(7, 7, "00 01 12 08 12 84 01 02 00 00 0000",
          udd("0011 0000 001c 0001 0001" + "20" * 20 + "00c0 0003 0001")),
    build(7, 8, "00 01 12 08 12 83 01 00 00 00 0000", udd("3038 0001 3041 0002")),
    build(7, 9, "00 01 12 04 11 42 01 00", udd("00 01 01 05 12 0a 10 04 0001 0000 82 000000")),
    build(7, 10, "00 01 12 08 12 87 01 02 00 00 0000", udd("00 19 16 02 08 14 51 37 91 62")),
]


def _parse_all(data: bytes) -> None:
    try:
        p = parse_pdu(data)
    except Malformed:
        return
    decode_payload(p, p.ud_payload)


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_random_pdus(data: bytes) -> None:
    _parse_all(b"\x32" + data)
    _parse_all(data)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)),
                                         min_size=1, max_size=4), st.integers(0, 8))
def test_fuzz_mutated_pdus(seed: bytes, changes: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for pos, value in changes:
        data[pos % len(data)] = value
    _parse_all(bytes(data))
    _parse_all(bytes(data[:len(data) - cut]))
