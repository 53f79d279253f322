"""Corrections to the inventory made in the console (``PATCH /api/v1/assets/{id}``): stored as
user overrides (:class:`~otshield.store.models.OverrideRow`, the inventory's own override
table) and applied to the stored asset at once, then again after every capture analysis, so a
correction survives later captures.

An override works as in the inventory (:mod:`otshield.inventory.assemble`): a fact with source
``override`` that wins over what was inferred; ``roles`` replaces the inferred roles (evidence
"set by a user"); ``purdue_level`` sets the level ("set by a user"); ``zone`` the zone;
``safety`` tags the asset safety-critical. Removing an override shows the inferred value again
for the facts (name, vendor, product, version); the roles and level inferred before the
correction come back with the next analysis of the asset's traffic (they are not kept while a
correction replaces them).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from otshield.inventory.model import AssetRecord, FactRecord, RoleRecord
from otshield.store.common import Change
from otshield.store.errors import Invalid, NotFound
from otshield.store.inventory import asset_row
from otshield.store.models import AssetRoleRow, AssetRow, OverrideRow

__all__ = ["FIELDS", "apply_overrides", "reapply_all", "set_overrides"]

FIELDS = ("name", "vendor", "product", "version", "roles", "purdue_level", "zone", "safety")
"""What the console corrects (the site file may override more facts; they are kept)."""
_DISPLAY = ("name", "vendor", "product", "version")
"""Facts shown as the asset's identity."""
_BY_USER = "set by a user"
_TRUE = frozenset({"true", "yes", "1", "on"})
_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(AssetRecord)


def _best(facts: list[FactRecord], name: str) -> str:
    """The inferred value of a fact: the most recently seen, most often seen."""
    candidates = [f for f in facts if f.name == name and f.source != "override"]
    if not candidates:
        return ""
    return max(candidates, key=lambda f: (f.source != "oui", f.last_seen, f.count)).value


def apply_overrides(record: AssetRecord, fields: dict[str, str],
                    previous: dict[str, str] | None = None) -> AssetRecord:
    """``record`` with the user's ``fields`` applied (``previous``: the overrides applied
    before, whose effects a removed field undoes)."""
    previous = previous or {}
    facts = [f for f in record.facts
             if not (f.source == "override" and f.name in (*_DISPLAY, *previous))]
    changes: dict[str, Any] = {}
    for name in _DISPLAY:
        if name in fields:
            facts.append(FactRecord(name=name, value=fields[name], source="override",
                                    first_seen=0.0, last_seen=0.0))
            changes[name] = fields[name]
        elif name in previous:
            inferred = _best(facts, name)
            changes[name] = inferred or (
                record.ips[0] if name == "name" and record.ips else
                record.macs[0] if name == "name" and record.macs else
                record.id if name == "name" else "")
    if "roles" in fields:
        changes["roles"] = [RoleRecord(role=r, evidence=[_BY_USER], source="override")
                            for r in dict.fromkeys(fields["roles"].split(",")) if r]
    elif "roles" in previous:
        changes["roles"] = [r for r in record.roles if r.source != "override"]
    if "purdue_level" in fields:
        changes["purdue_level"] = int(fields["purdue_level"])
        changes["level_reason"] = _BY_USER
    if "zone" in fields:
        changes["zone"] = fields["zone"]
    changes["facts"] = facts
    return msgspec.structs.replace(record, **changes)


def _stored(session: Session, asset_id: str) -> dict[str, str]:
    return {o.field: o.value for o in session.scalars(
        select(OverrideRow).where(OverrideRow.asset == asset_id))}


def _write(session: Session, row: AssetRow, record: AssetRecord, fields: dict[str, str]
           ) -> None:
    fresh = asset_row(record, {record.id: fields})
    for column in ("name", "purdue_level", "zone", "vendor", "product", "version", "roles",
                   "record", "safety"):
        setattr(row, column, getattr(fresh, column))
    session.execute(delete(AssetRoleRow).where(AssetRoleRow.asset_id == row.id))
    session.add_all(AssetRoleRow(asset_id=row.id, role=role)
                    for role in sorted({r.role for r in record.roles}))


def _check(changes: dict[str, str | None]) -> None:
    for field, value in changes.items():
        if field not in FIELDS:
            raise Invalid(f"cannot correct {field!r}; choose from {', '.join(FIELDS)}")
        if field == "purdue_level" and value is not None and (
                not value.isdigit() or not 0 <= int(value) <= 5):
            raise Invalid(f"Purdue level must be 0 to 5, not {value!r}")


def set_overrides(session: Session, asset_id: str, changes: dict[str, str | None]
                  ) -> Change:
    """Set (a value) or remove (None) the user's corrections of ``asset_id`` and apply them
    to the stored asset now."""
    _check(changes)
    row = session.get(AssetRow, asset_id)
    if row is None:
        raise NotFound(f"no asset {asset_id!r}")
    before = _stored(session, asset_id)
    after = dict(before)
    for field, value in changes.items():
        if value is None:
            after.pop(field, None)
        else:
            after[field] = value
    session.execute(delete(OverrideRow).where(OverrideRow.asset == asset_id))
    session.add_all(OverrideRow(asset=asset_id, field=f, value=v) for f, v in after.items())
    record = apply_overrides(_dec.decode(row.record), after, before)
    _write(session, row, record, after)
    return Change(action="asset.override", target=f"asset:{asset_id}",
                  detail={field: [before.get(field), after.get(field)] for field in changes})


def reapply_all(session: Session) -> int:
    """Apply every stored correction again (after an analysis merged new captures, whose
    values would otherwise replace the corrections); returns the assets touched."""
    by_asset: dict[str, dict[str, str]] = {}
    for o in session.scalars(select(OverrideRow)):
        if o.field in FIELDS:
            by_asset.setdefault(o.asset, {})[o.field] = o.value
    touched = 0
    for asset_id, fields in by_asset.items():
        row = session.get(AssetRow, asset_id)
        if row is None:
            continue
        record = apply_overrides(_dec.decode(row.record), fields, fields)
        _write(session, row, record, fields)
        touched += 1
    return touched
