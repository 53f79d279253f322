"""HTTP golden tests: a conversation written with pcapwriter, decoded end to end, compared with
the events expected from RFC 9112 (written by hand); the same conversation re-split into 1-byte
and random segments gives the same events; HTTP on an unusual port is found by the probe."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from .it_a_build import comparable, events_of, one_byte, random_sizes, write_tcp

AUTH = base64.b64encode(b"operator:Plant#2024").decode()


def conversation() -> list[tuple[bool, bytes]]:
    return [
        # 1: GET with Basic credentials (frame 4), answered with a length-delimited body
        (True, (f"GET /api/v1/tags?area=boiler HTTP/1.1\r\nHost: hmi01.plant:8080\r\n"
                f"User-Agent: Trend/2.1\r\nAuthorization: Basic {AUTH}\r\n"
                f"Cookie: sid=4f9a2c; theme=dark\r\nX-Requested-With: XMLHttpRequest\r\n"
                f"\r\n").encode()),
        (False, b"HTTP/1.1 200 OK\r\nServer: Embedthis-http\r\nContent-Type: application/json"
                b"\r\nContent-Length: 17\r\n\r\n{\"tags\": [1, 2]}\n"),
        # 2: a chunked upload and a pipelined GET in one segment
        (True, b"POST /upload HTTP/1.1\r\nHost: hmi01.plant:8080\r\n"
               b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"8\r\nPROGRAM1\r\n3\r\n\x00\x01\x02\r\n0\r\n\r\n"
               b"GET /logo.png HTTP/1.1\r\nHost: hmi01.plant:8080\r\nReferer: /index\r\n\r\n"),
        # 3: both answers in one segment: a chunked 201 with a trailer, then a 304
        (False, b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nLocation: /upload/7\r\n"
                b"\r\n2\r\nok\r\n0\r\nX-Trailer: yes\r\n\r\n"
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 4711\r\n\r\n"),
        # 4: a request left without an answer when the connection closes
        (True, b"DELETE /api/v1/tags/9 HTTP/1.1\r\nHost: hmi01.plant:8080\r\n\r\n"),
    ]


def _digests(prefix: str, body: bytes) -> dict[str, str]:
    """The body digests computed here, independently of the decoder."""
    return {f"{prefix}.body.hash.md5": hashlib.md5(body).hexdigest(),
            f"{prefix}.body.hash.sha1": hashlib.sha1(body).hexdigest(),
            f"{prefix}.body.hash.sha256": hashlib.sha256(body).hexdigest()}


def _strip(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    drop = {"@timestamp", "flow_id", "network.community_id", "source.ip", "source.port",
            "destination.ip", "destination.port", "network.transport"}
    return [{k: v for k, v in e.items() if k not in drop} for e in events]


def test_http_conversation(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "http.pcap", ("10.0.0.20", 8080), conversation())
    host = {"url.domain": "hmi01.plant", "url.port": 8080, "http.version": "1.1"}
    expected = [
        {"event.dataset": "http", "http.request.method": "GET",
         "url.original": "/api/v1/tags?area=boiler", **host,
         "user_agent.original": "Trend/2.1", "http.request.body.bytes": 0,
         "http.request.auth_scheme": "Basic", "user.name": "operator",
         "http.request.password_present": True,
         # Authorization is reduced to the fields above; cookie values are never kept
         "http.request.headers": ({"name": "cookie", "value": "sid=*; theme=*"},
                                  {"name": "x-requested-with", "value": "XMLHttpRequest"}),
         "http.response.status_code": 200,
         "http.response.status_message": "OK", "http.response.version": "1.1",
         "http.response.content_type": "application/json",
         "http.response.content_length": 17, "http.response.body.bytes": 17,
         "http.response.server": "Embedthis-http",
         **_digests("http.response", b'{"tags": [1, 2]}\n'), "frame": 6},
        {"event.dataset": "http", "http.request.method": "POST", "url.original": "/upload",
         **host, "http.request.content_type": "application/octet-stream",
         "http.request.body.bytes": 11,
         "http.request.headers": ({"name": "transfer-encoding", "value": "chunked"},),
         # de-chunked: the digests are of the 11 data bytes, the chunk lines are not in them
         **_digests("http.request", b"PROGRAM1\x00\x01\x02"),
         "http.response.status_code": 201,
         "http.response.status_message": "Created", "http.response.version": "1.1",
         "http.response.body.bytes": 2, **_digests("http.response", b"ok"),
         "http.response.location": "/upload/7", "frame": 10},
        {"event.dataset": "http", "http.request.method": "GET", "url.original": "/logo.png",
         **host, "http.request.referrer": "/index", "http.request.body.bytes": 0,
         "http.response.status_code": 304, "http.response.status_message": "Not Modified",
         "http.response.version": "1.1", "http.response.content_length": 4711,
         "http.response.body.bytes": 0, "frame": 10},
        {"event.dataset": "http", "http.request.method": "DELETE",
         "url.original": "/api/v1/tags/9", **host, "http.request.body.bytes": 0,
         "http.answered": False, "frame": 12},
    ]
    assert _strip(events_of(path, "http")) == expected
    assert [e["event.code"] for e in events_of(path, "anomaly")] == ["http.unanswered_request"]


@pytest.mark.parametrize("mode", ["one_byte", "random"])
def test_http_resegmented(tmp_path: Path, mode: str) -> None:
    whole = write_tcp(tmp_path / "whole.pcap", ("10.0.0.20", 8080), conversation())
    split = one_byte if mode == "one_byte" else random_sizes(3)
    again = write_tcp(tmp_path / "split.pcap", ("10.0.0.20", 8080), conversation(), split=split)
    assert comparable(again, ("http",)) == comparable(whole, ("http",))
    assert len(comparable(whole, ("http",))) == 5  # four transactions and one anomaly


def test_http_found_on_another_port(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "odd.pcap", ("10.0.0.20", 10080), conversation()[:2])
    (ev,) = events_of(path, "http")
    assert (ev["http.request.method"], ev["http.response.status_code"]) == ("GET", 200)
    (flow,) = events_of(path, "flow")
    assert flow["protocol"] == "http"
