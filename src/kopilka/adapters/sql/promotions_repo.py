"""Promotions, their counters, uses, promo codes and control-group audience in SQL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import (
    promo_codes,
    promotion_audience,
    promotion_counters,
    promotion_uses,
    promotions,
    receipts,
)

_p, _c, _u, _k, _a = (promotions.c, promotion_counters.c, promotion_uses.c, promo_codes.c,
                      promotion_audience.c)

# Statements every calculation runs, built once (building a statement costs more than
# running it from SQLAlchemy's compiled cache).
_PURCHASED = sa.select(receipts.c.receipt_key).where(
    receipts.c.member_id == sa.bindparam("m"), receipts.c.status == "confirmed").limit(1)

# What every calculation with promotions reads, at DB-API level (as `hot.py` does for the
# points: a Core statement costs ~85 us of SQLAlchemy work, a cursor ~3 us). `{ids}` becomes
# one placeholder per id. `fingerprint` changes whenever any promotion does: each change of
# a promotion adds 1 to its revision, a new one adds a row, and none is ever deleted.
_TILL = {
    "fingerprint": "SELECT count(*), COALESCE(SUM(revision), 0) FROM promotions",
    "stamps": "SELECT promotion_id, status, revision FROM promotions",
    "counters": "SELECT promotion_id, used_kopecks, used_points, used_count "
                "FROM promotion_counters WHERE promotion_id IN ({ids}) ORDER BY promotion_id",
    "member_uses": "SELECT promotion_id, used_at FROM promotion_uses WHERE member_id = :m "
                   "AND status = 'used' AND promotion_id IN ({ids})",
    "attributes": "SELECT attributes FROM members WHERE member_id = :m",
}
_till_sql: dict[tuple[str, str, int], str] = {}


def _till_statement(dialect: str, name: str, count: int = 0, *, lock: bool = False) -> str:
    """The statement `name` for `count` ids in the dialect's parameter style (made once)."""
    key = (dialect, name + (" lock" if lock else ""), count)
    sql = _till_sql.get(key)
    if sql is None:
        sql = _TILL[name].replace("{ids}", ", ".join(f":i{i}" for i in range(count)))
        if dialect == "postgresql":
            sql = re.sub(r":(\w+)", r"%(\1)s", sql) + (" FOR UPDATE" if lock else "")
        sql = _till_sql[key] = sql
    return sql


def _id_params(ids: Sequence[str]) -> dict[str, Any]:
    return {f"i{i}": pid for i, pid in enumerate(ids)}


