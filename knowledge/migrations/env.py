"""Alembic environment: the connection is handed over by knowledge.db.migrate()."""
from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic CLI is used directly
    raise RuntimeError("Run migrations through knowledge.db.migrate(engine)")

context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
