"""The notification outbox: every notification is stored before any delivery is tried.

A receiver that is down (mail relay restarting, SIEM collector rebooting, chat webhook
unreachable) must not cost a message, and otshield restarting must not either: notifications
are committed to a table first (the console's database, or a SQLite file of their own), then
delivered by :func:`deliver_due`, which marks each one sent only after the receiver accepted it
and otherwise schedules a retry with exponential backoff. A message is sent once per
notification id; the id travels with every attempt so a receiver can drop a repeat that crossed
a crash between "accepted" and "marked sent".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from otshield.errors import ConfigError, OtshieldError
from otshield.respond.notify.message import Notification

__all__ = ["DeliveryReport", "Outbox", "deliver_due"]

_meta = MetaData()
outbox_table = Table(
    "notify_outbox", _meta,
    Column("id", String(64), primary_key=True),
    Column("channel", String(16), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending, sent, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False, index=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
)


@dataclass
class DeliveryReport:
    sent: list[str]
    failed: dict[str, str]
    """Notification id -> the error of this attempt (a retry is scheduled)."""
    dead: list[str]


class Outbox:
    """The queue of notifications, in a database (created on first use)."""

    def __init__(self, engine: Engine, base_delay: float = 2.0, max_delay: float = 300.0,
                 give_up_after: float = 7 * 24 * 3600.0) -> None:
        self.engine = engine
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.give_up_after = give_up_after
        try:
            _meta.create_all(engine)
        except SQLAlchemyError as exc:
            raise ConfigError(f"{engine.url}: cannot open the notification outbox: {exc}") \
                from None

    def enqueue(self, n: Notification, now: float | None = None) -> bool:
        """Store ``n`` for delivery; False when a notification with its id is already queued."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(outbox_table).values(
                    id=n.id, channel=n.channel, payload=msgspec.json.encode(n).decode(),
                    status="pending", attempts=0, next_attempt_at=now, last_error="",
                    created_at=n.created or now))
        except IntegrityError:
            return False
        return True

    def due(self, now: float, limit: int = 100) -> list[Notification]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox_table.c.payload).where(
                outbox_table.c.status == "pending",
                outbox_table.c.next_attempt_at <= now).order_by(
                outbox_table.c.created_at).limit(limit)).scalars().all()
        return [msgspec.json.decode(r, type=Notification) for r in rows]

    def mark_sent(self, nid: str, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(outbox_table).where(outbox_table.c.id == nid).values(
                status="sent", sent_at=now, attempts=outbox_table.c.attempts + 1,
                last_error=""))

    def mark_failed(self, nid: str, now: float, error: str) -> bool:
        """Schedule a retry; True when the notification is given up (kept, status dead)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(outbox_table.c.attempts, outbox_table.c.created_at).where(
                outbox_table.c.id == nid)).one()
            attempts = row.attempts + 1
            dead = bool(now - row.created_at > self.give_up_after)
            delay = min(self.base_delay * 2 ** (attempts - 1), self.max_delay)
            conn.execute(update(outbox_table).where(outbox_table.c.id == nid).values(
                attempts=attempts, last_error=error[:2000], next_attempt_at=now + delay,
                status="dead" if dead else "pending"))
        return dead

    def status(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox_table.c.status, outbox_table.c.id)).all()
        out: dict[str, int] = {"pending": 0, "sent": 0, "dead": 0}
        for status, _ in rows:
            out[status] = out.get(status, 0) + 1
        return out

    def pending_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(outbox_table.c.id).where(
                outbox_table.c.status == "pending")).scalars())


Sender = Callable[[Notification], None]
"""Delivers one notification or raises OtshieldError (the receiver refused or is down)."""


def deliver_due(outbox: Outbox, senders: Mapping[str, Sender],
                now: float | None = None, limit: int = 100) -> DeliveryReport:
    """Try every notification that is due; each outcome is committed before the next."""
    now = time.time() if now is None else now
    report = DeliveryReport(sent=[], failed={}, dead=[])
    for n in outbox.due(now, limit):
        sender = senders.get(n.channel)
        if sender is None:
            error = f"no {n.channel} receiver configured"
        else:
            try:
                sender(n)
            except OtshieldError as exc:
                error = str(exc)
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                outbox.mark_sent(n.id, now)
                report.sent.append(n.id)
                continue
        report.failed[n.id] = error
        if outbox.mark_failed(n.id, now, error):
            report.dead.append(n.id)
    return report
