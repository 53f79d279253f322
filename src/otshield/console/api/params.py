"""Request parameters shared by the API and the web pages.

Row ids are the stores' integer keys: 32-bit on PostgreSQL, so a larger number in a path or a
query could only fail in the database (an overflow, a 500 with a traceback in the log). The
parameter refuses it first, with the same 422 every other malformed value gets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

__all__ = ["MAX_ROW_ID", "RowId"]

MAX_ROW_ID = 2**31 - 1
"""The largest row id a store holds (PostgreSQL ``integer``)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""A path parameter naming a stored row (alert, incident, capture job, user, token)."""
