"""What the store raises: every database problem becomes a :class:`StoreError` (a
:class:`~otshield.errors.ConfigError`, so the CLI prints it without a traceback), with the
two cases an API answers differently singled out.

    ConfigError
    └── StoreError        the database cannot be opened, read or written (locked, damaged,
        │                 made by a newer otshield, unreachable)
        ├── NotFound      the row asked for does not exist (HTTP 404)
        ├── Conflict      the change contradicts the row's state (HTTP 409), e.g. closing an
        │                 alert twice or saving a version someone else saved meanwhile
        └── Invalid       a value the caller passed is unacceptable (HTTP 422): an unknown
                          status or sort key, an empty close reason, a page past the limit
"""

from __future__ import annotations

from otshield.errors import ConfigError

__all__ = ["Conflict", "Invalid", "NotFound", "StoreError"]


class StoreError(ConfigError):
    """The database cannot do what was asked; nothing was changed."""


class NotFound(StoreError):
    """No such row."""


class Conflict(StoreError):
    """The change does not fit the row's current state."""


class Invalid(StoreError):
    """A value passed in is not acceptable (the message names it)."""
