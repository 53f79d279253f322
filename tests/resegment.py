"""Rewrite a capture with every TCP payload re-split into other segment sizes.

The decoded events must not change: this is how the tests prove that framing and reassembly,
not segment boundaries, decide what a decoder sees. Works on IPv4 TCP over any link type the
netstack reads; other packets are copied as they are.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from otshield.capture import open_capture
from otshield.netstack import Packet, decode
from otshield.pcapwriter import PcapWriter

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
