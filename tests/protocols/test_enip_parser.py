"""Unit tests of the pure EtherNet/IP and CIP parsers, with annotated byte vectors written from
the ODVA specification (Vol. 1: CIP, Vol. 2: EtherNet/IP) and Rockwell 1756-PM020."""

from __future__ import annotations

import struct

import pytest

from otshield.errors import Malformed
from otshield.protocols.enip import SPEC
from otshield.protocols.enip.cip import (
    display_name,
    function_of,
    is_reserved_service,
    parse_request,
    parse_response,
    service_name,
)
from otshield.protocols.enip.constants import (
    CIP_CLASS_SERVICES,
    CIP_COMMON_SERVICES,
    ENCAP_COMMANDS,
    LOGIX_SERVICES,
    PCCC_FUNCTIONS,
    SERVICE_FUNCTIONS,
)
from otshield.protocols.enip.encap import (
    frame_size,
    parse_cpf,
    parse_header,
    parse_io_datagram,
    parse_list_identity,
    parse_list_services,
    parse_register_session,
    parse_rr_data,
    probe,
)
from otshield.protocols.enip.epath import parse_path
from otshield.protocols.enip.pccc import parse_pccc_reply, parse_pccc_request, pccc_function
from otshield.protocols.enip.services import (
    MAX_EMBEDDED,
    decode_reply,
    decode_request,
    split_multiple,
    unwrap_unconnected_send,
)
from otshield.protocols.enip.transaction import build_orphan, build_request


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# -- encapsulation header (Vol. 2, 2-3.1) ---------------------------------------------------------
LIST_IDENTITY_REQUEST = hx(
    "6300"              # command 0x0063 ListIdentity
    "0000"              # length 0
    "00000000"          # session handle
    "00000000"          # status
    "0000c1debed10000"  # sender context
    "00000000"          # options
)

LIST_IDENTITY_REPLY = hx(
    "6300"              # command ListIdentity
    "3300"              # length 51
    "00000000"          # session handle
    "00000000"          # status success
    "0000c1debed10000"  # sender context (echoed)
    "00000000"          # options
    "0100"              # CPF item count 1
    "0c00"              # item type 0x000C (CIP identity)
    "2d00"              # item length 45
    "0100"              # encapsulation protocol version 1
    "0002"              # sin_family 2 (big-endian)
    "af12"              # sin_port 44818 (big-endian)
    "0a0101a4"          # sin_addr 10.1.1.164
    "0000000000000000"  # sin_zero
    "0100"              # vendor 1 (Rockwell Automation/Allen-Bradley)
    "0c00"              # device type 12 (communications adapter)
    "3a00"              # product code 58
    "04"                # revision major 4
    "03"                # revision minor 3
    "3000"              # status 0x0030
    "8e4d5200"          # serial 0x00524d8e
    "0b"                # product name length 11
    "313735362d454e42542f41"  # "1756-ENBT/A"
    "03"                # state 3 (operational)
)


def test_frame_size_needs_four_bytes_then_uses_the_length() -> None:
    assert frame_size(b"") is None
    assert frame_size(b"\x63\x00\x00") is None
    assert frame_size(LIST_IDENTITY_REQUEST[:4]) == 24
    assert frame_size(LIST_IDENTITY_REPLY) == 24 + 51


def test_frame_size_rejects_non_commands() -> None:
    with pytest.raises(Malformed) as exc:
        frame_size(hx("0001 0000"))  # command 0x0100: no encapsulation command is that large
    assert exc.value.code == "enip.bad_header"
    reserved = hx("9900 0400 00000000 00000000 0000000000000000 00000000")
    assert frame_size(reserved[:10]) is None  # a reserved command: wait for the whole header
    assert frame_size(reserved) == 28  # status and options plausible: a message
    for bad in (reserved[:20] + b"\x01\x00\x00\x00",      # options set
                reserved[:8] + b"\x07\x00\x00\x00" + reserved[12:]):  # undefined status
        with pytest.raises(Malformed) as exc:
            frame_size(bad)
        assert exc.value.code == "enip.bad_header"


def test_header_fields() -> None:
    h = parse_header(LIST_IDENTITY_REPLY)
    assert (h.command, h.length, h.session, h.status, h.options) == (0x63, 51, 0, 0, 0)
    assert h.context == hx("0000c1debed10000")


