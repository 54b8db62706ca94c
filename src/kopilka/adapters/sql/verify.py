"""The ledger verifier: recompute every balance from the entries and check every invariant.

Runs as aggregate queries, so it scales with the database rather than with Python memory.
Each check yields human-readable problems; an empty result means the books are whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import (
    currencies,
    holds,
    ledger_entries,
    ledger_transactions,
    member_balances,
    point_lots,
)

MAX_PROBLEMS_PER_CHECK = 100
e, t, b, lots, h = (ledger_entries.c, ledger_transactions.c, member_balances.c, point_lots.c,
                    holds.c)


@dataclass(frozen=True, slots=True)
class Problem:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.detail}"


def _sum_where(account: str, *extra: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(e.account == account, *extra),
                                                 e.amount), else_=0)), 0)


def unbalanced_transactions(conn: Connection) -> Iterator[Problem]:
    rows = conn.execute(sa.select(e.member_id, e.transaction_id, sa.func.sum(e.amount))
                        .group_by(e.member_id, e.transaction_id)
                        .having(sa.func.sum(e.amount) != 0).limit(MAX_PROBLEMS_PER_CHECK))
    for member_id, tx, total in rows:
        yield Problem("balanced", f"transaction {tx} of member {member_id} sums to {total}")


def currency_totals(conn: Connection) -> Iterator[Problem]:
    for cur, total in conn.execute(sa.select(e.currency, sa.func.sum(e.amount))
                                   .group_by(e.currency)):
        if total != 0:
            yield Problem("zero_sum", f"all accounts of {cur} sum to {total}, not zero")


def transactions_without_entries(conn: Connection) -> Iterator[Problem]:
    has_entries = sa.exists().where(e.member_id == t.member_id,
                                    e.transaction_id == t.transaction_id)
    for member_id, tx in conn.execute(sa.select(t.member_id, t.transaction_id)
                                      .where(~has_entries).limit(MAX_PROBLEMS_PER_CHECK)):
        yield Problem("entries", f"transaction {tx} of member {member_id} has no entries")


def transaction_points(conn: Connection) -> Iterator[Problem]:
    member_sum = (sa.select(sa.func.coalesce(sa.func.sum(e.amount), 0))
                  .where(e.member_id == t.member_id, e.transaction_id == t.transaction_id,
                         e.account.like("member.%")).scalar_subquery())
    rows = conn.execute(sa.select(t.transaction_id, t.points, member_sum)
                        .where(t.points != member_sum).limit(MAX_PROBLEMS_PER_CHECK))
    for tx, points, actual in rows:
        yield Problem("points", f"transaction {tx} says {points} points, its entries {actual}")


def stored_balances(conn: Connection) -> Iterator[Problem]:
    recomputed = (sa.select(
        e.member_id, e.currency,
        _sum_where("member.available").label("available"),
        _sum_where("member.pending").label("pending"),
        _sum_where("member.held").label("held"),
        (-_sum_where("member.available", e.lot_id.is_(None))).label("debt"))
        .group_by(e.member_id, e.currency).subquery())
    r = recomputed.c
    query = (sa.select(b.member_id, b.currency, b.available, b.pending, b.held, b.debt,
                       r.available, r.pending, r.held, r.debt)
             .select_from(member_balances.outerjoin(recomputed, sa.and_(
                 r.member_id == b.member_id, r.currency == b.currency)))
             .where(sa.or_(b.available != sa.func.coalesce(r.available, 0),
                           b.pending != sa.func.coalesce(r.pending, 0),
                           b.held != sa.func.coalesce(r.held, 0),
                           b.debt != sa.func.coalesce(r.debt, 0)))
             .limit(MAX_PROBLEMS_PER_CHECK))
    for row in conn.execute(query):
        stored = tuple(row[2:6])
        derived = tuple(int(v or 0) for v in row[6:10])
        yield Problem("balances", f"member {row[0]} {row[1]}: stored (available, pending, held, "
                                  f"debt) {stored} but the entries give {derived}")
    missing = conn.execute(sa.select(r.member_id, r.currency).select_from(
        recomputed.outerjoin(member_balances, sa.and_(r.member_id == b.member_id,
                                                      r.currency == b.currency)))
        .where(b.member_id.is_(None)).limit(MAX_PROBLEMS_PER_CHECK))
    for member_id, cur in missing:
        yield Problem("balances", f"member {member_id} {cur} has entries but no balance row")


def lot_remainders(conn: Connection) -> Iterator[Problem]:
    recomputed = (sa.select(e.member_id, e.lot_id,
                            _sum_where("member.available").label("available"),
                            _sum_where("member.pending").label("pending"))
                  .where(e.lot_id.is_not(None)).group_by(e.member_id, e.lot_id).subquery())
    r = recomputed.c
    query = (sa.select(lots.member_id, lots.lot_id, lots.amount, lots.available, lots.pending,
                       lots.state, r.available, r.pending)
             .select_from(point_lots.outerjoin(recomputed, sa.and_(
                 r.member_id == lots.member_id, r.lot_id == lots.lot_id)))
             .where(sa.or_(lots.available != sa.func.coalesce(r.available, 0),
                           lots.pending != sa.func.coalesce(r.pending, 0),
                           lots.available < 0, lots.pending < 0,
                           lots.available + lots.pending > lots.amount,
                           sa.and_(lots.state == "pending", lots.available != 0),
                           sa.and_(lots.state != "pending", lots.pending != 0)))
             .limit(MAX_PROBLEMS_PER_CHECK))
    for row in conn.execute(query):
        yield Problem("lots", f"lot {row[1]} of member {row[0]} ({row[5]}, amount {row[2]}): "
                              f"stored available/pending {row[3]}/{row[4]}, "
                              f"entries give {row[6] or 0}/{row[7] or 0}")


def lots_cover_balances(conn: Connection) -> Iterator[Problem]:
    lot_sum = (sa.select(lots.member_id, lots.currency,
                         sa.func.sum(lots.available).label("available"),
                         sa.func.sum(lots.pending).label("pending"))
               .group_by(lots.member_id, lots.currency).subquery())
    s = lot_sum.c
    query = (sa.select(b.member_id, b.currency, b.available, b.debt, b.pending, s.available,
                       s.pending)
             .select_from(member_balances.outerjoin(lot_sum, sa.and_(
                 s.member_id == b.member_id, s.currency == b.currency)))
             .where(sa.or_(b.available + b.debt != sa.func.coalesce(s.available, 0),
                           b.pending != sa.func.coalesce(s.pending, 0)))
             .limit(MAX_PROBLEMS_PER_CHECK))
    for row in conn.execute(query):
        yield Problem("lots", f"member {row[0]} {row[1]}: available {row[2]} + debt {row[3]} "
                              f"and pending {row[4]} differ from their lots "
                              f"{row[5] or 0} / {row[6] or 0}")


def policy(conn: Connection) -> Iterator[Problem]:
    query = (sa.select(b.member_id, b.currency, b.available, b.pending, b.held, b.debt,
                       currencies.c.min_available)
             .join(currencies, currencies.c.code == b.currency)
             .where(sa.or_(b.pending < 0, b.held < 0, b.debt < 0,
                           sa.and_(b.debt == 0, b.available < currencies.c.min_available)))
             .limit(MAX_PROBLEMS_PER_CHECK))
    for row in conn.execute(query):
        yield Problem("policy", f"member {row[0]} {row[1]}: available {row[2]}, pending {row[3]},"
                                f" held {row[4]}, debt {row[5]} break the floor {row[6]}")


def hold_amounts(conn: Connection) -> Iterator[Problem]:
    held = (sa.select(t.member_id, t.hold_id, _sum_where("member.held").label("held"))
            .join(ledger_transactions, sa.and_(t.member_id == e.member_id,
                                               t.transaction_id == e.transaction_id))
            .where(t.hold_id.is_not(None)).group_by(t.member_id, t.hold_id).subquery())
    expected = sa.case((h.status == "active", h.points), else_=0)
    query = (sa.select(h.hold_id, h.status, h.points, held.c.held)
             .select_from(holds.outerjoin(held, sa.and_(held.c.member_id == h.member_id,
                                                        held.c.hold_id == h.hold_id)))
             .where(sa.func.coalesce(held.c.held, 0) != expected)
             .limit(MAX_PROBLEMS_PER_CHECK))
    for hold_id, status, points, actual in conn.execute(query):
        yield Problem("holds", f"hold {hold_id} ({status}, {points} points) holds {actual or 0}")


CHECKS: tuple[Callable[[Connection], Iterator[Problem]], ...] = (
    unbalanced_transactions, currency_totals, transactions_without_entries, transaction_points,
    stored_balances, lot_remainders, lots_cover_balances, policy, hold_amounts)


def verify(conn: Connection) -> list[Problem]:
    """Every problem found by every check (empty: the ledger is consistent)."""
    return [problem for check in CHECKS for problem in check(conn)]


def summary(conn: Connection) -> dict[str, int]:
    """Counts and system account totals, for the report that accompanies a verification."""
    def rows(table: sa.Table) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    counts = {"transactions": rows(ledger_transactions), "entries": rows(ledger_entries),
              "lots": rows(point_lots), "balances": rows(member_balances)}
    for account, currency, total in conn.execute(
            sa.select(e.account, e.currency, sa.func.sum(e.amount))
            .where(e.account.like("system.%")).group_by(e.account, e.currency)):
        counts[f"{account}[{currency}]"] = int(total)
    return counts
