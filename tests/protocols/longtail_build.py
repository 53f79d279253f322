"""Test kit for the Omron FINS, Beckhoff ADS, HART-IP and IEEE C37.118 decoders: message
builders written from the specifications (independently of the decoders), capture writers,
and the tshark comparison helper."""

from __future__ import annotations

import struct
from binascii import crc_hqx
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from otshield.events import Event
from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from support import CorpusFile, tshark_fields, without_position

Splitter = Callable[[int], list[int]]

# -- capture writers -----------------------------------------------------------------------------


def write_udp(path: Path, datagrams: Sequence[tuple[tuple[str, int], tuple[str, int], bytes]],
              start: float = 1_700_000_000.0, step: float = 0.01) -> Path:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, ((sip, sport), (dip, dport), payload) in enumerate(datagrams):
            frame = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                             ipv4(sip, dip, 17, udp_datagram(sip, dip, sport, dport, payload),
                                  ident=i + 1))
            w.write(start + i * step, frame)
    return path


def write_tcp(path: Path, messages: Sequence[tuple[bool, bytes]], client: tuple[str, int],
              server: tuple[str, int], split: Splitter | None = None) -> Path:
    with path.open("wb") as fh:
        conv = TcpConversation(PcapWriter(fh), client, server).handshake()
        for from_client, payload in messages:
            conv.send(from_client, payload, segments=split(len(payload)) if split else None)
        conv.close()
    return path


def tag(e: Event) -> str:
    return str(e.__struct_config__.tag)


def only(events: Iterable[Event], dataset: str) -> list[Any]:
    return [e for e in events if tag(e) == dataset]


def codes(events: Iterable[Event]) -> list[str]:
    return [e.code for e in events if tag(e) == "anomaly"]  # type: ignore[attr-defined]


def agreement(path: CorpusFile | Path, fields: list[str], display: str,
              ours: dict[int, list[tuple[Any, ...]]],
              convert: Callable[[list[str]], list[tuple[Any, ...]]],
              extra: list[str] | None = None) -> tuple[int, int, list[str]]:
    """Compare per frame: every tuple tshark gives for a frame must match one of ours for that
    frame (tshark rows are converted by ``convert``; a None in tshark's tuple is a field tshark
    does not decode there and matches anything). Returns (agreeing, total, misses)."""
    p = path.path if isinstance(path, CorpusFile) else path
    rows = tshark_fields(p, fields, display, extra)
    good = total = 0
    misses: list[str] = []
    for row in rows:
        frame = int(row[0])
        for item in convert(row[1:]):
            total += 1
            if any(len(mine) == len(item) and all(t is None or t == m
                                                  for t, m in zip(item, mine, strict=True))
                   for mine in ours.get(frame, [])):
                good += 1
            elif len(misses) < 40:
                misses.append(f"frame {frame}: tshark {item}, ours {ours.get(frame)}")
    return good, total, misses


def replay_view(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Events without packet-position fields and timings (which re-segmentation changes)."""
    return [{k: v for k, v in d.items() if k not in ("response_time", "start")}
            for d in without_position(events)]


def split_multi(value: str) -> list[str]:
    return value.split(",") if value else []


# -- Omron FINS (W227 3-2; W342 7-4) ---------------------------------------------------------------


def fins_header(icf: int, sid: int, dna: int = 0, da1: int = 10, da2: int = 0, sna: int = 0,
                sa1: int = 20, sa2: int = 0, gct: int = 2) -> bytes:
    return bytes([icf, 0, gct, dna, da1, da2, sna, sa1, sa2, sid])


def fins_command(code: int, params: bytes, sid: int, icf: int = 0x80, **addr: int) -> bytes:
    return fins_header(icf, sid, **addr) + struct.pack(">H", code) + params


def fins_response(code: int, end: int, data: bytes, sid: int, da1: int = 20,
                  sa1: int = 10) -> bytes:
    # a response swaps the addresses: DA = the requester (SA of the command)
    return fins_header(0xC0, sid, da1=da1, sa1=sa1) + struct.pack(">HH", code, end) + data


def fins_tcp(command: int, payload: bytes, error: int = 0) -> bytes:
    return b"FINS" + struct.pack(">III", 8 + len(payload), command, error) + payload


# -- Beckhoff ADS (TE1000 2.1-2.3) ---------------------------------------------------------------


def netid(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def ams(target: str, tport: int, source: str, sport: int, cmd: int, flags: int, invoke: int,
        data: bytes, error: int = 0, tcp: bool = True) -> bytes:
    body = (netid(target) + struct.pack("<H", tport) + netid(source)
            + struct.pack("<HHHIII", sport, cmd, flags, len(data), error, invoke) + data)
    return (struct.pack("<HI", 0, len(body)) + body) if tcp else body


def ams_udp(service: int, net: str, port: int, tags: Sequence[tuple[int, bytes]],
            invoke: int = 0) -> bytes:
    out = b"\x03\x66\x14\x71" + struct.pack("<II", invoke, service) + netid(net)
    out += struct.pack("<HI", port, len(tags))
    for t, value in tags:
        out += struct.pack("<HH", t, len(value)) + value
    return out


# -- HART-IP (HCF_SPEC-085 10.2; HCF_SPEC-081) ----------------------------------------------------


def hart_ip(mtype: int, mid: int, seq: int, body: bytes, status: int = 0,
            version: int = 1) -> bytes:
    return struct.pack(">BBBBHH", version, mtype, mid, status, seq, 8 + len(body)) + body


def hart_pdu(delimiter: int, address: bytes, command: int, data: bytes,
             bad_check: bool = False) -> bytes:
    frame = bytes([delimiter]) + address + bytes([command, len(data)]) + data
    check = 0
    for b in frame:
        check ^= b
    return frame + bytes([check ^ (0xFF if bad_check else 0)])


def pack_ascii(text: str) -> bytes:
    """HART packed ASCII: each character's low six bits, four characters in three bytes."""
    out = bytearray()
    for i in range(0, len(text), 4):
        word = 0
        for ch in text[i:i + 4].ljust(4):
            word = word << 6 | (ord(ch) & 0x3F)
        out += word.to_bytes(3, "big")
    return bytes(out)


# -- IEEE C37.118.2-2011 ---------------------------------------------------------------------------


def c37_frame(ftype: int, idcode: int, soc: int, fracsec: int, body: bytes,
              version: int = 2, bad_crc: bool = False) -> bytes:
    size = 14 + len(body) + 2
    head = struct.pack(">BBHHII", 0xAA, (ftype << 4) | version, size, idcode, soc, fracsec)
    crc = crc_hqx(head + body, 0xFFFF) ^ (0x5A5A if bad_crc else 0)
    return head + body + struct.pack(">H", crc)


def name16(text: str) -> bytes:
    return text.encode().ljust(16, b" ")
