"""The project-made attack capture (otshield.detect.testplant): protocol-correct for tshark,
deterministic for a seed, its ground truth consistent with its packets, its site file valid."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import pytest

from otshield.capture import open_capture
from otshield.detect.testplant import (
    HOSTS,
    STAGES,
    GroundTruth,
    site_text,
    write_attack_capture,
    write_site,
)
from otshield.engine import decode_file
from otshield.events import AnomalyEvent
from otshield.inventory.site import load_site
from support import require_tshark, tshark_dissection

EXPECTED_LAYERS = {"modbus", "mbtcp", "dnp3", "s7comm", "cotp", "tpkt", "iec60870_104",
                   "iec60870_asdu", "rdp", "smb2", "ntlmssp", "telnet", "http", "dns", "tls"}


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[GroundTruth]]:
    path = tmp_path_factory.mktemp("testplant") / "plant.pcap"
    return path, write_attack_capture(path)


def _packets(path: Path) -> list[tuple[float, bytes]]:
    with open_capture(path) as reader:
        return [(ts, bytes(data)) for ts, _link, data in reader]


@pytest.mark.tshark
def test_tshark_dissects_everything_cleanly(plant: tuple[Path, list[GroundTruth]]) -> None:
    path, _ = plant
    problems, seen = tshark_dissection(path)
    assert not problems, problems[:5]
    assert seen >= EXPECTED_LAYERS, EXPECTED_LAYERS - seen
    tshark = require_tshark()
    malformed = subprocess.run([tshark, "-n", "-r", str(path), "-Y", "_ws.malformed"],
                               capture_output=True, text=True, check=True, timeout=300).stdout
    assert malformed == ""


def test_otshield_decodes_it_without_anomalies_but_the_planted_one(
        plant: tuple[Path, list[GroundTruth]]) -> None:
    path, truth = plant
    events = decode_file(path)
    codes = [(e.code, e.frame) for e in events if isinstance(e, AnomalyEvent)]
    telnet = next(g for g in truth if g.stage == "telnet_cleartext_login")
    # The Telnet password is the only thing on the wire a decoder flags.
    assert [c for c, _ in codes] == ["telnet.cleartext_login"]
    assert telnet.first_frame <= codes[0][1] <= telnet.last_frame
    datasets = {str(type(e).__struct_config__.tag) for e in events}
    assert {"modbus", "dnp3", "s7comm", "iec104", "rdp", "smb", "smb_file", "telnet", "http",
            "dns", "tls", "flow"} <= datasets


def test_ground_truth_matches_the_packets(plant: tuple[Path, list[GroundTruth]]) -> None:
    path, truth = plant
    packets = _packets(path)
    assert [g.stage for g in truth] == [name for name, _ in STAGES]
    previous_last = 0
    for g in truth:
        assert previous_last < g.first_frame <= g.last_frame <= len(packets), g.stage
        previous_last = g.last_frame
        ts, first = packets[g.first_frame - 1]
        assert ts == pytest.approx(g.ts, abs=1e-6), g.stage
        # The first packet of a stage is the attacker's SYN to the target.
        src = bytes(int(x) for x in g.src.split("."))
        dst = bytes(int(x) for x in g.dst.split("."))
        assert first[26:30] == src and first[30:34] == dst, g.stage
        assert first[47] == 0x02, g.stage  # TCP flags: SYN
        assert g.techniques and all(t.startswith("T0") for t in g.techniques)
    # Normal operation comes first (a baseline learns on it) and goes on between the stages.
    assert truth[0].first_frame > 3000
    assert all(b.first_frame - a.last_frame > 50 for a, b in pairwise(truth))
    assert len(packets) - truth[-1].last_frame > 50


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.pcap", tmp_path / "b.pcap", tmp_path / "c.pcap"
    truth_a = write_attack_capture(a, normal_cycles=3)
    truth_b = write_attack_capture(b, normal_cycles=3)
    truth_c = write_attack_capture(c, seed=2, normal_cycles=3)
    assert a.read_bytes() == b.read_bytes() and truth_a == truth_b
    assert a.read_bytes() != c.read_bytes()
    # The story does not depend on the seed.
    assert [(g.stage, g.src, g.dst) for g in truth_a] == [(g.stage, g.src, g.dst)
                                                          for g in truth_c]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pcap", "b.pcap", "c.pcap"]


def test_site_file(tmp_path: Path) -> None:
    path = write_site(tmp_path / "site.yaml")
    site, nets = load_site(path)
    assert [(z.name, z.level) for z in site.zones] == [("Enterprise", 4), ("DMZ", 3),
                                                       ("SCADA", 2), ("Control", 1)]
    assert site.assets[HOSTS["hmi"][0]]["role"] == "hmi"
    assert site.assets[HOSTS["ews"][0]]["role"] == "engineering_workstation"
    assert site.assets[HOSTS["jump_host"][0]]["role"] == "jump_host"
    # Nobody declared the rogue laptop or the internet hosts.
    for name in ("rogue", "scanner", "c2"):
        assert HOSTS[name][0] not in site.assets
    assert len(nets) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["site.yaml"]


def test_site_file_policy_checks_clean(tmp_path: Path) -> None:
    policy = pytest.importorskip("otshield.policy")
    path = write_site(tmp_path / "site.yaml", conduits=True)
    loaded = policy.load_policy(path)
    assert [c.name for c in loaded.conduits] == ["office-to-dmz", "remote-access",
                                                 "supervisory-control", "engineering"]
    errors = [f for f in policy.lint_policy(path) if f.severity == "error"]
    assert errors == []


def test_site_text_without_conduits() -> None:
    assert "conduits:" not in site_text(conduits=False)
    assert "conduits:" in site_text(conduits=True)
