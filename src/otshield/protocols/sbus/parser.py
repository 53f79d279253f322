"""Saia-Burgess S-Bus over Ethernet/UDP (port 5050): probe and first-level parsing.

Each datagram: length (u32, whole telegram), version (1; responses are seen with 0), protocol
type (0 = S-Bus), sequence (u16), telegram attribute (0 request, 1 response, 2 ACK/NAK), then
for a request the station (destination) address and the command code, for an ACK/NAK a 16-bit
code, and a CRC-16 (CCITT/XMODEM: polynomial 0x1021, initial value 0) over everything before
it. References:
Saia PCD "S-Bus for Ethernet" documentation; Wireshark packet-sbus.c (field layout, command
list).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.identify import Unit
from otshield.protocols.sbus.constants import ACK_CODES, COMMAND_CLASSES, COMMANDS

__all__ = ["crc16_xmodem", "parse", "probe"]

_HEAD = struct.Struct(">IBBHB")


def _table() -> tuple[int, ...]:
    out = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        out.append(c)
    return tuple(out)


_CRC = _table()


def crc16_xmodem(data: bytes) -> int:
    crc = 0
    table = _CRC
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ b]
    return crc


def probe(buf: bytes, from_client: bool) -> bool:
    """Length field equal to the datagram, version 0 or 1, protocol type 0, known attribute."""
    if len(buf) < 11:
        return False
    length, version, ptype, _, attribute = _HEAD.unpack_from(buf)
    return bool(length == len(buf) and version <= 1 and ptype == 0 and attribute <= 2)


def parse(frame: bytes, from_client: bool) -> Unit:
    if len(frame) < 11:
        raise Malformed("sbus.truncated", f"{len(frame)}-byte telegram")
    length, version, ptype, seq, attribute = _HEAD.unpack_from(frame)
    if length != len(frame):
        raise Malformed("sbus.bad_length", f"length field {length}, datagram {len(frame)}")
    if version > 1 or ptype != 0:  # responses carry version 0 in the field
        raise Malformed("sbus.bad_header", f"version {version} protocol type {ptype}")
    crc = frame[-2] << 8 | frame[-1]
    if crc16_xmodem(frame[:-2]) != crc:
        raise Malformed("sbus.bad_crc", f"sequence {seq}: CRC 0x{crc:04x} does not match")
    if attribute == 0:
        if len(frame) < 13:
            raise Malformed("sbus.truncated", "request without station and command")
        station, command = frame[9], frame[10]
        name = COMMANDS.get(command, f"unknown_0x{command:02x}")
        return Unit(name, COMMAND_CLASSES.get(command, "other"), True,
                    {"station": station, "command_first": command})
    if attribute == 1:
        return Unit("response", "other", False)
    if attribute == 2:
        code = frame[9] << 8 | frame[10] if len(frame) >= 13 else -1
        return Unit(ACK_CODES.get(code, "nak_unknown"), "other", False)
    raise Malformed("sbus.bad_header", f"telegram attribute {attribute}")
