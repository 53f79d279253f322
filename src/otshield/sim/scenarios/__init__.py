"""The scenario library: attack stories with ground truth, played on the simulated plant.

Each scenario is a class in its own module (:mod:`.ransomware`, :mod:`.rogue_laptop`...)
following :class:`otshield.sim.scenario.Scenario`: an id, a title, a summary, its stages
(:class:`~otshield.sim.scenario.StageSpec`: name, title, ATT&CK for ICS techniques, the
rule expected to catch it, what happens) and ``play``, which writes the attack beside the
plant's normal traffic. The stories are written for the bundled default plant
(``otshield/sim/plants/default.yaml``) and name its assets.

    from otshield.sim.scenarios import SCENARIOS, get_scenario
    get_scenario("industroyer_iec104").stages

The registry is explicit (one line per scenario below), never filled by import side effects.
"""

from __future__ import annotations

from otshield.errors import ConfigError
from otshield.sim.scenario import Scenario
from otshield.sim.scenarios.control_flood import ControlFlood
from otshield.sim.scenarios.industroyer import Industroyer104
from otshield.sim.scenarios.ransomware import RansomwareItToOt
from otshield.sim.scenarios.recon_sweep import ReconSweep
from otshield.sim.scenarios.rogue_laptop import RogueEngineeringLaptop
from otshield.sim.scenarios.setpoint_injection import SetpointInjection
from otshield.sim.scenarios.spoofed_values import SpoofedValues
from otshield.sim.scenarios.vendor_remote import VendorRemoteAccess

__all__ = ["SCENARIOS", "get_scenario", "scenario_ids"]

_LIBRARY: tuple[Scenario, ...] = (
    RansomwareItToOt(),
    RogueEngineeringLaptop(),
    SetpointInjection(),
    ReconSweep(),
    ControlFlood(),
    VendorRemoteAccess(),
    Industroyer104(),
    SpoofedValues(),
)

SCENARIOS: dict[str, Scenario] = {s.id: s for s in _LIBRARY}
"""Every scenario of the library by id, in the order the library presents them."""


def scenario_ids() -> list[str]:
    return list(SCENARIOS)


def get_scenario(scenario_id: str) -> Scenario:
    """The scenario ``scenario_id``; :class:`ConfigError` naming the known ids otherwise."""
    try:
        return SCENARIOS[scenario_id]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown scenario {scenario_id!r}; known scenarios: "
                          f"{', '.join(SCENARIOS)}") from None
