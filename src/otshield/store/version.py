"""The store's data version: a value that changes whenever anyone commits a change.

The console keeps the answers of its read endpoints and the callers it has recognised for as
long as the version stays the same (:mod:`otshield.console.readcache`), so 50 screens polling
the alert list cost one query per change instead of one per poll. The version must move on
every commit by anyone (this process, another worker, ``otshield`` on the command line), or a
cached answer would outlive the data it shows:

- SQLite: ``PRAGMA data_version`` on a connection of its own that never writes. SQLite changes
  the value seen by a connection whenever another connection, in any process, commits to the
  file; reading it costs a few microseconds and no I/O (WAL index in shared memory).
- PostgreSQL: the current snapshot (``pg_current_snapshot()``: the oldest running
  transaction, the next transaction id, the ones in progress), read on a connection of its
  own. What a query sees is decided by its snapshot, and the snapshot moves whenever a
  writing transaction starts or ends (anywhere in the server, which only costs kept
  answers). The version is read before the answer is computed, whose own snapshot is the
  same or later: an answer is never kept under a version that promised more than it saw.
  Reading it is one round trip on loopback.

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
from typing import Any

from sqlalchemy import Engine

__all__ = ["DataVersion"]

_AUTH_SQL = "SELECT value FROM auth_generation WHERE id = 1"
_SQLITE = {"data": "PRAGMA data_version", "auth": _AUTH_SQL}
"""SQLite: one statement per value."""
_POSTGRESQL = {"data": "pg_current_snapshot()::text", "auth": f"({_AUTH_SQL})"}
"""PostgreSQL: one column per value, all in one SELECT."""

log = logging.getLogger("otshield.store")


class DataVersion:
    """``current()``: the data version of the store behind ``engine`` (None: unknown)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pg: Any = None
        """PostgreSQL: the psycopg connection (imported on first use)."""
        self._opened = 0
        self.dialect = engine.dialect.name
        database = engine.url.database or ""
        self._path: Path | None = None
        if self.dialect == "sqlite" and database not in ("", ":memory:") \
                and not database.startswith("file:"):
            self._path = Path(database)
        self.max_age = 30.0
        """Seconds a cached answer may be used at most, whatever the version says (a bound
        on the harm of a fault nobody foresaw)."""

    def current(self) -> str | None:
        return self.both()[0]

    def auth(self) -> str | None:
        """The auth generation: changes with every change to users, sessions and API tokens
        but their recorded uses (``auth_generation``, kept by triggers: migration 0004).
        None: unknown (no such table yet, an in-memory database)."""
        return self._read(auth=True)[1]

    def both(self) -> tuple[str | None, str | None]:
        """(:meth:`current`, :meth:`auth`) in one read (one round trip on PostgreSQL)."""
        return self._read(data=True, auth=True)

    def _read(self, *, data: bool = True, auth: bool = False
              ) -> tuple[str | None, str | None]:
        wanted = [("data", data), ("auth", auth)]
        asked = [name for name, on in wanted if on]
        if self.dialect == "sqlite":
            values = self._sqlite([_SQLITE[name] for name in asked])
        elif self.dialect == "postgresql":
            values = self._postgresql(
                "SELECT " + ", ".join(_POSTGRESQL[name] for name in asked))
        else:
            values = None
        found = dict(zip(asked, values, strict=True)) if values is not None else {}
        return found.get("data"), found.get("auth")

    def _sqlite(self, statements: list[str]) -> list[str | None] | None:
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
                rows = [self._conn.execute(sql).fetchone() for sql in statements]
            except sqlite3.Error as exc:
                log.debug("data version unknown: %s", exc)
                self._close()
                return None
            # which connection is part of the value: a reopened one starts counting again
            # and must not repeat an old value
            return [None if row is None else f"{self._opened}:{row[0]}" for row in rows]

    def _postgresql(self, sql: str) -> list[str | None] | None:
        import psycopg

        with self._lock:
            try:
                if self._pg is None:
                    # its own autocommit connection, not the pool's: no checkout, no
                    # pre-ping, one statement a read (the event loop waits for it)
                    url = self._engine.url.set(drivername="postgresql")
                    self._pg = psycopg.connect(url.render_as_string(hide_password=False),
                                               autocommit=True, connect_timeout=10)
                    self._opened += 1
                row = self._pg.execute(sql).fetchone()
            except psycopg.Error as exc:
                log.debug("data version unknown: %s", exc)
                self._close()
                return None
            if row is None:
                return None
            return [None if v is None else f"{self._opened}:{v}" for v in row]

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        if self._pg is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._pg.close()
            self._pg = None

    def close(self) -> None:
        with self._lock:
            self._close()
