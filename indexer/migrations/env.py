"""Alembic environment for the mirror's schema (run by ``indexer.db.upgrade``).

The caller passes an open connection in ``config.attributes["connection"]``; there is no
alembic.ini because the URL comes from GOVLEDGER_DATABASE_URL or a flag, never a file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import indexer.tables  # noqa: F401  (registers the tables on the metadata)
from indexer.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through indexer.db.upgrade(url), which supplies the connection")

if connection.dialect.name == "postgresql":
    # `index` and `serve` both upgrade on start; the lock makes the second one wait and
    # then find nothing to do, instead of racing to create the same tables.
    connection.execute(text("SELECT pg_advisory_xact_lock(4242000101)"))

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
