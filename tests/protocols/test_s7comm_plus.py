"""S7comm-plus frames: annotated vectors (taken from the public S7-1200 / S7-1500 captures).

tshark 4.0 has no S7comm-plus dissector (it is a separate plugin), so these hand-annotated
vectors are the reference for the S7comm-plus decoding.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.s7comm.plus import (
    PlusFrame,
    PlusReassembler,
    parse_plus_body,
    parse_plus_frame,
    vlq,
    vlq64,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def whole(frame_hex: str):  # type: ignore[no-untyped-def]
    frame = parse_plus_frame(h(frame_hex))
    assert frame.has_trailer
    return parse_plus_body(frame.version, frame.body, frame.integrity)


# S7-1200 HMI (s7-1200-hmi.pcap): CreateObject request, V1, 0xCA bytes of data
CREATE_REQUEST = (
    "72"        # protocol id
    "01"        # version 1
    "0044"      # data length
    "31"        # opcode request
    "0000"      # reserved
    "04ca"      # function CreateObject
    "0000"      # reserved
    "0001"      # sequence 1
    "00000120"  # session id 0x120 (no session yet)
    "36"        # transport flags
    "0000011d 00 04 00000000 00"  # request id, value ... (object follows)
    "a1 00000120"                 # start of object
    "a3 8228 00 15 08 484d492055534552"        # attribute 296 (user): WString "HMI USER"
    "a3 8229 00 15 05 534d405254"              # 297 (application): "SM@RT"
    "a3 822a 00 15 08 484d4920484f5354"        # 298 (host): "HMI HOST"
    "a2 00000000"                             # end of object, padding
    "72 01 0000"                               # trailer
)


def test_create_object_request() -> None:
    pdu = whole(CREATE_REQUEST.replace("0044", f"{len(h(CREATE_REQUEST)) - 8:04x}", 1))
    assert (pdu.version, pdu.opcode, pdu.function_code, pdu.sequence) == (1, 0x31, 0x04CA, 1)
    assert (pdu.session_id, pdu.transport_flags, pdu.integrity) == (0x120, 0x36, False)
    assert pdu.strings == {"client_user": "HMI USER", "client_application": "SM@RT",
                           "client_host": "HMI HOST"}


def test_create_object_response() -> None:
    data = (
        "32"          # opcode response
        "0000 04ca 0000 0001"  # reserved, CreateObject, reserved, sequence 1
        "36"          # transport flags
        "11"          # return value 0x11
        "02"          # 2 object ids
        "873e"        # VLQ 0x3be: the new session
        "8723"        # VLQ 0x3a3
        "a1 00000120 821f 0000"
        "a3 8232 00 17 00 00013a"  # struct of session version attributes
        "823f 00 15 1b"            # 319 WString of 27 chars
        "313b36455337203231312d31424533312d30584230203b56332e30"  # 1;6ES7 211-1BE31-0XB0 ;V3.0
        "a2 00000000"
    )
    frame = "72 01" + f"{len(h(data)):04x}" + data + "72 01 0000"
    pdu = whole(frame)
    assert (pdu.opcode, pdu.function_code, pdu.sequence, pdu.transport_flags) == (
        0x32, 0x04CA, 1, 0x36)
    assert (pdu.return_value, pdu.new_session_id) == (0x11, 0x3BE)
    assert pdu.strings == {"server_version": "1;6ES7 211-1BE31-0XB0 ;V3.0"}


def test_v3_frame_with_integrity_digest() -> None:
    digest = "08c83ace381dfdbc42201789dec03b099172858efb6f3ef2e5e8ecb8bd254665"
    data = (
        "20" + digest +    # integrity part: digest length 32, HMAC
        "33"               # opcode notification
        "70000e51"         # subscription object id
        "0400 0000 0000"   # (further notification fields, not decoded)
    )
    frame = parse_plus_frame(h("72 03" + f"{len(h(data)):04x}" + data + "72 03 0000"))
    assert (frame.version, frame.integrity, frame.has_trailer) == (3, True, True)
    assert frame.body[0] == 0x33
    pdu = parse_plus_body(frame.version, frame.body, frame.integrity)
    assert (pdu.opcode, pdu.subscription_id, pdu.integrity) == (0x33, 0x70000E51, True)


def test_v2_integrity_at_the_end() -> None:
    digest = "c46f7e18130e3bb7d46d4443e538ec9093051003e0c05d6ce1282e6e9a488ee4"
    data = ("32 0000 054c 0000 0003"  # response, GetMultiVariables, sequence 3
            "34"                      # transport flags
            "00"                      # return value 0
            "01 8008 0102 8008 32 03 80 08 32 0000"  # values, not decoded
            "04"                      # integrity id 4
            "20" + digest)            # digest length 32 + digest
    pdu = whole("72 02" + f"{len(h(data)):04x}" + data + "72 02 0000")
    assert (pdu.function_code, pdu.sequence, pdu.return_value, pdu.integrity) == (
        0x054C, 3, 0, True)
    plain = "32 0000 0542 0000 0002 34 00 00000000"  # SetMultiVariables response, no digest
    pdu2 = whole("72 02" + f"{len(h(plain)):04x}" + plain + "72 02 0000")
    assert pdu2.integrity is False


def test_keepalive_and_system_event() -> None:
    keep = parse_plus_frame(h("72 ff 05 00"))  # keep-alive: sequence 5, reserved
    assert keep.keepalive
    data = "00000000 00000123 00000000 00000000" + b"LOGOUT".hex()
    frame = parse_plus_frame(h("72 fe" + f"{len(h(data)):04x}" + data))
    event = parse_plus_body(frame.version, frame.body, frame.integrity)
    assert (event.opcode, event.message) == (None, "LOGOUT")


def test_fragmented_message() -> None:
    start = "31 0000 0586 0000 0007 000003c0 34" + "ab" * 20
    first = parse_plus_frame(h("72 02" + f"{len(h(start)):04x}" + start))  # no trailer
    rest = "cd" * 10
    last = parse_plus_frame(h("72 02" + f"{len(h(rest)):04x}" + rest + "72 02 0000"))
    assert not first.has_trailer and last.has_trailer
    r = PlusReassembler()
    assert r.add(first) is None and r.active
    version, body, integrity, count = r.add(last) or (0, b"", None, 0)
    assert (version, count) == (2, 2) and body == h(start + rest)
    pdu = parse_plus_body(version, body, integrity)
    assert (pdu.function_code, pdu.sequence, pdu.session_id) == (0x0586, 7, 0x3C0)


def test_reassembler_is_bounded() -> None:
    r = PlusReassembler()
    chunk = PlusFrame(2, b"x" * 400_000, False, None)
    r.add(chunk)
    r.add(chunk)
    with pytest.raises(Malformed) as exc:
        r.add(chunk)
    assert exc.value.code == "s7commplus.message_too_large"
    assert not r.active


@pytest.mark.parametrize("raw, code", [
    ("7201", "s7commplus.invalid_header"),
    ("73010000", "s7commplus.invalid_header"),
    ("72010010 31", "s7commplus.invalid_length"),
    ("72030001 20", "s7commplus.invalid_integrity"),  # digest announced, missing
    ("72030000", "s7commplus.invalid_integrity"),
])
def test_malformed_frames(raw: str, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_plus_frame(h(raw))
    assert exc.value.code == code


def test_malformed_bodies_and_unknown_opcode() -> None:
    with pytest.raises(Malformed) as exc:
        parse_plus_body(2, b"", None)
    assert exc.value.code == "s7commplus.invalid_data"
    with pytest.raises(Malformed):
        parse_plus_body(2, h("31 0000 054c"), None)  # head cut short
    odd = parse_plus_body(2, h("44 0000"), None)
    assert odd.issues == [("s7commplus.unknown_opcode", "opcode 0x44")]


def test_vlq() -> None:
    assert vlq(h("05"), 0) == (5, 1)
    assert vlq(h("873e"), 0) == (0x3BE, 2)
    assert vlq(h("8f ff ff ff 7f"), 0) == (0xFFFFFFFF, 5)  # the largest 32-bit value
    with pytest.raises(Malformed):
        vlq(h("80 80"), 0)  # truncated
    with pytest.raises(Malformed):
        vlq(h("ff ff ff ff 7f"), 0)  # 35 bits
    # 64 bits: eight 7-bit groups (40 08 15 30 00 6f 11 7f) with "more", then a full byte f4
    assert vlq64(h("c0 88 95 b0 80 ef 91 ff f4"), 0) == (0x8020AB001BC8FFF4, 9)
    assert vlq64(h("00"), 0) == (0, 1)
    with pytest.raises(Malformed):
        vlq64(h("80 80 80 80 80 80 80 80"), 0)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_plus(data: bytes) -> None:
    for blob in (data, b"\x72\x02" + len(data).to_bytes(2, "big") + data + b"\x72\x02\0\0",
                 b"\x72\x03" + len(data).to_bytes(2, "big") + data):
        try:
            frame = parse_plus_frame(blob)
            parse_plus_body(frame.version, frame.body, frame.integrity)
        except Malformed:
            pass
