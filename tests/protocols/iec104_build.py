"""IEC 104 test kit: APDU/ASDU builders, a fake flow for session tests, pcapwriter conversations."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import conversation
from conversation import Splitter as Splitter
from conversation import one_byte as one_byte
from conversation import random_sizes as random_sizes
from conversation import whole as whole
from flowkit import RecordingFlow
from otshield.config import Settings

CLIENT = ("10.0.0.10", 49200)
SERVER = ("10.0.0.20", 2404)

STARTDT_ACT, STARTDT_CON, STOPDT_ACT, STOPDT_CON, TESTFR_ACT, TESTFR_CON = (
    0x07, 0x0B, 0x13, 0x23, 0x43, 0x83)


def i_frame(ns: int, nr: int, asdu_bytes: bytes) -> bytes:
    """0x68, length, I-format control field (N(S) << 1, N(R) << 1, little-endian), ASDU."""
    return bytes([0x68, 4 + len(asdu_bytes)]) + struct.pack("<HH", ns << 1, nr << 1) + asdu_bytes


def s_frame(nr: int) -> bytes:
    """0x68, 4, S-format control field 01 00 and N(R) << 1."""
    return bytes([0x68, 4, 0x01, 0x00]) + struct.pack("<H", nr << 1)


def u_frame(code: int) -> bytes:
    """0x68, 4, U-format function octet, three zero octets."""
    return bytes([0x68, 4, code, 0, 0, 0])


def asdu(type_id: int, cause: int, ca: int, objects: Sequence[tuple[int, bytes]],
         sq: bool = False, negative: bool = False, test: bool = False, originator: int = 0,
         count: int | None = None) -> bytes:
    """ASDU header (type, VSQ, cause | P/N | T, originator, common address) then the objects:
    each (address, element octets); with ``sq`` only the first address is written."""
    n = len(objects) if count is None else count
    cot = cause | (0x40 if negative else 0) | (0x80 if test else 0)
    out = struct.pack("<BBBBH", type_id, n | (0x80 if sq else 0), cot, originator, ca)
    for i, (ioa, element) in enumerate(objects):
        if not sq or i == 0:
            out += struct.pack("<I", ioa)[:3]
        out += element
    return out


def cp56(year: int, month: int, day: int, hour: int, minute: int, ms: int, iv: bool = False,
         su: bool = False, dow: int = 0) -> bytes:
    """CP56Time2a: ms (2, LE), minute | IV, hour | SU, day | day of week << 5, month, year-2000."""
    return (struct.pack("<H", ms) + bytes([minute | (0x80 if iv else 0), hour | (0x80 if su else 0),
                                          day | dow << 5, month, year % 100]))


class FakeFlow(RecordingFlow):
    """Session-test flow; collects what is emitted. ``opened_by_client`` says whether the
    engine saw the TCP handshake."""

    protocol = "iec104"

    def __init__(self, settings: Settings | None = None, opened: bool = True,
                 client_port: int = CLIENT[1], server_port: int = SERVER[1]) -> None:
        super().__init__((CLIENT[0], client_port), (SERVER[0], server_port), "tcp", settings,
                         ts=1_700_000_000.0)
        self.opened_by_client = opened

    def step(self, seconds: float = 0.01) -> None:
        self.ts += seconds
        self.frame += 1


def write_conversation(path: Path, messages: Sequence[tuple[bool, bytes]],
                       split: Splitter = whole, client: tuple[str, int] = CLIENT,
                       server: tuple[str, int] = SERVER, handshake: bool = True,
                       start: float = 1_700_000_000.0) -> None:
    """An IEC 104 conversation (see ``conversation.write_conversation``)."""
    conversation.write_conversation(path, messages, split, client, server,
                                    handshake=handshake, start=start)
