"""Modbus test kit: ADU builders, a fake flow for session tests, pcapwriter conversations."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.pcapwriter import PcapWriter, TcpConversation

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


Splitter = Callable[[int], "list[int] | None"]


def whole(n: int) -> list[int] | None:
    return None


def one_byte(n: int) -> list[int] | None:
    return [1] * n


def random_sizes(seed: int) -> Splitter:
    rnd = random.Random(seed)

    def split(n: int) -> list[int] | None:
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rnd.randint(1, 9))
        return sizes

    return split


def write_conversation(path: Path, messages: Sequence[tuple[bool, bytes]],
                       split: Splitter = whole, client: tuple[str, int] = CLIENT,
                       server: tuple[str, int] = SERVER, close: bool = True) -> None:
    """One TCP connection carrying ``messages`` (from_client, payload), each payload cut into
    segments by ``split``; every send is acknowledged by the peer."""
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        conv = TcpConversation(writer, client, server).handshake()
        for from_client, payload in messages:
            conv.send(from_client, payload, segments=split(len(payload)))
        if close:
            conv.close()
