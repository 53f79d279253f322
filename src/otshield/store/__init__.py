"""otshield's database: SQLite by default (one file, WAL, no set-up), any SQLAlchemy URL
(PostgreSQL for larger sites) with the same code.

Today it holds the asset inventory (:mod:`otshield.store.inventory`); the console's alerts,
incidents, users and audit log will live beside it.
"""

from otshield.store.db import connect, is_database
from otshield.store.inventory import load_inventory, save_inventory

__all__ = ["connect", "is_database", "load_inventory", "save_inventory"]
