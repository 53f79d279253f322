"""TPKT (RFC 1006) framing and COTP (ISO 8073) TPDU parsing, reassembly and connection events."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.s7comm.session import s7_tsap
from otshield.protocols.tpkt import (
    COTP_CC,
    COTP_CR,
    COTP_DC,
    COTP_DR,
    COTP_DT,
    COTP_ER,
    CotpEvent,
    CotpReassembler,
    CotpTracker,
    format_tsap,
    frame_size,
    parse_cotp,
    parse_tpkt,
)
from protocols.s7_build import FakeFlow, cc, cr, dr, dt, er, tpkt


# -- TPKT ------------------------------------------------------------------------------------------
def test_frame_size_reads_the_length_field() -> None:
    buf = bytes.fromhex(
        "03"      # version 3
        "00"      # reserved
        "0016"    # length 22 including this header
    ) + bytes(18) + b"next"
    assert frame_size(buf) == 22


def test_frame_size_needs_four_bytes() -> None:
    assert frame_size(b"") is None
    assert frame_size(bytes.fromhex("030000")) is None


@pytest.mark.parametrize("head", [
    "02000016",  # version 2
    "04000016",  # version 4
    "03010016",  # reserved byte not zero
])
def test_frame_size_rejects_a_foreign_header(head: str) -> None:
    with pytest.raises(Malformed) as exc:
        frame_size(bytes.fromhex(head))
    assert exc.value.code == "tpkt.invalid_header"


@pytest.mark.parametrize("length", [0, 4, 6])
def test_frame_size_rejects_lengths_below_seven(length: int) -> None:
    with pytest.raises(Malformed) as exc:
        frame_size(bytes([3, 0, 0, length]))
    assert exc.value.code == "tpkt.invalid_length"


def test_frame_size_accepts_the_smallest_data_packet() -> None:
    assert frame_size(bytes.fromhex("0300000702f000")) == 7


def test_parse_tpkt_checks_the_whole_packet() -> None:
    assert parse_tpkt(bytes.fromhex("0300000702f080")) == bytes.fromhex("02f080")
    with pytest.raises(Malformed) as exc:
        parse_tpkt(bytes.fromhex("0300000802f080"))  # says 8, has 7
    assert exc.value.code == "tpkt.invalid_length"


# -- COTP ------------------------------------------------------------------------------------------
def test_connection_request_with_s7_tsaps() -> None:
    tpdu = parse_cotp(bytes.fromhex(
        "11"        # LI 17
        "e0"        # CR, credit 0
        "0000"      # dst-ref 0
        "0001"      # src-ref 1
        "00"        # class 0, no options
        "c0010a"    # TPDU size 2**10 = 1024
        "c1020100"  # calling TSAP 0x0100
        "c2020102"  # called TSAP 0x0102 (PG, rack 0, slot 2)
    ))
    assert tpdu.code == COTP_CR and tpdu.name == "CR"
    assert (tpdu.dst_ref, tpdu.src_ref, tpdu.proto_class) == (0, 1, 0)
    assert tpdu.tpdu_size == 1024
    assert tpdu.src_tsap == b"\x01\x00" and tpdu.dst_tsap == b"\x01\x02"
    assert tpdu.user_data == b""


def test_connection_confirm_with_text_tsap() -> None:
    tpdu = parse_cotp(bytes.fromhex(
        "1f"                                  # LI 31
        "d0"                                  # CC
        "0112"                                # dst-ref 0x0112 (the caller's)
        "0009"                                # src-ref 9
        "00"                                  # class 0
        "c0010a"                              # TPDU size 1024
        "c1020620"                            # calling TSAP 0x0620
        "c21053494d415449432d524f4f542d484d49"  # called TSAP "SIMATIC-ROOT-HMI"
    ))
    assert tpdu.code == COTP_CC
    assert (tpdu.dst_ref, tpdu.src_ref) == (0x0112, 9)
    assert format_tsap(tpdu.dst_tsap) == "SIMATIC-ROOT-HMI"
    assert format_tsap(tpdu.src_tsap) == "0x0620"


def test_preferred_tpdu_size_parameter() -> None:
    tpdu = parse_cotp(bytes.fromhex(
        "09"      # LI 9
        "e0" "0000" "0002" "00"
        "f00108"  # preferred maximum TPDU size 8 x 128
    ))
    assert tpdu.tpdu_size == 1024


def test_data_tpdu_class0() -> None:
    tpdu = parse_cotp(bytes.fromhex(
        "02"    # LI 2
        "f0"    # DT
        "80"    # EOT, TPDU-NR 0
        "3201"  # user data
    ))
    assert tpdu.code == COTP_DT and tpdu.eot and tpdu.tpdu_nr == 0
    assert tpdu.user_data == b"\x32\x01"
    more = parse_cotp(bytes.fromhex("02" "f0" "05"))  # no EOT, TPDU-NR 5, empty
    assert not more.eot and more.tpdu_nr == 5 and more.user_data == b""


def test_data_tpdu_normal_and_extended_formats() -> None:
    normal = parse_cotp(bytes.fromhex("04" "f0" "1234" "81" "aa"))  # dst-ref, EOT|NR 1
    assert normal.dst_ref == 0x1234 and normal.eot and normal.tpdu_nr == 1
    assert normal.user_data == b"\xaa"
    ext = parse_cotp(bytes.fromhex("07" "f0" "0001" "80000003" "bb"))  # 4-byte EOT|NR
    assert ext.eot and ext.tpdu_nr == 3 and ext.user_data == b"\xbb"


def test_disconnect_request_confirm_and_error() -> None:
    dr_ = parse_cotp(bytes.fromhex("06" "80" "0001" "0009" "80"))  # reason 0x80 normal
    assert dr_.code == COTP_DR and (dr_.dst_ref, dr_.src_ref, dr_.reason) == (1, 9, 0x80)
    dc_ = parse_cotp(bytes.fromhex("05" "c0" "0009" "0001"))
    assert dc_.code == COTP_DC and (dc_.dst_ref, dc_.src_ref) == (9, 1)
    er_ = parse_cotp(bytes.fromhex("04" "70" "0001" "02"))  # invalid TPDU type
    assert er_.code == COTP_ER and er_.reject_cause == 2


@pytest.mark.parametrize("raw, why", [
    ("", "empty"),
    ("02", "no code byte"),
    ("05f080", "LI beyond the data"),
    ("00f0", "LI 0"),
    ("03f08000", "DT with LI 3"),
    ("04e0000000", "CR shorter than its fixed part"),
    ("09e000000001" "00" "c105", "parameter overruns the header"),
    ("0ae000000001" "00" "c00102", "TPDU size 2**2"),
    ("0230", "unknown TPDU code 0x3"),
    ("03d00000", "CC too short"),
    ("03800000", "DR too short"),
    ("02c000", "DC too short"),
    ("02700000", "ER too short"),
    ("0260", "AK too short"),
])
def test_malformed_tpdus(raw: str, why: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_cotp(bytes.fromhex(raw))
    assert exc.value.code == "cotp.invalid", why


def test_format_tsap() -> None:
    assert format_tsap(None) is None
    assert format_tsap(b"") == "0x"
    assert format_tsap(b"\x01\x02") == "0x0102"
    assert format_tsap(b"SIMATIC-ROOT-ES") == "SIMATIC-ROOT-ES"


# -- reassembly ------------------------------------------------------------------------------------
def test_reassembler_joins_until_eot() -> None:
    r = CotpReassembler(100)
    assert r.add(b"ab", eot=True) == b"ab"
    assert r.add(b"", eot=False) is None  # empty non-final DT (S7-1200 HMIs send these)
    assert r.add(b"12", eot=False) is None
    assert r.pending == 2
    assert r.add(b"34", eot=True) == b"1234"
    assert r.pending == 0


def test_reassembler_is_bounded() -> None:
    r = CotpReassembler(10)
    assert r.add(b"x" * 6, eot=False) is None
    with pytest.raises(Malformed) as exc:
        r.add(b"y" * 6, eot=False)
    assert exc.value.code == "cotp.tsdu_too_large"
    assert r.add(b"ok", eot=True) == b"ok"  # the oversize TSDU was dropped
    with pytest.raises(Malformed):
        r.add(b"z" * 11, eot=False)


def test_reassembler_reset_drops_partial_data() -> None:
    r = CotpReassembler(100)
    r.add(b"partial", eot=False)
    r.reset()
    assert r.add(b"new", eot=True) == b"new"


# -- connection tracking ---------------------------------------------------------------------------
def _tpdu(packet: bytes):  # type: ignore[no-untyped-def]
    return parse_cotp(parse_tpkt(packet))


def test_tracker_pairs_cr_with_cc_and_decodes_rack_slot() -> None:
    flow = FakeFlow()
    tracker = CotpTracker(flow, s7_tsap)
    tracker.on_tpdu(_tpdu(cr(0x0005, b"\x01\x00", b"\x02\x23")), True)
    assert flow.events == []
    flow.step()
    tracker.on_tpdu(_tpdu(cc(0x0005, 0x4411, b"\x01\x00", b"\x02\x23", size_code=0x09)), False)
    (event,) = flow.events
    assert isinstance(event, CotpEvent)
    assert event.frame == 2 and event.src_port == 50100
    assert (event.pdu, event.result, event.src_ref, event.dst_ref) == (
        "connect", "accepted", 5, 0x4411)
    assert (event.src_tsap, event.dst_tsap, event.tpdu_size) == ("0x0100", "0x0223", 512)
    # 0x23 = rack 1 (0x23 >> 5), slot 3 (0x23 & 0x1f); 0x02 = OP connection
    assert (event.connection_type, event.rack, event.slot) == ("op", 1, 3)


def test_tracker_refused_and_unanswered_requests() -> None:
    flow = FakeFlow()
    tracker = CotpTracker(flow, s7_tsap)
    tracker.on_tpdu(_tpdu(cr(7, b"\x01\x00", b"\x01\x02")), True)
    tracker.on_tpdu(_tpdu(dr(7, 0x99, 0x88)), False)  # refused: connection refused
    tracker.on_tpdu(_tpdu(cr(8, b"\x01\x00", b"SIMATIC-ROOT-ES")), True)
    tracker.close()
    refused, silent = flow.events
    assert isinstance(refused, CotpEvent) and isinstance(silent, CotpEvent)
    assert (refused.result, refused.reason_code, refused.reason) == (
        "refused", 0x88, "connection_refused")
    assert (refused.rack, refused.slot, refused.connection_type) == (0, 2, "pg")
    assert (silent.result, silent.dst_tsap, silent.rack) == ("no_response", "SIMATIC-ROOT-ES",
                                                              None)


def test_tracker_disconnect_and_error() -> None:
    flow = FakeFlow()
    tracker = CotpTracker(flow)
    tracker.on_tpdu(_tpdu(dr(9, 1, 0x80)), True)
    tracker.on_tpdu(_tpdu(er(9, 0x01)), False)
    disconnect, error = flow.events
    assert isinstance(disconnect, CotpEvent) and isinstance(error, CotpEvent)
    assert (disconnect.pdu, disconnect.reason, disconnect.src_ref) == ("disconnect", "normal", 1)
    assert (error.pdu, error.reason, error.src_port) == ("error", "invalid_parameter_code", 102)


def test_tracker_reports_a_lone_cc() -> None:
    flow = FakeFlow()
    CotpTracker(flow, s7_tsap).on_tpdu(_tpdu(cc(3, 4, b"\x01\x00", b"\x01\x01")), False)
    (event,) = flow.events
    assert isinstance(event, CotpEvent)
    # the CC's calling side is the client: the event's source is the client
    assert event.src_port == 50100 and event.result == "accepted" and event.slot == 1


def test_helpers_build_what_the_parser_reads() -> None:
    assert tpkt(b"\x02\xf0\x80") == bytes.fromhex("0300000702f080")
    assert dt(b"\x32", eot=False) == bytes.fromhex("0300000802f00032")


# -- fuzzing ---------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_frame_size_and_cotp(data: bytes) -> None:
    with contextlib.suppress(Malformed):
        frame_size(data)
    with contextlib.suppress(Malformed):
        parse_cotp(data)


_VALID = [cr(1, b"\x01\x00", b"\x01\x02"), cc(1, 2, b"\x01\x00", b"SIMATIC-ROOT-HMI"),
          dr(1, 2, 0x80), er(1, 2), dt(b"\x32\x01\x00\x00")]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_VALID), st.integers(0, 40), st.integers(0, 255))
def test_fuzz_mutated_tpdus(packet: bytes, pos: int, value: int) -> None:
    mutated = bytearray(packet)
    mutated[pos % len(mutated)] = value
    flow = FakeFlow()
    tracker = CotpTracker(flow, s7_tsap)
    with contextlib.suppress(Malformed):
        tracker.on_tpdu(parse_cotp(parse_tpkt(bytes(mutated))), True)
    tracker.close()
