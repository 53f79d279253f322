"""``otshield demo`` on the simulated plant: the demo writes the water works' capture with the
ransomware scenario, its site file and ground truth, runs the main job, and every attack stage
is detected with the right technique; the capture is protocol-correct and reproducible."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from otshield.demo import DEMO_SCENARIO, cmd_demo, write_demo_plant
from support import tshark_dissection


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    directory = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    rc = cmd_demo(argparse.Namespace(directory=str(directory)), console, console)
    return directory, rc, buf.getvalue()


def test_demo_runs_the_main_job(demo: tuple[Path, int, str]) -> None:
    directory, rc, text = demo
    assert rc == 0
    for name in ("demo-plant.pcap", "site.yaml", "truth.json", "plant-map.svg",
                 "plant-map.png"):
        assert (directory / name).stat().st_size > 0, name
    assert any((directory / "events").glob("*.jsonl"))
    assert "PLC-TREAT" in text  # the inventory
    assert "ot.s7.cpu_stop" in text  # the PLC stop was caught
    truth = json.loads((directory / "truth.json").read_text())
    assert [t["stage"] for t in truth] == ["phishing_download", "c2_beacon", "smb_spread",
                                           "rdp_to_hmi", "payload_to_hmi", "plc_stop"]
    assert all(t["scenario"] == DEMO_SCENARIO and t["techniques"] for t in truth)
    n = len(truth)
    assert f"{n} of {n} stages detected, {n} with the right technique" in text


@pytest.mark.tshark
def test_demo_capture_dissects_cleanly(demo: tuple[Path, int, str]) -> None:
    problems, seen = tshark_dissection(demo[0] / "demo-plant.pcap")
    assert not problems, problems[:5]
    assert {"modbus", "s7comm", "enip", "dnp3", "iec60870_104", "smb2", "rdp", "dns",
            "http", "kerberos"} <= seen


def test_demo_is_reproducible(demo: tuple[Path, int, str], tmp_path: Path) -> None:
    files = write_demo_plant(tmp_path)
    assert Path(files.capture).read_bytes() == (demo[0] / "demo-plant.pcap").read_bytes()
    assert Path(files.site).read_text() == (demo[0] / "site.yaml").read_text()
