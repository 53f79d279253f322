"""Unit tests of the pure OPC UA parsers with annotated byte vectors (OPC 10000-6 section
numbers in comments)."""

from __future__ import annotations

import hashlib
import struct

import pytest

from otshield.errors import Malformed
from otshield.protocols.opcua.binary import (
    MAX_ARRAY_VALUES,
    MAX_BYTES_HEX,
    MAX_TEXT,
    Reader,
    datetime_text,
)
from otshield.protocols.opcua.constants import SERVICES, STATUS_CODES, status_name
from otshield.protocols.opcua.services import decode_body, looks_plain
from otshield.protocols.opcua.transport import (
    frame_size,
    parse_acknowledge,
    parse_asymmetric,
    parse_error,
    parse_hello,
    parse_reverse_hello,
    probe,
)
from protocols.opcua_build import (
    NONE_URI,
    application,
    array,
    bytestring,
    data_value,
    datetime_ticks,
    endpoint,
    ext_object,
    f64,
    i32,
    localized,
    node_guid,
    node_numeric,
    node_string,
    qualified,
    request_header,
    response_header,
    service,
    string,
    u16,
    u32,
    variant,
    variant_array,
)

# -- framing (7.1.2.2) -----------------------------------------------------------------------------

HEL = (b"HEL" b"F"                   # MessageType, ChunkType
       b"\x38\x00\x00\x00"           # MessageSize 56
       b"\x00\x00\x00\x00"           # ProtocolVersion 0
       b"\x00\x00\x01\x00"           # ReceiveBufferSize 65536
       b"\x00\x00\x01\x00"           # SendBufferSize 65536
       b"\x00\x00\x20\x00"           # MaxMessageSize 2097152
       b"\x10\x00\x00\x00"           # MaxChunkCount 16
       b"\x18\x00\x00\x00"           # EndpointUrl length 24
       b"opc.tcp://10.0.0.2:4840")   # (23 bytes) + "/"
HEL = HEL + b"/"


def test_hello_vector() -> None:
    assert frame_size(HEL) == 56 == len(HEL)
    h = parse_hello(HEL)
    assert (h.protocol_version, h.receive_buffer_size, h.send_buffer_size, h.max_message_size,
            h.max_chunk_count, h.endpoint_url) == (0, 65536, 65536, 2097152, 16,
                                                   "opc.tcp://10.0.0.2:4840/")


def test_acknowledge_error_reverse_hello_vectors() -> None:
    ack = (b"ACKF" b"\x1c\x00\x00\x00"   # header, size 28
           b"\x00\x00\x00\x00"           # ProtocolVersion
           b"\x00\x20\x00\x00"           # ReceiveBufferSize 8192
           b"\x00\x20\x00\x00"           # SendBufferSize 8192
           b"\x00\x00\x00\x00"           # MaxMessageSize 0 (no limit)
           b"\x00\x00\x00\x00")          # MaxChunkCount 0
    assert frame_size(ack) == 28
    a = parse_acknowledge(ack)
    assert (a.receive_buffer_size, a.send_buffer_size, a.endpoint_url) == (8192, 8192, None)
    err = (b"ERRF" b"\x15\x00\x00\x00"   # header, size 21
           b"\x00\x00\x83\x80"           # Error: BadTcpEndpointUrlInvalid 0x80830000
           b"\x05\x00\x00\x00" b"nope!")  # Reason
    assert frame_size(err) == 21
    assert parse_error(err) == (0x80830000, "nope!")
    rhe = b"RHEF" + u32(8 + 4 + 7 + 4 + 11) + string("urn:srv") + string("opc.tcp://x")
    assert parse_reverse_hello(rhe) == ("urn:srv", "opc.tcp://x")


