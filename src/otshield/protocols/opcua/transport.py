"""OPC UA Connection Protocol and Secure Conversation framing (OPC 10000-6, 7.1 and 6.7).

Every message starts with an 8-byte header (7.1.2.2): MessageType (3 ASCII bytes: HEL, ACK,
ERR, RHE, OPN, CLO, MSG), ChunkType (``F`` final, ``C`` intermediate, ``A`` abort) and
MessageSize (UInt32, header included). Connection messages (7.1.2.3-7.1.2.6):

- Hello: ProtocolVersion, ReceiveBufferSize, SendBufferSize, MaxMessageSize, MaxChunkCount
  (UInt32 each), EndpointUrl (String, at most 4096 bytes);
- Acknowledge: the same five UInt32;
- Error: Error (StatusCode), Reason (String);
- ReverseHello: ServerUri, EndpointUrl (Strings).

Secure conversation chunks (6.7.2): SecureChannelId (UInt32), then for OPN the asymmetric
security header (6.7.2.3: SecurityPolicyUri, SenderCertificate, ReceiverCertificateThumbprint)
and for MSG/CLO the symmetric one (6.7.2.4: TokenId), then the sequence header (6.7.2.5:
SequenceNumber, RequestId), then the body (possibly encrypted and signed).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from otshield.errors import Malformed
from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.constants import CHUNK_TYPES, MESSAGE_TYPES, SECURITY_POLICIES

__all__ = [
    "HEADER_SIZE",
    "AsymmetricHeader",
    "Hello",
    "frame_size",
    "parse_acknowledge",
    "parse_asymmetric",
    "parse_error",
    "parse_hello",
    "parse_reverse_hello",
    "policy_name",
    "probe",
]

HEADER_SIZE = 8
MAX_URL = 4096  # Part 6, 7.1.2.3: EndpointUrl is at most 4096 bytes
_HEADER = struct.Struct("<3scI")
_FIVE = struct.Struct("<5I")
_U32 = struct.Struct("<I")

# Smallest whole message of each type: header + mandatory fields (null strings are 4 bytes).
_MIN_SIZE: dict[bytes, int] = {
    b"HEL": 8 + 20 + 4, b"ACK": 8 + 20, b"ERR": 8 + 4 + 4, b"RHE": 8 + 4 + 4,
    b"OPN": 8 + 4 + 12 + 8, b"CLO": 8 + 4 + 4 + 8, b"MSG": 8 + 4 + 4 + 8,
}
_CONNECTION = frozenset({b"HEL", b"ACK", b"ERR", b"RHE"})
_CHUNK_BYTES = frozenset(b"FCA")


def frame_size(buf: bytes) -> int | None:
    """MessageSize of the message at the head of ``buf``; None until 8 bytes are in hand.

    Raises ``opcua.bad_header`` for an unknown message type or chunk type, or a size smaller
    than the message type's mandatory fields."""
    if len(buf) < HEADER_SIZE:
        return None
    mtype, chunk, size = _HEADER.unpack_from(buf)
    minimum = _MIN_SIZE.get(mtype)
    if minimum is None:
        raise Malformed("opcua.bad_header",
                        f"message type {mtype!r} (expected HEL, ACK, ERR, RHE, OPN, CLO or MSG)")
    if chunk[0] not in _CHUNK_BYTES:
        raise Malformed("opcua.bad_header", f"chunk type {chunk!r} (expected F, C or A)")
    if size < minimum:
        raise Malformed("opcua.bad_header",
                        f"{mtype.decode()} message size {size} below its minimum {minimum}")
    return int(size)


def probe(buf: bytes, from_client: bool) -> bool:
    """Does a flow start like OPC UA? A valid 8-byte header; a Hello from the client must also
    carry an EndpointUrl whose length fits the message size exactly (when that much is in
    hand). Mid-stream starts (OPN, MSG, CLO, ACK, ERR) are accepted on the header alone: four
    fixed ASCII bytes and a sane size are specific enough."""
    if len(buf) < HEADER_SIZE:
        return False
    mtype, chunk, size = _HEADER.unpack_from(buf)
    minimum = _MIN_SIZE.get(mtype)
    if minimum is None or size < minimum or size > (1 << 24):
        return False
    if mtype in _CONNECTION:
        if chunk != b"F":
            return False
        if mtype == b"HEL" and len(buf) >= 32:
            n: int = _U32.unpack_from(buf, 28)[0]
            return n <= MAX_URL and 32 + n == size
        return True
    return chunk[0] in _CHUNK_BYTES


