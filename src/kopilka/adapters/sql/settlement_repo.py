"""The ledger flows behind a coalition settlement (SPEC P5, F3), in SQLAlchemy Core.

Periods are by booking time: a transaction belongs to the period containing its `created_at`
(ADR 0006). The partner of a transaction is its own `partner_id`, else the partner of its
store (operations posted without a partner, such as returns recorded before partners were
carried on them); None when neither is known.

- Redemptions: `system.redeemed` entries (+ a redemption, - a refund of one). The redeemer is
  the partner of the entry's transaction; the issuer is the partner of the transaction that
  created the entry's lot (`point_lots.transaction_id`). An entry without a lot (points spent
  into debt) counts as the redeemer's own.
- Issued: minus the `system.issued` entries, by the partner of the transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import ledger_entries, ledger_transactions, point_lots, stores
from kopilka.domain.ledger import Account
from kopilka.domain.settlement import Flow, Issued

_e, _t = ledger_entries.c, ledger_transactions.c
_store = stores.alias("store")
_lot = point_lots.alias("lot")
_origin = ledger_transactions.alias("origin")
_origin_store = stores.alias("origin_store")


def _booked(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_t.created_at >= start, _t.created_at < end)


def _entries_with_transactions() -> sa.Join:
    return (ledger_entries
            .join(ledger_transactions, sa.and_(_t.member_id == _e.member_id,
                                               _t.transaction_id == _e.transaction_id))
            .outerjoin(_store, _store.c.store_id == _t.store_id))


class SqlSettlement:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def redemptions(self, start: datetime, end: datetime) -> list[Flow]:
        """Net redeemed points per (issuer, redeemer, currency) booked in [start, end)."""
        redeemer = sa.func.coalesce(_t.partner_id, _store.c.partner_id)
        issuer = sa.case((_e.lot_id.is_(None), redeemer),
                         else_=sa.func.coalesce(_origin.c.partner_id,
                                                _origin_store.c.partner_id))
        source = (_entries_with_transactions()
                  .outerjoin(_lot, sa.and_(_lot.c.member_id == _e.member_id,
                                           _lot.c.lot_id == _e.lot_id))
                  .outerjoin(_origin, sa.and_(_origin.c.member_id == _lot.c.member_id,
                                              _origin.c.transaction_id == _lot.c.transaction_id))
                  .outerjoin(_origin_store, _origin_store.c.store_id == _origin.c.store_id))
        query = (sa.select(_e.currency, issuer.label("issuer"), redeemer.label("redeemer"),
                           sa.func.sum(_e.amount).label("points"))
                 .select_from(source)
                 .where(_e.account == Account.REDEEMED.value, _booked(start, end))
                 .group_by(_e.currency, issuer, redeemer))
        return [Flow(r.issuer, r.redeemer, r.currency, int(r.points))
                for r in self.conn.execute(query)]

    def issued(self, start: datetime, end: datetime) -> list[Issued]:
        """Net issued points per (partner, currency) booked in [start, end)."""
        partner = sa.func.coalesce(_t.partner_id, _store.c.partner_id)
        query = (sa.select(_e.currency, partner.label("partner"),
                           sa.func.sum(_e.amount).label("points"))
                 .select_from(_entries_with_transactions())
                 .where(_e.account == Account.ISSUED.value, _booked(start, end))
                 .group_by(_e.currency, partner))
        return [Issued(r.partner, r.currency, -int(r.points)) for r in self.conn.execute(query)]
