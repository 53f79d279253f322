"""HTTP/1.x per-connection session: pairs pipelined requests with responses in order (RFC 9112
section 9.3), decides how each body is delimited (section 6.3) and emits one
:class:`HttpEvent` per transaction.

A request whose head cannot be parsed stops the reading of its direction (one anomaly, not one
per segment); a CONNECT answered 2xx and a 101 Switching Protocols turn the connection into a
tunnel that is no longer read. Pending requests are bounded by ``max_pending_requests``.
"""

from __future__ import annotations

from collections import deque

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.http.constants import (
    BROKEN_OUT,
    MAX_HEADER_BLOCK,
    MAX_HEADER_VALUE,
    MAX_REQUEST_HEADERS,
    MAX_VALUE,
)
from otshield.protocols.http.events import HttpEvent, HttpHeader
from otshield.protocols.http.parser import (
    Credentials,
    Head,
    credentials,
    parse_request_head,
    parse_response_head,
)
from otshield.protocols.http.stream import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_DEAD,
    BODY_LENGTH,
    BODY_NONE,
    BODY_TUNNEL,
    BodyDigests,
    HttpStream,
)

__all__ = ["HttpSession"]


class _Txn:
    """One request and (once seen) its response."""

    __slots__ = ("complete", "creds", "fields", "req_body", "req_hash", "request", "resp_body",
                 "resp_hash", "response")

    def __init__(self, fields: CommonFields, request: Head | None,
                 creds: Credentials | None = None) -> None:
        self.fields = fields
        self.request = request
        self.creds = creds
        self.req_body: int | None = None
        self.req_hash: BodyDigests | None = None
        self.response: Head | None = None
        self.resp_body: int | None = None
        self.resp_hash: BodyDigests | None = None
        self.complete = True


def _cut(value: str | None) -> str | None:
    return value[:MAX_VALUE] if value is not None and len(value) > MAX_VALUE else value


def _content_length(values: list[str]) -> int | None:
    """The one length all Content-Length fields (and comma lists) agree on, else None
    (RFC 9110 section 8.6: differing values make the message invalid)."""
    seen: set[str] = set()
    for value in values:
        for part in value.split(","):
            seen.add(part.strip())
    if len(seen) != 1:
        return None
    only = seen.pop()
    return int(only) if only.isdigit() and len(only) <= 18 else None


def _cookie_names(value: str) -> str:
    """A Cookie value with every cookie's value replaced by ``*``."""
    return "; ".join(f"{part.partition('=')[0].strip()}=*" for part in value.split(";")
                     if part.strip())


def _request_headers(head: Head) -> tuple[tuple[HttpHeader, ...] | None, bool | None]:
    """The request fields not broken out, bounded; and whether some were cut or left out."""
    fields = head.fields
    if not fields:
        return None, None
    out: list[HttpHeader] = []
    truncated = any(code == "http.too_many_headers" for code, _ in head.issues)
    for name, value in fields:
        if name in BROKEN_OUT:
            continue
        if len(out) >= MAX_REQUEST_HEADERS:
            truncated = True
            break
        if name == "cookie":
            value = _cookie_names(value)
        if len(value) > MAX_HEADER_VALUE:
            value = value[:MAX_HEADER_VALUE]
            truncated = True
        out.append(HttpHeader(name, value))
    return (tuple(out) or None), (truncated or None)


def _chunked(te: str) -> bool:
    return te.rsplit(",", 1)[-1].strip().lower() == "chunked"


def _host(value: str | None) -> tuple[str | None, int | None]:
    """Host header -> (host without port, port)."""
    if not value:
        return value, None
    if value.startswith("["):
        close = value.find("]")
        if close > 0:
            port = value[close + 2:] if value[close + 1:close + 2] == ":" else ""
            return value[1:close], int(port) if port.isdigit() and len(port) <= 5 else None
        return value, None
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit() and len(port) <= 5 and ":" not in name:
        return name, int(port)
    return value, None


