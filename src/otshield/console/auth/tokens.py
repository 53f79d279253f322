"""API tokens for scripts and integrations: ``otk_`` followed by 256 random bits.

The token is shown once, at creation; the database keeps its SHA-256 (the token is random, so
a fast hash is enough: there is nothing to guess) and its first characters, so a user can tell
tokens apart in a list. A token carries scopes, permission names, and grants the intersection
of its scopes and its owner's current role (:func:`otshield.console.permissions.allowed`): a
token never outlives a demotion. Tokens may expire; revoked, expired tokens and tokens of a
disabled account authenticate nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from otshield.store.models import ApiTokenRow, UserRow

__all__ = ["PREFIX", "TOUCH_INTERVAL", "hash_token", "lookup_token", "needs_touch", "new_token",
           "parse_scopes", "token_scopes", "touch_token"]

PREFIX = "otk_"
TOUCH_INTERVAL = 300.0
"""Seconds between writes of ``last_used_at`` (every call reads the token, few write it: each
write is a change of the store, which makes the read cache compute its answers again)."""
_SHOWN = 12
"""Characters of the token kept in clear: ``otk_`` and 8 random ones."""


def new_token() -> tuple[str, str, str]:
    """A fresh token: (the token, its hash, its displayed prefix)."""
    token = PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:_SHOWN]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_scopes(row: ApiTokenRow) -> frozenset[str]:
    return frozenset(row.scopes.split())


def parse_scopes(scopes: list[str] | tuple[str, ...]) -> str:
    """The stored form of ``scopes``: sorted, de-duplicated, space-separated."""
    return " ".join(sorted(set(scopes)))


def lookup_token(db: Session, token: str, now: float | None = None
                 ) -> tuple[ApiTokenRow, UserRow] | None:
    """The live token and its owner for ``token``, or None (unknown, revoked, expired, owner
    disabled). Records nothing: see :func:`needs_touch` and :func:`touch_token`."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    now = time.time() if now is None else now
    row = db.scalars(select(ApiTokenRow).where(
        ApiTokenRow.token_hash == hash_token(token))).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and now >= row.expires_at:
        return None
    user = db.get(UserRow, row.user_id)
    if user is None or user.disabled:
        return None
    return row, user


def needs_touch(row: ApiTokenRow, now: float) -> bool:
    return row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL


def touch_token(db: Session, token_id: int, now: float | None = None) -> None:
    db.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id)
               .values(last_used_at=time.time() if now is None else now))