@pytest.mark.parametrize(("head", "code_part"), [
    (b"XYZF\x20\x00\x00\x00", "message type"),       # unknown message type
    (b"MSGX\x20\x00\x00\x00", "chunk type"),         # chunk type not F/C/A
    (b"MSGF\x10\x00\x00\x00", "below its minimum"),  # 16 < 24 for MSG
    (b"HELF\x10\x00\x00\x00", "below its minimum"),  # 16 < 32 for HEL
])
def test_frame_size_rejects(head: bytes, code_part: str) -> None:
    with pytest.raises(Malformed) as exc:
        frame_size(head)
    assert exc.value.code == "opcua.bad_header"
    assert code_part in exc.value.detail


def test_frame_size_needs_eight_bytes() -> None:
    assert frame_size(b"MSGF\x20\x00\x00") is None
    assert frame_size(b"MSGC\x20\x00\x00\x00") == 32


def test_probe() -> None:
    assert probe(HEL, True)
    assert not probe(HEL[:7], True)
    assert probe(HEL[:8], True)  # the header alone is enough to start
    bad_len = HEL[:28] + b"\x19\x00\x00\x00" + HEL[32:]  # URL length disagrees with the size
    assert not probe(bad_len, True)
    assert not probe(b"HELC" + HEL[4:], True)  # connection messages are always final
    assert probe(b"MSGF\x30\x00\x00\x00" + bytes(40), False)  # mid-stream start
    assert not probe(b"GET / HTTP/1.1\r\n", True)
    assert not probe(b"MSGF\xff\xff\xff\x7f", True)  # absurd size


def test_asymmetric_header_vector() -> None:
    cert = b"\x30\x82\x01\x00fake-der"
    frame = (b"OPNF" + u32(0)             # header; size not checked here
             + u32(0)                       # SecureChannelId 0 (new channel)
             + string(NONE_URI)             # SecurityPolicyUri
             + bytestring(cert)             # SenderCertificate
             + bytestring(b"\x01" * 20)     # ReceiverCertificateThumbprint
             + u32(1) + u32(7))             # SequenceNumber 1, RequestId 7
    h = parse_asymmetric(frame)
    assert h.policy == "None" and h.policy_uri == NONE_URI
    assert h.certificate_thumbprint == hashlib.sha1(cert).hexdigest()
    assert h.receiver_thumbprint == "01" * 20
    assert (h.sequence_number, h.request_id, h.body_offset) == (1, 7, len(frame))
    h2 = parse_asymmetric(b"OPNF" + u32(0) + u32(0) + string("urn:odd") + i32(-1) + i32(-1)
                          + u32(1) + u32(1))
    assert h2.policy == "unknown" and h2.certificate_thumbprint is None
    with pytest.raises(Malformed) as exc:
        parse_asymmetric(b"OPNF" + u32(0) + u32(0) + i32(1000))  # URI longer than the chunk
    assert exc.value.code == "opcua.bad_security_header"
    with pytest.raises(Malformed) as exc:
        parse_asymmetric(b"OPNF" + u32(0) + u32(0) + i32(-1) + i32(-1) + i32(-1) + u32(1))
    assert exc.value.code == "opcua.bad_chunk"  # sequence header cut short


# -- built-in types (5.2.2) ------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "text"), [
    (b"\x00\x55", "i=85"),                                    # two-byte: ns 0, id 85
    (b"\x01\x02\x10\x27", "ns=2;i=10000"),                    # four-byte: ns 2, id 10000
    (b"\x02\x05\x00\x40\x42\x0f\x00", "ns=5;i=1000000"),      # numeric: UInt16 ns, UInt32 id
    (b"\x03\x01\x00\x04\x00\x00\x00Pump", "ns=1;s=Pump"),     # string
    (b"\x05\x03\x00\x02\x00\x00\x00\xab\xcd", "ns=3;b=q80="),  # opaque (base64)
])
def test_node_id_encodings(raw: bytes, text: str) -> None:
    r = Reader(raw)
    assert r.node_id() == text
    assert r.remaining() == 0


