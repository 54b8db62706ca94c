"""Alembic environment: runs against the engine the caller configured (see bootstrap.migrate)."""

from __future__ import annotations

from alembic import context

from kopilka.adapters.sql.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
