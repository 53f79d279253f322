"""Rewrite a capture with every TCP payload re-split into other segment sizes.

The decoded events must not change: this is how the tests prove that framing and reassembly,
not segment boundaries, decide what a decoder sees. Works on IPv4 TCP over any link type the
netstack reads; other packets are copied as they are.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from otshield.capture import open_capture
from otshield.events import AnomalyEvent, Event
from otshield.netstack import Packet, decode
from otshield.pcapwriter import PcapWriter
from support import without_position

Splitter = Callable[[int], list[int]]


def one_byte(n: int) -> list[int]:
    return [1] * n


def random_sizes(seed: int) -> Splitter:
    rnd = random.Random(seed)

    def split(n: int) -> list[int]:
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rnd.randint(1, 64))
        return sizes

    return split


def _pieces(ts: float, frame: bytes, p: Packet, split: Splitter) -> Iterable[bytes]:
    ihl = (frame[p.l3_off] & 0x0F) * 4
    l4 = p.l3_off + ihl
    doff = (frame[l4 + 12] >> 4) * 4
    l2 = frame[:p.l3_off]
    ip_head = bytearray(frame[p.l3_off:l4])
    tcp_head = bytearray(frame[l4:l4 + doff])
    payload = frame[l4 + doff:p.ip_end]
    flags = tcp_head[13]
    pos = 0
    for size in split(len(payload)):
        if pos >= len(payload):
            break
        part = payload[pos:pos + size]
        last = pos + size >= len(payload)
        tcp_head[13] = flags if last else flags & ~0x05  # FIN/RST only on the last piece
        struct.pack_into("!H", ip_head, 2, ihl + doff + len(part))
        struct.pack_into("!H", ip_head, 10, 0)
        struct.pack_into("!I", tcp_head, 4, (p.seq + pos) & 0xFFFFFFFF)
        yield l2 + bytes(ip_head) + bytes(tcp_head) + part
        pos += size


def resegment(src: Path, dst: Path, split: Splitter) -> int:
    """Write ``dst`` from ``src`` with TCP payloads re-split; returns packets written."""
    reader = open_capture(src)
    p = Packet()
    linktype_seen: int | None = None
    with dst.open("wb") as fh:
        writer: PcapWriter | None = None
        for ts, linktype, frame in reader:
            if writer is None:
                linktype_seen = linktype
                writer = PcapWriter(fh, linktype=linktype)
            if linktype != linktype_seen:
                continue  # one link type per pcap: skip others (rare: multi-interface pcapng)
            ok = decode(linktype, frame, p) is None
            if ok and p.ipver == 4 and p.proto == 6 and not p.frag and len(p.payload) > 1:
                for piece in _pieces(ts, frame, p, split):
                    writer.write(ts, piece)
            else:
                writer.write(ts, frame)
        reader.close()
        return writer.count if writer else 0


def assert_same_events(original: list[Event], replayed: list[Event], tags: set[str]) -> None:
    """The events of ``tags`` from a capture and from its re-segmented replay are the same,
    packet positions aside. When the capture itself misses segments (``tcp.gap``), data after
    a hole is held until the gap is declared, and when that happens depends on segment
    boundaries: events of different flows may then interleave differently, so only the
    multiset is compared."""
    ours = without_position(e for e in original if e.__struct_config__.tag in tags)
    theirs = without_position(e for e in replayed if e.__struct_config__.tag in tags)
    if any(isinstance(e, AnomalyEvent) and e.code == "tcp.gap" for e in original):
        def key(d: dict[str, Any]) -> str:
            return json.dumps(d, sort_keys=True)

        assert sorted(map(key, theirs)) == sorted(map(key, ours))
    else:
        assert theirs == ours
