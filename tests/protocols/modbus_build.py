"""Modbus test kit: ADU builders, a fake flow for session tests, pcapwriter conversations."""

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

CLIENT = ("10.0.0.10", 49152)
SERVER = ("10.0.0.20", 502)


def adu(tid: int, unit: int, pdu: bytes, pid: int = 0, length: int | None = None) -> bytes:
    """MBAP header (transaction id, protocol id, length = unit id + PDU, unit id) + PDU."""
    return struct.pack(">HHHB", tid, pid, len(pdu) + 1 if length is None else length, unit) + pdu


def pdu(fc: int, fmt: str = "", *values: int) -> bytes:
    """Function code + big-endian fields (struct format without the byte order)."""
    return bytes([fc]) + struct.pack(">" + fmt, *values)


class FakeFlow(RecordingFlow):
    """Session-test flow; collects what is emitted."""

    protocol = "modbus"

    def __init__(self, settings: Settings | None = None, client_port: int = CLIENT[1],
                 server_port: int = SERVER[1]) -> None:
        super().__init__((CLIENT[0], client_port), (SERVER[0], server_port), "tcp", settings,
                         ts=1000.0)

    def step(self, seconds: float = 0.01) -> None:
        self.ts += seconds
        self.frame += 1


def write_conversation(path: Path, messages: Sequence[tuple[bool, bytes]],
                       split: Splitter = whole, client: tuple[str, int] = CLIENT,
                       server: tuple[str, int] = SERVER, close: bool = True) -> None:
    """A Modbus/TCP conversation (see ``conversation.write_conversation``)."""
    conversation.write_conversation(path, messages, split, client, server, close=close)
