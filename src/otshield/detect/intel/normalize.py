"""One spelling per indicator value, so that matching is a dictionary look-up.

Indicator files and decoded events write the same thing in different ways: ``EVIL.com.`` and
``evil.com``, ``HTTP://Evil.com:80/a`` and ``http://evil.com/a``, upper- and lower-case hex
digests, ``10.0.0.5/24`` for the network ``10.0.0.0/24``. Each function returns the canonical
form or raises ``ValueError`` with a message fit for a ``file:line:`` error.

URL canonical form (after RFC 3986 section 6.2.2 syntax-based normalisation, partly): scheme
and host lower case, the default port (80 for http, 443 for https) dropped, an empty path
written ``/``, the fragment dropped; path and query kept as they are (they are case-sensitive
and percent-encodings are not decoded). A URL without a scheme is taken as ``http://``.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import netaddr

__all__ = ["HASH_LENGTHS", "cidr", "domain", "file_hash", "ip", "ip_int", "network", "url",
           "url_of"]

HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_HEX = frozenset("0123456789abcdef")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_BAD_NAME_CHARS = frozenset(" \t\r\n/\\@:?#[]\"'<>")
_PTON = socket.inet_pton
_AF_INET, _AF_INET6 = socket.AF_INET, socket.AF_INET6
_FROM_BYTES = int.from_bytes


def ip(value: str) -> str:
    """An IPv4 or IPv6 address in the form the decoders write (``inet_ntop``); strict
    dotted-quad IPv4 (no ``10.1`` or octal shorthands)."""
    text = value.strip()
    if "/" in text:
        raise ValueError(f"'{value}' is a network, not an address (use type cidr)")
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, text))
    except (OSError, ValueError):
        raise ValueError(f"'{value}' is not an IP address") from None


def cidr(value: str) -> tuple[int, int, int]:
    """(IP version, prefix length, network as an integer); host bits are cleared."""
    text = value.strip()
    try:
        net = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(f"'{value}' is not an IP network") from None
    net = net.cidr
    return net.version, net.prefixlen, int(net.network)


def network(value: str) -> tuple[str, str]:
    """("cidr", "net/prefix") for a network, ("ip", address) for a /32 or /128."""
    text = value.strip()
    try:
        net = netaddr.IPNetwork(text).cidr
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(f"'{value}' is not an IP network") from None
    if net.prefixlen == (32 if net.version == 4 else 128):
        return "ip", ip(str(net.ip))
    return "cidr", f"{ip(str(net.network))}/{net.prefixlen}"


def ip_int(address: str) -> tuple[int, int] | None:
    """(version, integer) of an address as the decoders write it; None if it is not one."""
    try:
        if ":" in address:
            return 6, _FROM_BYTES(_PTON(_AF_INET6, address), "big")
        return 4, _FROM_BYTES(_PTON(_AF_INET, address), "big")
    except (OSError, ValueError):
        return None


def domain(value: str) -> str:
    """A DNS name: lower case, no trailing dot, no leading ``*.`` (parent matching covers it),
    internationalised names in their ASCII (``xn--``) form as they travel in DNS."""
    text = value.strip().lower().rstrip(".")
    if text.startswith("*."):
        text = text[2:]
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"'{value}' is not a domain name") from None
    if not text or len(text) > 253 or not _BAD_NAME_CHARS.isdisjoint(text) \
            or ".." in text or text.startswith("."):
        raise ValueError(f"'{value}' is not a domain name")
    return text


def url(value: str) -> str:
    """The canonical form of a URL (see the module docstring)."""
    text = value.strip()
    if not text or any(c in text for c in " \t\r\n"):
        raise ValueError(f"'{value}' is not a URL")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"'{value}' is not a URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        raise ValueError(f"'{value}' is not a URL (no host)")
    return url_of(scheme, host, port, parts.path, parts.query)


def url_of(scheme: str, host: str, port: int | None, path: str, query: str) -> str:
    """Assemble a canonical URL from parts (``host`` already without brackets)."""
    host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{path or '/'}{'?' + query if query else ''}"


def file_hash(kind: str, value: str) -> str:
    """A hex digest in lower case, checked for its length."""
    text = value.strip().lower()
    if len(text) != HASH_LENGTHS[kind] or not _HEX.issuperset(text):
        raise ValueError(f"'{value}' is not a {kind.upper()} digest "
                         f"({HASH_LENGTHS[kind]} hex digits)")
    return text
