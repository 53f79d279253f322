"""A real PostgreSQL for the tests: initdb into a temporary directory, pg_ctl on a free port on
127.0.0.1, a database per test module, stopped at the end of the session.

Use it from a conftest.py (or a test module)::

    from pgkit import pg_server, pg_url  # noqa: F401  (fixtures)

    def test_something(pg_url: str) -> None: ...      # postgresql+psycopg://... (module's db)

The server binaries come from ``$OTSHIELD_PG_BIN`` or Debian's ``/usr/lib/postgresql/<n>/bin``
(package ``postgresql``), else ``pg_ctl`` on the PATH; without them the fixtures skip with the
reason. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser -u postgres``) from a directory that user owns. No password: the server listens on
127.0.0.1 only, with ``trust`` authentication, and is thrown away afterwards. Durability is
switched off (``fsync=off``): the tests kill clients, never the server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PgServer", "find_pg_bin", "pg_server", "pg_url", "start_postgres"]

_USER = "otshield"
"""The database superuser initdb creates (the URL's user)."""


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, None if absent."""
    env = os.environ.get("OTSHIELD_PG_BIN")
    candidates = [env] if env else []

    def version(path: str) -> int:
        match = re.search(r"postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).parent))
    for candidate in candidates:
        path = Path(candidate)
        if all((path / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A running throw-away server."""

    def __init__(self, bin_dir: Path, root: Path, run_as: str | None) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.run_as = run_as
        self.port = 0
        self._count = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              check=False)

    def start(self) -> None:
        done = self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", _USER,
                         "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        for _attempt in range(5):  # another process may take the free port first
            self.port = _free_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            done = self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                             str(self.log), "-w", "-t", "60", "-o", options, "start")
            if done.returncode == 0:
                return
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}; "
                           f"log: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                  "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its name."""
        import psycopg

        self._count += 1
        name = re.sub(r"[^a-z0-9_]", "_", f"{prefix}_{os.getpid()}_{self._count}".lower())[:60]
        with psycopg.connect(host="127.0.0.1", port=self.port, user=_USER, dbname="postgres",
                             autocommit=True) as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}'.encode())
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=_USER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def start_postgres() -> PgServer:
    """Start a server (raises RuntimeError with the reason when it cannot)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install "
                           "postgresql; or set OTSHIELD_PG_BIN)")
    run_as = None
    if os.geteuid() == 0:  # postgres refuses root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user to run the "
                               "server as") from None
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root and runuser (util-linux) is missing")
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="otshield-pg-"))
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PgServer(bin_dir, root, run_as)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session (per xdist worker), skipped when unavailable."""
    try:
        server = start_postgres()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pg_url(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test module: its SQLAlchemy URL."""
    name = pg_server.create_database(request.module.__name__.rsplit(".", 1)[-1][:30])
    yield pg_server.url(name)
    with contextlib.suppress(Exception):  # the server stops at the end anyway
        pg_server.drop_database(name)
