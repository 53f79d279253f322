"""The zones-and-conduits policy file: loading, errors and warnings with their exact lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.detect.context import AssetContext
from otshield.errors import ConfigError
from otshield.inventory.site import parse_site
from otshield.policy import lint_policy, lint_text, load_policy, parse_policy

POLICY = """\
site: Test plant
zones:
  - name: Enterprise
    level: 3
    security_level_target: 2
    subnets: [10.1.0.0/16]
  - name: SCADA
    level: 2
    security_level_target: 2
    subnets: [10.2.0.0/24]
  - name: Control
    level: 1
    security_level_target: 2
    subnets: [10.3.0.0/24, "fd00:3::/64"]
conduits:
  - name: scada-to-control
    from: SCADA
    to: Control
    protocols: [modbus, dnp3, tcp/8080]
    functions: [read, write]
    ports: [502, 20000, 8080]
    description: HMI polling
  - name: enterprise-to-scada
    from: Enterprise
    to: SCADA
    protocols: [tls]
remote_access:
  jump_hosts: [10.2.0.5]
defaults:
  intra_zone: allow
  unknown_zone: alert
"""


def test_clean_policy_loads_with_every_field() -> None:
    assert lint_text(POLICY, "p.yaml") == []
    policy = parse_policy(POLICY, "p.yaml")
    assert [z.name for z in policy.zones] == ["Enterprise", "SCADA", "Control"]
    first, second = policy.conduits
    assert first.name == "scada-to-control" and first.line == 16
    assert (first.from_zone, first.to_zone) == ("SCADA", "Control")
    assert first.protocols == {"modbus", "dnp3", "tcp/8080"}
    assert first.functions == {"read", "write"}
    assert first.ports == {502, 20000, 8080}
    assert first.description == "HMI polling"
    assert second.functions == {"read"}  # the default: read only
    assert policy.jump_hosts == ("10.2.0.5",)
    assert (policy.intra_zone, policy.unknown_zone) == ("allow", "alert")


def test_conduit_matching() -> None:
    conduit = parse_policy(POLICY).conduits[0]
    assert conduit.allows(frozenset({"modbus"}), "tcp", 502)
    assert not conduit.allows(frozenset({"modbus"}), "tcp", 5020)   # outside `ports`
    assert not conduit.allows(frozenset({"s7comm"}), "tcp", 502)
    assert conduit.allows(frozenset(), "tcp", 8080)                  # tcp/PORT entry
    assert not conduit.allows(frozenset(), "udp", 8080)
    assert not conduit.allows(frozenset(), "icmp", 0)


def test_the_site_loader_accepts_the_policy_and_gives_jump_hosts_their_role() -> None:
    site = parse_site(POLICY.replace("jump_hosts: [10.2.0.5]", "jump_hosts: [10.2.0.5, 10.2.0.6]")
                      + "assets:\n  10.2.0.5: {role: hmi, name: HMI-1}\n", "p.yaml")
    ctx = AssetContext(site)
    assert ctx.roles("10.2.0.5") == {"hmi", "jump_host"}
    assert ctx.name("10.2.0.5") == "HMI-1"
    assert ctx.roles("10.2.0.6") == {"jump_host"}
    assert ctx.zone_name("10.3.0.9") == "Control"


@pytest.mark.parametrize(("text", "expected"), [
    # unknown top-level key (line 1), unknown zone key
    ("zonez: []\n", [(1, "error", "unknown key 'zonez'")]),
    ("zones:\n  - name: A\n    levle: 1\n    subnets: [10.0.0.0/8]\n",
     [(3, "error", "unknown key 'levle'")]),
    # duplicate zone name
    ("zones:\n  - name: A\n    subnets: [10.0.0.0/24]\n  - name: A\n    subnets: [10.0.1.0/24]\n",
     [(4, "error", "zone 'A' is already defined at line 2")]),
    # level and security level out of range
    ("zones:\n  - name: A\n    level: 7\n    security_level_target: 0\n    subnets: [10.0.0.0/8]\n",
     [(3, "error", "Purdue levels are 0-5, got 7"),
      (4, "error", "IEC 62443 security levels are 1-4, got 0")]),
    # impossible subnet, VLAN out of range
    ("zones:\n  - name: A\n    subnets: [10.0.0.0/33]\n    vlans: [5000]\n",
     [(3, "error", "'10.0.0.0/33' is not a subnet"), (4, "error", "VLAN ids are 0-4095")]),
    # the same subnet in two zones: error; nested subnets: warning naming the winner
    ("zones:\n  - name: A\n    subnets: [10.0.0.0/24]\n  - name: B\n    subnets: [10.0.0.0/24]\n",
     [(5, "error", "subnet 10.0.0.0/24 of zone 'B' is also in zone 'A' (line 3)")]),
    ("zones:\n  - name: Plant\n    subnets: [10.0.0.0/16]\n  - name: Cell\n"
     "    subnets: [10.0.5.0/26]\n",
     [(5, "warning", "its addresses belong to 'Cell'")]),
    # the same VLAN in two zones
    ("zones:\n  - name: A\n    vlans: [30]\n  - name: B\n    vlans: [30]\n",
     [(5, "error", "VLAN 30 is already in zone 'A'")]),
    # zone without addresses
    ("zones:\n  - name: A\n    level: 1\n", [(2, "warning", "neither subnets nor VLANs")]),
])
def test_zone_findings(text: str, expected: list[tuple[int, str, str]]) -> None:
    findings = lint_text(text + "conduits: []\n", "p.yaml")
    got = [(f.line, f.severity) for f in findings]
    assert got == [(line, sev) for line, sev, _ in expected], [str(f) for f in findings]
    for finding, (_, _, fragment) in zip(findings, expected, strict=True):
        assert fragment in finding.message
        assert str(finding).startswith(f"p.yaml:{finding.line}: {finding.severity}: ")


ZONES = """\
zones:
  - name: IT
    level: 4
    security_level_target: 1
    subnets: [10.1.0.0/24]
  - name: Cell
    level: 1
    security_level_target: 3
    subnets: [10.3.0.0/24]
