"""SNMP decoder: the BER reader, annotated v1/v2c/v3 messages (RFC 1157, 3416, 3412, 3414),
request/response pairing, a golden capture, tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.snmp import SPEC
from otshield.protocols.snmp.ber import integer, oid, tlv, unsigned
from otshield.protocols.snmp.parser import MAX_VARBINDS, decode
from otshield.protocols.snmp.session import SnmpSession
from protocols.it_b_build import (
    FakeFlow,
    anomaly_codes,
    ber,
    ber_int,
    ber_oid,
    corpus_for,
    decoded,
    strip,
    tshark_plain,
    write_udp,
)
from support import corpus_params
from support import decode as decode_capture

NULL = b"\x05\x00"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_OID = "1.3.6.1.2.1.1.2.0"


def seq(*parts: bytes) -> bytes:
    return ber(0x30, b"".join(parts))


def varbinds(*pairs: tuple[str, bytes]) -> bytes:
    return seq(*(seq(ber_oid(name), value) for name, value in pairs))


def pdu(tag: int, request_id: int, *pairs: tuple[str, bytes], status: int = 0,
        index: int = 0) -> bytes:
    return ber(tag, ber_int(request_id) + ber_int(status) + ber_int(index) + varbinds(*pairs))


def message(version: int, community: bytes, body: bytes) -> bytes:
    return seq(ber_int(version), ber(0x04, community), body)


GET_V1 = message(0, b"public", pdu(0xA0, 17, (SYS_DESCR, NULL), (SYS_UPTIME, NULL)))
RESPONSE_V1 = message(0, b"public", pdu(
    0xA2, 17,
    (SYS_DESCR, ber(0x04, b"Siemens SIMATIC S7-1500\x00")),  # OCTET STRING, NUL-padded text
    (SYS_UPTIME, ber_int(123456, 0x43))))                     # TimeTicks
GETBULK_V2 = message(1, b"s3cr3t!", ber(0xA5, ber_int(99) + ber_int(0) + ber_int(10)
                                        + varbinds(("1.3.6.1.2.1.2.2.1.2", NULL))))
SET_V2 = message(1, b"private", pdu(0xA3, 5, ("1.3.6.1.4.1.9.2.1.55.10.0.0.1",
                                              ber(0x04, b"router.cfg"))))
TRAP_V1 = message(0, b"public", ber(0xA4,
    ber_oid("1.3.6.1.4.1.2021.250")                 # enterprise
    + ber(0x40, bytes([10, 0, 0, 5]))               # agent-addr IpAddress 10.0.0.5
    + ber_int(3)                                    # generic-trap linkUp
    + ber_int(0)                                    # specific-trap
    + ber_int(4242, 0x43)                           # time-stamp TimeTicks
    + varbinds(("1.3.6.1.2.1.2.2.1.1.2", ber_int(2)))))
TRAP_V2 = message(1, b"public", pdu(0xA7, 300,
    (SYS_UPTIME, ber_int(777, 0x43)),
    ("1.3.6.1.6.3.1.1.4.1.0", ber_oid("1.3.6.1.6.3.1.1.5.4")),  # snmpTrapOID.0 = linkUp
    ("1.3.6.1.2.1.2.2.1.1.3", ber_int(3))))


def v3(msg_id: int, flags: int, user: bytes, scoped: bytes, engine: bytes = b"\x80\x00\x1f\x88",
       boots: int = 3, time: int = 1000) -> bytes:
    usm = seq(ber(0x04, engine), ber_int(boots), ber_int(time), ber(0x04, user),
              ber(0x04, b"\x00" * 12 if flags & 1 else b""),   # auth params (digest)
              ber(0x04, b"\x00" * 8 if flags & 2 else b""))    # priv params (salt)
    return seq(ber_int(3),                                                   # msgVersion 3
               seq(ber_int(msg_id), ber_int(65507), ber(0x04, bytes([flags])),  # global data
                   ber_int(3)),                                              # model USM
               ber(0x04, usm),                                               # security params
               scoped)


DISCOVERY_V3 = v3(1001, 0x04, b"", seq(ber(0x04, b""), ber(0x04, b""),
                                       pdu(0xA0, 55)), engine=b"", boots=0, time=0)
REPORT_V3 = v3(1001, 0x00, b"", seq(ber(0x04, b"\x80\x00\x1f\x88"), ber(0x04, b""), pdu(
    0xA8, 55, ("1.3.6.1.6.3.15.1.1.4.0", ber_int(1, 0x41)))))
ENCRYPTED_V3 = v3(1002, 0x07, b"opsadmin", ber(0x04, b"\x9c" * 40))  # authPriv, reportable
ENCRYPTED_REPLY_V3 = v3(1002, 0x03, b"opsadmin", ber(0x04, b"\x3d" * 48))


# -- BER ---------------------------------------------------------------------------------------

def test_ber_elements() -> None:
    assert tlv(b"\x04\x03abc", 0, 5) == (0x04, 2, 5)
    long_form = b"\x04\x82\x01\x00" + b"x" * 256                  # length 256 in two bytes
    assert tlv(long_form, 0, len(long_form)) == (0x04, 4, 260)
    assert integer(b"\xff\x38", 0, 2) == -200
    assert unsigned(b"\x00\xff\xff\xff\xff", 0, 5) == 0xFFFFFFFF  # Counter32 with leading 0
    assert oid(b"\x2b\x06\x01\x04\x01\x82\x37", 0, 7) == "1.3.6.1.4.1.311"
    assert oid(b"\x88\x37\x03", 0, 3) == "2.999.3"               # X.690 8.19.5 example
    with pytest.raises(Malformed):
        tlv(b"\x30\x80\x00\x00", 0, 4)                            # indefinite length
    with pytest.raises(Malformed):
        tlv(b"\x04\x05abc", 0, 5)                                 # runs past the end
    with pytest.raises(Malformed):
        oid(b"\x2b\x86", 0, 2)                                    # unterminated sub-identifier
    with pytest.raises(Malformed):
        oid(b"\x2b" + b"\xff" * 6 + b"\x7f", 0, 8)               # sub-identifier above 2^32


# -- parser ------------------------------------------------------------------------------------

def test_v1_get_and_response() -> None:
    req = decode(GET_V1)
    assert (req.version, req.pdu_tag, req.request_id, req.community_length,
            req.community_default) == (0, 0xA0, 17, 6, True)
    assert [(v.oid, v.type, v.value) for v in req.varbinds] == [
        (SYS_DESCR, "null", None), (SYS_UPTIME, "null", None)]
    resp = decode(RESPONSE_V1)
    assert [(v.type, v.value) for v in resp.varbinds] == [
        ("octet_string", "Siemens SIMATIC S7-1500"), ("timeticks", "123456")]


def test_getbulk_set_traps() -> None:
    bulk = decode(GETBULK_V2)
    assert (bulk.version, bulk.pdu_tag, bulk.error_status, bulk.error_index) == (1, 0xA5, 0, 10)
    assert bulk.community_default is False and bulk.community_length == 7
    s = decode(SET_V2)
    assert s.varbinds[0].value == "router.cfg"
    t1 = decode(TRAP_V1)
    assert (t1.enterprise, t1.agent_addr, t1.generic_trap, t1.specific_trap, t1.timestamp) == \
        ("1.3.6.1.4.1.2021.250", "10.0.0.5", 3, 0, 4242)
    t2 = decode(TRAP_V2)
    assert t2.varbinds[1].value == "1.3.6.1.6.3.1.1.5.4" and t2.varbinds[1].type == "oid"


def test_v3() -> None:
    d = decode(DISCOVERY_V3)
    assert (d.version, d.msg_id, d.msg_flags, d.user, d.engine_id, d.pdu_tag) == \
        (3, 1001, 0x04, "", None, 0xA0)
    e = decode(ENCRYPTED_V3)
    assert e.encrypted and e.pdu_tag is None and e.user == "opsadmin"
    assert e.engine_id == "80001f88" and (e.engine_boots, e.engine_time) == (3, 1000)


def test_value_types_and_limits() -> None:
    many = message(1, b"public", pdu(0xA2, 1, *[(f"1.3.6.1.2.1.31.1.1.1.6.{i}",
                                                  ber_int(2**40 + i, 0x46))
                                                 for i in range(40)]))
    m = decode(many)
    assert m.varbind_count == 40 and len(m.varbinds) == MAX_VARBINDS
    assert m.varbinds[0].type == "counter64" and m.varbinds[0].value == str(2**40)
    mac = ber(0x04, b"\x00\x1b\x1b\x01\x02\x03")  # ifPhysAddress: not text, so hex
    odd = decode(message(1, b"public", pdu(0xA2, 2, ("1.3.6.1.2.1.4.20.1.1.10.0.0.1",
                                                     ber(0x40, bytes([10, 0, 0, 1]))),
                                           ("1.3.6.1.2.1.2.2.1.6.1", mac),
                                           ("1.3.6.1.2.1.1.9.0", b"\x81\x00"))))
    assert [(v.type, v.value) for v in odd.varbinds] == [
        ("ip_address", "10.0.0.1"), ("octet_string", "001b1b010203"),
        ("no_such_instance", None)]


@pytest.mark.parametrize(("data", "code"), [
    (GET_V1[:-3], "snmp.invalid_ber"),
    (message(2, b"public", pdu(0xA0, 1)), "snmp.bad_version"),
    (message(1, b"public", pdu(0xA9, 1)), "snmp.unknown_pdu"),
    (b"\x02\x01\x00", "snmp.invalid_ber"),                       # not a SEQUENCE
    (message(1, b"public", pdu(0xA0, 1, (SYS_DESCR, b"\x09\x00"))), "snmp.invalid_ber"),
])
def test_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode(data)
    assert exc.value.code == code and code in SPEC.anomaly_codes


# -- session -----------------------------------------------------------------------------------

def _flow(limit: int = 256) -> FakeFlow:
    return FakeFlow("udp", server=("10.0.0.20", 161),
                    settings=Settings(max_pending_requests=limit))


def test_pairing_traps_and_unanswered() -> None:
    flow = _flow()
    s = SnmpSession(flow)
    for data, from_client in ((GET_V1, True), (GETBULK_V2, True),  # the bulk: never answered
                              (RESPONSE_V1, False), (TRAP_V2, False), (DISCOVERY_V3, True),
                              (REPORT_V3, False), (ENCRYPTED_V3, True),
                              (ENCRYPTED_REPLY_V3, False)):
        flow.step()
        s.on_frame(data, from_client)
    s.close()
    got = flow.of("snmp")
    assert [(e.pdu_type, e.response_type, e.unanswered) for e in got] == [
        ("get", "response", None), ("trapv2", None, None), ("get", "report", None),
        ("encrypted", "encrypted", None), ("getbulk", None, True)]
    get = got[0]
    assert get.oids == (SYS_DESCR, SYS_UPTIME) and get.src_ip == flow.client_ip
    assert [v.value for v in get.varbinds] == ["Siemens SIMATIC S7-1500", "123456"]
    assert get.community_present and get.community_default and get.error_status == "noError"
    assert got[1].trap_oid == "1.3.6.1.6.3.1.1.5.4" and got[1].uptime == 777
    assert got[2].version == "v3" and got[2].security_level == "noAuthNoPriv"
    assert got[3].security_level == "authPriv" and got[3].user == "opsadmin"
    bulk = got[4]
    assert (bulk.non_repeaters, bulk.max_repetitions) == (0, 10)
    assert bulk.frame == 2                                       # at the request's frame
    assert flow.codes() == []


def test_limits_and_duplicates() -> None:
    flow = _flow(limit=2)
    s = SnmpSession(flow)
    for rid in (1, 2, 3):
        s.on_frame(message(1, b"public", pdu(0xA0, rid, (SYS_DESCR, NULL))), True)
    s.on_frame(message(1, b"public", pdu(0xA0, 3, (SYS_DESCR, NULL))), True)
    assert flow.codes() == ["snmp.too_many_pending", "snmp.duplicate_request"]
    assert [(e.request_id, e.unanswered) for e in flow.of("snmp")] == [(1, True), (3, True)]
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


def test_orphan_response_and_v1_trap() -> None:
    flow = _flow()
    s = SnmpSession(flow)
    s.on_frame(RESPONSE_V1, False)
    s.on_frame(TRAP_V1, False)
    s.on_frame(b"\x30\x03\x02\x01", True)
    a, b = flow.of("snmp")
    assert (a.pdu_type, a.src_ip, a.error_status) == ("response", flow.server_ip, "noError")
    assert (b.pdu_type, b.trap_oid, b.agent_addr, b.generic_trap, b.uptime) == \
        ("trap", "1.3.6.1.4.1.2021.250", "10.0.0.5", "linkUp", 4242)
    assert flow.codes() == ["snmp.invalid_ber"]


# -- golden capture ----------------------------------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    mgr, agent, trapd = ("10.1.1.5", 40000), ("10.1.1.9", 161), ("10.1.1.5", 162)
    pcap = write_udp(tmp_path / "snmp.pcap", [(mgr, agent, GET_V1), (agent, mgr, RESPONSE_V1),
                                              (("10.1.1.9", 40001), trapd, TRAP_V2),
                                              (mgr, agent, SET_V2)])
    events = decode_capture(pcap)
    assert strip(events, "snmp") == [
        {"version": "v1", "pdu_type": "get", "request_id": 17, "response_type": "response",
         "community_present": True, "community_length": 6, "community_default": True,
         "oids": [SYS_DESCR, SYS_UPTIME],
         "varbinds": [{"oid": SYS_DESCR, "type": "octet_string",
                       "value": "Siemens SIMATIC S7-1500"},
                      {"oid": SYS_UPTIME, "type": "timeticks", "value": "123456"}],
         "varbind_count": 2, "error_status": "noError", "error_index": 0},
        {"version": "v2c", "pdu_type": "trapv2", "request_id": 300, "community_present": True,
         "community_length": 6, "community_default": True,
         "oids": [SYS_UPTIME, "1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.2.1.2.2.1.1.3"],
         "varbinds": [{"oid": SYS_UPTIME, "type": "timeticks", "value": "777"},
                      {"oid": "1.3.6.1.6.3.1.1.4.1.0", "type": "oid",
                       "value": "1.3.6.1.6.3.1.1.5.4"},
                      {"oid": "1.3.6.1.2.1.2.2.1.1.3", "type": "integer", "value": "3"}],
         "varbind_count": 3, "trap_oid": "1.3.6.1.6.3.1.1.5.4", "uptime": 777},
        {"version": "v2c", "pdu_type": "set", "request_id": 5, "unanswered": True,
         "community_present": True, "community_length": 7, "community_default": True,
         "oids": ["1.3.6.1.4.1.9.2.1.55.10.0.0.1"],
         "varbinds": [{"oid": "1.3.6.1.4.1.9.2.1.55.10.0.0.1", "type": "octet_string",
                       "value": "router.cfg"}],
         "varbind_count": 1},
    ]
    snmp = [e for e in events if e.__struct_config__.tag == "snmp"]
    assert [e.frame for e in snmp] == [2, 3, 4]
    assert not anomaly_codes(events)


# -- tshark ------------------------------------------------------------------------------------

_VERSIONS = {"0": "v1", "1": "v2c", "3": "v3"}


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("snmp")))
def test_tshark_agreement(capture: object) -> None:
    """Per packet: version, and the OIDs of its variable bindings. A request's OIDs are our
    event's ``oids`` (found by request-id/msgID), a response's are its ``varbinds``; OIDs of
    encrypted SNMPv3 PDUs are unknown to both."""
    path = capture.path  # type: ignore[attr-defined]
    events = [e for e in decoded(path) if e.__struct_config__.tag == "snmp"]
    at_frame = {e.frame: e for e in events}
    by_id = {(e.version, e.msg_id if e.version == "v3" else e.request_id): e for e in events}
    rows, tunnelled = tshark_plain(path, ["snmp.version", "snmp.name", "snmp.request_id",
                                          "snmp.msgID", "snmp.msgVersion"], "snmp")
    agree = 0
    for frame, v12, names, rid, msg_id, v3 in rows:
        version = v12 or v3  # tshark names the v3 version field msgVersion
        e = at_frame.get(int(frame))
        key = (_VERSIONS.get(version), int(msg_id) if version == "3" else int(rid or -1))
        request = by_id.get(key)
        theirs = names.split(",") if names else []
        if e is not None and e.response_type is not None:
            mine = [v.oid for v in e.varbinds or ()]  # this frame is the response
        elif e is not None:
            mine = list(e.oids or ())
        elif request is not None:
            e, mine = request, list(request.oids or ())
        else:
            continue
        if e.version == _VERSIONS.get(version) and mine == theirs[:len(mine)] and (
                len(mine) == len(theirs) or e.truncated):
            agree += 1
    print(f"snmp {path.name}: {agree}/{len(rows)} packets agree (version, OIDs);"
          f" {tunnelled} tunnelled left out")
    assert agree == len(rows)


# -- fuzz --------------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random(data: bytes) -> None:
    try:
        decode(data)
    except Malformed as m:
        assert m.code in SPEC.anomaly_codes


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([GET_V1, RESPONSE_V1, GETBULK_V2, TRAP_V1, TRAP_V2, DISCOVERY_V3,
                        ENCRYPTED_V3]),
       st.lists(st.tuples(st.integers(0, 150), st.integers(0, 255)), max_size=6),
       st.integers(0, 40))
def test_fuzz_mutated_session(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base)[:max(1, len(base) - cut)]
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    flow = _flow(limit=4)
    s = SnmpSession(flow)
    s.on_frame(bytes(data), True)
    s.on_frame(bytes(data), False)
    s.close()
    for code in flow.codes():
        assert code in SPEC.anomaly_codes
