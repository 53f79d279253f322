"""Test kit for the engine: frames built in memory, a toy length-prefixed protocol."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from otshield.config import Settings
from otshield.engine import Engine
from otshield.errors import Malformed
from otshield.events import Event, ecs
from otshield.protocols.base import FlowContext, ProtocolSpec
from otshield.protocols.registry import Registry


class FrameList:
    """Stands in for PcapWriter: keeps (ts, frame) in memory."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self.count = 0

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        self.frames.append((ts, frame))
        self.count += 1


class ToyEvent(Event, tag="toy", rename=ecs()):
    """One toy unit: 2-byte big-endian length (of the body) + body."""

    body: str
    from_client: bool


def toy_frame_size(buf: bytes) -> int | None:
    if len(buf) < 2:
        return None
    n = struct.unpack_from("!H", buf)[0]
    if n == 0xFFFF:
        raise Malformed("toy.bad_length", "length 0xffff is reserved")
    return 2 + n


def toy_probe(buf: bytes, from_client: bool) -> bool:
    return len(buf) >= 6 and buf[2:6] == b"TOY:"


@dataclass
class ToySession:
    flow: FlowContext
    gaps: list[tuple[bool, int]] = field(default_factory=list)
    closed: bool = False

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        body = frame[2:]
        if body == b"BOOM":
            raise RuntimeError("toy decoder bug")
        self.flow.emit(ToyEvent(**self.flow.fields(from_client), body=body.decode("latin-1"),
                                from_client=from_client))

    def on_data(self, data: bytes, from_client: bool) -> None:
        raise AssertionError("framed protocol gets frames")

    def on_gap(self, from_client: bool, size: int) -> None:
        self.gaps.append((from_client, size))

    def close(self) -> None:
        self.closed = True


TOY = ProtocolSpec(name="toy", title="Toy", session_factory=ToySession,
                   tcp_ports=frozenset({7777}), udp_ports=frozenset({7777}), probe=toy_probe,
                   frame_size=toy_frame_size, event_types=(ToyEvent,),
                   anomaly_codes={"toy.bad_length": "reserved length"})


def toy_unit(body: bytes) -> bytes:
    return struct.pack("!H", len(body)) + body


def run(frames: list[tuple[float, bytes]], settings: Settings | None = None,
        linktype: int = 1, specs: list[ProtocolSpec] | None = None) -> tuple[Engine, list[Any]]:
    events: list[Any] = []
    eng = Engine(events.append, settings, Registry(specs if specs is not None else [TOY]))
    for ts, frame in frames:
        eng.feed(ts, linktype, frame)
    eng.finish()
    return eng, events


def tags(events: list[Any], tag: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == tag]
