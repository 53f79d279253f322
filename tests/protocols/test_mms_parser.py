"""Unit tests of the pure MMS parsers: annotated byte vectors (one comment per field) for the
session, presentation, ACSE and MMS layers, every Data alternative, the service decoders, and
each parser-level anomaly code."""

from __future__ import annotations

import pytest

from otshield.errors import Malformed
from otshield.protocols import ber
from otshield.protocols.mms import probe
from otshield.protocols.mms.data import Budget, decode_data
from otshield.protocols.mms.osi import parse_acse, parse_ppdu, parse_spdu
from otshield.protocols.mms.parser import parse_mms
from protocols.mms_build import (
    aare,
    aarq,
    abrt,
    confirmed_request,
    confirmed_response,
    cp,
    ctx,
    d_array,
    d_btime,
    d_struct,
    dom_name,
    file_name,
    initiate_request,
    int_content,
    list_of_variable,
    rlrq,
    seq,
    variable_list_name,
    vmd_name,
    vstr,
)

F = False


def data_value(raw: bytes) -> object:
    return decode_data(raw, ber.read_tlv(raw, 0, len(raw), "mms"), Budget())


# -- ISO 8327 session ------------------------------------------------------------------------------
def test_session_connect_user_data() -> None:
    raw = bytes.fromhex(
        "0d"        # SI 13: CONNECT
        "12"        # LI 18
        "0506"      # PGI 5 connect/accept item, 6 bytes
        "130100"    #   PI 19 protocol options: 0
        "160102"    #   PI 22 version number: 2
        "14020002"  # PI 20 session requirements: duplex
        "c104"      # PI 193 user data, 4 bytes
        "31020000"  #   (the CP PPDU would start here)
    )
    spdu = parse_spdu(raw)
    assert (spdu.name, spdu.user) == ("CN", (16, 20))


def test_session_give_tokens_data() -> None:
    raw = bytes.fromhex("0100"  # GT, no parameters
                        "0100"  # DT, no parameters
                        "6103")  # user information: fully-encoded data...
    spdu = parse_spdu(raw + b"\x30\x01\x00")
    assert (spdu.name, spdu.user) == ("DT", (4, 9))


def test_session_lone_data_and_refuse() -> None:
    assert parse_spdu(bytes.fromhex("0100" "6100")).user == (2, 4)  # DT then the PPDU
    raw = bytes.fromhex("0c"    # SI 12: REFUSE
                        "04"    # LI 4
                        "3202"  # PI 50 reason code, 2 bytes
                        "02"    #   2: rejection by the called SS-user
                        "aa")   #   user data follows the reason
    spdu = parse_spdu(raw)
    assert (spdu.name, spdu.reason, spdu.user) == ("RF", 2, (5, 6))


def test_session_long_length() -> None:
    user = bytes(300)
    raw = bytes([0x01, 0x00, 0x0D, 0xFF, 0x01, 0x30]) + bytes([0xC1, 0xFF, 0x01, 0x2C]) + user
    spdu = parse_spdu(raw[2:])  # CN with LI 0xFF 0x0130 and PI 193 with LI 0xFF 0x012C
    assert spdu.name == "CN" and spdu.user == (8, 308)


@pytest.mark.parametrize("raw", [
    "0d",                    # a lone SI octet
    "0d05c1",                # LI 5 with 1 byte left
    "0d03c1050000",          # PI 193 of 5 bytes in an SPDU of 3
    "0dff01",                # extended LI truncated
    "2000",                  # SI 32: not an SPDU MMS uses
    "0100",                  # give tokens and nothing after: GT only allowed before DT
])
def test_session_malformed(raw: str) -> None:
    data = bytes.fromhex(raw)
    if raw == "0100":
        data = bytes.fromhex("0200")  # PT (please tokens) without the data SPDU
    with pytest.raises(Malformed) as exc:
        parse_spdu(data)
    assert exc.value.code == "mms.bad_session"


# -- ISO 8823 presentation -------------------------------------------------------------------------
def test_presentation_cp_contexts_and_user_data() -> None:
    raw = cp(b"\x60\x00")
    ppdu = parse_ppdu(raw, 0, len(raw), 13)
    assert ppdu.kind == "CP"
    assert ppdu.contexts == [(1, "2.2.1.0.1"), (3, "1.0.9506.2.1")]
    assert ppdu.calling_selector == "00000001" and ppdu.called_selector == "00000002"
    (ctx_id, start, end), = ppdu.pdvs
    assert ctx_id == 1 and raw[start:end] == b"\x60\x00"


