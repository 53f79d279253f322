"""Hand-built vectors for the nine identify-depth decoders: probe, framing and first-level
parsing of each, with the anomalies their parsers raise. Byte layouts from each parser's
references (module docstrings)."""

from __future__ import annotations

import struct

import pytest

from otshield.errors import Malformed
from otshield.protocols.bsap import parser as bsap
from otshield.protocols.c1222 import parser as c1222
from otshield.protocols.cnip import parser as cnip
from otshield.protocols.dlms import parser as dlms
from otshield.protocols.fox import parser as fox
from otshield.protocols.genisys import parser as genisys
from otshield.protocols.melsec import parser as melsec
from otshield.protocols.rtps import parser as rtps
from otshield.protocols.sbus import parser as sbus

from .identify_build import genisys as gmsg
from .identify_build import mc3e_request, mc3e_response, modbus_crc, xmodem
from .identify_build import sbus as sbus_telegram


def code_of(fn: object, *args: object) -> str:
    with pytest.raises(Malformed) as e:
        fn(*args)  # type: ignore[operator]
    return e.value.code


# -- MELSEC --------------------------------------------------------------------------------------
def test_melsec_3e_binary() -> None:
    req = bytes.fromhex(
        "5000"    # subheader: 3E request
        "00"      # network 0
        "ff"      # PC 0xFF
        "ff03"    # module I/O 0x03FF
        "00"      # station 0
        "0c00"    # data length 12 (timer .. end)
        "1000"    # monitoring timer 0x10
        "0104"    # command 0x0401 batch read
        "0000"    # sub-command 0: word units
        "640000"  # head device 100
        "a8"      # device code D
        "0200")   # 2 points
    assert req == mc3e_request(0x0401, 0, bytes.fromhex("640000a80200"))
    assert melsec.frame_size(req + b"junk") == len(req)
    assert melsec.probe(req, True)
    unit = melsec.parse(req, True)
    assert (unit.kind, unit.function_class, unit.request) == ("batch_read_words", "read", True)
    assert unit.facts == {"network": 0, "pc": 0xFF, "module_io": 0x03FF, "station": 0,
                          "frame": "3E"}
    resp = bytes.fromhex("d000" "00" "ff" "ff03" "00" "0600" "0000" "e803" "0100")
    unit = melsec.parse(resp, False)
    assert (unit.kind, unit.request) == ("response", False)
    err = mc3e_response(0xC059)
    unit = melsec.parse(err, False)
    assert unit.kind == "error_response" and unit.facts is not None
    assert unit.facts["end_code"] == 0xC059


@pytest.mark.parametrize(("command", "sub", "kind", "fclass"), [
    (0x1401, 0x0001, "batch_write_bits", "write"), (0x1002, 0x0000, "remote_stop", "control"),
    (0x1001, 0x0000, "remote_run", "control"), (0x1006, 0x0000, "remote_reset", "control"),
    (0x0101, 0x0000, "read_cpu_model", "identify"), (0x1829, 0x0000, "write_file", "program"),
    (0x1630, 0x0000, "remote_unlock", "security"), (0x7777, 0x0000, "command_0x7777", "other"),
])
def test_melsec_commands(command: int, sub: int, kind: str, fclass: str) -> None:
    unit = melsec.parse(mc3e_request(command, sub, b"\x01\x00"), True)
    assert (unit.kind, unit.function_class) == (kind, fclass)


def test_melsec_4e_and_ascii() -> None:
    inner = mc3e_request(0x1002, 0)[2:]
    frame4 = b"\x54\x00" + b"\x34\x12" + b"\x00\x00" + inner  # 4E: serial 0x1234
    assert melsec.frame_size(frame4) == len(frame4)
    unit = melsec.parse(frame4, True)
    assert unit.kind == "remote_stop" and unit.facts is not None
    assert unit.facts["frame"] == "4E"
    ascii_req = (b"5000"   # subheader
                 b"00" b"FF" b"03FF" b"00"  # network, PC, I/O, station
                 b"0018"   # length: 24 characters follow
                 b"0010"   # timer
                 b"0401"   # command batch read
                 b"0000"   # sub-command words
                 b"D*000100"  # device D100
                 b"0002")     # 2 points
    assert melsec.frame_size(ascii_req) == len(ascii_req)
    unit = melsec.parse(ascii_req, True)
    assert unit.kind == "batch_read_words" and unit.facts is not None
    assert (unit.facts["frame"], unit.facts["module_io"]) == ("3E ASCII", 0x03FF)


