"""Gamification in SQL (SPEC P7): challenge progress, exactly-once grants, draw counters.

- `add_progress` is one upsert (`INSERT ... ON CONFLICT DO UPDATE SET value = value + delta
  RETURNING value`), atomic on both databases.
- `claim` is `INSERT ... ON CONFLICT DO NOTHING RETURNING` on the grant key (member, kind,
  rule, period), as reward_grants: a retry or a parallel call finds the key taken.
- `lock_counter` creates a draw's counter row if missing and locks it (`SELECT ... FOR
  UPDATE` on PostgreSQL; SQLite writers are serial): the win and the counter change commit
  together, so parallel confirms never give more than the budget.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import challenge_progress, draw_counters, engagement_grants

_p = challenge_progress.c
_g = engagement_grants.c
_d = draw_counters.c


def _key(member_id: str, kind: str, rule_id: str, period_key: str) -> sa.ColumnElement[bool]:
    return sa.and_(_g.member_id == member_id, _g.kind == kind, _g.rule_id == rule_id,
                   _g.period_key == period_key)


class SqlEngagement:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert

    # --- challenge progress -----------------------------------------------------------------

    def add_progress(self, member_id: str, challenge_id: str, period_key: str, delta: int,
                     now: datetime) -> int:
        """Add `delta` (may be negative; the value never goes below 0) and return the value."""
        stmt = self.insert(challenge_progress).values(
            member_id=member_id, challenge_id=challenge_id, period_key=period_key,
            value=max(delta, 0), updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_p.member_id, _p.challenge_id, _p.period_key],
            set_={"value": sa.case((_p.value + delta > 0, _p.value + delta), else_=0),
                  "updated_at": now})
        return self.conn.execute(stmt.returning(_p.value)).scalar_one()

    def progress_of(self, member_id: str) -> dict[tuple[str, str], int]:
        rows = self.conn.execute(sa.select(_p.challenge_id, _p.period_key, _p.value)
                                 .where(_p.member_id == member_id))
        return {(r.challenge_id, r.period_key): r.value for r in rows}

    # --- grants -----------------------------------------------------------------------------

    def claim(self, row: dict[str, Any]) -> bool:
        """Insert a grant row; False when its key is taken (given already)."""
        stmt = self.insert(engagement_grants).values(**row).on_conflict_do_nothing()
        return self.conn.execute(stmt.returning(_g.rule_id)).first() is not None

    def record_posting(self, member_id: str, kind: str, rule_id: str, period_key: str, *,
                       transaction_id: str) -> None:
        self.conn.execute(engagement_grants.update()
                          .where(_key(member_id, kind, rule_id, period_key))
                          .values(transaction_id=transaction_id))

    def set_status(self, member_id: str, kind: str, rule_id: str, period_key: str,
                   status: str, now: datetime) -> None:
        self.conn.execute(engagement_grants.update()
                          .where(_key(member_id, kind, rule_id, period_key))
                          .values(status=status, updated_at=now))

    def grants_of(self, member_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(engagement_grants).where(_g.member_id == member_id)
        if kind is not None:
            query = query.where(_g.kind == kind)
        rows = self.conn.execute(query.order_by(_g.created_at, _g.kind, _g.rule_id,
                                                _g.period_key))
        return [dict(r) for r in rows.mappings()]

    def grant(self, member_id: str, kind: str, rule_id: str,
              period_key: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(engagement_grants).where(
            _key(member_id, kind, rule_id, period_key))).mappings().first()
        return dict(row) if row else None

    # --- draw counters ----------------------------------------------------------------------

    def lock_counter(self, draw_id: str, now: datetime) -> int:
        """Lock the draw's counter (created at 0 if missing): the points it has given."""
        self.conn.execute(self.insert(draw_counters).values(
            draw_id=draw_id, spent_points=0, wins=0, updated_at=now).on_conflict_do_nothing())
        return self.conn.execute(sa.select(_d.spent_points).where(_d.draw_id == draw_id)
                                 .with_for_update()).scalar_one()

    def add_to_counter(self, draw_id: str, points: int, wins: int, now: datetime) -> None:
        self.conn.execute(draw_counters.update().where(_d.draw_id == draw_id).values(
            spent_points=_d.spent_points + points, wins=_d.wins + wins, updated_at=now))

    def counter(self, draw_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(draw_counters).where(_d.draw_id == draw_id)
                                ).mappings().first()
        return dict(row) if row else None
