"""The first start of a console: with no user at all, create the administrator.

There is no default password (a default password is the first thing tried against an exposed
console). The ``admin`` account gets a random one-time password, written once to the console the
operator started the server from, and nowhere else (not to the log, not to the audit log); it
must be changed at the first sign-in, where the administrator also enrols a second factor (the
admin role requires one). A second start, or two starts at once, create nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from otshield.console.auth import passwords
from otshield.console.auth.service import Actor, StoreLike, write_audit
from otshield.console.permissions import Role
from otshield.store.models import UserRow

__all__ = ["ADMIN_NAME", "bootstrap_admin"]

ADMIN_NAME = "admin"


def bootstrap_admin(store: StoreLike, emit: Callable[[str], None]) -> bool:
    """Create ``admin`` when the store has no user, handing its one-time password to ``emit``
    (once). True when it was created."""
    password = passwords.generate_password()
    password_hash = passwords.hash_password(password)
    now = time.time()
    try:
        with store.session() as db:
            if (db.scalar(select(func.count()).select_from(UserRow)) or 0) > 0:
                return False
            db.add(UserRow(username=ADMIN_NAME, display_name="Administrator", email="",
                           role=Role.ADMIN.value,
                           password_hash=password_hash,
                           must_change_password=True, totp_secret="", totp_pending_secret="",
                           recovery_codes="", mfa_enrolled=False, totp_last_step=0,
                           disabled=False, failed_logins=0, locked_until=None,
                           password_changed_at=None, created_at=now, last_login_at=None,
                           last_login_ip=""))
            write_audit(db, Actor.system(), "user.create", f"user:{ADMIN_NAME}",
                        {"role": Role.ADMIN.value, "bootstrap": True}, now=now)
    except IntegrityError:
        # Another process created it at the same moment; its password is the one printed.
        return False
    emit(f"First start: created the user '{ADMIN_NAME}' with the one-time password\n\n"
         f"    {password}\n\n"
         "Sign in with it now: you will choose a new password and enrol an authenticator "
         "app. It is shown only this once.")
    return True
