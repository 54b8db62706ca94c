"""Program versions, receipts and returns in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.engine import like_pattern
from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import program_versions, receipt_returns, receipts

_v, _r, _ret = program_versions.c, receipts.c, receipt_returns.c


class SqlPrograms:
    def __init__(self, conn: Connection, hot: HotPath | None = None) -> None:
        self.conn = conn
        self.hot = hot or HotPath(conn)

    def version_in_force(self, at: datetime) -> int | None:
        """The number of the version in force at `at` (every receipt asks: hot path)."""
        row = self.hot.one("program_in_force", {"at": self.hot.ts(at)})
        return None if row is None else row[0]

    def add(self, *, name: str, effective_from: datetime, document: dict[str, Any],
            now: datetime, author: str) -> int:
        """Store a new version; versions are numbered 1, 2, ... and never changed."""
        if self.conn.dialect.name == "postgresql":  # serialise version numbering
            self.conn.exec_driver_sql("LOCK TABLE program_versions IN EXCLUSIVE MODE")
        last = self.conn.execute(sa.select(sa.func.max(_v.version))).scalar() or 0
        self.conn.execute(program_versions.insert().values(
            version=last + 1, name=name, effective_from=effective_from, document=document,
            created_at=now, created_by=author))
        return last + 1

    def in_force(self, at: datetime) -> dict[str, Any] | None:
        """The version in force at `at`: the latest effective_from not after it (ties: newest)."""
        row = self.conn.execute(
            sa.select(program_versions).where(_v.effective_from <= at)
            .order_by(_v.effective_from.desc(), _v.version.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def get(self, version: int) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(program_versions).where(_v.version == version)
                                ).mappings().first()
        return dict(row) if row else None

    def all(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(_v.version, _v.name, _v.effective_from,
                                           _v.created_at, _v.created_by)
                                 .order_by(_v.version)).mappings()
        return [dict(r) for r in rows]


class SqlReceipts:
    def __init__(self, conn: Connection, hot: HotPath | None = None) -> None:
        self.conn = conn
        self.hot = hot or HotPath(conn)

    def get(self, store_id: str, receipt_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(receipts).where(_r.store_id == store_id, _r.receipt_id == receipt_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def add(self, row: dict[str, Any]) -> None:
        hot = self.hot
        values = {**row, **{k: hot.json(row[k]) for k in ("request", "result", "effects")},
                  **{k: hot.ts(row[k]) for k in ("occurred_at", "created_at", "updated_at")}}
        hot.run("insert_receipt", values)

    def update(self, store_id: str, receipt_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(receipts.update().where(
            _r.store_id == store_id, _r.receipt_id == receipt_id).values(**values))

    def qualifying_total(self, member_id: str, start: datetime, end: datetime) -> int:
        """The tier measure of the member's confirmed receipts in [start, end)."""
        row = self.hot.one("qualifying", {"m": member_id, "start": self.hot.ts(start),
                                          "end": self.hot.ts(end)})
        return int(row[0])

    def of_member(self, member_id: str, *, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(_r.store_id, _r.receipt_id, _r.receipt_key, _r.status,
                                           _r.occurred_at, _r.total_payable, _r.result)
                                 .where(_r.member_id == member_id)
                                 .order_by(_r.occurred_at.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]

    def search(self, *, limit: int, before: tuple[datetime, str, str] | None = None,
               store_id: str | None = None, receipt_id_prefix: str | None = None,
               member_id: str | None = None, status: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               ) -> list[dict[str, Any]]:
        """Receipts newest first (occurred_at, store_id, receipt_id descending), each with
        its number of returns; `before` is the key of the last row of the previous page."""
        returns = (sa.select(sa.func.count()).select_from(receipt_returns)
                   .where(_ret.store_id == _r.store_id, _ret.receipt_id == _r.receipt_id)
                   .scalar_subquery())
        stmt = sa.select(_r.store_id, _r.receipt_id, _r.member_id, _r.partner_id, _r.status,
                         _r.occurred_at, _r.total_payable, returns.label("returns"))
        if before is not None:
            stmt = stmt.where(sa.tuple_(_r.occurred_at, _r.store_id, _r.receipt_id)
                              < sa.tuple_(*before))
        for column, value in ((_r.store_id, store_id), (_r.member_id, member_id),
                              (_r.status, status)):
            if value is not None:
                stmt = stmt.where(column == value)
        if receipt_id_prefix:  # in any case, on SQLite (LIKE) and PostgreSQL (ILIKE) alike
            stmt = stmt.where(_r.receipt_id.ilike(
                like_pattern(receipt_id_prefix, anywhere=False), escape="\\"))
        if since is not None:
            stmt = stmt.where(_r.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(_r.occurred_at < until)
        stmt = stmt.order_by(_r.occurred_at.desc(), _r.store_id.desc(),
                             _r.receipt_id.desc()).limit(limit)
        return [dict(r) for r in self.conn.execute(stmt).mappings()]

    def get_return(self, store_id: str, receipt_id: str, return_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(receipt_returns).where(
            _ret.store_id == store_id, _ret.receipt_id == receipt_id,
            _ret.return_id == return_id)).mappings().first()
        return dict(row) if row else None

    def returns_of(self, store_id: str, receipt_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(receipt_returns).where(
            _ret.store_id == store_id, _ret.receipt_id == receipt_id)
            .order_by(_ret.created_at, _ret.return_id)).mappings()
        return [dict(r) for r in rows]

    def add_return(self, row: dict[str, Any]) -> None:
        self.conn.execute(receipt_returns.insert().values(**row))