def test_node_id_guid_and_bad_mask() -> None:
    guid = "72962b91-fa75-4ae6-8d28-b404dc7daf63"
    assert Reader(node_guid(guid, 4)).node_id() == f"ns=4;g={guid}"
    with pytest.raises(Malformed) as exc:
        Reader(b"\x07\x00").node_id()
    assert exc.value.code == "opcua.bad_encoding"
    with pytest.raises(Malformed):
        Reader(b"\x01\x00").node_id()  # four-byte form cut short


def test_expanded_node_id_flags() -> None:
    # 0x80 NamespaceUri follows the id; 0x40 ServerIndex after it
    raw = b"\xc1\x00\x2a\x00" + string("urn:ns") + u32(2)
    assert Reader(raw).expanded_node_id() == "svr=2;nsu=urn:ns;i=42"
    assert Reader(b"\x40\x0a" + u32(1)).expanded_node_id() == "svr=1;i=10"


def test_strings_and_arrays() -> None:
    assert Reader(i32(-1)).string() is None
    assert Reader(string("héllo")).string() == "héllo"
    with pytest.raises(Malformed):
        Reader(i32(-2)).string()  # only -1 means null
    with pytest.raises(Malformed):
        Reader(i32(5) + b"abc").string()
    with pytest.raises(Malformed):
        Reader(i32(1000)).count("Things", 4)  # 1000 elements in no bytes
    assert Reader(i32(-1)).count("Things") == 0


def test_datetime() -> None:
    assert datetime_text(0) is None
    ticks = struct.unpack("<q", datetime_ticks(1_700_000_000.5))[0]
    assert datetime_text(ticks) == "2023-11-14T22:13:20.500000Z"
    assert datetime_text(0x7FFFFFFFFFFFFFFF) is None


def test_localized_qualified_diagnostic_extension() -> None:
    assert Reader(localized("Hello", "en")).localized_text() == "Hello"
    assert Reader(b"\x00").localized_text() is None
    assert Reader(qualified("Name", 2)).qualified_name() == "2:Name"
    # DiagnosticInfo: mask 0x31 = SymbolicId + AdditionalInfo + InnerStatusCode
    diag = b"\x31" + i32(3) + string("disk full") + u32(0x80020000)
    r = Reader(diag)
    assert r.diagnostic_info() == "disk full" and r.remaining() == 0
    assert Reader(b"\x20" + u32(0x80020000)).diagnostic_info() == "BadInternalError"
    nested = b"\x40" * 20 + b"\x00"
    with pytest.raises(Malformed):
        Reader(nested).diagnostic_info()  # nesting bounded
    assert Reader(ext_object(340, b"xyz")).extension_object() == (340, "i=340", b"xyz")
    assert Reader(ext_object(None)).extension_object() == (0, "i=0", None)
    with pytest.raises(Malformed):
        Reader(b"\x00\x00\x05").extension_object()  # encoding byte 5


SCALARS = [
    (1, b"\x01", "Boolean", True),
    (2, b"\xff", "SByte", -1),
    (3, b"\xff", "Byte", 255),
    (4, b"\xfe\xff", "Int16", -2),
    (5, b"\xfe\xff", "UInt16", 65534),
    (6, i32(-5), "Int32", -5),
    (7, u32(5), "UInt32", 5),
    (8, struct.pack("<q", -7), "Int64", -7),
    (9, struct.pack("<Q", 2**63), "UInt64", 2**63),
    (10, struct.pack("<f", 1.5), "Float", 1.5),
    (11, f64(2.25), "Double", 2.25),
    (12, string("abc"), "String", "abc"),
    (13, datetime_ticks(1_700_000_000.0), "DateTime", "2023-11-14T22:13:20.000000Z"),
    (14, node_guid("72962b91-fa75-4ae6-8d28-b404dc7daf63", 0)[3:], "Guid",
     "72962b91-fa75-4ae6-8d28-b404dc7daf63"),
    (15, bytestring(b"\xde\xad"), "ByteString", "dead"),
    (16, string("<a/>"), "XmlElement", "<a/>"),
    (17, node_string("X", 2), "NodeId", "ns=2;s=X"),
    (18, b"\x80\x05" + string("urn:x"), "ExpandedNodeId", "nsu=urn:x;i=5"),
    (19, u32(0x803B0000), "StatusCode", "BadNotWritable"),
    (20, qualified("Q", 1), "QualifiedName", "1:Q"),
    (21, localized("T"), "LocalizedText", "T"),
    (22, ext_object(864, b"\x00"), "ExtensionObject", "ExtensionObject(i=864)"),
    (23, data_value(variant(6, i32(9))), "DataValue", 9),
    (24, variant(12, string("in")), "Variant", "in"),
    (25, b"\x10" + string("info"), "DiagnosticInfo", "info"),
]


