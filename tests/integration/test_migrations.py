"""Migrations build the schema from empty on both databases, and it matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kopilka.adapters.sql import migrate
from kopilka.adapters.sql.engine import make_engine
from kopilka.adapters.sql.tables import metadata


def test_upgrade_head_from_empty_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": False})
            assert compare_metadata(context, metadata) == []
            tables = set(sa.inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
