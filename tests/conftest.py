"""Shared fixtures: fresh databases on SQLite and PostgreSQL, and a library bound to one.

PostgreSQL comes from KOPILKA_TEST_POSTGRES_URL (make test sets it via
scripts/ensure-postgres.sh). Without it the PostgreSQL cases are skipped locally, but under
CI=true they fail: CI never silently drops the production database from the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.database import SqlDatabase
from kopilka.adapters.sql.engine import normalise_url
from kopilka.app.library import Kopilka
from kopilka.app.ports import FixedClock
from kopilka.bootstrap import build, init_database
from kopilka.config import Settings

PG_ENV = "KOPILKA_TEST_POSTGRES_URL"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def postgres_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set under CI=true: PostgreSQL tests must run in CI")
        return None
    return normalise_url(url)


def _create_pg_database() -> tuple[str, sa.Engine]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL not reachable (set KOPILKA_TEST_POSTGRES_URL)")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"kopilka_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return admin.url.set(database=name).render_as_string(hide_password=False), admin


def _drop_pg_database(admin: sa.Engine, url: str) -> None:
    name = sa.make_url(url).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """A fresh, empty database URL: one run per database kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kopilka.db'}"
        return
    url, admin = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(admin, url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database only (for tests about PostgreSQL concurrency)."""
    url, admin = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(admin, url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_library(url: str, clock: FixedClock | None = None, *, pool_size: int = 4) -> Kopilka:
    db = SqlDatabase(url, pool_size=pool_size)
    init_database(db)
    settings = Settings(database_url=url, env="test", otp_sender="memory")
    return build(settings, clock=clock, db=db)


@contextmanager
def another_node(url: str, clock: FixedClock | None = None) -> Iterator[Kopilka]:
    """Another API node on the same database: its own engine and its own snapshots."""
    other = make_library(url, clock)
    try:
        yield other
    finally:
        other.db.dispose()


@pytest.fixture
def kopilka(db_url: str, clock: FixedClock) -> Iterator[Kopilka]:
    """The in-process library on a migrated, seeded database, with a fixed clock."""
    k = make_library(db_url, clock)
    try:
        yield k
    finally:
        k.db.dispose()
