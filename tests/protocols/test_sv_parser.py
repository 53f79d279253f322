"""Unit tests of the Sampled Values parser with annotated byte vectors (IEC 61850-9-2 8.5)."""

from __future__ import annotations

import pytest

from otshield.errors import Malformed
from otshield.protocols.goose.tlv import children
from otshield.protocols.sv.parser import parse_frame
from protocols.iec61850_build import header, sample, sv, sv_asdu, tlv, utc

FRAME = bytes.fromhex(
    "4000"          # APPID 0x4000
    "0042"          # Length 66 = 8 + 58
    "0000" "0000"   # Reserved 1, Reserved 2
    "6038"          # savPdu [APPLICATION 0], 56 octets
    "8001" "01"     # [0] noASDU 1
    "a233"          # [2] sequence of ASDU, 51 octets
    "3031"          # ASDU, 49 octets
    "8004" "4d553031"      # [0] svID "MU01"
    "8102" "4453"          # [1] datSet "DS"
    "8202" "0fa0"          # [2] smpCnt 4000
    "8304" "00000002"      # [3] confRev 2
    "8501" "02"            # [5] smpSynch 2 (global)
    "8602" "0050"          # [6] smpRate 80
    "8710"                 # [7] sample, 16 octets: 2 channels
    "000003e8" "00000000"  #   1000, quality good
    "ffffff38" "00000001"  #   -200, validity invalid
    "8802" "0000"          # [8] smpMod 0 (samples per nominal period)
)


def test_annotated_sv_frame() -> None:
    pdu = parse_frame(FRAME)
    assert (pdu.appid, pdu.no_asdu, pdu.security, pdu.simulated) == (0x4000, 1, False, False)
    (a,) = pdu.asdus
    assert (a.sv_id, a.dat_set, a.smp_cnt, a.conf_rev, a.smp_synch, a.smp_rate, a.smp_mod) == (
        "MU01", "DS", 4000, 2, 2, 80, 0)
    assert a.sample == sample([1000, -200], [0, 1])
    assert a.refr_tm is None and a.gm_identity is None


def test_optional_fields_and_several_asdus() -> None:
    frame = sv([sv_asdu(1, refr_tm=utc(5), gm_identity=b"\x00\x1b\x19\xff\xfe\x00\x00\x01"),
                sv_asdu(2, smp_rate=None)], security=b"\x04\x00", reserved1=0x8000)
    pdu = parse_frame(frame)
    assert pdu.security and pdu.simulated and pdu.no_asdu == 2
    assert [a.smp_cnt for a in pdu.asdus] == [1, 2]
    assert pdu.asdus[0].refr_tm == utc(5) and pdu.asdus[1].smp_rate is None


def test_long_and_indefinite_lengths() -> None:
    # a 300-octet sample needs the 0x82 length form; the fast path reads it
    pdu = parse_frame(sv([sv_asdu(9, values=sample(range(37)) + b"\0" * 4)]))
    assert len(pdu.asdus[0].sample) == 300
    # indefinite length (X.690 8.1.3.6) on the ASDU sequence goes through the general reader
    asdu = sv_asdu(3)
    apdu = tlv(0x60, tlv(0x80, b"\x01") + b"\xa2\x80" + asdu + b"\x00\x00")
    assert parse_frame(header(0x4000, apdu)).asdus[0].smp_cnt == 3
    assert children(b"\x30\x80\x80\x00\x00\x00", 0, 6, "sv") == [(0x30, 2, 4)]
    # a high tag number (X.690 8.1.2.4) is read by the general reader, number shown as 31
    assert children(b"\x9f\x21\x01\x07", 0, 4, "sv") == [(0x9F, 3, 4)]


@pytest.mark.parametrize(("frame", "code"), [
    (b"\x40\x00\x00\x10\x00\x00", "sv.bad_length"),
    (header(0x4000, tlv(0x61, b"")), "sv.unknown_pdu"),
    (header(0x4000, b""), "sv.unknown_pdu"),
    (header(0x4000, tlv(0x60, tlv(0x80, b"\x01"))), "sv.missing_field"),
    (sv([tlv(0x30, tlv(0x80, b"x"))]), "sv.missing_field"),
    (sv([b"\x30\x7f\x80\x01x"]), "sv.ber_truncated"),  # ASDU longer than its sequence
    (header(0x4000, tlv(0x60, tlv(0x80, b"") + tlv(0xA2, b""))), "sv.ber_bad_integer"),
])
def test_malformed(frame: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_frame(frame)
    assert exc.value.code == code


@pytest.mark.parametrize(("field", "raw"), [(0x82, b"\x01"), (0x83, b"\x00\x01"),
                                            (0x85, b""), (0x86, b"\x01"), (0x88, b"\x01"),
                                            (0x84, b"\x00"), (0x89, b"\x00")])
def test_bad_field_sizes(field: int, raw: bytes) -> None:
    body = (tlv(0x80, b"x") + tlv(0x82, b"\x00\x01") + tlv(0x83, b"\0\0\0\1")
            + tlv(0x85, b"\x00") + tlv(0x87, b""))
    with pytest.raises(Malformed) as exc:
        parse_frame(sv([tlv(0x30, body + tlv(field, raw))]))
    assert exc.value.code == "sv.bad_field"


def test_reader_reuses_layout_of_same_stream() -> None:
    from otshield.protocols.sv.parser import SvReader

    reader = SvReader()
    frames = [sv([sv_asdu(c, refr_tm=utc(c), values=sample([c, -c]))]) for c in range(5)]
    frames.append(sv([sv_asdu(5, conf_rev=9, refr_tm=utc(5), values=sample([5, -5]))]))
    for frame in frames:
        assert reader.parse(frame) == parse_frame(frame)
    assert len(reader._layouts) == 1  # same APPID and size: one layout, replaced on confRev
    assert reader.parse(frames[-1]).asdus[0].conf_rev == 9


@pytest.mark.parametrize(("raw", "code"), [
    (b"\x60\x85\x00\x00\x00\x00\x01\x00", "sv.ber_bad_length"),   # 5 length octets
    (b"\x7f\x81\x81\x81\x81\x01\x00", "sv.ber_bad_tag"),          # tag number of 5 octets
    (b"\x60\x80" * 40 + b"\x00\x00" * 40, "sv.ber_too_deep"),     # indefinite, 40 levels
])
def test_ber_errors_are_named(raw: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_frame(header(0x4000, raw))
    assert exc.value.code == code
