"""TLS record layer and handshake hello parsers.

RFC 8446 (TLS 1.3) section 5.1 (record layer), 4 (handshake header), 4.1.2 (ClientHello),
4.1.3 (ServerHello, HelloRetryRequest), 4.2.1 (supported_versions), 4.2.3 (signature
algorithms), 4.2.7 (supported groups), 6 (alerts); RFC 5246 (TLS 1.2) section 6.2 and 7.4.2
(Certificate); RFC 6066 section 3 (server_name); RFC 7301 section 3.1 (ALPN); RFC 8422
section 5.1.2 (ec_point_formats); RFC 6520 section 4 (heartbeat); SSL 2.0 CLIENT-HELLO
(draft-hickman-netscape-ssl-00, section 2.5) as RFC 5246 appendix E.2 allows it.

Pure functions: bytes in, records out, ``Malformed`` the only exception.
"""

from __future__ import annotations

import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.tls.constants import GREASE, HRR_RANDOM

__all__ = [
    "MAX_RECORD",
    "ClientHello",
    "ServerHello",
    "frame_size",
    "heartbeat_overflow",
    "parse_alerts",
    "parse_certificate_list",
    "parse_client_hello",
    "parse_server_hello",
    "parse_sslv2_client_hello",
    "probe",
]

MAX_RECORD = (1 << 14) + 2048
"""Largest TLSCiphertext fragment (RFC 5246 section 6.2.3; TLS 1.3 allows less)."""
MAX_LIST = 256
"""Values kept per list (cipher suites, extensions...) in a hello."""
MAX_ALPN = 16
"""ALPN protocol names kept (a 17th only marks the list as cut)."""

_U16 = struct.Struct("!H")
_RECORD = struct.Struct("!BHH")
_CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})

CONTENT_CCS, CONTENT_ALERT, CONTENT_HANDSHAKE, CONTENT_APPDATA, CONTENT_HEARTBEAT = (
    20, 21, 22, 23, 24)
SSLV2 = 0x80
"""Pseudo content type given to an SSL 2.0-framed record."""

EXT_SNI, EXT_GROUPS, EXT_POINT_FORMATS, EXT_SIG_ALGS, EXT_ALPN = 0, 10, 11, 13, 16
EXT_PSK, EXT_SUPPORTED_VERSIONS = 41, 43


class ClientHello(msgspec.Struct, gc=False):
    """The fields of a ClientHello that identify the client."""

    version: int
    session_id: bytes
    ciphers: list[int]
    """In offered order, GREASE included (fingerprints drop it)."""
    compression: list[int]
    extensions: list[int]
    """Extension types in order, GREASE included."""
    sni: str | None = None
    alpn: list[bytes] = msgspec.field(default_factory=list)
    supported_versions: list[int] = msgspec.field(default_factory=list)
    signature_algorithms: list[int] = msgspec.field(default_factory=list)
    groups: list[int] = msgspec.field(default_factory=list)
    point_formats: list[int] = msgspec.field(default_factory=list)
    sslv2: bool = False
    truncated_lists: bool = False
    """A list was longer than ``MAX_LIST`` entries and was cut."""


class ServerHello(msgspec.Struct, gc=False):
    version: int
    """legacy_version (0x0303 for TLS 1.3)."""
    session_id: bytes
    cipher: int
    compression: int
    extensions: list[int]
    selected_version: int | None = None
    alpn: str | None = None
    retry_request: bool = False
    """This is a HelloRetryRequest (RFC 8446 4.1.3)."""
    psk: bool = False
    """The server accepted a pre-shared key (TLS 1.3 resumption)."""

    @property
    def negotiated(self) -> int:
        return self.selected_version if self.selected_version is not None else self.version


def _bad(detail: str) -> Malformed:
    return Malformed("tls.invalid_handshake", detail)


