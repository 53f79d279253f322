"""The contract between the plant simulator and its attack scenarios.

A scenario is a story told in stages (reconnaissance, lateral movement, PLC stop...). The
simulator runs the plant's normal traffic and, beside it, the scenario's ``play`` generator:
the scenario writes its packets through a :class:`ScenarioContext` and yields the seconds of
plant time to let pass before its next step, so normal polling goes on around the attack as it
would in a real plant. Packets written inside ``ctx.stage(name)`` are labelled; when the
capture is written the simulator turns the labels into :class:`GroundTruth` (first and last
frame, packet times, attacker, target, techniques), which drills and tests score against.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

import msgspec

from otshield.pcapwriter import TcpConversation

__all__ = ["GroundTruth", "Scenario", "ScenarioContext", "SimAsset", "StageSpec"]


class SimAsset(msgspec.Struct, frozen=True, kw_only=True):
    """One host of the simulated plant (or an attacker's host)."""

    name: str
    ip: str
    mac: str
    zone: str = ""
    level: int | None = None
    kind: str = ""
    """plc, rtu, hmi, scada, historian, ews, dc, office_pc, jump_host, server, laptop, internet."""
    vendor: str = ""
    protocols: tuple[str, ...] = ()


class StageSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One stage of a scenario as the scenario library documents it."""

    name: str
    title: str
    techniques: tuple[str, ...]
    """ATT&CK for ICS techniques any of which makes an alert fitting."""
    rule: str = ""
    """The rule (or rule id prefix) expected to catch it; informative."""
    description: str = ""


class GroundTruth(msgspec.Struct, frozen=True, kw_only=True):
    """One attack stage of a written capture, as a fitting alert must report it."""

    stage: str
    first_frame: int
    """First packet of the stage (1-based)."""
    last_frame: int
    ts: float
    """Packet time of the first packet."""
    src: str
    """The attacker's address."""
    dst: str
    """The target's address (the first one when the stage touches several)."""
    techniques: tuple[str, ...]
    rule: str
    description: str
    scenario: str = ""
    end_ts: float = 0.0
    """Packet time of the last packet (0: not recorded)."""
    title: str = ""


class ScenarioContext(Protocol):
    """What a scenario writes with (implemented by the simulator)."""

    @property
    def now(self) -> float:
        """Current plant time (epoch seconds)."""
        ...

    @property
    def rnd(self) -> random.Random:
        """The run's seeded random source: use it for every random choice."""
        ...

    def asset(self, name: str) -> SimAsset:
        """A plant asset by name (raises KeyError naming the known ones)."""
        ...

    def add_host(self, host: SimAsset) -> SimAsset:
        """An attacker's host (rogue laptop, internet address) joins the capture."""
        ...

    def tcp(self, client: SimAsset, server: SimAsset, port: int) -> TcpConversation:
        """A TCP connection opened now (handshake written); ``close()`` it when done."""
        ...

    def udp(self, src: SimAsset, dst: SimAsset, sport: int, dport: int, payload: bytes) -> None:
        ...

    def frame(self, ts: float, frame: bytes) -> None:
        """A raw Ethernet frame (ARP, GOOSE, PROFINET)."""
        ...

    def stage(self, name: str, src: SimAsset, dst: SimAsset) -> AbstractContextManager[None]:
        """Label every packet written inside as stage ``name`` of the scenario."""
        ...

    @property
    def process(self) -> object:
        """The plant's physical process (the simulator documents its interface)."""
        ...


class Scenario(Protocol):
    """An attack scenario of the library."""

    id: str
    title: str
    summary: str
    stages: tuple[StageSpec, ...]

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        """Write the attack; yield seconds of plant time to wait between steps."""
        ...
