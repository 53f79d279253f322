"""Vulnerability exposure from CSAF 2.0 advisories the tests write themselves: version ranges,
vendor/product/model-number matching, unknown versions, and broken advisory files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.demo import write_demo_capture
from otshield.engine import Engine, run_capture
from otshield.errors import ConfigError
from otshield.inventory import InventoryBuilder, InventorySnapshot
from otshield.inventory.advisories import load_advisories, parse_csaf, version_in
from support import PCAPS


@pytest.mark.parametrize(("version", "spec", "inside"), [
    ("v2.4.1", "vers:intdot/<2.5", True),
    ("v2.5", "vers:intdot/<2.5", False),
    ("V3.2.17", "<V3.2.17", False),
    ("V3.2.16", "<V3.2.17", True),
    ("4.03", "vers:generic/>=4.0|<4.10", True),   # minor 3 < 10 numerically, not as text
    ("4.11", "vers:generic/>=4.0|<4.10", False),
    ("1.0", "vers:generic/<1.0|>=2.0", False),     # outside both intervals
    ("2.1", "vers:generic/<1.0|>=2.0", True),
    ("20.11", "<=20.11", True),
    ("7.1", "vers:all/*", True),
    ("7.1", "All versions", True),
    ("7.1", "vers:generic/=7.1", True),
    ("7.2", "vers:generic/>=7.0|!=7.2|<8", False),
])
def test_version_ranges(version: str, spec: str, inside: bool) -> None:
    assert version_in(version, spec) is inside


def csaf(adv_id: str, vendor: str, product: str, version: str, models: list[str],
         cve: str = "CVE-2026-0001", score: float = 9.8, exact: bool = False) -> dict[str, Any]:
    full = {"name": f"{vendor} {product} {version}", "product_id": "CSAFPID-0001"}
    if models:
        full["product_identification_helper"] = {"model_numbers": models}
    return {
        "document": {"category": "csaf_security_advisory", "csaf_version": "2.0",
                     "title": f"{vendor} {product} advisory",
                     "publisher": {"name": "Test CERT", "category": "coordinator"},
                     "tracking": {"id": adv_id, "status": "final", "version": "1"}},
        "product_tree": {"branches": [{"category": "vendor", "name": vendor, "branches": [
            {"category": "product_name", "name": product, "branches": [
                {"category": "product_version" if exact else "product_version_range",
                 "name": version, "product": full}]}]}]},
        "vulnerabilities": [{"cve": cve, "title": "Improper input validation",
                             "product_status": {"known_affected": ["CSAFPID-0001"]},
                             "scores": [{"products": ["CSAFPID-0001"], "cvss_v3": {
                                 "version": "3.1", "baseScore": score,
                                 "baseSeverity": "CRITICAL", "vectorString": "CVSS:3.1/AV:N"}}],
                             "remediations": [{"category": "vendor_fix",
                                               "details": "Update the firmware.",
                                               "product_ids": ["CSAFPID-0001"]}]}],
    }


def inventory(path: Path, advisories: Path) -> InventorySnapshot:
    b = InventoryBuilder()
    e = Engine(b)
    with open_capture(path) as reader:
        run_capture(reader, e)
    e.finish()
    return b.snapshot(advisories=load_advisories([advisories]))


def test_demo_plant_exposure(tmp_path: Path) -> None:
    adv = tmp_path / "advisories"
    adv.mkdir()
    files = {
        "acme.json": csaf("TEST-ACME-1", "Acme Automation", "AC-PLC-5", "vers:intdot/<2.5", []),
        "acme-fixed.json": csaf("TEST-ACME-2", "Acme Automation", "AC-PLC-5",
                                "vers:intdot/<2.4", [], cve="CVE-2026-0002"),
        "rockwell.json": csaf("TEST-RA-1", "Rockwell Automation", "ControlLogix 5570",
                              "<=20.11", ["1756-L7*"], cve="CVE-2026-0003", score=7.5),
        "other.json": csaf("TEST-OTHER-1", "Other Vendor", "AC-PLC-5", "vers:all/*", []),
    }
    for name, doc in files.items():
        (adv / name).write_text(json.dumps(doc))
    cap = tmp_path / "demo.pcap"
    write_demo_capture(cap)
    snap = inventory(cap, adv)
    by_ip = {ip: a for a in snap.assets for ip in a.ips}
    for ip in ("10.10.30.11", "10.10.30.12"):  # v2.4.1 is inside <2.5, outside <2.4
        (m,) = by_ip[ip].advisories
        assert (m.advisory, m.cve, m.confidence, m.score) == ("TEST-ACME-1", "CVE-2026-0001",
                                                              "affected", 9.8)
        assert m.remediation == "Update the firmware."
    (m,) = by_ip["10.10.30.31"].advisories  # model number pattern against the product name
    assert m.advisory == "TEST-RA-1" and "20.11" in m.reason
    assert not by_ip["10.10.30.21"].advisories  # S7 PLC: no matching advisory
    assert sum(len(a.advisories) for a in snap.assets) == 3


def test_order_number_and_firmware_from_the_s7_szl(tmp_path: Path) -> None:
    path = PCAPS / "iti/s7/s7comm_reading_plc_status.pcap"
    if not path.exists():
        pytest.skip(f"third-party corpus not found at {PCAPS} (tests read it from ../shared)")
    adv = tmp_path / "siemens"
    adv.mkdir()
    # tshark shows the module's order number 6ES7 151-8AB01-0AB0 and firmware V3.2.6
    (adv / "hit.json").write_text(json.dumps(csaf(
        "TEST-SSA-1", "Siemens", "SIMATIC ET 200S CPU", "vers:intdot/<3.3", ["6ES7151-8AB01*"])))
    (adv / "fixed.json").write_text(json.dumps(csaf(
        "TEST-SSA-2", "Siemens", "SIMATIC ET 200S CPU", "vers:intdot/<3.2", ["6ES7151-8AB01*"],
        cve="CVE-2026-0009")))
    snap = inventory(path, adv)
    (plc,) = [a for a in snap.assets if a.advisories]
    (m,) = plc.advisories
    assert m.advisory == "TEST-SSA-1" and m.confidence == "affected"
    assert "order number '6ES7 151-8AB01-0AB0'" in m.reason and "V3.2.6" in m.reason


def test_unknown_version_is_kept_and_said(tmp_path: Path) -> None:
    adv = tmp_path / "acme.json"
    adv.write_text(json.dumps(csaf("TEST-ACME-9", "VMware", "Virtual Platform", "<7", [])))
    b = InventoryBuilder(server_ports={})
    b.fact("ip", "10.0.0.9", "vendor", "VMware, Inc.", "snmp.system", 1.0, 1)
    b.fact("ip", "10.0.0.9", "product", "VMware Virtual Platform", "snmp.system", 1.0, 1)
    snap = b.snapshot(advisories=load_advisories([adv]))
    (m,) = snap.assets[0].advisories
    assert m.confidence == "version unknown" and "version unknown" in m.reason


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("document"), "missing 'document'"),
    (lambda d: d["document"].update(csaf_version="1.2"), "expected '2.0'"),
    (lambda d: d["document"]["tracking"].pop("id"), "document.tracking: missing 'id'"),
    (lambda d: d["product_tree"]["branches"][0].pop("category"),
     "product_tree.branches[0]: missing 'category'"),
    (lambda d: d.update(vulnerabilities=[3]), "vulnerabilities[0]: expected object"),
])
def test_broken_advisories_name_the_problem(mutate: Any, message: str) -> None:
    doc = csaf("X", "V", "P", "<1", [])
    mutate(doc)
    with pytest.raises(ConfigError) as exc:
        parse_csaf(doc, "adv.json")
    assert message in str(exc.value) and str(exc.value).startswith("adv.json")


def test_not_json_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="not JSON"):
        load_advisories([bad])
