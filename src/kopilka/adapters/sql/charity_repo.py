"""The ledger side of the charity report (SPEC P9), in SQLAlchemy Core.

A donation is a transaction with `system.donations` entries; its fund is its reason
(`fund:<id>`). Periods are by booking time: a donation belongs to the period containing its
transaction's `created_at`, as in a settlement (ADR 0006).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import ledger_entries, ledger_transactions
from kopilka.domain.ledger import Account

_e, _t = ledger_entries.c, ledger_transactions.c


def _donations(start: datetime, end: datetime) -> sa.Join:
    return ledger_entries.join(ledger_transactions, sa.and_(
        _t.member_id == _e.member_id, _t.transaction_id == _e.transaction_id,
        _e.account == Account.DONATIONS.value, _t.created_at >= start, _t.created_at < end))


class SqlCharity:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_fund(self, start: datetime,
                end: datetime) -> list[tuple[str | None, str, int, int, int]]:
        """Per (reason, currency): donations, distinct donors and points booked in [start, end)."""
        query = (sa.select(_t.reason, _e.currency,
                           sa.func.count(sa.distinct(_t.member_id + ":" + _t.transaction_id)),
                           sa.func.count(sa.distinct(_t.member_id)), sa.func.sum(_e.amount))
                 .select_from(_donations(start, end))
                 .group_by(_t.reason, _e.currency).order_by(_t.reason, _e.currency))
        return [(r, c, int(n), int(d), int(p)) for r, c, n, d, p in self.conn.execute(query)]

    def donors(self, start: datetime, end: datetime) -> int:
        """Distinct members who donated in [start, end), whatever the fund."""
        return int(self.conn.execute(sa.select(sa.func.count(sa.distinct(_t.member_id)))
                                     .select_from(_donations(start, end))).scalar_one())
