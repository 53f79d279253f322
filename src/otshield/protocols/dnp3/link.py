"""DNP3 data link layer (IEEE 1815-2012 clause 9): framing, header and block CRCs. Pure functions.

A link frame is a 10-octet header followed by user data in blocks of up to 16 octets, each
followed by its own CRC (clause 9):

    0x05 0x64 | LENGTH | CONTROL | DESTINATION (2, LE) | SOURCE (2, LE) | CRC (2, LE)
    then ceil((LENGTH - 5) / 16) blocks: DATA (<= 16) | CRC (2, LE)

LENGTH counts CONTROL, the addresses and the user data (not the start octets, itself or CRCs),
so it is 5..255 and a whole frame is 10..292 octets. CONTROL: DIR (bit 7, set from
the master), PRM (bit 6, primary/initiating station), FCB/FCV (bits 5/4, primary) or DFC (bit 4,
secondary), function code (bits 3-0). Over TCP/UDP (IEEE 1815, DNP3 over IP networks) the frames
are carried unchanged; one segment or datagram may hold several.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from otshield.errors import Malformed
from otshield.protocols.dnp3.crc import WORD_TABLE, crc16

__all__ = [
    "HEADER_SIZE",
    "MAX_FRAME_SIZE",
    "LinkFrame",
    "Unit",
    "frame_length",
    "frame_size",
    "header_ok",
    "parse_link",
    "probe",
    "scan",
]

HEADER_SIZE = 10
MAX_FRAME_SIZE = 292  # LENGTH 255: 10 + 250 data octets + 16 block CRCs
_START0, _START1 = 0x05, 0x64
_HEADER = struct.Struct("<4HH")  # the first 8 octets as four words, then the header CRC
_BLOCK = struct.Struct("<9H")  # a full 16-octet block as eight words, then its CRC
_ADDRS = struct.Struct("<HH")


class LinkFrame(NamedTuple):
    """One decoded link frame; ``data`` is the user data with the block CRCs removed (its first
    octet, when present, is the transport header)."""

    control: int
    destination: int
    source: int
    data: bytes

    @property
    def function(self) -> int:
        return self.control & 0x0F

    @property
    def from_master(self) -> bool:
        """DIR bit: the frame was sent by the master station."""
        return bool(self.control & 0x80)

    @property
    def primary(self) -> bool:
        """PRM bit: the frame initiates a link transaction (else it answers one)."""
        return bool(self.control & 0x40)


def frame_length(length: int) -> int:
    """Octets of a whole frame whose LENGTH field is ``length`` (>= 5): header, user data and
    one CRC per started 16-octet block."""
    n = length - 5
    return HEADER_SIZE + n + 2 * ((n + 15) >> 4)


def header_ok(buf: bytes, pos: int = 0) -> bool:
    """Does the 10-octet header at ``buf[pos]`` carry its CRC (octets 8-9 over 0-7)?"""
    w = WORD_TABLE
    a, b, c, d, crc = _HEADER.unpack_from(buf, pos)
    return bool((w[w[w[w[a] ^ b] ^ c] ^ d] ^ 0xFFFF) == crc)


class Unit(NamedTuple):
    """What is at a position of a DNP3 byte stream: a link frame (``problem`` None) of ``size``
    octets, or ``size`` octets of junk to skip up to the next possible frame start, with the
    anomaly (code, detail) that the junk's first octets show. ``size`` None: more octets needed.
    """

    size: int | None
    problem: tuple[str, str] | None = None


_NEED_MORE = Unit(None)


def _skip(buf: bytes, pos: int, problem: tuple[str, str]) -> Unit:
    """Junk from ``pos`` to the next 0x05 0x64 (a trailing 0x05 is kept: it may start one)."""
    nxt = buf.find(b"\x05\x64", pos + 1)
    if nxt < 0:
        nxt = len(buf) - 1 if buf[-1] == _START0 and len(buf) - 1 > pos else len(buf)
    return Unit(nxt - pos, problem)


def scan(buf: bytes, pos: int = 0) -> Unit:
    """Classify the octets at ``buf[pos]``: a link frame whose header is sound (start octets,
    LENGTH >= 5, header CRC), junk up to the next frame start, or undecided.

    The header CRC is checked here so that a corrupted LENGTH cannot misframe the rest of the
    stream: resynchronisation is on the next 0x05 0x64 whose header verifies, which depends only
    on the octets, never on how TCP segmented them."""
    n = len(buf) - pos
    if n <= 0:
        return _NEED_MORE
    first = buf[pos]
    if first != _START0:
        return _skip(buf, pos, ("dnp3.bad_start",
                                f"octet 0x{first:02x} where a link frame start (0x05 0x64) was "
                                "expected: skipped up to the next frame start"))
    if n < 2:
        return _NEED_MORE
    if buf[pos + 1] != _START1:
        return _skip(buf, pos, ("dnp3.bad_start",
                                f"octets 0x05 0x{buf[pos + 1]:02x} where a link frame start "
                                "(0x05 0x64) was expected: skipped up to the next frame start"))
    if n < HEADER_SIZE:
        return _NEED_MORE
    length = buf[pos + 2]
    if length < 5:
        return _skip(buf, pos, ("dnp3.invalid_length",
                                f"link LENGTH {length} < 5: skipped up to the next frame start"))
    if not header_ok(buf, pos):
        return _skip(buf, pos, ("dnp3.bad_crc",
                                "link header CRC mismatch: skipped up to the next frame start"))
    return Unit(frame_length(length))


def frame_size(buf: bytes) -> int | None:
    """Length of the unit at the head of ``buf``: a link frame (its 10-octet header checked,
    CRC included), or a run of junk ending where the next frame may start, which the session
    reports once and skips; None until a frame header is complete. Never raises: resynchronising
    on the next frame start (instead of on the next TCP segment) keeps the frames that follow
    junk in the same segment and makes the result independent of segmentation."""
    return scan(buf, 0).size


def probe(buf: bytes, from_client: bool) -> bool:
    """Does ``buf`` start with a DNP3 link header (start octets, sane LENGTH, valid CRC)?"""
    return (len(buf) >= HEADER_SIZE and buf[0] == _START0 and buf[1] == _START1
            and buf[2] >= 5 and header_ok(buf))


def parse_link(frame: bytes) -> LinkFrame:
    """Decode one whole link frame (exactly ``frame_size`` octets; extra trailing octets are
    ignored). Every CRC is checked: a frame with any bad CRC is unusable (the receiver
    discards it), so this raises ``Malformed('dnp3.bad_crc')`` rather than return partial data."""
    size = len(frame)
    if size < HEADER_SIZE:
        raise Malformed("dnp3.invalid_length", f"{size} octets, shorter than a link header")
    if frame[0] != _START0 or frame[1] != _START1:
        raise Malformed("dnp3.bad_start", f"frame starts with {bytes(frame[:2]).hex()}, not 0564")
    length = frame[2]
    if length < 5:
        raise Malformed("dnp3.invalid_length", f"link LENGTH {length} < 5")
    total = frame_length(length)
    if size < total:
        raise Malformed("dnp3.invalid_length",
                        f"link LENGTH {length} needs {total} octets, {size} present")
    if not header_ok(frame):
        raise Malformed("dnp3.bad_crc", "link header CRC mismatch")
    destination, source = _ADDRS.unpack_from(frame, 4)
    n = length - 5
    if n == 0:
        return LinkFrame(frame[3], destination, source, b"")
    w = WORD_TABLE
    pos = HEADER_SIZE
    pieces = []
    block = 0
    for _ in range(n >> 4):
        a, b, c, d, e, f, g, h, crc = _BLOCK.unpack_from(frame, pos)
        if (w[w[w[w[w[w[w[w[a] ^ b] ^ c] ^ d] ^ e] ^ f] ^ g] ^ h] ^ 0xFFFF) != crc:
            raise Malformed("dnp3.bad_crc", f"CRC mismatch in user data block {block}")
        pieces.append(frame[pos:pos + 16])
        pos += 18
        block += 1
    rest = n & 15
    if rest:
        end = pos + rest
        if crc16(frame, pos, end) != frame[end] | frame[end + 1] << 8:
            raise Malformed("dnp3.bad_crc", f"CRC mismatch in user data block {block}")
        pieces.append(frame[pos:end])
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    return LinkFrame(frame[3], destination, source, bytes(data))
