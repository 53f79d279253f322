"""The inventory in the database: one row per asset, conduit, zone, override and analysed
capture. Each row keeps the full record (JSON, the same encoding as the CLI output) plus the
columns people filter on (level, zone, vendor, roles), indexed.

A save replaces the inventory in one transaction: a reader sees the old inventory or the new
one, never a mix, and a crash during the save leaves the old one.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import Engine, Float, Integer, String, Text, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from otshield.errors import ConfigError
from otshield.inventory.model import AssetRecord, ConduitRecord, InventorySnapshot, ZoneRecord

__all__ = ["SCHEMA_VERSION", "load_inventory", "save_inventory"]

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AssetRow(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), index=True)
    purdue_level: Mapped[int | None] = mapped_column(Integer, index=True)
    zone: Mapped[str] = mapped_column(String(256), index=True)
    vendor: Mapped[str] = mapped_column(String(256), index=True)
    product: Mapped[str] = mapped_column(String(256))
    version: Mapped[str] = mapped_column(String(128))
    roles: Mapped[str] = mapped_column(String(512))
    """Space-separated role names, for ``LIKE`` filters."""
    last_seen: Mapped[float] = mapped_column(Float, index=True)
    record: Mapped[str] = mapped_column(Text)


class ConduitRow(Base):
    __tablename__ = "conduits"
    client: Mapped[str] = mapped_column(String(128), primary_key=True)
    server: Mapped[str] = mapped_column(String(128), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(64), primary_key=True)
    packets: Mapped[int] = mapped_column(Integer)
    record: Mapped[str] = mapped_column(Text)


class ZoneRow(Base):
    __tablename__ = "zones"
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    record: Mapped[str] = mapped_column(Text)


class OverrideRow(Base):
    __tablename__ = "asset_overrides"
    asset: Mapped[str] = mapped_column(String(128), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CaptureRow(Base):
    __tablename__ = "captures"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)


_enc = msgspec.json.Encoder()


def _check_version(session: Session, target: str) -> None:
    row = session.get(Meta, "schema_version")
    if row is None:
        session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
    elif row.value != str(SCHEMA_VERSION):
        raise ConfigError(f"{target}: database schema version {row.value}, this otshield "
                          f"reads version {SCHEMA_VERSION}")


def save_inventory(snap: InventorySnapshot, engine: Engine) -> None:
    """Replace the stored inventory with ``snap`` (one transaction)."""
    target = str(engine.url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            _check_version(session, target)
            for table in (AssetRow, ConduitRow, ZoneRow, OverrideRow, CaptureRow):
                session.execute(delete(table))
            session.add_all(AssetRow(
                id=a.id, name=a.name, purdue_level=a.purdue_level, zone=a.zone,
                vendor=a.vendor, product=a.product, version=a.version,
                roles=" ".join(r.role for r in a.roles), last_seen=a.last_seen,
                record=_enc.encode(a).decode()) for a in snap.assets)
            session.add_all(ConduitRow(client=c.client, server=c.server, protocol=c.protocol,
                                       packets=c.packets, record=_enc.encode(c).decode())
                            for c in snap.conduits)
            session.add_all(ZoneRow(name=z.name, record=_enc.encode(z).decode())
                            for z in snap.zones)
            session.add_all(OverrideRow(asset=asset, field=field, value=value)
                            for asset, fields in snap.overrides.items()
                            for field, value in fields.items())
            session.add_all(CaptureRow(seq=i, path=p) for i, p in enumerate(snap.captures))
    except SQLAlchemyError as exc:
        raise ConfigError(f"{target}: cannot save the inventory: {exc}") from None


def load_inventory(engine: Engine) -> InventorySnapshot | None:
    """The stored inventory, None if the database holds none yet."""
    target = str(engine.url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            if session.get(Meta, "schema_version") is None:
                return None
            _check_version(session, target)
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
    except SQLAlchemyError as exc:
        raise ConfigError(f"{target}: cannot read the inventory: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{target}: a stored inventory record is damaged ({exc})") from None
    return InventorySnapshot(assets=assets, conduits=conduits, zones=zones,
                             overrides=overrides, captures=captures)
