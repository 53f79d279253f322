"""Differential tests against tshark's OPC UA dissector on the corpus captures.

For every event, the fields tshark also decodes are checked at the frame they belong to:
message type, endpoint URL (Hello), security policy URI (OpenSecureChannel), the service type
ids of request and response (``opcua.servicenodeid.numeric``), request id, sequence numbers,
secure channel id, request handle, service result and transport error code. Values are matched
by frame number: ``request_frame`` is the packet that completed the request, ``frame`` the one
that completed the response. Then, the other way round, every service type id tshark shows
must belong to one of our events (coverage). One agreement line per capture is printed.
"""

from __future__ import annotations

from typing import Any

import pytest

from otshield.protocols.opcua import OpcuaEvent
from protocols.opcua_build import decode_opcua
from support import PCAPS, CorpusFile, corpus_files, corpus_params, tshark_fields

FIELDS = ["opcua.transport.type", "opcua.transport.endpoint", "opcua.security.spu",
          "opcua.servicenodeid.numeric", "opcua.security.rqid", "opcua.security.seq",
          "opcua.transport.scid", "opcua.RequestHandle", "opcua.ServiceResult",
          "opcua.transport.error"]
_NUMERIC_HEX = {"opcua.ServiceResult", "opcua.transport.error"}

# tshark dissects OPC UA on 4840 only; these captures use other ports.
DECODE_AS = {"open62541_client-server_mainloop-not-localhost-non-standard-port.pcap": 48010,
             "opc-ua-ap-method-wireshark-freeze.pcap": 12001}

# Disagreements, each explained: capture name -> {frame: reason}
EXPLAINED: dict[str, dict[int, str]] = {
    "opcua_with-gap_with-handshake.pcap": {
        30: "tshark marks the segment completing the CreateSession response as a spurious "
            "retransmission (the capture lost the originals; the peer's ACK already covered "
            "them) and does not dissect it; the bytes are new to our reassembler, which "
            "completes the message",
    },
}

Check = tuple[int, str, str]


def checks(e: OpcuaEvent) -> list[Check]:
    """(frame, tshark field, expected value) pairs for one event."""
    out: list[Check] = []
    q, r = e.request_frame, e.frame

    def add(frame: int | None, field: str, value: Any) -> None:
        if frame is not None and value is not None:
            out.append((frame, field, str(value)))

    if e.kind == "hello":
        add(q, "opcua.transport.type", "HEL")
        add(q, "opcua.transport.endpoint", e.hello.endpoint_url if e.hello else None)
        if e.status == "ok":
            add(r, "opcua.transport.type", "ACK")
        add(r, "opcua.transport.error", e.error_code)
        return out
    if e.kind == "error":
        add(r, "opcua.transport.type", "ERR")
        add(r, "opcua.transport.error", e.error_code)
        return out
    mtype = {"open_secure_channel": "OPN", "close_secure_channel": "CLO"}.get(e.kind, "MSG")
    if e.encrypted:  # only the clear headers: type, and the channel id of MSG/CLO
        for frame, size in ((q, e.request_size), (r if e.response_size else None, 1)):
            if size is not None:
                add(frame, "opcua.transport.type", mtype)
        if mtype != "OPN":
            add(q if e.request_size is not None else r, "opcua.transport.scid",
                e.secure_channel_id)
        return out
    if e.request_size is not None:
        add(q, "opcua.transport.type", mtype)
        if e.request_type_id:
            add(q, "opcua.servicenodeid.numeric", e.request_type_id[2:])
        add(q, "opcua.security.rqid", e.request_id)
        add(q, "opcua.security.seq", e.sequence_number)
        add(q, "opcua.RequestHandle", e.request_handle)
        if mtype == "OPN":
            add(q, "opcua.security.spu", e.security_policy_uri)
        else:
            add(q, "opcua.transport.scid", e.secure_channel_id)
    if e.response_size is not None:
        add(r, "opcua.transport.type", mtype)
        add(r, "opcua.security.rqid", e.request_id)
        add(r, "opcua.security.seq", e.response_sequence_number)
        add(r, "opcua.transport.scid", e.secure_channel_id)
        if e.response_type_id:
            add(r, "opcua.servicenodeid.numeric", e.response_type_id[2:])
            add(r, "opcua.RequestHandle", e.request_handle)
            add(r, "opcua.ServiceResult", e.service_result)
    return out


