"""What every scenario of the library shares: its declared stages and the hosts it brings.

A scenario class lists its stages (:class:`~otshield.sim.scenario.StageSpec`: name, title,
ATT&CK for ICS techniques, the rule expected to catch it, what happens) and writes them in
``play``. :class:`LibraryScenario` keeps the two honest: :meth:`LibraryScenario.stage` refuses a
stage name the class did not declare, and :func:`check_stages` (run by the registry's tests)
refuses technique ids that are not in the shipped ATT&CK for ICS table.

Time: inside one step a scenario writes a short exchange at once (a TCP conversation moves its
own clock ``conv.ts`` forward as it sends), then yields the seconds the exchange took plus the
pause before the next step (:func:`after`), so the plant's normal traffic goes on around it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import AbstractContextManager

from otshield.errors import ConfigError
from otshield.pcapwriter import TcpConversation
from otshield.sim.model import PlantModel, Point, load_plant
from otshield.sim.process import Process
from otshield.sim.scenario import ScenarioContext, SimAsset, StageSpec

__all__ = [
    "DEFAULT_GATEWAY_MAC",
    "LibraryScenario",
    "after",
    "check_stages",
    "ephemeral_port",
    "gateway_mac",
    "internet_host",
    "plant_of",
    "point",
    "process_of",
    "resume",
]

DEFAULT_GATEWAY_MAC = "00:1b:17:00:00:01"
"""The plant firewall's inside MAC when the plant model does not say (plant files'
``gateway_mac`` default)."""


class LibraryScenario:
    """Base of the library's scenarios: class attributes describe it, ``play`` writes it."""

    id: str = ""
    title: str = ""
    summary: str = ""
    stages: tuple[StageSpec, ...] = ()
    requires: tuple[str, ...] = ()
    """The plant assets the story names (those of the bundled default plant)."""

    def check_plant(self, model: PlantModel) -> None:
        """:class:`ConfigError` when ``model`` lacks an asset the story needs (a scenario of
        the library played on another plant)."""
        missing = [name for name in self.requires if name not in model.assets]
        if missing:
            raise ConfigError(f"scenario {self.id} is written for the default plant and needs "
                              f"its asset(s) {', '.join(missing)}, which plant "
                              f"{model.name!r} ({model.origin}) does not have")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        """Write the attack; yield seconds of plant time to wait between steps."""
        raise NotImplementedError

    def stage(self, ctx: ScenarioContext, name: str, src: SimAsset,
              dst: SimAsset) -> AbstractContextManager[None]:
        """``ctx.stage`` for a declared stage (a typo fails loudly, not as an unlabelled
        stage that every drill then reports as missed)."""
        if name not in {s.name for s in self.stages}:
            raise ValueError(f"scenario {self.id}: stage {name!r} is not declared")
        return ctx.stage(name, src, dst)

    def __repr__(self) -> str:
        return f"<scenario {self.id}: {len(self.stages)} stages>"


def check_stages(scenario: LibraryScenario, known_techniques: set[str] | frozenset[str]) -> None:
    """Raise :class:`ConfigError` when a stage is malformed: duplicate names, no technique,
    or a technique id not in ``known_techniques`` (the ATT&CK for ICS table)."""
    seen: set[str] = set()
    for spec in scenario.stages:
        if spec.name in seen:
            raise ConfigError(f"scenario {scenario.id}: stage {spec.name!r} declared twice")
        seen.add(spec.name)
        if not spec.techniques:
            raise ConfigError(f"scenario {scenario.id}: stage {spec.name!r} has no technique")
        unknown = [t for t in spec.techniques if t not in known_techniques]
        if unknown:
            raise ConfigError(f"scenario {scenario.id}: stage {spec.name!r} names unknown "
                              f"technique(s) {', '.join(unknown)}")
        if not (spec.title and spec.rule and spec.description):
            raise ConfigError(f"scenario {scenario.id}: stage {spec.name!r} needs a title, "
                              "an expected rule and a description")


def internet_host(ctx: ScenarioContext, name: str, ip: str) -> SimAsset:
    """An internet address joining the capture; its frames come through the plant's firewall,
    so on the wire its MAC address is the firewall's inside one."""
    return ctx.add_host(SimAsset(name=name, ip=ip, mac=gateway_mac(ctx), kind="internet"))


def gateway_mac(ctx: ScenarioContext) -> str:
    """The next hop towards the internet: the plant model's ``gateway_mac``."""
    model = getattr(ctx, "model", None)
    mac = getattr(getattr(model, "spec", None), "gateway_mac", None)
    return mac if isinstance(mac, str) and mac else DEFAULT_GATEWAY_MAC


def after(ctx: ScenarioContext, conv: TcpConversation | float, pause: float) -> float:
    """Seconds to yield so the plant clock passes the end of ``conv`` (or a packet time) and
    then waits ``pause`` more. The next step starts on a whole millisecond: its first packet's
    time is then stored exactly in the capture (pcap keeps microseconds), so the ground truth
    and the alerts read back from the capture agree to the last digit."""
    end = conv.ts if isinstance(conv, TcpConversation) else conv
    target = math.ceil(max(end, ctx.now) * 1000.0 + pause * 1000.0) / 1000.0
    return max(0.0, target - ctx.now)


def ephemeral_port(ctx: ScenarioContext, host: SimAsset) -> int:
    """A client port for a connection the scenario writes by hand: the simulator's next
    ephemeral port of ``host`` when it hands them out (so it cannot collide with the host's
    own connections), else one from the ephemeral range."""
    take = getattr(ctx, "ephemeral", None)
    port = take(host) if callable(take) else None
    return port if isinstance(port, int) else 49152 + ctx.rnd.randrange(16384)


def resume(ctx: ScenarioContext, conv: TcpConversation) -> TcpConversation:
    """A long-lived conversation picks up at the current plant time after a yield."""
    conv.ts = max(conv.ts, ctx.now)
    return conv


def process_of(ctx: ScenarioContext) -> Process:
    """The plant's process model (:mod:`otshield.sim.process`) behind ``ctx.process``."""
    process = ctx.process
    if not isinstance(process, Process):
        raise TypeError(f"the simulator's process is a {type(process).__name__}, not a Process")
    return process


def plant_of(ctx: ScenarioContext) -> PlantModel:
    """The plant model the simulator runs (``ctx.model``), or the bundled default plant the
    library's scenarios are written for when the context does not carry one."""
    model = getattr(ctx, "model", None)
    return model if isinstance(model, PlantModel) else _default_plant()


_DEFAULT: list[PlantModel] = []


def _default_plant() -> PlantModel:
    if not _DEFAULT:
        _DEFAULT.append(load_plant(None))
    return _DEFAULT[0]


def point(ctx: ScenarioContext, asset: str, tag: str, space: str) -> Point:
    """The point of ``asset`` in ``space`` (holding, coil, db, single...) that carries the
    process tag ``tag``: where a scenario writes to change that value."""
    for p in plant_of(ctx).assets[asset].points:
        if p.tag == tag and p.space == space:
            return p
    raise KeyError(f"{asset} has no {space} point for {tag}")
