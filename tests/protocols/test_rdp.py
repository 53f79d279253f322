"""RDP connection sequence: TPKT/X.224 Connection Request and Confirm with the RDP negotiation
structures, MCS Connect Initial/Response user data ([MS-RDPBCGR] 2.2.1.1-2.2.1.4), findings
(BlueKeep's MS_T120 channel), golden captures (also replayed in 1-byte and random segments) and
tshark agreement on them (the corpus has no RDP), fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.pcapwriter import PcapWriter, TcpConversation
from otshield.protocols.rdp import SPEC, probe
from otshield.protocols.rdp.parser import (
    parse_confirm,
    parse_connect_initial,
    parse_connect_response,
    parse_request,
    tpkt_length,
)
from otshield.protocols.rdp.session import RdpSession
from protocols.it_b_build import (
    FakeFlow,
    anomaly_codes,
    ber,
    ber_int,
    one_byte,
    random_sizes,
    strip,
    utf16,
)
from resegment import resegment
from support import decode as decode_capture
from support import require_tshark, tshark_fields, without_position


def tpkt(payload: bytes) -> bytes:
    """RFC 1006 section 6: version 3, reserved 0, length including this header."""
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def x224_cr(variable: bytes) -> bytes:
    """X.224 13.3: LI, CR code 0xE0, DST-REF 0, SRC-REF 0, class 0, then RDP's data."""
    return tpkt(bytes([6 + len(variable), 0xE0]) + b"\x00\x00" + b"\x00\x00" + b"\x00"
                + variable)


def x224_cc(variable: bytes) -> bytes:
    return tpkt(bytes([6 + len(variable), 0xD0]) + b"\x00\x00" + b"\x12\x34" + b"\x00"
                + variable)


def neg_req(protocols: int, flags: int = 0) -> bytes:
    return struct.pack("<BBHI", 0x01, flags, 8, protocols)  # RDP_NEG_REQ


def neg_rsp(selected: int, flags: int = 0) -> bytes:
    return struct.pack("<BBHI", 0x02, flags, 8, selected)  # RDP_NEG_RSP


def neg_failure(code: int) -> bytes:
    return struct.pack("<BBHI", 0x03, 0, 8, code)  # RDP_NEG_FAILURE


