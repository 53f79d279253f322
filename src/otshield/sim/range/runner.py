"""The live range as one object, and the drill API: up, watch, attack, collect, down.

    with LiveRange(plan) as rng:                 # namespaces, PLC servers, pollers
        rng.watch(AnalyzeOptions(site=...))      # live capture + detection on the bridge
        result = rng.attack("modbus-write")      # real traffic from the attacker namespace
        alerts = rng.wait_alerts(...)
    # everything removed here, also after an exception

:func:`run_live_drill` is what ``otshield drill run --live`` calls: it brings a range up from a
plant model (or the built-in plan), lets the polling settle so the inventory learns who is an
HMI, executes a scenario's stages as live attacks (each stage mapped to the attack whose
techniques fit it best; stages no live attack can play are listed as skipped), waits for the
alerts, brings the range down and returns alerts and ground truth (wall-clock times).

Everything the range starts runs on threads of this process (each in its host's namespace), so
ending the process ends the range's services; its namespaces are removed by :meth:`down`, by
the context manager, or afterwards by ``otshield range down`` (which finds leftovers by name).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from otshield.errors import ConfigError
from otshield.sim.range.attacks import ATTACKS, AttackContext, AttackResult, run_attack, targets
from otshield.sim.range.clients import Poller
from otshield.sim.range.netns import (
    HostAddress,
    RangeError,
    RangeNet,
    build_network,
    destroy,
    new_range_id,
    require_namespaces,
)
from otshield.sim.range.plan import RangePlan, default_plan, site_yaml
from otshield.sim.range.services import Iec104Rtu, ModbusPlc, PlantProcess, S7Plc, start_plc
from otshield.sim.scenario import GroundTruth

if TYPE_CHECKING:
    from otshield.detect.alert import Alert
    from otshield.detect.analyze import AnalyzeOptions
    from otshield.events import Event
    from otshield.livewatch import LiveWatch
    from otshield.sim.scenario import Scenario, StageSpec

__all__ = ["LiveDrillResult", "LiveRange", "plan_stages", "run_live_drill"]


class LiveRange:
    """A plan brought to life in network namespaces of this machine."""

    def __init__(self, plan: RangePlan | None = None, *, range_id: str | None = None,
                 seed: int = 1, work_dir: Path | None = None) -> None:
        self.plan = (plan or default_plan()).check()
        self.range_id = range_id or new_range_id()
        self.seed = seed
        self.net: RangeNet | None = None
        self.plant: PlantProcess | None = None
        self.plcs: dict[str, ModbusPlc | S7Plc | Iec104Rtu] = {}
        self.pollers: list[Poller] = []
        self.watcher: LiveWatch | None = None
        self._watch_thread: threading.Thread | None = None
        self.watch_error = ""
        self._alerts: list[Alert] = []
        self.seen_at: dict[str, float] = {}
        """Alert key -> wall-clock time the alert came out of detection."""
        self.thin = 1.0
        """Seconds within which further occurrences of an alert key are not kept."""
        self._kept: dict[str, float] = {}
        self._alerts_lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.work_dir = work_dir
        self.started = 0.0

    # -- life cycle -------------------------------------------------------------------------------
    def up(self, *, ready_timeout: float = 15.0) -> LiveRange:
        """Build the network, start the PLC servers and the pollers; raise RangeError (after
        removing what was made) when a server does not come up."""
        require_namespaces()
        plan = self.plan
        zones = {z.name: z for z in plan.zones}
        addresses = [HostAddress(name=h.name, ip=h.ip,
                                 prefix_len=int(zones[h.zone].subnet.split("/")[1]), mac=h.mac)
                     for h in plan.hosts]
        self.net = build_network(self.range_id, addresses, [z.subnet for z in plan.zones])
        try:
            self.started = time.time()
            self.plant = PlantProcess(plan.process(self.started))
            for spec in plan.plcs:
                host = plan.host(spec.host)
                self.plcs[spec.host] = start_plc(spec, host, self.net.host(spec.host).ns,
                                                 self.plant)
            deadline = time.monotonic() + ready_timeout
            for name, plc in self.plcs.items():
                while not plc.ready.wait(0.05):
                    if plc.thread.error is not None or time.monotonic() > deadline:
                        why = plc.thread.error or "timed out"
                        raise RangeError(f"PLC {name} did not start: {why}")
            for i, q in enumerate(plan.polls):
                poller = Poller(q, plan.host(q.client), plan.host(q.server),
                                self.net.host(q.client).ns, seed=self.seed + i,
                                points=plan.plc(q.server).points)
                poller.start()
                self.pollers.append(poller)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> list[str]:
        """Stop everything and remove the namespaces; return them. Safe to call twice."""
        if self.watcher is not None:
            self.watcher.stop()
            if self._watch_thread is not None:
                self._watch_thread.join(10)
        for poller in self.pollers:
            poller.thread.stop_event.set()
        for plc in self.plcs.values():
            plc.thread.stop_event.set()
        for poller in self.pollers:
            poller.stop()
        for plc in self.plcs.values():
            plc.stop()
        self.pollers.clear()
        self.plcs.clear()
        removed = destroy(self.range_id)
        self.net = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return removed

    def __enter__(self) -> LiveRange:
        return self.up() if self.net is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()

    # -- what runs on it ---------------------------------------------------------------------------
    @property
    def bridge(self) -> str:
        return self._net().bridge

    @property
    def switch_ns(self) -> str:
        return self._net().switch_ns

    def _net(self) -> RangeNet:
        if self.net is None:
            raise RangeError(f"range {self.range_id} is not up")
        return self.net

    def site_file(self) -> Path:
        """The range's site file (zones, assets with roles, conduits), written once."""
        if self.work_dir is not None:
            base = self.work_dir
            base.mkdir(parents=True, exist_ok=True)
        else:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix=f"{self.range_id}-")
            base = Path(self._tmp.name)
        path = base / "site.yaml"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(self.plan.site or site_yaml(self.plan), encoding="utf-8")
            tmp.replace(path)
        return path

    def watch(self, options: AnalyzeOptions | None = None, *,
              on_alert: Callable[[Alert], None] | None = None,
              on_event: Callable[[Event], None] | None = None,
              max_delay: float = 0.5, pcap: Path | None = None) -> LiveWatch:
        """Start live capture and detection on the range's bridge (a thread of this process).
        Without options: the built-in rules and the range's site file, alerts from low up.
        ``pcap``: also keep the traffic in this file."""
        from otshield.detect.analyze import AnalyzeOptions
        from otshield.livewatch import LiveWatch

        if self.watcher is not None:
            raise RangeError("the range is already watched")
        if options is None:
            options = AnalyzeOptions(site=str(self.site_file()), min_severity="low")

        def collect(alert: Alert) -> None:
            with self._alerts_lock:
                self.seen_at.setdefault(alert.key, time.time())
            if on_alert is not None:
                on_alert(alert)

        def occurrence(alert: Alert) -> None:
            # occurrences, thinned: one per alert key per ``thin`` seconds, so an attack
            # repeated later is seen again while a flood's hundreds of hits stay one
            now = time.monotonic()
            with self._alerts_lock:
                last = self._kept.get(alert.key)
                if last is None or now - last >= self.thin:
                    self._kept[alert.key] = now
                    self._alerts.append(alert)

        watcher = LiveWatch(self.bridge, options, netns=self.switch_ns, on_alert=collect,
                            on_each_alert=occurrence, on_event=on_event,
                            max_delay=max_delay, pcap=pcap)
        self.watcher = watcher

        def run() -> None:
            try:
                watcher.run()
            except Exception as exc:  # reported by status() and the drill's problems
                self.watch_error = f"live detection stopped: {type(exc).__name__}: {exc}"

        self._watch_thread = threading.Thread(target=run, name=f"watch-{self.range_id}",
                                              daemon=True)
        self._watch_thread.start()
        return watcher

    def alerts(self) -> list[Alert]:
        """Alert occurrences so far, in the order they came: every key's first, then one per
        :attr:`thin` seconds (so each stage of a drill has its own, even when an earlier stage
        raised the same alert)."""
        with self._alerts_lock:
            return list(self._alerts)

    def wait_alerts(self, predicate: Callable[[list[Alert]], bool], timeout: float
                    ) -> list[Alert]:
        """Wait until ``predicate(alerts)`` holds or ``timeout`` passes; return the alerts."""
        deadline = time.monotonic() + timeout
        while True:
            alerts = self.alerts()
            if predicate(alerts) or time.monotonic() >= deadline:
                return alerts
            time.sleep(0.1)

    def attack(self, name: str, target: str | None = None, scenario: str = "") -> AttackResult:
        net = self._net()
        ctx = AttackContext(plan=self.plan, attacker_ns=net.host(self.plan.attacker).ns,
                            scenario=scenario)
        return run_attack(name, ctx, target)

    def status(self) -> dict[str, object]:
        """What runs: PLCs (reads, writes), pollers (ok, failed), alerts, process values."""
        return {
            "range": self.range_id,
            "bridge": self.net.bridge if self.net else "",
            "switch_ns": self.net.switch_ns if self.net else "",
            "plcs": {n: {"protocol": p.spec.protocol, "reads": p.stats.reads,
                         "writes": p.stats.writes, "error": str(p.thread.error or "")}
                     for n, p in self.plcs.items()},
            "polls": [{"client": p.spec.client, "server": p.spec.server, "ok": p.stats.ok,
                       "failed": p.stats.failed, "last_error": p.stats.last_error}
                      for p in self.pollers],
            "alerts": len(self.alerts()),
            "watch_error": self.watch_error or (self.watcher.error or "" if self.watcher else ""),
            "process": self.plant.snapshot() if self.plant else {},
        }



