"""Builders for OPC UA binary test messages, written from OPC 10000-6 (encoding 5.2, UA
Connection Protocol 7.1, secure conversation 6.7) and OPC 10000-4 (services), plus helpers that
run the engine with the opcua decoder alone."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.events import Event
from otshield.protocols.opcua import SPEC
from support import decode_only

NONE_URI = "http://opcfoundation.org/UA/SecurityPolicy#None"
B256_URI = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"


def decode_opcua(path: Path | str, settings: Settings | None = None) -> list[Event]:
    """Every event of a capture, decoded with only the OPC UA decoder registered."""
    return decode_only(path, SPEC, settings=settings)


class FakeFlow(RecordingFlow):
    protocol = "opcua"

    def __init__(self, settings: Settings | None = None, server_port: int = 4840) -> None:
        super().__init__(("10.0.0.1", 50000), ("10.0.0.2", server_port), "tcp", settings,
                         ts=1000.0, frame=1, flow_id=1)

    def tick(self, dt: float = 0.001) -> None:
        self.ts += dt
        self.frame += 1


# -- built-in types (Part 6, 5.2.2) ----------------------------------------------------------------

def u8(v: int) -> bytes:
    return struct.pack("<B", v)


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def i32(v: int) -> bytes:
    return struct.pack("<i", v)


def f64(v: float) -> bytes:
    return struct.pack("<d", v)


def boolean(v: bool) -> bytes:
    return b"\x01" if v else b"\x00"


def string(s: str | None) -> bytes:
    """Int32 length + UTF-8; None is the null string (-1)."""
    if s is None:
        return i32(-1)
    raw = s.encode()
    return i32(len(raw)) + raw


def bytestring(b: bytes | None) -> bytes:
    return i32(-1) if b is None else i32(len(b)) + b


def datetime_ticks(epoch_seconds: float) -> bytes:
    """DateTime: 100 ns ticks since 1601-01-01 (Int64)."""
    return struct.pack("<q", round(epoch_seconds * 10_000_000) + 116444736000000000)


def node_numeric(ident: int, ns: int = 0) -> bytes:
    """The smallest numeric NodeId encoding: two-byte, four-byte or full numeric."""
    if ns == 0 and ident < 256:
        return b"\x00" + u8(ident)
    if ns < 256 and ident < 65536:
        return b"\x01" + u8(ns) + u16(ident)
    return b"\x02" + u16(ns) + u32(ident)


def node_string(name: str, ns: int) -> bytes:
    return b"\x03" + u16(ns) + string(name)


def node_guid(guid: str, ns: int) -> bytes:
    return b"\x04" + u16(ns) + uuid.UUID(guid).bytes_le


def node_opaque(raw: bytes, ns: int) -> bytes:
    return b"\x05" + u16(ns) + bytestring(raw)


def array(items: list[bytes]) -> bytes:
    return i32(len(items)) + b"".join(items)


def localized(text: str | None, locale: str | None = None) -> bytes:
    mask = (1 if locale is not None else 0) | (2 if text is not None else 0)
    return u8(mask) + (string(locale) if locale is not None else b"") + (
        string(text) if text is not None else b"")


def qualified(name: str, ns: int = 0) -> bytes:
    return u16(ns) + string(name)


def ext_object(type_id: int | None, body: bytes | None = None) -> bytes:
    """ExtensionObject: type id NodeId, encoding byte (0 none, 1 binary body), body."""
    if type_id is None:
        return b"\x00\x00\x00"
    if body is None:
        return node_numeric(type_id) + b"\x00"
    return node_numeric(type_id) + b"\x01" + bytestring(body)


def variant(type_id: int, value: bytes) -> bytes:
    """Scalar Variant: encoding mask (built-in type id) + value bytes."""
    return u8(type_id) + value


def variant_array(type_id: int, values: list[bytes]) -> bytes:
    return u8(type_id | 0x80) + array(values)


def data_value(value: bytes | None = None, status: int | None = None,
               source: float | None = None, server: float | None = None) -> bytes:
    mask = ((1 if value is not None else 0) | (2 if status is not None else 0)
            | (4 if source is not None else 0) | (8 if server is not None else 0))
    out = u8(mask)
    if value is not None:
        out += value
    if status is not None:
        out += u32(status)
    if source is not None:
        out += datetime_ticks(source)
    if server is not None:
        out += datetime_ticks(server)
    return out


# -- service headers (Part 4, 7.28 / 7.29) ---------------------------------------------------------

def request_header(handle: int, token: bytes = b"\x00\x00", ts: float = 1_700_000_000.0,
                   timeout: int = 10000, audit: str | None = None) -> bytes:
    """AuthenticationToken, Timestamp, RequestHandle, ReturnDiagnostics, AuditEntryId,
    TimeoutHint, AdditionalHeader."""
    return (token + datetime_ticks(ts) + u32(handle) + u32(0) + string(audit) + u32(timeout)
            + ext_object(None))


def response_header(handle: int, result: int = 0, ts: float = 1_700_000_000.5) -> bytes:
    """Timestamp, RequestHandle, ServiceResult, ServiceDiagnostics (empty), StringTable (empty),
    AdditionalHeader."""
    return datetime_ticks(ts) + u32(handle) + u32(result) + b"\x00" + i32(0) + ext_object(None)


def service(type_id: int, header: bytes, fields: bytes = b"") -> bytes:
    return node_numeric(type_id) + header + fields


# -- transport (Part 6, 7.1 and 6.7) ---------------------------------------------------------------

def message(mtype: bytes, body: bytes, chunk: bytes = b"F") -> bytes:
    return mtype + chunk + u32(8 + len(body)) + body


def hello(url: str, version: int = 0, rbs: int = 65536, sbs: int = 65536, mms: int = 0,
          mcc: int = 0) -> bytes:
    return message(b"HEL", struct.pack("<5I", version, rbs, sbs, mms, mcc) + string(url))


def acknowledge(version: int = 0, rbs: int = 65536, sbs: int = 65536, mms: int = 0,
                mcc: int = 0) -> bytes:
    return message(b"ACK", struct.pack("<5I", version, rbs, sbs, mms, mcc))


def error(code: int, reason: str | None) -> bytes:
    return message(b"ERR", u32(code) + string(reason))


def reverse_hello(server_uri: str, url: str) -> bytes:
    return message(b"RHE", string(server_uri) + string(url))


def opn(scid: int, seq: int, rid: int, body: bytes, policy: str = NONE_URI,
        cert: bytes | None = None, thumb: bytes | None = None) -> bytes:
    """OPN: SecureChannelId, asymmetric security header, sequence header, body."""
    return message(b"OPN", u32(scid) + string(policy) + bytestring(cert) + bytestring(thumb)
                   + u32(seq) + u32(rid) + body)


def msg(scid: int, token: int, seq: int, rid: int, body: bytes, chunk: bytes = b"F",
        mtype: bytes = b"MSG") -> bytes:
    """MSG/CLO: SecureChannelId, TokenId, SequenceNumber, RequestId, body."""
    return message(mtype, u32(scid) + u32(token) + u32(seq) + u32(rid) + body, chunk)


def open_request(handle: int = 1, request_type: int = 0, mode: int = 1,
                 lifetime: int = 600000) -> bytes:
    """OpenSecureChannelRequest (446): ClientProtocolVersion, RequestType, SecurityMode,
    ClientNonce, RequestedLifetime."""
    return service(446, request_header(handle), u32(0) + u32(request_type) + u32(mode)
                   + bytestring(b"") + u32(lifetime))


def open_response(handle: int, channel: int, token: int, lifetime: int = 600000) -> bytes:
    """OpenSecureChannelResponse (449): ServerProtocolVersion, SecurityToken (ChannelId,
    TokenId, CreatedAt, RevisedLifetime), ServerNonce."""
    return service(449, response_header(handle), u32(0) + u32(channel) + u32(token)
                   + datetime_ticks(1_700_000_000.25) + u32(lifetime) + bytestring(b""))


def application(uri: str, product: str, name: str, app_type: int,
                urls: list[str] | None = None) -> bytes:
    """ApplicationDescription: ApplicationUri, ProductUri, ApplicationName, ApplicationType,
    GatewayServerUri, DiscoveryProfileUri, DiscoveryUrls."""
    return (string(uri) + string(product) + localized(name, "en") + u32(app_type)
            + string(None) + string(None) + array([string(u) for u in urls or []]))


def endpoint(url: str, mode: int, policy: str, token_types: list[int], level: int,
             cert: bytes | None = None) -> bytes:
    """EndpointDescription with UserTokenPolicies (PolicyId, TokenType, IssuedTokenType,
    IssuerEndpointUrl, SecurityPolicyUri)."""
    tokens = [string(f"p{t}") + u32(t) + string(None) + string(None) + string(None)
              for t in token_types]
    return (string(url) + application("urn:srv", "urn:prod", "Server", 0, [url])
            + bytestring(cert) + u32(mode) + string(policy) + array(tokens)
            + string("http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary")
            + u8(level))
