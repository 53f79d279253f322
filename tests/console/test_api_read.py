"""The REST API's read side over the demo plant (uploaded through the API once per module):
assets, map, alerts, overview, reports, rules, policy; filters, sorting, pagination bounds and
the JSON error shape for bad input. Expected values come from the demo plant's design
(src/otshield/demo.py and its site file): 19 assets, 14 conduits, 8 alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from console.apikit import assert_error, assert_page, demo_kit, load_demo
from console.consolekit import API, ConsoleKit
from otshield.console.api.alerts import TACTIC_FILTER
from otshield.console.api.assets import PROTOCOL_FILTER
from otshield.console.permissions import Role


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    """The console with the demo plant's site file (overrides conftest's plain kit)."""
    with demo_kit(tmp_path_factory.mktemp("api")) as k:
        yield k


@pytest.fixture(scope="module")
def demo(kit: ConsoleKit) -> dict[str, Any]:
    return load_demo(kit)


@pytest.fixture(scope="module")
def viewer(kit: ConsoleKit, demo: dict[str, Any]) -> Any:
    return kit.client(Role.VIEWER)


def ids(items: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return [i[key] for i in items]


# -- the job ---------------------------------------------------------------------------------

def test_demo_job_counts(demo: dict[str, Any]) -> None:
    assert demo["filename"] == "demo-plant.pcap"
    assert demo["packets"] == 253
    assert demo["assets"] == 19
    assert demo["alerts_total"] == demo["alerts_done"] == 8
    assert demo["progress"] == 1.0 and demo["error"] == ""
    assert demo["counts"]["severity"] == {"high": 2, "medium": 2, "low": 4}


# -- assets ----------------------------------------------------------------------------------

def test_assets_list_sorted_by_name(viewer: Any) -> None:
    items = assert_page(viewer.get(f"{API}/assets", params={"per_page": 5}), total=19,
                        per_page=5)
    assert ids(items, "name") == ["10.10.10.101", "10.10.10.53", "10.10.25.5", "10.10.30.31",
                                  "10.10.30.5"]


def test_assets_pages_cover_everything_once(viewer: Any) -> None:
    seen = []
    for page in (1, 2, 3, 4):
        seen += ids(assert_page(viewer.get(f"{API}/assets", params={
            "per_page": 5, "page": page, "sort": "-last_seen"}), total=19, page=page,
            per_page=5))
    assert len(seen) == len(set(seen)) == 19
    assert assert_page(viewer.get(f"{API}/assets", params={"page": 9}), total=19, page=9) == []


@pytest.mark.parametrize(("params", "expected"), [
    ({"zone": "SCADA"}, ["ip:10.10.20.30", "ip:10.10.20.10", "ip:10.10.20.20"]),
    ({"level": 2}, ["ip:10.10.50.5", "ip:10.10.20.30", "ip:10.10.20.10", "ip:10.10.20.20"]),
    ({"vendor": "Siemens AG"}, ["ip:10.10.30.40", "ip:10.10.30.21", "mac:00:1b:1b:00:30:61"]),
    ({"role": "hmi"}, ["ip:10.10.20.10", "ip:10.10.20.20"]),
    ({"q": "mixer"}, ["ip:10.10.30.21", "mac:00:1b:1b:00:30:61"]),
    ({"q": "10.10.40."}, ["ip:10.10.40.10"]),
    ({"zone": "Control", "role": "controller", "vendor": "Acme Automation"},
     ["ip:10.10.30.11", "ip:10.10.30.12"]),
    ({"q": "no-such-thing%_"}, []),
])
def test_assets_filters(viewer: Any, params: dict[str, Any], expected: list[str]) -> None:
    items = assert_page(viewer.get(f"{API}/assets", params=params), total=len(expected))
    assert ids(items) == expected


def test_assets_by_protocol(viewer: Any) -> None:
    r = viewer.get(f"{API}/assets", params={"protocol": "s7comm"})
    if not PROTOCOL_FILTER:
        assert_error(r, 422, "invalid")
        pytest.skip("the store's AssetFilter has no protocol field yet (part 5 of issue #7)")
    assert ids(assert_page(r, total=2)) == ["ip:10.10.20.30", "ip:10.10.30.21"]


def test_asset_detail(viewer: Any) -> None:
    r = viewer.get(f"{API}/assets/ip:10.10.30.21")
    assert r.status_code == 200, r.text
    body = r.json()
    summary, record = body["summary"], body["record"]
    assert (summary["name"], summary["zone"], summary["purdue_level"]) == ("S7-MIXER", "Control",
                                                                          1)
    assert summary["open_alerts"] == 2 and summary["risk"] == 14  # two high alerts: 7 + 7
    assert [r["role"] for r in record["roles"]] == ["controller"]
    assert all(r["evidence"] for r in record["roles"])
    # facts keep their provenance: the name comes from the site file (an override)
    name_facts = [f for f in record["facts"] if f["name"] == "name"]
    assert name_facts and name_facts[0]["source"] == "override"
    assert any(f["source"] == "oui" and f["name"] == "vendor" for f in record["facts"])
    assert [(c["client"], c["protocol"]) for c in body["conduits"]] == [
        ("ip:10.10.20.30", "s7comm")]
    assert body["alerts_total"] == 2
    assert sorted(a["rule_id"] for a in body["alerts"]) == ["ot.s7.cpu_stop",
                                                           "policy.function_not_allowed"]
    assert isinstance(record["advisories"], list)


def test_asset_errors(viewer: Any) -> None:
    assert_error(viewer.get(f"{API}/assets/ip:192.0.2.1"), 404, "not_found")
    assert_error(viewer.get(f"{API}/assets", params={"level": 6}), 422, "invalid")
    assert_error(viewer.get(f"{API}/assets", params={"level": "two"}), 422, "invalid")
    assert_error(viewer.get(f"{API}/assets", params={"role": "wizard"}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"sort": "password"}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"per_page": 501}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"per_page": 0}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"page": 0}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"page": -1}), 422)
    assert_error(viewer.get(f"{API}/assets", params={"q": "x" * 201}), 422)


def test_per_page_limit_is_500(viewer: Any) -> None:
    assert_page(viewer.get(f"{API}/assets", params={"per_page": 500}), total=19, per_page=500)


# -- map -------------------------------------------------------------------------------------

def test_map_whole(viewer: Any) -> None:
    body = viewer.get(f"{API}/map").json()
    assert len(body["nodes"]) == 19 and len(body["edges"]) == 14
    edge = next(e for e in body["edges"] if e["id"] == "ip:10.10.20.30|ip:10.10.30.21|s7comm")
    assert (edge["source"], edge["target"], edge["cross_zone"]) == (
        "ip:10.10.20.30", "ip:10.10.30.21", True)
    dns = next(e for e in body["edges"] if e["protocol"] == "dns")
    assert dns["cross_zone"] is False
    zones = {z["name"]: (z["level"], z["assets"]) for z in body["zones"]}
    assert zones["Control"] == (1, 7) and zones["SCADA"] == (2, 3)
    assert body["levels"]["1"].startswith("basic control")


def test_map_filters(viewer: Any) -> None:
    scada = viewer.get(f"{API}/map", params={"zone": "SCADA"}).json()
    assert sorted(n["id"] for n in scada["nodes"]) == ["ip:10.10.20.10", "ip:10.10.20.20",
                                                       "ip:10.10.20.30"]
    assert scada["edges"] == []  # the SCADA hosts talk only to other zones
    wide = viewer.get(f"{API}/map", params={"zone": "SCADA", "neighbours": True}).json()
    assert len(wide["edges"]) == 9
    assert "ip:10.10.30.21" in {n["id"] for n in wide["nodes"]}
    modbus = viewer.get(f"{API}/map", params={"protocol": "modbus"}).json()
    assert sorted(e["id"] for e in modbus["edges"]) == [
        "ip:10.10.20.10|ip:10.10.30.11|modbus", "ip:10.10.20.10|ip:10.10.30.12|modbus"]
    level0 = viewer.get(f"{API}/map", params={"level": 0}).json()
    assert [n["id"] for n in level0["nodes"]] == ["mac:00:1b:1b:00:30:61"]
    assert_error(viewer.get(f"{API}/map", params={"level": 9}), 422)


# -- alerts ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "expected"), [
    ({}, 8),
    ({"severity": "high"}, 2),
    ({"severity": "medium"}, 4),
    ({"status": "new"}, 8),
    ({"status": ["closed", "suppressed"]}, 0),
    ({"rule": "ot.modbus.device_identification"}, 2),
    ({"technique": "T0855"}, 2),
    ({"technique": "t0858"}, 1),
    ({"src": "10.10.20.10"}, 3),
    ({"dst": "10.10.30.21"}, 2),
    ({"ip": "10.10.30.21"}, 2),
    ({"asset": "ip:10.10.20.30"}, 2),
    ({"zone": "Substation"}, 1),
    ({"category": "policy"}, 1),
    ({"protocol": "mqtt"}, 1),
    ({"q": "STOP"}, 2),
    ({"since": "2026-01-01T00:00:08Z"}, 6),
    ({"until": "2026-01-01T00:00:03Z"}, 2),
    ({"since": 1767225611, "until": 1767225612}, 2),
])
def test_alert_filters(viewer: Any, params: dict[str, Any], expected: int) -> None:
    assert_page(viewer.get(f"{API}/alerts", params=params), total=expected)


def test_alerts_by_tactic(viewer: Any) -> None:
    r = viewer.get(f"{API}/alerts", params={"tactic": "inhibit-response-function"})
    if not TACTIC_FILTER:
        assert_error(r, 422, "invalid")
        pytest.skip("the store's AlertFilter has no techniques field yet (part 5 of issue #7)")
    # T0881 (Service Stop) of the S7 STOP alert is the only inhibit-response-function one
    assert [i["rule_id"] for i in assert_page(r, total=1)] == ["ot.s7.cpu_stop"]
    assert_page(viewer.get(f"{API}/alerts", params={"tactic": "no-such-tactic"}), total=0)


def test_alert_sort_and_pages(viewer: Any) -> None:
    by_sev = ids(assert_page(viewer.get(f"{API}/alerts", params={
        "sort": "-severity", "per_page": 2}), total=8, per_page=2), "severity")
    assert by_sev == ["high", "high"]
    first = ids(assert_page(viewer.get(f"{API}/alerts", params={"sort": "id", "per_page": 3}),
                            per_page=3))
    second = ids(assert_page(viewer.get(f"{API}/alerts", params={
        "sort": "id", "per_page": 3, "page": 2}), page=2, per_page=3))
    assert first + second == sorted(first + second) and not set(first) & set(second)


def test_alert_detail(viewer: Any) -> None:
    alerts = viewer.get(f"{API}/alerts", params={"rule": "ot.s7.cpu_stop"}).json()["items"]
    r = viewer.get(f"{API}/alerts/{alerts[0]['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    alert = body["alert"]
    assert alert["rule_id"] == "ot.s7.cpu_stop" and alert["severity"] == "high"
    assert [t["id"] for t in alert["techniques"]] == ["T0858", "T0881"]
    assert alert["techniques"][0]["name"] == "Change Operating Mode"
    assert alert["techniques"][0]["url"].endswith("/T0858")
    assert alert["evidence"] and alert["evidence"][0]["event.dataset"] == "s7comm"
    assert alert["frames"] and alert["response"]
    assert alert["source"]["name"] == "EWS-01" and alert["destination"]["zone"] == "Control"
    assert body["notes"] == []


def test_alert_errors(viewer: Any) -> None:
    assert_error(viewer.get(f"{API}/alerts/999999"), 404, "not_found")
    assert_error(viewer.get(f"{API}/alerts/abc"), 422, "invalid")
    assert_error(viewer.get(f"{API}/alerts/0"), 422)
    assert_error(viewer.get(f"{API}/alerts/99999999999999999999"), 422)
    assert_error(viewer.get(f"{API}/alerts", params={"status": "open"}), 422)
    assert_error(viewer.get(f"{API}/alerts", params={"severity": "urgent"}), 422)
    assert_error(viewer.get(f"{API}/alerts", params={"since": "yesterday"}), 422)
    assert_error(viewer.get(f"{API}/alerts", params={"sort": "title"}), 422)


# -- overview and reports ------------------------------------------------------------------

def test_overview(viewer: Any) -> None:
    body = viewer.get(f"{API}/overview").json()
    assert body["alerts"]["total"] == body["alerts"]["open"] == 8
    assert body["alerts"]["open_by_severity"] == {"info": 0, "low": 4, "medium": 2, "high": 2,
                                                  "critical": 0}
    assert body["policy_violations"] == 1
    assert body["inventory"]["assets"] == 19 and body["inventory"]["conduits"] == 14
    # the demo's alerts span 11.9 s of packet time: 24 buckets -> 1-second buckets
    assert body["bucket_seconds"] == 1.0
    assert sum(b["total"] for b in body["timeline"]) == 8
    assert body["timeline"][0]["start"] == 1767225600.0
    top = [(a["id"], a["risk"]) for a in body["top_risky_assets"][:2]]
    assert top == [("ip:10.10.20.30", 14), ("ip:10.10.30.21", 14)]
    assert body["risk_weights"]["critical"] == 15
    few = viewer.get(f"{API}/overview", params={"buckets": 3}).json()
    assert few["bucket_seconds"] == 5.0 and len(few["timeline"]) == 3
    assert [b["total"] for b in few["timeline"]] == [2, 4, 2]
    assert_error(viewer.get(f"{API}/overview", params={"buckets": 0}), 422)


def test_job_report(viewer: Any, demo: dict[str, Any]) -> None:
    r = viewer.get(f"{API}/reports/jobs/{demo['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    report = r.json()
    assert report["schema"] == "otshield.analysis"
    assert report["summary"]["packets"] == 253 and report["summary"]["alerts"] == 8
    assert report["summary"]["by_severity"]["high"] == 2
    md = viewer.get(f"{API}/reports/jobs/{demo['id']}", params={"format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# otshield analysis") and "S7 PLC put into STOP" in md.text
    assert_error(viewer.get(f"{API}/reports/jobs/4242"), 404)
    assert_error(viewer.get(f"{API}/reports/jobs/1", params={"format": "pdf"}), 422)


def test_posture_report(viewer: Any) -> None:
    body = viewer.get(f"{API}/reports/posture").json()
    assert body["alerts"]["open"] == 8
    md = viewer.get(f"{API}/reports/posture", params={"format": "markdown"}).text
    assert "- **Open:** 8 (new 8, acknowledged 0)" in md
    assert "| `ip:10.10.20.30` | EWS-01 | SCADA | 2 | 2 | 14 |" in md


# -- rules -----------------------------------------------------------------------------------

def test_rules(viewer: Any) -> None:
    from otshield.detect.rules import load_rules

    total = len(load_rules())
    assert_page(viewer.get(f"{API}/rules"), total=total)
    items = assert_page(viewer.get(f"{API}/rules", params={"technique": "T0858"}))
    assert "ot.s7.cpu_stop" in ids(items)
    assert all(any(t["id"] == "T0858" for t in i["techniques"]) for i in items)
    crit = assert_page(viewer.get(f"{API}/rules", params={"severity": "critical"}))
    assert crit and all(i["severity"] == "critical" for i in crit)
    detail = viewer.get(f"{API}/rules/ot.s7.cpu_stop").json()
    assert detail["techniques"][0]["name"] == "Change Operating Mode"
    assert detail["examples"]["match"] and detail["description"] and detail["response"]
    assert_error(viewer.get(f"{API}/rules/no.such.rule"), 404)
    assert_error(viewer.get(f"{API}/rules", params={"severity": "big"}), 422)


RULE_OK = """\
rules:
  - id: site.modbus.write_to_plc9
    title: Modbus write to PLC 9
    severity: high
    techniques: [T0855]
    description: A write reached PLC 9.
    response: Check who wrote.
    match:
      dataset: modbus
      dst_ip: 10.0.0.9
    examples:
      match:
        - {dataset: modbus, src_ip: 10.0.0.1, dst_ip: 10.0.0.9}
      no_match:
        - {dataset: modbus, src_ip: 10.0.0.1, dst_ip: 10.0.0.8}
