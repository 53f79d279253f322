"""``otshield analyze``: decode, build the inventory and detect, in one pass over captures.

    analysis = run_analysis([Path("plant.pcap")], AnalyzeOptions(site="site.yaml"))
    analysis.alerts        # merged alerts, most severe first
    analysis.inventory     # the asset inventory of the same pass

The detectors are the rule engine (built-in pack plus the user's files), the zones-and-conduits
policy (when the site file has conduits), threat intelligence (when indicator files are given)
and the baseline (when asked: learn, protect or auto, where auto learns on the first
``learn_packets`` packets and then protects). Everything comes from one decode, so adding
detection costs only the detectors' own time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from otshield.config import Settings
from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline, Detector
from otshield.engine import Engine, feed_captures
from otshield.errors import ConfigError
from otshield.events import Event
from otshield.inventory.model import InventorySnapshot

if TYPE_CHECKING:
    from otshield.detect.baseline import BaselineDetector
    from otshield.policy import Policy

__all__ = ["BASELINE_MODES", "Analysis", "AnalyzeOptions", "build_detection", "run_analysis"]

BASELINE_MODES = ("off", "learn", "protect", "auto")


class AnalyzeOptions(msgspec.Struct, kw_only=True):
    """What to run. Paths are strings so the options serialise into reports as given."""

    rules: tuple[str, ...] = ()
    """Rule files or directories added to (or overriding) the built-in pack."""
    builtin_rules: bool = True
    site: str | None = None
    """Site file: zones, asset overrides and, when present, conduits (the policy)."""
    intel: tuple[str, ...] = ()
    """STIX 2.1 bundles or CSV indicator lists."""
    baseline: str | None = None
    """Baseline file: loaded when it exists (protect/auto), written after learn/auto."""
    baseline_mode: str = "off"
    learn_packets: int = 0
    """With ``auto``: learn on the first N packets, then protect (0: the baseline's own
    learning period)."""
    attack_bundle: str | None = None
    """A newer ATT&CK for ICS STIX bundle instead of the shipped table."""
    min_severity: str = "info"
    """Alerts below this severity are dropped from the result."""


class Analysis(msgspec.Struct, kw_only=True):
    """The result of one analysis run."""

    captures: list[str]
    packets: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    alerts: list[Alert] = msgspec.field(default_factory=list)
    inventory: InventorySnapshot = msgspec.field(default_factory=InventorySnapshot)
    problems: list[str] = msgspec.field(default_factory=list)
    """Captures cut short (truncated or corrupt) and detector failures, as messages."""
    detectors: list[str] = msgspec.field(default_factory=list)
    rules: int = 0
    """Rules loaded."""
    attack_version: str = ""
    seconds: float = 0.0
    options: AnalyzeOptions = msgspec.field(default_factory=AnalyzeOptions)

    def counts(self) -> dict[str, int]:
        """Alerts per severity."""
        out: dict[str, int] = {}
        for alert in self.alerts:
            out[alert.severity] = out.get(alert.severity, 0) + 1
        return out


class _Detectors(msgspec.Struct):
    detectors: list[Detector]
    rules: int
    baseline: BaselineDetector | None
    attack_version: str


def build_detection(options: AnalyzeOptions, context: AssetContext, policy: Policy | None,
           sink: Callable[[Alert], None]) -> _Detectors:
    """Every detector the options ask for, each reporting to ``sink``."""
    from otshield.detect.attack import load_attack_table
    from otshield.detect.rules import RuleEngine, load_rules

    attack = load_attack_table(Path(options.attack_bundle) if options.attack_bundle else None)
    ruleset = load_rules([Path(p) for p in options.rules], builtin=options.builtin_rules,
                         attack=attack)
    detectors: list[Detector] = [RuleEngine(ruleset, context, sink)]
    if policy is not None and policy.conduits:
        from otshield.policy import PolicyDetector

        detectors.append(PolicyDetector(policy, context, sink))
    if options.intel:
        from otshield.detect.intel import IntelDetector, load_indicators

        detectors.append(IntelDetector(load_indicators([Path(p) for p in options.intel]),
                                       context, sink))
    baseline = None
    if options.baseline_mode not in BASELINE_MODES:
        raise ConfigError(f"baseline mode must be one of {', '.join(BASELINE_MODES)}")
    if options.baseline_mode != "off":
        from otshield.detect.baseline import open_baseline_detector

        baseline = open_baseline_detector(
            Path(options.baseline) if options.baseline else None, options.baseline_mode,
            context, sink)
        detectors.append(baseline)
    return _Detectors(detectors=detectors, rules=len(ruleset), baseline=baseline,
                      attack_version=attack.version)


def run_analysis(paths: Sequence[Path], options: AnalyzeOptions | None = None, *,
                 on_event: Callable[[Event], None] | None = None,
                 on_each_alert: Callable[[Alert], None] | None = None,
                 settings: Settings | None = None) -> Analysis:
    """Decode ``paths`` in order through one engine, building the inventory and alerting.

    ``on_event`` receives every event (decoded, inventory changes, alerts' first occurrence),
    e.g. a :class:`~otshield.output.JsonlWriter`; ``on_each_alert`` every alert occurrence
    before merging (for scoring). Configuration errors raise
    :class:`ConfigError` before any capture is read."""
    from otshield.inventory import InventoryBuilder
    from otshield.policy import load_policy

    options = options or AnalyzeOptions()
    started = time.perf_counter()
    # the site file is read as a policy: its zones and overrides, and conduits when present
    policy = load_policy(Path(options.site)) if options.site else None
    site = policy.site if policy is not None else None
    inventory = InventoryBuilder()
    context = AssetContext(site, inventory)
    pipeline = DetectionPipeline([], inventory=inventory, on_event=on_event,
                                 on_each_alert=on_each_alert)
    built = build_detection(options, context, policy, pipeline.alert_sink)
    for detector in built.detectors:
        pipeline.add(detector)
    engine = Engine(pipeline, settings or Settings())
    result = Analysis(captures=[str(p) for p in paths], options=options,
                      detectors=[d.name for d in built.detectors], rules=built.rules,
                      attack_version=built.attack_version)
    baseline = built.baseline
    learn = options.learn_packets if options.baseline_mode == "auto" else 0
    switch = None
    if baseline is not None and learn:
        protect = baseline.start_protecting

        def switch() -> None:
            pipeline.run_complete()  # the batches complete by now learn, as they always did
            protect()
    result.problems.extend(feed_captures(
        engine, paths, after=(learn, switch) if switch is not None else None))
    engine.finish()
    pipeline.finish()
    if baseline is not None and options.baseline:
        baseline.save(Path(options.baseline))
    if pipeline.errors:
        result.problems.append(f"{pipeline.errors} detector error(s): see the "
                               "detect.internal_error anomaly events")
    inventory.captures.extend(result.captures)
    result.inventory = inventory.snapshot(site)
    result.alerts = [a for a in pipeline.alerts()
                     if severity_at_least(a.severity, options.min_severity)]
    result.packets = engine.stats.packets
    result.first_ts = engine.stats.first_ts
    result.last_ts = engine.stats.last_ts
    result.seconds = time.perf_counter() - started
    return result
