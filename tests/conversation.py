"""Writing a TCP conversation to a capture with its payloads cut into chosen segment sizes: the
golden tests of every decoder write the same messages whole, one byte at a time and in random
pieces, and must get the same events."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

from otshield.pcapwriter import PcapWriter, TcpConversation

Splitter = Callable[[int], "list[int] | None"]
"""Payload length -> segment sizes (None: one segment)."""


def whole(n: int) -> list[int] | None:
    return None


def one_byte(n: int) -> list[int] | None:
    return [1] * n


def random_sizes(seed: int, largest: int = 9) -> Splitter:
    rnd = random.Random(seed)

    def split(n: int) -> list[int] | None:
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rnd.randint(1, largest))
        return sizes

    return split


def named_split(mode: str | None, seed: int = 7, largest: int = 9) -> Splitter:
    """The splitter a test names: None (whole), ``"byte"`` or ``"random"`` (seeded)."""
    if mode == "byte":
        return one_byte
    return random_sizes(seed, largest) if mode == "random" else whole


def write_conversation(path: Path, messages: Sequence[tuple[bool, bytes]], split: Splitter,
                       client: tuple[str, int], server: tuple[str, int],
                       handshake: bool = True, close: bool = True,
                       start: float = 1_700_000_000.0) -> None:
    """One TCP connection carrying ``messages`` (from_client, payload), each payload cut into
    segments by ``split``; every send is acknowledged by the peer."""
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        conv = TcpConversation(writer, client, server, start=start)
        if handshake:
            conv.handshake()
        for from_client, payload in messages:
            conv.send(from_client, payload, segments=split(len(payload)))
        if close:
            conv.close()
