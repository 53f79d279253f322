"""The dependencies every console route uses to say who may call it.

- :class:`Principal`: who is calling (a user through a session cookie or an API token), their
  role, a token's scopes, the session's CSRF token and sign-in state.
- :func:`current_principal`: the request's principal, or None.
- :func:`require`: ``dependencies=[require(Permission.ALERTS_TRIAGE)]`` or
  ``principal: Principal = require(...)``. Anonymous: 401; not permitted: 403; a cookie-borne
  unsafe request without the session's CSRF token: 403. The permission is kept on the
  dependency (``Requirement.permission``) so the authorisation-matrix test reads every route's
  rule from the app itself.
- :func:`signed_in`: any principal, even one in the middle of signing in (the routes that take
  the remaining sign-in steps); :func:`public`: no principal needed (the sign-in form). Each
  route carries exactly one of the three, so a route that forgets says so in the matrix test.
- :func:`audit`: append one entry to the audit log in its own transaction; :func:`audit_in` and
  :func:`audit_change` append it inside the caller's transaction (change and entry commit
  together).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from otshield.console.auth import csrf, sessions, tokens
from otshield.console.auth.service import (
    STATE_ERRORS,
    Actor,
    AuthRuntime,
    SignInState,
    StoreLike,
    sign_in_state,
    write_audit,
)
from otshield.console.permissions import Permission, Role, allowed
from otshield.console.readcache import ReadCache
from otshield.console.settings import ConsoleSettings
from otshield.errors import OtshieldError
from otshield.store.common import Change
from otshield.store.models import UserRow

__all__ = ["Principal", "Requirement", "audit", "audit_change", "audit_in", "auth_runtime",
           "client_ip", "current_principal", "known_principal", "public", "require",
           "signed_in"]

log = logging.getLogger("otshield.console")

_STATE_KEY = "otshield_principal"
_RUNTIME_LOCK = threading.Lock()
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    scopes: frozenset[str] | None
    """A token's scopes; None for a session (the role alone decides)."""
    csrf_token: str | None
    """The session's CSRF token; None for a token."""
    state: SignInState = SignInState.OK
    session_id: str | None = None
    token_id: int | None = None
    ip: str = ""

    def can(self, permission: Permission) -> bool:
        return self.state is SignInState.OK and allowed(self.role, permission, self.scopes)

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything this principal may do now (nothing until sign-in is complete)."""
        return frozenset(p for p in Permission if self.can(p))

    @property
    def actor(self) -> Actor:
        return Actor(name=self.username, user_id=self.user_id, role=self.role.value,
                     via=self.via, ip=self.ip)


def client_ip(request: Request) -> str:
    """The peer address. Behind a reverse proxy this is the proxy; run uvicorn with
    ``--proxy-headers`` and ``--forwarded-allow-ips`` to see the client instead."""
    return request.client.host if request.client is not None else "unknown"


def auth_runtime(request: Request) -> AuthRuntime:
    """The process's in-memory sign-in limiter (made on first use)."""
    runtime = getattr(request.app.state, "auth_runtime", None)
    if isinstance(runtime, AuthRuntime):
        return runtime
    with _RUNTIME_LOCK:  # two first requests at once must share one limiter
        runtime = getattr(request.app.state, "auth_runtime", None)
        if not isinstance(runtime, AuthRuntime):
            runtime = AuthRuntime()
            request.app.state.auth_runtime = runtime
        return runtime


def _store(request: Request) -> StoreLike:
    store: StoreLike = request.app.state.store
    return store


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _role_of(user: UserRow) -> Role | None:
    try:
        return Role(user.role)
    except ValueError:
        log.warning("user %s has an unknown role %r: treated as signed out", user.username,
                    user.role)
        return None


@dataclass(frozen=True, slots=True)
class _Found:
    """A live credential's principal (its ``ip`` left empty) and until when it may be
    reused without looking again: its expiry, or when its use is next due to be recorded."""

    principal: Principal
    until: float


