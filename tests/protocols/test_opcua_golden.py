"""Golden tests: an OPC UA session written with ``otshield.pcapwriter`` and the exact events
expected from OPC 10000-4/-6; then the same conversation re-segmented into 1-byte and random
(seeded) TCP segments must give identical events."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.pcapwriter import PcapWriter, TcpConversation
from otshield.protocols.opcua import OpcuaEvent
from protocols.opcua_build import (
    B256_URI,
    NONE_URI,
    acknowledge,
    application,
    array,
    bytestring,
    data_value,
    datetime_ticks,
    decode_opcua,
    endpoint,
    ext_object,
    f64,
    hello,
    i32,
    localized,
    msg,
    node_guid,
    node_numeric,
    node_string,
    open_request,
    open_response,
    opn,
    request_header,
    response_header,
    service,
    string,
    u16,
    u32,
    variant,
)
from support import without_position

CLIENT, SERVER = ("10.1.1.10", 50200), ("10.1.1.20", 4840)
URL = "opc.tcp://10.1.1.20:4840/plc"
GUID = "72962b91-fa75-4ae6-8d28-b404dc7daf63"
TOKEN = node_guid(GUID, 1)
TOKEN_HASH = hashlib.sha1(f"ns=1;g={GUID}".encode()).hexdigest()[:16]
SCID, TOKEN_ID = 7, 3


def iso(epoch: float) -> str:
    """ISO 8601 text of an epoch time, as events render OPC UA DateTime values."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def rvid(node: bytes, attribute: int = 13) -> bytes:
    """ReadValueId: NodeId, AttributeId, IndexRange (null), DataEncoding (null name)."""
    return node + u32(attribute) + string(None) + u16(0) + string(None)


SERVER_STATUS = (datetime_ticks(1_699_999_000.0) + datetime_ticks(1_700_000_001.0) + u32(0)
                 + string("urn:vendor:plc") + string("ACME") + string("ACME PLC")
                 + string("2.1.0") + string("417") + datetime_ticks(1_690_000_000.0)
                 + u32(0) + localized(None))

# request sequence numbers 1.., server's 51..; request ids 1..
WRITE2 = service(673, request_header(8, TOKEN), array([
    node_string("Valve", 2) + u32(13) + string(None) + data_value(variant(1, b"\x01"))]))


def conversation() -> list[tuple[bool, bytes]]:
    get_ep = service(428, request_header(2), string(URL) + array([]) + array([]))
    get_ep_resp = service(431, response_header(2), array([
        endpoint(URL, 1, NONE_URI, [0, 1], 0),
        endpoint(URL, 3, B256_URI, [1], 100, cert=b"CERT")]))
    create = service(461, request_header(3), application("urn:client", "urn:client:product",
                                                         "HMI", 1)
                     + string("urn:srv") + string(URL) + string("Session1")
                     + bytestring(b"\x01" * 32) + bytestring(None) + f64(1200000.0) + u32(0))
    create_resp = service(464, response_header(3), node_numeric(1001, 1) + TOKEN + f64(600000.0)
                          + bytestring(b"\x02" * 32) + bytestring(b"SERVERCERT")
                          + array([endpoint(URL, 1, NONE_URI, [0], 0)]) + array([])
                          + string(None) + bytestring(None) + u32(0))
    activate = service(467, request_header(4, TOKEN), string(None) + bytestring(None) + array([])
                       + array([string("en-US")])
                       + ext_object(324, string("username_basic") + string("operator")
                                    + bytestring(b"secret") + string(None))
                       + string(None) + bytestring(None))
    activate_resp = service(470, response_header(4), bytestring(b"\x03" * 32) + array([])
                            + array([]))
    read = service(631, request_header(5, TOKEN), f64(0.0) + u32(2) + array([
        rvid(node_numeric(2258)), rvid(node_string("Temp", 2)), rvid(node_numeric(2256))]))
    read_resp = service(634, response_header(5), array([
        data_value(variant(13, datetime_ticks(1_700_000_001.0)), server=1_700_000_001.0),
        data_value(variant(11, f64(21.5)), status=0, source=1_700_000_000.0),
        data_value(variant(22, ext_object(864, SERVER_STATUS)))]) + array([]))
    write = service(673, request_header(6, TOKEN), array([
        node_string("Setpoint", 2) + u32(13) + string(None) + data_value(variant(11, f64(12.5)))]))
    write_resp = service(676, response_header(6), array([u32(0)]) + array([]))
    call = service(712, request_header(7, TOKEN), array([
        node_numeric(5, 2) + node_numeric(7, 2) + array([variant(6, i32(3))])]))
    call_resp = service(715, response_header(7), array([
        u32(0) + array([u32(0)]) + array([]) + array([variant(12, string("done"))])]) + array([]))
    write2_resp = service(676, response_header(8), array([u32(0x803B0000)]) + array([]))
    read2 = service(631, request_header(9, TOKEN), f64(500.0) + u32(0) + array([
        rvid(node_numeric(2259))]))
    close = service(452, request_header(10, TOKEN))
    return [
        (True, hello(URL)),
        (False, acknowledge(mms=2097152, mcc=16)),
        (True, opn(0, 1, 1, open_request())),
        (False, opn(SCID, 51, 1, open_response(1, SCID, TOKEN_ID))),
        (True, msg(SCID, TOKEN_ID, 2, 2, get_ep)),
        (False, msg(SCID, TOKEN_ID, 52, 2, get_ep_resp)),
        (True, msg(SCID, TOKEN_ID, 3, 3, create)),
        (False, msg(SCID, TOKEN_ID, 53, 3, create_resp)),
        (True, msg(SCID, TOKEN_ID, 4, 4, activate)),
        (False, msg(SCID, TOKEN_ID, 54, 4, activate_resp)),
        (True, msg(SCID, TOKEN_ID, 5, 5, read)),
        (False, msg(SCID, TOKEN_ID, 55, 5, read_resp)),
        (True, msg(SCID, TOKEN_ID, 6, 6, write)),
        (False, msg(SCID, TOKEN_ID, 56, 6, write_resp)),
        (True, msg(SCID, TOKEN_ID, 7, 7, call)),
        (False, msg(SCID, TOKEN_ID, 57, 7, call_resp)),
        # a request in two chunks (6.7.2): the body is cut anywhere
        (True, msg(SCID, TOKEN_ID, 8, 8, WRITE2[:20], b"C")),
        (True, msg(SCID, TOKEN_ID, 9, 8, WRITE2[20:])),
        (False, msg(SCID, TOKEN_ID, 58, 8, write2_resp)),
        # a response abandoned after one chunk (6.7.3): abort chunk with Error and Reason
        (True, msg(SCID, TOKEN_ID, 10, 9, read2)),
        (False, msg(SCID, TOKEN_ID, 59, 9, read_resp[:30], b"C")),
        (False, msg(SCID, TOKEN_ID, 60, 9, u32(0x80B90000) + string("too large"), b"A")),
        (True, msg(SCID, TOKEN_ID, 11, 10, close, mtype=b"CLO")),
    ]


