"""The access-control paths that touch the database most, on a real PostgreSQL (tests/pgkit.py;
skipped with the reason when the server binaries are absent): the same answers as on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role
from otshield.errors import OtshieldError
from otshield.store.models import AuditRow, UserRow
from pgkit import pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def pg_kit(pg_url: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
           ) -> Iterator[ConsoleKit]:
    tmp: Path = tmp_path_factory.mktemp("pgauth")
    with ConsoleKit.build(tmp, full=False, database=pg_url, login_attempts=3,
                          lockout_seconds=300) as k:
        yield k


def test_mfa_sign_in_tokens_and_audit(pg_kit: ConsoleKit) -> None:
    admin = pg_kit.client(Role.ADMIN)  # password + TOTP
    r = admin.post(f"{API}/users", json={"username": "pg-user", "role": "analyst"})
    assert r.status_code == 201
    assert admin.post(f"{API}/users", json={"username": "pg-user",
                                            "role": "viewer"}).status_code == 409
    r = admin.post(f"{API}/tokens", json={"name": "pg", "scopes": ["audit:read"]})
    tc = pg_kit.anonymous(headers={"Authorization": f"Bearer {r.json()['token']}"})
    page = tc.get(f"{API}/audit", params={"action": "user."}).json()
    first = page["items"][0]
    assert (first["action"], first["target"], first["role"]) == ("user.create", "user:pg-user",
                                                                 "admin")
    assert tc.get(f"{API}/users").status_code == 403


def test_lockout_and_unlock(pg_kit: ConsoleKit) -> None:
    u = pg_kit.add_user("pg-locked", Role.VIEWER)
    c = pg_kit.anonymous()
    got = [c.post(f"{API}/auth/login", json={"username": u.username,
                                             "password": "wrong-password-x"}).status_code
           for _ in range(3)]
    assert got == [401, 401, 429]
    with pg_kit.store.session(write=False) as db:
        row = db.get(UserRow, u.id)
        assert row is not None and row.locked_until is not None
    r = pg_kit.client(Role.ADMIN).post(f"{API}/users/{u.id}/unlock")
    assert r.status_code == 200
    assert pg_kit.sign_in(u).get(f"{API}/auth/me").json()["user"]["username"] == "pg-locked"


def test_audit_append_only(pg_kit: ConsoleKit) -> None:
    with pytest.raises(OtshieldError), pg_kit.store.session() as db:
        db.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pg_kit.store.session(write=False) as db:
        details = [json.loads(d) for d in db.scalars(select(AuditRow.detail))]
    assert details and all(isinstance(d, dict) for d in details)
