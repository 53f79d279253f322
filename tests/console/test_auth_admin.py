"""Users, API tokens and the audit log through the API: who may do what, exact answers, and
the audit entries every change leaves."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError

from console.consolekit import API, ConsoleKit
from otshield.console.auth import tokens
from otshield.console.permissions import Permission, Role
from otshield.errors import OtshieldError
from otshield.store.models import ApiTokenRow, AuditRow


def _last(kit: ConsoleKit, action: str) -> AuditRow:
    with kit.store.session(write=False) as db:
        row = db.scalars(select(AuditRow).where(AuditRow.action == action)
                         .order_by(AuditRow.id.desc())).first()
    assert row is not None, action
    return row


# -- users --------------------------------------------------------------------------------------


def test_admin_creates_a_user_with_a_one_time_password(auth_kit: ConsoleKit) -> None:
    admin = auth_kit.client(Role.ADMIN)
    r = admin.post(f"{API}/users", json={"username": "Carol", "role": "analyst",
                                         "display_name": "Carol C."})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["username"] == "carol"
    assert body["user"]["must_change_password"] is True
    assert body["user"]["mfa_enrolled"] is False
    otp = body["one_time_password"]
    assert len(otp) == 24
    ev = _last(auth_kit, "user.create")
    assert (ev.actor, ev.role, ev.via, ev.target) == ("kit-admin", "admin", "session",
                                                      "user:carol")
    assert json.loads(ev.detail) == {"role": "analyst", "display_name": "Carol C.", "email": ""}
    assert otp not in ev.detail
    r = admin.post(f"{API}/users", json={"username": "carol", "role": "viewer"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = admin.post(f"{API}/users", json={"username": "bad name!", "role": "viewer"})
    assert r.status_code == 422
    r = admin.post(f"{API}/users", json={"username": "dave", "role": "superuser"})
    assert r.status_code == 422
    # The new user must change the one-time password first.
    c = auth_kit.anonymous()
    r = c.post(f"{API}/auth/login", json={"username": "carol", "password": otp})
    assert r.status_code == 200 and r.json()["state"] == "password_change"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.OT_ENGINEER])
def test_only_admins_manage_users(auth_kit: ConsoleKit, role: Role) -> None:
    c = auth_kit.client(role)
    r = c.get(f"{API}/users")
    assert r.status_code == 403
    assert r.json()["error"] == {
        "code": "forbidden", "details": None,
        "message": f"this needs the permission users:read, which the role {role.value} "
                   "does not grant"}
    assert c.post(f"{API}/users", json={"username": "x1", "role": "admin"}).status_code == 403
    assert c.get(f"{API}/audit").status_code == 403


def test_anonymous_gets_401(auth_kit: ConsoleKit) -> None:
    c = auth_kit.anonymous()
    for method, path in (("GET", "/users"), ("GET", "/audit"), ("GET", "/tokens"),
                         ("GET", "/auth/me"), ("POST", "/auth/logout")):
        r = c.request(method, f"{API}{path}")
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "unauthenticated"


def test_role_change_and_last_admin_guard(auth_kit: ConsoleKit) -> None:
    admin = auth_kit.client(Role.ADMIN)
    me = auth_kit.users[Role.ADMIN]
    r = admin.patch(f"{API}/users/{me.id}", json={"role": "viewer"})
    assert r.status_code == 409 and "last enabled administrator" in r.json()["error"]["message"]
    r = admin.patch(f"{API}/users/{me.id}", json={"disabled": True})
    assert r.status_code == 409
    u = auth_kit.add_user("promote-me", Role.VIEWER)
    r = admin.patch(f"{API}/users/{u.id}", json={"role": "ot_engineer"})
    assert r.status_code == 200 and r.json()["role"] == "ot_engineer"
    ev = _last(auth_kit, "user.role")
    assert json.loads(ev.detail) == {"before": {"role": "viewer"},
                                     "after": {"role": "ot_engineer"}}
    # The new role requires a second factor the user has not enrolled yet.
    c = auth_kit.anonymous()
    r = c.post(f"{API}/auth/login", json={"username": u.username, "password": u.password})
    assert r.json()["state"] == "mfa_enrol"
    assert admin.patch(f"{API}/users/999999", json={"role": "viewer"}).status_code == 404
    r = admin.patch(f"{API}/users/{u.id}", json={"role": "root"})
    assert r.status_code == 422


def test_reset_password_and_mfa(auth_kit: ConsoleKit) -> None:
    admin = auth_kit.client(Role.ADMIN)
    u = auth_kit.add_user("forgetful", Role.OT_ENGINEER)
    c = auth_kit.sign_in(u)
    r = admin.post(f"{API}/users/{u.id}/reset-password")
    assert r.status_code == 200
    otp = r.json()["one_time_password"]
    assert r.json()["user"]["must_change_password"] is True
    assert c.get(f"{API}/auth/me").status_code == 401  # sessions ended
    r = admin.post(f"{API}/users/{u.id}/reset-mfa")
    assert r.status_code == 200 and r.json()["mfa_enrolled"] is False
    r = auth_kit.anonymous().post(f"{API}/auth/login", json={"username": u.username,
                                                              "password": otp})
    assert r.json()["state"] == "password_change"
    assert _last(auth_kit, "user.reset_mfa").target == "user:forgetful"
    assert _last(auth_kit, "user.reset_password").target == "user:forgetful"


# -- tokens -------------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_hashed(auth_kit: ConsoleKit) -> None:
    c = auth_kit.client(Role.ANALYST)
    r = c.post(f"{API}/tokens", json={"name": "siem", "scopes": ["alerts:read", "assets:read"],
                                      "expires_in_days": 30})
    assert r.status_code == 201
    body = r.json()
    secret = body["token"]
    info = body["info"]
    assert secret.startswith("otk_") and info["prefix"] == secret[:12]
    assert info["scopes"] == ["alerts:read", "assets:read"]
    assert info["expires_at"] - info["created_at"] == pytest.approx(30 * 86400)
    listed = c.get(f"{API}/tokens").json()
    assert secret not in json.dumps(listed)
    assert [t["name"] for t in listed["items"]].count("siem") == 1
    with auth_kit.store.session(write=False) as db:
        row = db.get(ApiTokenRow, info["id"])
        assert row is not None and row.token_hash == tokens.hash_token(secret)
    ev = _last(auth_kit, "token.create")
    assert secret not in ev.detail and json.loads(ev.detail)["prefix"] == secret[:12]


def test_token_scopes_intersect_the_role(auth_kit: ConsoleKit) -> None:
    viewer = auth_kit.client(Role.VIEWER)
    r = viewer.post(f"{API}/tokens", json={"name": "x", "scopes": ["alerts:triage"]})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == ("you cannot grant scopes you do not hold: "
                                            "alerts:triage")
    r = viewer.post(f"{API}/tokens", json={"name": "x", "scopes": ["no:such"]})
    assert r.status_code == 422
    r = viewer.post(f"{API}/tokens", json={"name": "x", "scopes": []})
    assert r.status_code == 422
    # A token without tokens:own cannot list tokens, though the role could.
    tc = auth_kit.token_client(Role.VIEWER, [Permission.ASSETS_READ])
    r = tc.get(f"{API}/tokens")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == ("this needs the permission tokens:own, which "
                                            "this token's scopes do not include")
    me = tc.get(f"{API}/auth/me").json()
    assert me["via"] == "token" and me["permissions"] == ["assets:read"]
    assert me["scopes"] == ["assets:read"] and me["csrf_token"] is None


def test_admin_token_follows_a_demotion(auth_kit: ConsoleKit) -> None:
    admin2 = auth_kit.add_user("second-admin", Role.ADMIN)
    c = auth_kit.sign_in(admin2)
    r = c.post(f"{API}/tokens", json={"name": "ops", "scopes": ["users:read"]})
    tc = auth_kit.anonymous(headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert tc.get(f"{API}/users").status_code == 200
    r = auth_kit.client(Role.ADMIN).patch(f"{API}/users/{admin2.id}", json={"role": "analyst"})
    assert r.status_code == 200
    r = tc.get(f"{API}/users")
    assert r.status_code == 403 and "role analyst does not grant" in r.json()["error"]["message"]


def test_expired_revoked_and_orphaned_tokens_fail(auth_kit: ConsoleKit) -> None:
    u = auth_kit.add_user("tokenish", Role.ANALYST)
    c = auth_kit.sign_in(u)

    def make() -> tuple[str, int]:
        r = c.post(f"{API}/tokens", json={"name": "t", "scopes": ["tokens:own"]})
        return r.json()["token"], r.json()["info"]["id"]

    expired, expired_id = make()
    with auth_kit.store.session() as db:
        db.execute(update(ApiTokenRow).where(ApiTokenRow.id == expired_id)
                   .values(expires_at=time.time() - 1))
    r = auth_kit.anonymous(headers={"Authorization": f"Bearer {expired}"}).get(f"{API}/tokens")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    revoked, revoked_id = make()
    rc = auth_kit.anonymous(headers={"Authorization": f"Bearer {revoked}"})
    assert rc.get(f"{API}/tokens").status_code == 200
    with auth_kit.store.session(write=False) as db:
        row = db.get(ApiTokenRow, revoked_id)
        assert row is not None and row.last_used_at is not None
    r = c.delete(f"{API}/tokens/{revoked_id}")
    assert r.status_code == 200 and r.json()["active"] is False
    assert rc.get(f"{API}/tokens").status_code == 401
    assert _last(auth_kit, "token.revoke").target == f"token:{revoked_id}"
    # Someone else's token is not found, not revocable.
    other = auth_kit.client(Role.VIEWER)
    assert other.delete(f"{API}/tokens/{revoked_id}").status_code == 404

    live, _ = make()
    lc = auth_kit.anonymous(headers={"Authorization": f"Bearer {live}"})
    assert lc.get(f"{API}/tokens").status_code == 200
    auth_kit.client(Role.ADMIN).patch(f"{API}/users/{u.id}", json={"disabled": True})
    assert lc.get(f"{API}/tokens").status_code == 401
    bogus = auth_kit.anonymous(headers={"Authorization": "Bearer otk_nothing"})
    assert bogus.get(f"{API}/tokens").status_code == 401


def test_token_never_expiring(auth_kit: ConsoleKit) -> None:
    r = auth_kit.client(Role.VIEWER).post(f"{API}/tokens", json={
        "name": "forever", "scopes": ["assets:read"], "expires_in_days": None})
    assert r.status_code == 201 and r.json()["info"]["expires_at"] is None


# -- audit --------------------------------------------------------------------------------------


def test_audit_list_filters_and_pages(auth_kit: ConsoleKit) -> None:
    admin = auth_kit.client(Role.ADMIN)
    for i in range(3):
        admin.post(f"{API}/users", json={"username": f"audit-{i}", "role": "viewer"})
    r = admin.get(f"{API}/audit", params={"action": "user.create", "per_page": 2})
    assert r.status_code == 200
    page = r.json()
    assert page["page"] == 1 and page["per_page"] == 2 and len(page["items"]) == 2
    assert page["items"][0]["target"] == "user:audit-2"  # newest first
    assert page["items"][1]["target"] == "user:audit-1"
    total = page["total"]
    r = admin.get(f"{API}/audit", params={"action": "user.create", "per_page": 2,
                                          "page": total // 2 + 1})
    assert len(r.json()["items"]) == total % 2
    r = admin.get(f"{API}/audit", params={"action": "user.*", "actor": "kit-admin",
                                          "target": "user:audit-0"})
    items = r.json()["items"]
    assert [(i["action"], i["actor"], i["role"], i["via"], i["outcome"]) for i in items] == [
        ("user.create", "kit-admin", "admin", "session", "ok")]
    assert items[0]["ip"].startswith("10.99.")
    r = admin.get(f"{API}/audit", params={"outcome": "failed", "action": "auth.login_failed"})
    assert all(i["outcome"] == "failed" for i in r.json()["items"])
    since = items[0]["ts"]
    r = admin.get(f"{API}/audit", params={"since": since + 3600})
    assert r.json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
    assert admin.get(f"{API}/audit", params={"outcome": "maybe"}).status_code == 422
    assert admin.get(f"{API}/audit", params={"per_page": 501}).status_code == 422


def test_audit_log_is_append_only(auth_kit: ConsoleKit) -> None:
    with pytest.raises((SQLAlchemyError, OtshieldError)), auth_kit.store.session() as db:
        db.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises((SQLAlchemyError, OtshieldError)), auth_kit.store.session() as db:
        db.execute(text("DELETE FROM audit_log"))
    with auth_kit.store.session(write=False) as db:
        actors = set(db.scalars(select(AuditRow.actor)))
    assert "mallory" not in actors and "kit-admin" in actors
