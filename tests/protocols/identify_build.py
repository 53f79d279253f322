"""Builders for the identify-depth protocols' test vectors (written from each format's
reference, see the parser docstrings), and a fake flow for their sessions."""

from __future__ import annotations

import struct

from flowkit import RecordingFlow
from otshield.config import Settings

__all__ = ["FakeFlow", "genisys", "mc3e_request", "mc3e_response", "sbus", "xmodem"]


class FakeFlow(RecordingFlow):
    def __init__(self, settings: Settings | None = None, transport: str = "tcp") -> None:
        super().__init__(("10.0.0.10", 40000), ("10.0.0.20", 5000), transport, settings,
                         ts=1000.0)

    def step(self) -> None:
        self.ts += 0.01
        self.frame += 1


def xmodem(data: bytes) -> int:
    """CRC-16/XMODEM, bit by bit (independent of the table-driven one under test)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def modbus_crc(data: bytes) -> int:
    """CRC-16 polynomial 0xA001 reflected, initial value 0xFFFF, bit by bit."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def sbus(seq: int, attribute: int, body: bytes, version: int = 1) -> bytes:
    """S-Bus/UDP telegram: length, version, protocol type 0, sequence, attribute, body, CRC."""
    head = struct.pack(">IBBHB", 8 + 1 + len(body) + 2, version, 0, seq, attribute)
    data = head + body
    return data + struct.pack(">H", xmodem(data))


def genisys(header: int, station: int, pairs: bytes = b"", crc: bool = True) -> bytes:
    """Genisys message: header, station, pairs, CRC (LE), escaped (> 0xF0), terminator."""
    body = bytes([station]) + pairs
    if crc:
        body += struct.pack("<H", modbus_crc(bytes([header]) + body))
    escaped = b"".join(bytes([0xF0, b & 0x0F]) if b > 0xF0 else bytes([b]) for b in body)
    return bytes([header]) + escaped + b"\xf6"


def mc3e_request(command: int, sub: int, data: bytes = b"", network: int = 0, pc: int = 0xFF,
                 io: int = 0x03FF, station: int = 0, timer: int = 0x10) -> bytes:
    """MC 3E binary request: 50 00, network, PC, module I/O (LE), station, length (LE, from
    the timer), timer, command, sub-command, data."""
    tail = struct.pack("<HHH", timer, command, sub) + data
    return b"\x50\x00" + struct.pack("<BBHBH", network, pc, io, station, len(tail)) + tail


def mc3e_response(end_code: int, data: bytes = b"", network: int = 0, pc: int = 0xFF,
                  io: int = 0x03FF, station: int = 0) -> bytes:
    tail = struct.pack("<H", end_code) + data
    return b"\xd0\x00" + struct.pack("<BBHBH", network, pc, io, station, len(tail)) + tail
