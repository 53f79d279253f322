"""Opening the database: a path becomes a SQLite file in WAL mode (readers never block the
writer, a crash never leaves half a transaction), a URL is passed to SQLAlchemy as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from otshield.errors import ConfigError

__all__ = ["SQLITE_SUFFIXES", "connect", "is_database"]

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def is_database(target: str) -> bool:
    """Does ``target`` name a database (a URL or a SQLite file) rather than a JSON file?"""
    return "://" in target or Path(target).suffix.lower() in SQLITE_SUFFIXES


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def connect(target: str) -> Engine:
    """An engine for ``target``: ``sqlite:///...``/``postgresql://...`` or a file path."""
    url = target if "://" in target else f"sqlite:///{Path(target).resolve()}"
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"{target}: cannot open the database: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