"""


def test_rule_check(kit: ConsoleKit, viewer: Any) -> None:
    r = viewer.post(f"{API}/rules/check", files={"file": ("site.yaml", RULE_OK.encode())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["errors"] == [] and body["example_failures"] == []
    assert ids(body["rules"]) == ["site.modbus.write_to_plc9"]
    wrong = RULE_OK.replace("dst_ip: 10.0.0.8", "dst_ip: 10.0.0.9")
    body = viewer.post(f"{API}/rules/check", files={"file": ("r.yaml", wrong.encode())}).json()
    assert body["ok"] is False and len(body["example_failures"]) == 1
    broken = viewer.post(f"{API}/rules/check", files={
        "file": ("bad.yaml", b"- id: x\n  severity: [\n")}).json()
    assert broken["ok"] is False and broken["errors"][0].startswith("bad.yaml:")
    assert_error(viewer.post(f"{API}/rules/check", files={"file": ("b.yaml", b"\xff\xfe")}),
                 422)
    assert_error(viewer.post(f"{API}/rules/check", files={
        "file": ("big.yaml", b"#" * (1024 * 1024 + 1))}), 413, "too_large")
    assert_error(viewer.post(f"{API}/rules/check"), 422)


# -- the error shape everywhere ---------------------------------------------------------------

def test_unknown_route_and_method(viewer: Any) -> None:
    assert_error(viewer.get(f"{API}/nothing-here"), 404, "not_found")
    assert_error(viewer.delete(f"{API}/assets"), 405, "method_not_allowed")


def test_anonymous_gets_401_json(kit: ConsoleKit) -> None:
    anon = kit.anonymous()
    for path in ("/assets", "/alerts", "/map", "/overview", "/captures", "/rules"):
        assert_error(anon.get(f"{API}{path}"), 401, "unauthenticated")


def test_openapi_complete(kit: ConsoleKit) -> None:
    spec = kit.anonymous().get(f"{API}/openapi.json").json()
    ops = [(path, method, op) for path, item in spec["paths"].items()
           for method, op in item.items()]
    mine = [o for o in ops if o[0].startswith(f"{API}/") and not o[0].startswith(
        (f"{API}/auth", f"{API}/users", f"{API}/tokens", f"{API}/audit"))]
    assert len(mine) >= 30
    for path, method, op in mine:
        ok = op["responses"].get("200") or op["responses"].get("201") or \
            op["responses"].get("202")
        assert ok and ok.get("content"), (path, method)
        assert "401" in op["responses"] and "403" in op["responses"], (path, method)
    listing = spec["paths"][f"{API}/alerts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"page", "per_page", "status", "severity", "technique", "tactic", "since",
            "until", "q", "sort"} <= names


def test_api_docs_page_is_self_hosted(kit: ConsoleKit) -> None:
    anon = kit.anonymous()
    page = anon.get(f"{API}/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers[
        "content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no external URL
    assert "<script>" not in page.text  # no inline script
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "swagger-ui.LICENSE.txt"):
        assert anon.get(f"{API}/docs-static/{name}").status_code == 200, name
    assert_error(anon.get(f"{API}/docs-static/..%2Fdocs.py"), 404)
    assert_error(anon.get(f"{API}/docs-static/README.txt"), 404)
    spec = anon.get(f"{API}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
