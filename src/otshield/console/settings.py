"""Settings of a console instance, from the command line or the tests."""

from __future__ import annotations

from pathlib import Path

import msgspec

__all__ = ["ConsoleSettings"]


class ConsoleSettings(msgspec.Struct, kw_only=True):
    database: str = "otshield.db"
    """A SQLite path or any SQLAlchemy URL (postgresql+psycopg://...)."""
    data_dir: Path = Path("otshield-data")
    """Uploaded captures, analysis output, extracted evidence."""
    secure_cookies: bool = False
    """Set the cookies' Secure flag: on behind TLS (``--tls`` or a reverse proxy)."""
    session_idle_seconds: int = 8 * 3600
    session_absolute_seconds: int = 24 * 3600
    login_attempts: int = 5
    """Failed sign-ins per account before the lockout."""
    lockout_seconds: int = 900
    site_file: Path | None = None
    """The site file (zones, conduits) the console shows and checks traffic against."""
    rules_dir: Path | None = None
    """Extra rule files beside the built-in pack."""
    notify_file: Path | None = None
    """``notify.yaml``: where playbook notifications go (e-mail, webhook, syslog); without it
    they stay queued in the outbox (issue #8, :mod:`otshield.respond.notify`)."""
    playbooks_dir: Path | None = None
    """A folder of site playbooks (CACAO JSON or authored YAML) beside the built-in library."""
    read_cache: bool = True
    """Keep the answers of the list endpoints while the data is unchanged
    (:mod:`otshield.console.readcache`); off only to measure the store alone."""
