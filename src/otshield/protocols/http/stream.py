"""HTTP/1.x message framing for one direction of a connection (RFC 9112 section 6.3: message
body length; section 7.1: chunked transfer coding; section 9.3: pipelining).

The stream cuts in-order bytes (delivered in chunks of any size, down to one byte) into message
heads and bodies. Heads are buffered (bounded by ``MAX_HEADER_BLOCK``); bodies are counted and
hashed as they pass (MD5, SHA-1, SHA-256 of the bytes transferred: de-chunked, still
content-coded), never buffered. The owner parses each head and answers how the body is
delimited, because a response's body depends on its request (HEAD, CONNECT) and on its status code.

After a gap the stream looks for the next line that starts a message and carries on from there.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

from otshield.errors import Malformed
from otshield.protocols.http.constants import MAX_CHUNK_LINE
from otshield.protocols.http.parser import chunk_size, find_head_end

__all__ = ["BODY_CHUNKED", "BODY_CLOSE", "BODY_DEAD", "BODY_LENGTH", "BODY_NONE",
           "BODY_TUNNEL", "BodyDigests", "HttpStream", "StreamOwner"]

BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE, BODY_TUNNEL, BODY_DEAD = range(6)
"""How the body after a head is delimited (returned by ``StreamOwner.on_head``)."""

(_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _CLOSE, _TUNNEL, _DEAD,
 _RESYNC) = range(10)

_REQUEST_START = re.compile(rb"(?:^|\n)([A-Z][A-Z-]{1,16} [^\x00-\x20\x7f]+ HTTP/\d\.\d\r?\n)")
_RESPONSE_START = re.compile(rb"(?:^|\n)(HTTP/\d\.\d \d{3}[ \r\n])")
_RESYNC_KEEP = 64

BodyDigests = tuple[str, str, str]
"""(md5, sha1, sha256) hex digests of a whole body."""


class _BodyHash:
    """The three digests of one body, fed as the bytes pass: nothing of the body is kept."""

    __slots__ = ("md5", "sha1", "sha256")

    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.sha256.update(data)

    def digests(self) -> BodyDigests:
        return self.md5.hexdigest(), self.sha1.hexdigest(), self.sha256.hexdigest()


class StreamOwner(Protocol):
    def on_head(self, block: bytes, is_request: bool) -> tuple[int, int]:
        """Parse a head; return (BODY_* mode, length for BODY_LENGTH)."""
        ...

    def on_body_done(self, is_request: bool, size: int, digests: BodyDigests | None) -> None:
        """The message's body ended after ``size`` bytes (0 when it had none); ``digests`` of
        its bytes when the body was not empty and every byte of it was seen."""
        ...

    def on_stream_anomaly(self, code: str, detail: str, is_request: bool) -> None:
        ...


class HttpStream:
    """Framing state of one direction."""

    __slots__ = ("body", "buf", "hash", "is_request", "limit", "owner", "remaining", "scan",
                 "state")

    def __init__(self, owner: StreamOwner, is_request: bool, limit: int) -> None:
        self.owner = owner
        self.is_request = is_request
        self.limit = limit
        self.state = _HEAD
        self.buf = bytearray()  # a head, chunk line or trailer being collected
        self.scan = 0  # where to resume looking for the end of the head
        self.remaining = 0  # body or chunk bytes still expected
        self.body = 0  # body bytes of the current message so far
        self.hash: _BodyHash | None = None  # digests of the current body; None once bytes lost

    @property
    def idle(self) -> bool:
        """Between messages, nothing buffered."""
        return self.state == _HEAD and not self.buf

    @property
    def open_body(self) -> bool:
        """Inside a body that only the end of the connection delimits."""
        return self.state == _CLOSE

    def stop(self, tunnel: bool) -> None:
        """Stop reading: the connection became a tunnel (CONNECT, 101) or is not HTTP."""
        self.state = _TUNNEL if tunnel else _DEAD
        self.buf = bytearray()

    def raw_body(self) -> None:
        """What follows is a body delimited by the end of the connection (HTTP/0.9 answer)."""
        if self.state == _HEAD:
            self.state = _CLOSE
            self.body = len(self.buf)
            self.hash = _BodyHash()
            self.hash.update(self.buf)
            self.buf = bytearray()

    def gap(self) -> None:
        if self.state in (_TUNNEL, _DEAD):
            return
        if self.state == _CLOSE:
            self.hash = None  # the body lost bytes: its digests would be wrong
            return  # it still ends with the connection
        self.hash = None
        self.state = _RESYNC
        self.buf = bytearray()
        self.scan = 0

    def finish(self) -> None:
        """End of the connection: a body delimited by the close is complete."""
        if self.state == _CLOSE:
            self._done()
            self.state = _DEAD

    def feed(self, data: bytes) -> None:
        """In-order bytes of this direction."""
        while data:
            state = self.state
            if state in (_LENGTH, _CHUNK_DATA):
                take = min(self.remaining, len(data))
                self.remaining -= take
                self.body += take
                if self.hash is not None:
                    self.hash.update(data if take == len(data) else memoryview(data)[:take])
                data = data[take:]
                if not self.remaining:
                    if state == _LENGTH:
                        self._done()
                    else:
                        self.state = _CHUNK_END
            elif state == _HEAD:
                data = self._head(data)
            elif state == _CLOSE:
                self.body += len(data)
                if self.hash is not None:
                    self.hash.update(data)
                return
            elif state in (_TUNNEL, _DEAD):
                return
            elif state == _CHUNK_SIZE:
                data = self._chunk_size(data)
            elif state == _CHUNK_END:
                data = self._chunk_end(data)
            elif state == _TRAILER:
                data = self._trailer(data)
            else:
                data = self._resync(data)

    # -- states ------------------------------------------------------------------------------
    def _done(self) -> None:
        self.state = _HEAD
        size, self.body = self.body, 0
        digests = self.hash.digests() if self.hash is not None and size else None
        self.hash = None
        self.owner.on_body_done(self.is_request, size, digests)

    def _head(self, data: bytes) -> bytes:
        buf = self.buf
        if not buf:
            # Empty lines between messages are allowed (RFC 9112 section 2.2).
            data = data.lstrip(b"\r\n")
            if not data:
                return b""
        buf += data
        end = find_head_end(buf, self.scan)
        if end < 0:
            first = buf.find(b"\n")
            if first >= 0 and not self._plausible_start(buf[:first]):
                end = first + 1  # not a head that a blank line will close: judge it now
            elif len(buf) > self.limit:
                self.owner.on_stream_anomaly(
                    "http.header_too_long", f"no end of head in {len(buf)} bytes",
                    self.is_request)
                self.stop(False)
                return b""
            else:
                self.scan = max(0, len(buf) - 2)
                return b""
        head, rest = bytes(buf[:end]), bytes(buf[end:])
        self.buf = bytearray()
        self.scan = 0
        mode, length = self.owner.on_head(head, self.is_request)
        self.body = 0
        if mode in (BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE) and (length or mode != BODY_LENGTH):
            self.hash = _BodyHash()
        if mode == BODY_NONE:
            self._done()
        elif mode == BODY_LENGTH:
            if length:
                self.state = _LENGTH
                self.remaining = length
            else:
                self._done()
        elif mode == BODY_CHUNKED:
            self.state = _CHUNK_SIZE
        elif mode == BODY_CLOSE:
            self.state = _CLOSE
        else:
            self.stop(mode == BODY_TUNNEL)
            return b""
        return rest

    def _plausible_start(self, line: bytes | bytearray) -> bool:
        if self.is_request:
            return b" HTTP/" in line
        return line.startswith(b"HTTP/")

    def _line(self, data: bytes, limit: int) -> tuple[bytes | None, bytes]:
        """(line without its end, rest) or (None, b"") when more bytes are needed."""
        buf = self.buf
        buf += data
        end = buf.find(b"\n")
        if end < 0:
            if len(buf) > limit:
                raise Malformed("http.invalid_chunk", f"no line end in {len(buf)} bytes")
            return None, b""
        line, rest = bytes(buf[:end]), bytes(buf[end + 1:])
        self.buf = bytearray()
        return (line[:-1] if line.endswith(b"\r") else line), rest

    def _chunk_size(self, data: bytes) -> bytes:
        try:
            line, rest = self._line(data, MAX_CHUNK_LINE)
            if line is None:
                return b""
            size = chunk_size(line)
        except Malformed as bad:
            self.owner.on_stream_anomaly(bad.code, bad.detail, self.is_request)
            self.stop(False)
            return b""
        if size:
            self.state = _CHUNK_DATA
            self.remaining = size
        else:
            self.state = _TRAILER
        return rest

    def _chunk_end(self, data: bytes) -> bytes:
        buf = self.buf
        buf += data
        if buf.startswith(b"\r\n"):
            rest = bytes(buf[2:])
        elif buf.startswith(b"\n"):
            rest = bytes(buf[1:])
        elif buf == b"\r":
            return b""
        else:
            self.owner.on_stream_anomaly("http.invalid_chunk", "chunk data not followed by CRLF",
                                         self.is_request)
            self.stop(False)
            return b""
        self.buf = bytearray()
        self.state = _CHUNK_SIZE
        return rest

    def _trailer(self, data: bytes) -> bytes:
        try:
            line, rest = self._line(data, self.limit)
        except Malformed:
            self.owner.on_stream_anomaly("http.header_too_long", "trailer section too long",
                                         self.is_request)
            self.stop(False)
            return b""
        if line is None:
            return b""
        if not line:
            self._done()
        return rest

    def _resync(self, data: bytes) -> bytes:
        buf = self.buf
        buf += data
        pattern = _REQUEST_START if self.is_request else _RESPONSE_START
        match = pattern.search(buf)
        if match is None:
            del buf[:-_RESYNC_KEEP]
            return b""
        rest = bytes(buf[match.start(1):])
        self.buf = bytearray()
        self.state = _HEAD
        return rest
