"""The schema: migrations build exactly the models on both back ends, adopt a database made by
otshield 0.1's inventory code, refuse one from a newer otshield untouched, keep the audit log
append-only, and turn damaged, locked or missing databases into clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from otshield.detect.analyze import Analysis
from otshield.inventory.model import InventorySnapshot
from otshield.store import Store, StoreError, load_inventory
from otshield.store.audit import append, list_audit
from otshield.store.migrate import alembic_config, head
from otshield.store.models import AssetRoleRow, AssetRow, Base

from .conftest import Fresh

_enc = msgspec.json.Encoder()


@pytest.fixture
def demo_inventory(demo_analysis: Analysis) -> InventorySnapshot:
    snap = msgspec.structs.replace(demo_analysis.inventory)
    snap.overrides = {"ip:10.10.30.11": {"safety": "true", "zone": "Filling"}}
    return snap


def _legacy(engine: Engine, snap: InventorySnapshot) -> None:
    """What otshield 0.1's ``save_inventory`` made: its tables (create_all, no alembic) and
    rows, written here by hand as that code wrote them."""
    md = MetaData()
    meta = Table("meta", md, Column("key", String(64), primary_key=True),
                 Column("value", Text, nullable=False))
    assets = Table("assets", md, Column("id", String(128), primary_key=True),
                   Column("name", String(256), nullable=False, index=True),
                   Column("purdue_level", Integer, index=True),
                   Column("zone", String(256), nullable=False, index=True),
                   Column("vendor", String(256), nullable=False, index=True),
                   Column("product", String(256), nullable=False),
                   Column("version", String(128), nullable=False),
                   Column("roles", String(512), nullable=False),
                   Column("last_seen", Float, nullable=False, index=True),
                   Column("record", Text, nullable=False))
    conduits = Table("conduits", md, Column("client", String(128), primary_key=True),
                     Column("server", String(128), primary_key=True),
                     Column("protocol", String(64), primary_key=True),
                     Column("packets", Integer, nullable=False),
                     Column("record", Text, nullable=False))
    zones = Table("zones", md, Column("name", String(256), primary_key=True),
                  Column("record", Text, nullable=False))
    overrides = Table("asset_overrides", md, Column("asset", String(128), primary_key=True),
                      Column("field", String(64), primary_key=True),
                      Column("value", Text, nullable=False))
    captures = Table("captures", md, Column("seq", Integer, primary_key=True),
                     Column("path", Text, nullable=False))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(meta), [{"key": "schema_version", "value": "1"}])
        conn.execute(insert(assets), [
            {"id": a.id, "name": a.name, "purdue_level": a.purdue_level, "zone": a.zone,
             "vendor": a.vendor, "product": a.product, "version": a.version,
             "roles": " ".join(r.role for r in a.roles), "last_seen": a.last_seen,
             "record": _enc.encode(a).decode()} for a in snap.assets])
        conn.execute(insert(conduits), [
            {"client": c.client, "server": c.server, "protocol": c.protocol,
             "packets": c.packets, "record": _enc.encode(c).decode()} for c in snap.conduits])
        if snap.zones:
            conn.execute(insert(zones), [{"name": z.name, "record": _enc.encode(z).decode()}
                                         for z in snap.zones])
        conn.execute(insert(overrides), [{"asset": a, "field": f, "value": v}
                                         for a, fields in snap.overrides.items()
                                         for f, v in fields.items()])
        conn.execute(insert(captures), [{"seq": i, "path": p}
                                        for i, p in enumerate(snap.captures)])


def _blank(fresh: Fresh) -> str:
    """An empty database (no schema) of the module's backend."""
    if fresh.backend == "sqlite":
        return str(fresh.tmp / "blank.db")
    server = fresh.request.getfixturevalue("pg_server")
    return str(server.url(server.create_database("blank")))


