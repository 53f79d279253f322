"""Shared helpers for the console tests: an app on a temporary SQLite store, users of every role
(TOTP enrolled where the role requires it), a signed-in TestClient per role with its CSRF token
as a default header, anonymous and API-token clients.

    from console.consolekit import ConsoleKit

    @pytest.fixture(scope="module")
    def kit(tmp_path_factory):
        with ConsoleKit.build(tmp_path_factory.mktemp("console")) as kit:
            yield kit

    def test_x(kit):
        r = kit.client(Role.ANALYST).post("/api/v1/alerts/1/acknowledge")  # CSRF header set

``tests/console/conftest.py`` already provides that module-scoped ``kit`` fixture (the full app
of ``create_app``) and ``auth_kit`` (only the access-control routes, for part 6's own tests).

Clients share one app; only the kit's own lifespan client runs the app's lifespan (the capture
job worker), so the extra clients are plain (not entered) TestClients.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import update
from starlette.testclient import TestClient

from otshield.console.auth import passwords, totp
from otshield.console.auth.csrf import CSRF_HEADER
from otshield.console.auth.service import Actor, AuthRuntime, add_user, find_user
from otshield.console.permissions import MFA_REQUIRED, Permission, Role
from otshield.console.settings import ConsoleSettings
from otshield.store import Store
from otshield.store.models import UserRow

__all__ = ["API", "CHEAP_HASHER", "ConsoleKit", "KitUser", "cheap_hashes", "password_for"]

API = "/api/v1"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id with minimal cost: the kit's users sign in often, and a hash with the production
parameters costs 50 ms to a second of CPU on a busy test machine."""
_ips = itertools.count(1)


def password_for(username: str) -> str:
    """The password the kit gives ``username`` (meets the policy)."""
    return f"Kit-{username}-pass-9731"


def _fresh_ip() -> tuple[str, int]:
    n = next(_ips)
    return (f"10.99.{(n // 250) % 250}.{n % 250 + 1}", 40000 + n % 20000)


@dataclass
class KitUser:
    id: int
    username: str
    role: Role
    password: str
    totp_secret: str | None
    """Set when the user has a confirmed second factor."""

    def code(self) -> str:
        """The current TOTP code."""
        assert self.totp_secret is not None, f"{self.username} has no second factor"
        return totp.now_code(self.totp_secret)


