"""Mitsubishi MELSEC over TCP/UDP: the MC protocol (SLMP-compatible 3E and 4E frames, binary and
ASCII) and the MELSOFT engineering protocol (GX Works / GX Developer), framing, probe and
first-level parsing.

MC protocol (MELSEC Communication Protocol Reference Manual SH-080008, sections 3.1 and 5):
* 3E binary request: subheader 0x50 0x00, network, PC, request destination module I/O (u16 LE),
  station, data length (u16 LE, counted from the monitoring timer), monitoring timer, command
  (u16 LE), sub-command (u16 LE), data. Response: 0xD0 0x00, the same routing, data length,
  end code (u16 LE; 0 = normal), data.
* 4E binary: subheader 0x54 0x00 / 0xD4 0x00, serial number (u16), two zero bytes, then as 3E.
* ASCII forms: the same fields as upper-case hexadecimal text (``5000``, ``D000``, ``5400``,
  ``D400``), big-endian digit order.

MELSOFT (no public specification; layout measured on the ITI MELSEC captures, so only what is
certain is reported): over TCP a 21-byte header whose first byte is 0x57 or 0xD7 (the two
directions), zero bytes 1-4 and a little-endian body length at offset 19, then a 16-bit word
that looks like a command; over UDP port 5560 a 4-byte 0x5A 0x00 0x00 <code> broadcast answered
by 0xDA 0x00 0x00 <code> + data holding IP addresses (device discovery). These are counted as
``melsoft_*`` kinds with function class ``other`` / ``identify``: their commands (program
upload/download, run/stop from GX Works) cannot be told apart without the specification.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.identify import FactValue, Unit
from otshield.protocols.melsec.constants import COMMANDS, DEVICE_COMMANDS, SUBCOMMAND_UNITS

__all__ = ["frame_size", "parse", "probe"]

_ASCII = {b"5000": (18, 14, False), b"D000": (18, 14, True), b"5400": (26, 22, False),
          b"D400": (26, 22, True)}
"""ASCII subheader -> (header length, offset of the 4-digit data length, response)."""
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def _binary(buf: bytes) -> tuple[int, int, bool] | None:
    """(header length before the counted data, offset of the data length, response)."""
    b0 = buf[0]
    if buf[1] != 0:
        return None
    if b0 == 0x50:
        return 9, 7, False
    if b0 == 0xD0:
        return 9, 7, True
    if b0 == 0x54:
        return 13, 11, False
    if b0 == 0xD4:
        return 13, 11, True
    return None


def frame_size(buf: bytes) -> int | None:
    if len(buf) < 2:
        return None
    b0 = buf[0]
    if b0 in (0x57, 0xD7):  # MELSOFT over TCP
        if len(buf) < 21:
            return None
        return 21 + (buf[19] | buf[20] << 8)
    layout = _binary(buf)
    if layout is not None:
        head, at, _ = layout
        if len(buf) < at + 2:
            return None
        return head + (buf[at] | buf[at + 1] << 8)
    if b0 in (0x35, 0x44):  # '5' / 'D': ASCII
        if len(buf) < 4:
            return None
        alayout = _ASCII.get(bytes(buf[:4]))
        if alayout is not None:
            head, at, _ = alayout
            if len(buf) < at + 4:
                return None
            digits = buf[at:at + 4]
            if all(c in _HEX for c in digits):
                return head + int(digits, 16)
    raise Malformed("melsec.bad_subheader", f"unknown subheader {bytes(buf[:4]).hex()}")


def probe(buf: bytes, from_client: bool) -> bool:
    """A known subheader whose length field matches the bytes received (MC binary and ASCII,
    MELSOFT TCP with its zero bytes), or a 4-byte MELSOFT discovery datagram."""
    if buf[1:3] == b"\x00\x00" and (
            (buf[0] == 0x5A and len(buf) == 4) or (buf[0] == 0xDA and len(buf) >= 8)):
        return True  # MELSOFT discovery request / answer
    if len(buf) < 11:
        return False
    if buf[0] in (0x57, 0xD7) and (buf[1] > 1 or buf[2:5] != b"\x00\x00\x00"
                                   or buf[5:7] != b"\x11\x11"):
        return False
    if buf[0] in (0x5A, 0xDA):
        return False
    try:
        size = frame_size(buf)
    except Malformed:
        return False
    if size is None:
        return False
    # MELSOFT's fixed bytes are signature enough to accept more units behind the first
    return size == len(buf) or (buf[0] in (0x57, 0xD7) and size < len(buf))


def parse(frame: bytes, from_client: bool) -> Unit:
    if len(frame) < 4:
        raise Malformed("melsec.truncated", f"{len(frame)}-byte unit")
    b0 = frame[0]
    if len(frame) < 11 and b0 in (0x50, 0xD0, 0x54, 0xD4):
        raise Malformed("melsec.truncated", f"{len(frame)}-byte MC unit")
    if b0 in (0x5A, 0xDA) and frame[1:3] == b"\x00\x00":
        return Unit(f"melsoft_discovery_0x{frame[3]:02x}", "identify", b0 == 0x5A)
    if b0 in (0x57, 0xD7):
        if len(frame) < 23:
            raise Malformed("melsec.truncated", "MELSOFT header cut short")
        if 21 + (frame[19] | frame[20] << 8) != len(frame):
            raise Malformed("melsec.bad_length", "MELSOFT length differs from the unit")
        word = frame[21] | frame[22] << 8
        return Unit(f"melsoft_0x{b0:02x}_0x{word:04x}", "other", None)
    layout = _binary(frame)
    if layout is not None:
        return _mc(frame, layout, False)
    alayout = _ASCII.get(frame[:4])
    if alayout is not None:
        return _mc(frame, alayout, True)
    raise Malformed("melsec.bad_subheader", f"unknown subheader {bytes(frame[:4]).hex()}")


def _field(frame: bytes, off: int, size: int, ascii_form: bool) -> int:
    """A binary little-endian field of ``size`` bytes, or its ASCII form (2 * size hex digits,
    most significant first) at the ASCII offset."""
    if ascii_form:
        digits = frame[off:off + 2 * size]
        if len(digits) != 2 * size or not all(c in _HEX for c in digits):
            raise Malformed("melsec.bad_ascii", f"field at {off} is not {2 * size} hex digits")
        return int(digits, 16)
    if off + size > len(frame):
        raise Malformed("melsec.truncated", f"unit ends inside the field at {off}")
    return int.from_bytes(frame[off:off + size], "little")


def _mc(frame: bytes, layout: tuple[int, int, bool], ascii_form: bool) -> Unit:
    head, at, response = layout
    k = 2 if ascii_form else 1  # characters per byte
    length = _field(frame, at, 2, ascii_form)
    if head + length != len(frame):
        raise Malformed("melsec.bad_length", f"data length {length}, unit {len(frame) - head}")
    route = at - 5 * k  # network, PC, I/O (2), station
    facts: dict[str, FactValue] = {
        "network": _field(frame, route, 1, ascii_form),
        "pc": _field(frame, route + k, 1, ascii_form),
        "module_io": _field(frame, route + 2 * k, 2, ascii_form),
        "station": _field(frame, route + 4 * k, 1, ascii_form),
        "frame": ("4E" if head in (13, 26) else "3E") + (" ASCII" if ascii_form else ""),
    }
    body = head  # after the data length: timer (request) or end code (response)
    if response:
        if len(frame) < body + 2 * k:
            raise Malformed("melsec.truncated", "response without end code")
        end_code = _field(frame, body, 2, ascii_form)
        if end_code:
            facts["end_code"] = end_code
        return Unit("response" if end_code == 0 else "error_response", "other", False, facts)
    if len(frame) < body + 6 * k:
        raise Malformed("melsec.truncated", "request without command and sub-command")
    command = _field(frame, body + 2 * k, 2, ascii_form)
    sub = _field(frame, body + 4 * k, 2, ascii_form)
    name, fclass = COMMANDS.get(command, (f"command_0x{command:04x}", "other"))
    if command in DEVICE_COMMANDS:
        name = f"{name}_{SUBCOMMAND_UNITS.get(sub, f'0x{sub:04x}')}"
    return Unit(name, fclass, True, facts)
