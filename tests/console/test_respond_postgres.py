"""Incident response on PostgreSQL (tests/pgkit.py: a real server, skipped with the reason when
the binaries are absent): migration 0003, correlation after an upload, a run through the OT
safety gate with its audit rows, the outbox, and the state read back by a new app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.consolekit import API, ConsoleKit
from console.respondkit import attack, upload_attack
from otshield.console.app import create_app
from otshield.console.permissions import Role
from otshield.respond.notify.outbox import Outbox
from otshield.store import Store
from otshield.store.migrate import head
from otshield.store.models import AuditRow
from pgkit import pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def pg_kit(pg_url: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
           ) -> Iterator[ConsoleKit]:
    tmp = tmp_path_factory.mktemp("respond-pg")
    with ConsoleKit.build(tmp, database=pg_url, site_file=attack().site) as kit:
        upload_attack(kit)
        yield kit


def test_the_gate_and_persistence_on_postgresql(pg_kit: ConsoleKit, tmp_path: Path) -> None:
    kit = pg_kit
    assert kit.store.dialect == "postgresql" and kit.store.revision() == head()
    viewer = kit.client(Role.VIEWER)
    incidents = viewer.get(f"{API}/incidents").json()
    assert incidents["total"] == 1
    iid = incidents["items"][0]["id"]
    detail = viewer.get(f"{API}/incidents/{iid}").json()
    assert detail["summary"]["severity"] == "critical"
    assert detail["proposals"][0]["name"] == "Ransomware in IT threatening OT"
    assert kit.client(Role.ANALYST).post(f"{API}/incidents/correlate").json()["created"] == []

    analyst = kit.client(Role.ANALYST)
    run = analyst.post(f"{API}/incidents/{iid}/runs", json={
        "playbook_id": detail["proposals"][0]["playbook_id"]}).json()
    rid = run["summary"]["id"]
    first = next(s for s in run["steps"] if s["status"] == "active")
    for item in first["checklist"]:
        analyst.post(f"{API}/runs/{rid}/steps/{first['id']}/tick", json={"item": item["index"]})
    run = analyst.post(f"{API}/runs/{rid}/steps/{first['id']}/complete", json={}).json()
    gated = next(s for s in run["steps"] if s["status"] == "active" and s["needs_approval"])
    url = f"{API}/runs/{rid}/steps/{gated['id']}"
    assert analyst.post(f"{url}/approve", json={}).status_code == 403
    assert analyst.post(f"{url}/complete", json={}).status_code == 409
    r = kit.client(Role.OT_ENGINEER).post(f"{url}/approve", json={"reason": "pg"})
    assert r.status_code == 200, r.text

    # the outbox table of migration 0003 is the one Outbox uses
    status = Outbox(kit.store.engine).status()
    assert status["pending"] >= 2
    with kit.store.session(write=False) as db:
        actions = set(db.scalars(select(AuditRow.action).where(
            AuditRow.target == f"run:{rid}")).all())
    assert {"playbook.start", "playbook.tick", "playbook.complete",
            "playbook.approve"} <= actions

    # a new app on the same database sees the approval
    store = Store(kit.settings.database)
    try:
        with TestClient(create_app(kit.settings, store=store)) as fresh:
            kit.sign_in(kit.users[Role.VIEWER], fresh)
            again = fresh.get(f"{API}/runs/{rid}").json()
        step = next(s for s in again["steps"] if s["id"] == gated["id"])
        assert step["approved_by"] == "kit-ot-engineer (ot_engineer)"
    finally:
        store.dispose()