conduits:
"""


@pytest.mark.parametrize(("conduits", "expected"), [
    # unknown zones, with the known ones listed
    ("  - name: c\n    from: ITT\n    to: Cell\n    protocols: [modbus]\n",
     [(12, "error", "unknown zone 'ITT' (zones: Cell, IT)")]),
    # unknown protocol, unknown function class, bad port
    ("  - name: c\n    from: Cell\n    to: Cell\n    protocols: [modbuss, tcp/99999]\n"
     "    functions: [read, erase]\n    ports: [0]\n",
     [(13, "warning", "has no effect while defaults.intra_zone is allow"),
      (14, "error", "unknown protocol 'modbuss'"), (14, "error", "unknown protocol 'tcp/99999'"),
      (15, "error", "unknown function class 'erase'"), (16, "error", "ports are 1-65535")]),
    # duplicate conduit names; missing protocols
    ("  - name: c\n    from: Cell\n    to: IT\n    protocols: [tls]\n"
     "  - name: c\n    from: Cell\n    to: IT\n",
     [(13, "warning", "level 1 (Cell) to level 4 (IT) skips levels 2, 3"),
      (15, "error", "conduit 'c' is already defined at line 11"),
      (15, "error", "'protocols' is required")]),
    # level 4 straight into level 1 (skips 2 and 3) and SL-T 1 into SL-T 3: two warnings
    ("  - name: c\n    from: IT\n    to: Cell\n    protocols: [rdp]\n",
     [(13, "warning", "skips levels 2, 3"), (13, "warning", "(SL-T 1) reaches into 'Cell'")]),
    # a layer-2 protocol cannot be checked by address
    ("  - name: c\n    from: Cell\n    to: IT\n"
     "    protocols: [ethercat, icmp, gre, udp/161, any]\n",
     [(13, "warning", "skips levels 2, 3"), (14, "warning", "ethercat is carried in Ethernet")]),
])
def test_conduit_findings(conduits: str, expected: list[tuple[int, str, str]]) -> None:
    findings = lint_text(ZONES + conduits, "p.yaml")
    got = [(f.line, f.severity) for f in findings]
    assert got == [(line, sev) for line, sev, _ in expected], [str(f) for f in findings]
    for finding, (_, _, fragment) in zip(findings, expected, strict=True):
        assert fragment in finding.message


def test_remote_access_and_defaults_findings() -> None:
    text = ZONES + ("  - name: c\n    from: Cell\n    to: IT\n    protocols: [tls]\n"
                    "remote_access:\n  jump_hosts: [10.1.0.5, 192.168.9.9, not-an-ip]\n"
                    "defaults:\n  intra_zone: maybe\n  unknown_zone: ignore\n  other: 1\n")
    findings = lint_text(text, "p.yaml")
    assert [(f.line, f.severity) for f in findings] == [
        (13, "warning"), (16, "error"), (16, "warning"), (18, "error"), (20, "error")]
    assert "'not-an-ip' is not an IP address" in findings[1].message
    assert "jump host 192.168.9.9 is outside every zone" in findings[2].message
    assert "expected allow or check, got 'maybe'" in findings[3].message
    assert "unknown key 'other'" in findings[4].message


def test_asset_pinned_to_an_unknown_zone() -> None:
    findings = lint_text(ZONES + "  - name: c\n    from: Cell\n    to: IT\n    protocols: [tls]\n"
                         "assets:\n  10.9.0.1: {zone: Cel, role: hmi}\n", "p.yaml")
    assert [(f.line, f.severity) for f in findings] == [(13, "warning"), (16, "error")]
    assert findings[1].message == "assets.10.9.0.1.zone: unknown zone 'Cel'"


def test_policy_without_conduits_is_a_warning() -> None:
    findings = lint_text("zones:\n  - name: A\n    subnets: [10.0.0.0/8]\n", "p.yaml")
    assert [(f.line, f.severity) for f in findings] == [(1, "warning")]
    assert "no conduits" in findings[0].message


def test_yaml_syntax_and_shape_errors_name_the_line() -> None:
    findings = lint_text("zones:\n  - name: A\n    level: [1\n", "p.yaml")
    assert len(findings) == 1 and findings[0].severity == "error" and findings[0].line == 4
    assert lint_text("zones: 5\n", "p.yaml")[0].message == "zones: expected a list"
    assert lint_text("- a\n- b\n", "p.yaml")[0].line == 1
    duplicate = lint_text("zones: []\nzones: []\n", "p.yaml")
    assert duplicate[0].line == 2 and "duplicate key" in duplicate[0].message


def test_load_raises_every_error_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(ZONES + "  - name: c\n    from: X\n    to: Cell\n    protocols: [foo]\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(path)
    assert str(exc.value).splitlines() == [
        f"{path}:12: conduit 'c'.from: unknown zone 'X' (zones: Cell, IT)",
        f"{path}:14: conduit 'c'.protocols: unknown protocol 'foo' (a decoder name from "
        "`otshield protocols`, tcp/PORT, udp/PORT, icmp, an IP protocol name or any)"]
    assert lint_policy(path)[0].origin == str(path)


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the policy"):
        load_policy(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00zones")
    with pytest.raises(ConfigError, match="not UTF-8"):
        lint_policy(binary)


def test_hostile_values_are_errors_not_tracebacks() -> None:
    for text in ("zones:\n  - name: [a]\n", "zones:\n  - 5\n", "conduits: {a: 1}\n",
                 "conduits:\n  - name: c\n    from: [x]\n    to: y\n    protocols: [[1]]\n",
                 "assets: [1]\n", "assets:\n  10.0.0.1: {role: [a]}\n", "remote_access: 5\n",
                 "site: [x]\n", "zones:\n  - name: A\n    subnets: [[1]]\n    vlans: [true]\n"):
        findings = lint_text(text, "p.yaml")
        assert any(f.severity == "error" for f in findings), text
        with pytest.raises(ConfigError):
            parse_policy(text, "p.yaml")


def test_the_documented_example_checks_clean() -> None:
    import otshield.policy.model as model
    doc = model.__doc__ or ""
    block = doc.split("one file describes the plant::\n\n", 1)[1].split("\n\nMatching:", 1)[0]
    text = "\n".join(line[4:] for line in block.splitlines()) + "\n"
    findings = lint_text(text, "example.yaml")
    assert [f.severity for f in findings] == ["warning"]  # SL-T 2 reaching into SL-T 3
    policy = parse_policy(text)
    assert policy.conduits[0].ports == {502, 20000}
    assert policy.jump_hosts == ("10.10.20.5",)