def frame_size(buf: bytes) -> int | None:
    """Length of the record at the head of ``buf``: a TLS record (5-byte header, RFC 8446 5.1)
    or an SSL 2.0 record with a 2-byte header carrying a CLIENT-HELLO or SERVER-HELLO."""
    n = len(buf)
    if n < 3:
        return None
    first = buf[0]
    if first in _CONTENT_TYPES:
        if buf[1] != 3 or buf[2] > 4:
            raise Malformed("tls.invalid_record",
                            f"record version 0x{buf[1]:02x}{buf[2]:02x} (type {first})")
        if n < 5:
            return None
        length = _U16.unpack_from(buf, 3)[0]
        if length > MAX_RECORD:
            raise Malformed("tls.invalid_record", f"record length {length} > {MAX_RECORD}")
        return 5 + int(length)
    if first & 0x80 and buf[2] in (1, 4):
        length = ((first & 0x7F) << 8) | buf[1]
        if length < 3:
            raise Malformed("tls.invalid_record", f"SSL 2.0 record length {length}")
        return 2 + length
    raise Malformed("tls.invalid_record", f"content type {first}")


def probe(buf: bytes, from_client: bool) -> bool:
    """TLS if the payload starts with a hello (a ClientHello from the client, a ServerHello from
    the server) or, mid-stream, with a run of well-formed record headers."""
    n = len(buf)
    if n >= 6 and buf[0] == CONTENT_HANDSHAKE and buf[1] == 3 and buf[2] <= 4:
        return buf[5] == (1 if from_client else 2)
    if n >= 5 and from_client and buf[0] & 0x80 and buf[2] == 1 and buf[3] in (0, 3):
        # SSL 2.0-compatible CLIENT-HELLO: version 0x0002 or 0x03xx
        return buf[3:5] == b"\x00\x02" or buf[4] <= 4
    pos = 0
    seen = 0
    while pos + 5 <= n:
        t, version, length = _RECORD.unpack_from(buf, pos)
        if t not in (CONTENT_CCS, CONTENT_ALERT, CONTENT_APPDATA) or version >> 8 != 3 or (
                version & 0xFF) > 4 or length > MAX_RECORD or length == 0:
            return False
        seen += 1
        pos += 5 + length
    return seen > 0


def _u16_list(data: bytes, off: int, count: int) -> list[int]:
    return list(struct.unpack_from(f"!{count}H", data, off))


