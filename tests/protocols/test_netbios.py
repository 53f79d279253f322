"""NetBIOS name service and datagram service decoders: first-level names (RFC 1001 14.1),
name service packets (RFC 1002 4.2), datagrams with browser announcements (RFC 1002 4.4,
[MS-BRWS] 2.2), a golden capture, tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.netbios import SPEC
from otshield.protocols.netbios.names import decode_label, display, read_name
from otshield.protocols.netbios.parser import decode_browser, decode_dgm, decode_ns
from otshield.protocols.netbios.session import NetbiosSession
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


def encode_name(name: str, suffix: int, scope: str = "", pad: bytes = b" ") -> bytes:
    """RFC 1001 14.1: pad to 15 with spaces, add the suffix byte, split every byte into two
    nibbles, add 'A' to each; then the scope labels and the root label."""
    raw = name.encode("ascii").ljust(15, pad) + bytes([suffix])
    letters = bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0x0F)))
    labels = b"".join(bytes([len(p)]) + p.encode() for p in scope.split(".") if p)
    return b"\x20" + letters + labels + b"\x00"


def ip(text: str) -> bytes:
    return socket.inet_aton(text)


QUERY = (struct.pack("!HHHHHH", 0x1234,   # transaction id
                     0x0110,              # request, opcode 0 (query), RD, B (broadcast)
                     1, 0, 0, 0)          # one question
         + encode_name("WORKGROUP", 0x1D)
         + struct.pack("!HH", 0x0020, 1))  # type NB, class IN
ANSWER = (struct.pack("!HHHHHH", 0x1234,
                      0x8500,             # response, opcode 0, AA, RD, rcode 0
                      0, 1, 0, 0)         # one answer
          + encode_name("WORKGROUP", 0x1D)
          + struct.pack("!HHIH", 0x0020, 1, 300000, 6)  # NB, IN, TTL, rdlength
          + struct.pack("!H", 0x0000) + ip("192.168.10.5"))  # unique, B node, address
REGISTRATION = (struct.pack("!HHHHHH", 0x2222,
                            0x2910,       # request, opcode 5 (registration), RD, B
                            1, 0, 0, 1)   # question + additional record
                + encode_name("HMI-01", 0x20)
                + struct.pack("!HH", 0x0020, 1)
                + b"\xc0\x0c"             # name: pointer to the question's name (offset 12)
                + struct.pack("!HHIH", 0x0020, 1, 300000, 6)
                + struct.pack("!H", 0x6000) + ip("192.168.10.7"))  # ONT 3 = H node
NODE_STATUS = (struct.pack("!HHHHHH", 0x3333, 0x8400, 0, 1, 0, 0)   # response, AA
               + encode_name("*", 0x00, pad=b"\x00")  # the wildcard name, NUL padded
               + struct.pack("!HHIH", 0x0021, 1, 0, 1 + 2 * 18 + 6 + 46)
               + b"\x02"                                           # two names
               + b"PLC-7          \x00" + b"\x04\x00"               # PLC-7<00> active
               + b"PLANT          \x00" + b"\x84\x00"               # PLANT<00> group, active
               + bytes.fromhex("001b1b0a0b0c")                      # unit id (MAC)
               + b"\x00" * 46)                                      # statistics


def smb_mailslot(data: bytes, mailslot: bytes = b"\\MAILSLOT\\BROWSE") -> bytes:
    """An SMB1 TRANSACTION request writing ``data`` to a mailslot ([MS-MAIL] 2.2.1)."""
    name = mailslot + b"\x00"
    data_off = 32 + 1 + 2 * 17 + 2 + len(name)
    words = struct.pack("<HHHHBBHIHHHHHBB3H",
                        0, len(data),          # total parameter / data count
                        0, 0, 0, 0,            # max parameter / data / setup count, reserved
                        0, 0, 0,               # flags, timeout, reserved2
                        0, data_off,           # parameter count / offset
                        len(data), data_off,   # data count / offset
                        3, 0,                  # setup count, reserved
                        1, 1, 2)               # setup: mailslot write, priority 1, class 2
    header = b"\xffSMB\x25" + b"\x00" * 27     # TRANSACTION, no status, no flags, ids 0
    return header + b"\x11" + words + struct.pack("<H", len(name) + len(data)) + name + data


HOST_ANNOUNCEMENT = (b"\x01"                   # opcode 1: HostAnnouncement
                     b"\x00"                   # update count
                     + struct.pack("<I", 720000)  # periodicity (ms)
                     + b"HMI-01".ljust(16, b"\x00")
                     + b"\x06\x01"             # OS 6.1
                     + struct.pack("<I", 0x00011003)  # workstation, server, NT, potential
                     + b"\x0f\x01"             # browser version 15.1
                     + struct.pack("<H", 0xAA55)  # signature
                     + b"Operator HMI\x00")


def datagram(payload: bytes, mtype: int = 0x11) -> bytes:
    names = encode_name("HMI-01", 0x20) + encode_name("WORKGROUP", 0x1D)
    return (struct.pack("!BBH", mtype, 0x02, 0x4242)   # direct group, first fragment, id
            + ip("192.168.10.7") + struct.pack("!H", 138)
            + struct.pack("!HH", len(names) + len(payload), 0)  # datagram length, offset
            + names + payload)


ANNOUNCE = datagram(smb_mailslot(HOST_ANNOUNCEMENT))


# -- names -------------------------------------------------------------------------------------

def test_names() -> None:
    assert decode_label(encode_name("WORKGROUP", 0x1D)[1:33]) == ("WORKGROUP", 0x1D)
    assert decode_label(b"A" * 31 + b"Z") is None       # 'Z' is no nibble
    assert decode_label(b"AB") is None
    raw = encode_name("CM02", 0x00, "QUT.EDU.AU")
    assert read_name(raw, 0, len(raw)) == ("CM02", 0, "QUT.EDU.AU", len(raw))
    assert display("CM02", 0, "QUT.EDU.AU") == "CM02.QUT.EDU.AU<00>"
    assert read_name(raw[:-1], 0, len(raw) - 1) is None  # no root label


# -- name service ------------------------------------------------------------------------------

def test_query_answer_registration_status() -> None:
    q = decode_ns(QUERY)
    assert (q.transaction_id, q.response, q.opcode, q.broadcast) == (0x1234, False, 0, True)
    assert (q.display_name, q.qtype) == ("WORKGROUP<1d>", 0x20)
    a = decode_ns(ANSWER)
    assert (a.response, a.rcode, a.addresses, a.ttl, a.group, a.node_type) == \
        (True, 0, ["192.168.10.5"], 300000, False, 0)
    r = decode_ns(REGISTRATION)
    assert (r.opcode, r.display_name, r.addresses, r.node_type) == \
        (5, "HMI-01<20>", ["192.168.10.7"], 3)
    s = decode_ns(NODE_STATUS)
    assert s.node_names == ["PLC-7<00>", "PLANT<00>"] and s.mac == "00:1b:1b:0a:0b:0c"
    assert s.rr_type == 0x21


@pytest.mark.parametrize(("data", "code"), [
    (QUERY[:11], "nbns.truncated"),
    (QUERY[:12] + b"\x05abcde\x00" + b"\x00\x20\x00\x01", "nbns.bad_name"),
    (QUERY[:-2], "nbns.truncated"),
    (ANSWER[:-3], "nbns.truncated"),
    (QUERY[:12] + b"\xc0\x0c" + b"\x00\x20\x00\x01", "nbns.bad_name"),  # pointer loop
])
def test_ns_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode_ns(data)
    assert exc.value.code == code and code in SPEC.anomaly_codes


# -- datagram service --------------------------------------------------------------------------

def test_datagram_and_browser() -> None:
    d = decode_dgm(ANNOUNCE)
    assert (d.msg_type, d.datagram_id, d.source_ip, d.source_port) == \
        (0x11, 0x4242, "192.168.10.7", 138)
    assert (d.source_name, d.destination_name) == ("HMI-01<20>", "WORKGROUP<1d>")
    assert d.user_data is not None and d.user_data[:4] == b"\xffSMB"
    b = decode_browser(HOST_ANNOUNCEMENT)
    assert b is not None
    assert (b.opcode, b.server_name, b.os_major, b.os_minor, b.server_type,
            b.browser_version, b.comment) == (1, "HMI-01", 6, 1, 0x00011003, "15.1",
                                              "Operator HMI")
    election = decode_browser(b"\x08\x01" + struct.pack("<III", 0x20011F04, 3600, 0) + b"DC1\x00")
    assert election is not None and (election.criteria, election.server_name) == \
        (0x20011F04, "DC1")
    err = decode_dgm(struct.pack("!BBH", 0x13, 0, 1) + ip("10.0.0.1") + b"\x00\x8a\x82")
    assert err.error_code == 0x82


@pytest.mark.parametrize(("data", "code"), [
    (ANNOUNCE[:9], "nbdgm.truncated"),
    (ANNOUNCE[:12], "nbdgm.truncated"),
    (b"\x20" + ANNOUNCE[1:], "nbdgm.bad_type"),
    (ANNOUNCE[:14] + b"\x05hello\x00", "nbdgm.bad_name"),
])
def test_dgm_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode_dgm(data)
    assert exc.value.code == code and code in SPEC.anomaly_codes


# -- session and golden capture ----------------------------------------------------------------

def test_session_bad_smb_in_datagram() -> None:
    flow = FakeFlow("udp", client=("192.168.10.7", 138), server=("192.168.10.255", 138))
    s = NetbiosSession(flow)
    s.on_frame(datagram(b"\xffSMB\x25"), True)
    assert flow.codes() == ["nbdgm.bad_smb"]
    assert flow.of("nbdgm")[0].mailslot is None


def test_golden(tmp_path: Path) -> None:
    host, bcast = ("192.168.10.7", 137), ("192.168.10.255", 137)
    pcap = write_udp(tmp_path / "netbios.pcap", [
        (host, bcast, QUERY), (("192.168.10.5", 137), host, ANSWER), (host, bcast, REGISTRATION),
        (("192.168.10.7", 138), ("192.168.10.255", 138), ANNOUNCE)])
    events = decode_capture(pcap)
    assert strip(events, "nbns") == [
        {"transaction_id": 0x1234, "opcode": "query", "response": False,
         "name": "WORKGROUP<1d>", "name_type": "master_browser", "query_type": "NB",
         "broadcast": True},
        {"transaction_id": 0x1234, "opcode": "query", "response": True,
         "name": "WORKGROUP<1d>", "name_type": "master_browser", "query_type": "NB",
         "rcode": "ok", "addresses": ["192.168.10.5"], "ttl": 300000, "group": False,
         "node_type": "B"},
        {"transaction_id": 0x2222, "opcode": "registration", "response": False,
         "name": "HMI-01<20>", "name_type": "file_server", "query_type": "NB",
         "broadcast": True, "addresses": ["192.168.10.7"], "ttl": 300000, "group": False,
         "node_type": "H"},
    ]
    assert strip(events, "nbdgm") == [
        {"msg_type": "direct_group", "datagram_id": 0x4242, "source_ip": "192.168.10.7",
         "source_port": 138, "source_name": "HMI-01<20>", "destination_name": "WORKGROUP<1d>",
         "mailslot": "\\MAILSLOT\\BROWSE", "browser_command": "HostAnnouncement",
         "host_name": "HMI-01", "os_version": "6.1",
         "server_type": ["workstation", "server", "nt_workstation", "potential_browser"],
         "browser_version": "15.1", "comment": "Operator HMI"},
    ]
    assert not anomaly_codes(events)


# -- tshark ------------------------------------------------------------------------------------

@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("nbns")))
def test_tshark_agreement_nbns(capture: object) -> None:
    path = capture.path  # type: ignore[attr-defined]
    ours = {e.frame: e for e in decoded(path) if e.__struct_config__.tag == "nbns"}
    rows, tunnelled = tshark_plain(path, ["nbns.name", "nbns.flags.opcode",
                                          "nbns.flags.response"], "nbns")
    opcodes = {"query": {"0"}, "registration": {"5"}, "release": {"6"}, "wack": {"7"},
               "refresh": {"8", "9"}, "multihomed_registration": {"15"}}
    agree, bad = 0, []
    for frame, names, opcode, response in rows:
        e = ours.get(int(frame))
        # tshark appends the suffix meaning to names in answer records: "NAME<20> (Server
        # service)"; the name itself is what both decode.
        first = names.split(",")[0].split(" (")[0] if names else None
        ok = (e is not None and e.name == first and opcode in opcodes.get(e.opcode, ())
              and e.response == (response in ("1", "True")))
        agree += ok
        if not ok:
            bad.append((frame, first, opcode, None if e is None else (e.name, e.opcode)))
    for b in bad[:5]:
        print("  mismatch", *b)
    print(f"nbns {path.name}: {agree}/{len(rows)} packets agree (name, opcode, response);"
          f" {tunnelled} tunnelled left out")
    assert agree == len(rows)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("nbdgm")))
def test_tshark_agreement_nbdgm(capture: object) -> None:
    path = capture.path  # type: ignore[attr-defined]
    ours = {e.frame: e for e in decoded(path) if e.__struct_config__.tag == "nbdgm"}
    rows, tunnelled = tshark_plain(path, ["nbdgm.source_name", "nbdgm.destination_name",
                                          "browser.server", "browser.os_major",
                                          "browser.os_minor"], "nbdgm")
    agree, bad = 0, []
    for frame, src, dst, server, major, minor in rows:
        e = ours.get(int(frame))
        theirs = (src, dst, server, f"{major}.{minor}" if major else "")
        mine = None if e is None else (e.source_name or "", e.destination_name or "",
                                       e.host_name or e.domain or "", e.os_version or "")
        agree += mine == theirs
        if mine != theirs:
            bad.append((frame, theirs, mine))
    for b in bad[:5]:
        print("  mismatch", *b)
    print(f"nbdgm {path.name}: {agree}/{len(rows)} datagrams agree (names, browser host, OS);"
          f" {tunnelled} tunnelled left out")
    assert agree == len(rows)


# -- fuzz --------------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random(data: bytes) -> None:
    for fn in (decode_ns, decode_dgm):
        try:
            fn(data)
        except Malformed as m:
            assert m.code in SPEC.anomaly_codes
    decode_browser(data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([QUERY, ANSWER, REGISTRATION, NODE_STATUS, ANNOUNCE]),
       st.lists(st.tuples(st.integers(0, 250), st.integers(0, 255)), max_size=6),
       st.integers(0, 60))
def test_fuzz_mutated_session(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base)[:max(1, len(base) - cut)]
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    for port in (137, 138):
        flow = FakeFlow("udp", client=("10.0.0.1", port), server=("10.0.0.255", port))
        NetbiosSession(flow).on_frame(bytes(data), True)
        for code in flow.codes():
            assert code in SPEC.anomaly_codes


def test_lists_are_bounded_and_flagged() -> None:
    entries = b"".join(struct.pack("!H", 0x8000) + ip(f"10.0.0.{i}") for i in range(20))
    answer = (struct.pack("!HHHHHH", 7, 0x8500, 0, 1, 0, 0) + encode_name("PLANT", 0x1C)
              + struct.pack("!HHIH", 0x0020, 1, 600, len(entries)) + entries)
    m = decode_ns(answer)
    assert len(m.addresses) == 16 and m.truncated and m.group
    assert not decode_ns(ANSWER).truncated
