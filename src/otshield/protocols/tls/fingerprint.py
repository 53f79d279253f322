"""TLS client and server fingerprints.

- JA3 / JA3S (Salesforce, BSD-3-Clause): MD5 of "version,ciphers,extensions,groups,point
  formats" (client) or "version,cipher,extensions" (server), decimal values joined by "-",
  GREASE (RFC 8701) left out.
- JA4 (FoxIO, JA4 is BSD-3-Clause; JA4S/JA4X and the rest of JA4+ are under the FoxIO licence
  and are deliberately not implemented): ``a_b_c`` with
  a = "t" (TCP) + version (highest non-GREASE supported_versions entry, else the hello's
  version: 13, 12, 11, 10, s3, s2, else 00) + "d"/"i" (SNI present or not) + two-digit counts
  of ciphers and extensions (GREASE left out, capped at 99) + first and last character of the
  first ALPN value ("00" without ALPN; when either is not an ASCII letter or digit, the first
  and last characters of the value's hex form);
  b = first 12 hex digits of SHA-256 over the sorted cipher list (4-digit hex, comma-joined);
  c = same over the sorted extension list without SNI (0x0000) and ALPN (0x0010), then "_"
  and the signature algorithms in offered order (the "_" part only when there are any).
  An empty list hashes to "000000000000".
"""

from __future__ import annotations

import hashlib

from otshield.protocols.tls.constants import GREASE, JA4_VERSIONS
from otshield.protocols.tls.parser import ClientHello, ServerHello

__all__ = ["ja3", "ja3s", "ja4"]

_EMPTY_HASH = "000000000000"


def _dash(values: list[int]) -> str:
    return "-".join([str(v) for v in values if v not in GREASE])


def ja3_string(hello: ClientHello) -> str:
    return ",".join((str(hello.version), _dash(hello.ciphers), _dash(hello.extensions),
                     _dash(hello.groups), "-".join([str(v) for v in hello.point_formats])))


def ja3(hello: ClientHello) -> str:
    """JA3 MD5 of a ClientHello."""
    return hashlib.md5(ja3_string(hello).encode(), usedforsecurity=False).hexdigest()


def ja3s(hello: ServerHello) -> str:
    """JA3S MD5 of a ServerHello."""
    text = f"{hello.version},{hello.cipher},{_dash(hello.extensions)}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else _EMPTY_HASH


def _alnum(b: int) -> bool:
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def _alpn_chars(alpn: list[bytes]) -> str:
    if not alpn or not alpn[0]:
        return "00"
    value = alpn[0]
    first, last = value[0], value[-1]
    if _alnum(first) and _alnum(last):
        return chr(first) + chr(last)
    text = value.hex()
    return text[0] + text[-1]


def ja4_raw(hello: ClientHello) -> tuple[str, str, str]:
    """The three JA4 sections before hashing (JA4_r without its sorting shown)."""
    versions = [v for v in hello.supported_versions if v not in GREASE]
    version = max(versions) if versions else hello.version
    ciphers = [c for c in hello.ciphers if c not in GREASE]
    exts = [e for e in hello.extensions if e not in GREASE]
    head = (f"t{JA4_VERSIONS.get(version, '00')}{'d' if 0 in exts else 'i'}"
            f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{_alpn_chars(hello.alpn)}")
    cipher_text = ",".join(sorted(f"{c:04x}" for c in ciphers))
    ext_text = ",".join(sorted(f"{e:04x}" for e in exts if e not in (0x0000, 0x0010)))
    sigs = ",".join(f"{s:04x}" for s in hello.signature_algorithms if s not in GREASE)
    return head, cipher_text, f"{ext_text}_{sigs}" if sigs else ext_text


def ja4(hello: ClientHello) -> str:
    """JA4 fingerprint of a ClientHello seen over TCP."""
    head, ciphers, exts = ja4_raw(hello)
    return f"{head}_{_hash12(ciphers)}_{_hash12(exts)}"
