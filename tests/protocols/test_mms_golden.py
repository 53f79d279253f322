"""Golden tests: an IEC 61850 client session written with ``otshield.pcapwriter`` (COTP connect,
session/presentation/ACSE association with password authentication, MMS services, a report, a
reject, conclude and release) and the exact events expected from ISO 9506-2 / ISO 8650; then the
same conversation re-segmented into 1-byte and random TCP segments must give identical events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from protocols.mms_build import (
    ACSE_CTX,
    Exchange,
    aare,
    aarq,
    ac,
    cc,
    cn,
    confirmed_error,
    confirmed_request,
    confirmed_response,
    cp,
    cpa,
    cr,
    ctx,
    d_bits,
    d_bool,
    d_btime,
    d_float,
    d_int,
    d_octets,
    d_struct,
    d_uint,
    d_utc,
    d_vstr,
    data,
    decode_mms,
    dn,
    dom_name,
    dt,
    file_name,
    fn,
    fully_encoded,
    information_report,
    initiate_request,
    initiate_response,
    int_content,
    list_of_variable,
    plain,
    reject,
    rlre,
    rlrq,
    variable_list_name,
    vmd_name,
    vstr,
    write_capture,
)
from support import without_position

F = False  # primitive encoding for ctx()

READ_RESPONSE = data(confirmed_response(3, 4, ctx(1, d_float(12.5) + d_struct(
    d_int(1), d_bits("0000000000000"), d_utc(1_700_000_000, 0x800000, 0x0A)))))
OPER = d_struct(d_bool(True), d_struct(d_int(3), d_octets(b"\x01\x02")), d_uint(1),
                d_utc(1_700_000_001, 0, 0), d_bool(False), d_bits("00"))


def conversation() -> list[Exchange]:
    return [
        (True, cr()),
        (False, cc()),
        (True, dt(cn(cp(aarq(initiate_request("11100"), mechanism="2.2.3.1",
                                  password=b"secret"))))),
        (False, dt(ac(cpa(aare(initiate_response("1111110000001")))))),
        (True, dt(data(confirmed_request(1, 2, b"", constructed=False)))),
        (False, dt(data(confirmed_response(1, 2, ctx(0, b"ACME", F) + ctx(1, b"IED-9", F)
                                           + ctx(2, b"1.2.3", F))))),
        (True, dt(data(confirmed_request(2, 1, ctx(0, ctx(0, b"\x09", F))
                                         + ctx(1, ctx(0, b"", F)))))),
        (False, dt(data(confirmed_response(2, 1, ctx(0, vstr("LD0") + vstr("CTRL"))
                                           + ctx(1, b"\x00", F))))),
        (True, dt(data(confirmed_request(3, 4, ctx(1, list_of_variable(
            dom_name("LD0", "MMXU1$MX$TotW$mag$f"), dom_name("LD0", "LLN0$ST$Beh"))))))),
        # the read response in two DT TPDUs (COTP segmentation, ISO 8073 6.3)
        (False, dt(READ_RESPONSE[:20], eot=False) + dt(READ_RESPONSE[20:])),
        (True, dt(data(confirmed_request(4, 5, list_of_variable(
            dom_name("CTRL", "CSWI1$CO$Pos$Oper")) + ctx(0, OPER))))),
        (False, dt(data(confirmed_response(4, 5, ctx(1, b"", F))))),
        (True, dt(data(confirmed_request(5, 5, list_of_variable(vmd_name("NamPlt"))
                                         + ctx(0, d_vstr("x")))))),
        (False, dt(data(confirmed_response(5, 5, ctx(0, b"\x03", F))))),
        (True, dt(data(confirmed_request(6, 6, ctx(0, dom_name("LD0", "XXX")))))),
        (False, dt(data(confirmed_error(6, 7, 2)))),
        # IEC 61850 report: RptID, OptFlds (sequence-number, report-time-stamp,
        # reason-for-inclusion, data-set-name, conf-revision), SeqNum, TimeOfEntry, DatSet,
        # ConfRev, Inclusion (members 0 and 2), two values, two reason codes
        (False, dt(data(information_report(
            variable_list_name(vmd_name("RPT")), d_vstr("urcb01"), d_bits("0111100010"),
            d_uint(5), d_btime(3_600_000, 14610), d_vstr("LD0/LLN0$DS1"), d_uint(1),
            d_bits("101"), d_struct(d_bool(True), d_bits("00")), d_int(7), d_bits("0100000"),
            d_bits("0000100"))))),
        (True, dt(data(confirmed_request(7, 72, ctx(0, file_name("COMTRADE/a.cfg"))
                                         + ctx(1, b"\x00", F))))),
        (False, dt(data(confirmed_response(7, 72, ctx(0, b"\x01", F)
                                           + ctx(1, ctx(0, int_content(1234), F)))))),
        (True, dt(data(confirmed_request(8, 73, b"\x01", constructed=False)))),
        (False, dt(data(confirmed_response(8, 73, ctx(0, b"abc", F) + ctx(1, b"\x00", F))))),
        (True, dt(data(confirmed_request(9, 76, file_name("old.log"))))),
        (False, dt(data(confirmed_response(9, 76, b"", constructed=False)))),
        (True, dt(data(confirmed_request(10, 40, ctx(0, b"P1", F) + ctx(1, b"arg", F))))),
        (False, dt(data(confirmed_response(10, 40, b"", constructed=False)))),
        (True, dt(data(confirmed_request(11, 26, ctx(0, b"DOM1", F) + ctx(1, vstr("cap1"))
                                         + ctx(2, b"\x00", F))))),
        (False, dt(data(confirmed_response(11, 26, b"", constructed=False)))),
        (True, dt(data(confirmed_request(12, 0, b"\x00", constructed=False)))),
        (False, dt(data(confirmed_response(12, 0, ctx(0, b"\x00", F) + ctx(1, b"\x00", F))))),
        (True, dt(data(confirmed_request(13, 11, dom_name("LD0", "DS1") + list_of_variable(
            dom_name("LD0", "A"), dom_name("LD0", "B")))))),
        (False, dt(data(confirmed_response(13, 11, b"", constructed=False)))),
        (True, dt(data(confirmed_request(14, 4, ctx(1, variable_list_name(
            dom_name("LD0", "DS1"))))))),
        (False, dt(data(reject(14, 1, 4)))),
        (True, dt(data(confirmed_request(15, 4, ctx(1, list_of_variable(
            dom_name("LD0", "LPHD1$ST$PhyHealth"))))))),
        (True, dt(data(ctx(11, b"", F)))),
        (False, dt(data(ctx(12, b"", F)))),
        (True, dt(fn(fully_encoded(ACSE_CTX, rlrq(0))))),
        (False, dt(dn(fully_encoded(ACSE_CTX, rlre(0))))),
    ]


def mms(**fields: Any) -> dict[str, Any]:
    return {"event.dataset": "mms", "answered": True, **fields}


def confirmed(invoke: int, service: str, code: int, function_class: str,
              **fields: Any) -> dict[str, Any]:
    return mms(pdu="confirmed", function_class=function_class, result="success",
               invoke_id=invoke, service=code, service_name=service, dir="c", **fields)


def anomaly(code: str, direction: str) -> dict[str, Any]:
    return {"event.dataset": "anomaly", "event.code": code, "protocol": "mms", "dir": direction}


UTC_HALF = {"type": "utc-time", "value": "2023-11-14T22:13:20.500000Z", "quality": 10}

EXPECTED: list[dict[str, Any]] = [
    {"event.dataset": "cotp", "pdu": "connect", "result": "accepted", "src_ref": 1, "dst_ref": 2,
     "proto_class": 0, "src_tsap": "0x0001", "dst_tsap": "0x0001", "tpdu_size": 1024, "dir": "c"},
    mms(pdu="initiate", service_name="initiate", function_class="security", result="success",
        calling_ssel="0001", called_ssel="0002", calling_psel="00000001", called_psel="00000002",
        application_context="1.0.9506.2.3", called_ap_title="1.1.999.1", called_ae_qualifier=12,
        calling_ap_title="1.1.999", calling_ae_qualifier=33, responding_ap_title="1.1.999.2",
        auth_mechanism="2.2.3.1", auth_value_present=True, association_result="accepted",
        association_diagnostic="null", max_serv_outstanding_calling=5,
        max_serv_outstanding_called=4, nesting_level=6, local_detail_calling=65000,
        local_detail_called=32000, version=1, parameter_cbb=["str1", "str2", "vnam", "vlis"],
        services_calling=["status", "getNameList", "identify"],
        services_called=["status", "getNameList", "identify", "rename", "read", "write",
                         "getNamedVariableListAttributes"], dir="c"),
    confirmed(1, "identify", 2, "identify", vendor="ACME", model="IED-9", revision="1.2.3"),
    confirmed(2, "getNameList", 1, "read", object_class="domain", object_scope="vmd",
              names=["LD0", "CTRL"], more_follows=False),
    confirmed(3, "read", 4, "read",
              variables=["LD0/MMXU1$MX$TotW$mag$f", "LD0/LLN0$ST$Beh"], domains=["LD0", "LD0"],
              items=["MMXU1$MX$TotW$mag$f", "LLN0$ST$Beh"],
              values=[{"type": "floating-point", "value": 12.5},
                      {"type": "structure", "items": [{"type": "integer", "value": 1},
                                                      {"type": "bit-string",
                                                       "value": "0000000000000"},
                                                      UTC_HALF]}],
              results=["success", "success"]),
    confirmed(4, "write", 5, "control", variables=["CTRL/CSWI1$CO$Pos$Oper"], domains=["CTRL"],
              items=["CSWI1$CO$Pos$Oper"],
              values=[{"type": "structure", "items": [
                  {"type": "boolean", "value": True},
                  {"type": "structure", "items": [{"type": "integer", "value": 3},
                                                  {"type": "octet-string", "value": "0102"}]},
                  {"type": "unsigned", "value": 1},
                  {"type": "utc-time", "value": "2023-11-14T22:13:21.000000Z", "quality": 0},
                  {"type": "boolean", "value": False},
                  {"type": "bit-string", "value": "00"}]}],
              results=["success"], control_object="CTRL/CSWI1$CO$Pos", control_action="Oper",
              ctl_val={"type": "boolean", "value": True}),
    confirmed(5, "write", 5, "write", variables=["NamPlt"], domains=[""], items=["NamPlt"],
              values=[{"type": "visible-string", "value": "x"}],
              results=["object-access-denied"]),
    anomaly("mms.confirmed_error", "s"),
    {**confirmed(6, "getVariableAccessAttributes", 6, "read", variables=["LD0/XXX"]),
     "result": "error", "error_class": "access", "error_code": "object-non-existent"},
    {"event.dataset": "mms_report", "service": 0, "service_name": "informationReport",
     "variable_list": "RPT",
     "values": [{"type": "visible-string", "value": "urcb01"},
                {"type": "bit-string", "value": "0111100010"},
                {"type": "unsigned", "value": 5},
                {"type": "binary-time", "value": "2024-01-01T01:00:00.000Z"},
                {"type": "visible-string", "value": "LD0/LLN0$DS1"},
                {"type": "unsigned", "value": 1},
                {"type": "bit-string", "value": "101"},
                {"type": "structure", "items": [{"type": "boolean", "value": True},
                                                {"type": "bit-string", "value": "00"}]},
                {"type": "integer", "value": 7},
                {"type": "bit-string", "value": "0100000"},
                {"type": "bit-string", "value": "0000100"}],
     "results": ["success"] * 11, "report_id": "urcb01",
     "report_options": ["sequence-number", "report-time-stamp", "reason-for-inclusion",
                        "data-set-name", "conf-revision"],
     "sequence_number": 5, "time_of_entry": "2024-01-01T01:00:00.000Z",
     "data_set": "LD0/LLN0$DS1", "conf_rev": 1, "inclusion": "101", "member_count": 2,
     "reasons": ["data-change", "integrity"], "dir": "s"},
    confirmed(7, "fileOpen", 72, "read", file_name="COMTRADE/a.cfg", frsm_id=1, file_size=1234),
    confirmed(8, "fileRead", 73, "read", frsm_id=1, data_bytes=3, more_follows=False),
    confirmed(9, "fileDelete", 76, "program", file_name="old.log"),
    confirmed(10, "start", 40, "control", program_invocation="P1", execution_argument="arg"),
    confirmed(11, "initiateDownloadSequence", 26, "program", domain="DOM1",
              capabilities=["cap1"]),
    confirmed(12, "status", 0, "identify", vmd_logical_status="state-changes-allowed",
              vmd_physical_status="operational"),
    confirmed(13, "defineNamedVariableList", 11, "config", variable_list="LD0/DS1",
              variables=["LD0/A", "LD0/B"], domains=["LD0", "LD0"], items=["A", "B"]),
    anomaly("mms.rejected", "s"),
    {**confirmed(14, "read", 4, "read", variable_list="LD0/DS1"), "result": "rejected",
     "reject_reason": "confirmed-request.invalid-argument"},
    mms(pdu="conclude", service_name="conclude", function_class="other", result="success", dir="c"),
    mms(pdu="release", function_class="other", result="success", reason="normal", dir="c"),
    anomaly("mms.unanswered_request", "c"),
    {**confirmed(15, "read", 4, "read", variables=["LD0/LPHD1$ST$PhyHealth"], domains=["LD0"],
                 items=["LPHD1$ST$PhyHealth"]), "answered": False, "result": None},
]


def _clean(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        e = dict(e)
        e.pop("message", None)
        if e.get("result", "") is None:
            del e["result"]
        out.append(e)
    return out


def test_golden_conversation(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "mms.pcap", conversation())
    got = _clean(plain(decode_mms(path)))
    assert got == _clean(EXPECTED)


def test_golden_request_frames(tmp_path: Path) -> None:
    """An answered transaction completes at its response and names its request's packet."""
    path = write_capture(tmp_path / "mms.pcap", conversation())
    events: list[Any] = [e for e in decode_mms(path) if e.__struct_config__.tag == "mms"]
    identify = next(e for e in events if e.service_name == "identify")
    # packets: 3 handshake, CR + ack, CC + ack, CN + ack, AC + ack, identify request (12), ack,
    # identify response (14)
    assert (identify.request_frame, identify.frame) == (12, 14)
    unanswered = [e for e in events if e.answered is False]
    assert len(unanswered) == 1 and unanswered[0].request_frame is None


@pytest.mark.parametrize("split", ["byte", "random"])
def test_chunked_replay(tmp_path: Path, split: str) -> None:
    base = decode_mms(write_capture(tmp_path / "a.pcap", conversation()))
    for seed in (1, 2, 3) if split == "random" else (0,):
        other = decode_mms(write_capture(tmp_path / f"{split}{seed}.pcap", conversation(),
                                         split=split, seed=seed))
        mms_base = [e for e in base if e.__struct_config__.tag != "flow"]
        mms_other = [e for e in other if e.__struct_config__.tag != "flow"]
        assert without_position(mms_other) == without_position(mms_base)