Splitter = Callable[[int], list[int] | None]


def whole(n: int) -> list[int] | None:
    return None


def one_byte(n: int) -> list[int] | None:
    return [1] * n


def random_sizes(seed: int) -> Splitter:
    rnd = random.Random(seed)

    def split(n: int) -> list[int] | None:
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rnd.randint(1, 37))
        return sizes

    return split


def write_capture(path: Path, split: Splitter) -> list[tuple[bool, bytes]]:
    conv_msgs = conversation()
    with path.open("wb") as fh:
        conv = TcpConversation(PcapWriter(fh), CLIENT, SERVER, start=1_700_000_000.0).handshake()
        for from_client, payload in conv_msgs:
            conv.send(from_client, payload, split(len(payload)))
        conv.close()
    return conv_msgs


COMMON = {"event.dataset": "opcua", "network.transport": "tcp", "source.ip": CLIENT[0],
          "source.port": CLIENT[1], "destination.ip": SERVER[0], "destination.port": SERVER[1]}
CHANNEL = {**COMMON, "secure_channel_id": SCID, "token_id": TOKEN_ID,
           "security_policy": "None", "security_policy_uri": NONE_URI, "security_mode": "None",
           "timeout_hint": 10000, "return_diagnostics": 0}


def svc(name: str, fc: str, rid: int, req_type: int | None, resp_type: int | None,
        sizes: tuple[int, int | None], token: bool = True, **extra: Any) -> dict[str, Any]:
    """Expected fields of a service transaction (request id = request handle here)."""
    out: dict[str, Any] = {
        **CHANNEL, "kind": "service", "function_class": fc, "status": "ok", "service": name,
        "request_id": rid, "sequence_number": rid, "request_chunks": 1,
        "request_size": sizes[0], "request_handle": rid,
        "request_timestamp": iso(1_700_000_000.0)}
    if req_type is not None:
        out["request_type_id"] = f"i={req_type}"
    if resp_type is not None:
        out.update({"response_type_id": f"i={resp_type}", "response_sequence_number": 50 + rid,
                    "response_chunks": 1, "response_size": sizes[1], "service_result": 0,
                    "service_result_name": "Good"})
    if token:
        out["session_token_hash"] = TOKEN_HASH
    out.update(extra)
    return out


