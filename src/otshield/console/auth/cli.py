"""``otshield users``: manage console accounts from the server's shell.

    otshield users add alice --role analyst     # prints a one-time password
    otshield users list
    otshield users reset-mfa alice              # lost phone: enrol again at the next sign-in
    otshield users reset-password alice         # prints a new one-time password
    otshield users disable alice | enable alice
    otshield users unlock alice                 # lift a lockout after failed sign-ins

For the operator with shell access to the console host (who could read the database anyway);
every change is in the audit log as ``cli:<OS user>``. The heavy modules (FastAPI, SQLAlchemy)
are imported when a verb runs, not when the command line is built.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otshield.console.permissions import Role
from otshield.errors import OtshieldError

if TYPE_CHECKING:
    from otshield.console.auth.service import StoreLike

__all__ = ["register"]

_DEFAULT_DB = "otshield.db"


def _open(database: str) -> StoreLike:
    from otshield.store import Store

    store = Store(database)
    store.migrate()
    return store


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _run(action: Callable[[argparse.Namespace, Console], int]
         ) -> Callable[[argparse.Namespace, Console, Console], int]:
    def handler(args: argparse.Namespace, out: Console, err: Console) -> int:
        from otshield.console.auth import service

        try:
            return action(args, out)
        except service.AuthError as exc:
            err.print(f"[red]error:[/] {escape(exc.message)}")
            return 1
        except OtshieldError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2
    return handler


def _add(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    user, password = service.add_user(_open(args.database), service.Actor.cli(), args.name,
                                      Role(args.role), display_name=args.display_name or "",
                                      email=args.email or "")
    out.print(f"created {escape(user.username)} ({user.role.value}); one-time password "
              "(shown once, must be changed at the first sign-in):")
    out.print(password, markup=False, highlight=False)
    return 0


def _list(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    users = service.list_users(_open(args.database))
    table = Table("user", "role", "state", "MFA", "last sign-in", "from")
    for u in users:
        state = ("disabled" if u.disabled else
                 f"locked until {_when(u.locked_until)}" if u.locked_until else
                 "must change password" if u.must_change_password else "active")
        table.add_row(escape(u.username), u.role.value, state,
                      "yes" if u.mfa_enrolled else "no", _when(u.last_login_at),
                      escape(u.last_login_ip or "-"))
    out.print(table)
    return 0


def _reset_mfa(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    user = service.reset_mfa(_open(args.database), service.Actor.cli(), args.name)
    out.print(f"{escape(user.username)}: second factor removed, sessions ended; "
              "enrolment at the next sign-in")
    return 0


def _reset_password(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    user, password = service.reset_password(_open(args.database), service.Actor.cli(),
                                            args.name)
    out.print(f"{escape(user.username)}: sessions ended; new one-time password (shown once):")
    out.print(password, markup=False, highlight=False)
    return 0


def _set_disabled(value: bool) -> Callable[[argparse.Namespace, Console], int]:
    def action(args: argparse.Namespace, out: Console) -> int:
        from otshield.console.auth import service

        user = service.update_user(_open(args.database), service.Actor.cli(), args.name,
                                   disabled=value)
        out.print(f"{escape(user.username)}: "
                  + ("disabled, sessions ended" if value else "enabled"))
        return 0
    return action


def _unlock(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    user = service.unlock_user(_open(args.database), service.Actor.cli(), args.name)
    out.print(f"{escape(user.username)}: unlocked")
    return 0


def _set_role(args: argparse.Namespace, out: Console) -> int:
    from otshield.console.auth import service

    user = service.update_user(_open(args.database), service.Actor.cli(), args.name,
                               role=Role(args.role))
    out.print(f"{escape(user.username)}: role {user.role.value}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``otshield users ...`` to the command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database", default=_DEFAULT_DB,
                        help=f"the console's database: a SQLite file or a SQLAlchemy URL "
                             f"(default {_DEFAULT_DB})")
    users = sub.add_parser("users", help="manage console accounts (add, list, reset-mfa, "
                           "reset-password, disable, enable, unlock, role)")
    verbs = users.add_subparsers(dest="users_verb", metavar="VERB", required=True)
    roles = [r.value for r in Role]

    add = verbs.add_parser("add", parents=[common],
                           help="create an account; prints its one-time password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--display-name")
    add.add_argument("--email")
    add.set_defaults(func=_run(_add))

    verbs.add_parser("list", parents=[common], help="list the accounts").set_defaults(
        func=_run(_list))

    for verb, action, text in (
            ("reset-mfa", _reset_mfa, "remove the second factor (lost phone)"),
            ("reset-password", _reset_password, "give a new one-time password"),
            ("disable", _set_disabled(True), "disable an account and end its sessions"),
            ("enable", _set_disabled(False), "enable a disabled account"),
            ("unlock", _unlock, "lift a lockout after failed sign-ins")):
        p = verbs.add_parser(verb, parents=[common], help=text)
        p.add_argument("name")
        p.set_defaults(func=_run(action))

    role = verbs.add_parser("role", parents=[common], help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(func=_run(_set_role))
