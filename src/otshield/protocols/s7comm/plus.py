"""Pure parser of S7comm-plus frames (protocol id 0x72, S7-1200 / S7-1500), recognised inside
COTP data like S7comm.

Siemens publishes no specification; the layout below is the one established by public reverse
engineering (the S7comm-plus Wireshark plugin by Thomas Wiens, the S7CommPlusDriver project):

- Header, 4 bytes: 0x72, protocol version (1, 2, 3; 0xFE system event, 0xFF keep-alive), data
  length (2). Keep-alives instead carry a sequence byte and a reserved byte and no data.
- Version 3 starts the data with the integrity part: digest length (1, 0x20) and the digest
  (HMAC-SHA256). Version 2 (S7-1500 firmware < 1.5) ends it with an integrity id and the digest.
- Data: opcode (0x31 request, 0x32 response, 0x02 response variant, 0x33 notification). Requests
  and responses: reserved (2), function code (2), reserved (2), sequence number (2); a request
  then has the session id (4) and transport flags (1), a response the transport flags and its
  return value (variable-length integer). Notifications start with the subscription object id (4).
- Trailer, 4 bytes: 0x72, version, 0x0000. A frame without the trailer continues in the next
  TPKT packet, each fragment with its own header (:class:`PlusReassembler` joins them).

Variable-length integers (VLQ) use 7 bits per byte, most significant group first, the top bit
meaning "more follows"; a 64-bit one whose eighth byte still says "more" ends with a full 8-bit
byte. The return value of a response is such a 64-bit integer, kept raw (CreateObject answers
0x11 on success, other functions 0).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.s7comm.constants import (
    PLUS_FUNC_CREATE_OBJECT,
    PLUS_OPCODE_NOTIFICATION,
    PLUS_OPCODE_REQUEST,
    PLUS_OPCODE_RESPONSE,
    PLUS_OPCODE_RESPONSE2,
    PLUS_PROTOCOL_ID,
    PLUS_SESSION_STRINGS,
)

__all__ = [
    "MAX_PLUS_BYTES",
    "PlusFrame",
    "PlusPdu",
    "PlusReassembler",
    "parse_plus_body",
    "parse_plus_frame",
    "vlq",
    "vlq64",
]

MAX_PLUS_BYTES = 1 << 20
"""Largest S7comm-plus message kept while its fragments arrive."""
MAX_STRING = 256
"""Characters kept of a session string."""

_FRAME = struct.Struct(">BBH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_DIGEST_LEN = 0x20

_VERSION_KEEPALIVE, _VERSION_SYSTEM_EVENT = 0xFF, 0xFE


def vlq(buf: bytes, pos: int) -> tuple[int, int]:
    """A 32-bit variable-length unsigned integer at ``pos`` (at most 5 bytes); returns
    (value, next position)."""
    value = 0
    end = min(pos + 5, len(buf))
    i = pos
    while i < end:
        byte = buf[i]
        value = (value << 7) | (byte & 0x7F)
        i += 1
        if not byte & 0x80:
            if value > 0xFFFFFFFF:
                raise Malformed("s7commplus.invalid_data", "variable-length integer over 32 bits")
            return value, i
    raise Malformed("s7commplus.invalid_data", "variable-length integer truncated or too long")


def vlq64(buf: bytes, pos: int) -> tuple[int, int]:
    """A 64-bit variable-length unsigned integer: up to eight 7-bit groups, and when the eighth
    still says "more", a ninth byte carrying 8 bits."""
    value = 0
    n = len(buf)
    for i in range(8):
        if pos + i >= n:
            raise Malformed("s7commplus.invalid_data", "variable-length integer truncated")
        byte = buf[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    if pos + 8 >= n:
        raise Malformed("s7commplus.invalid_data", "variable-length integer truncated")
    return (value << 8) | buf[pos + 8], pos + 9


def _vlq_bytes(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


_STRING_MARKERS: tuple[tuple[bytes, str], ...] = tuple(
    # attribute id, flags 0, data type 0x15 (WString): as an attribute (after element id 0xA3)
    # of the request's session object, or as a member of a struct in the response
    (_vlq_bytes(attr) + b"\x00\x15", field)
    for attr, field in PLUS_SESSION_STRINGS.items())


class PlusFrame:
    """One TPKT packet's worth of S7comm-plus: header facts and the data bytes."""

    __slots__ = ("body", "has_trailer", "integrity", "keepalive", "version")

    def __init__(self, version: int, body: bytes, has_trailer: bool, integrity: bool | None,
                 keepalive: bool = False) -> None:
        self.version = version
        self.body = body
        self.has_trailer = has_trailer
        self.integrity = integrity
        self.keepalive = keepalive


def parse_plus_frame(tsdu: bytes) -> PlusFrame:
    """Header, integrity part (V3) and trailer of one S7comm-plus frame."""
    n = len(tsdu)
    if n < 4:
        raise Malformed("s7commplus.invalid_header", f"{n} bytes, header needs 4")
    proto, version, dlen = _FRAME.unpack_from(tsdu)
    if proto != PLUS_PROTOCOL_ID:
        raise Malformed("s7commplus.invalid_header", f"protocol id 0x{proto:02x}")
    if version == _VERSION_KEEPALIVE:
        return PlusFrame(version, b"", True, None, keepalive=True)
    if 4 + dlen > n:
        raise Malformed("s7commplus.invalid_length", f"data length {dlen}, {n - 4} bytes present")
    body = tsdu[4:4 + dlen]
    rest = tsdu[4 + dlen:]
    has_trailer = len(rest) >= 4 and rest[0] == PLUS_PROTOCOL_ID
    integrity: bool | None = None
    if version == 0x03:
        if not body or body[0] + 1 > len(body):
            raise Malformed("s7commplus.invalid_integrity", "V3 frame without its digest")
        integrity = body[0] > 0
        body = body[1 + body[0]:]
    elif version == 0x01:
        integrity = False
    return PlusFrame(version, body, has_trailer, integrity)


