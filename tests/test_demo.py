"""The hand-written plant capture (``write_demo_capture``: the fixture of many tests and the
decode benchmarks) is protocol-correct: tshark dissects every protocol it claims to contain,
with no malformed packet and no warning or error in its expert information, and it is
reproducible. ``otshield demo`` itself runs on the simulated plant: tests/sim/test_demo_sim.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.demo import write_demo_capture
from support import tshark_dissection

EXPECTED = {"modbus", "dnp3", "s7comm", "enip", "cip", "iec60870_104", "iec60870_asdu", "goose",
            "bvlc", "bacapp", "mqtt", "pn_dcp", "dns", "http", "tls", "ssh", "arp"}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.pcap"
    write_demo_capture(path, packets=2000)
    return path


@pytest.mark.tshark
def test_tshark_finds_every_protocol_and_nothing_malformed(capture: Path) -> None:
    problems, seen = tshark_dissection(capture)
    assert not problems, problems[:5]
    assert seen >= EXPECTED, EXPECTED - seen


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.pcap", tmp_path / "b.pcap", tmp_path / "c.pcap"
    write_demo_capture(a)
    write_demo_capture(b)
    write_demo_capture(c, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