def message_name(mtype: bytes) -> str:
    return MESSAGE_TYPES.get(mtype, "unknown")


def chunk_name(chunk: int) -> str:
    return CHUNK_TYPES.get(chunk, "?")


@dataclass(slots=True)
class Hello:
    """Hello (client) or Acknowledge (server) transport limits; Hello adds the endpoint."""

    protocol_version: int
    receive_buffer_size: int
    send_buffer_size: int
    max_message_size: int
    max_chunk_count: int
    endpoint_url: str | None = None


def parse_hello(frame: bytes) -> Hello:
    r = Reader(frame, HEADER_SIZE)
    if r.remaining() < 24:
        raise Malformed("opcua.bad_encoding", "Hello shorter than its fields")
    version, rbs, sbs, mms, mcc = _FIVE.unpack_from(frame, HEADER_SIZE)
    r.pos += 20
    url = r.string()
    if url is not None and len(url.encode()) > MAX_URL:
        raise Malformed("opcua.bad_encoding", "Hello EndpointUrl longer than 4096 bytes")
    return Hello(version, rbs, sbs, mms, mcc, url)


def parse_acknowledge(frame: bytes) -> Hello:
    if len(frame) < HEADER_SIZE + 20:
        raise Malformed("opcua.bad_encoding", "Acknowledge shorter than its fields")
    return Hello(*_FIVE.unpack_from(frame, HEADER_SIZE))


def parse_error(frame: bytes, pos: int = HEADER_SIZE) -> tuple[int, str | None]:
    """Error message (7.1.2.5) or abort chunk body (6.7.3): status code and reason."""
    r = Reader(frame, pos)
    return r.u32(), r.string()


def parse_reverse_hello(frame: bytes) -> tuple[str | None, str | None]:
    r = Reader(frame, HEADER_SIZE)
    return r.string(), r.string()


@dataclass(slots=True)
class AsymmetricHeader:
    """OPN security header (6.7.2.3) plus the sequence header, and where the body starts."""

    policy_uri: str | None
    policy: str
    """Short policy name (``None``, ``Basic256Sha256``...), ``unknown`` otherwise."""
    certificate_thumbprint: str | None
    """SHA-1 of the sender certificate (hex), None without a certificate."""
    receiver_thumbprint: str | None
    sequence_number: int
    request_id: int
    body_offset: int


def policy_name(uri: str | None) -> str:
    if uri is None:
        return "None"  # a null URI is not valid, but means no security in practice
    return SECURITY_POLICIES.get(uri, "unknown")


def parse_asymmetric(frame: bytes) -> AsymmetricHeader:
    """Security and sequence headers of an OPN chunk (after the SecureChannelId)."""
    r = Reader(frame, HEADER_SIZE + 4)
    try:
        uri_raw = r.raw_bytes()
        cert = r.raw_bytes()
        thumb = r.raw_bytes()
    except Malformed as m:
        raise Malformed("opcua.bad_security_header", m.detail) from None
    if uri_raw is not None and len(uri_raw) > 512:
        raise Malformed("opcua.bad_security_header",
                        f"SecurityPolicyUri of {len(uri_raw)} bytes")
    if r.remaining() < 8:
        raise Malformed("opcua.bad_chunk", "OPN chunk without a sequence header")
    seq, rid = struct.unpack_from("<II", frame, r.pos)
    uri = uri_raw.decode("utf-8", "replace") if uri_raw is not None else None
    return AsymmetricHeader(
        policy_uri=uri, policy=policy_name(uri),
        certificate_thumbprint=hashlib.sha1(cert).hexdigest() if cert else None,
        receiver_thumbprint=thumb.hex() if thumb else None,
        sequence_number=seq, request_id=rid, body_offset=r.pos + 8)
