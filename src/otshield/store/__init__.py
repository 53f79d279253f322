"""otshield's database: SQLite by default (one file, WAL, no set-up), any SQLAlchemy URL
(PostgreSQL for larger sites) with the same code and the same migrations.

    store = Store("otshield.db")   # or "postgresql+psycopg://otshield@db-host/otshield"
    store.migrate()                # create or upgrade the schema
    with store.session() as s:     # one transaction
        page = alerts.list_alerts(s, AlertFilter(status=("new",)), limit=50)

Modules: :mod:`~otshield.store.db` (engines, :class:`Store`), :mod:`~otshield.store.models`
(the tables), :mod:`~otshield.store.migrate` (alembic, run in code), repositories
(:mod:`~otshield.store.alerts`, :mod:`~otshield.store.assets`, :mod:`~otshield.store.jobs`,
:mod:`~otshield.store.audit`, :mod:`~otshield.store.documents`), the CLI's inventory file
(:mod:`~otshield.store.inventory`) and capture ingestion (:mod:`~otshield.store.ingest`).
"""

from otshield.store.db import Store, connect, is_database
from otshield.store.errors import Conflict, NotFound, StoreError
from otshield.store.inventory import load_inventory, save_inventory

__all__ = ["Conflict", "NotFound", "Store", "StoreError", "connect", "is_database",
           "load_inventory", "save_inventory"]