def expected(m: list[tuple[bool, bytes]]) -> list[dict[str, Any]]:
    size = [len(p) for _, p in m]
    ep_none = {"endpoint_url": URL, "security_mode": "None", "security_policy": "None",
               "security_policy_uri": NONE_URI, "security_level": 0,
               "server": {"application_uri": "urn:srv", "product_uri": "urn:prod",
                          "application_name": "Server", "application_type": "Server",
                          "discovery_urls": [URL]}}
    return [
        {**COMMON, "kind": "hello", "function_class": "other", "status": "ok",
         "hello": {"endpoint_url": URL, "protocol_version": 0, "receive_buffer_size": 65536,
                   "send_buffer_size": 65536, "max_message_size": 0, "max_chunk_count": 0,
                   "server_protocol_version": 0, "server_receive_buffer_size": 65536,
                   "server_send_buffer_size": 65536, "server_max_message_size": 2097152,
                   "server_max_chunk_count": 16}},
        {**CHANNEL, "kind": "open_secure_channel", "function_class": "security", "status": "ok",
         "service": "OpenSecureChannel", "request_type_id": "i=446", "response_type_id": "i=449",
         "request_id": 1, "sequence_number": 1, "response_sequence_number": 51,
         "request_chunks": 1, "response_chunks": 1, "request_size": size[2],
         "response_size": size[3], "request_handle": 1,
         "request_timestamp": iso(1_700_000_000.0), "service_result": 0,
         "service_result_name": "Good",
         "channel": {"request_type": "Issue", "requested_lifetime": 600000,
                     "revised_lifetime": 600000, "channel_id": SCID, "token_id": TOKEN_ID,
                     "created_at": iso(1_700_000_000.25), "client_protocol_version": 0,
                     "server_protocol_version": 0}},
        svc("GetEndpoints", "identify", 2, 428, 431, (size[4], size[5]), token=False,
            session={"endpoint_url": URL},
            endpoints=[{**ep_none, "user_token_types": ["Anonymous", "UserName"]},
                       {**ep_none, "security_mode": "SignAndEncrypt",
                        "security_policy": "Basic256Sha256", "security_policy_uri": B256_URI,
                        "user_token_types": ["UserName"], "security_level": 100,
                        "server_certificate_thumbprint": hashlib.sha1(b"CERT").hexdigest()}]),
        svc("CreateSession", "security", 3, 461, 464, (size[6], size[7]), token=False,
            session={"client": {"application_uri": "urn:client",
                                "product_uri": "urn:client:product", "application_name": "HMI",
                                "application_type": "Client"},
                     "server_uri": "urn:srv", "endpoint_url": URL, "session_name": "Session1",
                     "requested_timeout": 1200000.0, "session_id": "ns=1;i=1001",
                     "revised_timeout": 600000.0,
                     "server_certificate_thumbprint": hashlib.sha1(b"SERVERCERT").hexdigest(),
                     "server_endpoints": 1},
            endpoints=[{**ep_none, "user_token_types": ["Anonymous"]}]),
        svc("ActivateSession", "security", 4, 467, 470, (size[8], size[9]),
            **{"user.name": "operator"},
            identity={"token_type": "UserName", "policy_id": "username_basic",
                      "password_present": True, "locale_ids": ["en-US"]}),
        svc("Read", "read", 5, 631, 634, (size[10], size[11]),
            nodes=["i=2258", "ns=2;s=Temp", "i=2256"], max_age=0.0, timestamps_to_return="Both",
            operation_results=["Good", "Good", "Good"], bad_results=0,
            reads=[{"node_id": "i=2258", "attribute": "Value",
                    "result": {"value": {"type": "DateTime", "value": iso(1_700_000_001.0)},
                               "server_timestamp": iso(1_700_000_001.0)}},
                   {"node_id": "ns=2;s=Temp", "attribute": "Value",
                    "result": {"value": {"type": "Double", "value": 21.5}, "status": 0,
                               "status_name": "Good", "source_timestamp": iso(1_700_000_000.0)}},
                   {"node_id": "i=2256", "attribute": "Value",
                    "result": {"value": {"type": "ExtensionObject",
                                         "value": "ExtensionObject(i=864)"}}}],
            build_info={"product_uri": "urn:vendor:plc", "manufacturer": "ACME",
                        "product_name": "ACME PLC", "software_version": "2.1.0",
                        "build_number": "417", "build_date": iso(1_690_000_000.0),
                        "server_state": "Running", "start_time": iso(1_699_999_000.0)}),
        svc("Write", "write", 6, 673, 676, (size[12], size[13]), nodes=["ns=2;s=Setpoint"],
            operation_results=["Good"], bad_results=0,
            writes=[{"node_id": "ns=2;s=Setpoint", "attribute": "Value",
                     "value": {"value": {"type": "Double", "value": 12.5}},
                     "status_name": "Good"}]),
        svc("Call", "control", 7, 712, 715, (size[14], size[15]), nodes=["ns=2;i=7"],
            operation_results=["Good"], bad_results=0,
            calls=[{"object_id": "ns=2;i=5", "method_id": "ns=2;i=7",
                    "input_arguments": [{"type": "Int32", "value": 3}], "status_name": "Good",
                    "output_arguments": [{"type": "String", "value": "done"}]}]),
        svc("Write", "write", 8, 673, 676, (size[16] + size[17], size[18]),
            sequence_number=9, request_chunks=2, nodes=["ns=2;s=Valve"],
            operation_results=["BadNotWritable"], bad_results=1,
            writes=[{"node_id": "ns=2;s=Valve", "attribute": "Value",
                     "value": {"value": {"type": "Boolean", "value": True}},
                     "status_name": "BadNotWritable"}]),
        {**COMMON, "event.dataset": "anomaly", "event.code": "opcua.message_aborted",
         "message": "request id 9 aborted after 1 chunks (BadResponseTooLarge: too large)",
         "protocol": "opcua", "source.ip": SERVER[0], "source.port": SERVER[1],
         "destination.ip": CLIENT[0], "destination.port": CLIENT[1]},
        svc("Read", "read", 9, 631, None, (size[19], None), sequence_number=10, status="aborted",
            response_sequence_number=60, response_chunks=2, response_size=size[20] + size[21],
            error_code=0x80B90000, error_name="BadResponseTooLarge", reason="too large",
            nodes=["i=2259"], max_age=500.0, timestamps_to_return="Source",
            reads=[{"node_id": "i=2259", "attribute": "Value"}]),
        svc("CloseSecureChannel", "security", 10, 452, None, (size[22], None),
            kind="close_secure_channel", sequence_number=11),
    ]


