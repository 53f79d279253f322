"""Session tests: pairing, chunking, secure channels and every anomaly code, fed message by
message through a recording flow."""

from __future__ import annotations

from otshield.config import Settings
from otshield.events import AnomalyEvent
from otshield.protocols.opcua import SPEC, OpcuaEvent, OpcuaSession
from protocols.opcua_build import (
    B256_URI,
    FakeFlow,
    acknowledge,
    array,
    error,
    f64,
    hello,
    message,
    msg,
    node_numeric,
    open_request,
    open_response,
    opn,
    request_header,
    response_header,
    reverse_hello,
    service,
    string,
    u32,
)

URL = "opc.tcp://10.0.0.2:4840"


def read_req(handle: int) -> bytes:
    return service(631, request_header(handle), f64(0) + u32(0) + array([
        node_numeric(2258) + u32(13) + string(None) + b"\x00\x00" + string(None)]))


def read_resp(handle: int, result: int = 0) -> bytes:
    return service(634, response_header(handle, result), array([b"\x00"]) + array([]))


def publish_req(handle: int) -> bytes:
    return service(826, request_header(handle), array([]))


class Run:
    """A session with its flow; ``c``/``s`` send from the client or the server."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.flow = FakeFlow(settings)
        self.session = OpcuaSession(self.flow)

    def c(self, frame: bytes, dt: float = 0.001) -> Run:
        self.flow.tick(dt)
        self.session.on_frame(frame, True)
        return self

    def s(self, frame: bytes, dt: float = 0.001) -> Run:
        self.flow.tick(dt)
        self.session.on_frame(frame, False)
        return self

    def open(self, scid: int = 5) -> Run:
        return (self.c(hello(URL)).s(acknowledge())
                .c(opn(0, 1, 1, open_request())).s(opn(scid, 1, 1, open_response(1, scid, 1))))

    def events(self) -> list[OpcuaEvent]:
        return [e for e in self.flow.events if isinstance(e, OpcuaEvent)]

    def codes(self) -> list[str]:
        return self.flow.codes()


def test_pairing_by_channel_and_request_id_out_of_order() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 10, read_req(100))).c(msg(5, 1, 3, 11, read_req(101)))
    run.s(msg(5, 1, 2, 11, read_resp(101))).s(msg(5, 1, 3, 10, read_resp(100, 0x80340000)))
    reads = [e for e in run.events() if e.service == "Read"]
    assert [(e.request_id, e.request_handle, e.status) for e in reads] == [
        (11, 101, "ok"), (10, 100, "bad")]
    assert reads[1].service_result_name == "BadNodeIdUnknown"
    assert run.codes() == []


def test_every_anomaly_code_is_declared() -> None:
    assert set(SPEC.anomaly_codes) >= {
        "opcua.bad_header", "opcua.bad_chunk", "opcua.bad_encoding", "opcua.unknown_service",
        "opcua.too_many_chunks", "opcua.too_many_pending", "opcua.unanswered_request",
        "opcua.bad_security_header", "opcua.unknown_policy", "opcua.message_aborted",
        "opcua.bad_sequence", "opcua.response_mismatch", "opcua.unmatched_response",
        "opcua.invalid_frame_size", "opcua.buffer_overflow"}


def test_bad_header_and_bad_chunk() -> None:
    run = Run()
    run.c(b"XYZF" + u32(16) + bytes(8))
    run.c(hello(URL)[:3] + b"C" + hello(URL)[4:])  # a chunked Hello
    run.c(message(b"MSG", bytes(10)))  # shorter than its headers... refused by the framer
    assert run.codes() == ["opcua.bad_header", "opcua.bad_chunk", "opcua.bad_header"]
    run2 = Run().open()
    run2.c(opn(5, 2, 2, open_request(request_type=1))[:3] + b"C"
           + opn(5, 2, 2, open_request(request_type=1))[4:])
    run2.c(msg(5, 1, 2, 3, read_req(1)[:10], b"C"))
    run2.session.close()
    assert run2.codes() == ["opcua.bad_chunk", "opcua.bad_chunk"]  # chunked OPN; no final chunk


def test_bad_encoding_unknown_service_and_policy() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, node_numeric(631) + b"\x00"))  # Read type id, header cut short
    run.c(msg(5, 1, 3, 3, node_numeric(9999) + bytes(20)))
    run.c(opn(5, 4, 4, open_request(), policy="http://example.com/weird"))
    codes = run.codes()
    assert codes[:3] == ["opcua.bad_encoding", "opcua.unknown_service", "opcua.unknown_policy"]


def test_bad_security_header() -> None:
    run = Run()
    run.c(b"OPNF" + u32(32) + u32(0) + u32(0x7FFFFFFF) + bytes(16))  # URI length 2^31-1
    assert run.codes() == ["opcua.bad_security_header"]


def test_too_many_chunks() -> None:
    run = Run()
    run.c(hello(URL, mcc=2)).s(acknowledge(mcc=3))
    run.c(opn(0, 1, 1, open_request())).s(opn(5, 1, 1, open_response(1, 5, 1)))
    body = read_req(1)
    for seq in range(2, 5):  # three intermediate chunks: one more than MaxChunkCount 2
        run.c(msg(5, 1, seq, 9, body[:8], b"C"))
    assert run.codes() == ["opcua.too_many_chunks"]


def test_abort_chunk() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 3, read_req(7)))
    run.s(msg(5, 1, 2, 3, read_resp(7)[:12], b"C"))
    run.s(msg(5, 1, 3, 3, u32(0x80B90000) + string("too big"), b"A"))
    event = run.events()[-1]
    assert (event.service, event.status, event.error_name, event.reason) == (
        "Read", "aborted", "BadResponseTooLarge", "too big")
    assert event.response_chunks == 2
    assert run.codes() == ["opcua.message_aborted"]


def test_bad_sequence() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, read_req(1))).s(msg(5, 1, 2, 2, read_resp(1)))
    run.c(msg(5, 1, 7, 3, read_req(2)))  # 3..6 skipped: replay or injection
    assert run.codes() == ["opcua.bad_sequence"]
    wrap = Run().open()
    wrap.session.last_seq[True] = 4294967000  # near the top: wrapping to < 1024 is allowed
    wrap.c(msg(5, 1, 3, 2, read_req(1)))
    assert wrap.codes() == []


def test_response_mismatch_and_unmatched() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, read_req(1)))
    run.s(msg(5, 1, 2, 2, service(676, response_header(1), array([]) + array([]))))
    run.c(msg(5, 1, 3, 3, read_req(2))).s(msg(5, 1, 3, 3, read_resp(99)))
    run.s(msg(5, 1, 4, 40, read_resp(5)))
    assert run.codes() == ["opcua.response_mismatch", "opcua.response_mismatch",
                           "opcua.unmatched_response"]
    orphan = run.events()[-1]
    assert orphan.request_missing and orphan.service == "Read"


def test_service_fault_answers_any_request() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, read_req(1))).s(msg(5, 1, 2, 2, service(397, response_header(
        1, 0x80270000))))
    e = run.events()[-1]
    assert (e.service, e.status, e.service_result_name) == ("Read", "bad",
                                                            "BadSessionNotActivated")
    assert run.codes() == []


def test_too_many_pending_and_unanswered() -> None:
    run = Run(Settings(max_pending_requests=2)).open()
    for rid in range(2, 6):
        run.c(msg(5, 1, rid, rid, read_req(rid)))
    assert run.codes() == ["opcua.too_many_pending"]
    unanswered = [e for e in run.events() if e.status == "unanswered"]
    assert [e.request_id for e in unanswered] == [2, 3]
    run.session.close()
    assert run.codes().count("opcua.unanswered_request") == 2


def test_timeout_and_publish_exemption() -> None:
    run = Run(Settings(request_timeout=5.0)).open()
    run.c(msg(5, 1, 2, 2, read_req(1)))
    run.c(msg(5, 1, 3, 3, publish_req(2)))
    run.c(msg(5, 1, 4, 4, read_req(3)), dt=20.0)  # the first Read (TimeoutHint 10 s) expired
    assert run.codes() == ["opcua.unanswered_request"]
    run.session.close()
    # at the end: the second Read is reported, the held Publish is not an anomaly
    assert run.codes() == ["opcua.unanswered_request", "opcua.unanswered_request"]
    assert {e.service for e in run.events() if e.status == "unanswered"} == {"Read", "Publish"}


def test_hello_error_and_connection_error() -> None:
    run = Run()
    run.c(hello(URL)).s(error(0x80830000, "bad url"))
    e = run.events()[0]
    assert (e.kind, e.status, e.error_name, e.reason) == ("hello", "bad",
                                                          "BadTcpEndpointUrlInvalid", "bad url")
    run2 = Run().open()
    run2.c(msg(5, 1, 2, 2, read_req(1))).s(error(0x80070000, "decoding"))
    last = run2.events()[-1]
    assert (last.service, last.status, last.error_name) == ("Read", "bad", "BadDecodingError")
    run2.s(error(0x80AD0000, None))
    assert run2.events()[-1].kind == "error"


def test_reverse_hello_makes_the_tcp_client_the_server() -> None:
    run = Run()
    run.c(reverse_hello("urn:plc", URL))  # the server connected out (reverse connect)
    run.s(hello(URL)).c(acknowledge())
    events = run.events()
    assert events[0].kind == "reverse_hello" and events[0].hello is not None
    assert events[0].hello.server_uri == "urn:plc"
    # the OPC UA client is the TCP server: it is the events' source
    assert events[1].kind == "hello" and events[1].src_ip == "10.0.0.2"


def test_secured_channel_sign_only_is_read_encrypted_is_not() -> None:
    signed = Run()
    signed.c(hello(URL)).s(acknowledge())
    signed.c(opn(0, 1, 1, bytes(64), policy=B256_URI, cert=b"C"))
    signed.s(opn(9, 1, 1, bytes(64), policy=B256_URI, cert=b"S"))
    signed.c(msg(9, 1, 2, 2, read_req(1) + bytes(32)))  # body + 32-byte HMAC-SHA256
    signed.s(msg(9, 1, 2, 2, read_resp(1) + bytes(32)))
    e = signed.events()[-1]
    assert (e.service, e.security_mode, e.encrypted, e.security_policy) == (
        "Read", "Sign", False, "Basic256Sha256")
    opn_event = signed.events()[1]
    assert opn_event.encrypted and opn_event.channel is not None
    assert opn_event.channel.channel_id == 9
    enc = Run()
    enc.c(opn(0, 1, 1, bytes(64), policy=B256_URI)).s(opn(9, 1, 1, bytes(64), policy=B256_URI))
    enc.c(msg(9, 1, 0xDEAD, 0xBEEF, b"\x99" * 80)).s(msg(9, 1, 1, 1, b"\x77" * 80))
    ev = enc.events()[-2:]
    assert [(e.status, e.request_id, e.security_mode) for e in ev] == [
        ("encrypted", None, "SignAndEncrypt")] * 2
    assert enc.codes() == []


def test_mid_stream_start_finds_roles() -> None:
    run = Run()
    run.s(msg(5, 1, 80, 9, read_resp(3)))  # a response first: no pairing possible
    run.c(msg(5, 1, 40, 10, read_req(4))).s(msg(5, 1, 81, 10, read_resp(4)))
    events = run.events()
    assert events[0].request_missing and events[1].request_id == 10
    assert "opcua.unmatched_response" not in run.codes()  # start of the flow not seen


def test_close_secure_channel_and_gap() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, read_req(1)[:10], b"C"))
    run.session.on_gap(True, 100)
    run.c(msg(5, 1, 9, 3, service(452, request_header(3)), mtype=b"CLO"))
    e = run.events()[-1]
    assert (e.kind, e.service, e.function_class) == (
        "close_secure_channel", "CloseSecureChannel", "security")
    run.session.close()
    assert run.codes() == []  # no bad_sequence after a gap, the partial message was dropped


def test_garbage_frames_become_anomalies() -> None:
    run = Run()
    run.c(b"")
    run.c(b"MSGF\x08\x00\x00\x00")
    run.c(bytes(40))
    assert all(isinstance(e, AnomalyEvent) for e in run.flow.events)
    assert len(run.flow.events) == 3


def test_second_channel_restarts_sequences() -> None:
    run = Run().open()
    run.c(msg(5, 1, 2, 2, read_req(1))).s(msg(5, 1, 2, 2, read_resp(1)))
    # a new channel on the same connection: both sides start new sequence numbers
    run.c(opn(0, 500, 3, open_request())).s(opn(6, 900, 3, open_response(1, 6, 1)))
    run.c(msg(6, 1, 501, 4, read_req(2))).s(msg(6, 1, 901, 4, read_resp(2)))
    assert run.codes() == []
    assert [e.secure_channel_id for e in run.events()[-2:]] == [6, 6]


def test_signed_multi_chunk_message_drops_each_signature() -> None:
    run = Run()
    run.c(opn(0, 1, 1, bytes(64), policy=B256_URI)).s(opn(9, 1, 1, bytes(64), policy=B256_URI))
    body = read_req(1)
    sig = b"\xee" * 32  # HMAC-SHA256 after every chunk body (Part 6, 6.7.2.2)
    run.c(msg(9, 1, 2, 2, body[:15] + sig, b"C")).c(msg(9, 1, 3, 2, body[15:] + sig))
    run.s(msg(9, 1, 2, 2, read_resp(1) + sig))
    e = run.events()[-1]
    assert (e.service, e.request_chunks, e.nodes, e.security_mode) == (
        "Read", 2, ("i=2258",), "Sign")
    assert run.codes() == []


def _read_of(nodes: list[tuple[int, bytes]]) -> tuple[bytes, bytes]:
    """A Read of ns=0 numeric nodes and its response: DataValues (mask 0x01) holding the
    given encoded Variants."""
    req = service(631, request_header(1), f64(0) + u32(0) + array([
        node_numeric(n) + u32(13) + string(None) + b"\x00\x00" + string(None)
        for n, _ in nodes]))
    resp = service(634, response_header(1), array([b"\x01" + v for _, v in nodes]) + array([]))
    return req, resp


def test_build_info_from_its_variables_and_structure() -> None:
    fields = [(2261, "ACME PLC"), (2262, "urn:acme:plc"), (2263, "ACME"), (2264, "3.2"),
              (2265, "99")]
    req, resp = _read_of([(n, b"\x0c" + string(t)) for n, t in fields])
    run = Run().open()
    run.c(msg(5, 1, 2, 2, req)).s(msg(5, 1, 2, 2, resp))
    info = run.events()[-1].build_info
    assert info is not None
    assert (info.product_name, info.product_uri, info.manufacturer, info.software_version,
            info.build_number) == ("ACME PLC", "urn:acme:plc", "ACME", "3.2", "99")
    build = (string("urn:p") + string("M") + string("P") + string("1.0") + string("7")
             + b"\x00" * 8)
    ext = b"\x16" + node_numeric(340) + b"\x01" + u32(len(build)) + build  # BuildInfo body
    req2, resp2 = _read_of([(2260, ext)])
    run.c(msg(5, 1, 3, 3, req2)).s(msg(5, 1, 3, 3, resp2))
    info2 = run.events()[-1].build_info
    assert info2 is not None
    assert (info2.product_uri, info2.manufacturer, info2.product_name, info2.build_date) == (
        "urn:p", "M", "P", None)
