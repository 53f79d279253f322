"""`policy propose`: the written policy loads, checks without errors, and the captures it was
written from raise no violation against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.demo import write_demo_capture
from otshield.detect.alert import Alert, AlertAggregator
from otshield.engine import decode_file
from otshield.policy import PolicyDetector, lint_text, parse_policy
from otshield.policy.propose import propose_policy
from support import PCAPS, corpus_files

SITE = """\
site: Demo plant
zones:
  - name: Enterprise
    level: 4
    security_level_target: 1
    subnets: [10.10.10.0/24]
  - name: Supervisory
    level: 2
    security_level_target: 2
    subnets: [10.10.20.0/24]
  - name: Control
    level: 1
    security_level_target: 3
    subnets: [10.10.30.0/24]
  - name: Substation
    level: 1
    subnets: [10.10.40.0/24]
assets:
  10.10.30.21: {name: S7-PLC}
conduits:
  - name: old
    from: Supervisory
    to: Control
    protocols: [modbus]
remote_access:
  jump_hosts: [10.10.20.30]
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("propose") / "demo.pcap"
    write_demo_capture(path)
    return path


def violations(text: str, capture: Path) -> list[Alert]:
    policy = parse_policy(text, "proposed.yaml")
    aggregator = AlertAggregator()
    detector = PolicyDetector(policy, None, aggregator)
    for event in decode_file(capture):
        detector.observe(event)
    detector.finish()
    return aggregator.alerts()


def errors(text: str) -> list[str]:
    return [str(f) for f in lint_text(text, "proposed.yaml") if f.severity == "error"]


def test_demo_without_site_round_trips(demo: Path) -> None:
    proposal = propose_policy([demo])
    assert errors(proposal.text) == []
    assert violations(proposal.text, demo) == []
    assert proposal.text.startswith("# Zones-and-conduits policy proposed by")
    assert proposal.zones == proposal.proposed_zones == 9
    assert proposal.conduits == 8
    # the HMI's Modbus conduit, with the evidence behind it
    assert ('  - name: "10.10.20.0/24 · level 2 -> 10.10.30.0/24 · level 1 (modbus)"\n'
            '    from: "10.10.20.0/24 · level 2"\n'
            '    to: "10.10.30.0/24 · level 1"\n'
            '    # modbus: 2 flows, 19 requests (read 16, identify 2, write 1)\n'
            '    protocols: ["modbus"]\n'
            '    functions: ["identify", "read", "write"]\n') in proposal.text
    # a subnet mixing Purdue levels is split, its addresses listed
    assert ('  - name: "10.10.30.0/24 · level 1"\n'
            '    # proposed: 10.10.30.0/24 mixes Purdue levels, so its level-1 addresses are '
            'listed\n    level: 1\n') in proposal.text
    # same input, same output
    assert propose_policy([demo]).text == proposal.text


def test_demo_with_site_keeps_its_zones_and_assets(demo: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    proposal = propose_policy([demo], site)
    assert errors(proposal.text) == []
    assert violations(proposal.text, demo) == []
    policy = parse_policy(proposal.text)
    names = [z.name for z in policy.zones]
    assert names[:4] == ["Enterprise", "Supervisory", "Control", "Substation"]
    assert proposal.proposed_zones == 3  # 10.10.25.0/24 (MQTT broker), 10.10.50.0/24 (BACnet)
    assert policy.jump_hosts == ("10.10.20.30",)
    assert policy.site[0].assets["10.10.30.21"] == {"name": "S7-PLC"}
    assert "old" not in {c.name for c in policy.conduits}  # replaced by the observed ones
    s7 = next(c for c in policy.conduits if c.protocols == {"s7comm"})
    assert (s7.from_zone, s7.to_zone) == ("Supervisory", "Control")
    assert s7.functions == {"control", "read"}
    # against the site's own narrower policy the same capture does violate
    assert violations(SITE, demo) != []


def test_bad_site_file_is_a_config_error(demo: Path, tmp_path: Path) -> None:
    from otshield.errors import ConfigError
    site = tmp_path / "site.yaml"
    site.write_text("zones:\n  - name: A\n    level: 9\n")
    with pytest.raises(ConfigError, match=r"site.yaml:3: zones\[0\].level"):
        propose_policy([demo], site)


CORPUS = [c for c in corpus_files() if str(c.path.relative_to(PCAPS)) in {
    "lemay-modbus/CnC_uploading_exe_modbus_6RTU_with_operate.pcap",
    "qut-dnp3/Injection_testing_frequent_attacker.pcap",
}]


@pytest.mark.corpus
@pytest.mark.skipif(len(CORPUS) < 2, reason=f"corpus captures not found under {PCAPS}")
@pytest.mark.parametrize("index", [0, 1])
def test_corpus_captures_round_trip(index: int) -> None:
    capture = CORPUS[index].path
    proposal = propose_policy([capture])
    assert errors(proposal.text) == []
    assert proposal.conduits >= 1
    assert violations(proposal.text, capture) == []
