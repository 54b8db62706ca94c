"""The dashboard's aggregates (app.analytics), in SQLAlchemy Core: one GROUP BY per figure,
read-only, the same SQL shape on SQLite and PostgreSQL.

Bucketing: each row's bucket is computed in a subquery with integer arithmetic (see
app.analytics_period) and the outer query groups by that column, so no bound parameter is
repeated in a GROUP BY (PostgreSQL would refuse it). Only the epoch seconds of a timestamp
differ between the dialects: `strftime('%s', ...)` on SQLite (timestamps are stored as UTC
text), `extract(epoch ...)` on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import (
    ledger_entries,
    ledger_transactions,
    member_balances,
    members,
    receipt_returns,
    receipts,
)
from kopilka.app.analytics import (
    AccountPosition,
    ActiveMembers,
    LedgerFlow,
    MemberCounts,
    ReceiptTotal,
    Refund,
)
from kopilka.app.analytics_period import Period

_r, _ret, _m = receipts.c, receipt_returns.c, members.c
_e, _t, _b = ledger_entries.c, ledger_transactions.c, member_balances.c


def _int(value: int) -> sa.ColumnElement[int]:
    """An integer inlined into the SQL text (a constant of the query, never user input)."""
    return sa.literal_column(str(int(value)), sa.BigInteger)


class SqlAnalytics:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def snapshot(self) -> None:
        """PostgreSQL runs READ COMMITTED (a snapshot per statement): the dashboard's reads
        take one snapshot instead, so a receipt confirmed meanwhile is in every figure or in
        none. A SQLite transaction reads one snapshot already (WAL)."""
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    # --- bucketing -------------------------------------------------------------------------

    def _epoch_seconds(self, column: sa.ColumnElement) -> sa.ColumnElement[int]:
        if self.dialect == "sqlite":
            return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)
        return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger)

    def _bucket(self, column: sa.ColumnElement, period: Period) -> sa.ColumnElement[int]:
        """(epoch + offset - origin) // bucket seconds: the bucket of a timestamp column."""
        *changes, last = period.offsets
        offset: sa.ColumnElement[int] = _int(last.offset_seconds)
        if changes:
            offset = sa.case(*[(column < seg.until, _int(seg.offset_seconds))
                               for seg in changes], else_=offset)
        local = self._epoch_seconds(column) + offset - _int(period.origin_seconds)
        return (local // _int(period.bucket_seconds)).label("bucket")

    @staticmethod
    def _within(column: sa.ColumnElement, period: Period) -> sa.ColumnElement[bool]:
        return sa.and_(column >= period.start_at, column < period.end_at)

    # --- members ---------------------------------------------------------------------------

    def member_counts(self, period: Period, store_id: str | None) -> MemberCounts:
        at_store = [_m.enrolled_store_id == store_id] if store_id is not None else []
        enrolled = self.conn.execute(sa.select(sa.func.count()).select_from(members).where(
            _m.created_at < period.end_at, *at_store)).scalar_one()
        rows = (sa.select(self._bucket(_m.created_at, period))
                .where(self._within(_m.created_at, period), *at_store).subquery())
        new = self.conn.execute(sa.select(rows.c.bucket, sa.func.count())
                                .group_by(rows.c.bucket))
        return MemberCounts(int(enrolled), {int(b): int(n) for b, n in new})

    def _member_receipts(self, period: Period, store_id: str | None) -> list:
        return [self._within(_r.occurred_at, period), _r.status == "confirmed",
                _r.member_id.is_not(None),
                *([_r.store_id == store_id] if store_id is not None else [])]

    def active_members(self, period: Period, store_id: str | None) -> ActiveMembers:
        where = self._member_receipts(period, store_id)
        total = self.conn.execute(sa.select(sa.func.count(sa.distinct(_r.member_id)))
                                  .where(*where)).scalar_one()
        rows = sa.select(self._bucket(_r.occurred_at, period), _r.member_id).where(
            *where).subquery()
        per = self.conn.execute(sa.select(rows.c.bucket, sa.func.count(sa.distinct(
            rows.c.member_id))).group_by(rows.c.bucket))
        return ActiveMembers(int(total), {int(b): int(n) for b, n in per})

    # --- sales -----------------------------------------------------------------------------

    def receipt_totals(self, period: Period, store_id: str | None) -> list[ReceiptTotal]:
        has_member = sa.case((_r.member_id.is_(None), 0), else_=1).label("member")
        rows = (sa.select(self._bucket(_r.occurred_at, period), has_member, _r.status,
                          _r.total_payable)
                .where(self._within(_r.occurred_at, period),
                       *([_r.store_id == store_id] if store_id is not None else []))
                .subquery())
        c = rows.c
        query = (sa.select(c.bucket, c.member, c.status, sa.func.count(),
                           sa.func.sum(c.total_payable))
                 .group_by(c.bucket, c.member, c.status))
        return [ReceiptTotal(int(b), bool(m), s, int(n), int(paid))
                for b, m, s, n, paid in self.conn.execute(query)]

    def records_non_member_receipts(self, store_id: str | None) -> bool:
        """Whether any receipt without a member was ever confirmed (at the store)."""
        query = sa.select(sa.exists().where(
            _r.member_id.is_(None), _r.status == "confirmed",
            *([_r.store_id == store_id] if store_id is not None else [])))
        return bool(self.conn.execute(query).scalar_one())

    def refunds(self, period: Period, store_id: str | None) -> list[Refund]:
        """The returns made in the period on receipts still confirmed: one row per return
        (their refund is a money string inside the result, summed exactly in Python)."""
        of_receipt = [_r.store_id == _ret.store_id, _r.receipt_id == _ret.receipt_id,
                      _r.status == "confirmed"]  # looked up by key for each return
        has_member = sa.exists().where(*of_receipt, _r.member_id.is_not(None))
        query = (sa.select(self._bucket(_ret.occurred_at, period),
                           sa.case((has_member, 1), else_=0),
                           _ret.result["refund"].as_string())
                 .where(self._within(_ret.occurred_at, period), sa.exists().where(*of_receipt),
                        *([_ret.store_id == store_id] if store_id is not None else [])))
        return [Refund(int(b), bool(m), refund) for b, m, refund in self.conn.execute(query)]

    # --- the ledger ------------------------------------------------------------------------

    def ledger_flows(self, period: Period, store_id: str | None) -> list[LedgerFlow]:
        """Per bucket, currency, reason code and system account: the sum of the entries
        booked in the period, those of the chosen store apart (one scan serves the store's
        figures and the program's liability)."""
        in_scope = (sa.case((_t.store_id == store_id, 1), else_=0) if store_id is not None
                    else _int(1)).label("in_scope")
        rows = (sa.select(self._bucket(_t.created_at, period), _e.currency, _t.code,
                          _e.account, _e.amount, in_scope)
                .select_from(ledger_entries.join(ledger_transactions, sa.and_(
                    _t.member_id == _e.member_id, _t.transaction_id == _e.transaction_id)))
                .where(self._within(_t.created_at, period), _e.account.like("system.%"))
                .subquery())
        c = rows.c
        query = (sa.select(c.bucket, c.currency, c.code, c.account, c.in_scope,
                           sa.func.sum(c.amount))
                 .group_by(c.bucket, c.currency, c.code, c.account, c.in_scope))
        return [LedgerFlow(int(b), cur, code, account, int(amount), bool(scope))
                for b, cur, code, account, scope, amount in self.conn.execute(query)]

    def member_accounts(self, end_at: datetime) -> list[AccountPosition]:
        """Per currency and member account: the sum of the balances now, and of the entries
        booked since `end_at` (the position at `end_at` is their difference)."""
        now: dict[tuple[str, str], int] = {}
        for cur, available, pending, held in self.conn.execute(
                sa.select(_b.currency, sa.func.sum(_b.available), sa.func.sum(_b.pending),
                          sa.func.sum(_b.held)).group_by(_b.currency)):
            now.update({(cur, "member.available"): int(available),
                        (cur, "member.pending"): int(pending), (cur, "member.held"): int(held)})
        booked = (sa.select(_e.currency, _e.account, sa.func.sum(_e.amount))
                  .select_from(ledger_entries.join(ledger_transactions, sa.and_(
                      _t.member_id == _e.member_id, _t.transaction_id == _e.transaction_id)))
                  .where(_t.created_at >= end_at, _e.account.like("member.%"))
                  .group_by(_e.currency, _e.account))
        after = {(cur, account): int(amount) for cur, account, amount in self.conn.execute(booked)}
        return [AccountPosition(cur, account, now.get((cur, account), 0),
                                after.get((cur, account), 0))
                for cur, account in sorted(now.keys() | after.keys())]
