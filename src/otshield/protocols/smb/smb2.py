"""Pure SMB2/SMB3 decoder: one NetBIOS-framed message (possibly a compound of several) in, one
:class:`Smb2Message` per command out; plus the SMB3 transform (encryption) and compression
headers.

[MS-SMB2] 2.2.1 (64-byte sync/async header), 2.2.2 (error response), and the request/response
bodies read here: NEGOTIATE 2.2.3-4 (with negotiate contexts 2.2.3.1), SESSION_SETUP 2.2.5-6,
TREE_CONNECT 2.2.9-10, CREATE 2.2.13-14, CLOSE 2.2.15-16, FLUSH 2.2.17, READ 2.2.19-20, WRITE
2.2.21-22, LOCK 2.2.26, IOCTL 2.2.31-32 (FSCTL_PIPE_WAIT input [MS-FSCC] 2.3.49),
QUERY_DIRECTORY 2.2.33, CHANGE_NOTIFY 2.2.35, QUERY_INFO 2.2.37, SET_INFO 2.2.39 (rename and
delete information [MS-FSCC] 2.4.42.2, 2.4.11), OPLOCK_BREAK 2.2.23; TRANSFORM_HEADER 2.2.41;
COMPRESSION_TRANSFORM_HEADER 2.2.42. Compound chains follow NextCommand (3.2.4.1.4).

Raises only ``Malformed``; works on the head of a large message too (fields beyond the end of
the buffer are absent), since the session keeps only the head of bulk READ/WRITE messages.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from otshield.errors import Malformed

__all__ = ["Smb2Message", "SmbCompressed", "SmbTransform", "parse_compressed", "parse_smb2",
           "parse_transform"]

_HEADER = struct.Struct("<4sHHIHHIIQQQ")  # through SessionId: 56 bytes of the 64
_TRANSFORM = struct.Struct("<4s16s16sIHHQ")  # 52 bytes
_COMPRESSED = struct.Struct("<4sIHHI")  # 16 bytes
_FLAG_RESPONSE = 0x00000001
_FLAG_ASYNC = 0x00000002
_FLAG_RELATED = 0x00000004
_FLAG_SIGNED = 0x00000008
_MAX_COMPOUND = 32
_MAX_DIALECTS = 32
_MAX_CONTEXTS = 16
_STATUS_PENDING = 0x00000103
_STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016  # an error code that still carries a body
_FSCTL_PIPE_WAIT = 0x00110018
_CLOSE_POSTQUERY_ATTRIB = 0x0001

# StructureSize of each command's request and response body ([MS-SMB2] 2.2.3-2.2.40); a
# response with another size (the 9-byte error response) has no body to read.
_REQUEST_SIZE = {0: 36, 1: 25, 2: 4, 3: 9, 4: 4, 5: 57, 6: 24, 7: 24, 8: 49, 9: 49, 10: 48,
                 11: 57, 12: 4, 13: 4, 14: 33, 15: 32, 16: 41, 17: 33, 18: 24}
_RESPONSE_SIZE = {0: 65, 1: 9, 2: 4, 3: 16, 4: 4, 5: 89, 6: 60, 7: 4, 8: 17, 9: 17, 10: 4,
                  11: 49, 13: 4, 14: 9, 15: 9, 16: 9, 17: 2, 18: 24}


@dataclass(slots=True)
class Smb2Message:
    """One SMB2 command (request or response) with the body fields otshield uses."""

    command: int
    response: bool
    status: int
    flags: int
    message_id: int
    session_id: int
    tree_id: int | None
    async_id: int | None
    credit_charge: int
    next_command: int
    body: bool = False
    """The body had the expected structure size and was read (False: error response, interim
    response or truncated)."""
    dialects: tuple[int, ...] | None = None
    dialect: int | None = None
    signing_required: bool | None = None
    guid: str | None = None
    ciphers: tuple[int, ...] | None = None
    compression: tuple[int, ...] | None = None
    signing_algorithms: tuple[int, ...] | None = None
    netname: str | None = None
    security_blob: bytes | None = None
    session_flags: int | None = None
    path: str | None = None
    share_type: int | None = None
    filename: str | None = None
    disposition: int | None = None
    desired_access: int | None = None
    create_options: int | None = None
    action: int | None = None
    file_id: bytes | None = None
    end_of_file: int | None = None
    offset: int | None = None
    length: int | None = None
    data_length: int | None = None
    data_offset: int | None = None
    """READ response / WRITE request: where the data starts, from the start of the buffer
    given to ``parse_smb2`` (it may lie beyond the kept head of a large message)."""
    ctl_code: int | None = None
    info_type: int | None = None
    info_class: int | None = None
    rename_to: str | None = None
    delete: bool | None = None

    @property
    def related(self) -> bool:
        return bool(self.flags & _FLAG_RELATED)

    @property
    def signed(self) -> bool:
        return bool(self.flags & _FLAG_SIGNED)


@dataclass(slots=True)
class SmbTransform:
    """An encrypted SMB3 message: only its envelope is visible."""

    original_size: int
    flags: int
    session_id: int


@dataclass(slots=True)
class SmbCompressed:
    """An SMB 3.1.1 compressed message (its payload is not decompressed)."""

    original_size: int
    algorithm: int
    flags: int
    offset: int


_Body = Callable[[bytes, int, int, int, "Smb2Message"], None]


def _utf16(buf: bytes, start: int, length: int) -> str | None:
    if length == 0 or start < 0:
        return None
    raw = buf[start:start + length]
    if not raw:
        return None
    return raw.decode("utf-16-le", "replace")


def parse_transform(buf: bytes) -> SmbTransform:
    if len(buf) < _TRANSFORM.size:
        raise Malformed("smb.truncated", f"transform header of {len(buf)} bytes")
    _p, _sig, _nonce, size, _res, flags, sid = _TRANSFORM.unpack_from(buf)
    return SmbTransform(size, flags, sid)


def parse_compressed(buf: bytes) -> SmbCompressed:
    if len(buf) < _COMPRESSED.size:
        raise Malformed("smb.truncated", f"compression header of {len(buf)} bytes")
    _p, size, algorithm, flags, offset = _COMPRESSED.unpack_from(buf)
    return SmbCompressed(size, algorithm, flags, offset)


def parse_smb2(buf: bytes) -> list[Smb2Message]:
    """Every command of the (possibly compound) message starting at offset 0 of ``buf``."""
    out: list[Smb2Message] = []
    pos = 0
    end = len(buf)
    for _ in range(_MAX_COMPOUND):
        if pos + 64 > end:
            if out:
                break  # head of a large compound: keep the whole ones
            raise Malformed("smb.truncated", f"SMB2 header of {end - pos} bytes")
        msg = _one(buf, pos, end)
        out.append(msg)
        nxt = msg.next_command
        if nxt == 0:
            break
        pos += nxt
        if pos >= end:
            break
    return out


def _one(buf: bytes, pos: int, end: int) -> Smb2Message:
    (proto, size, charge, status, command, _credit, flags, nxt, mid, word5,
     sid) = _HEADER.unpack_from(buf, pos)
    if proto != b"\xfeSMB" or size != 64:
        raise Malformed("smb.bad_header", f"SMB2 header {proto!r} size {size}")
    is_async = bool(flags & _FLAG_ASYNC)
    msg = Smb2Message(command, bool(flags & _FLAG_RESPONSE), status, flags, mid, sid,
                      None if is_async else word5 >> 32, word5 if is_async else None, charge,
                      nxt)
    if nxt:
        if nxt < 64 or nxt % 8:
            raise Malformed("smb.bad_compound", f"NextCommand {nxt}")
        if pos + nxt < end:
            end = pos + nxt  # this command's bytes stop where the next one starts
    b = pos + 64
    if b + 2 > end:
        raise Malformed("smb.truncated", "SMB2 message without a body")
    body_size = struct.unpack_from("<H", buf, b)[0]
    if msg.response:
        if status == _STATUS_PENDING or (status >> 30 == 3
                                         and status != _STATUS_MORE_PROCESSING_REQUIRED):
            # interim response, or error response ([MS-SMB2] 2.2.2)
            return msg
        if body_size != _RESPONSE_SIZE.get(command):
            return msg
    elif body_size != _REQUEST_SIZE.get(command):
        raise Malformed("smb.bad_structure_size",
                        f"command {command} request structure size {body_size}")
    handler = _BODIES.get(command)
    if handler is not None:
        try:
            handler(buf, pos, b, end, msg)
        except struct.error:
            return msg  # the body runs past the kept head of a large message
    msg.body = True
    return msg


def _negotiate(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        count, mode = struct.unpack_from("<HH", buf, b + 2)
        m.signing_required = bool(mode & 0x0002)
        m.guid = str(uuid.UUID(bytes_le=buf[b + 12:b + 28]))
        n = min(count, _MAX_DIALECTS)
        if b + 36 + 2 * n <= end:
            m.dialects = struct.unpack_from(f"<{n}H", buf, b + 36)
        if m.dialects and 0x0311 in m.dialects:
            ctx_off, ctx_count = struct.unpack_from("<IH", buf, b + 28)
            _contexts(buf, h + ctx_off, end, ctx_count, m)
        return
    mode, dialect, ctx_count = struct.unpack_from("<HHH", buf, b + 2)
    m.signing_required = bool(mode & 0x0002)
    m.dialect = dialect
    m.guid = str(uuid.UUID(bytes_le=buf[b + 8:b + 24]))
    blob_off, blob_len, ctx_off = struct.unpack_from("<HHI", buf, b + 56)
    if blob_len:
        m.security_blob = buf[h + blob_off:h + blob_off + blob_len]
    if dialect == 0x0311:
        _contexts(buf, h + ctx_off, end, ctx_count, m)


def _contexts(buf: bytes, pos: int, end: int, count: int, m: Smb2Message) -> None:
    """SMB 3.1.1 negotiate contexts ([MS-SMB2] 2.2.3.1): 8-byte aligned type/length/data."""
    for _ in range(min(count, _MAX_CONTEXTS)):
        if pos + 8 > end:
            return
        ctype, dlen = struct.unpack_from("<HH", buf, pos)
        d = pos + 8
        if d + dlen > end:
            return
        if ctype == 2 and dlen >= 2:  # ENCRYPTION_CAPABILITIES
            n = min(struct.unpack_from("<H", buf, d)[0], (dlen - 2) // 2)
            m.ciphers = struct.unpack_from(f"<{n}H", buf, d + 2)
        elif ctype == 3 and dlen >= 8:  # COMPRESSION_CAPABILITIES
            n = min(struct.unpack_from("<H", buf, d)[0], (dlen - 8) // 2)
            m.compression = struct.unpack_from(f"<{n}H", buf, d + 8)
        elif ctype == 5:  # NETNAME_NEGOTIATE_CONTEXT_ID: the server name the client asked for
            m.netname = _utf16(buf, d, dlen)
        elif ctype == 8 and dlen >= 2:  # SIGNING_CAPABILITIES
            n = min(struct.unpack_from("<H", buf, d)[0], (dlen - 2) // 2)
            m.signing_algorithms = struct.unpack_from(f"<{n}H", buf, d + 2)
        pos = (d + dlen + 7) & ~7


def _session_setup(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        off, length = struct.unpack_from("<HH", buf, b + 12)
    else:
        m.session_flags, off, length = struct.unpack_from("<HHH", buf, b + 2)
    if length:
        m.security_blob = buf[h + off:min(h + off + length, end)]


def _tree_connect(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        off, length = struct.unpack_from("<HH", buf, b + 4)
        m.path = _utf16(buf, h + off, length)
    else:
        m.share_type = buf[b + 2]


def _create(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        (m.desired_access, _attrs, _share, m.disposition, m.create_options, off,
         length) = struct.unpack_from("<IIIIIHH", buf, b + 24)
        m.filename = _utf16(buf, h + off, length) if length else ""
    else:
        m.action = struct.unpack_from("<I", buf, b + 4)[0]
        m.end_of_file = struct.unpack_from("<Q", buf, b + 48)[0]
        m.file_id = buf[b + 64:b + 80]


def _file_id_at(offset: int) -> _Body:
    def handler(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
        if not m.response:
            m.file_id = buf[b + offset:b + offset + 16]
    return handler


def _close(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        m.file_id = buf[b + 8:b + 24]
    elif struct.unpack_from("<H", buf, b + 2)[0] & _CLOSE_POSTQUERY_ATTRIB:
        # the attributes are zero unless the client asked for them ([MS-SMB2] 2.2.16)
        m.end_of_file = struct.unpack_from("<Q", buf, b + 48)[0]


def _read(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        m.length, m.offset = struct.unpack_from("<IQ", buf, b + 4)
        m.file_id = buf[b + 16:b + 32]
    else:
        m.data_offset = h + buf[b + 2]  # DataOffset, from the start of the SMB2 header
        m.data_length = struct.unpack_from("<I", buf, b + 4)[0]


def _write(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if not m.response:
        data_offset, m.length, m.offset = struct.unpack_from("<HIQ", buf, b + 2)
        m.data_offset = h + data_offset
        m.file_id = buf[b + 16:b + 32]
    else:
        m.data_length = struct.unpack_from("<I", buf, b + 4)[0]


def _ioctl(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    m.ctl_code = struct.unpack_from("<I", buf, b + 4)[0]
    if m.response:
        return
    m.file_id = buf[b + 8:b + 24]
    if m.ctl_code == _FSCTL_PIPE_WAIT:
        in_off, in_count = struct.unpack_from("<II", buf, b + 24)
        i = h + in_off
        if in_count >= 14 and i + 14 <= end:
            name_len = struct.unpack_from("<I", buf, i + 8)[0]
            m.filename = _utf16(buf, i + 14, min(name_len, in_count - 14))


def _query_directory(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if m.response:
        return
    m.info_class = buf[b + 2]
    m.file_id = buf[b + 8:b + 24]
    off, length = struct.unpack_from("<HH", buf, b + 24)
    m.filename = _utf16(buf, h + off, length)  # the search pattern


def _query_info(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if m.response:
        return
    m.info_type, m.info_class = buf[b + 2], buf[b + 3]
    m.file_id = buf[b + 24:b + 40]


def _set_info(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    if m.response:
        return
    m.info_type, m.info_class = buf[b + 2], buf[b + 3]
    length, off = struct.unpack_from("<IH", buf, b + 4)
    m.file_id = buf[b + 16:b + 32]
    if m.info_type != 1:
        return
    v = h + off
    if m.info_class in (10, 65) and length >= 20 and v + 20 <= end:
        name_len = struct.unpack_from("<I", buf, v + 16)[0]
        m.rename_to = _utf16(buf, v + 20, min(name_len, length - 20))
    elif m.info_class == 13 and length >= 1 and v < end:
        m.delete = bool(buf[v])
    elif m.info_class == 64 and length >= 4 and v + 4 <= end:
        m.delete = bool(struct.unpack_from("<I", buf, v)[0] & 0x1)


def _oplock_break(buf: bytes, h: int, b: int, end: int, m: Smb2Message) -> None:
    m.file_id = buf[b + 8:b + 24]


_BODIES: dict[int, _Body] = {
    0x00: _negotiate,
    0x01: _session_setup,
    0x03: _tree_connect,
    0x05: _create,
    0x06: _close,
    0x07: _file_id_at(8),
    0x08: _read,
    0x09: _write,
    0x0A: _file_id_at(8),
    0x0B: _ioctl,
    0x0E: _query_directory,
    0x0F: _file_id_at(8),
    0x10: _query_info,
    0x11: _set_info,
    0x12: _oplock_break,
}
