"""The store's data version: a value that changes whenever anyone commits a change.

The console keeps the answers of its read endpoints and the callers it has recognised for as
long as the version stays the same (:mod:`otshield.console.readcache`), so 50 screens polling
the alert list cost one query per change instead of one per poll. The version must move on
every commit by anyone (this process, another worker, ``otshield`` on the command line), or a
cached answer would outlive the data it shows:

- SQLite: ``PRAGMA data_version`` on a connection of its own that never writes. SQLite changes
  the value seen by a connection whenever another connection, in any process, commits to the
  file; reading it costs a few microseconds and no I/O (WAL index in shared memory).
- PostgreSQL: the write-ahead log's insert position (``pg_current_wal_insert_lsn()``). Every
  commit that changed anything writes to the log, so the position moves with each one; it also
  moves for work of other databases of the server, which only costs cached answers. A commit
  becomes visible a moment after its log record is written, so a cached answer could miss one
  committed in that instant: the cache gives PostgreSQL answers a short life as well
  (:attr:`DataVersion.max_age`).

:meth:`DataVersion.auth` is a narrower version for the callers the console recognised: a
counter that triggers raise with every change to users, sessions and tokens (not their
recorded uses), so triage and ingestion do not make the console look every caller up again.

None means "unknown" (an in-memory SQLite database, a failure to read it): callers then do not
cache at all.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["DataVersion"]

_AUTH_SQL = "SELECT value FROM auth_generation WHERE id = 1"

log = logging.getLogger("otshield.store")


class DataVersion:
    """``current()``: the data version of the store behind ``engine`` (None: unknown)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._opened = 0
        self.dialect = engine.dialect.name
        database = engine.url.database or ""
        self._path: Path | None = None
        if self.dialect == "sqlite" and database not in ("", ":memory:") \
                and not database.startswith("file:"):
            self._path = Path(database)
        self.max_age = 30.0 if self.dialect == "sqlite" else 2.0
        """Seconds a cached answer may be used at most, whatever the version says."""

    def current(self) -> str | None:
        if self.dialect == "sqlite":
            return self._sqlite()
        if self.dialect == "postgresql":
            return self._postgresql()
        return None

    def auth(self) -> str | None:
        """The auth generation: changes with every change to users, sessions and API tokens
        but their recorded uses (``auth_generation``, kept by triggers: migration 0004).
        None: unknown (no such table yet, an in-memory database)."""
        if self.dialect == "sqlite":
            return self._sqlite(_AUTH_SQL)
        if self.dialect == "postgresql":
            return self._postgresql(_AUTH_SQL)
        return None

    def _sqlite(self, sql: str = "PRAGMA data_version") -> str | None:
        if self._path is None:
            return None
        with self._lock:
            try:
                if self._conn is None:
                    # autocommit, and it only ever reads: its own commits would not change
                    # the value it reads. Not opened read-only (mode=ro), which cannot
                    # create the WAL index a fresh WAL database may still lack; mode=rw
                    # still refuses to create a missing database file.
                    self._conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=rw",
                                                 uri=True, isolation_level=None,
                                                 check_same_thread=False)
                    self._opened += 1
                row = self._conn.execute(sql).fetchone()
            except sqlite3.Error as exc:
                log.debug("data version unknown: %s", exc)
                self._close()
                return None
            if row is None:
                return None
            # which connection is part of the value: a reopened one starts counting again
            # and must not repeat an old value
            return f"{self._opened}:{row[0]}"

    def _postgresql(self, sql: str = "SELECT pg_current_wal_insert_lsn()::text") -> str | None:
        try:
            with self._engine.connect() as conn:
                value = conn.execute(text(sql)).scalar()
        except SQLAlchemyError as exc:
            log.debug("data version unknown: %s", exc)
            return None
        return None if value is None else str(value)

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close()
