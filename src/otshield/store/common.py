"""What the repositories share: the change record handed to the audit log, paging and sort
checks, the clock, and JSON encoding of stored records.

Every repository function that changes something returns a :class:`Change`: the action name,
the target and the values before and after. The caller (the console's request handler, which
knows who and from where) writes it to the audit log in the same transaction, so a change
and its audit entry commit together or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import QueryableAttribute, Session

from otshield.store.errors import Invalid

__all__ = ["MAX_LIMIT", "Change", "check_page", "count_of", "now", "order_by"]

MAX_LIMIT = 1000
"""Largest page a list function returns: bounded work per request."""


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One change, as the audit log records it."""

    action: str
    """``alert.acknowledge``, ``alert.close``, ``suppression.create``, ``baseline.save``..."""
    target: str
    """``alert:12``, ``suppression:3``, ``baseline:plant@4``."""
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
    """Values before and after (``{"status": ["new", "acknowledged"]}``) and the inputs that
    matter (the reason, the assignee); never secrets."""


def now() -> float:
    """Wall-clock time for the bookkeeping columns (``created_at``, ``acknowledged_at``).
    Packet times come from the capture, never from here."""
    return time.time()


def check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise Invalid(f"offset must be 0 or more, not {offset}")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


def order_by(sort: str, columns: Mapping[str, QueryableAttribute[Any]],
             tiebreak: QueryableAttribute[Any]) -> list[ColumnElement[Any]]:
    """``sort`` (``name`` ascending, ``-name`` descending) as ORDER BY terms, with ``tiebreak``
    last so pages never overlap or skip rows that compare equal."""
    name = sort.removeprefix("-")
    column = columns.get(name)
    if column is None:
        raise Invalid(f"cannot sort by {sort!r}; choose one of "
                      f"{', '.join(sorted(columns))} (prefix - for descending)")
    descending = sort.startswith("-")
    return [column.desc() if descending else column.asc(),
            tiebreak.desc() if descending else tiebreak.asc()]


def count_of(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` (without ORDER BY/LIMIT) returns."""
    # count(*) over the same FROM and WHERE, not over a subquery of whole rows: SQLite would
    # read every matching row's columns (the JSON records too) just to count them
    counting = query.with_only_columns(func.count(), maintain_column_froms=True)
    return int(session.scalar(counting.order_by(None)) or 0)
