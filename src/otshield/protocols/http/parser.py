"""HTTP/1.x message heads: request line, status line, header fields, chunk sizes, credentials.

RFC 9112 (HTTP/1.1 messages) section 2.2 (leading empty lines), 3 (request line), 4 (status
line), 5 (field syntax, obs-fold 5.2), 6.3 (message body length), 7.1 (chunked coding); RFC 9110
section 5.6.2 (tokens), 11.4 (Authorization); RFC 7617 (Basic), RFC 7616 section 3.4 (Digest
username). HTTP/0.9 simple requests (RFC 1945 section 4.1) are recognised.

Pure functions: bytes in, records out, ``Malformed`` the only exception. Header heads keep every
field they can and list what was wrong in ``issues``.
"""

from __future__ import annotations

import base64
import binascii
import re

import msgspec

from otshield.errors import Malformed
from otshield.protocols.http.constants import MAX_HEADERS, METHODS

__all__ = [
    "Credentials",
    "Head",
    "chunk_size",
    "credentials",
    "find_head_end",
    "parse_request_head",
    "parse_response_head",
    "probe",
]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)\Z")
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_DIGEST_USER = re.compile(rb'username\*?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', re.I)
_PROBE_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) [^\x00-\x20\x7f]+(?: HTTP/\d\.\d)?\r?\n")


class Head(msgspec.Struct, gc=False):
    """A request or response head. ``headers`` maps lower-case names to the first value (lists
    joined for Transfer-Encoding); ``content_lengths`` keeps every Content-Length seen."""

    version: str
    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    content_lengths: list[str] = msgspec.field(default_factory=list)
    issues: list[tuple[str, str]] = msgspec.field(default_factory=list)
    fields: list[tuple[str, str]] | None = None
    """Request heads only: every field as (lower-case name, value) in wire order, duplicates
    included (``headers`` keeps only the first value of each name)."""


class Credentials(msgspec.Struct, frozen=True, gc=False):
    scheme: str
    username: str | None = None
    password_present: bool = False


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def find_head_end(buf: bytes | bytearray, start: int) -> int:
    """Offset just past the empty line ending a head (CRLF CRLF, or bare LFs as RFC 9112
    section 2.2 lets a recipient accept), or -1."""
    a = buf.find(b"\n\r\n", start)
    b = buf.find(b"\n\n", start)
    if a < 0:
        return b + 2 if b >= 0 else -1
    if b < 0 or a < b:
        return a + 3
    return b + 2


def _lines(block: bytes) -> list[bytes]:
    lines = block.split(b"\n")
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _fields(head: Head, lines: list[bytes]) -> None:
    headers = head.headers
    issues = head.issues
    ordered = head.fields
    last = ""
    count = 0
    for line in lines:
        if not line:
            continue
        if line[0] in b" \t":
            # obs-fold: a continuation line (RFC 9112 section 5.2); unfold it.
            if last:
                folded = _text(line.strip())
                headers[last] = f"{headers[last]} {folded}"
                if ordered:
                    key0, value0 = ordered[-1]
                    ordered[-1] = (key0, f"{value0} {folded}")
            if not any(code == "http.obsolete_line_folding" for code, _ in issues):
                issues.append(("http.obsolete_line_folding",
                               "header continuation line (obs-fold)"))
            continue
        count += 1
        if count > MAX_HEADERS:
            issues.append(("http.too_many_headers", f"more than {MAX_HEADERS} header fields"))
            return
        colon = line.find(b":")
        name = line[:colon] if colon > 0 else b""
        if not name or not _TOKEN.match(name):
            # No colon, an empty name, or whitespace before the colon (a request smuggling
            # vector: RFC 9112 section 5.1 requires a 400 for it).
            if not any(code == "http.invalid_header" for code, _ in issues):
                issues.append(("http.invalid_header",
                               f"malformed header line {line[:60]!r}"))
            last = ""
            continue
        key = name.decode("ascii").lower()
        value = _text(line[colon + 1:].strip(b" \t"))
        if key == "content-length":
            head.content_lengths.append(value)
        if ordered is not None:
            ordered.append((key, value))
        if key in headers:
            if key == "transfer-encoding":
                headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = value
        last = key


def parse_request_head(block: bytes) -> Head:
    """A request head (request line + fields, blank line included or not)."""
    lines = _lines(block)
    line = lines[0]
    parts = line.split(b" ")
    if len(parts) == 3 and _TOKEN.match(parts[0]) and parts[1] and not _CONTROL.search(parts[1]):
        version = _VERSION.match(parts[2])
        if version is None:
            raise Malformed("http.invalid_request_line", f"bad version in {line[:80]!r}")
        head = Head(f"{version[1].decode()}.{version[2].decode()}", method=parts[0].decode(),
                    uri=_text(parts[1]), fields=[])
        _fields(head, lines[1:])
        return head
    if len(parts) == 2 and parts[0] == b"GET" and parts[1] and not _CONTROL.search(parts[1]):
        return Head("0.9", method="GET", uri=_text(parts[1]))  # HTTP/0.9 simple request
    raise Malformed("http.invalid_request_line", f"{line[:80]!r}")


def parse_response_head(block: bytes) -> Head:
    """A response head (status line + fields)."""
    lines = _lines(block)
    line = lines[0]
    parts = line.split(b" ", 2)
    version = _VERSION.match(parts[0])
    if version is None or len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
        raise Malformed("http.invalid_status_line", f"{line[:80]!r}")
    head = Head(f"{version[1].decode()}.{version[2].decode()}", status=int(parts[1]),
                reason=_text(parts[2]) if len(parts) > 2 else "")
    _fields(head, lines[1:])
    return head


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ";" ignored), RFC 9112 section 7.1."""
    digits = line.split(b";", 1)[0].strip(b" \t\r")
    if not digits or len(digits) > 16 or digits.strip(b"0123456789abcdefABCDEF"):
        raise Malformed("http.invalid_chunk", f"chunk size line {line[:40]!r}")
    return int(digits, 16)


def credentials(value: str) -> Credentials:
    """Scheme and user name of an Authorization / Proxy-Authorization value. Passwords and
    tokens are never kept: Basic yields ``password_present``."""
    scheme, _, rest = value.strip().partition(" ")
    lower = scheme.lower()
    rest = rest.strip()
    if lower == "basic":
        try:
            raw = base64.b64decode(rest.encode("latin-1", "replace"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Malformed("http.invalid_authorization", "Basic credentials are not base64") \
                from exc
        user, sep, password = raw.partition(b":")
        if not sep:
            raise Malformed("http.invalid_authorization", "Basic credentials without a colon")
        return Credentials("Basic", _text(user), bool(password))
    if lower == "digest":
        match = _DIGEST_USER.search(rest.encode("utf-8", "replace"))
        name = None
        if match is not None:
            name = _text(match[1] if match[1] is not None else match[2])
        return Credentials("Digest", name)
    return Credentials(scheme)


def probe(buf: bytes, from_client: bool) -> bool:
    """An HTTP/1.x request line from the client, a status line from the server."""
    if not from_client:
        return buf.startswith(b"HTTP/1.")
    space = buf.find(b" ", 0, 24)
    if space <= 0 or buf[:space] not in METHODS:
        return False
    end = buf.find(b"\n", 0, 8192)
    if end < 0:
        # The request line is not complete yet: the method and the start of a target will do.
        return len(buf) > space + 1 and not _CONTROL.search(buf, space)
    return _PROBE_LINE.match(buf, 0, end + 1) is not None
