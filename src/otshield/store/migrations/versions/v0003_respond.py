"""Incident response (issue #8): the correlator's incidents in the ``incidents`` table (key,
score, time span, techniques, addresses, the incident record, the explanation, the proposed
playbooks), cases, imported CACAO playbooks, playbook runs and the notification outbox.

The new ``incidents`` columns are added with ``ADD COLUMN`` and server defaults rather than
alembic's batch mode: on SQLite a batch rebuild drops and recreates the table, and dropping a
table that ``incident_alerts`` references would cascade-delete its links. The outbox has
exactly the columns of :data:`otshield.respond.notify.outbox.outbox_table`, so
``Outbox(engine)`` finds its table ready on the console database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INCIDENT_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str], ...] = (
    ("score", sa.Float(), "0"),
    ("first_seen", sa.Float(), "0"),
    ("last_seen", sa.Float(), "0"),
    ("techniques", sa.String(512), ""),
    ("ips", sa.Text(), ""),
    ("record", sa.Text(), "{}"),
    ("explanation", sa.Text(), "[]"),
    ("proposals", sa.Text(), "[]"),
)
"""Column name, type, server default (existing rows get it)."""


def upgrade() -> None:
    op.add_column("incidents", sa.Column("key", sa.String(64), nullable=True))
    for name, type_, default in _INCIDENT_COLUMNS:
        op.add_column("incidents", sa.Column(name, type_, nullable=False,
                                             server_default=default))
    op.create_index("ix_incidents_key", "incidents", ["key"], unique=True)
    op.create_index("ix_incidents_last_seen", "incidents", ["last_seen"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("owner", sa.String(128), nullable=False, index=True),
        sa.Column("it_assignee", sa.String(128), nullable=False),
        sa.Column("ot_assignee", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_table(
        "playbooks",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_by", sa.String(128), nullable=False),
        sa.Column("imported_at", sa.Float, nullable=False),
    )
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("playbook_id", sa.String(128), nullable=False, index=True),
        sa.Column("playbook_name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("waiting_approval", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id", ondelete="SET NULL"),
                  index=True),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False, index=True),
        sa.Column("playbook", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False, index=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False, index=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float),
    )


def downgrade() -> None:
    for name in ("notify_outbox", "playbook_runs", "playbooks", "cases"):
        op.drop_table(name)
    op.drop_index("ix_incidents_last_seen", "incidents")
    op.drop_index("ix_incidents_key", "incidents")
    with op.batch_alter_table("incidents") as batch:
        for name, _type, _default in reversed(_INCIDENT_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("key")
