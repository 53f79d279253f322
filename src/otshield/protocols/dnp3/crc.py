"""The DNP3 link-layer CRC (IEEE 1815-2012 clause 9, data link frame format).

CRC-16 with generator polynomial x^16+x^13+x^12+x^11+x^10+x^8+x^6+x^5+x^2+1 (0x3D65), processed
least significant bit first (reflected: 0xA6BC), initial value 0, result complemented and sent
low octet first. The check value of b"123456789" is 0xEA82.

Every octet of every frame passes through it, so it works two octets per step: for a 16-bit
reflected CRC the state after two octets depends only on ``crc ^ (b0 | b1 << 8)``, which a
65,536-entry table (built once at import from the 256-entry octet table) maps in one lookup.
"""

from __future__ import annotations

import os
import struct

__all__ = ["BYTE_TABLE", "WORD_TABLE", "crc16", "crc_ok", "py_crc16"]

_POLY_REFLECTED = 0xA6BC


def _byte_table() -> tuple[int, ...]:
    table = []
    for octet in range(256):
        crc = octet
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


BYTE_TABLE: tuple[int, ...] = _byte_table()
"""CRC state after one zero octet, per low octet of the state (the classic table)."""


def _word_table() -> list[int]:
    t = BYTE_TABLE
    one = [(x >> 8) ^ t[x & 0xFF] for x in range(65536)]
    return [(y >> 8) ^ t[y & 0xFF] for y in one]


WORD_TABLE: list[int] = _word_table()
"""CRC state after two zero octets, per state: ``crc = WORD_TABLE[crc ^ (b0 | b1 << 8)]``
(a list, not an array: indexing it is measurably faster on the hot path)."""
_WORDS = {n: struct.Struct(f"<{n}H") for n in range(1, 9)}  # up to one 16-octet block


def crc16(data: bytes, start: int = 0, end: int | None = None) -> int:
    """DNP3 CRC of ``data[start:end]`` (at most 16 octets per call is the common case, but any
    length works)."""
    if end is None:
        end = len(data)
    crc = 0
    word = WORD_TABLE
    pos = start
    while end - pos >= 2:
        n = min((end - pos) >> 1, 8)
        for w in _WORDS[n].unpack_from(data, pos):
            crc = word[crc ^ w]
        pos += n << 1
    if pos < end:
        crc = (crc >> 8) ^ BYTE_TABLE[(crc ^ data[pos]) & 0xFF]
    return crc ^ 0xFFFF


py_crc16 = crc16
"""The pure-Python reference, kept for tests and for installs without the C accelerator."""

if os.environ.get("OTSHIELD_PURE_PYTHON") != "1":
    try:
        from otshield._cnetstack import dnp3_crc as _c_crc
    except ImportError:
        pass
    else:

        def crc16(data: bytes, start: int = 0, end: int | None = None) -> int:
            """DNP3 CRC of ``data[start:end]`` (C implementation)."""
            return _c_crc(data, start, len(data) if end is None else end)


def crc_ok(data: bytes, start: int, end: int) -> bool:
    """True when the two octets after ``data[start:end]`` hold its CRC (low octet first)."""
    if end + 2 > len(data):
        return False
    return crc16(data, start, end) == data[end] | data[end + 1] << 8