# -- drills ----------------------------------------------------------------------------------------


def plan_stages(stages: Sequence[StageSpec]) -> tuple[list[tuple[StageSpec, str]],
                                                       list[StageSpec]]:
    """Map scenario stages to live attacks: the attack sharing most techniques with the stage;
    among those, the one whose keywords the stage's name or title contains. Returns (stage,
    attack) pairs and the stages no live attack fits."""
    played: list[tuple[StageSpec, str]] = []
    skipped: list[StageSpec] = []
    for stage in stages:
        best, rank = "", (0, 0)
        words = f"{stage.name} {stage.title}".lower()
        for name, attack in ATTACKS.items():
            overlap = len(set(attack.techniques) & set(stage.techniques))
            hits = sum(1 for k in attack.keywords if k in words)
            if overlap and (overlap, hits) > rank:
                best, rank = name, (overlap, hits)
        if best:
            played.append((stage, best))
        else:
            skipped.append(stage)
    return played, skipped


@dataclass(slots=True)
class LiveDrillResult:
    alerts: list[Alert]
    truth: list[GroundTruth]
    skipped: list[str] = field(default_factory=list)
    """Scenario stages no live attack can play."""
    details: dict[str, str] = field(default_factory=dict)
    """Per stage: what the attack did."""
    range_id: str = ""
    started: float = 0.0
    ended: float = 0.0
    seen_at: dict[str, float] = field(default_factory=dict)
    """Alert key -> wall-clock time the alert was raised."""
    capture: Path | None = None
    """The range's traffic, when kept."""
    problems: list[str] = field(default_factory=list)
    """What went wrong without stopping the drill (a poll failing, the capture ending)."""


