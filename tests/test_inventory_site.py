"""Site files (zones, levels, overrides) with clear errors, persistence across runs, and the
``otshield inventory`` command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from otshield.cli import main
from otshield.demo import write_demo_capture
from otshield.errors import ConfigError
from otshield.inventory import load_snapshot, parse_site

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
    subnets: [10.10.30.0/24, 10.10.40.0/24]
  - name: Edge gateway
    level: 3
    subnets: [10.10.30.50/32]
assets:
  10.10.30.50: {role: ot_server, name: EDGE-GW-01}
  10.10.20.30: {purdue_level: 3}
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("site") / "demo.pcap"
    write_demo_capture(path)
    return path


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["inventory", *args, "--format", "json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_site_zones_levels_and_overrides(demo: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    snap = run_json([str(demo), "--site", str(site)], capsys)
    assets = {ip: a for a in snap["assets"] for ip in a["ips"]}
    zones = {z["name"]: z for z in snap["zones"]}
    assert zones["Control"]["security_level_target"] == 3
    assert "ip:10.10.40.10" in zones["Control"]["assets"]     # second subnet of the zone
    assert "ip:10.10.30.50" in zones["Edge gateway"]["assets"]  # most specific subnet wins
    assert "ip:10.10.30.50" not in zones["Control"]["assets"]
    edge = assets["10.10.30.50"]
    assert (edge["name"], edge["zone"]) == ("EDGE-GW-01", "Edge gateway")
    assert [(r["role"], r["source"]) for r in edge["roles"]] == [("ot_server", "override")]
    assert edge["purdue_level"] == 3
    ews = assets["10.10.20.30"]
    assert (ews["purdue_level"], ews["level_reason"]) == (3, "set by a user")
    # addresses outside the site file's subnets get proposed zones, clearly marked
    outside = [z for z in snap["zones"] if z["source"] == "proposed"]
    assert outside and all("not in the site file" in z["name"] for z in outside)
    assert any("ip:10.10.50.20" in z["assets"] for z in outside)


@pytest.mark.parametrize(("text", "message"), [
    ("zones:\n  - name: A\n    level: [1\n", "site.yaml:4"),                # YAML syntax, line
    ("zones:\n  - name: A\n    subnets: [10.0.0.0/33]\n", "zones[0].subnets[0]"),
    ("zones:\n  - name: A\n    colour: red\n", "colour"),                    # unknown key
    ("zones:\n  - name: A\n    level: 7\n", "Purdue levels are 0-5"),
    ("zones:\n  - name: A\n  - name: A\n", "defined twice"),
    ("zones:\n  - name: A\n    vlans: [5000]\n", "VLAN ids"),
    ("zones: 3\n", "Expected `array`"),
    # a key written twice: PyYAML kept the last one, and the first zones were silently lost
    ("zones:\n  - name: A\nassets: []\nzones:\n  - name: B\n", "site.yaml:4:1: invalid YAML: "
     "duplicate key 'zones'"),
])
def test_bad_site_files_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_site(text, "site.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("site.yaml")


def test_cli_reports_bad_site_file_without_traceback(demo: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("zones:\n  - name: A\n    level: 9\n")
    assert main(["inventory", str(demo), "--site", str(site)]) == 2
    err = capsys.readouterr().err
    assert "Purdue levels are 0-5" in err and "Traceback" not in err


def test_state_accumulates_across_runs_and_keeps_overrides(
        demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "inventory.json"
    events1, events2 = tmp_path / "ev1", tmp_path / "ev2"
    first = run_json([str(demo), "--state", str(state), "-o", str(events1),
                      "--set", "10.10.30.11.name=Filler PLC"], capsys)
    n = len(first["assets"])
    second = run_json([str(demo), "--state", str(state), "-o", str(events2)], capsys)
    assert len(second["assets"]) == n
    plc = next(a for a in second["assets"] if a["id"] == "ip:10.10.30.11")
    assert plc["name"] == "Filler PLC"
    modbus = next(c for c in second["conduits"] if c["client"] == "ip:10.10.20.10"
                  and c["server"] == "ip:10.10.30.11")
    once = next(c for c in first["conduits"] if c["client"] == "ip:10.10.20.10"
                and c["server"] == "ip:10.10.30.11")
    assert modbus["packets"] == 2 * once["packets"]  # the second run added its traffic
    assert second["captures"] == [str(demo), str(demo)]
    changes1 = [json.loads(x) for x in (events1 / "asset.jsonl").read_text().splitlines()]
    assert sum(c["event.action"] == "new_asset" for c in changes1) == n
    # nothing is new the second time: same devices, same roles, same firmware
    assert not (events2 / "asset.jsonl").exists()
    snap = load_snapshot(state)
    assert snap is not None and len(snap.assets) == n


def test_corrupt_state_file_is_a_clear_error(demo: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "inventory.json"
    state.write_text("{not json")
    assert main(["inventory", str(demo), "--state", str(state)]) == 2
    assert "not an otshield inventory file" in capsys.readouterr().err
    assert state.read_text() == "{not json"  # left as it was


def test_csv_and_table_formats(demo: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["inventory", str(demo), "--format", "csv", "--no-progress"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    plc = next(r for r in rows if r["ips"] == "10.10.30.31")
    assert (plc["vendor"], plc["roles"], plc["purdue_level"]) == (
        "Rockwell Automation/Allen-Bradley", "controller", "1")
    monkeypatch.setenv("COLUMNS", "220")
    assert main(["inventory", str(demo), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Assets (19)" in text and "engineering_workstation" in text and "Zones" in text


def test_bad_override_syntax(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", str(demo), "--set", "10.10.30.11"]) == 2
    assert "ASSET.FIELD=VALUE" in capsys.readouterr().err


def test_vlan_zones_take_devices_without_a_matching_subnet() -> None:
    from otshield.events import FlowEvent
    from otshield.inventory import InventoryBuilder

    site = parse_site("zones:\n  - name: Process bus\n    level: 0\n    vlans: [30]\n"
                      "  - name: Office\n    level: 4\n    subnets: [192.168.0.0/16]\n")
    b = InventoryBuilder(server_ports={})
    b(FlowEvent(ts=1.0, frame=1, start=1.0, src_ip="172.20.0.5", dst_ip="172.20.0.6",
                src_port=40000, dst_port=80, transport="tcp", protocol="http", vlan=30,
                src_mac="00:50:56:00:00:05", dst_mac="00:50:56:00:00:06",
                packets_to_server=1, packets_to_client=1))
    # a device seen only at layer 2, on VLAN 30 (as a GOOSE publisher would be)
    b.fact("mac", "00:09:8e:00:00:21", "vlan", "30", "frame", 2.0, 2)
    b.fact("mac", "00:09:8e:00:00:21", "role:controller", "IED publishing GOOSE", "goose",
           2.0, 2)
    snap = b.snapshot(site)
    zone_of = {a.id: a.zone for a in snap.assets}
    assert zone_of["ip:172.20.0.5"] == zone_of["mac:00:09:8e:00:00:21"] == "Process bus"
    ied = next(a for a in snap.assets if a.id == "mac:00:09:8e:00:00:21")
    assert ied.vlans == [30] and ied.purdue_level == 1  # its role decides its level
