"""The REST API's write side over the demo plant: capture upload and analysis jobs (a good
capture becomes a finished job and its assets appear; an oversize upload is refused before it
is read; broken and foreign files end as failed jobs with a clear message), alert triage
(acknowledge, assign, close with a reason, reopen, suppress, lift, notes) with its state
conflicts and audit entries, asset corrections, policy versions, baselines; and who may do what
among them."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from console.apikit import (
    DEMO_SITE,
    assert_error,
    assert_page,
    demo_capture,
    demo_kit,
    load_demo,
    upload,
)
from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role
from otshield.store.models import AuditRow


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    """The console with the demo plant's site file (overrides conftest's plain kit)."""
    with demo_kit(tmp_path_factory.mktemp("api")) as k:
        yield k


# -- capture upload (first: it starts from an empty store) -----------------------------------

def finished(kit: ConsoleKit, job_id: int) -> dict[str, Any]:
    assert kit.app.state.jobs.wait_idle(120)
    job: dict[str, Any] = kit.client(Role.VIEWER).get(f"{API}/captures/{job_id}").json()
    return job


def test_upload_makes_assets_appear(kit: ConsoleKit) -> None:  # runs first in the module
    viewer = kit.client(Role.VIEWER)
    assert_page(viewer.get(f"{API}/assets"), total=0)
    job = load_demo(kit)
    assert job["created_by"] == "kit-analyst" and job["size"] > 0 and len(job["sha256"]) == 64
    assert_page(viewer.get(f"{API}/assets"), total=19)
    jobs = assert_page(viewer.get(f"{API}/captures"))
    assert jobs[0]["id"] == job["id"]


def test_gzip_capture(kit: ConsoleKit, tmp_path: Path) -> None:
    data = gzip.compress(demo_capture(tmp_path).read_bytes())
    r = upload(kit, data, "again.pcap.gz")
    assert r.status_code == 202, r.text
    job = finished(kit, r.json()["id"])
    assert job["status"] == "done" and job["packets"] == 253
    # the same traffic again: the alerts aggregate (counts grow), no new keys
    assert job["counts"]["new_alerts"] == 0


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"this is not a capture at all, just text" * 10, "notes.txt", "not a"),
    (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "short.pcap", "short.pcap: no packet could be read"),
    (b"", "empty.pcap", "empty.pcap"),
])
def test_bad_file_fails_the_job(kit: ConsoleKit, data: bytes, name: str, message: str) -> None:
    r = upload(kit, data, name)
    assert r.status_code == 202, r.text
    job = finished(kit, r.json()["id"])
    assert job["status"] == "failed", job
    assert job["error"] and "Traceback" not in job["error"]
    assert message in job["error"]
    assert_error(kit.client(Role.VIEWER).get(f"{API}/reports/jobs/{job['id']}"), 409,
                 "not_ready")


def test_oversize_upload_is_refused(kit: ConsoleKit) -> None:
    kit.app.state.max_upload_bytes = 4096
    try:
        err = assert_error(upload(kit, b"\0" * 100_000, "big.pcap"), 413, "too_large")
        assert "4096" in err["message"]
        # a body under the declared-length check but a file over the limit
        err = assert_error(upload(kit, b"\0" * 5000, "big.pcap"), 413, "too_large")
    finally:
        del kit.app.state.max_upload_bytes
    leftovers = [p for p in (kit.settings.data_dir / "uploads").glob("*")
                 if "big.pcap" in p.name]
    assert leftovers == []


def test_upload_bad_requests(kit: ConsoleKit) -> None:
    analyst = kit.client(Role.ANALYST)
    assert_error(analyst.post(f"{API}/captures", json={"file": "x"}), 415)
    assert_error(analyst.post(f"{API}/captures", data={"other": "x"},
                              files={"nofile": ("a", b"x")}), 422)
    assert_error(analyst.post(f"{API}/captures", data={"file": "just text"}), 415)
    assert_error(analyst.post(f"{API}/captures", files={"file": (None, "not a file")}), 422)
    assert_error(kit.client(Role.VIEWER).post(f"{API}/captures", files={
        "file": ("a.pcap", b"x")}), 403)
    assert_error(kit.anonymous().post(f"{API}/captures", files={"file": ("a.pcap", b"x")}),
                 401)


def test_job_lookups(kit: ConsoleKit) -> None:
    viewer = kit.client(Role.VIEWER)
    assert_error(viewer.get(f"{API}/captures/999"), 404)
    assert_error(viewer.get(f"{API}/captures/x"), 422)
    failed = assert_page(viewer.get(f"{API}/captures", params={"status": "failed"}))
    assert all(j["status"] == "failed" for j in failed)
    assert_error(viewer.get(f"{API}/captures", params={"status": "lost"}), 422)


# -- triage and the rest ------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(kit: ConsoleKit) -> dict[str, Any]:
    return load_demo(kit)


@pytest.fixture(scope="module")
def analyst(kit: ConsoleKit, demo: dict[str, Any]) -> Any:
    return kit.client(Role.ANALYST)


def alert_id(client: Any, rule: str, **params: Any) -> int:
    items = client.get(f"{API}/alerts", params={"rule": rule, "sort": "id", **params}).json()
    return int(items["items"][0]["id"])


def audit_rows(kit: ConsoleKit, action: str) -> list[AuditRow]:
    with kit.store.session(write=False) as db:
        return list(db.scalars(select(AuditRow).where(AuditRow.action == action)
                               .order_by(AuditRow.id)))


def test_triage_life_cycle(kit: ConsoleKit, analyst: Any) -> None:
    aid = alert_id(analyst, "ot.mqtt.cleartext_password")
    r = analyst.post(f"{API}/alerts/{aid}/acknowledge")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_by"] == "kit-analyst"
    assert_error(analyst.post(f"{API}/alerts/{aid}/acknowledge"), 409, "conflict")
    r = analyst.post(f"{API}/alerts/{aid}/assign", json={"assignee": "kit-ot-engineer"})
    assert r.status_code == 200 and r.json()["assignee"] == "kit-ot-engineer"
    assert_error(analyst.post(f"{API}/alerts/{aid}/assign", json={"assignee": "nobody"}), 422)
    assert_error(analyst.post(f"{API}/alerts/{aid}/close", json={"reason": ""}), 422)
    assert_error(analyst.post(f"{API}/alerts/{aid}/close", json={}), 422)
    r = analyst.post(f"{API}/alerts/{aid}/close", json={"reason": "broker credentials rotated"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["close_reason"], r.json()["closed_by"]) == (
        "closed", "broker credentials rotated", "kit-analyst")
    assert_error(analyst.post(f"{API}/alerts/{aid}/close", json={"reason": "again"}), 409)
    assert analyst.post(f"{API}/alerts/{aid}/reopen").json()["status"] == "new"
    assert_error(analyst.post(f"{API}/alerts/{aid}/reopen"), 409)
    # every change is in the audit log, with who and what
    closes = audit_rows(kit, "alert.close")
    assert closes[-1].actor == "kit-analyst" and closes[-1].target == f"alert:{aid}"
    assert json.loads(closes[-1].detail)["reason"] == "broker credentials rotated"
    assert audit_rows(kit, "alert.acknowledge")[-1].target == f"alert:{aid}"
    assert json.loads(audit_rows(kit, "alert.assign")[-1].detail)["assignee"] == [
        "", "kit-ot-engineer"]


def test_notes(kit: ConsoleKit, analyst: Any) -> None:
    aid = alert_id(analyst, "ot.iec104.command")
    r = analyst.post(f"{API}/alerts/{aid}/notes", json={"text": "operator confirmed <b>ok</b>"})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["author"] == "kit-analyst" and note["text"] == "operator confirmed <b>ok</b>"
    detail = analyst.get(f"{API}/alerts/{aid}").json()
    assert [n["id"] for n in detail["notes"]] == [note["id"]]
    assert_error(analyst.post(f"{API}/alerts/{aid}/notes", json={"text": ""}), 422)
    assert_error(analyst.post(f"{API}/alerts/{aid}/notes", json={"text": 5}), 422)
    assert_error(analyst.post(f"{API}/alerts/424242/notes", json={"text": "x"}), 404)
    assert_error(analyst.post(f"{API}/alerts/{aid}/notes", content=b"{not json",
                              headers={"content-type": "application/json"}), 422)


def test_suppress_and_lift(kit: ConsoleKit, analyst: Any) -> None:
    first = alert_id(analyst, "ot.modbus.device_identification")
    until = (time.time() + 3600)
    r = analyst.post(f"{API}/alerts/{first}/suppress", json={
        "scope": "source", "until": until, "reason": "inventory scan by the HMI vendor"})
    assert r.status_code == 200, r.text
    body = r.json()
    # scope source: both identification alerts of the HMI (two PLCs) are hidden
    assert len(body["suppressed"]) == 2 and first in body["suppressed"]
    s = body["suppression"]
    assert (s["rule_id"], s["src_ip"], s["dst_ip"], s["active"]) == (
        "ot.modbus.device_identification", "10.10.20.10", "", True)
    assert abs(s["until"] - until) < 1
    assert_page(analyst.get(f"{API}/alerts", params={"status": "suppressed"}), total=2)
    assert_page(analyst.get(f"{API}/suppressions", params={"active": True}), total=1)
    assert_error(analyst.post(f"{API}/alerts/{first}/suppress", json={"reason": "x"}), 409)
    other = alert_id(analyst, "ot.enip.list_identity_broadcast")
    assert_error(analyst.post(f"{API}/alerts/{other}/suppress", json={
        "reason": "x", "until": "2001-01-01T00:00:00Z"}), 422)
    assert_error(analyst.post(f"{API}/alerts/{other}/suppress", json={
        "reason": "x", "scope": "everything"}), 422)
    lifted = analyst.delete(f"{API}/suppressions/{s['id']}")
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    assert_page(analyst.get(f"{API}/alerts", params={"status": "suppressed"}), total=0)
    assert_error(analyst.delete(f"{API}/suppressions/{s['id']}"), 409)
    assert_error(analyst.delete(f"{API}/suppressions/777"), 404)
    assert audit_rows(kit, "alert.suppress")[-1].target == f"suppression:{s['id']}"


def test_viewer_cannot_triage(kit: ConsoleKit, demo: dict[str, Any]) -> None:
    viewer = kit.client(Role.VIEWER)
    aid = alert_id(viewer, "ot.s7.cpu_stop")
    assert_error(viewer.post(f"{API}/alerts/{aid}/acknowledge"), 403, "forbidden")
    assert viewer.get(f"{API}/alerts/{aid}").json()["summary"]["status"] == "new"


def test_csrf_required_for_cookie_writes(kit: ConsoleKit, analyst: Any) -> None:
    aid = alert_id(analyst, "ot.s7.cpu_stop")
    r = analyst.post(f"{API}/alerts/{aid}/acknowledge", headers={"X-CSRF-Token": "wrong"})
    assert_error(r, 403, "csrf_failed")


# -- assets ----------------------------------------------------------------------------------

def test_asset_patch(kit: ConsoleKit, demo: dict[str, Any], tmp_path: Path) -> None:
    eng = kit.client(Role.OT_ENGINEER)
    r = eng.patch(f"{API}/assets/ip:10.10.30.50", json={
        "name": "EDGE-GW-01", "roles": ["ot_server"], "purdue_level": 3, "safety": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["name"] == "EDGE-GW-01"
    assert body["summary"]["purdue_level"] == 3 and body["summary"]["safety"] is True
    assert [x["role"] for x in body["record"]["roles"]] == ["ot_server"]
    assert body["record"]["roles"][0]["source"] == "override"
    assert body["record"]["level_reason"] == "set by a user"
    found = assert_page(eng.get(f"{API}/assets", params={"q": "EDGE-GW"}), total=1)
    assert found[0]["id"] == "ip:10.10.30.50"
    entry = audit_rows(kit, "asset.override")[-1]
    assert entry.actor == "kit-ot-engineer" and entry.target == "asset:ip:10.10.30.50"
    assert json.loads(entry.detail)["purdue_level"] == [None, "3"]
    # the correction survives the next capture of the same traffic
    r = upload(kit, demo_capture(tmp_path).read_bytes(), "later.pcap")
    assert finished(kit, r.json()["id"])["status"] == "done"
    again = eng.get(f"{API}/assets/ip:10.10.30.50").json()["summary"]
    assert (again["name"], again["purdue_level"], again["roles"]) == ("EDGE-GW-01", 3,
                                                                      ["ot_server"])
    # null removes the override: the inferred name shows again
    r = eng.patch(f"{API}/assets/ip:10.10.30.50", json={"name": None})
    assert r.json()["summary"]["name"] == "10.10.30.50"
    assert_error(eng.patch(f"{API}/assets/ip:10.10.30.50", json={}), 422)
    assert_error(eng.patch(f"{API}/assets/ip:10.10.30.50", json={"purdue_level": 7}), 422)
    assert_error(eng.patch(f"{API}/assets/ip:10.10.30.50", json={"roles": ["wizard"]}), 422)
    assert_error(eng.patch(f"{API}/assets/ip:10.10.30.50", json={"password": "x"}), 422)
    assert_error(eng.patch(f"{API}/assets/ip:192.0.2.9", json={"name": "x"}), 404)
    assert_error(kit.client(Role.ANALYST).patch(f"{API}/assets/ip:10.10.30.50", json={
        "name": "x"}), 403)


# -- policy ----------------------------------------------------------------------------------

def test_policy_versions(kit: ConsoleKit, demo: dict[str, Any]) -> None:
    eng = kit.client(Role.OT_ENGINEER)
    doc = eng.get(f"{API}/policy").json()  # the --site file, not yet a stored version
    text = DEMO_SITE.read_text()
    assert (doc["version"], doc["text"], doc["usable"]) == (0, text, True)
    assert doc["filename"] == "demo-site.yaml"
    r = eng.put(f"{API}/policy", json={"text": text, "base_version": 0, "comment": "first"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["version"] == 1 and doc["usable"] is True and doc["site"] == "otshield demo plant"
    assert [z["name"] for z in doc["zones"]][:2] == ["Enterprise", "SCADA"]
    control = next(z for z in doc["zones"] if z["name"] == "Control")
    assert (control["level"], control["security_level_target"], control["assets"]) == (1, 3, 7)
    assert doc["conduits"][0]["name"] == "SCADA polling and setpoints"
    assert [f["severity"] for f in doc["lint"]] == ["warning"]
    assert_error(eng.put(f"{API}/policy", json={"text": text, "base_version": 0}), 409)
    bad = text.replace("level: 4,", "level: 9,", 1)
    err = assert_error(eng.put(f"{API}/policy", json={"text": bad, "base_version": 1}), 422,
                       "policy_invalid")
    assert err["details"][0]["severity"] == "error"
    assert_error(eng.put(f"{API}/policy", json={"text": "zones: [", "base_version": 1}), 422)
    assert_error(eng.put(f"{API}/policy", json={"text": text, "base_version": 1,
                                                "filename": "../etc/passwd"}), 422)
    assert_error(kit.client(Role.ANALYST).put(f"{API}/policy", json={
        "text": text, "base_version": 1}), 403)
    versions = eng.get(f"{API}/policy/versions").json()
    assert [v["version"] for v in versions] == [1]
    lint = eng.post(f"{API}/policy/lint", json={"text": bad}).json()
    assert lint["ok"] is False
    assert eng.get(f"{API}/policy/lint").json()["ok"] is True
    assert len(eng.get(f"{API}/policy/zones").json()) == 6
    assert len(eng.get(f"{API}/policy/conduits").json()) == len(doc["conduits"])
    entry = audit_rows(kit, "policy.save")[-1]
    assert entry.actor == "kit-ot-engineer" and json.loads(entry.detail)["version"] == 1


def test_policy_violations(kit: ConsoleKit, demo: dict[str, Any]) -> None:
    items = assert_page(kit.client(Role.VIEWER).get(f"{API}/policy/violations"), total=1)
    assert items[0]["rule_id"] == "policy.function_not_allowed"


# -- baselines -------------------------------------------------------------------------------

BASELINE = {
    "format": "otshield-baseline", "version": 1, "site": "demo",
    "zones": {"Control": {"assets": {"10.10.30.11": {}}, "pairs": {}}},
}


def test_baselines(kit: ConsoleKit, demo: dict[str, Any]) -> None:
    eng = kit.client(Role.OT_ENGINEER)
    r = eng.put(f"{API}/baselines/plant", json={"baseline": BASELINE, "comment": "import"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    shown = eng.get(f"{API}/baselines/plant").json()
    assert shown["zones"] == [{"zone": "Control", "assets": 1, "pairs": 0, "functions": 0,
                               "write_areas": 0}]
    r = eng.post(f"{API}/baselines/plant/edit", json={
        "allow": ["talker:10.10.20.10,10.10.30.11,modbus"], "base_version": 1,
        "comment": "HMI polls PLC-PUMPS"})
    assert r.status_code == 200, r.text
    assert r.json()["baseline"]["version"] == 2
    assert "talker" in r.json()["done"][0]
    shown = eng.get(f"{API}/baselines/plant").json()
    assert shown["version"] == 2 and shown["zones"][0]["pairs"] == 1
    assert eng.get(f"{API}/baselines/plant", params={"version": 1}).json()["zones"][0][
        "pairs"] == 0
    assert_error(eng.post(f"{API}/baselines/plant/edit", json={
        "forget": ["asset:10.10.30.11"], "base_version": 1}), 409)
    assert_error(eng.post(f"{API}/baselines/plant/edit", json={
        "allow": ["nonsense"], "base_version": 2}), 422)
    assert_error(eng.post(f"{API}/baselines/plant/edit", json={"base_version": 2}), 422)
    assert_error(eng.put(f"{API}/baselines/plant", json={"baseline": {"format": "x"}}), 422)
    assert_error(eng.put(f"{API}/baselines/bad name", json={"baseline": BASELINE}), 422)
    assert_error(eng.get(f"{API}/baselines/none"), 404)
    assert_error(kit.client(Role.VIEWER).put(f"{API}/baselines/plant", json={
        "baseline": BASELINE}), 403)
    listing = assert_page(eng.get(f"{API}/baselines"), total=2)
    assert [(b["name"], b["version"]) for b in listing] == [("plant", 2), ("plant", 1)]
    assert_page(eng.get(f"{API}/baselines", params={"latest": True}), total=1)
    assert audit_rows(kit, "baseline.save")[-1].target == "baseline:plant@2"


# -- the job worker ----------------------------------------------------------------------------

def test_restart_resumes_unfinished_jobs(kit: ConsoleKit, tmp_path: Path) -> None:
    """Jobs a stopped server left queued are run by the next one's worker at start; a job
    whose capture vanished fails with a message naming the upload, not a traceback."""
    from otshield.console.api.jobrunner import JobRunner
    from otshield.store import jobs as jobs_repo

    capture = demo_capture(tmp_path)
    with kit.store.session() as db:
        queued, _ = jobs_repo.create_job(db, filename="left-over.pcap", path=str(capture),
                                         created_by="kit-analyst")
        lost, _ = jobs_repo.create_job(db, filename="gone.pcap",
                                       path=str(tmp_path / "missing.pcap"),
                                       created_by="kit-analyst")
    runner = JobRunner(kit.store, kit.settings)
    runner.start()
    try:
        assert runner.wait_idle(120)
    finally:
        runner.stop()
    viewer = kit.client(Role.VIEWER)
    assert viewer.get(f"{API}/captures/{queued.id}").json()["status"] == "done"
    gone = viewer.get(f"{API}/captures/{lost.id}").json()
    assert gone["status"] == "failed" and "gone.pcap" in gone["error"]
    assert str(tmp_path) not in gone["error"]