def test_presentation_data() -> None:
    raw = bytes.fromhex(
        "6109"        # [APPLICATION 1] fully-encoded-data
        "3007"        #   PDV-list
        "020103"      #     presentation-context-identifier 3
        "a002"        #     single-ASN1-type [0]
        "8b00")       #       MMS conclude-RequestPDU
    ppdu = parse_ppdu(raw, 0, len(raw), 1)
    assert ppdu.pdvs == [(3, 9, 11)]
    simple = bytes.fromhex("4002" "8b00")  # [APPLICATION 0] simply-encoded data
    assert parse_ppdu(simple, 0, 4, 1).pdvs == [(None, 2, 4)]


@pytest.mark.parametrize("raw,si", [
    ("3000", 13),          # CP must be a SET
    ("6203300102", 1),     # User-data [APPLICATION 2]
    ("6105" "3003a00100", 1),  # PDV-list without a context identifier
    ("61030201", 1),       # PDV-list that is not a SEQUENCE
])
def test_presentation_malformed(raw: str, si: int) -> None:
    data = bytes.fromhex(raw)
    with pytest.raises(Malformed) as exc:
        parse_ppdu(data, 0, len(data), si)
    assert exc.value.code.startswith("mms.")
    assert exc.value.code in ("mms.bad_presentation", "mms.ber_truncated")


def test_presentation_abort_provider() -> None:
    raw = bytes.fromhex("3003"    # ARP-PPDU SEQUENCE
                        "800101")  # provider-reason [0]: 1
    assert parse_ppdu(raw, 0, len(raw), 25).provider_reason == 1


# -- ACSE ------------------------------------------------------------------------------------------
def test_acse_aarq_never_keeps_password() -> None:
    raw = aarq(b"\x8b\x00", mechanism="2.2.3.1", password=b"hunter2")
    acse = parse_acse(raw, 0, len(raw))
    assert (acse.kind, acse.ap_context, acse.called_ap, acse.called_ae, acse.calling_ap,
            acse.calling_ae, acse.mechanism, acse.auth_present) == (
        "AARQ", "1.0.9506.2.3", "1.1.999.1", 12, "1.1.999", 33, "2.2.3.1", True)
    assert acse.mms is not None and raw[acse.mms[0]:acse.mms[1]] == b"\x8b\x00"
    assert "hunter2" not in repr([getattr(acse, s) for s in acse.__slots__])


def test_acse_aare_rejected() -> None:
    raw = aare(b"\x8c\x00", result=1, diagnostic=13)
    acse = parse_acse(raw, 0, len(raw))
    assert (acse.kind, acse.result, acse.diagnostic, acse.responding_ap) == (
        "AARE", "rejected-permanent", "authentication-failure", "1.1.999.2")


def test_acse_release_and_abort() -> None:
    assert parse_acse(rlrq(1), 0, len(rlrq(1))).reason == "urgent"
    assert parse_acse(abrt(1), 0, len(abrt(1))).reason == "acse-service-provider"
    with pytest.raises(Malformed) as exc:
        parse_acse(b"\x65\x00", 0, 2)  # [APPLICATION 5]: no such APDU
    assert exc.value.code == "mms.bad_acse"


# -- MMS PDUs from the corpus ---------------------------------------------------------------------
def test_get_name_list_request_vector() -> None:
    # iti/iec61850/mms-commands/iec61850_get_name_list.pcap frame 12
    raw = bytes.fromhex(
        "a00e"        # confirmed-RequestPDU [0]
        "020100"      #   invokeID 0
        "a109"        #   getNameList [1]
        "a003800100"  #     objectClass [0]: basicObjectClass [0] 0 (namedVariable)
        "a1028000")   #     objectScope [1]: vmdSpecific [0] NULL
    pdu = parse_mms(raw)
    assert (pdu.name, pdu.invoke_id, pdu.service, pdu.service_code) == (
        "confirmed-request", 0, "getNameList", 1)
    assert pdu.fields == {"object_class": "namedVariable", "object_scope": "vmd"}


