"""ASN.1 BER reading for the decoders that carry it (IEC 61850 GOOSE, Sampled Values and MMS,
SNMP-like payloads): tag-length-value walking with every length checked against its container.

References: ITU-T X.690 (08/2015) section 8.1 (identifier octets 8.1.2, length octets 8.1.3:
short form, long form up to 4 length octets here, indefinite form 0x80 for constructed values
ended by two zero octets 8.1.5), 8.3 INTEGER (two's complement, big-endian), 8.6 BIT STRING
(first content octet = unused bits in the last octet), 8.2 BOOLEAN.

Written here rather than taken from pyasn1/asn1tools: those decode against a compiled module
schema into generic objects, at tens of microseconds per element; the protocols above are read
on the packet path and need only a flat walk with tight bounds.
"""

from __future__ import annotations

from collections.abc import Iterator

from otshield.errors import Malformed

__all__ = [
    "CLASS_APPLICATION",
    "CLASS_CONTEXT",
    "CLASS_PRIVATE",
    "CLASS_UNIVERSAL",
    "Tlv",
    "bit_string",
    "integer",
    "iter_tlvs",
    "read_tlv",
    "unsigned",
]

CLASS_UNIVERSAL, CLASS_APPLICATION, CLASS_CONTEXT, CLASS_PRIVATE = 0, 1, 2, 3

Tlv = tuple[int, bool, int, int, int]
"""(tag class, constructed, tag number, value start, value end) offsets into the buffer."""

_MAX_TAG_OCTETS = 4  # tag numbers up to 2**28: far beyond any protocol here
_MAX_LENGTH_OCTETS = 4
_MAX_INDEFINITE_NESTING = 32  # resolving nested indefinite lengths recurses; hostile input is deep


def read_tlv(buf: bytes, off: int, end: int, proto: str = "ber") -> Tlv:
    """Read the TLV at ``off`` that must end by ``end``. Raises ``Malformed('<proto>.ber_...')``.

    An indefinite length (constructed only) is resolved by walking the contents to the
    end-of-contents octets, so callers always get a definite value range."""
    cls, constructed, number, start, stop, _next = _read(buf, off, end, proto, 0)
    return cls, constructed, number, start, stop


def iter_tlvs(buf: bytes, off: int, end: int, proto: str = "ber") -> Iterator[Tlv]:
    """Every TLV in ``buf[off:end]`` in order (the contents of a constructed value)."""
    while off < end:
        cls, constructed, number, start, stop, off = _read(buf, off, end, proto, 0)
        yield cls, constructed, number, start, stop


def _read(buf: bytes, off: int, end: int, proto: str,
          depth: int) -> tuple[int, bool, int, int, int, int]:
    """The TLV at ``off`` as (class, constructed, number, value start, value end, next offset);
    the next offset differs from the value end only after end-of-contents octets."""
    if off >= end:
        raise Malformed(f"{proto}.ber_truncated", f"no tag at offset {off}")
    first = buf[off]
    cls = first >> 6
    constructed = bool(first & 0x20)
    number = first & 0x1F
    off += 1
    if number == 0x1F:  # high tag number form, 8.1.2.4
        number = 0
        for i in range(_MAX_TAG_OCTETS + 1):
            if off >= end:
                raise Malformed(f"{proto}.ber_truncated", "tag number runs past the end")
            if i == _MAX_TAG_OCTETS:
                raise Malformed(f"{proto}.ber_bad_tag", "tag number longer than 4 octets")
            b = buf[off]
            off += 1
            number = number << 7 | (b & 0x7F)
            if not b & 0x80:
                break
    if off >= end:
        raise Malformed(f"{proto}.ber_truncated", "no length octet")
    n = buf[off]
    off += 1
    if n < 0x80:
        length = n
    elif n == 0x80:  # indefinite form, 8.1.3.6: contents end with two zero octets
        if not constructed:
            raise Malformed(f"{proto}.ber_bad_length", "indefinite length on a primitive value")
        if depth >= _MAX_INDEFINITE_NESTING:
            raise Malformed(f"{proto}.ber_too_deep", "indefinite lengths nested too deeply")
        inner = off
        while True:
            if inner + 2 <= end and buf[inner] == 0 and buf[inner + 1] == 0:
                return cls, True, number, off, inner, inner + 2
            inner = _read(buf, inner, end, proto, depth + 1)[5]
    else:
        count = n & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise Malformed(f"{proto}.ber_bad_length", f"{count} length octets")
        if off + count > end:
            raise Malformed(f"{proto}.ber_truncated", "length octets run past the end")
        length = int.from_bytes(buf[off:off + count], "big")
        off += count
    if off + length > end:
        raise Malformed(f"{proto}.ber_truncated",
                        f"value of {length} bytes at offset {off} runs past {end}")
    return cls, constructed, number, off, off + length, off + length


def integer(buf: bytes, start: int, end: int, proto: str = "ber") -> int:
    """A signed INTEGER (8.3); at most 16 octets."""
    if not 0 < end - start <= 16:
        raise Malformed(f"{proto}.ber_bad_integer", f"{end - start} octets")
    return int.from_bytes(buf[start:end], "big", signed=True)


def unsigned(buf: bytes, start: int, end: int, proto: str = "ber") -> int:
    """An INTEGER known to be non-negative (counters, lengths): leading zero octets allowed."""
    if not 0 < end - start <= 17:
        raise Malformed(f"{proto}.ber_bad_integer", f"{end - start} octets")
    return int.from_bytes(buf[start:end], "big")


def bit_string(buf: bytes, start: int, end: int, proto: str = "ber") -> str:
    """A BIT STRING (8.6) as a string of '0'/'1', first bit first (how IEC 61850 quality and
    MMS bit strings are read by people)."""
    if start >= end:
        raise Malformed(f"{proto}.ber_bad_bitstring", "no unused-bits octet")
    unused = buf[start]
    if unused > 7 or (unused and end - start == 1):
        raise Malformed(f"{proto}.ber_bad_bitstring", f"{unused} unused bits")
    bits = "".join(format(b, "08b") for b in buf[start + 1:end])
    return bits[:len(bits) - unused]
