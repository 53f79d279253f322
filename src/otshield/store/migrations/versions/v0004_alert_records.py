"""Alert records in their own table: ``alerts.record`` (the merged alert as JSON, about
1.3 kB) moves to ``alert_records(alert_id, record)``; indexes for the console's counts and
aggregates; the ``auth_generation`` counter and its triggers.

Why: with the record inline an alert row is about 1.5 kB, so every list page, count and
aggregate of the console (sort by severity, the overview's timeline, the riskiest assets)
read whole records just to look at a few short columns; 10,000 alerts made a deep page cost
300 ms. Narrow rows make those scans and sorts a few milliseconds.

The column is dropped with ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35 and later, and
PostgreSQL), not with alembic's batch mode: on SQLite a batch rebuild drops and recreates
``alerts``, and the tables that reference it (techniques, sources, notes, incident links)
would lose their rows to ``ON DELETE CASCADE``.

The new indexes cover what the overview and the list filters read (status with severity, the
open alerts per asset, first occurrence with severity), so those queries read the index
alone.

``auth_generation`` (one row) grows with every insert, delete or update of ``users``,
``sessions`` and ``api_tokens``, except updates of the recorded-use columns alone
(:data:`TOUCH_COLUMNS`): the console keeps the callers it recognised while it is unchanged.
The triggers name the columns they watch, so a later migration that adds a column to one of
these tables must recreate that table's update trigger (:func:`create_auth_triggers`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_alerts_status_severity_rank", ("status", "severity_rank")),
    ("ix_alerts_severity_status", ("severity", "status")),
    ("ix_alerts_first_seen_severity", ("first_seen", "severity")),
    ("ix_alerts_status_src_asset", ("status", "src_asset", "severity")),
    ("ix_alerts_status_dst_asset", ("status", "dst_asset", "severity", "src_asset")),
)


AUTH_TABLES = ("users", "sessions", "api_tokens")
TOUCH_COLUMNS = {"sessions": {"last_seen_at"}, "api_tokens": {"last_used_at"}}
"""Columns whose change alone is no change of who may do what (the recorded use)."""

_BUMP = "UPDATE auth_generation SET value = value + 1 WHERE id = 1"


def create_auth_triggers(bind: sa.engine.Connection) -> None:
    """The triggers bumping ``auth_generation`` (both dialects), watching the columns the
    auth tables have now."""
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE OR REPLACE FUNCTION otshield_bump_auth_generation() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$")
    for table in AUTH_TABLES:
        watched = sorted(c["name"] for c in sa.inspect(bind).get_columns(table)
                         if c["name"] not in TOUCH_COLUMNS.get(table, set()))
        columns = ", ".join(watched)
        for event in ("INSERT", "DELETE", f"UPDATE OF {columns}"):
            name = f"{table}_auth_{event.split()[0].lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
            if postgresql:  # once per statement: a bulk change bumps once
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH "
                           "STATEMENT EXECUTE FUNCTION otshield_bump_auth_generation()")
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                           f"BEGIN {_BUMP}; END")


def upgrade() -> None:
    op.create_table(
        "alert_records",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.execute("INSERT INTO alert_records (alert_id, record) SELECT id, record FROM alerts")
    op.execute("ALTER TABLE alerts DROP COLUMN record")
    for name, columns in _INDEXES:
        op.create_index(name, "alerts", list(columns))
    op.create_table(
        "auth_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO auth_generation (id, value) VALUES (1, 0)")
    create_auth_triggers(op.get_bind())


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in AUTH_TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_auth_{event}"
                       + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS otshield_bump_auth_generation()")
    op.drop_table("auth_generation")
    for name, _columns in _INDEXES:
        op.drop_index(name, "alerts")
    op.add_column("alerts", sa.Column("record", sa.Text, nullable=False, server_default="{}"))
    op.execute("UPDATE alerts SET record = (SELECT r.record FROM alert_records r "
               "WHERE r.alert_id = alerts.id) WHERE id IN (SELECT alert_id FROM alert_records)")
    op.drop_table("alert_records")
