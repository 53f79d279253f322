"""``otshield drill run SCENARIO --live``: a scenario played on the live range.

:func:`run_live_drill` brings the plant model's range up (:func:`.plan.plan_from_model`),
watches its bridge with live capture and detection, plays the scenario's stages as real attacks
from the attacker namespace (each stage by the live attack whose ATT&CK techniques fit it;
stages no live attack can play, such as IT intrusion steps, are reported as skipped), keeps the
traffic in ``out_dir/range.pcap``, brings the range down and returns alerts and ground truth
with wall-clock times. Needs root (network namespaces); raises
:class:`~otshield.sim.range.netns.RangeError` saying so otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from otshield.errors import ConfigError
from otshield.sim.range.runner import LiveDrillResult, plan_stages
from otshield.sim.range.runner import run_live_drill as _run

if TYPE_CHECKING:
    from otshield.sim.model import PlantModel

__all__ = ["LiveDrillResult", "run_live_drill"]


def run_live_drill(scenario_id: str, *, plant: PlantModel | None = None, seed: int = 1,
                   out_dir: Path, site: Path | None = None, settle: float = 5.0,
                   linger: float = 5.0) -> LiveDrillResult:
    """Play scenario ``scenario_id`` on a live range of ``plant`` (default: the bundled plant).

    ``site``: the site file detection uses (default: the plant model's own). Results carry
    ``alerts``, ``truth`` (wall clock), ``seen_at``, ``capture``, ``skipped`` and
    ``problems``."""
    from otshield.detect.analyze import AnalyzeOptions
    from otshield.sim.model import load_plant
    from otshield.sim.range.plan import plan_from_model
    from otshield.sim.scenarios import get_scenario

    scenario = get_scenario(scenario_id)
    played, _skipped = plan_stages(scenario.stages)
    if not played:
        raise ConfigError(f"no stage of scenario {scenario_id} can be played on the live range "
                          "(its techniques match none of the live attacks)")
    plan = plan_from_model(plant or load_plant(None))
    out_dir.mkdir(parents=True, exist_ok=True)
    site_path = site
    if site_path is None:
        site_path = out_dir / "range-site.yaml"
        tmp = site_path.with_suffix(".tmp")
        tmp.write_text(plan.site, encoding="utf-8")
        tmp.replace(site_path)
    options = AnalyzeOptions(site=str(site_path), min_severity="low")
    return _run(plan, scenario=scenario, options=options, pcap=out_dir / "range.pcap",
                seed=seed, settle=settle, linger=linger)
