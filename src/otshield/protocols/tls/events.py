"""The TLS event: one per connection handshake, like Zeek's ssl.log, in ECS ``tls.*`` names.

Emitted when the handshake is over (the first protected application data after both sides
switched to encryption) or when the connection ends, whichever comes first.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs
from otshield.protocols.tls.x509 import X509Info

__all__ = ["TlsEvent"]


class TlsEvent(
    Event,
    tag="tls",
    frozen=True,
    rename=ecs(
        version="tls.version",
        version_protocol="tls.version_protocol",
        cipher="tls.cipher",
        cipher_id="tls.cipher_id",
        established="tls.established",
        resumed="tls.resumed",
        next_protocol="tls.next_protocol",
        sni="tls.client.server_name",
        client_version="tls.client.version",
        supported_versions="tls.client.supported_versions",
        client_ciphers="tls.client.supported_ciphers",
        client_extensions="tls.client.extensions",
        alpn="tls.client.alpn",
        signature_algorithms="tls.client.signature_algorithms",
        supported_groups="tls.client.supported_groups",
        ja3="tls.client.ja3",
        ja4="tls.client.ja4",
        sslv2_hello="tls.client.sslv2_hello",
        client_lists_truncated="tls.client.lists_truncated",
        ja3s="tls.server.ja3s",
        server_extensions="tls.server.extensions",
        hello_retry="tls.server.hello_retry_request",
        subject="tls.server.subject",
        issuer="tls.server.issuer",
        subject_cn="tls.server.x509.subject.common_name",
        subject_o="tls.server.x509.subject.organization",
        issuer_cn="tls.server.x509.issuer.common_name",
        issuer_o="tls.server.x509.issuer.organization",
        not_before="tls.server.not_before",
        not_after="tls.server.not_after",
        serial="tls.server.x509.serial_number",
        alt_names="tls.server.x509.alternative_names",
        key_algorithm="tls.server.x509.public_key_algorithm",
        key_size="tls.server.x509.public_key_size",
        key_curve="tls.server.x509.public_key_curve",
        sha1="tls.server.hash.sha1",
        sha256="tls.server.hash.sha256",
        chain="tls.server.chain",
        client_subject="tls.client.subject",
        client_issuer="tls.client.issuer",
        alerts="tls.alerts",
        alerts_truncated="tls.alerts_truncated",
        chain_truncated="tls.server.chain_truncated",
    ),
):
    """A TLS (or SSL) handshake; the client is the source."""

    version: str | None = None
    """Negotiated version ("1.2", "1.3"): supported_versions of the ServerHello, else its
    legacy_version."""
    version_protocol: str | None = None
    """"tls" or "ssl"."""
    cipher: str | None = None
    """Cipher suite the server chose, IANA name."""
    cipher_id: int | None = None
    established: bool = False
    """Both sides moved to protected application data (TLS 1.3: inferred from record types)."""
    resumed: bool = False
    """Abbreviated handshake: session id or ticket reuse (1.2), accepted PSK (1.3)."""
    next_protocol: str | None = None
    """ALPN value the server selected."""
    sni: str | None = None
    client_version: str | None = None
    """legacy_version of the ClientHello ("1.2" for every TLS 1.3 client)."""
    supported_versions: list[str] = msgspec.field(default_factory=list)
    client_ciphers: list[str] = msgspec.field(default_factory=list)
    """Offered cipher suites, IANA names, GREASE left out (at most 256)."""
    client_extensions: list[int] = msgspec.field(default_factory=list)
    alpn: list[str] = msgspec.field(default_factory=list)
    signature_algorithms: list[int] = msgspec.field(default_factory=list)
    supported_groups: list[int] = msgspec.field(default_factory=list)
    ja3: str | None = None
    ja4: str | None = None
    sslv2_hello: bool = False
    """The client spoke first with an SSL 2.0-framed hello (obsolete clients, scanners)."""
    client_lists_truncated: bool = False
    ja3s: str | None = None
    server_extensions: list[int] = msgspec.field(default_factory=list)
    hello_retry: bool = False
    subject: str | None = None
    """Leaf certificate subject (TLS 1.2 and older: 1.3 encrypts certificates)."""
    issuer: str | None = None
    subject_cn: list[str] = msgspec.field(default_factory=list)
    subject_o: list[str] = msgspec.field(default_factory=list)
    issuer_cn: list[str] = msgspec.field(default_factory=list)
    issuer_o: list[str] = msgspec.field(default_factory=list)
    not_before: str | None = None
    not_after: str | None = None
    serial: str | None = None
    alt_names: list[str] = msgspec.field(default_factory=list)
    key_algorithm: str | None = None
    key_size: int | None = None
    key_curve: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    chain: list[X509Info] = msgspec.field(default_factory=list)
    """Every certificate the server sent, leaf first (at most 10)."""
    chain_truncated: bool = False
    client_subject: str | None = None
    """Client certificate subject (mutual TLS)."""
    client_issuer: str | None = None
    alerts: list[str] = msgspec.field(default_factory=list)
    """Plaintext alerts, "client:fatal:handshake_failure" (at most 16)."""
    alerts_truncated: bool = False
