"""SSH transport layer parsers: identification string (RFC 4253 section 4.2), binary packet
(section 6), KEXINIT (section 7.1), DISCONNECT (section 11.1), and the HASSH fingerprint
(Salesforce, BSD-3-Clause: MD5 of "kex;ciphers;macs;compression" of one side's KEXINIT, the
client's client-to-server lists or the server's server-to-client lists).

Pure functions: bytes in, records out, ``Malformed`` the only exception.
"""

from __future__ import annotations

import hashlib
import struct

import msgspec

from otshield.errors import Malformed

__all__ = [
    "MAX_NAMES",
    "Banner",
    "KexInit",
    "hassh",
    "negotiate",
    "packet_size",
    "parse_banner",
    "parse_disconnect",
    "parse_kexinit",
    "probe",
]

MAX_NAMES = 64
"""Algorithm names kept per name-list."""
MAX_PACKET = 256 * 1024
"""Largest unencrypted packet accepted (RFC 4253 section 6.1 requires 35000; key exchange
packets with post-quantum keys stay far below this)."""

_U32 = struct.Struct("!I")
MSG_DISCONNECT, MSG_KEXINIT, MSG_NEWKEYS = 1, 20, 21


class Banner(msgspec.Struct, frozen=True, gc=False):
    text: str
    """The identification string without its line end."""
    version: str
    software: str
    comments: str | None = None


class KexInit(msgspec.Struct, frozen=True, gc=False):
    """The ten name-lists of SSH_MSG_KEXINIT, each as offered (comma-separated)."""

    kex: str
    host_key: str
    enc_c2s: str
    enc_s2c: str
    mac_c2s: str
    mac_s2c: str
    comp_c2s: str
    comp_s2c: str
    first_kex_follows: bool = False


def probe(buf: bytes, from_client: bool) -> bool:
    return buf.startswith(b"SSH-")


def parse_banner(line: bytes) -> Banner:
    """An identification string "SSH-protoversion-softwareversion SP comments"."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.startswith(b"SSH-"):
        raise Malformed("ssh.invalid_banner", f"{line[:60]!r}")
    text = line.decode("utf-8", "backslashreplace")
    version, sep, rest = text[4:].partition("-")
    if not sep or not version or not rest:
        raise Malformed("ssh.invalid_banner", f"{line[:60]!r}")
    software, _, comments = rest.partition(" ")
    return Banner(text, version, software, comments or None)


def packet_size(buf: bytes) -> int | None:
    """Bytes of the unencrypted binary packet at the head of ``buf`` (no MAC yet)."""
    if len(buf) < 5:
        return None
    length = _U32.unpack_from(buf)[0]
    padding = buf[4]
    if length > MAX_PACKET:
        raise Malformed("ssh.packet_too_large", f"packet_length {length}")
    if length < padding + 2:
        raise Malformed("ssh.invalid_packet", f"packet_length {length} with padding {padding}")
    return 4 + int(length)


def payload(packet: bytes) -> bytes:
    """The payload of a whole unencrypted packet."""
    length = _U32.unpack_from(packet)[0]
    return packet[5:4 + length - packet[4]]


def _name_list(data: bytes, off: int) -> tuple[str, int]:
    if off + 4 > len(data):
        raise Malformed("ssh.invalid_kexinit", "name-list length cut")
    size = _U32.unpack_from(data, off)[0]
    end = off + 4 + size
    if end > len(data):
        raise Malformed("ssh.invalid_kexinit", f"name-list of {size} bytes runs past the packet")
    return data[off + 4:end].decode("ascii", "backslashreplace"), end


def parse_kexinit(data: bytes) -> KexInit:
    """SSH_MSG_KEXINIT payload (message type byte included)."""
    if len(data) < 17 or data[0] != MSG_KEXINIT:
        raise Malformed("ssh.invalid_kexinit", f"KEXINIT of {len(data)} bytes")
    off = 17  # type + 16-byte cookie
    lists: list[str] = []
    for _ in range(10):
        text, off = _name_list(data, off)
        lists.append(text)
    follows = bool(data[off]) if off < len(data) else False
    return KexInit(lists[0], lists[1], lists[2], lists[3], lists[4], lists[5], lists[6],
                   lists[7], follows)


def parse_disconnect(data: bytes) -> str:
    """"<reason code> <description>" of SSH_MSG_DISCONNECT."""
    if len(data) < 9:
        raise Malformed("ssh.invalid_packet", "DISCONNECT too short")
    reason, size = struct.unpack_from("!II", data, 1)
    text = data[9:9 + size].decode("utf-8", "backslashreplace")
    return f"{reason} {text}".strip()


def names(text: str) -> list[str]:
    """A name-list as a list, capped at ``MAX_NAMES``."""
    return text.split(",", MAX_NAMES)[:MAX_NAMES] if text else []


def hassh(kex: str, ciphers: str, macs: str, compression: str) -> str:
    return hashlib.md5(f"{kex};{ciphers};{macs};{compression}".encode(),
                       usedforsecurity=False).hexdigest()


def negotiate(client: str, server: str) -> str | None:
    """RFC 4253 section 7.1: the first algorithm of the client's list the server also lists."""
    offered = set(server.split(","))
    for name in client.split(","):
        if name in offered and name:
            return name
    return None
