"""Server-side sign-in sessions and their cookie.

The cookie carries 256 random bits; the database keeps only their SHA-256 (the primary key of
the sessions table), so a copy of the database gives no working cookie. A session ends when it
has been idle for ``session_idle_seconds``, when it is ``session_absolute_seconds`` old, or when
it is revoked (sign-out, password change, account disabled, second factor passed: a new session
replaces the old one at sign-in and after the second factor, so a cookie planted before sign-in
never gains rights: session fixation, OWASP Session Management Cheat Sheet).

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no cross-site request
carries it) and ``Secure`` when the console runs behind TLS (``ConsoleSettings.secure_cookies``).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from otshield.console.auth.csrf import new_csrf_token
from otshield.console.settings import ConsoleSettings
from otshield.store.models import SessionRow

__all__ = ["COOKIE_NAME", "TOUCH_INTERVAL", "clear_cookie", "create_session", "hash_token",
           "lookup_session", "needs_touch", "revoke_session", "revoke_user_sessions",
           "set_cookie", "touch_session"]

COOKIE_NAME = "otshield_session"
TOUCH_INTERVAL = 120.0
"""Seconds between writes of ``last_seen_at``: every request reads the session, but only one in
a while writes it, which keeps the idle expiry (hours) exact to two minutes. Each write is a
change of the store, which makes the console's read cache compute its answers again, so 50
signed-in analysts must not write every few seconds."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(db: Session, user_id: int, settings: ConsoleSettings, *,
                   mfa_verified: bool, ip: str, user_agent: str,
                   now: float | None = None) -> tuple[str, SessionRow]:
    """A new session for ``user_id``: (the cookie value, the row)."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    row = SessionRow(id=hash_token(token), user_id=user_id, csrf_token=new_csrf_token(),
                     mfa_verified=mfa_verified, created_at=now, last_seen_at=now,
                     expires_at=now + settings.session_absolute_seconds, ip=ip[:64],
                     user_agent=user_agent[:512], revoked_at=None)
    db.add(row)
    db.flush()
    return token, row


def lookup_session(db: Session, token: str, settings: ConsoleSettings,
                   now: float | None = None, *, touch: bool = True) -> SessionRow | None:
    """The live session for cookie value ``token``, or None when it is unknown, revoked, idle
    too long or past its absolute lifetime. ``touch``: record the use (in a read-only
    transaction pass False and call :func:`touch_session` in a writing one when
    :func:`needs_touch`)."""
    if not token or len(token) > 256:
        return None
    now = time.time() if now is None else now
    row = db.get(SessionRow, hash_token(token))
    if row is None or row.revoked_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= settings.session_idle_seconds:
        return None
    if touch and needs_touch(row, now):
        row.last_seen_at = now
    return row


def needs_touch(row: SessionRow, now: float) -> bool:
    return now - row.last_seen_at >= TOUCH_INTERVAL


def touch_session(db: Session, session_id: str, now: float | None = None) -> None:
    db.execute(update(SessionRow).where(SessionRow.id == session_id)
               .values(last_seen_at=time.time() if now is None else now))


def revoke_session(db: Session, session_id: str, now: float | None = None) -> None:
    db.execute(update(SessionRow)
               .where(SessionRow.id == session_id, SessionRow.revoked_at.is_(None))
               .values(revoked_at=time.time() if now is None else now))


def revoke_user_sessions(db: Session, user_id: int, *, keep: str | None = None,
                         now: float | None = None) -> int:
    """Revoke every live session of ``user_id`` except ``keep``; how many were revoked."""
    ids = list(db.scalars(select(SessionRow.id).where(
        SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))))
    stamp = time.time() if now is None else now
    count = 0
    for sid in ids:
        if sid != keep:
            revoke_session(db, sid, stamp)
            count += 1
    return count


def set_cookie(response: Response, token: str, settings: ConsoleSettings) -> None:
    """Attach the session cookie (no ``Max-Age``: it ends with the browser, and the server
    ends it earlier by its own clock)."""
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/")


def clear_cookie(response: Response, settings: ConsoleSettings) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=settings.secure_cookies)