def compare(cf: CorpusFile) -> tuple[int, list[tuple[Check, list[str]]], int, list[Any]]:
    port = DECODE_AS.get(cf.path.name)
    extra = ["-d", f"tcp.port=={port},opcua"] if port else []
    rows = tshark_fields(cf.path, FIELDS, "opcua", extra)
    table: dict[int, dict[str, list[str]]] = {}
    for row in rows:
        row += [""] * (len(FIELDS) + 1 - len(row))
        values = {}
        for i, name in enumerate(FIELDS):
            cell = [v for v in row[i + 1].split(",") if v]
            if name in _NUMERIC_HEX:
                cell = [str(int(v, 0)) for v in cell]
            values[name] = cell
        table[int(row[0])] = values
    events = [e for e in decode_opcua(cf.path) if isinstance(e, OpcuaEvent)]
    agree = 0
    wrong: list[tuple[Check, list[str]]] = []
    ours: set[tuple[int, str]] = set()
    for e in events:
        for frame, field, value in checks(e):
            if field == "opcua.servicenodeid.numeric":
                ours.add((frame, value))
            got = table.get(frame, {}).get(field, [])
            if value in got:
                agree += 1
            else:
                wrong.append(((frame, field, value), got))
    theirs = [(frame, v) for frame, values in table.items()
              for v in values["opcua.servicenodeid.numeric"]]
    missed = [x for x in theirs if x not in ours]
    return agree, wrong, len(theirs), missed


FILES = [f for f in corpus_files("OPC UA") if f.path.suffix in (".pcap", ".pcapng")]


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(FILES))
def test_agrees_with_tshark(cf: CorpusFile) -> None:
    agree, wrong, total_ids, missed = compare(cf)
    explained = EXPLAINED.get(cf.path.name, {})
    unexplained = [w for w in wrong if w[0][0] not in explained]
    checked = agree + len(wrong)
    print(f"{cf.path.relative_to(PCAPS)}: {agree}/{checked} fields agree "
          f"({100.0 * agree / max(1, checked):.1f}%, {len(wrong) - len(unexplained)} explained); "
          f"tshark service ids covered {total_ids - len(missed)}/{total_ids}")
    assert checked > 0, "no comparable field"
    assert unexplained == []
    assert missed == []


# -- service contents ---------------------------------------------------------------------------

_SCALARS = ("Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64",
            "UInt64", "Float", "Double", "String")
CONTENT = ["opcua.nodeid.numeric", "opcua.nodeid.string", "opcua.MaxAge",
           *(f"opcua.{t}" for t in _SCALARS if t not in ("Int32", "Double", "String")),
           "opcua.Double", "opcua.Int32", "opcua.String", "opcua.SessionName",
           "opcua.ApplicationUri",
           "opcua.EndpointUrl", "opcua.SecurityPolicyUri", "opcua.RevisedSessionTimeout",
           "opcua.UserName", "opcua.PolicyId", "opcua.ProductName", "opcua.SoftwareVersion",
           "opcua.SubscriptionId", "opcua.ClientHandle"]
_FLOATS = {"opcua.MaxAge", "opcua.Double", "opcua.Float", "opcua.RevisedSessionTimeout"}
_TEXT = {"opcua.nodeid.string", "opcua.String", "opcua.SessionName", "opcua.ApplicationUri",
         "opcua.EndpointUrl", "opcua.SecurityPolicyUri", "opcua.UserName", "opcua.PolicyId",
         "opcua.ProductName", "opcua.SoftwareVersion"}