class SqlPromotions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._hot: HotPath | None = None

    @property
    def hot(self) -> HotPath:
        """The transaction's DB-API cursor and value helpers (made when first needed)."""
        if self._hot is None:
            self._hot = HotPath(self.conn)
        return self._hot

    def _cursor(self, name: str, params: dict[str, Any], count: int = 0, *,
                lock: bool = False) -> Any:
        """Run a till statement on the transaction's DB-API cursor."""
        cursor = self.hot.cursor
        cursor.execute(_till_statement(self.dialect, name, count, lock=lock), params)
        return cursor

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # --- the catalogue ---------------------------------------------------------------------

    def add(self, *, promotion_id: str, partner_id: str | None, status: str,
            document: dict[str, Any], now: datetime, author: str) -> bool:
        """Insert a promotion and its counter row; False when the id is taken."""
        inserted = self.conn.execute(self._insert(promotions).values(
            promotion_id=promotion_id, partner_id=partner_id, status=status, document=document,
            created_at=now, updated_at=now, updated_by=author).on_conflict_do_nothing()
            .returning(_p.promotion_id)).first()  # (rowcount is -1 here on psycopg)
        if inserted is None:
            return False
        self.conn.execute(promotion_counters.insert().values(promotion_id=promotion_id,
                                                             updated_at=now))
        return True

    def get(self, promotion_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(promotions).where(_p.promotion_id == promotion_id)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def update(self, promotion_id: str, *, now: datetime, author: str,
               **values: Any) -> None:
        self.conn.execute(promotions.update().where(_p.promotion_id == promotion_id).values(
            updated_at=now, updated_by=author, revision=_p.revision + 1, **values))

    def page(self, *, status: str | None, limit: int, after: str | None) -> list[dict[str, Any]]:
        query = sa.select(promotions).order_by(_p.promotion_id).limit(limit)
        if status is not None:
            query = query.where(_p.status == status)
        if after is not None:
            query = query.where(_p.promotion_id > after)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def fingerprint(self) -> tuple[int, int]:
        """(count, sum of revisions) of all promotions, active or not: it grows with every
        change to any promotion, so the same fingerprint means the same promotions."""
        count, total = self._cursor("fingerprint", {}).fetchone()
        return int(count), int(total)

    def stamps(self) -> tuple[tuple[int, int], list[tuple[str, int]]]:
        """The fingerprint and (id, revision) of the active promotions in id order, read
        together (one statement: they always describe the same state)."""
        rows = self._cursor("stamps", {}).fetchall()
        fingerprint = (len(rows), sum(int(r[2]) for r in rows))
        return fingerprint, sorted((r[0], int(r[2])) for r in rows if r[1] == "active")

    def documents(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        rows = self.conn.execute(sa.select(_p.promotion_id, _p.document)
                                 .where(_p.promotion_id.in_(sorted(ids))))
        return {r.promotion_id: r.document for r in rows}

    # --- budgets ---------------------------------------------------------------------------

    def counters(self, ids: Iterable[str], *, lock: bool) -> dict[str, tuple[int, int, int]]:
        """Used (kopecks, points, count) per promotion; `lock` takes their rows in id order
        (every confirm locks in the same order, so two never deadlock)."""
        ids = sorted(set(ids))
        if not ids:
            return {}
        rows = self._cursor("counters", _id_params(ids), len(ids),
                            lock=lock and self.dialect == "postgresql").fetchall()
        return {pid: (int(kopecks), int(points), int(count))
                for pid, kopecks, points, count in rows}

    def consume(self, promotion_id: str, *, kopecks: int, points: int, count: int,
                now: datetime) -> None:
        """Add to what a promotion has given (negative: give back)."""
        self.conn.execute(promotion_counters.update().where(_c.promotion_id == promotion_id)
                          .values(used_kopecks=_c.used_kopecks + kopecks,
                                  used_points=_c.used_points + points,
                                  used_count=_c.used_count + count, updated_at=now))

    def has_purchases(self, member_id: str) -> bool:
        """Whether the member has a confirmed receipt (for "first purchase" conditions)."""
        return self.conn.execute(_PURCHASED, {"m": member_id}).first() is not None

    # --- uses ------------------------------------------------------------------------------

    def member_use_counts(self, member_id: str,
                          since: dict[str, datetime | None]) -> dict[str, int]:
        """The member's uses per promotion, each since its own period start: one query."""
        if not since:
            return {}
        counts = dict.fromkeys(since, 0)
        ids = sorted(since)
        rows = self._cursor("member_uses", {"m": member_id, **_id_params(ids)},
                            len(ids)).fetchall()
        read_ts = self.hot.read_ts
        for pid, used_at in rows:
            start = since[pid]
            if start is None or read_ts(used_at) >= start:
                counts[pid] += 1
        return counts

    def member_attributes(self, member_id: str) -> dict[str, Any]:
        """The member's custom attributes (the till reads segments from them)."""
        row = self._cursor("attributes", {"m": member_id}).fetchone()
        found = None if row is None else self.hot.load_json(row[0])
        return found if isinstance(found, dict) else {}

    def store_use_counts(self, store_id: str,
                         since: dict[str, datetime | None]) -> dict[str, int]:
        """The store's uses per promotion since each one's period start: a query per
        distinct start (a handful: day, week, month, ever)."""
        counts = dict.fromkeys(since, 0)
        by_start: dict[datetime | None, list[str]] = {}
        for pid, start in since.items():
            by_start.setdefault(start, []).append(pid)
        for start, ids in by_start.items():
            query = sa.select(_u.promotion_id, sa.func.count()).where(
                _u.store_id == store_id, _u.status == "used", _u.promotion_id.in_(sorted(ids))
            ).group_by(_u.promotion_id)
            if start is not None:
                query = query.where(_u.used_at >= start)
            counts.update({pid: int(n) for pid, n in self.conn.execute(query)})
        return counts

    def code_uses_by_member(self, code: str, member_id: str) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).where(
            _u.code == code, _u.member_id == member_id, _u.status == "used")).scalar() or 0)

    def record_use(self, **row: Any) -> None:
        self.conn.execute(promotion_uses.insert().values(status="used", **row))

    def return_use(self, member_id: str, receipt_key: str, promotion_id: str,
                   now: datetime) -> None:
        self.conn.execute(promotion_uses.update().where(
            _u.member_id == member_id, _u.receipt_key == receipt_key,
            _u.promotion_id == promotion_id).values(status="returned", returned_at=now))

    def add_codes(self, rows: list[dict[str, Any]]) -> int:
        """Insert codes, skipping any that exist; how many were inserted."""
        if not rows:
            return 0
        result = self.conn.execute(
            self._insert(promo_codes).on_conflict_do_nothing().returning(_k.code), rows)
        return len(result.all())

    def code(self, code: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(promo_codes).where(_k.code == code)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def use_code(self, code: str, delta: int) -> None:
        self.conn.execute(promo_codes.update().where(_k.code == code)
                          .values(uses=_k.uses + delta))

    def codes_of(self, promotion_id: str, batch_id: str | None = None) -> Iterator[dict]:
        query = sa.select(promo_codes).where(_k.promotion_id == promotion_id)
        if batch_id is not None:
            query = query.where(_k.batch_id == batch_id)
        for row in self.conn.execute(query.order_by(_k.created_at, _k.code)).mappings():
            yield dict(row)

    def code_counts(self, promotion_id: str) -> dict[str, int]:
        row = self.conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(_k.uses), 0))
            .where(_k.promotion_id == promotion_id)).one()
        return {"codes": int(row[0]), "uses": int(row[1])}

    # --- control groups --------------------------------------------------------------------

    def record_audience(self, promotion_id: str, member_id: str, held_back: bool,
                        now: datetime) -> None:
        """The first decision for a member stands (the hash is stable anyway)."""
        self.conn.execute(self._insert(promotion_audience).values(
            promotion_id=promotion_id, member_id=member_id, held_back=held_back,
            decided_at=now).on_conflict_do_nothing())

    def audience(self, promotion_id: str) -> dict[str, int]:
        rows = self.conn.execute(sa.select(_a.held_back, sa.func.count())
                                 .where(_a.promotion_id == promotion_id).group_by(_a.held_back))
        counts = {bool(held): int(n) for held, n in rows}
        return {"control": counts.get(True, 0), "exposed": counts.get(False, 0)}
