"""HTTP/1.x limits, ports and method names.

Methods: RFC 9110 section 9 plus the registered WebDAV/versioning ones (IANA "Hypertext Transfer
Protocol (HTTP) Method Registry"), used by the probe to recognise a request on any port.
"""

from __future__ import annotations

__all__ = [
    "BROKEN_OUT",
    "HTTP_PORTS",
    "MAX_CHUNK_LINE",
    "MAX_HEADERS",
    "MAX_HEADER_BLOCK",
    "MAX_HEADER_VALUE",
    "MAX_REQUEST_HEADERS",
    "MAX_VALUE",
    "METHODS",
]

HTTP_PORTS = frozenset({80, 8000, 8008, 8080, 8888})

MAX_HEADER_BLOCK = 64 * 1024
"""Start line plus header fields of one message; beyond it ``http.header_too_long`` and the
direction is not read further (a smaller ``Settings.max_stream_buffer`` wins)."""
MAX_HEADERS = 256
"""Header fields read per message; the rest are ignored and reported."""
MAX_CHUNK_LINE = 1024
"""A chunk-size line (with extensions) longer than this is ``http.invalid_chunk``."""
MAX_VALUE = 8192
"""Characters kept of any one string value in an event (a URI, a User-Agent)."""
MAX_REQUEST_HEADERS = 32
"""Request header fields kept in ``HttpEvent.request_headers`` (those not broken out)."""
MAX_HEADER_VALUE = 1024
"""Characters kept of one value in ``HttpEvent.request_headers``."""
BROKEN_OUT = frozenset({
    "host", "user-agent", "referer", "content-type", "content-length", "x-forwarded-for",
    "authorization", "proxy-authorization",
})
"""Request fields that have their own event field (the credentials ones are reduced to scheme
and user name there), so ``request_headers`` leaves them out."""

METHODS = frozenset({
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH",
    b"PROPFIND", b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK", b"SEARCH",
    b"REPORT", b"CHECKOUT", b"CHECKIN", b"UNCHECKOUT", b"MERGE", b"MKACTIVITY", b"MKWORKSPACE",
    b"VERSION-CONTROL", b"BASELINE-CONTROL", b"LABEL", b"UPDATE", b"ACL", b"BIND", b"UNBIND",
    b"REBIND", b"MKCALENDAR", b"ORDERPATCH", b"MKREDIRECTREF", b"UPDATEREDIRECTREF", b"PRI",
    b"QUERY",
})
