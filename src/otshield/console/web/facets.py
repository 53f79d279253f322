"""The choices the filter menus offer: the zones, vendors, roles and alert detectors present
in the store (so a menu never offers a value that matches nothing). Read-only, small queries
over indexed columns."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from otshield.store.models import AlertRow, AssetRoleRow, AssetRow

__all__ = ["alert_categories", "roles", "vendors", "zones"]

_LIMIT = 500
"""A menu longer than this is not a menu; the search box serves the rest."""


def zones(db: Session) -> list[str]:
    found = set(db.scalars(select(AssetRow.zone).distinct().limit(_LIMIT)))
    found.update(db.scalars(select(AlertRow.src_zone).distinct().limit(_LIMIT)))
    found.update(db.scalars(select(AlertRow.dst_zone).distinct().limit(_LIMIT)))
    return sorted(z for z in found if z)


def vendors(db: Session) -> list[str]:
    return sorted(v for v in db.scalars(select(AssetRow.vendor).distinct().limit(_LIMIT)) if v)


def roles(db: Session) -> list[str]:
    return sorted(r for r in db.scalars(select(AssetRoleRow.role).distinct().limit(_LIMIT)) if r)


def alert_categories(db: Session) -> list[str]:
    return sorted(c for c in db.scalars(select(AlertRow.category).distinct().limit(_LIMIT))
                  if c)
