"""NTP decoder: annotated vectors (RFC 5905 7.3, RFC 9327, ntpd mode 7), session anomalies,
a golden capture, tshark agreement on the corpus, and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.ntp import SPEC
from otshield.protocols.ntp.parser import decode, ntp_time
from otshield.protocols.ntp.session import NtpSession
from protocols.it_b_build import (
    FakeFlow,
    anomaly_codes,
    corpus_for,
    decoded,
    strip,
    tshark_plain,
    write_udp,
)
from support import corpus_params
from support import decode as decode_capture

UNIX_2020 = 1_594_389_024  # 2020-07-10T13:50:24Z
NTP_2020 = UNIX_2020 + 2_208_988_800  # the same second on the NTP scale


def header(first: int, stratum: int = 0, poll: int = 6, precision: int = -20,
           delay: int = 0, disp: int = 0, refid: bytes = b"\0\0\0\0", ref: int = 0,
           org: int = 0, rec: int = 0, xmt: int = 0) -> bytes:
    return struct.pack("!BBbbII4sQQQQ", first, stratum, poll, precision, delay, disp, refid,
                       ref, org, rec, xmt)


CLIENT_REQUEST = (
    b"\x23"                      # LI 0, VN 4, mode 3 (client)
    b"\x00"                      # stratum 0 (unspecified in a request)
    b"\x06"                      # poll 2^6 s
    b"\xec"                      # precision 2^-20 s
    b"\x00\x00\x00\x00"          # root delay 0
    b"\x00\x01\x00\x00"          # root dispersion 1.0 s (16.16)
    b"\x00\x00\x00\x00"          # reference id: none
    + b"\x00" * 8                # reference timestamp: unset
    + b"\x00" * 8                # origin timestamp: unset
    + b"\x00" * 8                # receive timestamp: unset
    + struct.pack("!II", NTP_2020, 0x80000000)  # transmit: 2020-07-10T13:50:24.5Z
)

SERVER_REPLY = (
    b"\x24"                      # LI 0, VN 4, mode 4 (server)
    b"\x02"                      # stratum 2
    b"\x06"                      # poll 6
    b"\xe9"                      # precision -23
    b"\x00\x00\x08\x00"          # root delay 0x0800/65536 = 0.03125 s
    b"\x00\x00\x04\x00"          # root dispersion 0.015625 s
    b"\xc0\xa8\x01\x01"          # reference id: upstream 192.168.1.1
    + struct.pack("!II", NTP_2020 - 64, 0)          # reference time
    + struct.pack("!II", NTP_2020, 0x80000000)      # origin = the request's transmit
    + struct.pack("!II", NTP_2020, 0xC0000000)      # receive: .75
    + struct.pack("!II", NTP_2020 + 1, 0)           # transmit: +1 s
)

MONLIST = (
    b"\x17"                      # response 0, more 0, VN 2, mode 7 (private)
    b"\x00"                      # auth 0, sequence 0
    b"\x03"                      # implementation 3 (XNTPD)
    b"\x2a"                      # request code 42: MON_GETLIST_1 ("monlist")
    b"\x00\x00"                  # err 0, 0 items
    b"\x00\x00"                  # mbz, item size 0
)

READVAR = (
    b"\x16"                      # LI 0, VN 2, mode 6 (control)
    b"\x02"                      # response 0, error 0, more 0, opcode 2 READVAR
    b"\x00\x01"                  # sequence 1
    b"\x00\x00"                  # status 0
    b"\x00\x00"                  # association id 0 (the system)
    b"\x00\x00"                  # offset 0
    b"\x00\x00"                  # count 0
)


# -- parser ------------------------------------------------------------------------------------

def test_client_request() -> None:
    m = decode(CLIENT_REQUEST)
    assert (m.version, m.mode, m.leap, m.stratum, m.poll, m.precision) == (4, 3, 0, 0, 6, -20)
    assert m.root_dispersion == 1.0
    assert m.ref_time is None and m.org_time is None and m.rec_time is None
    assert m.xmt_time == UNIX_2020 + 0.5
    assert m.ref_id is None
    assert m.key_id is None and m.trailer_error is None


def test_server_reply() -> None:
    m = decode(SERVER_REPLY)
    assert (m.mode, m.stratum, m.precision) == (4, 2, -23)
    assert m.ref_id == "192.168.1.1"
    assert m.root_delay == 0.03125 and m.root_dispersion == 0.015625
    assert m.org_time == UNIX_2020 + 0.5
    assert m.rec_time == UNIX_2020 + 0.75
    assert m.xmt_time == UNIX_2020 + 1
    assert m.ref_time == UNIX_2020 - 64


def test_stratum_one_clock_source_and_kiss_code() -> None:
    gps = decode(header(0x24, stratum=1, refid=b"GPS\0"))  # stratum 1: ASCII clock source
    assert gps.ref_id == "GPS" and gps.kiss_code is None
    kod = decode(header(0x24, stratum=0, refid=b"RATE"))  # stratum 0: kiss-o'-death
    assert kod.ref_id == "RATE" and kod.kiss_code == "RATE"


def test_era_rollover() -> None:
    # RFC 5905 section 6: a seconds value with the top bit clear is in era 1 (after 2036).
    assert ntp_time(0x00000001_00000000) == 2**32 + 1 - 2_208_988_800
    assert ntp_time(0) is None


def test_mac_and_extension_trailers() -> None:
    md5 = decode(SERVER_REPLY + struct.pack("!I", 7) + b"\x11" * 16)  # key id 7 + MD5 digest
    assert md5.key_id == 7 and md5.extensions == 0
    sha1 = decode(SERVER_REPLY + struct.pack("!I", 9) + b"\x22" * 20)  # key id 9 + SHA-1
    assert sha1.key_id == 9
    # RFC 8915 unique identifier extension (type 0x0104, 36 bytes) then an NTS authenticator
    nts = decode(CLIENT_REQUEST + struct.pack("!HH", 0x0104, 36) + b"\x00" * 32
                 + struct.pack("!HH", 0x0404, 40) + b"\x00" * 36)
    assert nts.nts and nts.extensions == 2 and nts.trailer_error is None
    stray = decode(SERVER_REPLY + b"\x00" * 7)  # 7 bytes: neither MAC nor extension
    assert stray.trailer_error is not None


def test_control_and_private() -> None:
    c = decode(READVAR)
    assert (c.version, c.mode, c.opcode, c.sequence, c.response, c.data_length) == \
        (2, 6, 2, 1, False, 0)
    p = decode(MONLIST)
    assert (p.mode, p.implementation, p.request_code, p.response, p.item_count) == \
        (7, 3, 42, False, 0)
    r = decode(b"\x97\x00\x03\x2a" + struct.pack("!HH", 6, 72) + b"\0" * 432)
    assert r.response and r.item_count == 6 and r.item_size == 72


@pytest.mark.parametrize(("data", "code"), [
    (b"", "ntp.truncated"),
    (CLIENT_REQUEST[:47], "ntp.truncated"),
    (b"\x03" + CLIENT_REQUEST[1:], "ntp.bad_version"),         # VN 0
    (b"\x2b" + CLIENT_REQUEST[1:], "ntp.bad_version"),         # VN 5
    (b"\x20" + CLIENT_REQUEST[1:], "ntp.reserved_mode"),       # mode 0
    (READVAR[:11], "ntp.truncated"),
    (READVAR[:10] + b"\x00\x08", "ntp.bad_control_length"),     # count 8, no data
    (MONLIST[:7], "ntp.truncated"),
])
def test_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode(data)
    assert exc.value.code == code
    assert code in SPEC.anomaly_codes


# -- session -----------------------------------------------------------------------------------

def test_session_flags_management_modes_once_per_flow() -> None:
    flow = FakeFlow("udp", server=("10.0.0.20", 123))
    s = NtpSession(flow)
    for data in (READVAR, READVAR, MONLIST, MONLIST, b"\x17\x00\x03\x04" + b"\0" * 4):
        s.on_frame(data, True)
    assert flow.codes() == ["ntp.control_message", "ntp.monlist", "ntp.private_message"]
    assert [e.mode for e in flow.of("ntp")] == ["control"] * 2 + ["private"] * 3
    assert flow.of("ntp")[2].request == "mon_getlist_1"


def test_session_reports_malformed_and_bad_trailer_and_keeps_going() -> None:
    flow = FakeFlow("udp", server=("10.0.0.20", 123))
    s = NtpSession(flow)
    s.on_frame(b"\x23\x00", True)
    s.on_frame(SERVER_REPLY + b"\x00" * 7, False)
    s.on_frame(CLIENT_REQUEST, True)
    assert flow.codes() == ["ntp.truncated", "ntp.bad_trailer"]
    assert [e.mode for e in flow.of("ntp")] == ["server", "client"]
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


# -- golden capture ----------------------------------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    cli, srv = ("192.168.7.10", 40123), ("192.168.7.1", 123)
    pcap = write_udp(tmp_path / "ntp.pcap", [(cli, srv, CLIENT_REQUEST), (srv, cli, SERVER_REPLY),
                                             (("10.9.9.9", 50000), srv, MONLIST)])
    events = decode_capture(pcap)
    assert strip(events, "ntp") == [
        {"version": 4, "mode": "client", "leap": "no_warning", "stratum": 0, "poll": 6,
         "precision": -20, "root_delay": 0.0, "root_dispersion": 1.0,
         "xmt_time": UNIX_2020 + 0.5},
        {"version": 4, "mode": "server", "leap": "no_warning", "stratum": 2, "poll": 6,
         "precision": -23, "root_delay": 0.03125, "root_dispersion": 0.015625,
         "ref_id": "192.168.1.1", "ref_time": UNIX_2020 - 64.0, "org_time": UNIX_2020 + 0.5,
         "rec_time": UNIX_2020 + 0.75, "xmt_time": UNIX_2020 + 1.0},
        {"version": 2, "mode": "private", "response": False, "more": False, "sequence": 0,
         "implementation": "xntpd", "request": "mon_getlist_1", "error_code": 0,
         "item_count": 0, "item_size": 0},
    ]
    ntp = [e for e in events if e.__struct_config__.tag == "ntp"]
    assert [(e.frame, e.src_ip, e.dst_port) for e in ntp] == [
        (1, "192.168.7.10", 123), (2, "192.168.7.1", 40123), (3, "10.9.9.9", 123)]
    assert anomaly_codes(events, "ntp.") == ["ntp.monlist"]


# -- tshark ------------------------------------------------------------------------------------

_MODES = {"1": "symmetric_active", "2": "symmetric_passive", "3": "client", "4": "server",
          "5": "broadcast", "6": "control", "7": "private"}


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("ntp")))
def test_tshark_agreement(capture: object) -> None:
    path = capture.path  # type: ignore[attr-defined]
    ours = {e.frame: e for e in decoded(path) if e.__struct_config__.tag == "ntp"}
    rows, tunnelled = tshark_plain(path, ["ntp.flags.mode", "ntp.flags.vn", "ntp.stratum"],
                                   "ntp")
    if not rows:
        pytest.skip(f"all {tunnelled} NTP packets are inside tunnels (not decapsulated)")
    agree = 0
    for frame, mode, vn, stratum in ((int(r[0]), r[1], r[2], r[3]) for r in rows):
        e = ours.get(frame)
        if e is not None and e.mode == _MODES.get(mode) and str(e.version) == vn and (
                not stratum or str(e.stratum) == stratum):
            agree += 1
    print(f"ntp {path.name}: {agree}/{len(rows)} frames agree (mode, version, stratum);"
          f" {tunnelled} tunnelled frames left out")
    assert agree == len(rows)


# -- fuzz --------------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_fuzz_random(data: bytes) -> None:
    try:
        decode(data)
    except Malformed as m:
        assert m.code in SPEC.anomaly_codes


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([CLIENT_REQUEST, SERVER_REPLY, MONLIST, READVAR]),
       st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       st.integers(0, 120))
def test_fuzz_mutated_session(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base + b"\x00" * 60)[:len(base) + cut % 61]
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    flow = FakeFlow("udp", server=("10.0.0.20", 123))
    NtpSession(flow).on_frame(bytes(data), True)  # never raises
    for code in flow.codes():
        assert code in SPEC.anomaly_codes
