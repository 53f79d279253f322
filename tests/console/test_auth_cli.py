"""``otshield users ...``: the handlers through a local parser, on a temporary database."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from console.consolekit import cheap_hashes
from otshield.console.auth import passwords
from otshield.console.auth.cli import register
from otshield.store import Store
from otshield.store.models import AuditRow, SessionRow, UserRow


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with cheap_hashes():
        yield str(tmp_path_factory.mktemp("cli") / "users.db")


def run(db: str, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["users", argv[0], "--database", db, *argv[1:]])
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, Console(file=out, width=200), Console(file=err, width=200))
    return code, out.getvalue(), err.getvalue()


def _user(db: str, name: str) -> UserRow:
    store = Store(db)
    with store.session(write=False) as s:
        row = s.scalars(select(UserRow).where(UserRow.username == name)).one()
    store.dispose()
    return row


def _audit(db: str) -> list[tuple[str, str, str]]:
    store = Store(db)
    with store.session(write=False) as s:
        rows = [(r.actor.split(":")[0], r.action, r.target)
                for r in s.scalars(select(AuditRow).order_by(AuditRow.id))]
    store.dispose()
    return rows


def test_add_prints_a_working_one_time_password(db: str) -> None:
    code, out, err = run(db, "add", "Eve", "--role", "ot_engineer")
    assert (code, err) == (0, "")
    lines = out.strip().splitlines()
    assert lines[0] == ("created eve (ot_engineer); one-time password (shown once, must be "
                        "changed at the first sign-in):")
    password = lines[1]
    row = _user(db, "eve")
    assert passwords.verify_password(row.password_hash, password)
    assert (row.role, row.must_change_password) == ("ot_engineer", True)
    assert _audit(db)[-1] == ("cli", "user.create", "user:eve")
    code, out, err = run(db, "add", "eve", "--role", "viewer")
    assert code == 1 and "user eve exists already" in err


def test_list(db: str) -> None:
    run(db, "add", "frank", "--role", "viewer")
    code, out, _ = run(db, "list")
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines() if "frank" in line}
    assert "viewer" in rows["frank"] and "must change password" in rows["frank"]


def test_disable_enable_unlock_reset_mfa_role(db: str) -> None:
    run(db, "add", "gina", "--role", "analyst")
    store = Store(db)
    with store.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.username == "gina")).one()
        row.locked_until = 4e9
        row.mfa_enrolled = True
        row.totp_secret = "JBSWY3DPEHPK3PXP"
        s.add(SessionRow(id="h" * 64, user_id=row.id, csrf_token="c", mfa_verified=True,
                         created_at=1.0, last_seen_at=1.0, expires_at=4e9, ip="", user_agent="",
                         revoked_at=None))
    store.dispose()
    assert run(db, "disable", "gina")[:2] == (0, "gina: disabled, sessions ended\n")
    assert _user(db, "gina").disabled is True
    assert run(db, "enable", "gina")[:2] == (0, "gina: enabled\n")
    assert run(db, "unlock", "gina")[:2] == (0, "gina: unlocked\n")
    assert _user(db, "gina").locked_until is None
    code, out, _ = run(db, "reset-mfa", "gina")
    assert code == 0 and out.startswith("gina: second factor removed")
    row = _user(db, "gina")
    assert (row.mfa_enrolled, row.totp_secret) == (False, "")
    assert run(db, "role", "gina", "admin")[:2] == (0, "gina: role admin\n")
    code, out, _ = run(db, "reset-password", "gina")
    assert code == 0 and passwords.verify_password(_user(db, "gina").password_hash,
                                                  out.strip().splitlines()[-1])
    assert [a[1] for a in _audit(db) if a[2] == "user:gina"] == [
        "user.create", "user.disable", "user.enable", "user.unlock", "user.reset_mfa",
        "user.role", "user.reset_password"]
    store = Store(db)
    with store.session(write=False) as s:
        revoked = s.get(SessionRow, "h" * 64)
        assert revoked is not None and revoked.revoked_at is not None
        details = [json.loads(r.detail) for r in s.scalars(
            select(AuditRow).where(AuditRow.action == "user.disable"))]
    store.dispose()
    assert details == [{"before": {"disabled": False}, "after": {"disabled": True},
                        "sessions_ended": 1}]


def test_unknown_user_and_bad_database(db: str, tmp_path: Path) -> None:
    code, _, err = run(db, "disable", "nobody")
    assert code == 1 and "no user nobody" in err
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(str(bad), "list")
    assert code == 2 and err.startswith("error:")
