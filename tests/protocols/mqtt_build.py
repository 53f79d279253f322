"""MQTT test kit: packet builders written from the specification (3.1.1 / 5.0 section 3), a
fake flow for session tests and pcapwriter conversations."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.pcapwriter import PcapWriter, TcpConversation

from .modbus_build import Splitter, one_byte, random_sizes, whole

__all__ = ["CLIENT", "SERVER", "FakeFlow", "Splitter", "connect", "one_byte", "packet", "props",
           "random_sizes", "s", "varint", "whole", "write_conversation"]

CLIENT = ("10.0.0.10", 50000)
SERVER = ("10.0.0.20", 1883)


def varint(n: int) -> bytes:
    """Variable byte integer: 7 bits per byte, least significant first (5.0 section 1.5.5)."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    """Fixed header (type << 4 | flags, remaining length) + body."""
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


def s(text: str | bytes) -> bytes:
    """UTF-8 string / binary data with its 2-byte big-endian length."""
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(raw)) + raw


def props(*items: bytes) -> bytes:
    """A v5 property block: variable-integer length, then the (id + value) items."""
    body = b"".join(items)
    return varint(len(body)) + body


def connect(client_id: str, level: int = 4, flags: int = 0x02, keep_alive: int = 60,
            properties: bytes | None = None, tail: bytes = b"") -> bytes:
    """CONNECT: protocol name, level, flags, keep alive, [v5 properties], client id, tail
    (will, user name, password as the flags announce)."""
    name = "MQIsdp" if level == 3 else "MQTT"
    body = s(name) + bytes([level, flags]) + struct.pack(">H", keep_alive)
    if level == 5:
        body += properties if properties is not None else b"\x00"
    return packet(1, 0, body + s(client_id) + tail)


class FakeFlow(RecordingFlow):
    protocol = "mqtt"

    def __init__(self, settings: Settings | None = None, client_port: int = CLIENT[1],
                 server_port: int = SERVER[1]) -> None:
        super().__init__((CLIENT[0], client_port), (SERVER[0], server_port), "tcp", settings,
                         ts=1000.0)

    def step(self, seconds: float = 0.01) -> None:
        self.ts += seconds
        self.frame += 1


def write_conversation(path: Path, messages: Sequence[tuple[bool, bytes]],
                       split: Splitter = whole, client: tuple[str, int] = CLIENT,
                       server: tuple[str, int] = SERVER) -> None:
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        conv = TcpConversation(writer, client, server).handshake()
        for from_client, payload in messages:
            conv.send(from_client, payload, segments=split(len(payload)))
        conv.close()
