"""Run a simulated plant and write its capture: :func:`simulate`.

A discrete-event scheduler runs every traffic pattern of the plant model (:mod:`.traffic`) and,
side by side, a scenario's ``play`` generator: each is resumed at its time, writes its packets
through the :class:`Simulator` (the :class:`~otshield.sim.scenario.ScenarioContext` scenarios
see), and yields the seconds until its next step. Before each step the process model is moved
on to the step's time, so polled values, written setpoints and spoofed readings are the
process's. Packets go through a reorder buffer (:class:`~otshield.sim.wire.OrderedOutput`)
released up to the scheduler's clock: the capture is in time order and memory stays flat.

Deterministic: one seeded random source serves every choice (ports, sequence numbers, jitter,
payload randomness) in the scheduler's order, so the same seed writes the same bytes and
another seed a different capture. Packets written inside ``ctx.stage(...)`` are labelled; the
labels become the ground truth of the capture.
"""

from __future__ import annotations

import heapq
import math
import os
import random
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import msgspec

from otshield.errors import ConfigError
from otshield.pcapwriter import PcapngWriter, PcapWriter
from otshield.sim.model import PlantModel
from otshield.sim.process import Process
from otshield.sim.scenario import GroundTruth, Scenario, SimAsset, StageSpec
from otshield.sim.traffic import PATTERNS, PointMap
from otshield.sim.wire import Conversation, Direction, OrderedOutput, ip_bytes

__all__ = ["DEFAULT_DURATION", "SCENARIO_START", "SimResult", "Simulator", "simulate"]

SCENARIO_START = 120.0
"""Seconds of normal operation before a scenario begins (a baseline learns on them)."""
DEFAULT_DURATION = 600.0
"""Plant seconds written when neither a duration nor a packet count is given (and no
scenario: with one, the run lasts until the scenario ends plus :data:`SCENARIO_TAIL`)."""
SCENARIO_TAIL = 60.0


class SimResult(msgspec.Struct, kw_only=True):
    """What :func:`simulate` wrote."""

    path: str
    packets: int
    truth: list[GroundTruth]
    start: float
    end: float
    """Packet time of the last packet."""
    seed: int
    scenario: str = ""
    complete: bool = True
    """False when the packet budget or duration ended the run before the scenario did."""
    format: str = "pcap"


class _Stage:
    __slots__ = ("dst", "end_ts", "first", "last", "name", "spec", "src", "ts")

    def __init__(self, name: str, spec: StageSpec | None, src: str, dst: str) -> None:
        self.name, self.spec, self.src, self.dst = name, spec, src, dst
        self.first = self.last = 0
        self.ts = self.end_ts = 0.0


