"""HTTP/1.x head parser unit tests: request and status lines, header fields, chunk sizes,
credentials, head boundaries and the probe (RFC 9112, RFC 9110, RFC 7617)."""

from __future__ import annotations

import base64

import pytest

from otshield.errors import Malformed
from otshield.protocols.http.parser import (
    chunk_size,
    credentials,
    find_head_end,
    parse_request_head,
    parse_response_head,
    probe,
)


def test_request_head_vector() -> None:
    head = parse_request_head(
        b"GET /cgi-bin/status.cgi?unit=3 HTTP/1.1\r\n"  # method SP request-target SP version
        b"Host: plc-07.plant.local:8080\r\n"            # Host with port
        b"User-Agent: Mozilla/5.0 (HMI)\r\n"
        b"Accept:*/*\r\n"                               # no space after the colon
        b"X-Empty:\r\n"                                 # empty value
        b"Content-Length: 0 \r\n"                       # trailing whitespace is not the value
        b"\r\n")
    assert (head.method, head.uri, head.version) == ("GET", "/cgi-bin/status.cgi?unit=3", "1.1")
    assert head.headers == {"host": "plc-07.plant.local:8080",
                            "user-agent": "Mozilla/5.0 (HMI)", "accept": "*/*",
                            "x-empty": "", "content-length": "0"}
    assert head.content_lengths == ["0"]
    assert head.issues == []


def test_bare_lf_line_ends_and_case() -> None:
    head = parse_request_head(b"POST /x HTTP/1.0\nCONTENT-TYPE: text/plain\n\n")
    assert head.version == "1.0" and head.headers["content-type"] == "text/plain"


def test_http09_simple_request() -> None:
    head = parse_request_head(b"GET /index.html\r\n")
    assert (head.method, head.uri, head.version, head.headers) == ("GET", "/index.html", "0.9",
                                                                   {})


@pytest.mark.parametrize("line", [b"GET / HTTP/1.1 extra\r\n",
                                  b"GET / HTTP/x.y\r\n", b"G(T / HTTP/1.1\r\n",
                                  b"\x16\x03\x01\x02\x00\x01\r\n", b"POST /a\r\n",
                                  b"GET  HTTP/1.1\r\n", b"GET /a\x00b HTTP/1.1\r\n"])
def test_invalid_request_lines(line: bytes) -> None:
    with pytest.raises(Malformed) as bad:
        parse_request_head(line)
    assert bad.value.code == "http.invalid_request_line"


def test_header_issues() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\n"
                              b"Host: a\r\n"
                              b"X-Long: one\r\n"
                              b"  two\r\n"                    # obs-fold continuation
                              b"Transfer-Encoding : chunked\r\n"  # space before the colon
                              b"no colon here\r\n"
                              b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n")
    assert head.headers["x-long"] == "one two"
    assert "transfer-encoding" not in head.headers
    assert head.content_lengths == ["5", "6"]
    assert [c for c, _ in head.issues] == ["http.obsolete_line_folding", "http.invalid_header"]


def test_too_many_headers() -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(300))
    head = parse_request_head(b"GET / HTTP/1.1\r\n" + fields + b"\r\n")
    assert [c for c, _ in head.issues] == ["http.too_many_headers"]
    assert len(head.headers) == 256


def test_transfer_encoding_fields_are_joined() -> None:
    head = parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n")
    assert head.headers["transfer-encoding"] == "gzip, chunked"


def test_status_lines() -> None:
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\nServer: Boa/0.94\r\n\r\n")
    assert (ok.version, ok.status, ok.reason, ok.headers) == ("1.1", 200, "OK",
                                                              {"server": "Boa/0.94"})
    bare = parse_response_head(b"HTTP/1.0 404\r\n\r\n")
    assert (bare.status, bare.reason) == (404, "")
    spaced = parse_response_head(b"HTTP/1.1 503 Service Temporarily Unavailable\r\n\r\n")
    assert spaced.reason == "Service Temporarily Unavailable"
    for bad in (b"HTTP/1.1 2000 OK\r\n", b"ICY 200 OK\r\n", b"HTTP/1.1\r\n",
                b"RTSP/1.0 200 OK\r\n"):
        with pytest.raises(Malformed) as err:
            parse_response_head(bad)
        assert err.value.code == "http.invalid_status_line"


def test_chunk_sizes() -> None:
    assert chunk_size(b"1a") == 26
    assert chunk_size(b"0") == 0
    assert chunk_size(b"FF;name=value") == 255  # chunk extension ignored
    assert chunk_size(b"10 ") == 16
    for bad in (b"", b"xyz", b"-1", b"1" * 17, b";ext"):
        with pytest.raises(Malformed) as err:
            chunk_size(bad)
        assert err.value.code == "http.invalid_chunk"


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_credentials_never_keep_a_password() -> None:
    c = credentials(_basic(b"operator:s3cret!"))
    assert (c.scheme, c.username, c.password_present) == ("Basic", "operator", True)
    assert "s3cret" not in repr(c)
    empty = credentials(_basic(b"admin:"))
    assert (empty.username, empty.password_present) == ("admin", False)
    colon = credentials(_basic(b"user:pa:ss"))
    assert (colon.username, colon.password_present) == ("user", True)
    digest = credentials('Digest username="eng1", realm="plc", nonce="abc", response="00"')
    assert (digest.scheme, digest.username) == ("Digest", "eng1")
    bearer = credentials("Bearer eyJhbGciOi.secret.token")
    assert (bearer.scheme, bearer.username) == ("Bearer", None)
    assert "secret" not in repr(bearer)
    ntlm = credentials("NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==")
    assert ntlm.scheme == "NTLM"


@pytest.mark.parametrize("value", ["Basic !!!notbase64", "Basic " + base64.b64encode(
    b"nocolon").decode()])
def test_invalid_basic_credentials(value: str) -> None:
    with pytest.raises(Malformed) as bad:
        credentials(value)
    assert bad.value.code == "http.invalid_authorization"


def test_find_head_end() -> None:
    assert find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody", 0) == 24
    assert find_head_end(b"GET / HTTP/1.1\nA: b\n\nbody", 0) == 21
    assert find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0) == -1
    assert find_head_end(bytearray(b"x\n\r\n"), 0) == 4


def test_probe() -> None:
    assert probe(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", True)
    assert probe(b"POST /upload HTTP/1.0\r\n", True)
    assert probe(b"GET /index.html\r\n", True)        # HTTP/0.9
    assert probe(b"PROPFIND /dav", True)               # the line is not complete yet
    assert not probe(b"GET", True)
    assert not probe(b"OPTIONS rtsp://cam/ RTSP/1.0\r\n", True)
    assert not probe(b"HELO mail.example\r\n", True)
    assert not probe(b"GET / HTTP/1.1\r\n", False)
    assert probe(b"HTTP/1.1 200 OK\r\n", False)
    assert not probe(b"HTTP/2 200\r\n", False)
    assert not probe(b"\x16\x03\x01\x00\xa5\x01", True)