def test_melsec_melsoft() -> None:
    tcp = bytes.fromhex("57000000001111070000ffff030000000000" "00" "0400" "1c02" "1614")
    assert melsec.frame_size(tcp) == len(tcp) and melsec.probe(tcp, True)
    assert melsec.parse(tcp, True).kind == "melsoft_0x57_0x021c"
    assert melsec.probe(b"\x5a\x00\x00\x01", True)
    assert melsec.parse(b"\xda\x00\x00\x01\x14\x00\xc0\xa8\x03\x65", False).kind == (
        "melsoft_discovery_0x01")


def test_melsec_anomalies() -> None:
    assert code_of(melsec.frame_size, b"\x12\x34\x00\x00") == "melsec.bad_subheader"
    bad_len = mc3e_request(0x0401, 0)[:-1]
    assert code_of(melsec.parse, bad_len, True) == "melsec.bad_length"
    assert code_of(melsec.parse, b"5000ZZFF03FF000000", True) == "melsec.bad_ascii"
    assert code_of(melsec.parse, b"\x50", True) == "melsec.truncated"
    assert not melsec.probe(b"\x50\x00" + bytes(20), True)  # length 0: does not match


# -- Niagara Fox ---------------------------------------------------------------------------------
HELLO = (b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nhostName=s:jace-1\n"
         b"app.name=s:Station\napp.version=s:4.10.0\nstation.name=s:Plant_A\n"
         b"nonce=b:8[12345678]\n};;\n")


def test_fox_hello() -> None:
    assert fox.probe(HELLO, True) and not fox.probe(b"GET / HTTP/1.1\r\n", True)
    assert fox.frame_size(HELLO) == len(HELLO) - 1  # through ';;'; the newline starts the next
    assert fox.frame_size(HELLO[:30]) is None
    unit = fox.parse(HELLO[:-1], False)
    assert (unit.kind, unit.function_class) == ("fox hello", "identify")
    assert unit.facts == {"fox_version": "1.0", "host_name": "jace-1", "app_name": "Station",
                          "app_version": "4.10.0", "station_name": "Plant_A"}
    unit = fox.parse(b"\nfox a 1 -1 fox challenge\n{\nmethod=s:digest-md5\n};;", True)
    assert (unit.kind, unit.function_class, unit.facts) == (
        "fox challenge", "security", {"auth_method": "digest-md5"})
    assert code_of(fox.parse, b"hello there;;", True) == "fox.bad_header"
    assert fox.frame_size(b"fox a " + b"x" * (70 * 1024)) == fox.MAX_MESSAGE + 1


# -- BSAP ----------------------------------------------------------------------------------------
def test_bsap_ip() -> None:
    req = bytes.fromhex(
        "0e00"        # header length 14
        "0100"        # one message
        "0600"        # message function: request
        "834b0000" "744b0000"  # sequence words
        "10000000"    # data length 16 (from here)
        "0c"          # header size
        "834b0000"    # sequence
        "a0"          # application function: RDB
        "00"          # node status
        "04"          # RDB function: read signal by name
        "0001400f01")  # data
    assert bsap.probe(req, True)
    unit = bsap.parse(req, True)
    assert (unit.kind, unit.function_class) == ("rdb_read_signal_by_name", "read")
    write = req[:25] + b"\x84" + req[26:]  # RDB function 0x84: write signal by name
    assert bsap.parse(write, True).function_class == "write"
    ack = bytes.fromhex("0e00" "0000" "0000" "00000000" "754b0000")
    assert bsap.probe(ack, False) and bsap.parse(ack, False).kind == "ack"
    resp = bytes.fromhex("0e00" "0100" "0500" "754b0000" "844b0000" "0d000000" "0c" "834b0000"
                         "00" "07")
    assert bsap.parse(resp, False).kind == "response"
    assert code_of(bsap.parse, bytes.fromhex("0e000100"), True) == "bsap.truncated"
    assert code_of(bsap.parse, bytes.fromhex("0e0001000900") + bytes(8), True) == (
        "bsap.bad_header")