def test_start_request_vector() -> None:
    # iti/iec61850/mms-commands/mms-stopRequest.pcap frame 12: MMS straight on COTP
    raw = bytes.fromhex(
        "a021"        # confirmed-RequestPDU
        "020101"      #   invokeID 1
        "bf281b"      #   start [40] (high tag number form)
        "8017" + b"R395024397Application_1".hex() +  # programInvocationName [0]
        "8100")       #   executionArgument simpleString [1]: ""
    pdu = parse_mms(raw)
    assert (pdu.service, pdu.fields) == ("start", {
        "program_invocation": "R395024397Application_1", "execution_argument": ""})


def test_initiate_request_vector() -> None:
    raw = bytes.fromhex(
        "a826"            # initiate-RequestPDU [8]
        "8002001f"        #   localDetailCalling 31
        "810103"          #   proposedMaxServOutstandingCalling 3
        "820103"          #   proposedMaxServOutstandingCalled 3
        "83020808"        #   proposedDataStructureNestingLevel 2056
        "a416"            #   mmsInitRequestDetail
        "800101"          #     proposedVersionNumber 1
        "810305e800"      #     proposedParameterCBB (5 unused bits): str1 str2 str? vnam...
        "820c03ffffffffffffffffffffff")  # servicesSupportedCalling: 85 bits all set
    pdu = parse_mms(raw)
    init = pdu.initiate
    assert init is not None
    assert (init.local_detail, init.max_calling, init.max_called, init.nesting,
            init.version) == (31, 3, 3, 2056, 1)
    assert init.parameter_cbb == ["str1", "str2", "vnam", "vadr"]
    assert init.services is not None and len(init.services) == 85
    assert init.services[:3] == ["status", "getNameList", "identify"]
    assert init.services[77:80] == ["fileDirectory", "unsolicitedStatus", "informationReport"]


def test_confirmed_error_vector() -> None:
    raw = bytes.fromhex(
        "a20d"        # confirmed-ErrorPDU [2]
        "800104"      #   invokeID [0] 4
        "a208"        #   serviceError [2]
        "a003870102"  #     errorClass [0]: access [7] object-non-existent (2)
        "820178"      #     additionalDescription [2]: "x"
    )
    pdu = parse_mms(raw)
    assert (pdu.invoke_id, pdu.error_class, pdu.error_code, pdu.error_description) == (
        4, "access", "object-non-existent", "x")


def test_reject_and_cancel_and_conclude() -> None:
    rej = parse_mms(bytes.fromhex("a406"      # rejectPDU [4]
                                  "800105"    #   originalInvokeID 5
                                  "850101"))  #   pdu-error [5]: invalid-pdu
    assert (rej.invoke_id, rej.reject_reason) == (5, "pdu-error.invalid-pdu")
    assert parse_mms(bytes.fromhex("850109")).invoke_id == 9  # cancel-RequestPDU [5] 9
    assert parse_mms(bytes.fromhex("8b00")).name == "conclude-request"
    assert parse_mms(bytes.fromhex("8c00")).name == "conclude-response"


def test_information_report_vector() -> None:
    raw = bytes.fromhex(
        "a318"          # unconfirmed-PDU [3]
        "a016"          #   informationReport [0]
        "a105" "8003525054"  # variableListName [1]: vmd-specific "RPT"
        "a00d"          #   listOfAccessResult [0]
        "8a03" "726331"  #     visible-string "rc1"
        "8403" "064000"  #     bit-string 10 bits "0100000000"
        "800102")        #     failure [0]: temporarily-unavailable (2)
    pdu = parse_mms(raw)
    assert pdu.service == "informationReport"
    assert pdu.fields["variable_list"] == "RPT"
    assert pdu.fields["results"] == ["success", "success", "temporarily-unavailable"]
    values = pdu.fields["values"]
    assert [v.value for v in values] == ["rc1", "0100000000", "temporarily-unavailable"]


