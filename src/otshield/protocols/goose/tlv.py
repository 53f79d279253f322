"""A fast BER TLV walk for the IEC 61850 link-layer protocols (GOOSE, Sampled Values).

GOOSE and SV frames are read on the packet path (SV at 4000 to 14400 frames a second per
stream), and every publisher encodes them with low tag numbers and definite lengths of at most
two octets (X.690 8.1.2.2 and 8.1.3.5). This walk reads exactly those forms in one tight loop;
anything else (an indefinite or longer length, a high tag number, a value running past its
container) goes through the general reader ``ber.iter_tlvs``, which resolves the legal forms
and names what is wrong with the others, so the results never depend on which path ran.
"""

from __future__ import annotations

from otshield.protocols.ber import iter_tlvs

__all__ = ["children"]


def children(buf: bytes, off: int, end: int, proto: str) -> list[tuple[int, int, int]]:
    """(identifier octet, value start, value end) of every TLV in ``buf[off:end]``.

    The identifier octet carries class (bits 8-7), constructed (bit 6) and a tag number below
    31 (bits 5-1); a high tag number is reported as number 31, which matches no field of these
    protocols. Raises ``Malformed('<proto>.ber_*')`` for broken encodings."""
    out: list[tuple[int, int, int]] = []
    pos = off
    while pos < end:
        if pos + 2 > end:
            break
        tag = buf[pos]
        n = buf[pos + 1]
        if tag & 0x1F == 0x1F:
            break
        if n < 0x80:
            s = pos + 2
            e = s + n
        elif n == 0x81 and pos + 3 <= end:
            s = pos + 3
            e = s + buf[pos + 2]
        elif n == 0x82 and pos + 4 <= end:
            s = pos + 4
            e = s + (buf[pos + 2] << 8 | buf[pos + 3])
        else:
            break
        if e > end:
            break
        out.append((tag, s, e))
        pos = e
    else:
        return out
    return [((cls << 6) | (0x20 if cons else 0) | min(num, 0x1F), s, e)
            for cls, cons, num, s, e in iter_tlvs(buf, off, end, proto)]
