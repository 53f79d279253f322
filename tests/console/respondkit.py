"""Test data for the incident-response console tests (issue #8): the simulated ransomware
attack (IT phishing, lateral movement into the control zone, a PLC stop) written once per test
process, its site file, and a kit whose console analysed it through the upload endpoint, so
correlation runs exactly as after a user's upload."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role

__all__ = ["Attack", "attack", "respond_kit", "upload_attack"]


class Attack:
    """The capture, the site file and the simulator's ground truth."""

    def __init__(self, folder: Path) -> None:
        from otshield.sim.model import load_plant
        from otshield.sim.run import simulate
        from otshield.sim.scenarios import get_scenario

        plant = load_plant(None)
        self.site = folder / "site.yaml"
        self.site.write_text(plant.site_yaml())
        self.capture = folder / "ransomware.pcap"
        result = simulate(plant, self.capture, scenario=get_scenario("ransomware_it_to_ot"),
                          seed=3)
        self.truth = result.truth
        self.attacker = self.truth[0].src
        self.stopped_plc = next(t for t in self.truth if t.stage == "plc_stop").dst


@functools.cache
def attack() -> Attack:
    return Attack(Path(tempfile.mkdtemp(prefix="otshield-respond-")))


def upload_attack(kit: ConsoleKit, role: Role = Role.ANALYST) -> dict[str, Any]:
    """Upload the attack capture, wait for its job (and the correlation after it)."""
    data = attack().capture.read_bytes()
    r = kit.client(role).post(f"{API}/captures", files={
        "file": ("ransomware.pcap", data, "application/octet-stream")})
    assert r.status_code == 202, r.text
    assert kit.app.state.jobs.wait_idle(180), "the analysis did not finish"
    job: dict[str, Any] = kit.client(role).get(f"{API}/captures/{r.json()['id']}").json()
    assert job["status"] == "done", job
    return job


@contextmanager
def respond_kit(tmp: Path, **settings: Any) -> Iterator[ConsoleKit]:
    """A console with the attack's site file that has analysed the attack capture."""
    with ConsoleKit.build(tmp, site_file=attack().site, **settings) as kit:
        upload_attack(kit)
        yield kit