def test_bsap_serial() -> None:
    req = bytes.fromhex(
        "1002"      # DLE STX
        "01"        # local address 1
        "eb"        # serial number
        "a0"        # destination function: RDB
        "e308"      # sequence
        "03"        # source function: PEI PC
        "00"        # node status
        "04"        # RDB function: read signal by name
        "01400f01"  # data
        "1003"      # DLE ETX
        "a94d")     # CRC
    assert bsap.probe(req, True)
    unit = bsap.parse(req, True)
    assert (unit.kind, unit.facts) == ("rdb_read_signal_by_name", {"address": 1})
    resp = bytes.fromhex("1002" "00" "eb" "03" "e308" "a0" "00" "0000" "1010" "1003" "9102")
    assert bsap.parse(resp, False).kind == "rdb_response"
    poll = bytes.fromhex("1002" "05" "11" "85" "1003" "0000")
    assert bsap.parse(poll, True).kind == "poll"
    assert code_of(bsap.parse, bytes.fromhex("100201eb"), True) == "bsap.truncated"


# -- S-Bus ---------------------------------------------------------------------------------------
def test_sbus() -> None:
    frame = bytes.fromhex(
        "0000000d"  # length 13
        "01"        # version 1
        "00"        # protocol type 0: S-Bus
        "0001"      # sequence 1
        "00"        # attribute: request
        "0a"        # station 10
        "20"        # command 0x20: read firmware version
        "5318")     # CRC-16/XMODEM
    assert frame == sbus_telegram(1, 0, b"\x0a\x20")
    assert sbus.probe(frame, True)
    unit = sbus.parse(frame, True)
    assert (unit.kind, unit.function_class, unit.facts) == (
        "read_firmware_version", "identify", {"station": 10, "command_first": 0x20})
    stop = sbus_telegram(2, 0, b"\x0a\x43")  # 67: stop procedure, own CPU
    assert sbus.parse(stop, True).function_class == "control"
    write = sbus_telegram(3, 0, b"\x0a\x0e\x01\x00\x64" + bytes(8))  # 14: write registers
    assert sbus.parse(write, True).kind == "write_registers"
    assert sbus.parse(sbus_telegram(1, 1, b"D2M48020\x00", version=0), False).kind == "response"
    assert sbus.parse(sbus_telegram(3, 2, b"\x00\x02"), False).kind == "nak_password"
    assert code_of(sbus.parse, frame + b"\x00", True) == "sbus.bad_length"
    assert code_of(sbus.parse, frame[:-1] + bytes([frame[-1] ^ 1]), True) == "sbus.bad_crc"
    assert code_of(sbus.parse, b"\x00" * 5, True) == "sbus.truncated"
    assert sbus.crc16_xmodem(b"123456789") == xmodem(b"123456789") == 0x31C3


# -- CN/IP ---------------------------------------------------------------------------------------
def test_cnip() -> None:
    frame = bytes.fromhex(
        "001c"      # length 28
        "01"        # version 1
        "01"        # packet type: data
        "00"        # extended header size
        "00"        # protocol flags
        "0000"      # vendor code
        "6b8b4567"  # session id
        "00000001"  # sequence
        "00000000"  # time stamp
        "000901a901aa0123")  # LonTalk packet
    assert cnip.probe(frame, True)
    unit = cnip.parse(frame, True)
    assert (unit.kind, unit.facts) == ("data", {"vendor_code": 0, "session_id": 0x6B8B4567,
                                                "protocol_flags": 0})
    status = frame[:3] + b"\x60" + frame[4:]
    assert cnip.parse(status, True).kind == "status_request"
    assert code_of(cnip.parse, frame[:19], True) == "cnip.truncated"
    assert code_of(cnip.parse, frame + b"\x00", True) == "cnip.bad_length"
    assert code_of(cnip.parse, frame[:2] + b"\x02" + frame[3:], True) == "cnip.bad_version"
    assert not cnip.probe(frame[:2] + b"\x01\x55" + frame[4:], True)  # unknown type


