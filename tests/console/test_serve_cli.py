"""``otshield serve``: arguments, the demo preparation, and a real server started in a child
process on 127.0.0.1 (first start prints the one-time admin password; ``--demo`` serves a
populated plant)."""

from __future__ import annotations

import argparse
import io
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from otshield.console.cli import DEMO_CAPTURE, prepare_demo, register, settings_from_args
from otshield.store import Store
from otshield.store import jobs as jobs_repo

_RUNNER = """
import argparse, sys
from rich.console import Console
from otshield.console.cli import register
parser = argparse.ArgumentParser(prog="otshield")
register(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args, Console(), Console(stderr=True)))
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def run(argv: list[str]) -> tuple[int, str]:
    args = parse(*argv)
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    code: int = args.func(args, console, console)
    return code, buf.getvalue()


def test_defaults() -> None:
    s = settings_from_args(parse())
    assert (s.database, s.data_dir, s.secure_cookies, s.site_file) == (
        "otshield.db", Path("otshield-data"), False, None)
    demo = settings_from_args(parse("--demo"))
    assert demo.database == str(Path("otshield-demo") / "console.db")
    assert settings_from_args(parse("--tls-cert", "c", "--tls-key", "k")).secure_cookies


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "0"], "--port 0"),
    (["--tls-cert", "cert.pem"], "go together"),
    (["--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"], "no such file"),
    (["--site", "/nonexistent/site.yaml"], "no such file"),
    (["--max-upload-mb", "0"], "--max-upload-mb"),
])
def test_bad_arguments(argv: list[str], message: str, tmp_path: Path) -> None:
    code, text = run([*argv, "--database", str(tmp_path / "x.db")])
    assert code == 2 and message in text and "Traceback" not in text


def test_unreadable_database(tmp_path: Path) -> None:
    bad = tmp_path / "notadb.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    code, text = run(["--database", str(bad), "--data-dir", str(tmp_path / "d")])
    assert code == 2 and "error" in text and "Traceback" not in text


def test_prepare_demo_ingests_once(tmp_path: Path) -> None:
    settings = settings_from_args(parse("--demo", "--data-dir", str(tmp_path)))
    store = Store(settings.database)
    store.migrate()
    err = Console(file=io.StringIO())
    demo = prepare_demo(store, settings, err)
    assert demo.site_file == (tmp_path / "site.yaml").resolve()
    assert (tmp_path / DEMO_CAPTURE).is_file()
    again = prepare_demo(store, settings, err)
    assert again.site_file == demo.site_file
    with store.session(write=False) as db:
        jobs, total = jobs_repo.list_jobs(db)
    assert total == 1 and jobs[0].status == "done" and jobs[0].assets == 20
    store.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_demo_for_real(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, "serve", "--demo", "--data-dir", str(tmp_path),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        r = httpx.get(f"{base}/api/v1/alerts")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        assert httpx.get(f"{base}/api/v1/nope").json()["error"]["code"] in (
            "unauthenticated", "not_found")
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    # the one-time admin password was printed once, the demo analysed
    assert len(re.findall(r"one-time password\n\n    \S{12,}\n", output)) == 1, output
    assert "demo plant ready: 20 assets, 21 alerts" in output, output
    assert "Traceback" not in output, output
    store = Store(str(tmp_path / "console.db"))
    with store.session(write=False) as db:
        assert jobs_repo.list_jobs(db)[1] == 1
    store.dispose()