@dataclass
class ConsoleKit:
    app: FastAPI
    store: Store
    settings: ConsoleSettings
    users: dict[Role, KitUser] = field(default_factory=dict)
    """One ready user per role (names ``kit-viewer``, ``kit-analyst``...)."""
    _clients: dict[Role, TestClient] = field(default_factory=dict)
    _life: TestClient | None = None

    # -- construction --------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def build(cls, tmp: Path, *, full: bool = True, generous_limits: bool = True,
              database: str | None = None, **settings: Any) -> Iterator[ConsoleKit]:
        """An app on ``tmp/console.db`` with one signed-in user per role.

        ``full``: the whole console (``create_app``); False: only the access-control routes
        on the same error handling (fast, independent of the other parts). ``generous_limits``:
        raise the per-address sign-in bucket so many sign-ins from the tests do not hit it
        (tests of the limiter pass False). ``database``: another database than
        ``tmp/console.db`` (a PostgreSQL URL). ``settings``: ConsoleSettings overrides."""
        previous = passwords.set_hasher(CHEAP_HASHER)
        config = ConsoleSettings(database=database or str(tmp / "console.db"),
                                 data_dir=tmp / "data",
                                 **settings)
        store = Store(config.database)
        store.migrate()
        app = make_app(config, store, full=full)
        if generous_limits:
            app.state.auth_runtime = AuthRuntime(rate=1000.0, burst=100_000)
        kit = cls(app=app, store=store, settings=config)
        kit._life = TestClient(app, client=_fresh_ip())
        kit._life.__enter__()
        try:
            for role in Role:
                kit.users[role] = kit.add_user(f"kit-{role.value.replace('_', '-')}", role)
            yield kit
        finally:
            kit.close()
            passwords.set_hasher(previous)

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()
        if self._life is not None:
            self._life.__exit__(None, None, None)
            self._life = None
        self.store.dispose()

    # -- users ---------------------------------------------------------------------------------

    def add_user(self, username: str, role: Role, *, mfa: bool | None = None,
                 password: str | None = None, must_change: bool = False) -> KitUser:
        """A user ready to sign in: ``mfa`` None = a second factor exactly when the role
        requires one. An existing user of that name (a kit rebuilt on the same database) gets
        the role, password and a new second factor."""
        with self.store.session(write=False) as db:
            existing = find_user(db, username)
            user_id = existing.id if existing is not None else None
        if user_id is None:
            user_id = add_user(self.store, Actor.system(), username, role)[0].id
        secret = totp.new_secret() if (role in MFA_REQUIRED if mfa is None else mfa) else None
        pw = password or password_for(username)
        with self.store.session() as db:
            row = db.get(UserRow, user_id)
            assert row is not None
            row.role = role.value
            row.password_hash = passwords.hash_password(pw)
            row.must_change_password = must_change
            row.totp_secret = secret or ""
            row.mfa_enrolled = secret is not None
            row.totp_last_step = 0
            name = row.username
        return KitUser(user_id, name, role, pw, secret)

    def forget_totp_step(self, user: KitUser) -> None:
        """Let ``user`` use the current TOTP step again (the replay guard refuses a second
        sign-in within one 30-second step; tests that sign in repeatedly call this)."""
        with self.store.session() as db:
            db.execute(update(UserRow).where(UserRow.id == user.id).values(totp_last_step=0))

    # -- clients -------------------------------------------------------------------------------

    def anonymous(self, **kwargs: Any) -> TestClient:
        """A client with no session (its own address)."""
        kwargs.setdefault("client", _fresh_ip())
        return TestClient(self.app, **kwargs)

    def sign_in(self, user: KitUser, client: TestClient | None = None) -> TestClient:
        """Sign ``user`` in on ``client`` (a new one by default), second factor included; the
        session's CSRF token becomes a default header of the client."""
        c = client or self.anonymous()
        r = c.post(f"{API}/auth/login", json={"username": user.username,
                                              "password": user.password})
        assert r.status_code == 200, r.text
        body = r.json()
        if body["state"] == "mfa_verify":
            self.forget_totp_step(user)
            r = c.post(f"{API}/auth/mfa/verify", json={"code": user.code()},
                       headers={CSRF_HEADER: body["csrf_token"]})
            assert r.status_code == 200, r.text
            body = r.json()
        assert body["state"] == "ok", body
        c.headers[CSRF_HEADER] = body["csrf_token"]
        return c

    def client(self, role: Role) -> TestClient:
        """The signed-in client of the kit's user of ``role`` (made once, then reused)."""
        if role not in self._clients:
            self._clients[role] = self.sign_in(self.users[role])
        return self._clients[role]

    def token(self, role: Role, scopes: list[Permission] | None = None, *,
              expires_in_days: int | None = 90) -> str:
        """A new API token of the kit's ``role`` user, with ``scopes`` (default: every
        permission of the role)."""
        from otshield.console.permissions import ROLE_PERMISSIONS

        wanted = sorted(scopes if scopes is not None else ROLE_PERMISSIONS[role])
        r = self.client(role).post(f"{API}/tokens", json={
            "name": f"kit {role.value}", "scopes": [s.value for s in wanted],
            "expires_in_days": expires_in_days})
        assert r.status_code == 201, r.text
        token: str = r.json()["token"]
        return token

    def token_client(self, role: Role, scopes: list[Permission] | None = None) -> TestClient:
        """A client authenticated by a new API token (no cookie, no CSRF header)."""
        return self.anonymous(headers={"Authorization": f"Bearer {self.token(role, scopes)}"})


@contextmanager
def cheap_hashes() -> Iterator[None]:
    """Use :data:`CHEAP_HASHER` inside the block (tests that hash without a kit)."""
    previous = passwords.set_hasher(CHEAP_HASHER)
    try:
        yield
    finally:
        passwords.set_hasher(previous)


def make_app(settings: ConsoleSettings, store: Store, *, full: bool = True) -> FastAPI:
    """The console app (``full``) or one with only the access-control router."""
    if full:
        from otshield.console.app import create_app

        return create_app(settings, store=store)
    from otshield.console.api.errors import install_error_handlers
    from otshield.console.auth.routes import router

    app = FastAPI()
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    app.include_router(router, prefix=API)
    return app
