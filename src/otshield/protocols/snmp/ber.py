"""A minimal BER reader (ITU-T X.690 section 8) for SNMP.

Why our own and not pyasn1 or asn1crypto: SNMP needs six universal/application types, definite
lengths and one-byte tags only (RFC 3417 section 8 restricts SNMP to definite-length BER, and
RFC 2578 tags are all below 31). A general ASN.1 library builds objects per element and is an
order of magnitude slower on this hot path; twenty lines of slicing here keep the decoder
allocation-light, dependency-free, and let us enforce SNMP's limits (lengths inside the datagram,
sub-identifiers below 2^32, at most 128 of them) where a general decoder would accept more.

Every function raises only ``Malformed("snmp.invalid_ber", ...)``.
"""

from __future__ import annotations

from otshield.errors import Malformed

__all__ = ["MAX_SUBIDS", "integer", "oid", "tlv", "unsigned"]

MAX_SUBIDS = 128
"""RFC 2578 section 3.5: an OBJECT IDENTIFIER has at most 128 sub-identifiers."""

_CODE = "snmp.invalid_ber"


def tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read the element at ``pos``: ``(tag, content_start, content_stop)``."""
    if pos + 2 > end:
        raise Malformed(_CODE, f"element header at {pos} runs past {end}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise Malformed(_CODE, f"multi-byte tag at {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise Malformed(_CODE, f"indefinite length at {pos - 2}")
        if k > 4 or pos + k > end:
            raise Malformed(_CODE, f"{k}-byte length at {pos - 2}")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise Malformed(_CODE, f"length {n} at {pos} runs past {end}")
    return tag, pos, pos + n


def integer(data: bytes, start: int, stop: int) -> int:
    """A two's-complement INTEGER (X.690 section 8.3); SNMP values fit in 64 bits."""
    if start >= stop or stop - start > 9:
        raise Malformed(_CODE, f"integer of {stop - start} bytes")
    return int.from_bytes(data[start:stop], "big", signed=True)


def unsigned(data: bytes, start: int, stop: int) -> int:
    """Counter32/Gauge32/TimeTicks/Counter64 (RFC 2578 section 7.1): encoded as INTEGER but
    unsigned; a leading zero byte makes room for the top bit."""
    if start >= stop or stop - start > 9:
        raise Malformed(_CODE, f"unsigned of {stop - start} bytes")
    return int.from_bytes(data[start:stop], "big") & 0xFFFFFFFFFFFFFFFF


def oid(data: bytes, start: int, stop: int) -> str:
    """An OBJECT IDENTIFIER (X.690 section 8.19) as dotted decimal text."""
    if start >= stop:
        raise Malformed(_CODE, "empty object identifier")
    if data[stop - 1] & 0x80:
        raise Malformed(_CODE, "object identifier ends inside a sub-identifier")
    parts: list[int] = []
    value = 0
    # An OID is a few dozen bytes at most: a byte loop is cheaper than anything cleverer here.
    for b in data[start:stop]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
        elif value > 0x1FFFFFF:
            raise Malformed(_CODE, "object identifier sub-identifier above 2^32")
    if len(parts) >= MAX_SUBIDS:
        raise Malformed(_CODE, f"object identifier of {len(parts) + 1} sub-identifiers")
    first = parts[0]
    # X.690 section 8.19.4: the first sub-identifier packs the first two arcs as 40 * X + Y.
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(map(str, (*head, *parts[1:])))
