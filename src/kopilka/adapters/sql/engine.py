"""Engines for SQLite (embedded default) and PostgreSQL (production), and the write lock.

SQLite has one writer per database. A write transaction starts with BEGIN IMMEDIATE so it
takes the write lock at once: two writers never both read and then fight to upgrade (which
SQLite answers with SQLITE_BUSY instead of waiting). WAL lets readers run beside the writer;
busy_timeout makes a second writer wait instead of failing.

PostgreSQL runs in READ COMMITTED; balance changes are serialised per member by
`SELECT ... FOR UPDATE` on the member's balance row (see repositories).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

WRITE = "kopilka_write"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                            pool_pre_ping=False, pool_recycle=3600)


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                              pool_size=8, max_overflow=8)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")  # fewer checkpoint fsyncs
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: this runs once per transaction on the hot path, and going
        # through `exec_driver_sql` costs more than the BEGIN itself.
        write = conn.get_execution_options().get(WRITE, False)
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The engine for write transactions (same pool): its connections BEGIN IMMEDIATE on
    SQLite. Made once per database, not per transaction."""
    return engine.execution_options(**{WRITE: True})


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write, on an engine made by `writer`."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def like_pattern(text: str, *, anywhere: bool = True) -> str:
    """A LIKE pattern matching `text` literally (escape character backslash: pass
    escape="\\"), anywhere in the value or (`anywhere=False`) at its start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"