class HttpSession:
    """State of one HTTP/1.x connection."""

    __slots__ = ("client", "flagged", "flow", "interim", "pending", "req_txn", "resp_txn",
                 "server", "server_gap")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        limit = min(MAX_HEADER_BLOCK, flow.settings.max_stream_buffer)
        self.client = HttpStream(self, True, limit)
        self.server = HttpStream(self, False, limit)
        self.pending: deque[_Txn] = deque()
        self.req_txn: _Txn | None = None  # request whose body is being read
        self.resp_txn: _Txn | None = None  # transaction whose response body is being read
        self.interim = False  # the response being read is a 1xx interim one
        self.server_gap = False
        self.flagged: set[str] = set()

    # -- Session -------------------------------------------------------------------------------
    def on_data(self, data: bytes, from_client: bool) -> None:
        (self.client if from_client else self.server).feed(data)

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """HTTP has no framing of its own: whatever arrives is stream data."""
        self.on_data(frame, from_client)

    def on_gap(self, from_client: bool, size: int) -> None:
        if from_client:
            self.client.gap()
            if self.req_txn is not None:
                self.req_txn.req_body = None  # unknown now
                self.req_txn = None
            return
        if self.server.open_body:
            self.server.gap()  # forgets the digests; the body still ends with the connection
            return
        self.server.gap()
        self.server_gap = True
        if self.resp_txn is not None:
            txn, self.resp_txn = self.resp_txn, None
            txn.complete = False
            self._emit(txn, self.flow.fields(True))
        # Responses may have been lost in the gap: pairing the next one with the oldest
        # request would be a guess. Report the waiting requests as unanswered instead.
        while self.pending:
            txn = self.pending.popleft()
            self._emit(txn, txn.fields)

    def close(self) -> None:
        self.client.finish()
        self.server.finish()
        flow = self.flow
        if self.resp_txn is not None:
            txn, self.resp_txn = self.resp_txn, None
            txn.complete = False
            self._emit(txn, flow.fields(True))
        while self.pending:
            txn = self.pending.popleft()
            req = txn.request
            if req is not None and req.method != "PRI":
                flow.anomaly("http.unanswered_request", f"{req.method} {req.uri[:100]}", True)
            self._emit(txn, txn.fields)

    # -- StreamOwner -----------------------------------------------------------------------
    def on_stream_anomaly(self, code: str, detail: str, is_request: bool) -> None:
        self.flow.anomaly(code, detail, is_request)

    def on_head(self, block: bytes, is_request: bool) -> tuple[int, int]:
        return self._request(block) if is_request else self._response(block)

    def on_body_done(self, is_request: bool, size: int, digests: BodyDigests | None) -> None:
        if is_request:
            if self.req_txn is not None:
                self.req_txn.req_body = size
                self.req_txn.req_hash = digests
                self.req_txn = None
            return
        if self.interim:
            self.interim = False
            return
        txn = self.resp_txn
        if txn is not None:
            self.resp_txn = None
            txn.resp_body = size
            txn.resp_hash = digests
            if txn.response is None and size:
                txn.response = Head("0.9")  # an HTTP/0.9 answer: a bare body
            self._emit(txn, self.flow.fields(True))

    # -- heads ---------------------------------------------------------------------------------
    def _request(self, block: bytes) -> tuple[int, int]:
        flow = self.flow
        try:
            head = parse_request_head(block)
        except Malformed as bad:
            flow.anomaly(bad.code, bad.detail, True)
            return BODY_DEAD, 0
        for code, detail in head.issues:
            flow.anomaly(code, detail, True)
        creds = None
        auth = head.headers.get("authorization") or head.headers.get("proxy-authorization")
        if auth:
            try:
                creds = credentials(auth)
            except Malformed as bad:
                flow.anomaly(bad.code, bad.detail, True)
        txn = _Txn(flow.fields(True), head, creds)
        pending = self.pending
        if len(pending) >= flow.settings.max_pending_requests:
            old = pending.popleft()
            flow.anomaly("http.too_many_pending",
                         f"{len(pending) + 1} requests without a response; the oldest is "
                         "reported unanswered", True)
            self._emit(old, old.fields)
        if head.version == "0.9" and self.server.idle and self.resp_txn is None:
            # The answer is a bare body ending with the connection (RFC 1945 section 4.1).
            self.server.raw_body()
            self.resp_txn = txn
            return BODY_NONE, 0
        pending.append(txn)
        if head.method == "PRI" and head.uri == "*" and head.version == "2.0":
            # HTTP/2 connection preface (RFC 9113 section 3.4): not HTTP/1 any more.
            self.server.stop(True)
            return BODY_TUNNEL, 0
        self.req_txn = txn
        return self._body(head, True)

    def _body(self, head: Head, is_request: bool) -> tuple[int, int]:
        """Body delimitation from the fields (RFC 9112 section 6.3, rules 3-7)."""
        flow = self.flow
        te = head.headers.get("transfer-encoding")
        if te is not None:
            if head.content_lengths:
                flow.anomaly("http.content_length_with_chunked",
                             "both Transfer-Encoding and Content-Length (request smuggling "
                             "risk, RFC 9112 section 6.1)", is_request)
            if _chunked(te):
                return BODY_CHUNKED, 0
            if is_request:
                flow.anomaly("http.invalid_transfer_encoding",
                             f"request Transfer-Encoding {te[:60]!r} does not end in chunked",
                             True)
                return BODY_DEAD, 0
            return BODY_CLOSE, 0
        if head.content_lengths:
            length = _content_length(head.content_lengths)
            if length is None:
                flow.anomaly("http.invalid_content_length",
                             f"Content-Length {', '.join(head.content_lengths)[:60]!r}",
                             is_request)
                return BODY_DEAD, 0
            return BODY_LENGTH, length
        return (BODY_NONE if is_request else BODY_CLOSE), 0

    def _response(self, block: bytes) -> tuple[int, int]:
        flow = self.flow
        try:
            head = parse_response_head(block)
        except Malformed as bad:
            flow.anomaly(bad.code, bad.detail, False)
            return BODY_DEAD, 0
        for code, detail in head.issues:
            flow.anomaly(code, detail, False)
        status = head.status
        if 100 <= status < 200 and status != 101:
            self.interim = True  # 100 Continue, 103 Early Hints: the final response follows
            return BODY_NONE, 0
        if self.pending:
            txn = self.pending.popleft()
        else:
            txn = _Txn(flow.fields(True), None)
            if not self.server_gap and "unsolicited" not in self.flagged:
                self.flagged.add("unsolicited")
                flow.anomaly("http.unsolicited_response",
                             f"response {status} without a request", False)
        if txn is self.req_txn:
            # Answered while the request body was still arriving (an early 413, 401...).
            self.req_txn = None
        txn.response = head
        method = txn.request.method if txn.request is not None else ""
        if status == 101 or (method == "CONNECT" and 200 <= status < 300):
            self.client.stop(True)
            txn.resp_body = 0
            self._emit(txn, flow.fields(True))
            return BODY_TUNNEL, 0
        self.resp_txn = txn
        if method == "HEAD" or status in (204, 304):
            return BODY_NONE, 0
        return self._body(head, False)

    # -- the event -----------------------------------------------------------------------------
    def _emit(self, txn: _Txn, fields: CommonFields) -> None:
        req, resp, creds = txn.request, txn.response, txn.creds
        host, port = _host(req.headers.get("host")) if req is not None else (None, None)
        req_len = _content_length(req.content_lengths) if req and req.content_lengths else None
        resp_len = (_content_length(resp.content_lengths)
                    if resp is not None and resp.content_lengths else None)
        headers, truncated = _request_headers(req) if req is not None else (None, None)
        req_hash, resp_hash = txn.req_hash, txn.resp_hash
        self.flow.emit(HttpEvent(
            **fields,
            method=req.method if req is not None else None,
            uri=_cut(req.uri) if req is not None else None,
            host=_cut(host),
            host_port=port,
            version=req.version if req is not None else resp.version if resp else None,
            user_agent=_cut(req.headers.get("user-agent")) if req is not None else None,
            referrer=_cut(req.headers.get("referer")) if req is not None else None,
            request_content_type=_cut(req.headers.get("content-type")) if req else None,
            request_content_length=req_len,
            request_body_bytes=txn.req_body,
            request_body_md5=req_hash[0] if req_hash else None,
            request_body_sha1=req_hash[1] if req_hash else None,
            request_body_sha256=req_hash[2] if req_hash else None,
            request_headers=headers,
            request_headers_truncated=truncated,
            x_forwarded_for=_cut(req.headers.get("x-forwarded-for")) if req else None,
            auth_scheme=creds.scheme if creds is not None else None,
            username=_cut(creds.username) if creds is not None else None,
            password_present=creds.password_present if creds and creds.scheme == "Basic"
            else None,
            upgrade=_cut(resp.headers.get("upgrade")) if resp and resp.status == 101 else None,
            status=resp.status or None if resp is not None else None,
            reason=_cut(resp.reason) if resp is not None and resp.status else None,
            response_version=resp.version if resp is not None else None,
            response_content_type=_cut(resp.headers.get("content-type")) if resp else None,
            response_content_length=resp_len,
            response_body_bytes=txn.resp_body,
            response_body_md5=resp_hash[0] if resp_hash else None,
            response_body_sha1=resp_hash[1] if resp_hash else None,
            response_body_sha256=resp_hash[2] if resp_hash else None,
            server=_cut(resp.headers.get("server")) if resp is not None else None,
            location=_cut(resp.headers.get("location")) if resp is not None else None,
            answered=resp is not None,
            request_seen=req is not None,
            response_complete=txn.complete,
        ))
