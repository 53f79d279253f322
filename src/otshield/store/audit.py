"""The audit log: who did what, when, from where; append-only.

:func:`append` is the only writer. Database triggers (migration 0002) refuse UPDATE and
DELETE on ``audit_log`` on both SQLite and PostgreSQL, so not even a bug in otshield can
rewrite an entry. Write the entry in the same transaction as the change it records: both
commit, or neither.

``detail`` is a JSON object of what changed; it must never hold secrets (passwords, TOTP
secrets, token values): :func:`append` refuses keys that look like one, as a last guard.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from otshield.store.common import Change, check_page, count_of, now
from otshield.store.errors import Invalid
from otshield.store.models import AuditRow

__all__ = ["AUDIT_OUTCOMES", "AuditEntry", "AuditFilter", "append", "append_change",
           "list_audit"]

AUDIT_OUTCOMES = ("ok", "denied", "failed")
_SECRET_KEYS = frozenset({"password", "new_password", "old_password", "secret", "totp_secret",
                          "token", "code", "otp", "password_hash"})
_enc = msgspec.json.Encoder()


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    ts: float
    actor: str
    actor_id: int | None
    role: str
    via: str
    ip: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]


class AuditFilter(msgspec.Struct, kw_only=True, frozen=True):
    actor: str = ""
    role: str = ""
    action: str = ""
    """An action (``alert.close``) or a family ending in a dot (``alert.``)."""
    target: str = ""
    outcome: str = ""
    since: float | None = None
    until: float | None = None


def _check_detail(detail: dict[str, Any]) -> None:
    for key, value in detail.items():
        if key.lower() in _SECRET_KEYS:
            raise Invalid(f"audit detail key {key!r} looks like a secret; secrets are never "
                          "written to the audit log")
        if isinstance(value, dict):
            _check_detail(value)


def append(session: Session, *, actor: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None, outcome: str = "ok",
           actor_id: int | None = None, role: str = "", via: str = "", ip: str = "",
           ts: float | None = None) -> int:
    """Add one entry; returns its id."""
    if outcome not in AUDIT_OUTCOMES:
        raise Invalid(f"unknown audit outcome {outcome!r}")
    if not action:
        raise Invalid("an audit entry needs an action")
    detail = detail or {}
    _check_detail(detail)
    row = AuditRow(ts=now() if ts is None else ts, actor=actor[:128], actor_id=actor_id,
                   role=role[:32], via=via[:16], ip=ip[:64], action=action[:64],
                   target=target[:256], outcome=outcome, detail=_enc.encode(detail).decode())
    session.add(row)
    session.flush()
    return row.id


def append_change(session: Session, change: Change, *, actor: str,
                  actor_id: int | None = None, role: str = "", via: str = "",
                  ip: str = "") -> int:
    """Record a repository's :class:`Change` as done by ``actor``."""
    return append(session, actor=actor, action=change.action, target=change.target,
                  detail=change.detail, actor_id=actor_id, role=role, via=via, ip=ip)


def _view(r: AuditRow) -> AuditEntry:
    try:
        detail = msgspec.json.decode(r.detail or "{}")
    except msgspec.DecodeError:
        detail = {"unreadable": r.detail[:200]}
    return AuditEntry(id=r.id, ts=r.ts, actor=r.actor, actor_id=r.actor_id, role=r.role,
                      via=r.via,
                      ip=r.ip, action=r.action, target=r.target, outcome=r.outcome,
                      detail=detail if isinstance(detail, dict) else {"value": detail})


def list_audit(session: Session, flt: AuditFilter | None = None, *, offset: int = 0,
               limit: int = 50) -> tuple[list[AuditEntry], int]:
    """Entries newest first, filtered, one page, and how many match."""
    check_page(offset, limit)
    flt = flt or AuditFilter()
    if flt.outcome and flt.outcome not in AUDIT_OUTCOMES:
        raise Invalid(f"unknown audit outcome {flt.outcome!r}; choose from "
                      f"{', '.join(AUDIT_OUTCOMES)}")
    query = select(AuditRow)
    if flt.actor:
        query = query.where(AuditRow.actor == flt.actor)
    if flt.role:
        query = query.where(AuditRow.role == flt.role)
    if flt.action.endswith("."):
        query = query.where(AuditRow.action.startswith(flt.action, autoescape=True))
    elif flt.action:
        query = query.where(AuditRow.action == flt.action)
    if flt.target:
        query = query.where(AuditRow.target == flt.target)
    if flt.outcome:
        query = query.where(AuditRow.outcome == flt.outcome)
    if flt.since is not None:
        query = query.where(AuditRow.ts >= flt.since)
    if flt.until is not None:
        query = query.where(AuditRow.ts <= flt.until)
    total = count_of(session, query)
    rows = session.scalars(query.order_by(AuditRow.ts.desc(), AuditRow.id.desc())
                           .offset(offset).limit(limit))
    return [_view(r) for r in rows], total
