"""Reward grants in SQL: the exactly-once claim of a grant key, and what the rules ask about
a member's purchases.

`claim` is `INSERT ... ON CONFLICT DO NOTHING RETURNING` on the primary key (member_id, rule_id,
period_key): on PostgreSQL a parallel claim of the same key waits on the unique index until
the first transaction ends, then finds the key taken; on SQLite writers are serial anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import members, receipts, reward_grants

_g = reward_grants.c


def _key(member_id: str, rule_id: str, period_key: str) -> sa.ColumnElement[bool]:
    return sa.and_(_g.member_id == member_id, _g.rule_id == rule_id,
                   _g.period_key == period_key)


class SqlRewards:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def claim(self, row: dict[str, Any]) -> bool:
        """Insert a grant row; False when its key is taken (already granted)."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(reward_grants).values(**row).on_conflict_do_nothing()
        return self.conn.execute(stmt.returning(_g.rule_id)).first() is not None

    def reclaim(self, row: dict[str, Any]) -> bool:
        """Grant again a key whose grant was revoked; False unless it is revoked."""
        key = _key(row["member_id"], row["rule_id"], row["period_key"])
        values = {k: v for k, v in row.items()
                  if k not in ("member_id", "rule_id", "period_key", "created_at")}
        stmt = reward_grants.update().where(key, _g.status == "revoked").values(**values)
        return self.conn.execute(stmt.returning(_g.rule_id)).first() is not None

    def record_posting(self, member_id: str, rule_id: str, period_key: str, *,
                       transaction_id: str, lot_id: str | None) -> None:
        self.conn.execute(reward_grants.update().where(_key(member_id, rule_id, period_key))
                          .values(transaction_id=transaction_id, lot_id=lot_id))

    def revoke(self, member_id: str, rule_id: str, period_key: str, now: datetime) -> None:
        self.conn.execute(reward_grants.update().where(_key(member_id, rule_id, period_key))
                          .values(status="revoked", updated_at=now))

    def get(self, member_id: str, rule_id: str, period_key: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(reward_grants).where(
            _key(member_id, rule_id, period_key))).mappings().first()
        return dict(row) if row else None

    def of_member(self, member_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(reward_grants).where(_g.member_id == member_id)
                                 .order_by(_g.created_at, _g.rule_id, _g.period_key))
        return [dict(r) for r in rows.mappings()]

    def of_receipt(self, member_id: str, receipt_key: str) -> list[dict[str, Any]]:
        """The member's granted rewards that this purchase earned."""
        rows = self.conn.execute(sa.select(reward_grants).where(
            _g.member_id == member_id, _g.receipt_key == receipt_key,
            _g.status == "granted").order_by(_g.rule_id, _g.period_key))
        return [dict(r) for r in rows.mappings()]

    # --- what the rules ask -----------------------------------------------------------------

    def bought_before(self, member_id: str, receipt_key: str, *,
                      channel: str | None = None) -> bool:
        """Whether the member has another confirmed purchase (in `channel`, when given)."""
        c = receipts.c
        query = sa.select(c.receipt_key).where(c.member_id == member_id, c.status == "confirmed",
                                               c.receipt_key != receipt_key)
        if channel is not None:
            query = query.where(c.request["channel"].as_string() == channel)
        return self.conn.execute(query.limit(1)).first() is not None

    def referrer_of(self, member_id: str) -> str | None:
        return self.conn.execute(sa.select(members.c.referred_by).where(
            members.c.member_id == member_id)).scalar()

    def with_birthday(self, month_days: Sequence[int], *, after: str | None,
                      limit: int) -> list[str]:
        """Active members born on one of `month_days` (month*100+day), in id order."""
        c = members.c
        query = (sa.select(c.member_id)
                 .where(c.birth_month_day.in_(list(month_days)), c.status == "active")
                 .order_by(c.member_id).limit(limit))
        if after is not None:
            query = query.where(c.member_id > after)
        return [r.member_id for r in self.conn.execute(query)]
