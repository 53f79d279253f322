"""The incident-response REST API (issue #8) over a console that analysed the simulated
ransomware attack: one incident with its explanation and proposed playbook, roles at every
endpoint (an analyst cannot pass the OT safety gate, an OT engineer can), cases with evidence
and the after-action report, the playbook library with CACAO import and export, the outbox,
audit rows, and the state surviving a new app on the same database.

Each test makes the state it needs (its own run, the incident's case if absent), so the tests
stay independent under pytest-xdist."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.apikit import assert_error
from console.consolekit import API, ConsoleKit
from console.respondkit import attack, respond_kit, upload_attack
from otshield.console.app import create_app
from otshield.console.permissions import Role
from otshield.respond.library import builtin_playbooks
from otshield.respond.service import ResponseLoop
from otshield.store import Store
from otshield.store.models import AuditRow

RANSOMWARE = "Ransomware in IT threatening OT"


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    with respond_kit(tmp_path_factory.mktemp("respond")) as k:
        yield k


def _incident(kit: ConsoleKit) -> dict[str, Any]:
    r = kit.client(Role.VIEWER).get(f"{API}/incidents")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    detail: dict[str, Any] = kit.client(Role.VIEWER).get(
        f"{API}/incidents/{items[0]['id']}").json()
    return detail


def _start(kit: ConsoleKit, role: Role = Role.ANALYST) -> dict[str, Any]:
    inc = _incident(kit)
    pid = inc["proposals"][0]["playbook_id"]
    r = kit.client(role).post(f"{API}/incidents/{inc['summary']['id']}/runs",
                              json={"playbook_id": pid})
    assert r.status_code == 201, r.text
    run: dict[str, Any] = r.json()
    return run


def _active(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in run["steps"] if s["status"] == "active"]


def _to_the_gate(kit: ConsoleKit) -> tuple[str, dict[str, Any]]:
    """A new run worked up to the safety-gated step; (run id, that step)."""
    run = _start(kit)
    rid = run["summary"]["id"]
    analyst = kit.client(Role.ANALYST)
    triage = _active(run)[0]
    for item in triage["checklist"]:
        r = analyst.post(f"{API}/runs/{rid}/steps/{triage['id']}/tick",
                         json={"item": item["index"]})
        assert r.status_code == 200, r.text
    r = analyst.post(f"{API}/runs/{rid}/steps/{triage['id']}/complete", json={})
    assert r.status_code == 200, r.text
    gated = [s for s in _active(r.json()) if s["needs_approval"]]
    assert len(gated) == 1, _active(r.json())
    return rid, gated[0]


def _case_id(kit: ConsoleKit) -> str:
    inc = _incident(kit)
    if inc["summary"]["case_id"]:
        return str(inc["summary"]["case_id"])
    r = kit.client(Role.ANALYST).post(f"{API}/incidents/{inc['summary']['id']}/case")
    if r.status_code == 409:  # another test opened it meanwhile
        return str(_incident(kit)["summary"]["case_id"])
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _audit(kit: ConsoleKit, action: str) -> list[AuditRow]:
    from sqlalchemy import select

    with kit.store.session(write=False) as db:
        return list(db.scalars(select(AuditRow).where(AuditRow.action == action)).all())


# -- incidents --------------------------------------------------------------------------------


def test_the_attack_is_one_explained_incident_with_its_playbook(kit: ConsoleKit) -> None:
    inc = _incident(kit)
    summary = inc["summary"]
    assert summary["severity"] == "critical"
    assert summary["status"] == "open"
    assert summary["attackers"] == ["OFFICE-PC-12"]
    by_ip = {a["ip"]: a for a in inc["assets"]}
    assert by_ip[attack().attacker]["attacker"] is True
    plc = by_ip[attack().stopped_plc]
    assert plc["attacker"] is False and plc["ot"] is True
    assert inc["explanation"][0].startswith("opened by ")
    assert any(" joined because " in line for line in inc["explanation"][1:])
    assert inc["tactics"][0] == "initial-access"
    assert "impair-process-control" in inc["tactics"]
    assert inc["proposals"][0]["name"] == RANSOMWARE
    assert len(inc["alerts"]) == summary["alerts"] >= 10
    # the list filters
    viewer = kit.client(Role.VIEWER)
    assert viewer.get(f"{API}/incidents?severity=critical").json()["total"] == 1
    assert viewer.get(f"{API}/incidents?status=closed").json()["total"] == 0
    assert viewer.get(f"{API}/incidents?ip={attack().stopped_plc}").json()["total"] == 1
    assert viewer.get(f"{API}/incidents?ip=10.10.10.1").json()["total"] == 0
    assert viewer.get(f"{API}/incidents?tactic=impair-process-control").json()["total"] == 1
    assert viewer.get(f"{API}/incidents?technique=T0855").json()["total"] == 1
    assert viewer.get(f"{API}/incidents?technique=T08").json()["total"] == 0
    assert viewer.get(f"{API}/incidents?q=OFFICE-PC").json()["total"] == 1
    assert_error(viewer.get(f"{API}/incidents?severity=worst"), 422)
    assert_error(viewer.get(f"{API}/incidents/999999"), 404, "not_found")


def test_correlation_is_idempotent_on_reanalysis(kit: ConsoleKit) -> None:
    before = _incident(kit)["summary"]
    r = kit.client(Role.ANALYST).post(f"{API}/incidents/correlate")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == [] and r.json()["merged"] == []
    upload_attack(kit)  # the same capture again: the alerts' counts change, not the incident
    after = _incident(kit)["summary"]
    assert (after["id"], after["key"], after["alerts"]) == \
        (before["id"], before["key"], before["alerts"])
    assert_error(kit.client(Role.VIEWER).post(f"{API}/incidents/correlate"), 403)


def test_incident_close_needs_a_reason_and_reopens(kit: ConsoleKit) -> None:
    iid = _incident(kit)["summary"]["id"]
    analyst = kit.client(Role.ANALYST)
    assert_error(analyst.post(f"{API}/incidents/{iid}/status", json={"status": "closed"}), 422)
    r = analyst.post(f"{API}/incidents/{iid}/status",
                     json={"status": "closed", "reason": "contained and recovered"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = analyst.post(f"{API}/incidents/{iid}/status", json={"status": "open"})
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    assert_error(analyst.post(f"{API}/incidents/{iid}/status", json={"status": "open"}), 422)
    assert {a.detail for a in _audit(kit, "incident.close")}


# -- runs and the OT safety gate --------------------------------------------------------------


def test_an_analyst_cannot_pass_the_gate_an_ot_engineer_can(kit: ConsoleKit) -> None:
    rid, gated = _to_the_gate(kit)
    assert gated["name"] == "Close the IT-to-OT conduits that the attack used"
    assert "an OT engineer weighs it" in gated["gate_reason"]
    assert "PLC-TREAT" in gated["gate_reason"]
    analyst = kit.client(Role.ANALYST)
    url = f"{API}/runs/{rid}/steps/{gated['id']}"
    assert_error(analyst.post(f"{url}/approve", json={}), 403, "forbidden")
    for item in gated["checklist"]:
        assert analyst.post(f"{url}/tick", json={"item": item["index"]}).status_code == 200
    error = assert_error(analyst.post(f"{url}/complete", json={}), 409, "conflict")
    assert "waits for an OT engineer's approval" in error["message"]
    assert kit.client(Role.ADMIN).post(f"{url}/approve", json={}).status_code == 403
    assert kit.client(Role.VIEWER).post(f"{url}/tick", json={"item": 0}).status_code == 403
    r = kit.client(Role.OT_ENGINEER).post(f"{url}/approve",
                                          json={"reason": "agreed with the shift"})
    assert r.status_code == 200, r.text
    run = r.json()
    step = next(s for s in run["steps"] if s["id"] == gated["id"])
    assert step["approved_by"] == "kit-ot-engineer (ot_engineer)"
    approved = [t for t in run["timeline"] if t["kind"] == "approved"]
    assert [(t["actor"], t["detail"]) for t in approved] == \
        [("kit-ot-engineer (ot_engineer)", "agreed with the shift")]
    assert_error(kit.client(Role.OT_ENGINEER).post(f"{url}/approve", json={}), 409)
    r = analyst.post(f"{url}/complete", json={"note": "conduit closed"})
    assert r.status_code == 200, r.text
    assert next(s for s in r.json()["steps"] if s["id"] == gated["id"])["status"] == "done"
    rows = [a for a in _audit(kit, "playbook.approve") if a.target == f"run:{rid}"]
    assert len(rows) == 1 and rows[0].actor == "kit-ot-engineer"
    assert rows[0].role == "ot_engineer"

    # the IT branch ends too; then the decision, and the firewall proposal it leads to
    it = next(s for s in _active(r.json()) if s["name"] == "Contain the infected IT hosts")
    for item in it["checklist"]:
        analyst.post(f"{API}/runs/{rid}/steps/{it['id']}/tick", json={"item": item["index"]})
    run = analyst.post(f"{API}/runs/{rid}/steps/{it['id']}/complete", json={}).json()
    decision = next(s for s in _active(run) if s["decision_options"])
    assert decision["decision_options"] == ["yes", "no"]
    assert_error(analyst.post(f"{API}/runs/{rid}/steps/{decision['id']}/complete",
                              json={}), 409)
    assert_error(analyst.post(f"{API}/runs/{rid}/steps/{decision['id']}/decide",
                              json={"option": "maybe"}), 409)
    run = analyst.post(f"{API}/runs/{rid}/steps/{decision['id']}/decide",
                       json={"option": "yes"}).json()
    assert run["variables"]["__process_ok__"] == "yes"
    proposal = next(s for s in run["steps"] if s["automated"] == "nftables")
    assert proposal["status"] == "done"
    assert f"ip saddr {{ {attack().attacker} }} counter drop" in proposal["output"]
    assert [s["name"] for s in _active(run)] == [
        "Check the HMIs and the engineering workstation for the ransomware"]


def test_run_errors_and_other_operations(kit: ConsoleKit) -> None:
    run = _start(kit)
    rid = run["summary"]["id"]
    triage = _active(run)[0]
    analyst = kit.client(Role.ANALYST)
    url = f"{API}/runs/{rid}/steps/{triage['id']}"
    error = assert_error(analyst.post(f"{url}/complete", json={}), 409)
    assert "checklist not done" in error["message"]
    assert_error(analyst.post(f"{url}/tick", json={"item": 99}), 409)
    assert_error(analyst.post(f"{url}/tick", json={"item": -1}), 422)
    assert_error(analyst.post(f"{API}/runs/{rid}/steps/no-such-step/acknowledge"), 409)
    assert_error(analyst.post(f"{API}/runs/run-none/steps/x/acknowledge"), 404)
    r = analyst.post(f"{url}/acknowledge")
    assert r.status_code == 200, r.text
    assert_error(analyst.post(f"{url}/acknowledge"), 409)
    r = analyst.post(f"{API}/runs/{rid}/notes", json={"text": "called the plant",
                                                      "step": triage["id"]})
    assert r.json()["timeline"][-1]["kind"] == "note"
    assert_error(analyst.post(f"{API}/runs/{rid}/abort", json={"reason": ""}), 422)
    r = analyst.post(f"{API}/runs/{rid}/abort", json={"reason": "duplicate run"})
    assert r.status_code == 200 and r.json()["summary"]["status"] == "aborted"
    assert_error(analyst.post(f"{url}/complete", json={}), 409)
    listed = kit.client(Role.VIEWER).get(f"{API}/runs?status=aborted").json()
    assert rid in [x["id"] for x in listed["items"]]
    assert kit.client(Role.VIEWER).get(f"{API}/runs/{rid}").status_code == 200
    assert_error(kit.client(Role.VIEWER).post(
        f"{API}/incidents/{run['summary']['incident_id']}/runs",
        json={"playbook_id": run["summary"]["playbook_id"]}), 403)
    assert_error(analyst.post(f"{API}/incidents/{run['summary']['incident_id']}/runs",
                              json={"playbook_id": "playbook--nope"}), 404)


def test_automated_steps_queue_notifications(kit: ConsoleKit) -> None:
    rid, _gated = _to_the_gate(kit)
    r = kit.client(Role.VIEWER).get(f"{API}/notifications")
    assert r.status_code == 200, r.text
    body = r.json()
    mine = [n for n in body["items"] if n["run_id"] == rid]
    assert sorted(n["channel"] for n in mine) == ["email", "syslog"]
    assert all(n["status"] == "pending" for n in mine)
    assert body["counts"]["pending"] >= 2 and body["channels"] == []


# -- cases ------------------------------------------------------------------------------------


def test_case_assignment_status_notes_evidence_report(kit: ConsoleKit) -> None:
    cid = _case_id(kit)
    analyst = kit.client(Role.ANALYST)
    iid = _incident(kit)["summary"]["id"]
    assert_error(analyst.post(f"{API}/incidents/{iid}/case"), 409)
    assert_error(analyst.post(f"{API}/cases/{cid}/assign", json={"owner": "nobody-here"}), 422)
    r = analyst.post(f"{API}/cases/{cid}/assign",
                     json={"owner": "kit-analyst", "ot": "kit-ot-engineer"})
    assert r.status_code == 200, r.text
    assert (r.json()["owner"], r.json()["ot_assignee"]) == ("kit-analyst", "kit-ot-engineer")
    assert_error(analyst.post(f"{API}/cases/{cid}/status", json={"status": "closed"}), 422)
    assert_error(analyst.post(f"{API}/cases/{cid}/status", json={"status": "bogus"}), 422)
    status = r.json()["status"]
    if status == "new":
        assert_error(analyst.post(f"{API}/cases/{cid}/status",
                                  json={"status": "recovering"}), 409)
        r = analyst.post(f"{API}/cases/{cid}/status", json={"status": "investigating"})
        assert r.status_code == 200 and r.json()["status"] == "investigating"
    r = analyst.post(f"{API}/cases/{cid}/notes", json={"text": "HMI-01 isolated by hand"})
    assert r.json()["timeline"][-1]["text"] == "HMI-01 isolated by hand"
    assert_error(analyst.post(f"{API}/cases/{cid}/notes", json={"text": "   "}), 422)
    assert_error(kit.client(Role.VIEWER).post(f"{API}/cases/{cid}/notes",
                                              json={"text": "x"}), 403)
    # evidence: the attack's packets, downloadable with the recorded hash
    r = analyst.post(f"{API}/cases/{cid}/evidence/pcap")
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["kind"] == "pcap" and "packets" in item["description"]
    data = kit.client(Role.VIEWER).get(f"{API}/cases/{cid}/evidence/{item['ref']}")
    assert data.status_code == 200
    assert hashlib.sha256(data.content).hexdigest() == item["sha256"]
    assert data.content[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    assert_error(kit.client(Role.VIEWER).get(f"{API}/cases/{cid}/evidence/other.pcap"), 404)
    # the after-action report
    md = kit.client(Role.VIEWER).get(f"{API}/cases/{cid}/report")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# After-action report")
    assert "HMI-01 isolated by hand" in md.text
    html = kit.client(Role.VIEWER).get(f"{API}/cases/{cid}/report?format=html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text and "default-src 'none'" in html.headers[
        "content-security-policy"]
    pdf = kit.client(Role.VIEWER).get(f"{API}/cases/{cid}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    assert f"{cid}-after-action.pdf" in pdf.headers["content-disposition"]
    listed = kit.client(Role.VIEWER).get(f"{API}/cases?assignee=kit-ot-engineer").json()
    assert [c["id"] for c in listed["items"]] == [cid]
    assert kit.client(Role.VIEWER).get(f"{API}/cases?owner=kit-admin").json()["total"] == 0
    assert_error(kit.client(Role.VIEWER).get(f"{API}/cases/CASE-none"), 404)
    assert _audit(kit, "case.evidence") and _audit(kit, "case.assign")


# -- playbooks --------------------------------------------------------------------------------


def test_playbook_library_export_and_import(kit: ConsoleKit) -> None:
    viewer = kit.client(Role.VIEWER)
    books = viewer.get(f"{API}/playbooks").json()
    assert sorted(b["name"] for b in books) == sorted(p.name for p in builtin_playbooks())
    ransomware = next(b for b in books if b["name"] == RANSOMWARE)
    assert ransomware["gated_steps"] == 2 and ransomware["recovery_steps"] >= 1
    detail = viewer.get(f"{API}/playbooks/{ransomware['id']}").json()
    assert detail["roles"] and any(s["ot_gate"] for s in detail["steps"])
    exported = viewer.get(f"{API}/playbooks/{ransomware['id']}/cacao")
    assert exported.status_code == 200
    doc = exported.json()
    assert doc["id"] == ransomware["id"] and doc["spec_version"] == "cacao-2.0"
    assert_error(viewer.get(f"{API}/playbooks/playbook--nope"), 404)

    ot = kit.client(Role.OT_ENGINEER)
    assert_error(kit.client(Role.ANALYST).post(f"{API}/playbooks/import", json=doc), 403)
    broken = copy.deepcopy(doc)
    step_id = next(k for k, v in broken["workflow"].items() if v["type"] == "action")
    broken["workflow"][step_id]["on_completion"] = "action--missing"
    broken["workflow"][step_id]["colour"] = "red"
    error = assert_error(ot.post(f"{API}/playbooks/import", json=broken), 422,
                         "invalid_playbook")
    name = broken["workflow"][step_id]["name"]
    assert any(step_id in d["path"] and name in d["path"] for d in error["details"])
    assert any("colour" in d["path"] or "colour" in d["message"] for d in error["details"])
    assert_error(ot.post(f"{API}/playbooks/import", content=b"{not json",
                         headers={"content-type": "application/json"}), 422)
    renamed = copy.deepcopy(doc)
    renamed["name"] = "Ransomware (site copy)"
    r = ot.post(f"{API}/playbooks/import", files={
        "file": ("site.json", json.dumps(renamed).encode(), "application/json")})
    assert r.status_code == 201, r.text
    assert r.json()["replaced"] is True and r.json()["playbook"]["source"] == "imported"
    names = [b["name"] for b in viewer.get(f"{API}/playbooks").json()]
    assert "Ransomware (site copy)" in names and RANSOMWARE not in names
    # back to the built-in wording for the other tests
    assert ot.post(f"{API}/playbooks/import", json=doc).status_code == 201
    assert len(_audit(kit, "playbook.import")) >= 2


# -- persistence and the background loop ------------------------------------------------------


def test_state_survives_a_new_app_and_the_loop_escalates(kit: ConsoleKit, tmp_path: Path
                                                         ) -> None:
    rid, gated = _to_the_gate(kit)
    store = Store(kit.settings.database)
    try:
        app = create_app(kit.settings, store=store)
        from starlette.testclient import TestClient

        with TestClient(app) as fresh:
            kit.sign_in(kit.users[Role.VIEWER], fresh)
            run = fresh.get(f"{API}/runs/{rid}").json()
            step = next(s for s in run["steps"] if s["id"] == gated["id"])
            assert step["needs_approval"] and not step["approved_by"]
            assert run["summary"]["waiting_approval"] is True
        # an hour later nobody has acknowledged the parallel steps: the loop pages
        loop = ResponseLoop(store, kit.settings, clock=lambda: run["summary"]["started_at"]
                            + 3600)
        escalated, sent = loop.once()
        assert rid in escalated and sent == []
        again, _ = loop.once()  # the same moment again: nothing new
        assert rid not in again
    finally:
        store.dispose()
    run = kit.client(Role.VIEWER).get(f"{API}/runs/{rid}").json()
    escalations = [t for t in run["timeline"] if t["kind"] == "escalated"]
    assert escalations and all("paging" in t["detail"] for t in escalations)
    pages = [n for n in kit.client(Role.VIEWER).get(f"{API}/notifications").json()["items"]
             if n["run_id"] == rid and n["subject"].startswith("ESCALATION")]
    assert len(pages) == len(escalations)
    assert any(a.target == f"run:{rid}" for a in _audit(kit, "playbook.escalate"))
