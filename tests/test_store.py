"""The inventory in SQLite: what is saved comes back whole, captures accumulate across runs,
a failed save leaves the previous inventory, and a foreign or newer database is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import text

from otshield.cli import main
from otshield.demo import write_demo_capture
from otshield.errors import ConfigError
from otshield.inventory import load_snapshot, save_snapshot
from otshield.inventory.model import InventorySnapshot
from otshield.store import connect, load_inventory, save_inventory


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "demo.pcap"
    write_demo_capture(path)
    return path


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["inventory", *args, "--format", "json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_round_trip_and_accumulation(demo: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "otshield.db"
    first = run_json([str(demo), "--state", str(db), "--set", "10.10.30.11.zone=Filling"],
                     capsys)
    stored = load_snapshot(db)
    assert stored is not None
    printed = msgspec.convert(first, InventorySnapshot)
    assert stored.assets == sorted(printed.assets, key=lambda a: a.id)  # every field back
    assert len(stored.assets) == 19
    assert stored.overrides == {"ip:10.10.30.11": {"zone": "Filling"}}
    second = run_json([str(demo), "--state", str(db)], capsys)
    plc = next(a for a in second["assets"] if a["id"] == "ip:10.10.30.11")
    assert plc["zone"] == "Filling"
    assert second["captures"] == [str(demo), str(demo)]
    # the indexed columns answer questions without decoding records
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id FROM assets WHERE purdue_level = 1 AND roles LIKE "
                            "'%controller%' ORDER BY id").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert ("ip:10.10.30.21",) in rows and len(rows) == 8
    assert mode == "wal"


def test_json_and_database_hold_the_same_inventory(demo: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run_json([str(demo), "--state", str(tmp_path / "a.json")], capsys)
    run_json([str(demo), "--state", str(tmp_path / "a.db")], capsys)
    a, b = load_snapshot(tmp_path / "a.json"), load_snapshot(tmp_path / "a.db")
    assert a is not None and b is not None
    assert sorted(a.assets, key=lambda x: x.id) == b.assets
    assert sorted(a.conduits, key=lambda c: (c.client, c.server, c.protocol)) == sorted(
        b.conduits, key=lambda c: (c.client, c.server, c.protocol))


def test_failed_save_keeps_the_previous_inventory(demo: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "otshield.db"
    run_json([str(demo), "--state", str(db)], capsys)
    before = load_snapshot(db)
    assert before is not None
    engine = connect(str(db))
    with engine.begin() as conn:  # a trigger makes the next insert of an asset fail midway
        conn.execute(text("CREATE TRIGGER boom BEFORE INSERT ON assets "
                          "WHEN NEW.id = 'ip:10.10.30.31' BEGIN SELECT RAISE(ABORT, 'disk'); END"))
    with pytest.raises(ConfigError, match="cannot save the inventory"):
        save_inventory(before, engine)
    assert load_inventory(engine) == before  # nothing half-written


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "otshield.db"
    save_snapshot(InventorySnapshot(), db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError, match="schema version 99"):
        load_snapshot(db)


def test_not_a_database_is_a_clear_error(demo: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "otshield.db"
    db.write_text("this is not sqlite\n" * 100)
    assert main(["inventory", str(demo), "--state", str(db)]) == 2
    err = capsys.readouterr().err
    assert "cannot read the inventory" in err and "Traceback" not in err
