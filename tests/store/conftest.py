"""Store tests run on SQLite and on a real PostgreSQL (tests/pgkit.py; skipped with the reason
when the server binaries are absent). Each test gets an empty, migrated database, made from a
template migrated once per session: a file copy for SQLite; for PostgreSQL a database per
module (CREATE DATABASE ... TEMPLATE), emptied before each test. The tests stay independent
and fast."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from otshield.detect.analyze import Analysis
from otshield.store import Store
from otshield.store.migrate import head
from otshield.store.models import Base
from pgkit import PgServer, pg_server  # noqa: F401  (fixtures)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty SQLite file, made once per session."""
    target = str(tmp_path_factory.mktemp("template") / "template.db")
    store = Store(target)
    store.migrate()
    store.dispose()
    return target


@pytest.fixture(scope="session")
def pg_template(request: pytest.FixtureRequest) -> str:
    """A migrated, empty PostgreSQL database, made once per session: the template the test
    databases are copied from."""
    server: PgServer = request.getfixturevalue("pg_server")
    target = server.url(server.create_database("template"))
    store = Store(target)
    store.migrate()
    store.dispose()  # no connection may stay open on a template
    return target


@pytest.fixture(scope="module")
def template(backend: str, request: pytest.FixtureRequest) -> str:
    """The migrated template of the module's backend: a SQLite path or a PostgreSQL URL."""
    return str(request.getfixturevalue(f"{'sqlite' if backend == 'sqlite' else 'pg'}_template"))


class Fresh:
    """Makes databases for one test. The first :meth:`store` of a test is the module's work
    database emptied (PostgreSQL: truncated, which is much faster than creating a database on
    a busy machine; SQLite: a copy of the template file); further ones are new copies."""

    def __init__(self, backend: str, template: str, work: str | None, tmp: Path,
                 request: pytest.FixtureRequest) -> None:
        self.backend, self.template, self.work = backend, template, work
        self.tmp, self.request = tmp, request
        self.count = 0
        self.stores: list[Store] = []

    def target(self) -> str:
        self.count += 1
        if self.backend == "sqlite":
            path = self.tmp / f"store{self.count}.db"
            shutil.copyfile(self.template, path)
            return str(path)
        if self.count == 1 and self.work is not None:
            _empty(self.work)
            return self.work
        server: PgServer = self.request.getfixturevalue("pg_server")
        name = server.create_database("s", template=make_url(self.template).database)
        return server.url(name)

    def store(self, **kw: float) -> Store:
        store = Store(self.target(), **kw)
        self.stores.append(store)
        return store


def _empty(url: str) -> None:
    """Empty every table of a migrated PostgreSQL database, the append-only audit log too
    (triggers are off in the replica role, which only a superuser may take: the tests' user).
    Ids are not reset; the tests never assume them."""
    # DELETE, children first: on tables this small it is much cheaper than TRUNCATE, which
    # swaps every table's files
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)
              if t.name not in ("meta", "auth_generation")]  # one row each, as migrated
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head()})
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()


@pytest.fixture(scope="module")
def work(backend: str, template: str, request: pytest.FixtureRequest) -> str | None:
    """PostgreSQL: the module's work database (a copy of the template)."""
    if backend != "postgresql":
        return None
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url(server.create_database("w", template=make_url(template).database))


@pytest.fixture
def fresh(backend: str, template: str, work: str | None, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[Fresh]:
    maker = Fresh(backend, template, work, tmp_path, request)
    yield maker
    for store in maker.stores:
        store.dispose()


@pytest.fixture
def store(fresh: Fresh) -> Store:
    """An empty migrated database of the module's backend."""
    return fresh.store()


@pytest.fixture(scope="session")
def demo_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from otshield.demo import write_demo_capture

    path = tmp_path_factory.mktemp("captures") / "demo.pcap"
    write_demo_capture(path)
    return path


@pytest.fixture(scope="session")
def demo_analysis(demo_capture: Path) -> Analysis:
    """The demo capture analysed once per session (19 assets, 7 alerts)."""
    from otshield.detect.analyze import run_analysis

    return run_analysis([demo_capture])