@pytest.mark.parametrize(("type_id", "raw", "name", "value"), SCALARS,
                         ids=[s[2] for s in SCALARS])
def test_variant_scalars(type_id: int, raw: bytes, name: str, value: object) -> None:
    r = Reader(variant(type_id, raw))
    v = r.variant()
    assert (v.type, v.value, v.values) == (name, value, None)
    assert r.remaining() == 0


def test_variant_arrays() -> None:
    v = Reader(variant_array(6, [i32(n) for n in range(3)])).variant()
    assert (v.type, v.values, v.array_length, v.truncated) == ("Int32", (0, 1, 2), 3, False)
    many = Reader(variant_array(11, [f64(n) for n in range(100)])).variant()
    assert many.array_length == 100 and many.truncated
    assert many.values == tuple(float(n) for n in range(MAX_ARRAY_VALUES))
    strings = Reader(variant_array(12, [string("a"), string(None)])).variant()
    assert strings.values == ("a", None)
    # 0x40: ArrayDimensions after the elements (a 2 x 2 matrix)
    matrix = Reader(b"\xc3" + array([b"\x01", b"\x02", b"\x03", b"\x04"])
                    + array([i32(2), i32(2)])).variant()
    assert (matrix.values, matrix.dimensions) == ((1, 2, 3, 4), (2, 2))
    null = Reader(b"\x86" + i32(-1)).variant()
    assert null.array_length == -1 and null.values == ()
    with pytest.raises(Malformed):
        Reader(b"\x1a").variant()  # built-in type 26 does not exist
    with pytest.raises(Malformed):
        Reader(b"\x86" + i32(1000) + i32(1)).variant()  # more Int32 than bytes


def test_data_value_fields() -> None:
    raw = (b"\x3f"                                  # all six fields present
           + variant(11, f64(1.0))                  # Value
           + u32(0x40000000)                        # StatusCode Uncertain
           + datetime_ticks(1_700_000_000.0)        # SourceTimestamp
           + u16(10)                                # SourcePicoseconds
           + datetime_ticks(1_700_000_001.0)        # ServerTimestamp
           + u16(20))                               # ServerPicoseconds
    r = Reader(raw)
    dv = r.data_value()
    assert r.remaining() == 0
    assert dv.value is not None and dv.value.value == 1.0
    assert (dv.status, dv.status_name) == (0x40000000, "Uncertain")
    assert dv.source_timestamp == "2023-11-14T22:13:20.000000Z"
    assert dv.server_timestamp == "2023-11-14T22:13:21.000000Z"


def test_status_names() -> None:
    assert status_name(0) == "Good"
    assert status_name(0x80340000) == "BadNodeIdUnknown"
    assert status_name(0x803400FF) == "BadNodeIdUnknown"  # info bits are not part of the name
    assert status_name(0x81FF0000) == "Bad_0x81FF0000"
    assert status_name(0x40FF0000) == "Uncertain_0x40FF0000"
    assert len(STATUS_CODES) > 200


def test_service_table() -> None:
    assert SERVICES[631] == ("Read", True) and SERVICES[634] == ("Read", False)
    assert SERVICES[397] == ("ServiceFault", False)
    names = {name for name, _ in SERVICES.values()}
    assert {"CreateSession", "ActivateSession", "Call", "Write", "Browse", "Publish",
            "AddNodes", "DeleteNodes", "HistoryUpdate", "RegisterServer2"} <= names