def test_migrations_build_the_models(fresh: Fresh) -> None:
    store = Store(_blank(fresh))
    fresh.stores.append(store)
    assert store.revision() is None
    assert store.migrate() == head()
    assert store.migrate() == head()  # idempotent
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []
    names = set(inspect(store.engine).get_table_names())
    assert {"alerts", "alert_techniques", "alert_sources", "audit_log", "users", "sessions",
            "api_tokens", "capture_jobs", "incidents", "incident_alerts", "baselines",
            "policies", "suppressions", "asset_roles", "assets"} <= names
    indexed = {tuple(ix["column_names"]) for ix in inspect(store.engine).get_indexes("alerts")}
    for column in ("status", "severity", "rule_id", "src_ip", "dst_ip", "src_zone",
                   "dst_zone", "first_seen", "last_seen", "assignee", "category"):
        assert (column,) in indexed, column
    roles = {tuple(ix["column_names"]) for ix in inspect(store.engine).get_indexes("asset_roles")}
    assert ("role",) in roles


def test_a_database_from_otshield_0_1_is_upgraded(fresh: Fresh,
                                                  demo_inventory: InventorySnapshot) -> None:
    target = _blank(fresh)
    url = target if "://" in target else f"sqlite:///{target}"
    legacy = create_engine(url)
    _legacy(legacy, demo_inventory)
    legacy.dispose()
    store = Store(target)
    fresh.stores.append(store)
    assert store.revision() is None
    assert store.migrate() == head()
    loaded = load_inventory(store.engine)
    assert loaded is not None
    assert loaded.assets == sorted(demo_inventory.assets, key=lambda a: a.id)
    assert loaded.overrides == demo_inventory.overrides
    with store.session(write=False) as s:  # the new columns were filled from the records
        plc = s.get(AssetRow, "ip:10.10.30.11")
        assert plc is not None
        assert (plc.ips, plc.safety) == ("10.10.30.11", True)
        assert plc.macs == "00:80:f4:00:30:11"
        controllers = set(s.scalars(select(AssetRoleRow.asset_id)
                                    .where(AssetRoleRow.role == "controller")))
    expected = {a.id for a in demo_inventory.assets if any(r.role == "controller"
                                                           for r in a.roles)}
    assert controllers == expected and len(expected) == 8


def test_the_cli_inventory_keeps_working_on_an_upgraded_sqlite_file(
        tmp_path: Path, demo_inventory: InventorySnapshot, demo_capture: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from otshield.cli import main

    db = tmp_path / "old.db"
    legacy = create_engine(f"sqlite:///{db}")
    _legacy(legacy, demo_inventory)
    legacy.dispose()
    assert main(["inventory", str(demo_capture), "--state", str(db), "--format", "json",
                 "--no-progress"]) == 0
    out = msgspec.json.decode(capsys.readouterr().out)
    assert len(out["captures"]) == len(demo_inventory.captures) + 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head(),)


def test_a_database_from_a_newer_otshield_is_refused_untouched(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="newer otshield") as info:
        store.migrate()
    assert "'0099'" in str(info.value) and repr(head()) in str(info.value)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"


def test_a_newer_inventory_format_is_refused(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '7' WHERE key = 'schema_version'"))
    with pytest.raises(StoreError, match="schema version 7"):
        store.migrate()
    with pytest.raises(StoreError, match="cannot read the inventory: database schema "
                                         "version 7"):
        load_inventory(store.engine)


def test_the_audit_log_is_append_only(store: Store) -> None:
    with store.session() as s:
        first = append(s, actor="alice", action="alert.close", target="alert:1",
                       detail={"reason": "test"}, ip="10.0.0.5", via="session")
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log",
                      f"DELETE FROM audit_log WHERE id = {first}"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    if store.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    with store.session(write=False) as s:
        entries, total = list_audit(s)
    assert total == 1 and entries[0].actor == "alice" and entries[0].detail == {
        "reason": "test"}


def test_unreadable_databases_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite\n" * 100)
    with pytest.raises(StoreError, match=r"junk\.db: cannot prepare the database: file is "
                                         r"not a database"):
        Store(junk).migrate()
    assert junk.read_text().startswith("this is not sqlite")  # nothing written
    with pytest.raises(StoreError, match="cannot prepare the database"):
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none").migrate()
    try:
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none").migrate()
    except StoreError as exc:
        assert "secret" not in str(exc)  # the password never reaches a message


def test_a_locked_sqlite_file_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    store = Store(db, lock_timeout=0.2)
    store.migrate()
    with store.session() as s:
        append(s, actor="alice", action="user.login")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreError, match=r"locked.*another process holds"), \
                store.session() as s:
            append(s, actor="bob", action="user.login")
        with store.session(write=False) as s:  # readers still read (WAL)
            assert list_audit(s)[1] == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with store.session() as s:
        append(s, actor="bob", action="user.login")
    with store.session(write=False) as s:
        entries, total = list_audit(s)
    assert total == 2 and [e.actor for e in entries] == ["bob", "alice"]
    store.dispose()