def test_header_too_short_or_truncated() -> None:
    with pytest.raises(Malformed) as exc:
        parse_header(LIST_IDENTITY_REQUEST[:23])
    assert exc.value.code == "enip.invalid_length"
    with pytest.raises(Malformed) as exc:
        parse_header(LIST_IDENTITY_REPLY[:-1])
    assert exc.value.code == "enip.invalid_length"


def test_probe() -> None:
    assert probe(LIST_IDENTITY_REQUEST, True)
    assert probe(LIST_IDENTITY_REPLY, False)
    assert not probe(b"GET / HTTP/1.1\r\n\r\n" + bytes(10), True)
    bad_options = LIST_IDENTITY_REQUEST[:20] + b"\x01\x00\x00\x00"
    assert not probe(bad_options, True)
    io = hx("0200 0280 0800 01000000 05000000 b100 0400 aabbccdd")
    assert probe(io, True)


def test_list_identity_reply() -> None:
    items, identities = parse_list_identity(LIST_IDENTITY_REPLY[24:])
    assert items == 1
    i = identities[0]
    assert i.vendor_id == 1 and i.vendor_name == "Rockwell Automation/Allen-Bradley"
    assert i.device_type == 12 and i.device_type_name == "Communications Adapter"
    assert i.product_code == 58
    assert (i.revision, i.revision_major, i.revision_minor) == ("4.03", 4, 3)
    assert i.status == 0x30 and not i.owned and not i.major_recoverable_fault
    assert i.serial_number == "0x00524d8e"
    assert i.product_name == "1756-ENBT/A"
    assert (i.state, i.state_name) == (3, "operational")
    assert (i.socket_ip, i.socket_port, i.encapsulation_version) == ("10.1.1.164", 44818, 1)


def test_list_identity_status_bits_and_missing_state() -> None:
    item = hx("0100" "0002af12c0a80001" "0000000000000000"
              "2f00"      # vendor 47 (Omron)
              "0e00"      # device type 14 (PLC)
              "0100"      # product code
              "0102"      # revision 1.02
              "0505"      # status 0x0505: owned, configured, minor recoverable, major recoverable
              "01000000"  # serial
              "01" "58")  # name "X", no state byte
    _, (i,) = parse_list_identity(hx("0100 0c00") + struct.pack("<H", len(item)) + item)
    assert i.vendor_name == "Omron" and i.device_type_name == "Programmable Logic Controller"
    assert i.owned and i.configured and i.minor_recoverable_fault and i.major_recoverable_fault
    assert not i.minor_unrecoverable_fault and not i.major_unrecoverable_fault
    assert i.state is None and i.socket_ip == "192.168.0.1"


def test_list_identity_truncated_name() -> None:
    with pytest.raises(Malformed) as exc:
        parse_list_identity(LIST_IDENTITY_REPLY[24:-3][:4] + b"\x2a\x00"
                            + LIST_IDENTITY_REPLY[30:-3])
    assert exc.value.code == "enip.bad_identity"


def test_list_services_reply() -> None:
    data = hx(
        "0100"                                  # item count
        "0001"                                  # type 0x0100 ListServices
        "1400"                                  # length 20
        "0100"                                  # version 1
        "2001"                                  # flags 0x0120: CIP over TCP, class 0/1 over UDP
        "436f6d6d756e69636174696f6e73"          # "Communications" (14 bytes)
        "0000")                                 # NUL padding to 16 bytes
    assert len(data) == 6 + 20
    items, (svc,) = parse_list_services(data)
    assert items == 1
    assert (svc.name, svc.version, svc.capability_flags) == ("Communications", 1, 0x120)
    assert svc.cip_over_tcp and svc.io_over_udp


def test_register_session_data() -> None:
    assert parse_register_session(hx("0100 0000")) == (1, 0)  # version 1, options 0
    with pytest.raises(Malformed) as exc:
        parse_register_session(hx("0100"))
    assert exc.value.code == "enip.invalid_length"