# -- DLMS/COSEM ----------------------------------------------------------------------------------
def test_dlms_wrapper() -> None:
    get = bytes.fromhex(
        "0001"      # wrapper version 1
        "0010"      # source wPort 16 (public client)
        "0001"      # destination wPort 1 (management logical device)
        "000d"      # APDU length 13
        "c0" "01" "c1"  # get-request normal, invoke id
        "0008" "0000010000ff" "02" "00")  # clock, 0.0.1.0.0.255, attribute 2
    assert dlms.frame_size(get) == len(get) and dlms.probe(get, True)
    unit = dlms.parse(get, True)
    assert (unit.kind, unit.function_class, unit.request) == ("get_request", "read", True)
    assert unit.facts == {"source_wport": 16, "destination_wport": 1}
    apdu = bytes.fromhex("c3" "01" "c1"      # action-request normal, invoke id
                         "0012"              # class 18: image transfer
                         "00002c0000ff"      # 0.0.44.0.0.255
                         "01" "01" "0900")   # method 1 (initiate), parameters
    image = b"\x00\x01\x00\x10\x00\x01" + struct.pack(">H", len(apdu)) + apdu
    assert dlms.parse(image, True).function_class == "program"  # action on image transfer
    assert not dlms.probe(bytes.fromhex("0001000000060a0800040000"), True)  # Modbus/TCP
    assert code_of(dlms.parse, get[:-1], True) == "dlms.bad_length"
    assert code_of(dlms.frame_size, b"\x12\x34\x56") == "dlms.bad_header"


def test_dlms_hdlc() -> None:
    snrm = bytes.fromhex("7e" "a007" "03" "21" "93" "0f01" "7e")  # SNRM from client 16 to 1
    assert dlms.frame_size(snrm) == len(snrm) and dlms.probe(snrm, True)
    unit = dlms.parse(snrm, True)
    assert (unit.kind, unit.facts) == ("hdlc_snrm", {"hdlc_destination": 1, "hdlc_source": 16})
    aarq = bytes.fromhex("7e" "a010" "03" "21" "10" "fbaf" "e6e600" "601d" "a109" "0000" "7e")
    assert dlms.parse(aarq, True).kind == "aarq"
    segment = bytes.fromhex("7e" "a00c" "03" "21" "74" "b8cd" "0f01" "1601" "0000" "7e")
    assert dlms.parse(segment, False).kind == "hdlc_segment"
    assert code_of(dlms.parse, snrm[:-1] + b"\x00", True) == "dlms.truncated"


# -- ANSI C12.22 ---------------------------------------------------------------------------------
def test_c1222() -> None:
    epsem = bytes([0x80, 0x03, 0x30, 0x00, 0x01])  # flags cleartext, length 3, full read tbl 1
    user = b"\xbe" + bytes([len(epsem) + 4]) + b"\x28" + bytes([len(epsem) + 2]) + (
        b"\x81" + bytes([len(epsem)]) + epsem)
    called = b"\xa2\x08\x06\x06\x2b\x06\x01\x04\x01\x82"[:2] + b"\x06\x06\x2b\x06\x01\x04\x01\x01"
    calling = b"\xa6\x04\x0d\x02\x81\x01"  # relative OID .129
    body = called + calling + user
    msg = b"\x60" + bytes([len(body)]) + body
    assert c1222.probe(msg, True) and c1222.frame_size(msg) == len(msg)
    unit = c1222.parse(msg, True)
    assert (unit.kind, unit.function_class) == ("full_read", "read")
    assert unit.facts == {"called_ap_title": "1.3.6.1.4.1.1", "calling_ap_title": ".129",
                          "security_mode": "cleartext"}
    assert c1222.oid_text(bytes.fromhex("2b0601040182856307"), False) == "1.3.6.1.4.1.33507.7"
    ciphered = msg.replace(bytes([0x80, 0x03]), bytes([0x88, 0x03]))
    assert c1222.parse(ciphered, True).kind == "encrypted"
    assert code_of(c1222.frame_size, b"\x30\x03") == "c1222.bad_header"
    assert code_of(c1222.parse, msg[:-1], True) == "c1222.ber_truncated"


