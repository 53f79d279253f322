"""The HTTP event: one per request/response transaction (Zeek http.log style) in ECS names.

Emitted when the response is complete (its body ended), or when the connection ends for a
request never answered (``answered=False``) or a response whose request was not seen
(``request_seen=False``).

Body digests (``http.request.body.hash.*``, ``http.response.body.hash.*``, named after ECS
``file.hash.*``) are of the bytes transferred: after removing the chunked coding, before any
content coding (gzip) is undone, so they equal the digest of the file a client saves only when
the server sent it without compression. They are present only when the whole body was seen."""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["HttpEvent", "HttpHeader"]


class HttpHeader(msgspec.Struct, frozen=True, gc=False):
    """One request header field: the name in lower case, the value as sent (cut at 1024
    characters)."""

    name: str
    value: str


class HttpEvent(
    Event,
    tag="http",
    frozen=True,
    rename=ecs(
        method="http.request.method",
        uri="url.original",
        host="url.domain",
        host_port="url.port",
        version="http.version",
        user_agent="user_agent.original",
        referrer="http.request.referrer",
        request_content_type="http.request.content_type",
        request_content_length="http.request.content_length",
        request_body_bytes="http.request.body.bytes",
        request_headers="http.request.headers",
        request_headers_truncated="http.request.headers_truncated",
        request_body_md5="http.request.body.hash.md5",
        request_body_sha1="http.request.body.hash.sha1",
        request_body_sha256="http.request.body.hash.sha256",
        x_forwarded_for="http.request.x_forwarded_for",
        auth_scheme="http.request.auth_scheme",
        username="user.name",
        password_present="http.request.password_present",
        upgrade="http.request.upgrade",
        status="http.response.status_code",
        reason="http.response.status_message",
        response_version="http.response.version",
        response_content_type="http.response.content_type",
        response_content_length="http.response.content_length",
        response_body_bytes="http.response.body.bytes",
        response_body_md5="http.response.body.hash.md5",
        response_body_sha1="http.response.body.hash.sha1",
        response_body_sha256="http.response.body.hash.sha256",
        server="http.response.server",
        location="http.response.location",
        answered="http.answered",
        request_seen="http.request_seen",
        response_complete="http.response_complete",
    ),
):
    """An HTTP/1.x transaction; the client is the source. Strings are cut at 8192 characters."""

    method: str | None = None
    uri: str | None = None
    host: str | None = None
    """Host header without its port."""
    host_port: int | None = None
    version: str | None = None
    """Request version ("1.1"; "0.9" for a simple request); the response's if no request."""
    user_agent: str | None = None
    referrer: str | None = None
    request_content_type: str | None = None
    request_content_length: int | None = None
    """As declared; ``request_body_bytes`` is what was sent."""
    request_body_bytes: int | None = None
    request_body_md5: str | None = None
    """Hex digests of the request body (when not empty and seen whole)."""
    request_body_sha1: str | None = None
    request_body_sha256: str | None = None
    request_headers: tuple[HttpHeader, ...] | None = None
    """Request header fields in wire order, except those broken out into their own fields
    (Host, User-Agent, Referer, Content-Type, Content-Length, X-Forwarded-For, Authorization,
    Proxy-Authorization). At most 32; Cookie values are replaced by ``*`` (session tokens are
    never recorded), cookie names are kept."""
    request_headers_truncated: bool | None = None
    """True when fields were left out (more than 32) or a value was cut at 1024 characters."""
    x_forwarded_for: str | None = None
    auth_scheme: str | None = None
    """Authorization (or Proxy-Authorization) scheme: Basic, Digest, Bearer, NTLM..."""
    username: str | None = None
    """User of Basic or Digest credentials. Passwords and tokens are never recorded."""
    password_present: bool | None = None
    upgrade: str | None = None
    """Protocol switched to by a 101 response (websocket, h2c)."""
    status: int | None = None
    reason: str | None = None
    response_version: str | None = None
    response_content_type: str | None = None
    response_content_length: int | None = None
    response_body_bytes: int | None = None
    response_body_md5: str | None = None
    """Hex digests of the response body (when not empty and seen whole)."""
    response_body_sha1: str | None = None
    response_body_sha256: str | None = None
    server: str | None = None
    location: str | None = None
    answered: bool = True
    request_seen: bool = True
    response_complete: bool = True
    """False when the connection ended (or lost bytes) before the response body did."""
