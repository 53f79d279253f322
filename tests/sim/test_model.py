"""The plant model: the bundled plant loads, hand-written mistakes are reported with file and
line, and the site file written from the model is one the policy loader accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.errors import ConfigError
from otshield.inventory.site import parse_site
from otshield.policy.loader import load_policy
from otshield.sim.model import load_plant, parse_plant

MINIMAL = """\
plant: Test works
zones:
  - {name: Office, level: 4, subnet: 10.1.1.0/24}
  - {name: Control, level: 1, subnet: 10.1.2.0/24}
assets:
  - {name: HMI, kind: hmi, zone: Office, ip: 10.1.1.10, mac: "00:d0:c9:00:00:10",
     vendor: Advantech}
  - name: PLC
    kind: plc
    zone: Control
    ip: 10.1.2.11
    mac: "00:1b:1b:00:00:11"
    vendor: Siemens
    protocols: [modbus]
    points:
      - {space: holding, address: 0, tag: T.level, scale: 100}
process:
  tanks:
    - {name: T, area_m2: 2.0, height_m: 3.0, level_m: 1.0}
  pumps:
    - {name: P, flow_m3h: 36.0, target: T, tank: T, start_level: 1.0, stop_level: 2.0}
traffic:
  - {kind: modbus_poll, client: HMI, server: PLC, period: 1.0}
"""


def test_default_plant_loads() -> None:
    model = load_plant()
    assert model.name == "Riverside water works"
    assert [z.name for z in model.zones.values()] == ["Enterprise", "DMZ", "SCADA", "Control",
                                                      "Field"]
    kinds = {a.kind for a in model.assets.values()}
    assert kinds == {"plc", "rtu", "sis", "hmi", "scada", "historian", "ews", "dc", "server",
                     "office_pc", "jump_host"}
    assert model.assets["SIS-01"].safety
    assert model.sim_asset("PLC-TREAT").level == 1
    protocols = {t.kind for t in model.traffic}
    assert {"modbus_poll", "s7_poll", "cip_poll", "dnp3_poll", "iec104_link", "s7_engineering",
            "cip_engineering", "dns", "kerberos", "smb", "http", "tls", "rdp_jump"} <= protocols


def test_minimal_plant_and_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(MINIMAL)
    model = load_plant(path)
    assert list(model.assets) == ["HMI", "PLC"]
    assert model.origin == str(path)


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_plant(text, "p.yaml")
    return str(info.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("plant: Test works\n", "plant: Test works\ncolour: blue\n",
     "p.yaml:2: unknown key 'colour'"),
    ("    vendor: Siemens\n", "    vendor: Siemens\n    colour: blue\n",
     "p.yaml:14: assets[1]: unknown key 'colour'"),
    ("period: 1.0}", "period: fast}", "p.yaml:23: traffic[0].period: Expected `float`"),
    ("ip: 10.1.2.11", "ip: 10.1.1.11", "p.yaml:11: assets[1].ip: 10.1.1.11 is outside zone "
     "Control"),
    ("zone: Control\n", "zone: Plant\n", "p.yaml:10: assets[1].zone: unknown zone 'Plant'"),
    ('mac: "00:1b:1b:00:00:11"', 'mac: "00:15:5d:00:00:11"',
     "p.yaml:12: assets[1].mac: 00:15:5d:00:00:11 is registered to Microsoft Corporation, "
     "not to Siemens"),
    ("tag: T.level", "tag: T.volume", "p.yaml:16: assets[1].points[0].tag: unknown process "
     "tag 'T.volume'"),
    ("space: holding", "space: db", "p.yaml:16: assets[1].points[0].space: no protocol of PLC "
     "(modbus) has space 'db'"),
    ("kind: modbus_poll", "kind: s7_poll", "p.yaml:23: traffic[0].server: PLC does not speak "
     "s7comm"),
    ("client: HMI,", "client: HMI-9,", "p.yaml:23: traffic[0].client: unknown asset 'HMI-9'"),
    ("level: 1, subnet", "level: 7, subnet", "p.yaml:4: zones[1].level: Purdue levels are 0-5"),
    ("target: T,", "target: T9,", "p.yaml:21: process.pumps[0].target: unknown tank 'T9'"),
    ("kind: hmi", "kind: toaster", "p.yaml:6: assets[0].kind: unknown kind 'toaster'"),
    ("period: 1.0}", "period: 0.001}", "p.yaml:23: traffic[0].period: the period must be"),
    ("period: 1.0}", "period: 1.0, jitter: 1.0}", "p.yaml:23: traffic[0].jitter: the jitter"),
    ("subnet: 10.1.2.0/24", "subnet: 10.1.0.0/16", "p.yaml:4: zones[1].subnet: 10.1.0.0/16 "
     "overlaps zone Office"),
    ("{name: T, area", "{name: PLC, area", "p.yaml:19: process.tanks[0].name: 'PLC': process "
     "names are unique"),
    ("address: 0, tag", "address: 70000, tag", "p.yaml:16: assets[1].points[0].address: "
     "holding addresses are 0-65535"),
    ("plant: Test works\n", "plant: Test works\nstart: -5\n", "p.yaml:2: start: the start is"),
])
def test_errors_name_file_and_line(old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    assert _error(MINIMAL.replace(old, new, 1)).startswith(expected)


def test_duplicates_and_syntax() -> None:
    twice = MINIMAL.replace("  - name: PLC\n", "  - {name: PLC, kind: plc, zone: Control, "
                            "ip: 10.1.2.12, mac: '00:1b:1b:00:00:12'}\n  - name: PLC\n")
    assert _error(twice).startswith("p.yaml:9: assets[2].name: asset 'PLC' defined twice")
    assert _error("plant: [unclosed\n").startswith("p.yaml:2:1: invalid YAML")
    assert _error("- a list\n").startswith("p.yaml:1: a plant file is a mapping")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the plant file"):
        load_plant(tmp_path / "nope.yaml")


def test_site_yaml_is_a_valid_policy(tmp_path: Path) -> None:
    model = load_plant()
    text = model.site_yaml()
    site, nets = parse_site(text, "site.yaml")
    assert [z.name for z in site.zones] == list(model.zones)
    assert site.assets["10.10.15.5"]["role"] == "jump_host"
    assert site.assets["10.10.30.41"] == {"name": "SIS-01", "role": "controller",
                                          "safety": "true"}
    assert len(nets) == 5
    pairs = {(c["from"], c["to"]): c for c in site.conduits}
    assert set(pairs) == {("SCADA", "Control"), ("SCADA", "Field"), ("Enterprise", "DMZ"),
                          ("DMZ", "SCADA")}
    assert pairs["SCADA", "Control"]["protocols"] == ["modbus", "s7comm", "enip"]
    assert pairs["SCADA", "Field"]["protocols"] == ["dnp3", "iec104"]
    path = tmp_path / "site.yaml"
    path.write_text(text)
    policy = load_policy(path)
    assert policy is not None