# -- RTPS ----------------------------------------------------------------------------------------
def _sedp_data(topic: str) -> bytes:
    text = topic.encode() + b"\x00"
    text += b"\x00" * (-len(text) % 4)
    plist = (b"\x00\x03\x00\x00"  # PL_CDR_LE
             + struct.pack("<HHI", 0x0005, 4 + len(text), len(topic) + 1) + text
             + struct.pack("<HH", 0x0001, 0))  # sentinel
    body = (b"\x00\x00" b"\x10\x00"  # extraFlags, octetsToInlineQos 16
            + b"\x00\x00\x03\xc7" + b"\x00\x00\x03\xc2"  # reader, writer: SEDP publications
            + bytes(8) + plist)
    return struct.pack("<BBH", 0x15, 0x05, len(body)) + body  # DATA, flags E|D


def test_rtps() -> None:
    header = b"RTPS" + b"\x02\x03" + b"\x01\x10" + bytes(range(12))  # 2.3, Cyclone DDS
    info_ts = struct.pack("<BBH", 0x09, 0x01, 8) + bytes(8)
    msg = header + info_ts + _sedp_data("rt/valve_cmd")
    assert rtps.probe(msg, False)
    unit = rtps.parse(msg, False)
    assert (unit.kind, unit.function_class) == ("INFO_TS+DATA", "identify")
    assert unit.facts == {"version": "2.3", "vendor_id": 0x0110,
                          "guid_prefix": bytes(range(12)).hex(), "topic:rt/valve_cmd": True}
    hb = header + struct.pack(">BBH", 0x07, 0x00, 28) + bytes(28)  # big-endian HEARTBEAT
    assert rtps.parse(hb, False).kind == "HEARTBEAT"
    ping = b"RTPS\x02\x01\x01\x01NDDSPING"
    assert rtps.parse(ping, False).kind == "ping"
    assert code_of(rtps.parse, header + b"\x07\x01\xff\x00", False) == "rtps.truncated"
    assert code_of(rtps.parse, b"RTPX" + bytes(20), False) == "rtps.bad_magic"
    assert not rtps.probe(b"RTPS\x01", False)


# -- Genisys -------------------------------------------------------------------------------------
def test_genisys() -> None:
    poll = bytes.fromhex("fb" "01" "8340" "f6")  # poll station 1, CRC 0x4083 of FB 01
    assert poll == gmsg(0xFB, 1)
    assert genisys.frame_size(poll + b"\xf1") == len(poll) and genisys.probe(poll, True)
    unit = genisys.parse(poll, True)
    assert (unit.kind, unit.function_class, unit.facts) == ("poll", "read", {"station": 1})
    assert genisys.parse(b"\xf1\x01\xf6", False).kind == "acknowledge_client"
    assert not genisys.probe(b"\xf1\x01\xf6", False)  # no CRC: not enough to identify
    control = gmsg(0xFE, 2, bytes([0x00, 0xF3]))  # execute controls, data 0xF3 escaped
    assert b"\xf0\x03" in control
    assert genisys.parse(control, True).function_class == "control"
    assert genisys.crc16_modbus(b"123456789") == modbus_crc(b"123456789") == 0x4B37
    assert code_of(genisys.parse, poll[:2] + b"\x84\x40\xf6", True) == "genisys.bad_crc"
    assert code_of(genisys.frame_size, b"\x12\xf6") == "genisys.bad_header"
    assert code_of(genisys.parse, b"\xf4\x01\xf6", True) == "genisys.bad_header"
    assert code_of(genisys.parse, gmsg(0xFC, 1, b"\x05"), True) == "genisys.bad_length"
    assert code_of(genisys.parse, b"\xfc\x01\xf9\x00\x00\xf6", True) == "genisys.bad_escape"