class Simulator:
    """The running plant: the scenario context and the services the patterns write with."""

    def __init__(self, model: PlantModel, out: OrderedOutput, seed: int,
                 scenario: Scenario | None = None) -> None:
        self.model = model
        self.out = out
        self._rnd = random.Random(seed)
        self._now = model.start
        self._process = model.new_process()
        self.points = PointMap(model, self._process)
        self._assets = model.sim_assets()
        self._ports: dict[str, int] = {}
        self._udp: dict[tuple[str, str, int, int], Direction] = {}
        self._ident: dict[str, int] = {}
        self._scenario = scenario
        self._specs = {s.name: s for s in scenario.stages} if scenario is not None else {}
        self.stages: list[_Stage] = []
        self._stage_index: dict[str, int] = {}
        self._stage_tag = 0

    # -- ScenarioContext --------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self._now

    @property
    def rnd(self) -> random.Random:
        return self._rnd

    @property
    def process(self) -> Process:
        return self._process

    def asset(self, name: str) -> SimAsset:
        try:
            return self._assets[name]
        except KeyError:
            raise KeyError(f"no asset {name!r} in plant {self.model.name!r} (known: "
                           f"{', '.join(sorted(self._assets))})") from None

    def add_host(self, host: SimAsset) -> SimAsset:
        known = self._assets.get(host.name)
        if known is not None and known != host:
            raise KeyError(f"asset {host.name!r} exists already with other addresses")
        self._assets[host.name] = host
        return host

    def tcp(self, client: SimAsset, server: SimAsset, port: int) -> Conversation:
        conv = Conversation(self.out, (client.ip, self.ephemeral(client)), (server.ip, port),
                            client.mac, server.mac, self._now,
                            (self._rnd.getrandbits(32), self._rnd.getrandbits(32)),
                            ident=(self._next_ident(client.ip), self._next_ident(server.ip)),
                            clock=self._clock)
        conv.handshake()
        return conv

    def udp(self, src: SimAsset, dst: SimAsset, sport: int, dport: int, payload: bytes,
            delay: float = 0.0) -> None:
        key = (src.ip, dst.ip, sport, dport)
        d = self._udp.get(key)
        if d is None:
            if len(self._udp) > 4096:  # ephemeral ports make many keys: keep the cache small
                self._udp.clear()
            d = self._udp[key] = Direction(src.ip, dst.ip, src.mac, dst.mac, 17, sport, dport)
        self.out.write(self._now + delay, d.udp(payload, self._next_ident(src.ip)))

    def frame(self, ts: float, frame: bytes) -> None:
        self.out.write(ts, frame)

    @contextmanager
    def stage(self, name: str, src: SimAsset, dst: SimAsset) -> Iterator[None]:
        if self._specs and name not in self._specs:
            raise KeyError(f"stage {name!r} is not one of the scenario's "
                           f"({', '.join(self._specs)})")
        index = self._stage_index.get(name)
        if index is None:
            self.stages.append(_Stage(name, self._specs.get(name), src.ip, dst.ip))
            index = self._stage_index[name] = len(self.stages)
        outer = self._stage_tag
        self._stage_tag = self.out.tag = index
        try:
            yield
        finally:
            self._stage_tag = self.out.tag = outer

    # -- services for the patterns ----------------------------------------------------------
    def _clock(self) -> float:
        return self._now

    def ephemeral(self, host: SimAsset) -> int:
        """The host's next ephemeral port (IANA range 49152-65535, from a seeded start)."""
        port = self._ports.get(host.ip)
        port = 49152 + self._rnd.randrange(8000) if port is None else port + 1
        if port > 65535:
            port = 49152
        self._ports[host.ip] = port
        return port

    def _next_ident(self, ip: str) -> int:
        n = self._ident.get(ip)
        n = self._rnd.randrange(0x10000) if n is None else (n + 97) & 0xFFFF
        self._ident[ip] = n
        return n

    def settle(self, conv: Conversation) -> None:
        """A long-lived connection's next packets start now (not before)."""
        if conv.ts < self._now:
            conv.ts = self._now

    def arp(self, asker: SimAsset, target: SimAsset) -> None:
        """ARP request (broadcast) and reply."""
        am, tm = bytes.fromhex(asker.mac.replace(":", "")), bytes.fromhex(
            target.mac.replace(":", ""))
        req = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + am + ip_bytes(asker.ip) + bytes(6) + \
            ip_bytes(target.ip)
        rep = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + tm + ip_bytes(target.ip) + am + \
            ip_bytes(asker.ip)
        self.out.write(self._now, b"\xff" * 6 + am + b"\x08\x06" + req + bytes(18))
        self.out.write(self._now + 0.0002, am + tm + b"\x08\x06" + rep + bytes(18))

    # -- the scheduler ----------------------------------------------------------------------
    def run(self, *, end: float | None, scenario_start: float) -> bool:
        """Run until ``end`` (plant time), the packet budget, or (``end`` None) the scenario's
        end plus a tail. Returns whether the scenario (if any) finished."""
        # (time, key, generator): keys are unique, so generators are never compared; the
        # scenario's key 0 puts it first among steps due at the same moment.
        queue: list[tuple[float, int, Iterator[float]]] = [
            (self.model.start + t.offset, key, PATTERNS[t.kind](self, t))
            for key, t in enumerate(self.model.traffic, start=1)]
        scenario_gen: Iterator[float] | None = None
        if self._scenario is not None:
            scenario_gen = self._scenario.play(self)
            queue.append((self.model.start + scenario_start, 0, scenario_gen))
        heapq.heapify(queue)
        done = scenario_gen is None
        stop = end
        while queue:
            when, key, gen = heapq.heappop(queue)
            if stop is not None and when > stop:
                break
            self._now = when
            self.out.release(when)
            if self.out.full:
                break
            self._process.advance(when)
            scenario = gen is scenario_gen
            self.out.tag = self._stage_tag if scenario else 0
            try:
                delay = next(gen)
            except StopIteration:
                if scenario:
                    done = True
                    if stop is None:
                        stop = when + SCENARIO_TAIL
                continue
            finally:
                self.out.tag = 0
            if delay == math.inf:  # "never again": the generator is done
                done = done or scenario
                continue
            if not delay > 0:  # also catches NaN
                delay = 1e-6
            heapq.heappush(queue, (when + delay, key, gen))
        return done

    def label(self, frame: int, ts: float, tag: int) -> None:
        st = self.stages[tag - 1]
        if not st.first:
            st.first, st.ts = frame, ts
        st.last, st.end_ts = frame, ts

    def truth(self) -> list[GroundTruth]:
        scenario_id = self._scenario.id if self._scenario is not None else ""
        out = []
        for st in self.stages:
            if not st.first:
                continue
            spec = st.spec
            out.append(GroundTruth(
                stage=st.name, first_frame=st.first, last_frame=st.last, ts=st.ts, src=st.src,
                dst=st.dst, techniques=spec.techniques if spec else (),
                rule=spec.rule if spec else "", description=spec.description if spec else "",
                scenario=scenario_id, end_ts=st.end_ts, title=spec.title if spec else ""))
        return sorted(out, key=lambda g: g.first_frame)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.tmp")