def _per_len(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else struct.pack("!H", 0x8000 | n)


def _domain_params() -> bytes:
    return ber(0x30, b"".join(ber_int(v) for v in (34, 2, 0, 1, 0, 1, 0xFFFF, 2)))


def mcs_connect_initial(blocks: bytes) -> bytes:
    """X.224 Data + MCS Connect-Initial (T.125, BER) + GCC Conference Create Request (T.124,
    PER) with the H.221 key "Duca" and RDP's client data blocks."""
    create = b"\x00\x08\x00\x10\x00\x01\xc0\x00" + b"Duca" + _per_len(len(blocks)) + blocks
    gcc = b"\x00\x05\x00\x14\x7c\x00\x01" + _per_len(len(create)) + create
    ci = (ber(0x04, b"\x01") + ber(0x04, b"\x01") + ber(0x01, b"\xff")
          + _domain_params() + _domain_params() + _domain_params() + ber(0x04, gcc))
    body = b"\x7f\x65" + ber(0x00, ci)[1:]  # application tag 101, two-byte tag
    return tpkt(b"\x02\xf0\x80" + body)


def mcs_connect_response(blocks: bytes) -> bytes:
    gcc = (b"\x00\x05\x00\x14\x7c\x00\x01\x2a\x14\x76\x0a\x01\x01\x00\x01\xc0\x00" + b"McDn"
           + _per_len(len(blocks)) + blocks)
    cr = ber(0x0A, b"\x00") + ber_int(0) + _domain_params() + ber(0x04, gcc)
    return tpkt(b"\x02\xf0\x80" + b"\x7f\x66" + ber(0x00, cr)[1:])


def block(btype: int, body: bytes) -> bytes:
    return struct.pack("<HH", btype, 4 + len(body)) + body


CS_CORE = block(0xC001, struct.pack("<IHHHHII", 0x00080004, 1280, 1024, 0xCA01, 0xAA03,
                                    0x409, 2600)      # version 8.4, 1280x1024, en-US, build
                + utf16("ENG-WS1").ljust(32, b"\0")   # clientName
                + struct.pack("<III", 4, 0, 12) + b"\0" * 64)  # keyboard type/subtype/fkeys
CS_SECURITY = block(0xC002, struct.pack("<II", 0x1B, 0))  # 40, 128, 56 bit, FIPS
CS_NET = block(0xC003, struct.pack("<I", 3) + b"rdpdr\0\0\0" + struct.pack("<I", 0x80800000)
               + b"cliprdr\0" + struct.pack("<I", 0xC0A00000)
               + b"MS_T120\0" + struct.pack("<I", 0x80000000))
SC_CORE = block(0x0C01, struct.pack("<II", 0x00080004, 0))
SC_SECURITY = block(0x0C02, struct.pack("<IIII", 0x02, 0x02, 0, 0))  # 128-bit, compatible

NLA: list[tuple[bool, bytes]] = [
    (True, x224_cr(b"Cookie: mstshash=eltons\r\n" + neg_req(0x0B))),  # TLS|CredSSP|CredSSP-EX
    (False, x224_cc(neg_rsp(0x02, 0x1F))),                            # CredSSP chosen
    (True, b"\x16\x03\x01\x00\x2a" + b"\x01" * 42),                   # then TLS
]
LEGACY: list[tuple[bool, bytes]] = [
    (True, x224_cr(b"Cookie: mstshash=admin\r\n" + neg_req(0x00, 0x01))),  # RDP only,
    (False, x224_cc(neg_rsp(0x00))),                                  # restricted admin
    (True, mcs_connect_initial(CS_CORE + CS_SECURITY + CS_NET)),
    (False, mcs_connect_response(SC_CORE + SC_SECURITY)),
    (True, tpkt(b"\x02\xf0\x80" + b"\x04\x01\x00\x01\x00")),           # erect domain
]
REFUSED: list[tuple[bool, bytes]] = [
    (True, x224_cr(b"Cookie: msts=3640205228.15629.0000\r\n" + neg_req(0x01))),
    (False, x224_cc(neg_failure(5))),                                 # HYBRID required
]
SILENT: list[tuple[bool, bytes]] = [(True, x224_cr(neg_req(0x03)))]

EXPECTED: list[dict[str, Any]] = [
    {"cookie": "eltons", "requested_protocols": ["TLS", "CredSSP", "CredSSP-EX"],
     "result": "success", "selected_protocol": "CredSSP",
     "response_flags": ["extended_client_data_supported", "dynvc_gfx_protocol_supported",
                        "restricted_admin_mode_supported",
                        "redirected_authentication_mode_supported"]},
    {"cookie": "admin", "requested_protocols": [],
     "request_flags": ["restricted_admin_mode_required"], "result": "success",
     "selected_protocol": "RDP", "client_name": "ENG-WS1", "client_build": 2600,
     "client_version": "8.4", "keyboard_layout": 0x409, "desktop_width": 1280,
     "desktop_height": 1024, "channels": ["rdpdr", "cliprdr", "MS_T120"],
     "client_encryption_methods": ["40BIT", "128BIT", "56BIT", "FIPS"],
     "encryption_method": "128BIT", "encryption_level": "CLIENT_COMPATIBLE"},
    {"routing_token": "msts=3640205228.15629.0000", "requested_protocols": ["TLS"],
     "result": "failure", "failure": "HYBRID_REQUIRED_BY_SERVER"},
    {"requested_protocols": ["TLS", "CredSSP"], "result": "no_response"},
]
CONVERSATIONS = (NLA, LEGACY, REFUSED, SILENT)


# -- parser --------------------------------------------------------------------------------------

def test_connection_request_and_confirm() -> None:
    r = parse_request(NLA[0][1])
    assert (r.cookie, r.routing_token, r.neg_present, r.requested_protocols, r.neg_flags) == \
        ("eltons", None, True, 0x0B, 0)
    corr = x224_cr(neg_req(0x03, 0x08) + struct.pack("<BBH", 6, 0, 36) + bytes(range(16))
                   + b"\0" * 16)
    assert parse_request(corr).correlation_id == bytes(range(16)).hex()
    assert parse_request(REFUSED[0][1]).routing_token == "msts=3640205228.15629.0000"
    assert parse_request(x224_cr(b"")).neg_present is False  # pre-RDP 5.2 client
    cc = parse_confirm(NLA[1][1])
    assert (cc.selected_protocol, cc.neg_flags, cc.failure_code) == (2, 0x1F, None)
    assert parse_confirm(REFUSED[1][1]).failure_code == 5
    assert parse_confirm(x224_cc(b"")).selected_protocol is None


def test_mcs_user_data() -> None:
    cd = parse_connect_initial(LEGACY[2][1])
    assert (cd.client_name, cd.client_build, cd.keyboard_layout, cd.version) == \
        ("ENG-WS1", 2600, 0x409, 0x00080004)
    assert cd.channels == ["rdpdr", "cliprdr", "MS_T120"] and cd.encryption_methods == 0x1B
    sd = parse_connect_response(LEGACY[3][1])
    assert (sd.version, sd.encryption_method, sd.encryption_level) == (0x00080004, 2, 2)


@pytest.mark.parametrize(("fn", "data", "code"), [
    (tpkt_length, b"\x02\x00\x00\x13", "rdp.invalid_tpkt"),
    (tpkt_length, b"\x03\x00\x00\x05", "rdp.invalid_tpkt"),
    (parse_request, tpkt(b"\x06\xd0" + b"\0" * 5), "rdp.invalid_x224"),     # a CC, not a CR
    (parse_request, tpkt(b"\x20\xe0" + b"\0" * 5), "rdp.invalid_x224"),     # LI too long
    (parse_request, x224_cr(b"Cookie: mstshash=x"), "rdp.invalid_x224"),   # no CR LF
    (parse_request, x224_cr(struct.pack("<BBHI", 1, 0, 9, 3)), "rdp.invalid_negotiation"),
    (parse_confirm, x224_cc(struct.pack("<BBHI", 7, 0, 8, 1)), "rdp.invalid_negotiation"),
    (parse_connect_initial, tpkt(b"\x02\xf0\x80\x7f\x66\x00"), "rdp.invalid_mcs"),
    (parse_connect_initial, mcs_connect_initial(b"")[:-8], "rdp.invalid_mcs"),
])
def test_malformed(fn: Any, data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        fn(data)
    assert exc.value.code == code and code in SPEC.anomaly_codes


def test_probe() -> None:
    assert probe(NLA[0][1], True) and probe(SILENT[0][1], True)
    s7_cr = tpkt(b"\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a")
    assert not probe(s7_cr, True)  # an S7comm COTP connection request is not RDP
    assert not probe(NLA[0][1], False)


# -- session -------------------------------------------------------------------------------------

def run(messages: list[tuple[bool, bytes]], step: int = 0) -> FakeFlow:
    flow = FakeFlow(server=("10.0.0.20", 3389))
    s = RdpSession(flow)
    for from_client, data in messages:
        flow.step()
        n = step or len(data)
        for i in range(0, len(data), n):
            s.on_data(data[i:i + n], from_client)
    s.close()
    return flow


def test_sessions_in_memory() -> None:
    for step in (0, 1):
        got = [strip(run(conv, step).events, "rdp") for conv in CONVERSATIONS]
        assert got == [[e] for e in EXPECTED]
    assert run(LEGACY).codes() == ["rdp.ms_t120_channel"]


def test_joined_late_and_garbage() -> None:
    assert run([(True, b"\x16\x03\x03\x00\x10" + b"\0" * 16),
                (False, b"\x17\x03\x03\x00\x10")]).events == []
    flow = run([(True, b"GET / HTTP/1.1\r\n")])
    assert flow.codes() == ["rdp.not_rdp"] and flow.of("rdp") == []
    flow = run([(True, x224_cr(b"Cookie: mstshash=x\r\n" + neg_req(1))),
                (False, tpkt(b"\x08\xd0" + b"\0" * 5 + b"\x05\x00"))])  # CC, 2 odd bytes
    assert flow.codes() == ["rdp.invalid_negotiation"]
    assert strip(flow.events, "rdp") == [{"cookie": "x", "requested_protocols": ["TLS"],
                                          "result": "no_response"}]


# -- golden captures -----------------------------------------------------------------------------

def write_conversations(path: Path) -> Path:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, conv in enumerate(CONVERSATIONS):
            tcp = TcpConversation(w, (f"10.0.0.{10 + i}", 49700 + i), ("10.0.0.20", 3389),
                                  start=1_700_000_000.0 + i)
            tcp.handshake()
            for from_client, payload in conv:
                tcp.send(from_client, payload)
            tcp.close()
    return path


def test_golden(tmp_path: Path) -> None:
    pcap = write_conversations(tmp_path / "rdp.pcap")
    events = decode_capture(pcap)
    assert strip(events, "rdp") == EXPECTED
    assert anomaly_codes(events) == ["rdp.ms_t120_channel"]
    for name, split in (("one", one_byte), ("random", random_sizes(9))):
        out = tmp_path / f"rdp_{name}.pcap"
        resegment(pcap, out, split)
        assert without_position(decode_capture(out)) == without_position(events)


@pytest.mark.tshark
def test_tshark_agreement_on_golden(tmp_path: Path) -> None:
    """The corpus holds no RDP: compare with tshark on the golden captures instead (cookie or
    routing token, requested and selected protocols, client name)."""
    require_tshark()
    pcap = write_conversations(tmp_path / "rdp.pcap")
    events = [e for e in decode_capture(pcap) if e.__struct_config__.tag == "rdp"]
    rows = tshark_fields(pcap, ["tcp.stream", "ip.src", "rdp.rt_cookie",
                                "rdp.negReq.requestedProtocols", "rdp.negReq.selectedProtocol",
                                "rdp.client.name"], "rdp")
    client_of: dict[str, str] = {}
    by_client: dict[str, dict[str, str]] = {}
    for _, stream, src, cookie, requested, selected, name in rows:
        client = client_of.setdefault(stream, src)  # the client speaks first
        d = by_client.setdefault(client, {})
        for key, value in (("cookie", cookie), ("requested", requested),
                           ("selected", selected), ("name", name)):
            if value:
                d[key] = value
    names = {0x0: "RDP", 0x1: "TLS", 0x2: "CredSSP"}
    agree = 0
    for e in events:
        t = by_client.get(e.src_ip, {})
        mine_cookie = (f"Cookie: mstshash={e.cookie}" if e.cookie
                       else f"Cookie: {e.routing_token}" if e.routing_token else None)
        ok = t.get("cookie") == mine_cookie
        bits = {"TLS": 1, "CredSSP": 2, "RDSTLS": 4, "CredSSP-EX": 8}
        ok &= int(t.get("requested", "-1"), 0) == sum(bits[p] for p in e.requested_protocols)
        if e.selected_protocol is not None:
            ok &= names.get(int(t.get("selected", "-1"), 0)) == e.selected_protocol
        if e.client_name is not None:
            ok &= t.get("name") == e.client_name
        agree += ok
    print(f"rdp golden: {agree}/{len(events)} connections agree with tshark")
    assert agree == len(events) == 4


# -- fuzz ----------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_parsers(data: bytes) -> None:
    for fn in (tpkt_length, parse_request, parse_confirm, parse_connect_initial,
               parse_connect_response):
        try:
            fn(data)
        except Malformed as m:
            assert m.code in SPEC.anomaly_codes


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CONVERSATIONS),
       st.lists(st.tuples(st.integers(0, 4), st.integers(0, 300), st.integers(0, 255)),
                max_size=6),
       st.integers(1, 40))
def test_fuzz_mutated_sessions(conv: list[tuple[bool, bytes]],
                               flips: list[tuple[int, int, int]], step: int) -> None:
    msgs = [bytearray(p) for _, p in conv]
    for i, pos, value in flips:
        if i < len(msgs) and pos < len(msgs[i]):
            msgs[i][pos] = value
    flow = run([(fc, bytes(m)) for (fc, _), m in zip(conv, msgs, strict=True)], step)
    assert len(flow.of("rdp")) <= 1
    for code in flow.codes():
        assert code in SPEC.anomaly_codes