def content_checks(e: OpcuaEvent) -> list[Check]:
    """What a service carries that tshark decodes too: node ids, values, names, URLs."""
    out: list[Check] = []
    q, r = e.request_frame, e.frame
    if e.kind != "service" or e.encrypted or q is None:
        return out

    def add(frame: int | None, field: str, value: Any) -> None:
        if frame is not None and value is not None:
            out.append((frame, field, str(value)))

    def node(frame: int, node_id: str) -> None:
        kind_value = node_id.rsplit(";", 1)[-1]
        kind, _, value = kind_value.partition("=")
        if kind == "i":
            add(frame, "opcua.nodeid.numeric", value)
        elif kind == "s":
            add(frame, "opcua.nodeid.string", value)

    answered = e.response_type_id is not None
    for n in e.nodes or ():
        if e.service not in ("AddNodes", "TranslateBrowsePathsToNodeIds"):
            node(q, n)
    add(q, "opcua.MaxAge", e.max_age)
    for item in e.reads or ():
        v = item.result.value if item.result is not None and answered else None
        if v is not None and v.values is None and v.type in _SCALARS:
            value = v.value
            if isinstance(value, bool):  # tshark prints booleans as 1 / 0
                value = int(value)
            add(r, f"opcua.{v.type}", value)
    if e.session is not None:
        add(q, "opcua.SessionName", e.session.session_name)
        add(q, "opcua.EndpointUrl", e.session.endpoint_url)
        if e.session.client is not None:
            add(q, "opcua.ApplicationUri", e.session.client.application_uri)
        if answered and e.service == "CreateSession":
            add(r, "opcua.RevisedSessionTimeout", e.session.revised_timeout)
    for ep in e.endpoints or ():
        add(r, "opcua.EndpointUrl", ep.endpoint_url)
        add(r, "opcua.SecurityPolicyUri", ep.security_policy_uri)
    add(q, "opcua.UserName", e.user_name)
    if e.identity is not None:
        add(q, "opcua.PolicyId", e.identity.policy_id)
    if e.build_info is not None and answered:
        for field, value in (("opcua.ProductName", e.build_info.product_name),
                             ("opcua.SoftwareVersion", e.build_info.software_version)):
            add(r, field, value)
    if e.publish is not None and answered and e.publish.subscription_id is not None:
        add(r, "opcua.SubscriptionId", e.publish.subscription_id)
        for change in e.publish.data_changes or ():
            add(r, "opcua.ClientHandle", change.client_handle)
    for item in e.monitored_items or ():
        add(q, "opcua.ClientHandle", item.client_handle)
    return out


def _matches(field: str, value: str, cell: str) -> bool:
    if field in _TEXT:
        return value in cell or (field in ("opcua.ProductName", "opcua.SoftwareVersion")
                                 and value == "")
    items = [v for v in cell.split(",") if v]
    if field in _FLOATS:
        # tshark prints Float (and Double) values with 6 significant digits
        return any(abs(float(v) - float(value)) <= 1e-5 * max(1.0, abs(float(value)))
                   for v in items)
    return value in items


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(FILES))
def test_service_contents_agree_with_tshark(cf: CorpusFile) -> None:
    port = DECODE_AS.get(cf.path.name)
    extra = ["-d", f"tcp.port=={port},opcua"] if port else []
    rows = tshark_fields(cf.path, CONTENT, "opcua", extra)
    table = {int(row[0]): row[1:] + [""] * (len(CONTENT) + 1 - len(row)) for row in rows}
    events = [e for e in decode_opcua(cf.path) if isinstance(e, OpcuaEvent)]
    explained = EXPLAINED.get(cf.path.name, {})
    agree = 0
    wrong = []
    for e in events:
        for frame, field, value in content_checks(e):
            cell = table.get(frame, [""] * len(CONTENT))[CONTENT.index(field)]
            if _matches(field, value, cell):
                agree += 1
            elif frame not in explained:
                wrong.append((frame, field, value, cell[:200]))
    checked = agree + len(wrong)
    print(f"{cf.path.relative_to(PCAPS)}: service contents {agree}/{checked} agree")
    assert wrong == []