def simulate(model: PlantModel, out: Path, *, scenario: Scenario | None = None, seed: int = 1,
             duration: float | None = None, packets: int | None = None,
             fmt: Literal["pcap", "pcapng"] = "pcap",
             scenario_start: float = SCENARIO_START) -> SimResult:
    """Write the plant's capture to ``out`` (atomically) and return what was written.

    ``duration``: plant seconds from the start; ``packets``: stop after that many packets
    (whichever comes first). Neither: :data:`DEFAULT_DURATION`, or with a scenario until it
    ends plus a minute. ``scenario_start``: seconds of normal traffic before the scenario."""
    if fmt not in ("pcap", "pcapng"):
        raise ConfigError(f"unknown capture format {fmt!r} (pcap or pcapng)")
    if duration is not None and not duration > 0:
        raise ConfigError("the duration must be positive")
    if packets is not None and packets < 1:
        raise ConfigError("the packet count must be positive")
    if not scenario_start >= 0:
        raise ConfigError("the scenario start must be 0 or later")
    end: float | None
    if duration is not None:
        end = model.start + duration
    elif packets is None and scenario is None:
        end = model.start + DEFAULT_DURATION
    else:
        end = None
    tmp = _temp_name(out)
    try:
        with tmp.open("xb") as fh:
            writer: PcapWriter | PcapngWriter = (PcapngWriter(fh) if fmt == "pcapng"
                                                 else PcapWriter(fh))
            sim: Simulator
            output = OrderedOutput(writer, limit=packets)
            sim = Simulator(model, output, seed, scenario)
            output.label = sim.label
            complete = sim.run(end=end, scenario_start=scenario_start)
            output.close()
            fh.flush()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SimResult(path=str(out), packets=output.written, truth=sim.truth(),
                     start=model.start, end=output.last_ts, seed=seed,
                     scenario=scenario.id if scenario is not None else "", complete=complete,
                     format=fmt)