class PlusPdu:
    """The decoded start of one (reassembled) S7comm-plus message."""

    __slots__ = ("function_code", "integrity", "issues", "message", "new_session_id", "opcode",
                 "return_value", "sequence", "session_id", "strings", "subscription_id",
                 "transport_flags", "version")

    def __init__(self, version: int, opcode: int | None) -> None:
        self.version = version
        self.opcode = opcode
        self.function_code: int | None = None
        self.sequence: int | None = None
        self.session_id: int | None = None
        self.transport_flags: int | None = None
        self.return_value: int | None = None
        self.subscription_id: int | None = None
        self.new_session_id: int | None = None
        self.integrity: bool | None = None
        self.strings: dict[str, str] = {}
        self.message: str | None = None
        self.issues: list[tuple[str, str]] = []


def parse_plus_body(version: int, body: bytes, integrity: bool | None) -> PlusPdu:
    """Decode the data part of a whole message (all fragments joined, integrity part removed)."""
    if version == _VERSION_SYSTEM_EVENT:
        pdu = PlusPdu(version, None)
        text = body[16:].split(b"\0", 1)[0]
        if text and all(0x20 <= b < 0x7F for b in text):
            pdu.message = text[:MAX_STRING].decode("ascii")
        return pdu
    if not body:
        raise Malformed("s7commplus.invalid_data", "no opcode")
    opcode = body[0]
    pdu = PlusPdu(version, opcode)
    pdu.integrity = integrity
    n = len(body)
    if opcode == PLUS_OPCODE_NOTIFICATION:
        if n >= 5:
            pdu.subscription_id = _U32.unpack_from(body, 1)[0]
        return pdu
    if opcode not in (PLUS_OPCODE_REQUEST, PLUS_OPCODE_RESPONSE, PLUS_OPCODE_RESPONSE2):
        pdu.issues.append(("s7commplus.unknown_opcode", f"opcode 0x{opcode:02x}"))
        return pdu
    if n < 9:
        raise Malformed("s7commplus.invalid_data", f"{n} bytes, request/response head needs 9")
    pdu.function_code = _U16.unpack_from(body, 3)[0]
    pdu.sequence = _U16.unpack_from(body, 7)[0]
    if version == 0x02 and integrity is None:
        # V2 ends the data with integrity id, 0x20 and a 32-byte digest
        pdu.integrity = n >= 9 + 34 and body[-33] == _DIGEST_LEN and body[-34] < 0x80
    if opcode == PLUS_OPCODE_REQUEST:
        if n >= 14:
            pdu.session_id = _U32.unpack_from(body, 9)[0]
            pdu.transport_flags = body[13]
    else:
        if n >= 10:
            pdu.transport_flags = body[9]
        if n >= 11:
            pdu.return_value, pos = vlq64(body, 10)
            if pdu.function_code == PLUS_FUNC_CREATE_OBJECT and pos < n and body[pos] > 0:
                pdu.new_session_id = vlq(body, pos + 1)[0]
    if pdu.function_code == PLUS_FUNC_CREATE_OBJECT:
        _session_strings(pdu, body)
    return pdu


def _session_strings(pdu: PlusPdu, body: bytes) -> None:
    """The client and server identification strings of a session being created."""
    for marker, field in _STRING_MARKERS:
        at = body.find(marker)
        if at < 0:
            continue
        length, start = vlq(body, at + len(marker))
        text = body[start:start + min(length, MAX_STRING * 4)].decode("utf-8", "replace")
        if text:
            pdu.strings[field] = text[:MAX_STRING]


class PlusReassembler:
    """Joins the fragments of one direction's S7comm-plus message (no trailer = more follows)."""

    __slots__ = ("_frames", "_integrity", "_parts", "_size", "_version")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._frames = 0
        self._version = 0
        self._integrity: bool | None = None

    @property
    def active(self) -> bool:
        return bool(self._parts)

    def add(self, frame: PlusFrame) -> tuple[int, bytes, bool | None, int] | None:
        """Add a frame; (version, whole body, integrity, fragment count) when complete."""
        if not self._parts and frame.has_trailer:
            return frame.version, frame.body, frame.integrity, 1
        if not self._parts:
            self._version = frame.version
            self._integrity = frame.integrity
        self._parts.append(frame.body)
        self._size += len(frame.body)
        self._frames += 1
        if self._size > MAX_PLUS_BYTES:
            self.reset()
            raise Malformed("s7commplus.message_too_large",
                            f"more than {MAX_PLUS_BYTES} bytes without a trailer")
        if not frame.has_trailer:
            return None
        result = (self._version, b"".join(self._parts), self._integrity, self._frames)
        self.reset()
        return result

    def reset(self) -> None:
        self._parts = []
        self._size = 0
        self._frames = 0