def normalise(events: list[Any]) -> list[dict[str, Any]]:
    out = []
    for d in without_position(e for e in events if e.__struct_config__.tag != "flow"):
        d.pop("response_time", None)
        d.pop("flow_id", None)
        d.pop("network.community_id", None)
        out.append(msgspec.json.decode(msgspec.json.encode(d)))  # tuples -> lists
    return out


def test_golden_session(tmp_path: Path) -> None:
    path = tmp_path / "opcua.pcap"
    m = write_capture(path, whole)
    got = normalise(decode_opcua(path))
    want = expected(m)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == w


def test_golden_frames(tmp_path: Path) -> None:
    """``frame`` is the packet completing the response; ``request_frame`` the request's."""
    path = tmp_path / "opcua.pcap"
    write_capture(path, whole)
    events = [e for e in decode_opcua(path) if e.__struct_config__.tag == "opcua"]
    # handshake = frames 1-3; each message is one data packet + one ACK
    hello_ev = events[0]
    assert (hello_ev.request_frame, hello_ev.frame) == (4, 6)
    read = next(e for e in events if e.service == "Read")
    assert read.frame - read.request_frame == 2
    close = events[-1]
    assert close.kind == "close_secure_channel" and close.request_frame == close.frame


@pytest.mark.parametrize("split", [one_byte, random_sizes(1), random_sizes(7)],
                         ids=["1-byte", "random-1", "random-7"])
def test_resegmented_replay_is_identical(tmp_path: Path, split: Splitter) -> None:
    base = tmp_path / "whole.pcap"
    write_capture(base, whole)
    other = tmp_path / "split.pcap"
    write_capture(other, split)
    assert normalise(decode_opcua(other)) == normalise(decode_opcua(base))


def test_event_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "opcua.pcap"
    write_capture(path, whole)
    for e in decode_opcua(path):
        if isinstance(e, OpcuaEvent):
            assert msgspec.json.decode(msgspec.json.encode(e), type=OpcuaEvent) == e


def test_probe_claims_other_port_and_frame_limits(tmp_path: Path) -> None:
    """On an unlisted port the Hello claims the flow; a message larger than
    Settings.max_frame_bytes is reported by the engine under the opcua namespace."""
    from otshield.config import Settings
    from protocols.opcua_build import message

    path = tmp_path / "other.pcap"
    with path.open("wb") as fh:
        conv = TcpConversation(PcapWriter(fh), CLIENT, ("10.1.1.20", 12345)).handshake()
        conv.send(True, hello("opc.tcp://10.1.1.20:12345"))
        conv.send(False, acknowledge())
        conv.send(True, message(b"MSG", bytes(600)))
        conv.close()
    events = decode_opcua(path, Settings(max_frame_bytes=512))
    hello_ev = next(e for e in events if isinstance(e, OpcuaEvent))
    assert hello_ev.kind == "hello" and hello_ev.dst_port == 12345
    codes = [e.code for e in events if e.__struct_config__.tag == "anomaly"]
    assert codes == ["opcua.invalid_frame_size"]
