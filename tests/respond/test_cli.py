"""``otshield incidents`` and ``otshield playbook ...`` end to end on a project-made capture,
and the nftables proposal checked by nft itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from otshield.cli import main
from otshield.detect.testplant import write_attack_capture, write_site
from otshield.respond.actions import nftables_block_rules
from otshield.respond.incident import Incident, IncidentAsset
from otshield.respond.notify import Outbox
from otshield.respond.runner import run_from_json
from otshield.store.db import connect


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("respond")
    write_attack_capture(d / "plant.pcap")
    write_site(d / "site.yaml")
    assert main(["analyze", str(d / "plant.pcap"), "--site", str(d / "site.yaml"),
                 "-o", str(d / "out"), "--fail-on", "critical"]) in (0, 3)
    return d


def test_incidents_from_alerts(analysed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["incidents", str(analysed / "out" / "alert.jsonl"), "--format", "json"]) == 0
    incidents = json.loads(capsys.readouterr().out)
    assert len(incidents) == 3
    rogue = next(i for i in incidents if "ot.s7.cpu_stop" in i["rules"])
    assert rogue["severity"] == "critical"
    assert {p["name"] for p in rogue["playbooks"]} >= {"Unauthorised PLC program change"}
    assert all(i["explanation"][0].startswith("opened by ") for i in incidents)


def test_playbook_run_walks_through_with_an_ot_gate(analysed: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    state = analysed / "run.json"
    outbox = analysed / "outbox.db"
    base = ["playbook", "run", "unauthorised-plc-program-change", "--state", str(state),
            "--outbox", str(outbox)]
    assert main([*base, "--alerts", str(analysed / "out" / "alert.jsonl"),
                 "--as", "ana:analyst"]) == 0
    run = run_from_json(state.read_bytes(), "run")
    assert run.incident.severity == "critical" and "ot.s7.cpu_stop" in run.incident.rules
    assert main([*base, "--as", "ana:analyst", "--tick", "1:0", "--tick", "1:1", "--tick",
                 "1:2", "--complete", "1"]) == 0
    # The page went to the outbox; the decision is next.
    assert len(Outbox(connect(str(outbox))).pending_ids()) == 1
    assert main([*base, "--as", "otto:ot_engineer", "--decide", "1=unexplained"]) == 0
    out = capsys.readouterr().out
    assert "waits for OT approval" in out
    # An analyst cannot approve; the error is reported, nothing is lost.
    assert main([*base, "--as", "ana:analyst", "--approve", "1"]) == 2
    assert "may not approve OT actions" in capsys.readouterr().err
    assert main([*base, "--as", "otto:ot_engineer", "--approve", "1"]) == 0
    run = run_from_json(state.read_bytes(), "run")
    assert any(e.kind == "approved" and e.actor == "otto (ot_engineer)" for e in run.timeline)


def test_validate_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbook", "export", "--all", "-o", str(tmp_path / "lib")]) == 0
    files = sorted((tmp_path / "lib").glob("*.json"))
    assert len(files) == 6
    assert main(["playbook", "validate", *map(str, files)]) == 0
    doc = json.loads(files[0].read_text())
    step = next(k for k, v in doc["workflow"].items() if v["type"] == "action")
    doc["workflow"][step]["on_completion"] = "end--00000000-0000-4000-8000-000000000000"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    (tmp_path / "junk.json").write_text("{not json")
    capsys.readouterr()
    assert main(["playbook", "validate", str(broken), str(tmp_path / "junk.json")]) == 1
    out = capsys.readouterr().out
    assert "invalid" in out and "not a step of the workflow" in out
    assert "line 1: invalid JSON" in out


def test_unknown_playbook_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbook", "show", "no-such-playbook"]) == 2
    assert "no playbook 'no-such-playbook'" in capsys.readouterr().err


def test_nftables_proposal_is_accepted_by_nft() -> None:
    nft = shutil.which("nft")
    inc = Incident(id="INC-7", title="t", severity="high",
                   assets=[IncidentAsset(ip="10.10.30.99", attacker=True),
                           IncidentAsset(ip="2001:db8::66", attacker=True),
                           IncidentAsset(ip="10.10.30.21", level=1)])
    rules = nftables_block_rules(inc, "run-1")
    assert "ip saddr { 10.10.30.99 } counter drop" in rules
    assert "ip6 daddr { 2001:db8::66 } counter drop" in rules
    assert "10.10.30.21" not in rules  # never the plant's own controller
    if nft is None:
        pytest.skip("nft is not installed: the syntax check needs it")
    res = subprocess.run([nft, "-c", "-f", "-"], input=rules, text=True, capture_output=True,
                         check=False)
    if res.returncode != 0 and "Operation not permitted" in res.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert res.returncode == 0, res.stderr
