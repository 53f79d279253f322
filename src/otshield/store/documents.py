"""Versioned documents: baselines (by name) and the site policy (zones and conduits, the site
file's text as the user wrote it). Every save is a new version; nothing is overwritten, so a
change can be compared with and rolled back to any earlier one.

A save may name the version it was edited from (``expected``): if someone saved a newer one
meanwhile, the save is refused with :class:`Conflict` instead of silently undoing their work.
Checking that the content parses (``load_policy``, the baseline loader) is the caller's job,
before saving.
"""

from __future__ import annotations

import hashlib

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from otshield.store.common import Change, now
from otshield.store.errors import Conflict, Invalid, NotFound
from otshield.store.models import BaselineRow, PolicyRow

__all__ = [
    "MAX_DOCUMENT",
    "Version",
    "list_baselines",
    "list_policy_versions",
    "load_baseline",
    "load_policy_version",
    "save_baseline",
    "save_policy",
]

MAX_DOCUMENT = 64 * 1024 * 1024
"""Bytes in one stored document."""


class Version(msgspec.Struct, kw_only=True):
    name: str
    version: int
    sha256: str
    comment: str
    created_by: str
    created_at: float
    content: str | None = None
    """The text (left out of listings)."""


def _check(content: str, expected: int | None, latest: int) -> str:
    if len(content.encode()) > MAX_DOCUMENT:
        raise Invalid(f"the document is larger than {MAX_DOCUMENT} bytes")
    if expected is not None and expected != latest:
        raise Conflict(f"version {latest} was saved meanwhile (this edit started from "
                       f"version {expected}); reload and apply the change again")
    return hashlib.sha256(content.encode()).hexdigest()


def _flush(session: Session, version: int) -> None:
    """Insert now: a concurrent save of the same version fails on the unique index."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"version {version} was saved by someone else at the same moment; "
                       "reload and apply the change again") from None


def save_baseline(session: Session, name: str, content: str, *, by: str, comment: str = "",
                  expected: int | None = None) -> tuple[Version, Change]:
    """Store ``content`` (the baseline file's JSON) as the next version of ``name``."""
    if not name or len(name) > 128:
        raise Invalid("a baseline name is 1 to 128 characters")
    latest = session.scalar(select(func.max(BaselineRow.version))
                            .where(BaselineRow.name == name)) or 0
    digest = _check(content, expected, latest)
    row = BaselineRow(name=name, version=latest + 1, content=content, sha256=digest,
                      comment=comment, created_by=by, created_at=now())
    session.add(row)
    _flush(session, row.version)
    return _baseline(row, content=False), Change(
        action="baseline.save", target=f"baseline:{name}@{row.version}",
        detail={"version": row.version, "sha256": digest, "comment": comment})


def _baseline(r: BaselineRow, *, content: bool) -> Version:
    return Version(name=r.name, version=r.version, sha256=r.sha256, comment=r.comment,
                   created_by=r.created_by, created_at=r.created_at,
                   content=r.content if content else None)


def load_baseline(session: Session, name: str, version: int | None = None) -> Version:
    """A version of baseline ``name`` with its content (default: the newest)."""
    query = select(BaselineRow).where(BaselineRow.name == name)
    query = (query.where(BaselineRow.version == version) if version is not None
             else query.order_by(BaselineRow.version.desc()))
    row = session.scalars(query.limit(1)).first()
    if row is None:
        raise NotFound(f"no baseline {name!r}" + (f" version {version}" if version else ""))
    return _baseline(row, content=True)


def list_baselines(session: Session, name: str | None = None) -> list[Version]:
    """Versions without content, by name then newest first."""
    query = select(BaselineRow)
    if name is not None:
        query = query.where(BaselineRow.name == name)
    rows = session.scalars(query.order_by(BaselineRow.name, BaselineRow.version.desc()))
    return [_baseline(r, content=False) for r in rows]


def save_policy(session: Session, text: str, *, by: str, filename: str = "site.yaml",
                comment: str = "", expected: int | None = None) -> tuple[Version, Change]:
    """Store the site file's text as the next policy version."""
    latest = session.scalar(select(func.max(PolicyRow.version))) or 0
    digest = _check(text, expected, latest)
    row = PolicyRow(version=latest + 1, filename=filename[:512], text=text, sha256=digest,
                    comment=comment, created_by=by, created_at=now())
    session.add(row)
    _flush(session, row.version)
    return _policy(row, content=False), Change(
        action="policy.save", target=f"policy@{row.version}",
        detail={"version": row.version, "sha256": digest, "comment": comment})


def _policy(r: PolicyRow, *, content: bool) -> Version:
    return Version(name=r.filename, version=r.version, sha256=r.sha256, comment=r.comment,
                   created_by=r.created_by, created_at=r.created_at,
                   content=r.text if content else None)


def load_policy_version(session: Session, version: int | None = None) -> Version | None:
    """A policy version with its text (default: the newest; None when none was saved)."""
    query = select(PolicyRow)
    query = (query.where(PolicyRow.version == version) if version is not None
             else query.order_by(PolicyRow.version.desc()))
    row = session.scalars(query.limit(1)).first()
    if row is None and version is not None:
        raise NotFound(f"no policy version {version}")
    return _policy(row, content=True) if row is not None else None


def list_policy_versions(session: Session) -> list[Version]:
    rows = session.scalars(select(PolicyRow).order_by(PolicyRow.version.desc()))
    return [_policy(r, content=False) for r in rows]