# -- service bodies (Part 4) -----------------------------------------------------------------------

def test_request_and_response_headers() -> None:
    token = b"\x01\x01\xe9\x03"  # four-byte NodeId ns=1;i=1001
    body = decode_body(service(631, request_header(42, token, timeout=5000, audit="a1"),
                               f64(0) + u32(0) + array([])), 0)
    assert (body.service, body.is_request, body.type_id) == ("Read", True, "i=631")
    assert body.request_handle == 42 and body.timeout_hint == 5000
    assert body.audit_entry_id == "a1" and body.return_diagnostics == 0
    assert body.session_token_hash == hashlib.sha1(b"ns=1;i=1001").hexdigest()[:16]
    assert body.timestamp == "2023-11-14T22:13:20.000000Z"
    fault = decode_body(service(397, response_header(42, 0x80250000)), 0)
    assert (fault.service, fault.is_request, fault.service_result) == (
        "ServiceFault", False, 0x80250000)


def test_unknown_service_and_bad_header() -> None:
    with pytest.raises(Malformed) as exc:
        decode_body(node_numeric(9999) + bytes(30), 0)
    assert exc.value.code == "opcua.unknown_service"
    with pytest.raises(Malformed) as exc:
        decode_body(node_numeric(631, 2) + bytes(30), 0)  # not namespace 0
    assert exc.value.code == "opcua.unknown_service"
    with pytest.raises(Malformed) as exc:
        decode_body(node_numeric(631) + b"\x00", 0)  # header cut short
    assert exc.value.code == "opcua.bad_encoding"


def test_service_field_error_is_kept_apart() -> None:
    """A fault in the service fields leaves the header decoded, the error in ``error``."""
    body = decode_body(service(631, request_header(1), f64(0) + u32(0) + i32(50)), 0)
    assert body.request_handle == 1
    assert body.error is not None and body.error.code == "opcua.bad_encoding"


def test_looks_plain() -> None:
    assert looks_plain(b"xx" + node_numeric(631), 2)
    assert not looks_plain(b"\x7f\x13\x88\x01", 0)
    assert not looks_plain(b"", 0)


def test_get_endpoints_and_find_servers() -> None:
    req = decode_body(service(428, request_header(1), string("opc.tcp://h:4840") + array([])
                              + array([])), 0)
    assert req.session is not None and req.session.endpoint_url == "opc.tcp://h:4840"
    resp = decode_body(service(431, response_header(1), array([
        endpoint("opc.tcp://h:4840", 2, NONE_URI, [0, 2, 3, 0], 5)])), 0)
    assert resp.endpoints is not None
    ep = resp.endpoints[0]
    assert (ep.security_mode, ep.security_policy, ep.user_token_types, ep.security_level) == (
        "Sign", "None", ("Anonymous", "Certificate", "IssuedToken"), 5)
    servers = decode_body(service(425, response_header(1), array([
        application("urn:a", "urn:p", "A", 3, ["opc.tcp://a"])])), 0)
    assert servers.servers is not None
    assert servers.servers[0].application_type == "DiscoveryServer"
    assert servers.servers[0].discovery_urls == ("opc.tcp://a",)


