"""Modbus/TCP framing: where units begin and end in a byte stream, and what a flow's first
bytes must look like to be claimed as Modbus.

References: MODBUS Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3 (MBAP header: the
length field counts the unit id and the PDU); MODBUS Application Protocol Specification V1.1b3,
4.1 (a PDU has at most 253 bytes).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.modbus.constants import (
    MAX_MBAP_LENGTH,
    MAX_TOLERATED_MBAP_LENGTH,
    MIN_MBAP_LENGTH,
)
from otshield.protocols.modbus.parser import (
    HEADER,
    PUBLIC_CODES,
    decode_request,
    decode_response,
)

__all__ = ["frame_size", "junk_problem", "probe"]

_U16 = struct.Struct(">H")


def frame_size(buf: bytes) -> int | None:
    """Length of the unit at the head of a stream: 6 + the MBAP length field for an ADU.

    Never raises. When the head cannot start an ADU (protocol id not 0, length outside
    2..260, function code 0), the unit returned is the run of bytes up to the next offset that
    could, which the session reports once per run (``junk_problem``) and skips. Offsets are only
    judged with the 8 bytes a header needs in hand, so where the decoder resynchronises does not
    depend on how the stream was cut into segments (the engine's own resynchronisation drops
    the rest of a segment, which would).
    """
    n = len(buf)
    if n < 8:
        return None
    if _could_start(buf, 0):
        length: int = _U16.unpack_from(buf, 4)[0]
        return 6 + length
    # A header has protocol id 0: only offsets followed by two zero bytes are worth a look.
    p = buf.find(b"\x00\x00", 3)
    while 0 <= p <= n - 6:
        if _could_start(buf, p - 2):
            return p - 2
        p = buf.find(b"\x00\x00", p + 1)
    return n - 7  # the last 7 bytes may begin a header: judge them with more data


def _could_start(buf: bytes, p: int) -> bool:
    """Could an ADU start at ``p`` (with at least 8 bytes from ``p`` on)?"""
    if p + 8 > len(buf):
        return False
    pid: int
    length: int
    fc: int
    _tid, pid, length, _unit, fc = HEADER.unpack_from(buf, p)
    return (pid == 0 and MIN_MBAP_LENGTH <= length <= MAX_TOLERATED_MBAP_LENGTH
            and fc & 0x7F != 0)


def junk_problem(head: bytes) -> tuple[str, str]:
    """(anomaly code, detail) for a skipped run of bytes that starts with ``head``."""
    if len(head) >= 4 and (pid := _U16.unpack_from(head, 2)[0]) != 0:
        return "modbus.invalid_protocol_id", f"protocol id {pid}, expected 0"
    if len(head) >= 6:
        length = _U16.unpack_from(head, 4)[0]
        if not MIN_MBAP_LENGTH <= length <= MAX_TOLERATED_MBAP_LENGTH:
            return "modbus.invalid_length", (f"MBAP length {length} outside "
                                             f"{MIN_MBAP_LENGTH}..{MAX_MBAP_LENGTH}")
    if len(head) >= 8 and head[7] & 0x7F == 0:
        return "modbus.unknown_function", f"function code {head[7]}"
    return "modbus.invalid_length", f"{len(head)} stray bytes"


def probe(buf: bytes, from_client: bool) -> bool:
    """Does the start of a flow look like Modbus/TCP? Every whole ADU at the head (at least one)
    has protocol id 0, a length within the specification and a public function code (or its
    exception form), and decodes without a single anomaly as a request or a response; whatever
    follows them is the start of another such header.

    Strict on purpose: on port 502 the engine claims the flow anyway, elsewhere a false claim
    turns another protocol into a flood of Modbus anomalies. Either direction is accepted: a flow
    may be seen from its middle, or opened by the server side."""
    n = len(buf)
    pos = units = 0
    while pos + 8 <= n and units < 8:
        _tid, pid, length, _unit, fc = HEADER.unpack_from(buf, pos)
        if (pid != 0 or length < MIN_MBAP_LENGTH or length > MAX_MBAP_LENGTH
                or fc & 0x7F not in PUBLIC_CODES):
            return False
        end = pos + 6 + length
        if end > n:
            break
        if not _clean(buf[pos:end]):
            return False
        pos = end
        units += 1
    if units == 0:
        return False
    rest = n - pos
    if 4 <= rest < 8:  # the start of a next header: its protocol id must be 0 as well
        return buf[pos + 2] == 0 and buf[pos + 3] == 0
    return True


def _clean(frame: bytes) -> bool:
    """Decodes without any anomaly in one direction or the other."""
    for decoder in (decode_request, decode_response):
        try:
            if decoder(frame).anomalies is None:
                return True
        except Malformed:
            pass
    return False
