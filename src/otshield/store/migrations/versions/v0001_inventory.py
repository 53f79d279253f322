"""The inventory tables as otshield 0.1 made them (``otshield inventory --state x.db``).

A database from before the migrations already has them (with ``meta.schema_version = 1``):
this revision then creates only what is missing, so such a database is adopted, not rebuilt.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> dict[str, tuple[sa.Column[object], ...]]:
    return {
        "meta": (
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        ),
        "assets": (
            sa.Column("id", sa.String(128), primary_key=True),
            sa.Column("name", sa.String(256), nullable=False, index=True),
            sa.Column("purdue_level", sa.Integer, nullable=True, index=True),
            sa.Column("zone", sa.String(256), nullable=False, index=True),
            sa.Column("vendor", sa.String(256), nullable=False, index=True),
            sa.Column("product", sa.String(256), nullable=False),
            sa.Column("version", sa.String(128), nullable=False),
            sa.Column("roles", sa.String(512), nullable=False),
            sa.Column("last_seen", sa.Float, nullable=False, index=True),
            sa.Column("record", sa.Text, nullable=False),
        ),
        "conduits": (
            sa.Column("client", sa.String(128), primary_key=True),
            sa.Column("server", sa.String(128), primary_key=True),
            sa.Column("protocol", sa.String(64), primary_key=True),
            sa.Column("packets", sa.Integer, nullable=False),
            sa.Column("record", sa.Text, nullable=False),
        ),
        "zones": (
            sa.Column("name", sa.String(256), primary_key=True),
            sa.Column("record", sa.Text, nullable=False),
        ),
        "asset_overrides": (
            sa.Column("asset", sa.String(128), primary_key=True),
            sa.Column("field", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        ),
        "captures": (
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("path", sa.Text, nullable=False),
        ),
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns)
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    found = op.get_bind().execute(
        sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
    if found is None:
        op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