def run_live_drill(plan: RangePlan | None = None, *, scenario: Scenario | None = None,
                   attacks: Sequence[str] | None = None, options: AnalyzeOptions | None = None,
                   settle: float = 4.0, gap: float = 2.0, linger: float = 4.0,
                   on_alert: Callable[[Alert], None] | None = None,
                   pcap: Path | None = None, seed: int = 1) -> LiveDrillResult:
    """Bring a range up, watch it, run the stages, collect alerts, bring it down.

    ``scenario``: its stages are played by the live attacks that fit them; ``attacks``: names
    from :data:`ATTACKS` played as stages of their own (default: all of them). ``settle``
    seconds of normal polling come first (the inventory learns the HMIs), ``gap`` seconds
    between stages, ``linger`` after the last for the alerts to come out."""
    if scenario is not None and attacks is not None:
        raise ConfigError("give a scenario or a list of attacks, not both")
    steps: list[tuple[str, str, tuple[str, ...]]] = []  # (stage, attack, techniques)
    skipped: list[str] = []
    scenario_id = ""
    if scenario is not None:
        scenario_id = scenario.id
        played, missing = plan_stages(scenario.stages)
        steps = [(stage.name, attack, tuple(stage.techniques)) for stage, attack in played]
        skipped = [s.name for s in missing]
    else:
        for name in attacks if attacks is not None else list(ATTACKS):
            if name not in ATTACKS:
                raise ConfigError(f"unknown live attack {name!r} (known: {', '.join(ATTACKS)})")
            steps.append((name, name, ATTACKS[name].techniques))
    rng = LiveRange(plan, seed=seed)
    truth: list[GroundTruth] = []
    details: dict[str, str] = {}
    problems: list[str] = []
    with rng:
        watcher = rng.watch(options, on_alert=on_alert, pcap=pcap)
        time.sleep(settle)
        used: dict[str, int] = {}
        for i, (stage, attack, techniques) in enumerate(steps):
            if i:
                time.sleep(gap)
            # an attack played again goes to the next PLC it fits: the same sweep of the same
            # device minutes later is inside the first one's detection window
            fit = targets(attack, rng.plan) or [""]
            target = fit[used.get(attack, 0) % len(fit)] or None
            used[attack] = used.get(attack, 0) + 1
            result = rng.attack(attack, target=target, scenario=scenario_id)
            t = result.truth
            truth.append(GroundTruth(
                stage=stage, first_frame=0, last_frame=0, ts=t.ts, src=t.src, dst=t.dst,
                techniques=techniques, rule=t.rule, description=t.description,
                scenario=scenario_id, end_ts=t.end_ts, title=t.title))
            details[stage] = result.detail
        time.sleep(linger)
        started, alerts, seen = rng.started, rng.alerts(), dict(rng.seen_at)
        problems += [f"poll {p.spec.client} -> {p.spec.server}: {p.stats.failed} failed "
                     f"({p.stats.last_error})" for p in rng.pollers if p.stats.failed]
        problems += [f"PLC {n}: {p.thread.error}" for n, p in rng.plcs.items() if p.thread.error]
        problems += [e for e in (watcher.error, rng.watch_error) if e]
    return LiveDrillResult(alerts=alerts, truth=truth, skipped=skipped, details=details,
                           range_id=rng.range_id, started=started, ended=time.time(),
                           seen_at=seen, capture=pcap, problems=problems)