def test_the_cli_inventory_works_on_either_backend(
        fresh: Fresh, demo_capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from otshield.cli import main

    target = fresh.target()
    # a plain postgresql:// URL means otshield's driver (psycopg 3)
    state = target.replace("postgresql+psycopg://", "postgresql://")
    assert main(["inventory", str(demo_capture), "--state", state, "--format", "json",
                 "--no-progress"]) == 0
    printed = msgspec.json.decode(capsys.readouterr().out)
    store = Store(state)
    fresh.stores.append(store)
    loaded = load_inventory(store.engine)
    assert loaded is not None and len(loaded.assets) == len(printed["assets"]) == 19
    assert loaded.captures == [str(demo_capture)]


def test_alert_records_move_to_their_own_table_and_back_losing_nothing(fresh: Fresh) -> None:
    """Migration 0004 on a store with alerts: the records move to ``alert_records``, the rows
    that reference the alerts (techniques, notes) stay, and the downgrade puts it back."""
    from alembic import command

    from otshield.detect.alert import Alert, AssetRef
    from otshield.store.alerts import _json, _new_row, get_alert, key_hash, list_alerts

    store = Store(_blank(fresh))
    fresh.stores.append(store)
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    alerts = [Alert(ts=100.0 + i, frame=i, src_ip="10.0.0.5", dst_ip=f"10.0.0.{10 + i}",
                    rule_id="ot.modbus.write", title="write", severity="high",
                    category="rule", techniques=("T0855",), key=f"k{i}",
                    source=AssetRef(ip="10.0.0.5", asset="ip:10.0.0.5"),
                    evidence=({"function": f"write {i}"},), first_seen=100.0 + i,
                    last_seen=100.0 + i, count=1) for i in range(3)]
    with store.engine.begin() as conn:
        table = Table("alerts", MetaData(), autoload_with=conn)
        for a in alerts:
            row = {**_new_row(key_hash(a.key), a, [], 1.0), "record": _json(a)}
            alert_id = conn.execute(insert(table).values(row)).inserted_primary_key[0]
            conn.execute(text("INSERT INTO alert_techniques (alert_id, technique) "
                              "VALUES (:a, 'T0855')"), {"a": alert_id})
            conn.execute(text("INSERT INTO alert_notes (alert_id, author, created_at, text) "
                              "VALUES (:a, 'ana', 1.0, 'seen')"), {"a": alert_id})

    assert store.migrate() == head()
    columns = {c["name"] for c in inspect(store.engine).get_columns("alerts")}
    assert "record" not in columns
    with store.session(write=False) as s:
        items, total = list_alerts(s, sort="id")
        assert total == 3
        for item, a in zip(items, alerts, strict=True):
            detail = get_alert(s, item.id)
            assert detail.alert.evidence == a.evidence and detail.alert.key == a.key
            assert [n.text for n in detail.notes] == ["seen"]
        assert s.execute(text("SELECT count(*) FROM alert_techniques")).scalar() == 3

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    with store.engine.connect() as conn:
        assert not inspect(conn).has_table("alert_records")
        kept = [msgspec.json.decode(r, type=Alert) for r in conn.execute(
            text("SELECT record FROM alerts ORDER BY id")).scalars()]
        assert kept == alerts
        assert conn.execute(text("SELECT count(*) FROM alert_notes")).scalar() == 3
