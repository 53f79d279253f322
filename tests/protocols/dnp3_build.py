"""Builders for DNP3 test data: link frames, transport segments, application fragments, object
headers, captures. Written from IEEE 1815-2012 independently of the decoder (its own bitwise CRC),
so that tests built with it can catch decoder mistakes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flowkit import RecordingFlow
from otshield.capture import open_capture
from otshield.config import Settings
from otshield.engine import Engine, run_capture
from otshield.events import Event
from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from otshield.protocols.dnp3 import SPEC
from otshield.protocols.registry import Registry

MASTER_IP, OUTSTATION_IP = "10.20.0.1", "10.20.0.2"
MASTER, OUTSTATION = 1, 10  # link addresses
PORT = 20000


def crc_bitwise(data: bytes) -> int:
    """DNP3 CRC-16 (poly 0x3D65, reflected, complemented), one bit at a time."""
    crc = 0
    for octet in data:
        for bit in range(8):
            mix = (crc ^ (octet >> bit)) & 1
            crc >>= 1
            if mix:
                crc ^= 0xA6BC
    return crc ^ 0xFFFF


def link_frame(control: int, dst: int, src: int, user_data: bytes = b"",
               corrupt_block: int | None = None, corrupt_header: bool = False) -> bytes:
    """A link frame: header + CRC, then user data in 16-octet blocks each followed by its CRC."""
    assert len(user_data) <= 250
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(user_data), control, dst, src)
    hcrc = crc_bitwise(head) ^ (0x0101 if corrupt_header else 0)
    out = head + struct.pack("<H", hcrc)
    for i in range(0, len(user_data), 16):
        block = user_data[i:i + 16]
        crc = crc_bitwise(block) ^ (0x8000 if corrupt_block == i // 16 else 0)
        out += block + struct.pack("<H", crc)
    return out


def segments(fragment: bytes, seq: int = 0, size: int = 249) -> list[bytes]:
    """Transport segments (header octet FIN|FIR|SEQ + up to ``size`` octets) of a fragment."""
    parts = [fragment[i:i + size] for i in range(0, len(fragment), size)] or [b""]
    out = []
    for i, part in enumerate(parts):
        header = (0x40 if i == 0 else 0) | (0x80 if i == len(parts) - 1 else 0) | ((seq + i) & 63)
        out.append(bytes([header]) + part)
    return out


def frames(fragment: bytes, from_master: bool, src: int | None = None, dst: int | None = None,
           tseq: int = 0, confirmed: bool = False, size: int = 249) -> bytes:
    """The link frames (concatenated) carrying one application fragment."""
    if src is None:
        src = MASTER if from_master else OUTSTATION
    if dst is None:
        dst = OUTSTATION if from_master else MASTER
    control = (0x80 if from_master else 0) | 0x40 | (3 if confirmed else 4)
    return b"".join(link_frame(control, dst, src, seg) for seg in segments(fragment, tseq, size))


def app_control(seq: int, fir: bool = True, fin: bool = True, con: bool = False,
                uns: bool = False) -> int:
    return (0x80 if fir else 0) | (0x40 if fin else 0) | (0x20 if con else 0) | \
        (0x10 if uns else 0) | (seq & 0x0F)


def request(function: int, seq: int, *objects: bytes, con: bool = False,
            uns: bool = False) -> bytes:
    return bytes([app_control(seq, con=con, uns=uns), function]) + b"".join(objects)


def response(seq: int, iin1: int = 0, iin2: int = 0, *objects: bytes, function: int = 129,
             fir: bool = True, fin: bool = True, con: bool = False, uns: bool = False) -> bytes:
    return bytes([app_control(seq, fir, fin, con, uns), function, iin1, iin2]) + b"".join(objects)


def header(group: int, variation: int, qualifier: int, *range_values: int) -> bytes:
    """An object header; the range field is sized from the qualifier's range code."""
    code = qualifier & 0x0F
    fmt = {0: "BB", 1: "HH", 2: "II", 3: "B", 4: "H", 5: "I", 6: "", 7: "B", 8: "H", 9: "I",
           11: "B"}[code]
    return bytes([group, variation, qualifier]) + struct.pack("<" + fmt, *range_values)


def dnp3_time(seconds_ms: int) -> bytes:
    """48-bit milliseconds since 1970, little-endian."""
    return struct.pack("<IH", seconds_ms & 0xFFFFFFFF, seconds_ms >> 32)


class Capture:
    """A pcap with one DNP3/TCP conversation between MASTER_IP and OUTSTATION_IP."""

    def __init__(self, path: Path, split: Sequence[int] | None = None,
                 chunker: object = None) -> None:
        self.path = path
        self.fh = path.open("wb")
        self.writer = PcapWriter(self.fh)
        self.conv = TcpConversation(self.writer, (MASTER_IP, 40000), (OUTSTATION_IP, PORT))
        self.conv.handshake()
        self.chunker = chunker

    def send(self, from_master: bool, data: bytes) -> Capture:
        sizes = self.chunker(len(data)) if callable(self.chunker) else None
        self.conv.send(from_master, data, segments=sizes)
        return self

    def close(self) -> Path:
        self.conv.close()
        self.fh.close()
        return self.path


def write_udp(path: Path, datagrams: Iterable[tuple[bool, bytes]]) -> Path:
    """A pcap of DNP3/UDP datagrams (from_master, payload) between the two stations."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        ts = 1_700_000_000.0
        for i, (from_master, payload) in enumerate(datagrams):
            src, dst = (MASTER_IP, OUTSTATION_IP) if from_master else (OUTSTATION_IP, MASTER_IP)
            sport, dport = (40001, PORT) if from_master else (PORT, 40001)
            udp = udp_datagram(src, dst, sport, dport, payload)
            macs = ("02:00:00:00:00:01", "02:00:00:00:00:02")
            smac, dmac = macs if from_master else macs[::-1]
            w.write(ts + i * 0.01, ethernet(smac, dmac, 0x0800, ipv4(src, dst, 17, udp, ident=i)))
    return path


def decode_dnp3(path: Path, settings: Settings | None = None) -> list[Event]:
    """Every event of a capture, decoded with DNP3 as the only protocol decoder."""
    events: list[Event] = []
    engine = Engine(events.append, settings, Registry([SPEC]))
    reader = open_capture(path)
    try:
        run_capture(reader, engine)
    finally:
        reader.close()
    engine.finish()
    return events


def of(events: Iterable[Event], dataset: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == dataset]


class FakeFlow(RecordingFlow):
    """Session-test flow: the client is the master."""

    protocol = "dnp3"

    def __init__(self, settings: Settings | None = None, transport: str = "tcp") -> None:
        super().__init__((MASTER_IP, 40000), (OUTSTATION_IP, PORT), transport, settings,
                         flow_id=3, community_id="1:dnp3-test")

    def step(self) -> FakeFlow:
        self.frame += 1
        self.ts += 0.01
        return self


