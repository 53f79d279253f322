"""Shared by the rule-pack corpus tests: one capture through decode, inventory and rules."""

from __future__ import annotations

from pathlib import Path

from otshield.config import Settings
from otshield.detect.alert import Alert
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline
from otshield.detect.rules import RuleEngine, RuleSet
from otshield.engine import Engine, feed_captures
from otshield.inventory import InventoryBuilder


def analyse_with(rules: RuleSet, path: Path) -> list[Alert]:
    """Decode, inventory and ``rules`` in one pass, as ``analyze`` does (no site file)."""
    inventory = InventoryBuilder()
    pipeline = DetectionPipeline([], inventory=inventory)
    pipeline.add(RuleEngine(rules, AssetContext(None, inventory), pipeline.alert_sink))
    engine = Engine(pipeline, Settings())
    feed_captures(engine, [path])
    engine.finish()
    pipeline.finish()
    return pipeline.alerts()
