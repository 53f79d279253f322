"""The inventory in the database: one row per asset, conduit, zone, override and analysed
capture. Each row keeps the full record (JSON, the same encoding as the CLI output) plus the
columns people filter on (level, zone, vendor, roles, addresses), indexed.

A save replaces the inventory in one transaction: a reader sees the old inventory or the new
one, never a mix, and a crash during the save leaves the old one. The schema comes from the
migrations (:func:`otshield.store.migrate.migrate`), run before the first read or write.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from otshield.inventory.model import AssetRecord, ConduitRecord, InventorySnapshot, ZoneRecord
from otshield.store.db import describe_db_error
from otshield.store.errors import StoreError
from otshield.store.migrate import INVENTORY_FORMAT
from otshield.store.models import (
    AssetRoleRow,
    AssetRow,
    CaptureRow,
    ConduitRow,
    OverrideRow,
    ZoneRow,
)

__all__ = ["SCHEMA_VERSION", "asset_row", "load_inventory", "read_inventory",
           "save_inventory", "write_inventory"]

SCHEMA_VERSION = INVENTORY_FORMAT

_enc = msgspec.json.Encoder()
_TRUE = frozenset({"true", "yes", "1", "on"})


def _name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def asset_row(a: AssetRecord, overrides: dict[str, dict[str, str]]) -> AssetRow:
    """The row for ``a``: the record plus its filter columns."""
    return AssetRow(
        id=a.id, name=a.name, purdue_level=a.purdue_level, zone=a.zone, vendor=a.vendor,
        product=a.product, version=a.version, roles=" ".join(r.role for r in a.roles),
        last_seen=a.last_seen, first_seen=a.first_seen, ips=" ".join(a.ips),
        macs=" ".join(a.macs), record=_enc.encode(a).decode(),
        safety=str(overrides.get(a.id, {}).get("safety", "")).lower() in _TRUE)


def _role_rows(assets: Iterable[AssetRecord]) -> list[AssetRoleRow]:
    return [AssetRoleRow(asset_id=a.id, role=role)
            for a in assets for role in sorted({r.role for r in a.roles})]


def write_inventory(session: Session, snap: InventorySnapshot) -> None:
    """Replace the stored inventory with ``snap`` inside ``session``'s transaction."""
    for table in (AssetRoleRow, AssetRow, ConduitRow, ZoneRow, OverrideRow, CaptureRow):
        session.execute(delete(table))
    session.add_all(asset_row(a, snap.overrides) for a in snap.assets)
    session.flush()  # the assets exist before the role rows referring to them
    session.add_all(_role_rows(snap.assets))
    session.add_all(ConduitRow(client=c.client, server=c.server, protocol=c.protocol,
                               packets=c.packets, record=_enc.encode(c).decode())
                    for c in snap.conduits)
    session.add_all(ZoneRow(name=z.name, record=_enc.encode(z).decode()) for z in snap.zones)
    session.add_all(OverrideRow(asset=asset, field=field, value=value)
                    for asset, fields in snap.overrides.items()
                    for field, value in fields.items())
    session.add_all(CaptureRow(seq=i, path=p) for i, p in enumerate(snap.captures))


def read_inventory(session: Session) -> InventorySnapshot | None:
    """The stored inventory (None when nothing was ever saved). Raises ``msgspec``'s
    ``DecodeError``/``ValidationError`` on a damaged record (callers name the database)."""
    assets = [msgspec.json.decode(r, type=AssetRecord)
              for r in session.scalars(select(AssetRow.record).order_by(AssetRow.id))]
    conduits = [msgspec.json.decode(r, type=ConduitRecord)
                for r in session.scalars(select(ConduitRow.record))]
    zones = [msgspec.json.decode(r, type=ZoneRecord)
             for r in session.scalars(select(ZoneRow.record))]
    overrides: dict[str, dict[str, str]] = {}
    for o in session.scalars(select(OverrideRow)):
        overrides.setdefault(o.asset, {})[o.field] = o.value
    captures = list(session.scalars(select(CaptureRow.path).order_by(CaptureRow.seq)))
    if not (assets or conduits or zones or overrides or captures):
        return None
    return InventorySnapshot(assets=assets, conduits=conduits, zones=zones,
                             overrides=overrides, captures=captures)


def save_inventory(snap: InventorySnapshot, engine: Engine) -> None:
    """Replace the stored inventory with ``snap`` (one transaction)."""
    from otshield.store.migrate import migrate

    target = _name(engine)
    try:
        migrate(engine, target)
        with Session(engine) as session, session.begin():
            write_inventory(session, snap)
    except StoreError as exc:
        raise StoreError(f"{target}: cannot save the inventory: {_strip(exc, target)}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"{target}: cannot save the inventory: "
                         f"{describe_db_error(exc)}") from None


def load_inventory(engine: Engine) -> InventorySnapshot | None:
    """The stored inventory, None if the database holds none yet."""
    from otshield.store.migrate import migrate

    target = _name(engine)
    try:
        migrate(engine, target)
        with Session(engine) as session:
            return read_inventory(session)
    except StoreError as exc:
        raise StoreError(f"{target}: cannot read the inventory: {_strip(exc, target)}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"{target}: cannot read the inventory: "
                         f"{describe_db_error(exc)}") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise StoreError(f"{target}: a stored inventory record is damaged ({exc})") from None


def _strip(exc: StoreError, target: str) -> str:
    """The message of ``exc`` without its leading ``<target>: ``."""
    text = str(exc)
    return text[len(target) + 2:] if text.startswith(f"{target}: ") else text