# -- Common Packet Format (Vol. 2, 2-6) --------------------------------------------------------
def test_rr_data_with_connected_items() -> None:
    data = hx(
        "00000000"      # interface handle (CIP)
        "0a00"          # timeout 10
        "0200"          # item count
        "a100 0400"     # connected address item, 4 bytes
        "09133500"      # connection id 0x00351309
        "b100 0800"     # connected data item, 8 bytes
        "e46a"          # CIP sequence count 27364
        "0e02 2001 2401")  # CIP: Get_Attribute_Single, path class 1 instance 1
    handle, timeout, items = parse_rr_data(data)
    assert (handle, timeout) == (0, 10)
    assert items == [(0x00A1, hx("09133500")), (0x00B1, hx("e46a 0e02 2001 2401"))]


def test_cpf_errors() -> None:
    for bad, why in ((b"", "no count"), (hx("1100"), "17 items"),
                     (hx("0100 b200"), "item header cut"),
                     (hx("0100 b200 0500 0102"), "item longer than the data"),
                     (hx("0100 0000 0000 ff"), "byte after the last item"),
                     (hx("0200 0000 0000 b200 0300 0102"), "second item cut")):
        with pytest.raises(Malformed) as exc:
            parse_cpf(bad)
        assert exc.value.code == "enip.bad_cpf", why
    with pytest.raises(Malformed) as exc:
        parse_rr_data(hx("00000000 0a"))
    assert exc.value.code == "enip.invalid_length"


def test_io_datagram() -> None:
    data = hx(
        "0200"              # item count 2
        "0280 0800"         # sequenced address item, 8 bytes
        "0102 4b00"         # connection id 0x004b0201
        "e0944100"          # encapsulation sequence number 4298976
        "b100 0600"         # connected data item, 6 bytes
        "0100 aabb ccdd")   # CIP sequence count + data
    assert parse_io_datagram(data) == (0x004B0201, 0x004194E0, 6)
    with pytest.raises(Malformed) as exc:
        parse_io_datagram(hx("0100 b100 0000"))
    assert exc.value.code == "enip.bad_cpf"
    with pytest.raises(Malformed):
        parse_io_datagram(hx("0100 0280 0400 01020304"))


# -- EPATH (Vol. 1, appendix C) ----------------------------------------------------------------
def test_logical_8_16_32_bit() -> None:
    p = parse_path(hx("2001 2401 3007"))  # class 1, instance 1, attribute 7
    assert (p.class_id, p.instance, p.attribute) == (1, 1, 7)
    assert p.text == "class:0x01/instance:1/attribute:7"
    p = parse_path(hx("2100 6b00 2500 3412"))  # 16-bit class 0x6b, 16-bit instance 0x1234
    assert (p.class_id, p.instance) == (0x6B, 0x1234)
    p = parse_path(hx("2067 2600 78563412"))  # 32-bit instance 0x12345678
    assert (p.class_id, p.instance) == (0x67, 0x12345678)
    p = parse_path(hx("2002 2401 2c05 2801"))  # connection point 5, member 1
    assert (p.connection_point, p.member) == (5, 1)


def test_port_segments() -> None:
    p = parse_path(hx("0100"))  # port 1 (backplane), link address 0 (slot 0)
    assert p.route == "1/0" and p.text == "port:1/0"
    p = parse_path(hx(
        "12"                    # port segment, extended link address, port 2
        "0b"                    # link address size 11
        "3139322e3136382e312e35"  # "192.168.1.5"
        "00"                    # pad to even
        "0100"))                # port 1, slot 0
    assert p.route == "2/192.168.1.5/1/0"
    p = parse_path(hx("0f 1200 05"))  # port 15: extended port 0x0012, link 5 (4 bytes: no pad)
    assert p.route == "18/5"


def test_symbolic_tag_names() -> None:
    p = parse_path(hx(
        "91 0c 50726f6772616d3a4d61696e"  # ANSI symbol "Program:Main" (12, no pad)
        "91 03 546167 00"                 # ANSI symbol "Tag" + pad
        "28 03"))                         # member 3: array subscript
    assert p.symbol == "Program:Main.Tag[3]" and p.text == "Program:Main.Tag[3]"
    assert p.class_id is None and p.member is None
    p = parse_path(hx("91 06 4d6174726978 2801 2902 0001"))  # Matrix[1,256]
    assert p.symbol == "Matrix[1,256]"
    p = parse_path(hx("91 03 416161 00 2805 91 01 42 00"))  # Aaa[5].B
    assert p.symbol == "Aaa[5].B"