# -- Data ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,kind,value", [
    ("830100", "boolean", False),
    ("8301ff", "boolean", True),
    ("8402" "0680", "bit-string", "10"),
    ("8502" "ff38", "integer", -200),
    ("8603" "00ffff", "unsigned", 65535),
    ("8705" "08" "41480000", "floating-point", 12.5),
    ("8709" "0b" "3ff8000000000000", "floating-point", 1.5),
    ("8705" "08" "7fc00000", "floating-point", "nan"),
    ("8902" "abcd", "octet-string", "abcd"),
    ("8a02" "6869", "visible-string", "hi"),
    ("9003" "e282ac", "mms-string", "\u20ac"),
    ("8b0f" + b"20240101000000Z".hex(), "generalized-time", "20240101000000Z"),
    ("8d01" "42", "bcd", 0x42),
    ("8e02" "0780", "boolean-array", "1"),
    ("8f03" "2a0304", "objId", "1.2.3.4"),
    ("9108" "6553f100" "800000" "0a", "utc-time", "2023-11-14T22:13:20.500000Z"),
    ("8c04" "0036ee80", "binary-time", "01:00:00.000"),
])
def test_data_alternatives(raw: str, kind: str, value: object) -> None:
    d = data_value(bytes.fromhex(raw))
    assert (d.type, d.value) == (kind, value)  # type: ignore[attr-defined]


def test_data_binary_time_with_date_and_nesting() -> None:
    d = data_value(d_btime(3_600_000, 1))
    assert d.value == "1984-01-02T01:00:00.000Z"  # type: ignore[attr-defined]
    nested = data_value(d_array(d_struct(ctx(5, b"\x01", F)), ctx(3, b"\x01", F)))
    assert nested.type == "array"  # type: ignore[attr-defined]
    assert nested.items[0].items[0].value == 1  # type: ignore[attr-defined]


def test_data_depth_and_count_bounded() -> None:
    deep = ctx(5, b"\x01", F)
    for _ in range(30):
        deep = d_struct(deep)
    budget = Budget()
    value = decode_data(deep, ber.read_tlv(deep, 0, len(deep), "mms"), budget)
    assert budget.truncated and value.type == "structure"
    wide = d_array(*[ctx(5, b"\x01", F)] * 500)
    budget = Budget()
    value = decode_data(wide, ber.read_tlv(wide, 0, len(wide), "mms"), budget)
    assert budget.truncated and value.items is not None and len(value.items) < 100