def test_activate_session_tokens() -> None:
    def activate(token: bytes) -> bytes:
        return service(467, request_header(1), string(None) + bytestring(None) + array([])
                       + array([]) + token + string(None) + bytestring(None))

    anon = decode_body(activate(ext_object(321, string("anon"))), 0)
    assert anon.identity is not None and anon.identity.token_type == "Anonymous"
    user = decode_body(activate(ext_object(324, string("pw") + string("bob")
                                           + bytestring(b"hunter2") + string("rsa"))), 0)
    assert user.user_name == "bob" and user.identity is not None
    assert user.identity.password_present is True and user.identity.encryption_algorithm == "rsa"
    assert "hunter2" not in repr(user)  # the password is never kept
    cert = decode_body(activate(ext_object(327, string("x509") + bytestring(b"DER"))), 0)
    assert cert.identity is not None and cert.identity.token_type == "Certificate"
    assert cert.identity.certificate_thumbprint == hashlib.sha1(b"DER").hexdigest()
    issued = decode_body(activate(ext_object(940, string("jwt") + bytestring(b"t")
                                             + string(None))), 0)
    assert issued.identity is not None and issued.identity.token_type == "IssuedToken"
    none = decode_body(activate(ext_object(None)), 0)
    assert none.identity is not None and none.identity.token_type is None


def test_node_management_and_view() -> None:
    add = decode_body(service(488, request_header(1), array([
        b"\x00\x55" + b"\x00\x23" + b"\x00\x00" + qualified("New", 2) + u32(1)
        + ext_object(None) + b"\x00\x3a"])), 0)
    assert add.nodes == ["i=85/2:New"]
    delete = decode_body(service(500, request_header(1), array([
        node_string("Old", 2) + b"\x01"])), 0)
    assert delete.nodes == ["ns=2;s=Old"]
    browse = decode_body(service(527, request_header(1), b"\x00\x00" + datetime_ticks(0)
                                 + u32(0) + u32(100) + array([
                                     b"\x00\x55" + u32(0) + b"\x00\x21" + b"\x01" + u32(0)
                                     + u32(63)])), 0)
    assert browse.nodes == ["i=85"] and browse.browse is not None
    assert browse.browse.max_references_per_node == 100
    ref = (b"\x00\x23" + b"\x01" + b"\x00\x3d" + qualified("Server") + localized("Server")
           + u32(1) + b"\x00\x3d")
    result = decode_body(service(530, response_header(1), array([
        u32(0) + bytestring(b"cp") + array([ref, ref])]) + array([])), 0)
    assert result.browse is not None
    assert (result.browse.references, result.browse.continuation_points) == (2, 1)
    assert result.browse.reference_names == ("Server", "Server")


def test_call_and_write() -> None:
    call = decode_body(service(712, request_header(1), array([
        node_numeric(1, 2) + node_numeric(2, 2) + array([variant(1, b"\x01")])])), 0)
    assert call.calls is not None and call.calls[0].method_id == "ns=2;i=2"
    assert call.calls[0].input_arguments[0].value is True
    write = decode_body(service(673, request_header(1), array([
        node_string("V", 2) + u32(13) + string("1:2") + data_value(variant(6, i32(7)))])), 0)
    assert write.writes is not None and write.writes[0].index_range == "1:2"


def test_subscriptions_and_publish() -> None:
    sub = decode_body(service(787, request_header(1), f64(500.0) + u32(100) + u32(10)
                              + u32(0) + b"\x01" + b"\x00"), 0)
    assert sub.subscription is not None and sub.subscription.publishing_interval == 500.0
    change = array([u32(7) + data_value(variant(11, f64(3.5)))]) + array([])
    resp = decode_body(service(829, response_header(1), u32(9) + array([u32(1)]) + b"\x00"
                               + u32(1) + datetime_ticks(1_700_000_000.0)
                               + array([ext_object(811, change)]) + array([]) + array([])), 0)
    assert resp.publish is not None
    assert (resp.publish.subscription_id, resp.publish.notifications) == (9, 1)
    assert resp.publish.data_changes is not None
    assert resp.publish.data_changes[0].client_handle == 7


def test_long_values_are_capped() -> None:
    long_text = Reader(variant(12, string("x" * 5000))).variant()
    assert isinstance(long_text.value, str) and len(long_text.value) == MAX_TEXT + 1
    assert long_text.value.endswith("\u2026")
    blob = Reader(variant(15, bytestring(bytes(range(200))))).variant()
    assert blob.value == bytes(range(MAX_BYTES_HEX)).hex() + "\u2026"