def _ext_u16_list(data: bytes, length_size: int, what: str) -> list[int]:
    """A list of uint16 prefixed by a 1- or 2-byte byte count."""
    if len(data) < length_size:
        raise _bad(f"{what}: no length")
    size = data[0] if length_size == 1 else _U16.unpack_from(data)[0]
    if size % 2 or length_size + size > len(data):
        raise _bad(f"{what}: length {size} does not fit")
    return _u16_list(data, length_size, min(size // 2, MAX_LIST))


def _sni(data: bytes) -> str | None:
    """First host_name of a server_name extension (RFC 6066 section 3)."""
    if len(data) < 2:
        raise _bad("server_name: no list length")
    end = 2 + _U16.unpack_from(data)[0]
    if end > len(data):
        raise _bad("server_name: list runs past the extension")
    pos = 2
    while pos + 3 <= end:
        kind = data[pos]
        size = _U16.unpack_from(data, pos + 1)[0]
        name = data[pos + 3:pos + 3 + size]
        if len(name) < size:
            raise _bad("server_name: name runs past the list")
        if kind == 0:
            return name.decode("utf-8", "backslashreplace")
        pos += 3 + size
    return None


def _alpn(data: bytes) -> list[bytes]:
    """ProtocolNameList (RFC 7301 section 3.1), at most ``MAX_ALPN`` names."""
    if len(data) < 2:
        raise _bad("ALPN: no list length")
    end = 2 + _U16.unpack_from(data)[0]
    if end > len(data):
        raise _bad("ALPN: list runs past the extension")
    out: list[bytes] = []
    pos = 2
    while pos < end:
        size = data[pos]
        name = data[pos + 1:pos + 1 + size]
        if len(name) < size or size == 0:
            raise _bad("ALPN: bad protocol name length")
        if len(out) > MAX_ALPN:
            break
        out.append(name)
        pos += 1 + size
    return out


def _extensions(body: bytes, off: int) -> list[tuple[int, bytes]]:
    """The extension block at ``off`` (absent when the message ends there)."""
    n = len(body)
    if off == n:
        return []
    if off + 2 > n:
        raise _bad("extensions length cut")
    end = off + 2 + _U16.unpack_from(body, off)[0]
    if end != n:
        raise _bad(f"extensions block ends {end - n:+d} bytes from the message end")
    out: list[tuple[int, bytes]] = []
    pos = off + 2
    while pos < end:
        if pos + 4 > end:
            raise _bad("extension header cut")
        ext, size = struct.unpack_from("!HH", body, pos)
        data = body[pos + 4:pos + 4 + size]
        if len(data) < size or pos + 4 + size > end:
            raise _bad(f"extension {ext} runs past the block")
        out.append((ext, data))
        pos += 4 + size
    return out


def parse_client_hello(body: bytes) -> ClientHello:
    """A ClientHello handshake body (after the 4-byte handshake header)."""
    n = len(body)
    if n < 38:
        raise _bad(f"ClientHello of {n} bytes")
    version = _U16.unpack_from(body)[0]
    sid_len = body[34]
    off = 35 + sid_len
    if sid_len > 32 or off + 2 > n:
        raise _bad(f"session id length {sid_len}")
    session_id = body[35:off]
    cs_len = _U16.unpack_from(body, off)[0]
    off += 2
    if cs_len % 2 or off + cs_len + 1 > n:
        raise _bad(f"cipher suites length {cs_len}")
    count = cs_len // 2
    truncated = count > MAX_LIST
    ciphers = _u16_list(body, off, min(count, MAX_LIST))
    off += cs_len
    comp_len = body[off]
    compression = list(body[off + 1:off + 1 + comp_len])
    off += 1 + comp_len
    if off > n:
        raise _bad("compression methods run past the message")
    hello = ClientHello(version, session_id, ciphers, compression, [])
    exts = _extensions(body, off)
    truncated = truncated or len(exts) > MAX_LIST
    types = hello.extensions
    for ext, data in exts[:MAX_LIST]:
        types.append(ext)
        if ext == EXT_SNI:
            hello.sni = _sni(data)
        elif ext == EXT_ALPN:
            hello.alpn = _alpn(data)
            if len(hello.alpn) > MAX_ALPN:
                del hello.alpn[MAX_ALPN:]
                truncated = True
        elif ext == EXT_SUPPORTED_VERSIONS:
            hello.supported_versions = _ext_u16_list(data, 1, "supported_versions")
        elif ext == EXT_SIG_ALGS:
            hello.signature_algorithms = _ext_u16_list(data, 2, "signature_algorithms")
        elif ext == EXT_GROUPS:
            hello.groups = _ext_u16_list(data, 2, "supported_groups")
        elif ext == EXT_POINT_FORMATS:
            if not data or 1 + data[0] > len(data):
                raise _bad("ec_point_formats length")
            hello.point_formats = list(data[1:1 + data[0]])
    hello.truncated_lists = truncated
    return hello


def parse_server_hello(body: bytes) -> ServerHello:
    """A ServerHello (or HelloRetryRequest) handshake body."""
    n = len(body)
    if n < 38:
        raise _bad(f"ServerHello of {n} bytes")
    version = _U16.unpack_from(body)[0]
    sid_len = body[34]
    off = 35 + sid_len
    if sid_len > 32 or off + 3 > n:
        raise _bad(f"session id length {sid_len}")
    cipher = _U16.unpack_from(body, off)[0]
    hello = ServerHello(version, body[35:off], cipher, body[off + 2], [],
                        retry_request=body[2:34] == HRR_RANDOM)
    for ext, data in _extensions(body, off + 3)[:MAX_LIST]:
        hello.extensions.append(ext)
        if ext == EXT_SUPPORTED_VERSIONS:
            if len(data) != 2:
                raise _bad("server supported_versions is not one version")
            hello.selected_version = _U16.unpack_from(data)[0]
        elif ext == EXT_ALPN:
            names = _alpn(data)
            if names:
                hello.alpn = names[0].decode("utf-8", "backslashreplace")
        elif ext == EXT_PSK:
            hello.psk = True
    return hello


def parse_sslv2_client_hello(record: bytes) -> ClientHello:
    """An SSL 2.0-framed CLIENT-HELLO record (2-byte header included). Cipher kinds of TLS
    (first byte 0) are kept as TLS suite numbers; SSL 2.0 kinds as their 24-bit value."""
    body = record[2:]
    if len(body) < 9 or body[0] != 1:
        raise _bad("SSL 2.0 record is not a CLIENT-HELLO")
    version, spec_len, sid_len, chal_len = struct.unpack_from("!HHHH", body, 1)
    if spec_len % 3 or 9 + spec_len + sid_len + chal_len > len(body):
        raise _bad("SSL 2.0 CLIENT-HELLO lengths do not fit")
    ciphers = []
    for i in range(min(spec_len // 3, MAX_LIST)):
        a, b, c = body[9 + 3 * i:12 + 3 * i]
        ciphers.append((a << 16) | (b << 8) | c)
    session_id = body[9 + spec_len:9 + spec_len + sid_len]
    return ClientHello(version, session_id, ciphers, [], [], sslv2=True,
                       truncated_lists=spec_len // 3 > MAX_LIST)


def parse_certificate_list(body: bytes) -> list[bytes]:
    """DER certificates of a TLS 1.2 Certificate message (RFC 5246 section 7.4.2)."""
    if len(body) < 3:
        raise Malformed("tls.invalid_certificate", "Certificate message shorter than 3 bytes")
    total = int.from_bytes(body[:3], "big")
    if 3 + total != len(body):
        raise Malformed("tls.invalid_certificate",
                        f"certificate_list length {total} in a {len(body)}-byte message")
    out: list[bytes] = []
    pos = 3
    while pos < len(body):
        if pos + 3 > len(body):
            raise Malformed("tls.invalid_certificate", "certificate length cut")
        size = int.from_bytes(body[pos:pos + 3], "big")
        der = body[pos + 3:pos + 3 + size]
        if len(der) < size or size == 0:
            raise Malformed("tls.invalid_certificate", "certificate runs past the message")
        out.append(der)
        pos += 3 + size
    return out


def parse_alerts(fragment: bytes) -> list[tuple[int, int]]:
    """(level, description) pairs of a plaintext alert record (RFC 8446 section 6)."""
    if not fragment or len(fragment) % 2:
        raise Malformed("tls.invalid_alert", f"alert record of {len(fragment)} bytes")
    pairs = [(fragment[i], fragment[i + 1]) for i in range(0, len(fragment), 2)]
    for level, _ in pairs:
        if level not in (1, 2):
            raise Malformed("tls.invalid_alert", f"alert level {level}")
    return pairs


def heartbeat_overflow(fragment: bytes) -> int | None:
    """RFC 6520 section 4: payload_length beyond what the record holds (Heartbleed,
    CVE-2014-0160): the claimed length, else None."""
    if len(fragment) < 3:
        return 0
    claimed = int(_U16.unpack_from(fragment, 1)[0])
    # type(1) + payload_length(2) + payload + at least 16 bytes of padding
    if 3 + claimed + 16 > len(fragment):
        return claimed
    return None


def strip_grease(values: list[int]) -> list[int]:
    """The values without RFC 8701 GREASE entries."""
    return [v for v in values if v not in GREASE]
