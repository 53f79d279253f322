"""Unit tests of the BACnet parsers with annotated byte vectors (ANSI/ASHRAE 135-2020):
BVLC (Annex J), LLC (7.1), NPDU (6.2, 6.4), APDU headers (20.1), tags (20.2) and the service
parameter decoders (clauses 13-17)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from otshield.errors import Malformed
from otshield.protocols.bacnet import constants as C
from otshield.protocols.bacnet.parser import (
    Npdu,
    parse_apdu,
    parse_bvlc,
    parse_llc,
    parse_network_message,
    parse_npdu,
    probe,
)
from otshield.protocols.bacnet.services import (
    ACK_DECODERS,
    CONFIRMED_DECODERS,
    UNCONFIRMED_DECODERS,
    Decoder,
    Detail,
    decode_error,
)
from otshield.protocols.bacnet.tags import MAX_VALUES, TagReader, app_value, object_name

# -- BVLC --------------------------------------------------------------------------------------


def test_bvlc_original_unicast() -> None:
    buf = bytes.fromhex(
        "81"      # type: BACnet/IPv4
        "0a"      # function: Original-Unicast-NPDU
        "0009"    # length of the whole message: 9
        "0104"    # NPDU version 1, control: expecting reply
        "000100"  # (APDU bytes, not looked at here)
    )
    b = parse_bvlc(buf)
    assert (b.function, b.length, b.npdu_offset, b.origin) == (0x0A, 9, 4, None)


def test_bvlc_forwarded_npdu_carries_origin() -> None:
    buf = bytes.fromhex(
        "81" "04" "000e"   # Forwarded-NPDU, length 14
        "c0a80005"         # original B/IP address 192.168.0.5
        "bac0"             # port 47808
        "0100" "1008"      # NPDU: version 1, no control bits; APDU: Who-Is
    )
    b = parse_bvlc(buf)
    assert b.origin == "192.168.0.5:47808"
    assert b.npdu_offset == 10


@pytest.mark.parametrize(("hexbuf", "attr", "value"), [
    ("8100" "0006" "0030", "result", 0x0030),          # BVLC-Result: register-FD NAK
    ("8105" "0006" "003c", "ttl", 60),                 # Register-Foreign-Device, TTL 60 s
    ("8108" "000a" "0a000001" "bac1", "origin", "10.0.0.1:47809"),  # Delete-FDT-Entry
])
def test_bvlc_fixed_functions(hexbuf: str, attr: str, value: object) -> None:
    assert getattr(parse_bvlc(bytes.fromhex(hexbuf)), attr) == value


def test_bvlc_tables() -> None:
    bdt = bytes.fromhex(
        "8103" "0018"                        # Read-BDT-Ack, 24 octets: two entries
        "0a000001" "bac0" "ffffffff"         # 10.0.0.1:47808 mask 255.255.255.255
        "0a000101" "bac0" "ffffff00")        # 10.0.1.1:47808 mask 255.255.255.0
    assert parse_bvlc(bdt).entries == ["10.0.0.1:47808/255.255.255.255",
                                       "10.0.1.1:47808/255.255.255.0"]
    fdt = bytes.fromhex(
        "8107" "000e"                        # Read-FDT-Ack, one entry
        "0a000002" "bac0" "003c" "001e")     # 10.0.0.2:47808, TTL 60, 30 s remaining
    assert parse_bvlc(fdt).entries == ["10.0.0.2:47808 ttl=60 remaining=30"]
    assert parse_bvlc(bytes.fromhex("81020004")).entries is None  # Read-BDT: no parameters


@pytest.mark.parametrize(("hexbuf", "why"), [
    ("81", "short"),
    ("820a0004", "type 0x82 is BACnet/IPv6"),
    ("810a0009" "0100", "length 9 but 6 octets"),
    ("810d0004", "function 0x0d undefined"),
    ("81050005" "3c", "Register-Foreign-Device with 1 octet"),
    ("8103000d" "0a000001bac0ffffff", "BDT not a multiple of 10"),
    ("81070006" "0000", "FDT not a multiple of 10"),
    ("81040008" "0a000001", "Forwarded-NPDU without full address"),
])
def test_bvlc_malformed(hexbuf: str, why: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_bvlc(bytes.fromhex(hexbuf))
    assert exc.value.code == "bacnet.bad_bvlc", why


def test_probe() -> None:
    assert probe(bytes.fromhex("810b000c" "0120ffff00ff" "1008"), False)  # broadcast Who-Is
    assert probe(bytes.fromhex("81020004"), True)                          # Read-BDT
    assert not probe(bytes.fromhex("810b000c" "0220ffff00ff" "1008"), False)  # NPDU version 2
    assert not probe(bytes.fromhex("81050004"), True)  # Register-FD without its TTL
    assert not probe(bytes.fromhex("450000"), True)
    assert not probe(bytes.fromhex("810a00ff0100"), True)  # longer than the data


def test_llc() -> None:
    assert parse_llc(bytes.fromhex("828203" "0100")) == 3  # DSAP, SSAP, UI control
    for bad in ("8282", "828213", "82f003"):
        with pytest.raises(Malformed) as exc:
            parse_llc(bytes.fromhex(bad))
        assert exc.value.code == "bacnet.bad_llc"


# -- NPDU --------------------------------------------------------------------------------------


def _npdu(buf: bytes) -> Npdu:
    """The NPDU header and, for a network-layer message, its parameters."""
    n = parse_npdu(buf, 0)
    if n.message is not None:
        parse_network_message(n, buf)
    return n


def test_npdu_addresses_and_hop_count() -> None:
    buf = bytes.fromhex(
        "01"        # version
        "2d"        # control: DNET present, SNET present, expecting reply, priority 1 (urgent)
        "0005" "01" "0a"     # DNET 5, DLEN 1, DADR 0x0a
        "000d" "02" "1234"   # SNET 13, SLEN 2, SADR 0x1234
        "fe"        # hop count 254
        "10")       # APDU first octet
    n = parse_npdu(buf, 0)
    assert (n.dnet, n.dadr, n.snet, n.sadr, n.hop_count) == (5, "0a", 13, "1234", 254)
    assert n.expecting_reply and n.priority == 1 and n.message is None
    assert n.apdu_offset == 12


def test_npdu_broadcast_dnet() -> None:
    n = parse_npdu(bytes.fromhex("0120" "ffff" "00" "ff" "1008"), 0)  # global broadcast
    assert (n.dnet, n.dadr, n.hop_count, n.apdu_offset) == (65535, "", 255, 6)


@pytest.mark.parametrize(("body", "message", "networks", "reason", "ports"), [
    ("00", 0x00, None, None, None),                      # Who-Is-Router, any network
    ("00" "0005", 0x00, [5], None, None),                # Who-Is-Router for DNET 5
    ("01" "0005" "0006", 0x01, [5, 6], None, None),      # I-Am-Router for 5 and 6
    ("02" "0007" "0a", 0x02, [7], 10, None),             # I-Could-Be-Router, performance 10
    ("03" "01" "0009", 0x03, [9], 1, None),              # Reject: not-directly-connected
    ("04" "0003", 0x04, [3], None, None),                # Router-Busy
    ("05", 0x05, [], None, None),                        # Router-Available, all networks
    ("06" "00", 0x06, None, None, 0),                    # Initialize-Routing-Table: query
    ("07" "01" "0004" "01" "00", 0x07, [4], None, 1),    # ...-Ack: DNET 4 port 1, no info
    ("08" "0004" "1e", 0x08, [4], 30, None),             # Establish-Connection, 30 s
    ("09" "0004", 0x09, [4], None, None),                # Disconnect-Connection
    ("12", 0x12, None, None, None),                      # What-Is-Network-Number
    ("13" "0010" "01", 0x13, [16], 1, None),             # Network-Number-Is 16, configured
])
def test_network_messages(body: str, message: int, networks: list[int] | None,
                          reason: int | None, ports: int | None) -> None:
    n = _npdu(bytes.fromhex("0180" + body))  # control: network-layer message
    assert n.message == message
    assert (n.networks, n.reason, n.ports) == (networks, reason, ports)


def test_proprietary_network_message_vendor() -> None:
    n = parse_npdu(bytes.fromhex("0180" "80" "0104" "aa"), 0)  # type 0x80, vendor 260
    assert (n.message, n.vendor_id) == (0x80, 260)


@pytest.mark.parametrize(("hexbuf", "why"), [
    ("01", "no control octet"),
    ("0200" "10", "version 2"),
    ("0140" "10", "reserved bit 6"),
    ("0110" "10", "reserved bit 4"),
    ("0120" "0005", "DLEN missing"),
    ("0120" "0005" "02" "01", "DADR truncated"),
    ("0108" "0005" "00" "10", "SLEN 0"),
    ("0120" "0005" "00", "hop count missing"),
    ("0100", "no APDU"),
    ("0180", "no message type"),
    ("0180" "01" "000", "odd network list"),
    ("0180" "03" "01", "Reject truncated"),
    ("0180" "06" "02" "0001", "routing table truncated"),
    ("0180" "00" "000102", "Who-Is-Router with 3 octets"),
])
def test_npdu_malformed(hexbuf: str, why: str) -> None:
    buf = bytes.fromhex(hexbuf) if len(hexbuf) % 2 == 0 else bytes.fromhex(hexbuf + "0")[:-1]
    with pytest.raises(Malformed) as exc:
        _npdu(buf)
    assert exc.value.code == "bacnet.bad_npdu", why


# -- APDU headers ----------------------------------------------------------------------------


def test_confirmed_request_header() -> None:
    a = parse_apdu(bytes.fromhex(
        "02"   # Confirmed-Request, SA (segmented response accepted)
        "75"   # max segments code 7 (>64), max APDU code 5 (1476)
        "2a"   # invoke id 42
        "0c"   # service: readProperty
        "0c"), 0)
    assert (a.pdu_type, a.invoke_id, a.service, a.body) == (0, 42, 12, 4)
    assert a.segmented_accepted and not a.segmented
    assert (a.max_segments, a.max_apdu) == (7, 5)
    assert C.MAX_SEGMENTS[a.max_segments] == 65 and C.MAX_APDU[a.max_apdu] == 1476


def test_segmented_headers() -> None:
    a = parse_apdu(bytes.fromhex(
        "0c"   # Confirmed-Request, SEG + MOR
        "05" "07"  # max APDU 1476, invoke 7
        "00" "04"  # sequence 0, proposed window 4
        "10"), 0)  # WritePropertyMultiple
    assert a.segmented and a.more_follows and (a.sequence, a.window, a.service) == (0, 4, 16)
    b = parse_apdu(bytes.fromhex("38" "07" "02" "04" "0c"), 0)  # ComplexACK SEG, seq 2
    assert (b.pdu_type, b.segmented, b.more_follows, b.sequence, b.service) == (
        3, True, False, 2, 12)


@pytest.mark.parametrize(("hexbuf", "fields"), [
    ("10" "08", {"pdu_type": 1, "service": 8, "body": 2}),                  # Who-Is
    ("20" "05" "0f", {"pdu_type": 2, "invoke_id": 5, "service": 15}),       # SimpleACK WP
    ("30" "05" "0c", {"pdu_type": 3, "invoke_id": 5, "service": 12}),       # ComplexACK RP
    ("43" "05" "02" "04", {"pdu_type": 4, "server": True, "more_follows": True,
                           "sequence": 2, "window": 4}),                    # SegmentACK NAK SRV
    ("50" "05" "0c", {"pdu_type": 5, "invoke_id": 5, "service": 12}),       # Error
    ("60" "05" "09", {"pdu_type": 6, "reason": 9}),                         # Reject
    ("71" "05" "04", {"pdu_type": 7, "reason": 4, "server": True}),         # Abort by server
    ("70" "05" "0a", {"pdu_type": 7, "reason": 10, "server": False}),       # Abort by client
])
def test_other_apdu_headers(hexbuf: str, fields: dict[str, object]) -> None:
    a = parse_apdu(bytes.fromhex(hexbuf), 0)
    for name, value in fields.items():
        assert getattr(a, name) == value, name


@pytest.mark.parametrize("hexbuf", ["", "00", "000501", "0805010000", "10", "2005", "3805",
                                    "400501", "5005", "6005", "7005", "80", "f0aa"])
def test_apdu_malformed(hexbuf: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_apdu(bytes.fromhex(hexbuf), 0)
    assert exc.value.code == "bacnet.bad_apdu"


# -- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("hexbuf", "value"), [
    ("00", None),                               # Null
    ("10", False), ("11", True),                # Boolean in the LVT
    ("2105", 5), ("22012c", 300),               # Unsigned 1 and 2 octets
    ("31ff", -1), ("3201f4", 500),              # Signed
    ("4442c80000", 100.0),                      # Real
    ("55083ff8000000000000", 1.5),              # Double, extended length 8
    ("62" "0aff", "0aff"),                    # Octet String
    ("7506" "00" "68656c6c6f", "hello"),        # Character String, UTF-8, extended length 6
    ("7505" "04" "00e40042", "\u00e4B"),         # UCS-2
    ("72" "05" "e9", "\u00e9"),                   # ISO 8859-1 (2 octets: charset + e9)
    ("82" "05" "a0", "101"),                  # Bit String: 5 unused bits -> 3 bits
    ("9102", 2),                                # Enumerated
    ("a4" "7c" "01" "1f" "03", "2024-01-31 wed"),  # Date
    ("a4" "ff" "ff" "ff" "ff", "*-*-*"),          # Date, all unspecified
    ("b4" "0d" "05" "00" "32", "13:05:00.50"),    # Time
    ("c4" "00400003", "analog-output:3"),         # Object Identifier
    ("c4" "96000001", "600:1"),                   # proprietary object type 600
])
def test_application_values(hexbuf: str, value: object) -> None:
    r = TagReader(bytes.fromhex(hexbuf))
    got = r.application()
    assert r.at_end()
    if isinstance(value, float):
        assert isinstance(got, float) and math.isclose(got, value)
    else:
        assert got == value


def test_extended_tag_number_and_lengths() -> None:
    # context tag 20 (extended number), length 254 form (2-octet length 3)
    r = TagReader(bytes.fromhex("fd" "14" "fe" "0003" "010203"))
    r.peek()
    assert (r.number, r.context, r.stop - r.start) == (20, True, 3)
    # 4-octet length form
    r = TagReader(bytes.fromhex("65" "ff" "00000002" "abcd"))
    assert r.application() == "abcd"


@pytest.mark.parametrize("hexbuf", [
    "4300",          # Real of 3 octets
    "c2aaaa",        # Object id of 2 octets
    "20",            # Unsigned of 0 octets
    "12",            # Boolean value 2
    "d100",          # reserved application tag 13
    "26",            # application tag with LVT 6
    "25",            # extended length missing
    "25fe00",        # 2-octet length truncated
    "2405",          # declares 4 octets, 1 left
    "f0",            # extended tag number missing
    "a3010203",      # Date of 3 octets
    "b3010203",      # Time of 3 octets
    "8208" "00",     # Bit String with 8 unused bits
    "7000",          # Character String without a character set (length 0)
    "30",            # Signed of 0 octets
    "5400000000",    # Double of 4 octets
])
def test_bad_tags(hexbuf: str) -> None:
    with pytest.raises(Malformed) as exc:
        TagReader(bytes.fromhex(hexbuf)).application()
    assert exc.value.code == "bacnet.bad_tag"


def test_values_nested_and_bounded() -> None:
    # [3]{ Real 1.0, [0]{ Unsigned 7 }, Null } ; a context primitive shows as its integer
    r = TagReader(bytes.fromhex("3e" "443f800000" "0e" "2107" "0f" "00" "1a0102" "3f"))
    values, truncated = r.values(3)
    assert values == [1.0, 7, None, 258] and not truncated and r.at_end()
    many = bytes.fromhex("3e") + bytes.fromhex("2101") * (MAX_VALUES + 5) + bytes.fromhex("3f")
    values, truncated = TagReader(many).values(3)
    assert len(values) == MAX_VALUES and truncated


@pytest.mark.parametrize("hexbuf", ["3e2101", "3e21014f", "3e0e21013f", "3e" + "0e" * 20])
def test_values_unbalanced(hexbuf: str) -> None:
    with pytest.raises(Malformed) as exc:
        TagReader(bytes.fromhex(hexbuf)).values(3)
    assert exc.value.code == "bacnet.bad_tag"


def test_object_name_and_app_value() -> None:
    assert object_name((8 << 22) | 1234) == "device:1234"
    assert app_value(9, 1, b"\x01") == 1


# -- services ------------------------------------------------------------------------------


def _run(table: Mapping[int, Decoder], choice: int, hexbuf: str) -> Detail:
    d = Detail()
    decoder = table[choice]
    r = TagReader(bytes.fromhex(hexbuf))
    decoder(r, d)
    assert r.at_end()
    return d


def test_who_is_and_i_am() -> None:
    d = _run(UNCONFIRMED_DECODERS, 8, "09 00" "1a 03e8")  # [0] low 0, [1] high 1000
    assert (d.low_limit, d.high_limit) == (0, 1000)
    assert _run(UNCONFIRMED_DECODERS, 8, "").low_limit is None  # unbounded Who-Is
    d = _run(UNCONFIRMED_DECODERS, 0,
             "c4 02000065"   # device:101
             "22 0400"       # max APDU 1024
             "91 00"         # segmentation: segmented-both
             "22 0104")      # vendor 260
    assert (d.device_instance, d.max_apdu, d.segmentation, d.vendor_id) == (
        101, 1024, "segmented-both", 260)


def test_who_has_i_have() -> None:
    d = _run(UNCONFIRMED_DECODERS, 7, "3d 05 00 41485531")  # [3] object name "AHU1"
    assert d.object_name == "AHU1"
    d = _run(UNCONFIRMED_DECODERS, 7, "09 01" "19 05" "2c 00000002")  # limits, [2] AI:2
    assert (d.low_limit, d.high_limit, d.object_type, d.object_instance) == (
        1, 5, "analog-input", 2)
    d = _run(UNCONFIRMED_DECODERS, 1, "c4 02000005" "c4 00000002" "75 05 00 41485531")
    assert (d.device_instance, d.object_type, d.object_name) == (5, "analog-input", "AHU1")


def test_read_property_and_ack() -> None:
    req = "0c 00000001" "19 55"  # [0] analog-input:1, [1] present-value (85)
    d = _run(CONFIRMED_DECODERS, 12, req)
    assert (d.object_type, d.object_instance, d.property, d.array_index) == (
        "analog-input", 1, "present-value", None)
    d = _run(ACK_DECODERS, 12, req + "3e 44 41a00000 3f")  # [3]{ Real 20.0 }
    assert d.values == [20.0]
    d = _run(CONFIRMED_DECODERS, 12, "0c 02000065" "19 4c" "29 00")  # object-list[0]
    assert (d.property, d.array_index) == ("object-list", 0)
    # a 3-octet property identifier (2020 addenda range) and a proprietary one
    d = _run(CONFIRMED_DECODERS, 12, "0c 02000065" "1b 400015")
    assert d.property == C.PROPERTIES[0x400015]
    d = _run(CONFIRMED_DECODERS, 12, "0c 02000065" "1a 0200")
    assert d.property == "512"


def test_write_property_with_priority() -> None:
    d = _run(CONFIRMED_DECODERS, 15,
             "0c 00400000"       # analog-output:0
             "19 55"             # present-value
             "3e 44 42a00000 3f"  # value Real 80.0
             "49 08")            # [4] priority 8
    assert (d.object_type, d.property, d.values, d.priority) == (
        "analog-output", "present-value", [80.0], 8)


def test_rpm_request_and_ack() -> None:
    d = _run(CONFIRMED_DECODERS, 14,
             "0c 02000065"      # device:101
             "1e 09 4d 09 4c 19 00 1f")  # [1]{ object-name, object-list[0] }
    assert d.properties is not None
    assert [(p.property, p.array_index) for p in d.properties] == [
        ("object-name", None), ("object-list", 0)]
    d = _run(ACK_DECODERS, 14,
             "0c 02000065"
             "1e"
             "29 4d" "4e 75 04 00 414243 4f"        # object-name = "ABC"
             "29 1c" "5e 91 02 91 20 5f"            # description: error property/unknown-property
             "1f")
    assert d.properties is not None
    first, second = d.properties
    assert (first.property, first.values) == ("object-name", ["ABC"])
    assert (second.property, second.error_class, second.error_code) == (
        "description", "property", "unknown-property")


def test_wpm_and_cov_notification() -> None:
    d = _run(CONFIRMED_DECODERS, 16,
             "0c 01000000"                          # binary-output:0
             "1e 09 55 2e 91 01 2f 39 05 1f")       # present-value = active @ priority 5
    assert d.properties is not None
    p = d.properties[0]
    assert (p.object_type, p.property, p.values, p.priority) == (
        "binary-output", "present-value", [1], 5)
    d = _run(UNCONFIRMED_DECODERS, 2,
             "09 12"            # [0] process 18
             "1c 02000005"      # [1] device:5
             "2c 00000003"      # [2] analog-input:3
             "39 3c"            # [3] time remaining 60
             "4e 09 55 2e 44 41200000 2f 09 6f 2e 82 04 00 2f 4f")  # PV=10.0, status-flags
    assert (d.process_id, d.device_instance, d.object_type, d.lifetime) == (
        18, 5, "analog-input", 60)
    assert d.properties is not None
    assert [p.values for p in d.properties] == [[10.0], ["0000"]]


def test_subscribe_cov() -> None:
    d = _run(CONFIRMED_DECODERS, 5, "09 01" "1c 00000001" "29 01" "39 3c")
    assert (d.process_id, d.object_type, d.issue_confirmed, d.lifetime, d.cancel) == (
        1, "analog-input", True, 60, False)
    d = _run(CONFIRMED_DECODERS, 5, "09 01" "1c 00000001")  # a cancellation
    assert d.cancel is True
    d = _run(CONFIRMED_DECODERS, 28, "09 01" "1c 00000001" "29 00" "39 3c" "4e 09 55 4f")
    assert (d.property, d.issue_confirmed) == ("present-value", False)


def test_reinitialize_and_dcc_never_keep_passwords() -> None:
    d = _run(CONFIRMED_DECODERS, 20, "09 01" "1d 07 00 736563726574")  # warmstart, "secret"
    assert (d.state, d.password_present) == ("warmstart", True)
    assert "secret" not in repr(d.fields())
    d = _run(CONFIRMED_DECODERS, 20, "09 00")
    assert (d.state, d.password_present) == ("coldstart", False)
    d = _run(CONFIRMED_DECODERS, 17, "09 3c" "19 01" "2d 04 00 707764")  # 60 min, disable
    assert (d.duration, d.state, d.password_present) == (60, "disable", True)


def test_atomic_file_services() -> None:
    d = _run(CONFIRMED_DECODERS, 6, "c4 02800001" "0e 31 00 22 0400 0f")  # stream 0, 1024
    assert (d.object_type, d.file_access, d.file_start, d.file_count) == (
        "file", "stream", 0, 1024)
    d = _run(ACK_DECODERS, 6, "11" "0e 31 00 63 aabbcc 0f")  # EOF, stream data 3 octets
    assert (d.end_of_file, d.file_start, d.file_count) == (True, 0, 3)
    d = _run(CONFIRMED_DECODERS, 7, "c4 02800002" "1e 31 05 21 02 61 aa 61 bb 1f")  # records
    assert (d.file_access, d.file_start, d.file_count) == ("record", 5, 2)
    d = _run(ACK_DECODERS, 7, "09 10")
    assert (d.file_access, d.file_start) == ("stream", 16)
    d = _run(ACK_DECODERS, 6, "10" "1e 31 00 21 01 61 aa 1f")  # record access ACK
    assert (d.end_of_file, d.file_access, d.file_count) == (False, "record", 1)


def test_time_sync_and_object_services() -> None:
    d = _run(UNCONFIRMED_DECODERS, 6, "a4 7c011f03" "b4 0d050032")
    assert d.time == "2024-01-31 wed 13:05:00.50"
    d = _run(CONFIRMED_DECODERS, 10, "0e 09 02 0f" "1e 09 4d 2e 75 03 00 4156 2f 1f")
    assert d.object_type == "analog-value" and d.properties is not None
    assert d.properties[0].values == ["AV"]
    d = _run(CONFIRMED_DECODERS, 10, "0e 1c 00800007 0f")  # by object identifier
    assert (d.object_type, d.object_instance) == ("analog-value", 7)
    d = _run(ACK_DECODERS, 10, "c4 00800007")
    assert (d.object_type, d.object_instance) == ("analog-value", 7)
    d = _run(CONFIRMED_DECODERS, 11, "c4 00800007")
    assert d.object_instance == 7


def test_read_range() -> None:
    d = _run(CONFIRMED_DECODERS, 26, "0c 05000001" "19 83" "3e 21 01 31 0a 3f")
    assert (d.object_type, d.property, d.range) == ("trend-log", "log-buffer", "position")
    d = _run(ACK_DECODERS, 26, "0c 05000001" "19 83" "3a 05 c0" "49 02" "5e 21 01 21 02 5f")
    assert d.item_count == 2


def test_notifications_and_alarms() -> None:
    d = _run(UNCONFIRMED_DECODERS, 3,
             "09 01"              # [0] process id
             "1c 02000001"        # [1] device:1
             "2c 00000002"        # [2] analog-input:2
             "3e 19 05 3f"        # [3] timestamp: sequence number 5
             "49 04"              # [4] notification class 4
             "59 64"              # [5] priority 100
             "69 05"              # [6] out-of-range
             "7d 04 00 686921"    # [7] message text "hi!"
             "89 00"              # [8] alarm
             "99 01"              # [9] ack required
             "a9 00"              # [10] from normal
             "b9 03"              # [11] to high-limit
             "ce 0e 0f cf")       # [12] event values (skipped)
    assert (d.device_instance, d.object_type, d.notification_class, d.priority) == (
        1, "analog-input", 4, 100)
    assert (d.event_type, d.notify_type, d.to_state) == ("out-of-range", "alarm", "high-limit")
    d = _run(CONFIRMED_DECODERS, 0,
             "09 01" "1c 00000002" "29 03" "3e 19 05 3f" "4d 04 00 6f7031" "5e 19 06 5f")
    assert (d.object_type, d.state, d.object_name) == ("analog-input", "high-limit", "op1")


def test_private_transfer() -> None:
    d = _run(UNCONFIRMED_DECODERS, 4, "09 07" "1a 01ff" "2e 21 01 2f")
    assert (d.vendor_id, d.private_service) == (7, 511)
    d = _run(ACK_DECODERS, 18, "09 07" "19 01")
    assert (d.vendor_id, d.private_service) == (7, 1)


def test_error_payloads() -> None:
    assert decode_error(TagReader(bytes.fromhex("91 02 91 20"))) == (
        "property", "unknown-property")
    # CreateObject-Error: [0]{ Error } [1] first failed element
    assert decode_error(TagReader(bytes.fromhex("0e 91 01 91 1f 0f 19 00"))) == (
        "object", "unknown-object")
    assert decode_error(TagReader(bytes.fromhex("91 63 91 ff"))) == ("99", "255")


@pytest.mark.parametrize(("table", "choice", "hexbuf"), [
    (CONFIRMED_DECODERS, 12, "0c 00000001"),            # ReadProperty without property
    (CONFIRMED_DECODERS, 12, "19 55"),                  # ReadProperty without object
    (CONFIRMED_DECODERS, 15, "0c 00000001 19 55 3e 44 00"),  # value truncated
    (UNCONFIRMED_DECODERS, 0, "c4 02000065 22 0400"),   # I-Am missing segmentation
    (ACK_DECODERS, 14, "0c 02000065 1e 29 4d 1f"),      # RPM-ACK result missing
    (CONFIRMED_DECODERS, 14, "0c 02000065 1e 09 4d"),   # RPM list not closed
])
def test_service_malformed(table: Mapping[int, Decoder], choice: int, hexbuf: str) -> None:
    r = TagReader(bytes.fromhex(hexbuf))
    with pytest.raises(Malformed) as exc:
        table[choice](r, Detail())
    assert exc.value.code == "bacnet.bad_tag"


def test_tables_are_consistent() -> None:
    assert C.OBJECT_TYPES[8] == "device" and C.OBJECT_TYPES[64] == "color-temperature"
    assert C.PROPERTIES[85] == "present-value" and C.PROPERTIES[77] == "object-name"
    assert len(C.PROPERTIES) > 500
    assert set(C.CONFIRMED_SERVICE_CLASS) == set(C.CONFIRMED_SERVICES)
    assert set(C.UNCONFIRMED_SERVICE_CLASS) == set(C.UNCONFIRMED_SERVICES)
    assert C.CONFIRMED_SERVICE_CLASS[20] == "control"    # ReinitializeDevice
    assert C.CONFIRMED_SERVICE_CLASS[17] == "config"     # DeviceCommunicationControl
    assert C.CONFIRMED_SERVICE_CLASS[7] == "program"     # AtomicWriteFile
    assert C.VENDORS[5] == "Johnson Controls, Inc."
    allowed = {"read", "write", "control", "program", "config", "identify", "diagnostics",
               "security", "other"}
    for table in (C.CONFIRMED_SERVICE_CLASS, C.UNCONFIRMED_SERVICE_CLASS,
                  C.NETWORK_MESSAGE_CLASS, C.BVLC_FUNCTION_CLASS):
        assert set(table.values()) <= allowed