def _resolve(request: Request) -> Principal | None:
    # The store is read once per credential and auth generation (otshield.console.readcache,
    # otshield.store.version): every change to users, tokens or sessions raises it, so the
    # next request sees it; the recorded uses do not, nor does any other data.
    bearer = bearer_token(request)
    cookie = None if bearer is not None else request.cookies.get(sessions.COOKIE_NAME)
    if bearer is None and not cookie:
        return None
    credential = bearer if bearer is not None else str(cookie)

    def lookup() -> _Found | None:
        return _lookup(request, bearer is not None, credential)

    cache = getattr(request.app.state, "read_cache", None)
    if isinstance(cache, ReadCache) and len(credential) <= 256:
        found = cache.get(_cache_key(bearer is not None, credential), lookup, fresh=_fresh,
                          keep=lambda f: f is not None, auth=True)
    else:
        found = lookup()
    if found is None:
        return None
    return dataclasses.replace(found.principal, ip=client_ip(request))


def _cache_key(is_token: bool, credential: str) -> tuple[str, bool, str]:
    return ("principal", is_token, hashlib.sha256(credential.encode()).hexdigest())


def _fresh(found: _Found | None) -> bool:
    return found is not None and time.time() < found.until


def known_principal(request: Request, cache: ReadCache, generation: str | None = None
                    ) -> Principal | None:
    """The request's principal if ``cache`` still holds it, else None; never reads the
    store (the fast path of :mod:`otshield.console.api.cached`, on the event loop).
    ``generation``: the auth generation, when the caller has just read it."""
    bearer = bearer_token(request)
    credential = bearer if bearer is not None else request.cookies.get(sessions.COOKIE_NAME)
    if not credential or len(credential) > 256:
        return None
    found = cache.peek(_cache_key(bearer is not None, credential), fresh=_fresh, auth=True,
                       version=generation)
    if not isinstance(found, _Found):
        return None
    return dataclasses.replace(found.principal, ip=client_ip(request))


def _lookup(request: Request, is_token: bool, credential: str) -> _Found | None:
    # Read in a read-only transaction (on SQLite it takes no write lock, so requests do not
    # queue behind each other); record the use in a short write only now and then.
    now = time.time()
    store = _store(request)
    touch: Callable[[Session], None] | None = None
    with store.session(write=False) as db:
        if is_token:
            found = tokens.lookup_token(db, credential, now)
            if found is None:
                return None
            row, user = found
            role = _role_of(user)
            if role is None:
                return None
            principal = Principal(
                user_id=user.id, username=user.username, role=role, via="token",
                scopes=tokens.token_scopes(row), csrf_token=None, token_id=row.id)
            used = row.last_used_at or 0.0
            if tokens.needs_touch(row, now):
                touch = functools.partial(tokens.touch_token, token_id=row.id, now=now)
                used = now
            until = min(row.expires_at or math.inf, used + tokens.TOUCH_INTERVAL)
        else:
            settings = _settings(request)
            srow = sessions.lookup_session(db, credential, settings, now, touch=False)
            if srow is None:
                return None
            suser = db.get(UserRow, srow.user_id)
            if suser is None or suser.disabled or (role := _role_of(suser)) is None:
                return None
            principal = Principal(
                user_id=suser.id, username=suser.username, role=role, via="session",
                scopes=None, csrf_token=srow.csrf_token,
                state=sign_in_state(suser, srow.mfa_verified), session_id=srow.id)
            seen = srow.last_seen_at
            if sessions.needs_touch(srow, now):
                touch = functools.partial(sessions.touch_session, session_id=srow.id,
                                          now=now)
                seen = now
            until = min(srow.expires_at, seen + settings.session_idle_seconds,
                        seen + sessions.TOUCH_INTERVAL)
    if touch is not None:
        try:
            with store.session() as db:
                touch(db)
        except OtshieldError as exc:
            # Recording the use is worth less than answering: a busy database (a long
            # ingestion holding SQLite's write lock) only delays the idle clock a little.
            log.debug("could not record the use of a session/token: %s", exc)
    return _Found(principal, until)


