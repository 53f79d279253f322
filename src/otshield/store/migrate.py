"""Schema migrations: alembic, configured in code (users need no ``alembic.ini``), scripts
shipped in the package (``otshield/store/migrations/versions``).

:func:`migrate` runs at every start: a new database gets every revision, an existing one the
revisions it lacks, in one transaction (SQLite and PostgreSQL both have transactional DDL,
so a failed upgrade leaves the previous schema whole). Two processes starting at once queue:
SQLite through its write lock, PostgreSQL through an advisory lock.

Databases made before the migrations existed (``otshield inventory --state x.db`` of
otshield 0.1: inventory tables plus a ``meta`` row ``schema_version = 1``, no
``alembic_version``) are recognised by revision 0001, which creates only what is missing, and
upgraded like any other. A database at a revision this otshield does not know was made by a
newer otshield and is refused untouched.

Maintainers add a revision from Python (alembic renders ``migrations/script.py.mako``; the
new file lands in ``migrations/versions``; write its ``upgrade`` and update the models)::

    from alembic import command
    from otshield.store.migrate import alembic_config
    command.revision(alembic_config(), "what changed", rev_id="0004")
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from otshield.store.db import describe_db_error
from otshield.store.errors import StoreError

__all__ = ["INVENTORY_FORMAT", "alembic_config", "current_revision", "head", "migrate"]

MIGRATIONS = Path(__file__).with_name("migrations")
INVENTORY_FORMAT = 1
"""``meta.schema_version``: the encoding of the stored inventory records, checked as well so
a database written by an otshield with a newer record format is refused."""
_PG_LOCK = 0x07_5348_4C44
"""Advisory lock id serialising migrations on PostgreSQL (any constant: "OTSHLD")."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic configuration for the shipped scripts; ``connection`` is what ``env.py``
    migrates."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this otshield knows."""
    revision = _scripts().get_current_head()
    assert revision is not None  # the package ships at least one revision
    return revision


def _check(conn: Connection, name: str) -> str | None:
    """The database's revision, after refusing what this otshield cannot read."""
    current = MigrationContext.configure(conn).get_current_revision()
    scripts = _scripts()
    known = {s.revision for s in scripts.walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(f"{name}: the database is at schema revision {current!r}, made by a "
                         f"newer otshield (this one knows up to {scripts.get_current_head()!r});"
                         " upgrade otshield or use another database")
    if inspect(conn).has_table("meta"):
        row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
        if row is not None and str(row[0]) != str(INVENTORY_FORMAT):
            raise StoreError(f"{name}: database schema version {row[0]}, this otshield reads "
                             f"version {INVENTORY_FORMAT}")
    return current


def current_revision(engine: Engine, name: str) -> str | None:
    """The revision ``engine``'s database is at (None: no otshield schema yet)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"{name}: cannot read the database: {describe_db_error(exc)}") from None


def migrate(engine: Engine, name: str) -> str:
    """Upgrade ``engine``'s database to the newest revision (nothing to do: no writes);
    returns the revision. Raises :class:`StoreError` when the database cannot be read or
    was made by a newer otshield."""
    from alembic import command

    target = head()
    try:
        with engine.connect() as probe:  # the common case, already current: read only
            if _check(probe, name) == target:
                return target
        # the write lock (SQLite) or advisory lock (PostgreSQL) first, then look again: another
        # process may have migrated meanwhile
        with engine.execution_options(otshield_sqlite_immediate=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK})
            if _check(conn, name) != target:
                command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"{name}: cannot prepare the database: "
                         f"{describe_db_error(exc)}") from None
    return target
