"""Differential tests: otshield's MMS events against tshark 4.0 on every corpus capture with MMS.

Matching is by frame number. Our ``mms`` event completes at the response's packet (``frame``)
and names the request's packet (``request_frame``); an unanswered request's event is at the
request's packet. Compared, per capture:

- ``request``: service tag and invoke id of each request we decoded are among tshark's
  ``mms.confirmedServiceRequest`` / ``mms.invokeID`` at the request frame;
- ``response``: the same for responses (``mms.confirmedServiceResponse``);
- ``names``: read/write/getVariableAccessAttributes request object names are among tshark's
  ``mms.domainId`` / ``mms.itemId`` / ``mms.vmd_specific``; getNameList response identifiers among
  ``mms.Identifier``; identify vendor/model/revision equal ``mms.vendorName`` etc.;
- ``association``: ACSE application context and AP titles, AARE result, MMS initiate local
  details and negotiated limits / nesting / version;
- ``values.int`` / ``values.vstr`` / ``values.failure``: the integers, visible strings and
  DataAccessErrors of read responses and reports, as multisets per frame, are among tshark's
  ``mms.integer`` + ``mms.unsigned``, ``mms.data.visible-string``, ``mms.failure``;
- ``report``: each informationReport we emit is one tshark shows (``mms.unconfirmedService`` 0);
- ``coverage``: every frame where tshark shows an MMS request, response or unconfirmed PDU has
  an event of ours for it.

Every field must agree at 100% except where explained:
- tshark decodes MMS only after it has seen the presentation context (the CP PPDU of the
  association). ``emreekin/iec61850/iedscout.pcapng`` starts mid-association: tshark decodes no
  MMS there (only ``ses``/``pres``), we decode every PDV by its tag class. Nothing to compare;
  the test checks that we do decode it.
- ``emreekin/iec61850/substation_ABB1.pcap`` holds TCP segments captured before segmentation
  offload split them (IPv4 total length 0, 2056-byte frames); the netstack takes the length
  from the frame as tshark does. Should a stream still have a hole (``tcp.gap``), MMS PDUs in or
  after it (up to the next unit start) are counted apart as ``loss`` when the frame is within
  ``LOSS_WINDOW`` of that anomaly.
  ``iti/iec61850/Sample_File_MMS_and_GOOSE.pcap`` has the same on four of its five MMS
  connections (only reports flow on them): those events are counted apart as ``no context``.
- The iti ``mms-commands`` captures are synthetic: server TPKT lengths are wrong (``tpkt.*``),
  responses stop after the invoke id (we report ``mms.bad_pdu``; tshark shows only the id).

This test decodes with only the mms decoder registered (``decode_mms``), so that what it compares
is the MMS decoder alone; which decoder takes a port-102 flow is tested with the S7comm probe.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from otshield.events import AnomalyEvent
from protocols.mms_build import decode_mms
from support import CorpusFile, corpus_files, corpus_params, require_tshark, tshark_fields

NAMES = ("mms-commands/", "Sample_File_MMS_and_GOOSE", "mms_8d7c7db0", "iedscout",
         "substation_ABB1")
CAPTURES = [c for c in corpus_files(protocol="IEC 61850") if any(n in str(c.path)
                                                                   for n in NAMES)]
FIELDS = ["mms.invokeID", "mms.confirmedServiceRequest", "mms.confirmedServiceResponse",
          "mms.unconfirmedService", "mms.domainId", "mms.itemId", "mms.vmd_specific",
          "mms.Identifier", "mms.vendorName", "mms.modelName", "mms.revision",
          "acse.aSO_context_name", "acse.ap_title_form2", "acse.result",
          "mms.localDetailCalling", "mms.localDetailCalled",
          "mms.negociatedMaxServOutstandingCalling", "mms.negociatedMaxServOutstandingCalled",
          "mms.negociatedDataStructureNestingLevel", "mms.negociatedVersionNumber",
          "mms.integer", "mms.unsigned", "mms.data.visible-string", "mms.failure"]
ACSE_RESULTS = {"accepted": "0", "rejected-permanent": "1", "rejected-transient": "2"}
ACCESS_ERRORS = ["object-invalidated", "hardware-fault", "temporarily-unavailable",
                 "object-access-denied", "object-undefined", "invalid-address",
                 "type-unsupported", "type-inconsistent", "object-attribute-inconsistent",
                 "object-access-unsupported", "object-non-existent", "object-value-invalid"]


def _leaves(values: list[Any], out: dict[str, collections.Counter[str]]) -> None:
    """Our Data values flattened into what tshark lists per frame."""
    for v in values:
        if v.items is not None:
            _leaves(list(v.items), out)
        elif v.type in ("integer", "unsigned"):
            out["int"][str(v.value)] += 1
        elif v.type == "visible-string" and v.value:  # tshark prints nothing for ""
            out["vstr"][str(v.value)] += 1
        elif v.type == "failure":
            out["failure"][str(ACCESS_ERRORS.index(v.value))] += 1
LOSS_WINDOW = 40
SEP = "\x1f"
NO_CONTEXT = {"iedscout.pcapng"}


def _rows(c: CorpusFile) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {}
    # values may hold commas: aggregate multiple occurrences with a unit separator instead
    for row in tshark_fields(c.path, FIELDS, "mms", extra=["-E", f"aggregator={SEP}"]):
        row += [""] * (len(FIELDS) + 1 - len(row))
        out[int(row[0])] = {f: [v for v in row[i + 1].split(SEP) if v]
                            for i, f in enumerate(FIELDS)}
    return out


class Tally:
    def __init__(self) -> None:
        self.ok: collections.Counter[str] = collections.Counter()
        self.bad: collections.Counter[str] = collections.Counter()
        self.loss: collections.Counter[str] = collections.Counter()
        self.no_context: collections.Counter[str] = collections.Counter()
        self.examples: list[str] = []

    def check(self, field: str, good: bool, frame: int, lossy: set[int], what: str,
              blind: bool = False) -> None:
        if good:
            self.ok[field] += 1
        elif blind:
            self.no_context[field] += 1
        elif any(abs(frame - f) <= LOSS_WINDOW for f in lossy):
            self.loss[field] += 1
        else:
            self.bad[field] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{field} frame {frame}: {what}")


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_mms_agrees_with_tshark(capture: CorpusFile) -> None:
    require_tshark()
    events = decode_mms(capture.path)
    ours: list[Any] = [e for e in events if e.__struct_config__.tag in ("mms", "mms_report")]
    lossy = {e.frame for e in events if isinstance(e, AnomalyEvent)
             and e.code in ("ipv4.bad_header_length", "tcp.gap")}
    rows = _rows(capture)
    name = capture.path.name
    if name in NO_CONTEXT:
        assert not any(r["mms.invokeID"] for r in rows.values()), "tshark now decodes MMS here"
        assert sum(1 for e in ours if getattr(e, "service_name", None)) > 100
        print(f"{name}: tshark decodes no MMS (no presentation context seen); "
              f"we decode {len(ours)} MMS events")
        return
    empty: dict[str, list[str]] = {f: [] for f in FIELDS}
    t = Tally()
    # flows whose association we saw; on the others tshark has no presentation context and
    # decodes no MMS (a frame without any tshark MMS row there is "no context", not a miss)
    seen_assoc = {e.flow_id for e in ours if getattr(e, "pdu", None) == "initiate"}
    values: dict[int, dict[str, collections.Counter[str]]] = collections.defaultdict(
        lambda: collections.defaultdict(collections.Counter))
    request_frames: set[int] = set()
    response_frames: set[int] = set()
    report_frames: set[int] = set()
    for e in ours:
        if e.__struct_config__.tag == "mms_report":
            report_frames.add(e.frame)
            _leaves(e.values or [], values[e.frame])
            row = rows.get(e.frame, empty)
            t.check("report", "0" in row["mms.unconfirmedService"], e.frame, lossy, "",
                    blind=e.flow_id not in seen_assoc and e.frame not in rows)
            continue
        if e.pdu == "initiate" and e.answered:
            req, resp = rows.get(e.request_frame, empty), rows.get(e.frame, empty)
            titles = {e.called_ap_title, e.calling_ap_title} - {None}
            t.check("association", e.application_context in req["acse.aSO_context_name"]
                    and titles <= set(req["acse.ap_title_form2"])
                    and [str(e.local_detail_calling)] == req["mms.localDetailCalling"]
                    and [ACSE_RESULTS.get(e.association_result, "")] == resp["acse.result"]
                    and [str(e.local_detail_called)] == resp["mms.localDetailCalled"]
                    and [str(e.max_serv_outstanding_calling)]
                    == resp["mms.negociatedMaxServOutstandingCalling"]
                    and [str(e.max_serv_outstanding_called)]
                    == resp["mms.negociatedMaxServOutstandingCalled"]
                    and [str(e.nesting_level)] == resp["mms.negociatedDataStructureNestingLevel"]
                    and [str(e.version)] == resp["mms.negociatedVersionNumber"],
                    e.frame, lossy, f"{e.application_context} {titles}")
        if e.pdu != "confirmed" or e.service is None or e.service > 77:
            continue
        req_frame = e.request_frame if e.answered else (e.frame if e.answered is False else None)
        if req_frame is not None:
            request_frames.add(req_frame)
            row = rows.get(req_frame, empty)
            t.check("request", str(e.service) in row["mms.confirmedServiceRequest"]
                    and str(e.invoke_id) in row["mms.invokeID"], req_frame, lossy,
                    f"{e.service_name}/{e.invoke_id} vs {row['mms.confirmedServiceRequest']}",
                    blind=e.flow_id not in seen_assoc and req_frame not in rows)
            if e.service_name in ("read", "write") and e.items:
                names = set(row["mms.itemId"]) | set(row["mms.vmd_specific"])
                t.check("names", set(e.items) <= names
                        and {d for d in e.domains or () if d} <= set(row["mms.domainId"]),
                        req_frame, lossy, f"{e.items[:3]}")
        if e.answered is not False and e.result == "success":
            response_frames.add(e.frame)
            if e.service_name == "read":
                _leaves(e.values or [], values[e.frame])
            row = rows.get(e.frame, empty)
            t.check("response", str(e.service) in row["mms.confirmedServiceResponse"]
                    and str(e.invoke_id) in row["mms.invokeID"], e.frame, lossy,
                    f"{e.service_name}/{e.invoke_id} vs {row['mms.confirmedServiceResponse']}",
                    blind=e.flow_id not in seen_assoc and e.frame not in rows)
            if e.service_name == "getNameList":
                t.check("names", set(e.names or ()) <= set(row["mms.Identifier"]), e.frame,
                        lossy, f"{(e.names or [])[:3]}")
            if e.service_name == "identify":
                t.check("identify", [e.vendor, e.model, e.revision] == [
                    (row[f] or [""])[0] or None for f in ("mms.vendorName", "mms.modelName",
                                                    "mms.revision")], e.frame, lossy,
                        f"{e.vendor} {e.model} {e.revision}")
    for frame, kinds in values.items():
        row = rows.get(frame, empty)
        theirs = {"int": collections.Counter(row["mms.integer"] + row["mms.unsigned"]),
                  "vstr": collections.Counter(row["mms.data.visible-string"]),
                  "failure": collections.Counter(row["mms.failure"])}
        blind = frame not in rows and frame not in response_frames
        for kind, counts in kinds.items():
            t.check(f"values.{kind}", not counts - theirs[kind], frame, lossy,
                    f"{dict(counts - theirs[kind])}", blind=blind)
    for frame, row in rows.items():
        if row["mms.confirmedServiceRequest"]:
            t.check("coverage", frame in request_frames, frame, lossy, "request not decoded")
        if row["mms.confirmedServiceResponse"]:
            t.check("coverage", frame in response_frames, frame, lossy, "response not decoded")
        if row["mms.unconfirmedService"]:
            t.check("coverage", frame in report_frames, frame, lossy, "report not decoded")
    parts = []
    for field in sorted(set(t.ok) | set(t.bad) | set(t.loss) | set(t.no_context)):
        total = t.ok[field] + t.bad[field]
        parts.append(f"{field} {t.ok[field]}/{total}"
                     + (f" (+{t.loss[field]} loss)" if t.loss[field] else "")
                     + (f" (+{t.no_context[field]} no tshark context)"
                        if t.no_context[field] else ""))
    print(f"{name}: " + ", ".join(parts))
    assert sum(t.ok.values()) > 0, "nothing compared"
    assert not t.bad, t.examples


def test_capture_list_not_empty() -> None:
    if not CAPTURES:
        pytest.skip("third-party corpus not found")
    assert len(CAPTURES) == 9