def test_electronic_key_network_symbolic_and_data_segments() -> None:
    p = parse_path(hx(
        "34 04"         # electronic key, format 4
        "0100 0e00 3600"  # vendor 1, device type 14, product 54
        "94 0b"         # major 20 with compatibility bit, minor 11
        "0100"          # port 1, slot 0
        "43 08"         # network segment: production inhibit time 8 ms
        "63 616263"     # symbolic segment "abc"
        "80 01 aabb"    # simple data segment, 1 word
        "2002 2401"))
    assert p.text == ("key:vendor=1,type=14,product=54,rev=20.11 compatible/port:1/0/"
                      "network:0x43/symbol:abc/data:2/class:0x02/instance:1")
    p = parse_path(hx("60 c7 3412"))  # extended symbol: numeric UINT 0x1234
    assert p.text == "symbol:4660"


@pytest.mark.parametrize("raw", [
    "20",          # 8-bit class without value
    "2100 01",     # 16-bit class cut
    "2600 0102",   # 32-bit instance cut
    "23 01",       # reserved logical format
    "e0 00",       # reserved segment type
    "91 05 4142",  # symbol longer than the path
    "12 0b 3139",  # extended link address cut
    "34 07 0000",  # unknown electronic key format
    "34 04 0100",  # electronic key cut
    "52 05 0000",  # network segment with word count past the end
    "80 02 0000",  # data segment cut
    "60 e5 00",    # unsupported extended symbol format
    "3c 01 02",    # extended logical segment (not supported)
])
def test_bad_paths(raw: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_path(hx(raw))
    assert exc.value.code == "cip.bad_path"


# -- Message Router request / response (Vol. 1, 2-4) ----------------------------------------------
def test_request_and_response() -> None:
    r = parse_request(hx("0e 03 2001 2401 3007"))  # Get_Attribute_Single class 1 inst 1 attr 7
    assert r.service == 0x0E and r.path.attribute == 7 and r.data == b""
    r = parse_request(hx("4c 02 2072 2400 01 00"))
    assert r.data == hx("0100")
    resp = parse_response(hx(
        "d4"      # reply to 0x54 (Forward_Open)
        "00"      # reserved
        "01"      # general status 0x01 connection failure
        "01"      # one additional status word
        "0001"    # extended status 0x0100
        "aabb"))  # data
    assert (resp.service, resp.status, resp.extended, resp.data) == (0x54, 1, (0x100,),
                                                                      hx("aabb"))


def test_request_errors() -> None:
    for raw in ("4c", "4c 04 2001", "cc 00"):
        with pytest.raises(Malformed) as exc:
            parse_request(hx(raw))
        assert exc.value.code == "cip.invalid_length"
    r = parse_request(hx("0e 01 e000"))  # path undecodable: the request is still usable
    assert r.path_error is not None and r.path.class_id is None
    for raw in ("8e 00 00", "8e 00 00 02 0000"):
        with pytest.raises(Malformed) as exc:
            parse_response(hx(raw))
        assert exc.value.code == "cip.invalid_length"


def test_every_service_name() -> None:
    for code, name in CIP_COMMON_SERVICES.items():
        assert service_name(code, 0x01, False) == name
        assert service_name(code, None, False) == name
    for class_id, table in CIP_CLASS_SERVICES.items():
        for code, name in table.items():
            assert service_name(code, class_id, False) == name
    for code, name in LOGIX_SERVICES.items():
        assert service_name(code, None, True) == name
        assert service_name(code, 0x6B, False) == name
        assert service_name(code, 0x72, False) is None  # unknown vendor class: no guess
    assert service_name(0x4E, 0x06, False) == "Forward_Close"  # not Read_Modify_Write_Tag
    assert service_name(0x52, 0x06, True) == "Unconnected_Send"
    assert service_name(0x4B, 0x67, False) == "Execute_PCCC"


def test_display_names() -> None:
    assert display_name(0x4C, "Read_Tag") == "Read_Tag"
    assert display_name(0x4C, None) == "Object_Specific_0x4c"
    assert display_name(0x40, None) == "Reserved_0x40"


def test_reserved_service_ranges() -> None:
    assert is_reserved_service(0x00)
    assert is_reserved_service(0x1F) and is_reserved_service(0x40)
    assert is_reserved_service(0x64) and is_reserved_service(0x7F)
    assert not is_reserved_service(0x0E) and not is_reserved_service(0x4C)
    assert not is_reserved_service(0x63)


def test_function_classes() -> None:
    assert function_of("Get_Attribute_Single", 0x01) == "identify"
    assert function_of("Get_Attributes_All", 0xF5) == "diagnostics"
    assert function_of("Get_Attribute_Single", 0x04) == "read"
    assert function_of("Set_Attribute_Single", 0xF6) == "write"
    assert function_of("Stop", 0x8E) == "control"
    assert function_of("Reset", 0x01) == "control"
    assert function_of("Read_Tag", None) == "read"
    assert function_of("Write_Tag", None) == "write"
    assert function_of("Initiate_Download", 0x37) == "program"
    assert function_of("Forward_Open", 0x06) == "other"
    assert function_of(None, 0x72) == "other"
    assert set(SERVICE_FUNCTIONS.values()) <= {"read", "write", "program", "control",
                                               "identify", "diagnostics"}


# -- Connection Manager services (Vol. 1, 3-5.5) -------------------------------------------------
FORWARD_OPEN = hx(
    "0a"          # priority/time tick: tick 10 (1024 ms)
    "0e"          # timeout ticks 14 -> 14336 ms
    "00000000"    # O->T connection id (chosen by the target)
    "1300fe80"    # T->O connection id 0x80fe0013
    "1400"        # connection serial 0x0014
    "4d00"        # originator vendor 0x004d
    "f32b9532"    # originator serial 0x32952bf3
    "03"          # timeout multiplier (x32)
    "000000"      # reserved
    "00127a00"    # O->T RPI 8000000 us
    "f443"        # O->T params 0x43f4: point to point, low priority, variable, 500 bytes
    "00127a00"    # T->O RPI 8000000 us
    "f443"        # T->O params
    "a3"          # transport: server direction, application object trigger, class 3
    "03"          # connection path 3 words
    "0100 2002 2401")  # port 1 slot 0, Message Router instance 1


def test_forward_open_request() -> None:
    d = decode_request("Forward_Open", 0x06, FORWARD_OPEN)
    c = d.connection
    assert c is not None and not d.errors
    assert (c.o2t_connection_id, c.t2o_connection_id) == (0, 0x80FE0013)
    assert (c.connection_serial, c.originator_vendor_id, c.originator_serial) == (
        0x14, 0x4D, "0x32952bf3")
    assert c.timeout_ms == 1024 * 14 and c.timeout_multiplier == 3
    assert (c.o2t_rpi_us, c.t2o_rpi_us) == (8_000_000, 8_000_000)
    assert (c.o2t_size, c.o2t_fixed_size, c.o2t_priority, c.o2t_type,
            c.o2t_redundant_owner) == (500, False, "low", "point_to_point", False)
    assert (c.transport_class, c.trigger, c.direction) == (3, "application_object", "server")
    assert c.connection_path == "port:1/0/class:0x02/instance:1"


def test_forward_open_reply_success_and_failure() -> None:
    req = decode_request("Forward_Open", 0x06, FORWARD_OPEN)
    ok = hx("01037900"   # O->T connection id 0x00790301 (chosen by the target)
            "1300fe80"   # T->O connection id
            "1400 4d00 f32b9532"  # connection triad echoed
            "00127a00"   # O->T API
            "00127a00"   # T->O API
            "00 00")     # application reply size, reserved
    d = decode_reply("Forward_Open", 0x06, req, 0, ok)
    assert d.connection is not None
    assert (d.connection.o2t_connection_id, d.connection.t2o_connection_id) == (0x790301,
                                                                               0x80FE0013)
    assert d.connection.o2t_api_us == 8_000_000 and d.connection.connection_path
    req = decode_request("Forward_Open", 0x06, FORWARD_OPEN)
    d = decode_reply("Forward_Open", 0x06, req, 1, hx("1400 4d00 f32b9532 03 00"))
    assert d.connection is not None and d.connection.remaining_path_size == 3
    d = decode_reply("Forward_Open", 0x06, decode_request("Forward_Open", 0x06, b""), 0,
                     hx("0102"))
    assert [c for c, _ in d.errors] == ["cip.bad_forward_open", "cip.bad_forward_open"]


def test_large_forward_open_32_bit_parameters() -> None:
    body = struct.pack("<BBIIHHIB3xIIIIBB", 0x07, 0xE8, 0, 0x11, 1, 1, 2, 1, 10000,
                       0x40000000 | 4000,  # O->T: point to point, low, fixed, 4000 bytes
                       20000, 0x2A000000 | 1200,  # T->O: multicast, scheduled, variable
                       0x01, 2) + hx("2004 2464")
    c = decode_request("Large_Forward_Open", 0x06, body).connection
    assert c is not None
    assert (c.o2t_size, c.o2t_type, c.o2t_priority, c.o2t_fixed_size) == (
        4000, "point_to_point", "low", True)
    assert (c.t2o_size, c.t2o_type, c.t2o_priority, c.t2o_fixed_size) == (
        1200, "multicast", "scheduled", False)
    assert (c.transport_class, c.trigger, c.direction) == (1, "cyclic", "client")
    assert c.connection_path == "class:0x04/instance:100" and c.timeout_ms == 128 * 0xE8


def test_forward_close() -> None:
    req = decode_request("Forward_Close", 0x06, hx(
        "0a 0e"           # priority/tick, timeout ticks
        "1400 4d00 f32b9532"  # connection serial, vendor, originator serial
        "03 00"           # path size 3 words, reserved
        "0100 2002 2401"))
    assert req.connection is not None
    assert req.connection.connection_path == "port:1/0/class:0x02/instance:1"
    d = decode_reply("Forward_Close", 0x06, req, 0x01, hx("1400 4d00 f32b9532 02 00"))
    assert d.connection is not None and d.connection.remaining_path_size == 2


def test_unconnected_send_unwrap() -> None:
    timeout, embedded, route, error = unwrap_unconnected_send(hx(
        "0a f0"       # priority/tick 10, 240 ticks
        "0600"        # embedded request size 6
        "0102 2001 2401"  # Get_Attributes_All, class 1, instance 1
        "01 00"       # route path 1 word, reserved
        "0100"))      # port 1, slot 0
    assert timeout == 1024 * 240 and embedded == hx("0102 2001 2401")
    assert route is not None and route.route == "1/0" and error is None
    _, embedded, route, error = unwrap_unconnected_send(hx("0a f0 0300 4c0100 00"))
    assert embedded == hx("4c0100") and route is None and error == "no route path"
    with pytest.raises(Malformed) as exc:
        unwrap_unconnected_send(hx("0a f0 0900 0102"))
    assert exc.value.code == "cip.bad_unconnected_send"


def test_multiple_service_packet_split() -> None:
    body = hx(
        "0200"        # two services
        "0600"        # offset of service 1
        "1000"        # offset of service 2
        "4c03 9103 414243 00 0100"  # Read_Tag "ABC" 1 element (8 bytes)
        "0e03 2001 2401 3007")       # Get_Attribute_Single
    messages, count = split_multiple(body)
    assert count == 2 and messages == [hx("4c03 9103 414243 00 0100"),
                                       hx("0e03 2001 2401 3007")]
    for bad in ("", "0300 0800", "0200 0600 0200 0000", "0100 0900 00"):
        with pytest.raises(Malformed) as exc:
            split_multiple(hx(bad))
        assert exc.value.code == "cip.bad_multiple_service"


def test_multiple_service_packet_cap() -> None:
    count = MAX_EMBEDDED + 4
    table_end = 2 + 2 * count
    body = struct.pack(f"<H{count}H", count, *(table_end + 2 * i for i in range(count)))
    body += b"\x17\x00" * count
    messages, declared = split_multiple(body)
    assert declared == count and len(messages) == MAX_EMBEDDED


# -- data services ---------------------------------------------------------------------------
def test_attribute_lists() -> None:
    d = decode_request("Get_Attribute_List", 0x8E, hx("0300 0100 0200 0a00"))
    assert (d.attribute_count, d.attributes) == (3, [1, 2, 10])
    d = decode_request("Get_Attribute_List", 0x8E, hx("0300 0100"))
    assert d.attributes == [1] and d.errors[0][0] == "cip.invalid_length"
    d = decode_request("Set_Attribute_List", 0x8B, hx("0100 0600 dd07"))
    assert (d.attribute_count, d.attributes) == (1, [6])


def test_logix_tag_services() -> None:
    d = decode_request("Read_Tag", None, hx("0100"))  # one element
    assert d.elements == 1
    d = decode_request("Read_Tag_Fragmented", None, hx("0a00 f4010000"))
    assert (d.elements, d.offset) == (10, 500)
    d = decode_request("Write_Tag", None, hx("c400 0100 2a000000"))  # DINT, 1, 42
    assert (d.data_type, d.data_type_name, d.elements, d.value) == (0xC4, "DINT", 1, 42)
    d = decode_request("Write_Tag", None, hx("ca00 0100 0000c03f"))  # REAL 1.5
    assert d.value == 1.5
    d = decode_request("Write_Tag", None, hx("c300 0200 01000200"))  # 2 INTs: no single value
    assert d.elements == 2 and d.value is None
    d = decode_request("Write_Tag", None, hx("a002 3412 0100 00"))  # structure with handle
    assert (d.data_type_name, d.elements, d.value) == ("STRUCT", 1, None)
    d = decode_request("Write_Tag_Fragmented", None, hx("c400 0400 08000000 01000000"))
    assert (d.elements, d.offset) == (4, 8)
    r = decode_reply("Read_Tag", None, decode_request("Read_Tag", None, hx("0100")), 0,
                     hx("c100 ff"))  # BOOL true (Logix sends 0xFF)
    assert (r.data_type_name, r.value) == ("BOOL", 1)
    r = decode_reply("Read_Tag", None, decode_request("Read_Tag", None, hx("0100")), 0,
                     hx("c2 00 fe"))  # SINT -2
    assert r.value == -2
    for name, data in (("Read_Tag", ""), ("Read_Tag_Fragmented", "0100"), ("Write_Tag", "c4"),
                       ("Write_Tag", "c400"), ("Write_Tag_Fragmented", "c400 0100")):
        assert decode_request(name, None, hx(data)).errors[0][0] == "cip.invalid_length"


def test_identity_get_attributes_all_reply() -> None:
    data = hx("0100 0e00 3600 1014 6030 3f825100"
              "14 313735362d4c36312f42204c4f47495835353631")  # "1756-L61/B LOGIX5561"
    d = decode_reply("Get_Attributes_All", 0x01, decode_request("Get_Attributes_All", 1, b""),
                     0, data, instance=1)
    i = d.identity
    assert i is not None and i.product_name == "1756-L61/B LOGIX5561"
    assert (i.vendor_id, i.device_type, i.product_code, i.revision) == (1, 14, 0x36, "16.20")
    assert i.serial_number == "0x0051823f" and i.state is None
    assert i.status == 0x3060 and not i.owned
    d = decode_reply("Get_Attributes_All", 0x01, decode_request("Get_Attributes_All", 1, b""),
                     0, data[:10], instance=1)
    assert d.identity is None and d.errors[0][0] == "enip.bad_identity"
    # the class (instance 0) answers with class attributes, not an identity
    d = decode_reply("Get_Attributes_All", 0x01, decode_request("Get_Attributes_All", 1, b""),
                     0, data, instance=0)
    assert d.identity is None and not d.errors


# -- PCCC -----------------------------------------------------------------------------------
def test_pccc_typed_logical_read() -> None:
    p = parse_pccc_request(hx(
        "07"          # requestor id length 7
        "4d00"        # CIP vendor 0x004d
        "e0312b3d"    # CIP serial 0x3d2b31e0
        "0f"          # CMD 0x0F
        "00"          # STS
        "62c5"        # TNS 0xc562
        "a2"          # FNC 0xA2 protected typed logical read, three address fields
        "02"          # byte size 2
        "07"          # file number 7
        "89"          # file type 0x89 integer
        "ff 2c01"     # element 300 (0xFF then 16 bits)
        "00"))        # sub-element 0
    assert (p.command, p.command_name, p.function_code, p.function_name) == (
        0x0F, "extended", 0xA2, "protected_typed_logical_read_3")
    assert (p.transaction, p.requestor_vendor_id, p.requestor_serial) == (0xC562, 0x4D,
                                                                         "0x3d2b31e0")
    assert (p.file_number, p.file_type_name, p.element, p.sub_element, p.address) == (
        7, "integer", 300, 0, "N7:300")
    assert pccc_function(p.command, p.function_code) == "read"
    r = parse_pccc_reply(hx("07 4d00 e0312b3d 4f f0 62c5 10 0000"), p)
    assert (r.status, r.extended_status, r.status_name) == (0xF0, 0x10,
                                                            "error code in the EXT STS byte")


def test_pccc_write_and_change_mode() -> None:
    p = parse_pccc_request(hx("07 4d00 e0312b3d 0f 00 0100 aa 04 08 8a 03 01 0000c03f"))
    assert p.address == "F8:3.1" and pccc_function(0x0F, 0xAA) == "write"
    p = parse_pccc_request(hx("07 4d00 e0312b3d 0f 00 0200 80 06"))  # change mode: run
    assert p.cpu_mode == "remote_run" and pccc_function(0x0F, 0x80) == "control"
    p = parse_pccc_request(hx("07 4d00 e0312b3d 06 00 0300 03"))  # diagnostic status
    assert p.function_name == "diagnostic_status" and pccc_function(6, 3) == "diagnostics"
    p = parse_pccc_request(hx("07 4d00 e0312b3d 08 00 0400 0000"))  # unprotected write
    assert p.function_code is None and pccc_function(8, None) == "write"
    assert {f for _, f in PCCC_FUNCTIONS.values()} <= {"read", "write", "program", "control",
                                                     "diagnostics", "other"}


@pytest.mark.parametrize("raw", [
    "",                                       # no requestor id
    "09 4d00",                                # requestor id longer than the data
    "07 4d00 e0312b3d 0f",                    # command cut
    "07 4d00 e0312b3d 0f00 0100",             # extended command without function code
    "07 4d00 e0312b3d 0f00 0100 a2 02",       # typed read without file number
    "07 4d00 e0312b3d 0f00 0100 a2 02 ff",    # extended file number cut
    "07 4d00 e0312b3d 0f00 0100 a2 02 07",    # file type missing
])
def test_pccc_truncated(raw: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_pccc_request(hx(raw))
    assert exc.value.code == "cip.bad_pccc"


# -- request trees ----------------------------------------------------------------------------
def test_tree_unconnected_send_of_multiple_service_packet() -> None:
    msp = hx("0a02 2002 2401") + hx("0200 0600 1000" "4c03 9103 414243 00 0100"
                                    "5202 2006 2401")
    ucs = hx("5202 2006 2401") + struct.pack("<BBH", 10, 240, len(msp)) + msp + hx("01 00 0100")
    node = build_request(ucs)
    assert node.ucs and node.route == "1/0" and node.name == "Multiple_Service_Packet"
    assert node.children is not None and node.declared == 2
    first, second = node.children
    assert (first.name, first.path.symbol, first.detail.elements) == ("Read_Tag", "ABC", 1)
    # an Unconnected_Send inside the packet, carrying nothing decodable
    assert second.name == "Unconnected_Send" and second.errors[0][0] == "cip.bad_unconnected_send"


def test_tree_placeholders_never_raise() -> None:
    node = build_request(b"\x4c")
    assert node.service == 0x4C and node.errors[0][0] == "cip.invalid_length"
    node = build_request(hx("3f 00"))
    assert [c for c, _ in node.errors] == ["cip.unknown_service"]
    node = build_request(hx("0a 02 2002 2401 0500"))
    assert node.children is None and node.errors[0][0] == "cip.bad_multiple_service"
    orphan = build_orphan(hx("8a 00 00 00 0200 0600 0a00 cc000000 ce000000"))
    assert orphan.children is not None and [c.service for c in orphan.children] == [0x4C, 0x4E]


# -- the specification tables --------------------------------------------------------------------
def test_tables() -> None:
    assert set(ENCAP_COMMANDS) == {0x00, 0x04, 0x63, 0x64, 0x65, 0x66, 0x6F, 0x70, 0x72, 0x73,
                                   0xC8}
    every = (set(CIP_COMMON_SERVICES.values()) | set(LOGIX_SERVICES.values())
             | {n for t in CIP_CLASS_SERVICES.values() for n in t.values()})
    assert set(SERVICE_FUNCTIONS) <= every
    for code in SPEC.anomaly_codes:
        assert code.split(".")[0] in ("enip", "cip") and code == code.lower()
