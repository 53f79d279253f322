"""The command line: decode to files and summary, clear errors, protocols and schema listings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otshield.cli import main
from otshield.demo import write_demo_capture


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "demo.pcap"
    write_demo_capture(path)
    return path


def test_decode_writes_one_jsonl_file_per_event_type(demo: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events"
    assert main(["decode", str(demo), "-o", str(out), "--no-progress"]) == 0
    files = {p.stem: p for p in out.glob("*.jsonl")}
    for expected in ("flow", "arp", "modbus", "dnp3", "s7comm", "enip", "dns", "http", "tls",
                     "ssh"):
        assert expected in files, f"no {expected}.jsonl among {sorted(files)}"
    for tag, path in files.items():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            assert record["event.dataset"] == tag
            assert isinstance(record["@timestamp"], float)
    flows = [json.loads(x) for x in files["flow"].read_text().splitlines()]
    assert {f["protocol"] for f in flows} >= {"modbus", "dnp3", "s7comm", "enip", "http"}
    assert "wrote" in capsys.readouterr().err


def test_summary_names_protocols_and_counts(demo: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping inside table cells
    assert main(["decode", str(demo), "--summary", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "253 packets" in text
    for name in ("modbus", "dnp3", "s7comm", "enip", "Largest conversations", "Events"):
        assert name in text
    # the CPU stop and the setpoint write of the demo plant are listed for the OT engineer
    ops = text[text.index("OT operations"):text.index("Largest conversations")]
    assert "plc_stop" in ops and "10.10.20.30" in ops and "WRITE_SINGLE_REGISTER" in ops
    assert "READ_HOLDING_REGISTERS" not in ops


def test_not_a_capture_is_a_clear_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("these are not packets\n")
    assert main(["decode", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "error" in err
    assert "Traceback" not in err
    assert main(["decode", str(tmp_path / "missing.pcap")]) == 2


def test_truncated_capture_is_reported_and_analysed_up_to_the_cut(
        demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.pcap"
    data = demo.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "events"
    assert main(["decode", str(cut), "-o", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "warning" in err and "cut.pcap" in err
    anomalies = [json.loads(x) for x in (out / "anomaly.jsonl").read_text().splitlines()]
    assert any(a["event.code"] == "capture.truncated" for a in anomalies)
    assert (out / "modbus.jsonl").exists()


def test_protocols_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocols", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"modbus", "dnp3", "s7comm", "enip", "dns", "http", "tls", "ssh", "smb", "rdp",
            "dhcp", "ntp", "snmp", "telnet", "ftp", "netbios"} <= names
    modbus = next(r for r in rows if r["name"] == "modbus")
    assert 502 in modbus["tcp_ports"] and modbus["anomalies"]


def test_schema_covers_every_event_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    titles = set(schema["$defs"])
    assert {"AnomalyEvent", "FlowEvent", "ArpEvent"} <= titles
    assert len(titles) >= 15


def test_demo_command_decodes_inventories_detects_and_draws_the_map(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["demo", "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Assets (20)" in out and "engineering_workstation" in out
    # the main job detects: the CPU stop of the demo plant, by rule and by the site's policy
    assert "ot.s7.cpu_stop" in out and "policy.function_not_allowed" in out
    assert "T0858 Change Operating Mode" in out
    assert (tmp_path / "site.yaml").exists()
    assert (tmp_path / "events" / "iec104.jsonl").exists()
    alerts = [json.loads(x) for x in (tmp_path / "events" / "alert.jsonl").read_text().splitlines()]
    assert "ot.s7.cpu_stop" in {a["rule.id"] for a in alerts}
    # one pass: the inventory's change events are written with the decoded ones
    actions = {json.loads(x)["event.action"]
               for x in (tmp_path / "events" / "asset.jsonl").read_text().splitlines()}
    assert {"new_asset", "new_role"} <= actions
    assert (tmp_path / "plant-map.svg").read_text().startswith("<svg")
    assert (tmp_path / "plant-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
