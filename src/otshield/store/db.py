"""Opening the database: a path becomes a SQLite file in WAL mode (readers never block the
writer, a crash never leaves half a transaction), a URL is passed to SQLAlchemy as it is
(``postgresql+psycopg://user@host/db`` for larger sites). One code path serves both.

:class:`Store` is what the console holds: the engine, sessions that commit or roll back as a
whole, and :meth:`Store.migrate` bringing the schema to the newest revision.

SQLite detail worth knowing: the Python driver starts transactions lazily and in the deferred
mode, where two connections that both read and then write can deadlock ("database is
locked" at once, whatever the timeout). Writing sessions therefore begin with
``BEGIN IMMEDIATE`` (take the write lock first, wait up to ``lock_timeout`` for it), while
reading sessions stay deferred so readers never queue behind each other (SQLAlchemy documents
this recipe under "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from otshield.errors import ConfigError
from otshield.store.errors import StoreError
from otshield.store.version import DataVersion

__all__ = ["SQLITE_SUFFIXES", "Store", "connect", "describe_db_error", "is_database"]

log = logging.getLogger("otshield.store")

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")

_IMMEDIATE = "otshield_sqlite_immediate"
"""Execution option: this connection's transactions take the SQLite write lock at BEGIN."""


def is_database(target: str) -> bool:
    """Does ``target`` name a database (a URL or a SQLite file) rather than a JSON file?"""
    return "://" in target or Path(target).suffix.lower() in SQLITE_SUFFIXES


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # the driver must not open transactions itself: the "begin" listener does, in the mode
    # the session asked for
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # reads through a memory map instead of a read() per page, and a larger page cache than
    # the 2 MB default: the list pages and aggregates scan the alerts table
    cur.execute("PRAGMA mmap_size=268435456")
    cur.execute("PRAGMA cache_size=-16384")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def connect(target: str, *, lock_timeout: float = 10.0) -> Engine:
    """An engine for ``target``: ``sqlite:///...``, ``postgresql://...`` (psycopg 3) or a
    file path.

    ``lock_timeout``: seconds a SQLite writer waits for another writer before giving up."""
    url = target if "://" in target else f"sqlite:///{Path(target).resolve()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):  # the driver otshield ships (psycopg 3), not psycopg2
            url = "postgresql+psycopg://" + url[len(plain):]
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": lock_timeout})
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"{target}: cannot open the database: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def describe_db_error(exc: SQLAlchemyError) -> str:
    """One line for a database error, without the SQL and parameters SQLAlchemy appends."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if isinstance(exc, OperationalError) and "locked" in message:
        return (f"{message}: another process holds the database's write lock "
                "(another otshield still running?)")
    return message


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return url


class Store:
    """The console's database.

        store = Store("otshield.db")      # or "postgresql+psycopg://otshield@db/otshield"
        store.migrate()                   # create or upgrade the schema (idempotent)
        with store.session() as s:        # one transaction: commit on success, else rollback
            s.add(...)

    Database failures inside :meth:`session` come out as :class:`StoreError` (the transaction
    rolled back; :class:`~otshield.store.errors.NotFound`/``Conflict`` raised by the caller pass
    through unchanged)."""

    def __init__(self, target: str | Path, *, lock_timeout: float = 10.0) -> None:
        self.target = str(target)
        self.engine: Engine = connect(self.target, lock_timeout=lock_timeout)
        self.name = _redact(str(self.engine.url)) if "://" in self.target else self.target
        """The database for messages (password hidden)."""
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(**{_IMMEDIATE: True}),
                                    expire_on_commit=False)
        self.version = DataVersion(self.engine)
        """Changes with every commit by anyone (:mod:`otshield.store.version`)."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def migrate(self) -> str:
        """Bring the schema to the newest revision; returns it. A database made by a newer
        otshield is refused (:class:`StoreError`) and left untouched."""
        from otshield.store.migrate import migrate

        return migrate(self.engine, self.name)

    def analyze(self) -> None:
        """Refresh the query planner's statistics (``ANALYZE``), after a bulk load.

        Without them SQLite guesses, and it guessed wrong on the alerts table: counting an
        asset's open alerts walked the status index over every open alert instead of the
        asset's own (80 ms against 5 ms with 10,000 alerts). ``analysis_limit`` bounds the
        rows SQLite samples per index, so the cost stays small on a large store. A failure
        (the database busy) only costs the planner its statistics, so it is not raised."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        except SQLAlchemyError as exc:
            log.warning("%s: statistics not refreshed: %s", self.name, describe_db_error(exc))

    def revision(self) -> str | None:
        """The schema revision the database is at (None: not an otshield database yet)."""
        from otshield.store.migrate import current_revision

        return current_revision(self.engine, self.name)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one transaction, committed when the block ends, rolled back if it
        raises. ``write=False`` for read-only work: on SQLite it does not take the write lock,
        so many readers run beside one writer."""
        factory = self._writer if write else self._reader
        try:
            with factory() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"{self.name}: {describe_db_error(exc)}") from exc

    def dispose(self) -> None:
        """Close the pooled connections (tests, shutdown)."""
        self.version.close()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.name!r})"