def current_principal(request: Request) -> Principal | None:
    """The principal of ``request`` (resolved once per request): a bearer token when the
    request has an ``Authorization: Bearer`` header, else the session cookie; None when neither
    is live."""
    cached = getattr(request.state, _STATE_KEY, _MISSING)
    if cached is not _MISSING:
        return cached if isinstance(cached, Principal) else None
    principal = _resolve(request)
    setattr(request.state, _STATE_KEY, principal)
    return principal


def _http(status: int, code: str, message: str,
          headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message}, headers=headers)


def _unauthenticated(request: Request) -> HTTPException:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if bearer_token(
        request) is not None else None
    return _http(401, "unauthenticated", "sign in or send a valid API token", headers)


class Requirement:
    """The dependency behind :func:`require`, :func:`signed_in` and :func:`public`.

    ``permission``: what the route needs (None: no permission). ``signed_in``: a principal is
    needed (possibly one still signing in, when ``permission`` is None). Kept as attributes so
    the authorisation-matrix test can read them from every route."""

    def __init__(self, permission: Permission | None, *, signed_in: bool) -> None:
        self.permission = permission
        self.signed_in = signed_in

    def __repr__(self) -> str:
        kind = (f"require({self.permission.value})" if self.permission is not None
                else "signed_in()" if self.signed_in else "public()")
        return f"<Requirement {kind}>"

    async def __call__(self, request: Request) -> Principal | None:
        principal = await run_in_threadpool(current_principal, request)
        if principal is None:
            if self.signed_in:
                raise _unauthenticated(request)
            return None
        if (principal.via == "session" and request.method.upper() not in csrf.SAFE_METHODS
                and self.signed_in):
            presented = await csrf.csrf_token_of(request)
            if not csrf.tokens_match(principal.csrf_token, presented):
                raise _http(403, "csrf_failed", "missing or wrong CSRF token: send the "
                            "session's token as the X-CSRF-Token header or the csrf_token "
                            "form field")
        if self.permission is None:
            return principal
        if principal.state is not SignInState.OK:
            code, message = STATE_ERRORS[principal.state]
            raise _http(403, code, message)
        if not principal.can(self.permission):
            raise _http(403, "forbidden",
                        f"this needs the permission {self.permission.value}, which "
                        + ("this token's scopes do not include" if principal.via == "token"
                           and allowed(principal.role, self.permission)
                           else f"the role {principal.role.value} does not grant"))
        return principal


def require(permission: Permission) -> Any:
    """The dependency of a route that needs ``permission`` (returns the :class:`Principal`)."""
    return Depends(Requirement(Permission(permission), signed_in=True))


def signed_in() -> Any:
    """The dependency of a route any principal may call, even one still signing in (returns
    the :class:`Principal`). For the sign-in steps, sign-out and ``/auth/me`` only."""
    return Depends(Requirement(None, signed_in=True))


def public() -> Any:
    """The dependency of a route anyone may call (returns the :class:`Principal` or None)."""
    return Depends(Requirement(None, signed_in=False))


def audit_in(db: Session, principal: Principal, action: str, target: str = "",
             detail: dict[str, Any] | None = None, *, outcome: str = "ok") -> None:
    """Append one audit entry inside the caller's transaction ``db``, so the change and its
    entry commit together (prefer this to :func:`audit` when you hold the session)."""
    write_audit(db, principal.actor, action, target, detail, outcome=outcome)


def audit_change(db: Session, principal: Principal, change: Change) -> None:
    """Record a store repository's :class:`~otshield.store.common.Change` in ``db``'s
    transaction, as done by ``principal``."""
    write_audit(db, principal.actor, change.action, change.target, dict(change.detail))


def audit(request: Request, principal: Principal | None, action: str, target: str = "",
          detail: dict[str, Any] | None = None, *, outcome: str = "ok") -> None:
    """Append one entry to the audit log in its own transaction: ``action`` like
    ``alert.acknowledge``, ``target`` like ``alert:12``, ``detail`` the values changed (never a
    secret). Call it after the change is committed."""
    if principal is not None:
        actor = principal.actor
    else:
        actor = Actor(name="anonymous", user_id=None, role="", via="anonymous",
                      ip=client_ip(request))
    with _store(request).session() as db:
        write_audit(db, actor, action, target, detail, outcome=outcome)
