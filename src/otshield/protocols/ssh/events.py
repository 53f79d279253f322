"""The SSH event: one per connection, like Zeek's ssh.log: both identification strings, the
algorithm lists each side offered in its KEXINIT, what was negotiated, and the HASSH client and
server fingerprints. Everything after NEWKEYS is encrypted and not read."""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["SshEvent"]


class SshEvent(
    Event,
    tag="ssh",
    frozen=True,
    rename=ecs(
        client_banner="ssh.client.banner",
        client_version="ssh.client.protocol_version",
        client_software="ssh.client.software",
        client_comments="ssh.client.comments",
        server_banner="ssh.server.banner",
        server_version="ssh.server.protocol_version",
        server_software="ssh.server.software",
        server_comments="ssh.server.comments",
        client_kex="ssh.client.kex_algorithms",
        client_host_key="ssh.client.host_key_algorithms",
        client_ciphers="ssh.client.encryption_algorithms",
        client_macs="ssh.client.mac_algorithms",
        client_compression="ssh.client.compression_algorithms",
        server_kex="ssh.server.kex_algorithms",
        server_host_key="ssh.server.host_key_algorithms",
        server_ciphers="ssh.server.encryption_algorithms",
        server_macs="ssh.server.mac_algorithms",
        server_compression="ssh.server.compression_algorithms",
        kex_algorithm="ssh.kex_algorithm",
        host_key_algorithm="ssh.host_key_algorithm",
        cipher_c2s="ssh.cipher_client_to_server",
        cipher_s2c="ssh.cipher_server_to_client",
        mac_c2s="ssh.mac_client_to_server",
        mac_s2c="ssh.mac_server_to_client",
        compression_c2s="ssh.compression_client_to_server",
        compression_s2c="ssh.compression_server_to_client",
        hassh="ssh.client.hassh",
        hassh_server="ssh.server.hassh",
        kex_complete="ssh.kex_complete",
        lists_truncated="ssh.lists_truncated",
        disconnect="ssh.disconnect",
    ),
):
    """An SSH connection; the client is the source."""

    client_banner: str | None = None
    """The whole identification string ("SSH-2.0-OpenSSH_9.6 Ubuntu-3"), RFC 4253 4.2."""
    client_version: str | None = None
    client_software: str | None = None
    client_comments: str | None = None
    server_banner: str | None = None
    server_version: str | None = None
    server_software: str | None = None
    server_comments: str | None = None
    client_kex: list[str] = msgspec.field(default_factory=list)
    client_host_key: list[str] = msgspec.field(default_factory=list)
    client_ciphers: list[str] = msgspec.field(default_factory=list)
    """Client-to-server encryption algorithms the client offered (at most 64 per list)."""
    client_macs: list[str] = msgspec.field(default_factory=list)
    client_compression: list[str] = msgspec.field(default_factory=list)
    server_kex: list[str] = msgspec.field(default_factory=list)
    server_host_key: list[str] = msgspec.field(default_factory=list)
    server_ciphers: list[str] = msgspec.field(default_factory=list)
    """Server-to-client encryption algorithms the server offered."""
    server_macs: list[str] = msgspec.field(default_factory=list)
    server_compression: list[str] = msgspec.field(default_factory=list)
    kex_algorithm: str | None = None
    """Negotiated per RFC 4253 section 7.1: the client's first choice the server also has."""
    host_key_algorithm: str | None = None
    cipher_c2s: str | None = None
    cipher_s2c: str | None = None
    mac_c2s: str | None = None
    mac_s2c: str | None = None
    compression_c2s: str | None = None
    compression_s2c: str | None = None
    hassh: str | None = None
    hassh_server: str | None = None
    lists_truncated: bool = False
    """An algorithm list had more than 64 names; only the first 64 are listed."""
    kex_complete: bool = False
    """Both sides sent NEWKEYS: the rest of the connection is encrypted."""
    disconnect: str | None = None
    """Reason of an SSH_MSG_DISCONNECT sent before encryption ("client: 2 protocol error")."""
