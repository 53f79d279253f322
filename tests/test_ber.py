"""BER walking (X.690): lengths in every form, high tag numbers, indefinite lengths, and
hostile input that must raise Malformed only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.ber import (
    CLASS_APPLICATION,
    CLASS_CONTEXT,
    CLASS_UNIVERSAL,
    bit_string,
    integer,
    iter_tlvs,
    read_tlv,
    unsigned,
)


def test_short_and_long_form_lengths() -> None:
    # [APPLICATION 1] constructed (0x61), long form 0x81 0x03, contents 3 bytes
    buf = bytes.fromhex("618103 800141")
    assert read_tlv(buf, 0, len(buf)) == (CLASS_APPLICATION, True, 1, 3, 6)
    # inside: [0] primitive (0x80) length 1 value 0x41
    assert list(iter_tlvs(buf, 3, 6)) == [(CLASS_CONTEXT, False, 0, 5, 6)]


def test_high_tag_number_form() -> None:
    # context primitive, tag number 0x1f -> next octets 0x81 0x00 = 128, length 1
    buf = bytes.fromhex("9f8100 01 07")
    assert read_tlv(buf, 0, len(buf)) == (CLASS_CONTEXT, False, 128, 4, 5)


def test_indefinite_length_is_resolved_and_iteration_steps_over_eoc() -> None:
    # SEQUENCE (0x30) indefinite: INTEGER 5, then end-of-contents; followed by BOOLEAN true
    buf = bytes.fromhex("3080 020105 0000 0101ff")
    first = read_tlv(buf, 0, len(buf))
    assert first == (CLASS_UNIVERSAL, True, 16, 2, 5)
    assert [t[2] for t in iter_tlvs(buf, 0, len(buf))] == [16, 1]


@pytest.mark.parametrize(("hexbuf", "code"), [
    ("", "x.ber_truncated"),                 # nothing
    ("30", "x.ber_truncated"),               # tag without length
    ("3005 0201", "x.ber_truncated"),        # value runs past the end
    ("3085 0000000001 00", "x.ber_bad_length"),  # five length octets
    ("0280 00", "x.ber_bad_length"),         # indefinite primitive
    ("3080 0201", "x.ber_truncated"),        # indefinite without end-of-contents
    ("1f8080808001 00", "x.ber_bad_tag"),    # tag number of five octets
])
def test_bad_encodings_are_named(hexbuf: str, code: str) -> None:
    buf = bytes.fromhex(hexbuf.replace(" ", ""))
    with pytest.raises(Malformed) as exc:
        read_tlv(buf, 0, len(buf), "x")
    assert exc.value.code == code


def test_integers_and_bit_strings() -> None:
    assert integer(b"\xff\x7f", 0, 2) == -129
    assert unsigned(b"\x00\xff\xff\xff\xff", 0, 5) == 0xFFFFFFFF
    # 13 bits used (3 unused): IEC 61850 quality 0000 0000 0000 0 -> good, and a Dbpos "01"
    assert bit_string(bytes.fromhex("030000"), 0, 3) == "0" * 13
    assert bit_string(bytes.fromhex("0640"), 0, 2) == "01"
    with pytest.raises(Malformed):
        bit_string(b"\x08\x00", 0, 2)
    with pytest.raises(Malformed):
        integer(b"", 0, 0)


@given(st.binary(max_size=64))
def test_random_input_raises_only_malformed(data: bytes) -> None:
    try:
        for cls, _c, _n, start, end in iter_tlvs(data, 0, len(data)):
            assert 0 <= cls <= 3 and 0 <= start <= end <= len(data)
    except Malformed:
        pass


def test_nested_indefinite_lengths_and_a_depth_bound() -> None:
    # SEQUENCE indef { SEQUENCE indef { NULL } EOC } EOC, then NULL
    buf = bytes.fromhex("3080 3080 0500 0000 0000 0500")
    assert [t[2] for t in iter_tlvs(buf, 0, len(buf))] == [16, 5]
    assert read_tlv(buf, 0, len(buf))[3:] == (2, 8)  # contents end where the outer EOC starts
    hostile = b"\x30\x80" * 2000
    with pytest.raises(Malformed) as exc:
        read_tlv(hostile, 0, len(hostile))
    assert exc.value.code == "ber.ber_too_deep"
