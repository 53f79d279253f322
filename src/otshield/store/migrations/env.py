"""alembic's entry point for otshield's migrations: runs them on the connection
:func:`otshield.store.migrate.migrate` hands over (``config.attributes["connection"]``), inside
its transaction. Offline (SQL script) mode is not offered: the schema differs per back end in
its triggers, so the migrations must talk to the database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from otshield.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("otshield migrations run through otshield.store.migrate.migrate(), "
                       "which passes the connection; there is no alembic.ini URL")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
