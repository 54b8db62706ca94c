"""Promotions, their counters, uses, promo codes and control-group audience in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

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
_IDS = sa.bindparam("ids", expanding=True)

# Statements every calculation runs, built once (building a statement costs more than
# running it from SQLAlchemy's compiled cache).
_ACTIVE = (sa.select(_p.promotion_id, _p.revision).where(_p.status == "active")
           .order_by(_p.promotion_id))
_COUNTERS = (sa.select(_c.promotion_id, _c.used_kopecks, _c.used_points, _c.used_count)
             .where(_c.promotion_id.in_(_IDS)).order_by(_c.promotion_id))
_COUNTERS_LOCKED = _COUNTERS.with_for_update()
_MEMBER_USES = sa.select(_u.promotion_id, _u.used_at).where(
    _u.member_id == sa.bindparam("m"), _u.status == "used", _u.promotion_id.in_(_IDS))
_PURCHASED = sa.select(receipts.c.receipt_key).where(
    receipts.c.member_id == sa.bindparam("m"), receipts.c.status == "confirmed").limit(1)


class SqlPromotions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

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

    def active_stamps(self) -> list[tuple[str, int]]:
        """(id, revision) of every active promotion: the till's cache key."""
        return [(r.promotion_id, r.revision) for r in self.conn.execute(_ACTIVE)]

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
        query = _COUNTERS_LOCKED if lock and self.dialect == "postgresql" else _COUNTERS
        return {r.promotion_id: (r.used_kopecks, r.used_points, r.used_count)
                for r in self.conn.execute(query, {"ids": ids})}

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
        for pid, used_at in self.conn.execute(_MEMBER_USES, {"m": member_id,
                                                              "ids": sorted(since)}):
            start = since[pid]
            if start is None or used_at >= start:
                counts[pid] += 1
        return counts

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