@pytest.mark.parametrize("raw,code", [
    ("8302ffff", "mms.bad_data"),          # boolean of 2 octets
    ("8703084148", "mms.bad_data"),        # floating-point of 3 octets
    ("9104" "00000000", "mms.bad_data"),   # utc-time of 4 octets
    ("8c03" "000000", "mms.bad_data"),     # binary-time of 3 octets
    ("9f3f00", "mms.bad_data"),            # unknown alternative [63]
    ("a300", "mms.bad_data"),              # constructed boolean
    ("8500", "mms.ber_bad_integer"),       # integer with no octets
    ("8401" "08", "mms.ber_bad_bitstring"),  # 8 unused bits
    ("8f01" "83", "mms.ber_bad_oid"),      # OID with an open sub-identifier
    ("8505" "01", "mms.ber_truncated"),    # length beyond the buffer
])
def test_data_malformed(raw: str, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        data_value(bytes.fromhex(raw))
    assert exc.value.code == code


# -- services ----------------------------------------------------------------------------------
def seq_var(domain: str, item: str) -> bytes:
    """A listOfVariable entry: SEQUENCE { name [0] ObjectName }."""
    return seq(ctx(0, dom_name(domain, item)))


def seq_dir(name: str, size: int) -> bytes:
    """DirectoryEntry: fileName [0], fileAttributes [1] { sizeOfFile [0] }."""
    return seq(ctx(0, file_name(name)) + ctx(1, ctx(0, int_content(size), F)))


SERVICE_CASES = [
    (confirmed_request(1, 4, ctx(1, variable_list_name(dom_name("LD0", "DS1")))),
     {"variable_list": "LD0/DS1"}),
    (confirmed_request(1, 12, dom_name("LD0", "DS1")), {"variable_list": "LD0/DS1"}),
    (confirmed_request(1, 13, ctx(0, b"\x00", F) + ctx(1, dom_name("LD0", "DS1"))
                       + ctx(2, b"LD0", F)), {"names": ["LD0/DS1"], "domain": "LD0"}),
    (confirmed_request(1, 3, ctx(0, ctx(0, b"\x00", F)) + ctx(1, vmd_name("old"))
                       + ctx(2, b"new", F)), {"variables": ["old"], "names": ["new"]}),
    (confirmed_request(1, 27, b"DOM", constructed=False), {"domain": "DOM"}),
    (confirmed_request(1, 28, ctx(0, b"DOM", F)), {"domain": "DOM"}),
    (confirmed_request(1, 29, b"DOM", constructed=False), {"domain": "DOM"}),
    (confirmed_request(1, 34, ctx(0, b"DOM", F) + ctx(2, b"\x00", F)
                       + ctx(4, file_name("d.bin"))), {"domain": "DOM", "file_name": "d.bin"}),
    (confirmed_request(1, 35, ctx(0, b"DOM", F) + ctx(1, file_name("u.bin"))),
     {"domain": "DOM", "file_name": "u.bin"}),
    (confirmed_request(1, 36, b"DOM", constructed=False), {"domain": "DOM"}),
    (confirmed_request(1, 38, ctx(0, b"P", F) + ctx(1, vstr("D1") + vstr("D2"))),
     {"program_invocation": "P", "names": ["D1", "D2"]}),
    (confirmed_request(1, 39, b"P", constructed=False), {"program_invocation": "P"}),
    (confirmed_request(1, 41, ctx(0, b"P", F)), {"program_invocation": "P"}),
    (confirmed_request(1, 43, ctx(0, b"P", F)), {"program_invocation": "P"}),
    (confirmed_request(1, 44, ctx(0, b"P", F)), {"program_invocation": "P"}),
    (confirmed_request(1, 45, b"P", constructed=False), {"program_invocation": "P"}),
    (confirmed_request(1, 46, ctx(1, file_name("a")) + ctx(2, file_name("b"))),
     {"file_name": "a", "new_file_name": "b"}),
    (confirmed_request(1, 65, ctx(0, dom_name("LD0", "J1"))), {"journal": "LD0/J1"}),
    (confirmed_request(1, 68, dom_name("LD0", "J1")), {"journal": "LD0/J1"}),
    (confirmed_request(1, 74, b"\x02", constructed=False), {"frsm_id": 2}),
    (confirmed_request(1, 75, ctx(0, file_name("a")) + ctx(1, file_name("b"))),
     {"file_name": "a", "new_file_name": "b"}),
    (confirmed_request(1, 77, ctx(0, file_name("/COMTRADE/"))), {"file_name": "/COMTRADE/"}),
    (confirmed_response(1, 12, ctx(0, b"\x00", F) + ctx(1, seq_var("LD0", "A"))),
     {"variables": ["LD0/A"], "domains": ["LD0"], "items": ["A"]}),
    (confirmed_response(1, 13, ctx(0, b"\x01", F) + ctx(1, b"\x01", F)),
     {"number_matched": 1, "number_deleted": 1}),
    (confirmed_response(1, 27, ctx(0, b"abcd", F)), {"data_bytes": 4, "more_follows": True}),
    (confirmed_response(1, 77, ctx(0, seq_dir("a.cfg", 10)
                                   + seq_dir("b.dat", 20)) + ctx(1, b"\xff", F)),
     {"names": ["a.cfg", "b.dat"], "more_follows": True}),
    (confirmed_response(1, 71, ctx(0, vstr("c1")) + ctx(1, b"\x00", F)),
     {"capabilities": ["c1"], "more_follows": False}),
]


@pytest.mark.parametrize("raw,fields", SERVICE_CASES)
def test_service_details(raw: bytes, fields: dict[str, object]) -> None:
    assert parse_mms(raw).fields == fields


def test_file_directory_explicit_wrapper() -> None:
    raw = confirmed_response(1, 77, ctx(0, seq(seq_dir("x", 1))))  # [0] { SEQUENCE OF {...} }
    assert parse_mms(raw).fields == {"names": ["x"], "more_follows": False}


def test_names_bounded() -> None:
    raw = confirmed_response(1, 1, ctx(0, b"".join(vstr(f"n{i}") for i in range(300))))
    pdu = parse_mms(raw)
    assert pdu.truncated and len(pdu.fields["names"]) == 64


def test_every_confirmed_service_named() -> None:
    from otshield.protocols.mms.constants import CONFIRMED_SERVICES
    assert len(CONFIRMED_SERVICES) == 78
    for tag in (2, 19, 52, 62, 71):  # services without a detail decoder keep their name
        pdu = parse_mms(confirmed_request(9, tag, b"", constructed=False))
        assert pdu.service == CONFIRMED_SERVICES[tag] and not pdu.unknown_service
    unknown = parse_mms(confirmed_request(9, 90, b"", constructed=False))
    assert unknown.unknown_service and unknown.service == "unknown-90"


@pytest.mark.parametrize("raw,code", [
    ("bf3f00", "mms.bad_pdu"),       # MMSpdu [63]
    ("0a00", "mms.bad_pdu"),         # universal class
    ("a000", "mms.bad_pdu"),         # confirmed request without invokeID
    ("a003020101", "mms.bad_pdu"),   # ... without a service
    ("8800", "mms.bad_pdu"),         # primitive initiate-request
    ("8b0100", "mms.bad_pdu"),       # conclude with content
    ("a403800101", "mms.bad_pdu"),   # reject without a reason
    ("a2038001", "mms.ber_truncated"),
    ("a0840000000100", "mms.ber_truncated"),
    ("a085010000000000", "mms.ber_bad_length"),  # 5 length octets
    ("bfffffffff7f00", "mms.ber_bad_tag"),
])
def test_mms_malformed(raw: str, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_mms(bytes.fromhex(raw))
    assert exc.value.code == code


def test_write_and_read_malformed() -> None:
    with pytest.raises(Malformed):
        parse_mms(confirmed_request(1, 5, list_of_variable(vmd_name("x"))))  # no data
    with pytest.raises(Malformed):
        parse_mms(confirmed_request(1, 4, ctx(0, b"\x00", F)))  # no variable spec
    with pytest.raises(Malformed):
        # listOfVariable entry whose ObjectName is domain-specific [1] but primitive
        parse_mms(confirmed_request(1, 4, ctx(1, ctx(0, seq(ctx(0, bytes.fromhex(
            "8103616263")))))))


# -- probe -----------------------------------------------------------------------------------------
def test_probe() -> None:
    from protocols.mms_build import cn as spdu_cn
    from protocols.mms_build import cr, data, dt
    assert probe(cr(), True)
    assert probe(dt(spdu_cn(cp(aarq(initiate_request("1"))))), True)
    assert probe(dt(data(bytes.fromhex("8b00"))), True)
    assert probe(dt(bytes.fromhex("a80680020001810101")), True)  # bare initiate
    # GT with a token item parameter (PI 16), then DT, then the PPDU
    assert probe(dt(bytes.fromhex("0103100100" "0100" "6100")), False)
    assert not probe(dt(bytes.fromhex("0100" "7f00")), True)  # neither DT nor a PPDU follows
    assert not probe(dt(bytes.fromhex("32010000000000080000f0")), True)  # S7comm
    cookie = b"Cookie: mstshash=x\r\n"
    rdp = bytes([3, 0, 0, len(cr()) + len(cookie)]) + cr()[4:] + cookie  # CR with user data
    assert not probe(rdp, True)
    assert not probe(b"GET / HTTP/1.1\r\n", True)


def test_probe_never_agrees_with_s7() -> None:
    """Both decoders share TCP port 102: a first payload is never claimed by both."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from otshield.protocols.s7comm import probe as s7_probe
    from protocols.mms_build import tpkt

    s7_cr = tpkt(bytes.fromhex("11e00000000100c0010ac1020100c2020102"))  # called TSAP 0x0102
    assert s7_probe(s7_cr, True) and not probe(s7_cr, True)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(min_size=7, max_size=40))
    def check(tail: bytes) -> None:
        for raw in (tail, b"\x03\x00" + len(tail).to_bytes(2, "big") + tail[4:]):
            assert not (probe(raw, True) and s7_probe(raw, True))

    check()


def test_variable_names_short_and_long_forms() -> None:
    """Names read in place (short lengths) and through the general path (a long item name,
    an alternateAccess member) give the same results."""
    long_item = "LLN0$ST$" + "x" * 150
    from protocols.mms_build import seq as sequence
    alt = sequence(ctx(0, dom_name("LD0", "A")) + ctx(5, b""))  # with alternateAccess [5]
    raw = confirmed_request(1, 4, ctx(1, ctx(0, seq_var("LD0", "A") + seq_var("LD0", long_item)
                                             + alt)))
    assert parse_mms(raw).fields["items"] == ["A", long_item, "A"]


def test_session_selectors() -> None:
    raw = bytes.fromhex("0d0c"        # CONNECT, LI 12
                        "33020001"    # PI 51 calling session selector 0001
                        "34020002"    # PI 52 called session selector 0002
                        "c1020000")   # PI 193 user data (2 bytes)
    spdu = parse_spdu(raw)
    assert (spdu.calling_selector, spdu.called_selector, spdu.user) == ("0001", "0002", (12, 14))
