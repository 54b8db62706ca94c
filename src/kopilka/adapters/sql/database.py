"""The SQL unit of work: one transaction and the repositories bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from kopilka.adapters.sql.analytics_repo import SqlAnalytics
from kopilka.adapters.sql.charity_repo import SqlCharity
from kopilka.adapters.sql.console_repo import SqlAudit, SqlStaff
from kopilka.adapters.sql.engagement_repo import SqlEngagement
from kopilka.adapters.sql.engine import (
    make_engine,
    read_transaction,
    write_transaction,
    writer,
)
from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.idempotency_repo import SqlIdempotency
from kopilka.adapters.sql.ledger_repo import SqlLedger
from kopilka.adapters.sql.members_repo import SqlMembers
from kopilka.adapters.sql.promotions_repo import SqlPromotions
from kopilka.adapters.sql.receipts_repo import SqlPrograms, SqlReceipts
from kopilka.adapters.sql.rewards_repo import SqlRewards
from kopilka.adapters.sql.settlement_repo import SqlSettlement


@dataclass
class SqlUnitOfWork:
    conn: Connection

    def __post_init__(self) -> None:
        hot = HotPath(self.conn)
        self.ledger = SqlLedger(self.conn, hot)
        self.members = SqlMembers(self.conn, hot)
        self.idempotency = SqlIdempotency(self.conn, hot)
        self.programs = SqlPrograms(self.conn, hot)
        self.receipts = SqlReceipts(self.conn, hot)
        self.rewards = SqlRewards(self.conn)
        self.settlement = SqlSettlement(self.conn)
        self.promotions = SqlPromotions(self.conn)
        self.charity = SqlCharity(self.conn)
        self.engagement = SqlEngagement(self.conn)
        self.staff = SqlStaff(self.conn)
        self.audit = SqlAudit(self.conn)
        self.analytics = SqlAnalytics(self.conn)


class SqlDatabase:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, pool_size=pool_size)
        self._writer: Engine = writer(self.engine)

    @contextmanager
    def write(self) -> Iterator[SqlUnitOfWork]:
        with write_transaction(self._writer) as conn:
            yield SqlUnitOfWork(conn)

    @contextmanager
    def read(self) -> Iterator[SqlUnitOfWork]:
        with read_transaction(self.engine) as conn:
            yield SqlUnitOfWork(conn)

    def dispose(self) -> None:
        self.engine.dispose()
