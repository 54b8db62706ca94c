"""Ledger persistence: lock a member's points, post plans, read lots, holds and history.

Lock order (fixed, to rule out deadlocks): idempotency row, then member balance rows in
(member_id, currency) order, then holds and lots of that member. Balances are never
load-edit-saved outside that lock: every write happens while the balance row is locked and
uses `SET x = x + :delta`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import (
    holds,
    ledger_entries,
    ledger_transactions,
    member_balances,
    members,
    point_lots,
)
from kopilka.app.ports import HoldRow, TransactionMeta, new_id
from kopilka.domain.ledger import (
    Account,
    Balance,
    Code,
    Entry,
    HeldPart,
    Lot,
    LotState,
    MemberPoints,
    Plan,
    PostedTransaction,
)

_b, _l = member_balances.c, point_lots.c
_m = sa.bindparam
_MEMBER_EXISTS = sa.select(members.c.member_id).where(members.c.member_id == _m("m"))


def _lot(row: sa.Row) -> Lot:
    return Lot(lot_id=row.lot_id, amount=row.amount, state=LotState(row.state),
               created_at=row.created_at, expires_at=row.expires_at,
               activates_at=row.activates_at, activation_event=row.activation_event,
               available=row.available, pending=row.pending)


class SqlLedger:
    def __init__(self, conn: Connection, hot: HotPath | None = None) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.hot = hot or HotPath(conn)

    # --- locking and reading ---------------------------------------------------------------

    def ensure_balance_row(self, member_id: str, currency: str, now: datetime) -> None:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(member_balances).values(member_id=member_id, currency=currency,
                                              updated_at=now).on_conflict_do_nothing()
        self.conn.execute(stmt)

    def lock_points(self, member_id: str, currency: str, *, now: datetime, min_available: int,
                    with_lots: bool) -> tuple[MemberPoints, str] | None:
        """Lock the member's balance row for this currency and read the state under the lock.

        Returns the points and the member's status, or None when there is no such member.
        """
        row = self.hot.one("lock", {"m": member_id, "cur": currency})
        if row is None:
            if self.conn.execute(_MEMBER_EXISTS, {"m": member_id}).first() is None:
                return None
            self.ensure_balance_row(member_id, currency, now)
            row = self.hot.one("lock", {"m": member_id, "cur": currency})
        available, pending, held, debt, status = row
        lots = self.open_lots(member_id, currency) if with_lots else ()
        balance = Balance(available, pending, held, debt)
        return MemberPoints(balance=balance, lots=lots, min_available=min_available), status

    def _select_balance(self, member_id: str, currency: str) -> Balance | None:
        row = self.hot.one("balance", {"m": member_id, "cur": currency})
        return None if row is None else Balance(*row)

    def balance(self, member_id: str, currency: str) -> Balance:
        return self._select_balance(member_id, currency) or Balance()

    def open_lots(self, member_id: str, currency: str) -> list[Lot]:
        """Active lots with points left (read on every spend: on the hot path)."""
        ts = self.hot.read_ts
        return [Lot(lot_id=r[0], amount=r[1], state=LotState(r[2]), created_at=ts(r[3]),
                    expires_at=ts(r[4]) if r[4] is not None else None,
                    activates_at=ts(r[5]) if r[5] is not None else None,
                    activation_event=r[6], available=r[7], pending=r[8])
                for r in self.hot.all("open_lots", {"m": member_id, "cur": currency})]

    def pending_lots(self, member_id: str, currency: str) -> list[Lot]:
        c = point_lots.c
        rows = self.conn.execute(sa.select(point_lots).where(
            c.member_id == member_id, c.currency == currency,
            c.state == LotState.PENDING.value).order_by(c.activates_at, c.created_at))
        return [_lot(r) for r in rows]

    def lots(self, member_id: str, lot_ids: Iterable[str]) -> dict[str, Lot]:
        ids = sorted(set(lot_ids))
        if not ids:
            return {}
        c = point_lots.c
        rows = self.conn.execute(sa.select(point_lots).where(c.member_id == member_id,
                                                             c.lot_id.in_(ids)))
        return {r.lot_id: _lot(r) for r in rows}

    # --- posting ---------------------------------------------------------------------------

    def post(self, member_id: str, currency: str, plan: Plan, meta: TransactionMeta,
             *, now: datetime) -> str:
        """Write a plan: transaction, entries, lots, lot remainders and the balance row."""
        tx_id = new_id()
        delta = plan.balance_delta()
        with self.hot.batch():
            self._write(member_id, currency, plan, meta, tx_id, delta, now)
        return tx_id

    def _write(self, member_id: str, currency: str, plan: Plan, meta: TransactionMeta,
               tx_id: str, delta: Balance, now: datetime) -> None:
        ts, hot = self.hot.ts, self.hot
        hot.run("insert_tx", {
            "member_id": member_id, "transaction_id": tx_id, "currency": currency,
            "code": plan.code.value, "points": delta.available + delta.pending + delta.held,
            "created_at": ts(now), "effective_at": ts(meta.effective_at), "reason": meta.reason,
            "author": meta.author, "partner_id": meta.partner_id, "store_id": meta.store_id,
            "receipt_id": meta.receipt_id, "hold_id": meta.hold_id,
            "reverses_id": meta.reverses_id})
        hot.many("insert_entry", [
            {"member_id": member_id, "transaction_id": tx_id, "line": i, "currency": currency,
             "account": e.account.value, "partner_id": meta.partner_id, "lot_id": e.lot_id,
             "amount": e.amount} for i, e in enumerate(plan.entries)])
        if plan.new_lots:
            hot.many("insert_lot", [
                {"member_id": member_id, "lot_id": lot.lot_id, "currency": currency,
                 "amount": lot.amount, "available": lot.available, "pending": lot.pending,
                 "state": lot.state.value, "created_at": ts(lot.created_at),
                 "expires_at": ts(lot.expires_at), "activates_at": ts(lot.activates_at),
                 "activation_event": lot.activation_event, "transaction_id": tx_id}
                for lot in plan.new_lots])
        self._apply_lot_changes(member_id, plan)
        hot.run("update_balance", {
            "m": member_id, "cur": currency, "da": delta.available, "dp": delta.pending,
            "dh": delta.held, "dd": delta.debt, "now": ts(now)})

    def _apply_lot_changes(self, member_id: str, plan: Plan) -> None:
        c = point_lots.c
        new = {lot.lot_id for lot in plan.new_lots}  # inserted with their final remainders
        deltas = {k: v for k, v in plan.lot_deltas().items() if k not in new}
        if deltas:
            self.hot.many("update_lot", [{"m": member_id, "l": lot_id, "a": a, "p": p}
                                         for lot_id, (a, p) in sorted(deltas.items())])
        for lot_id, state in plan.lot_states:
            self.conn.execute(point_lots.update().where(
                c.member_id == member_id, c.lot_id == lot_id).values(state=state.value))

    # --- holds -----------------------------------------------------------------------------

    def create_hold(self, member_id: str, currency: str, hold_id: str, points: int,
                    now: datetime, expires_at: datetime) -> None:
        self.conn.execute(holds.insert().values(
            member_id=member_id, hold_id=hold_id, currency=currency, points=points,
            status="active", created_at=now, expires_at=expires_at))

    def find_hold(self, hold_id: str) -> HoldRow | None:
        row = self.conn.execute(sa.select(holds).where(holds.c.hold_id == hold_id)).first()
        return None if row is None else HoldRow(
            row.hold_id, row.member_id, row.currency, row.points, row.captured, row.status,
            row.created_at, row.expires_at)

    def lock_hold(self, member_id: str, hold_id: str) -> HoldRow | None:
        query = sa.select(holds).where(holds.c.member_id == member_id, holds.c.hold_id == hold_id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else HoldRow(
            row.hold_id, row.member_id, row.currency, row.points, row.captured, row.status,
            row.created_at, row.expires_at)

    def close_hold(self, member_id: str, hold_id: str, status: str, captured: int,
                   now: datetime) -> None:
        self.conn.execute(holds.update().where(
            holds.c.member_id == member_id, holds.c.hold_id == hold_id).values(
            status=status, captured=captured, closed_at=now))

    def held_parts(self, member_id: str, hold_id: str) -> list[HeldPart]:
        t, e = ledger_transactions.c, ledger_entries.c
        rows = self.conn.execute(
            sa.select(e.lot_id, sa.func.sum(e.amount).label("points"))
            .join(ledger_transactions, sa.and_(t.member_id == e.member_id,
                                                t.transaction_id == e.transaction_id))
            .where(t.member_id == member_id, t.hold_id == hold_id,
                   e.account == Account.HELD.value)
            .group_by(e.lot_id)).all()
        lots = self.lots(member_id, [r.lot_id for r in rows])
        return [HeldPart(lots[r.lot_id], int(r.points)) for r in rows if r.points]

    def hold_partner(self, hold_id: str) -> str | None:
        """The partner whose key reserved the hold (from the hold's own transaction)."""
        t = ledger_transactions.c
        return self.conn.execute(sa.select(t.partner_id).where(
            t.hold_id == hold_id, t.code == Code.HOLD.value).limit(1)).scalar()

    def holds_of_receipt(self, store_id: str, receipt_id: str) -> list[str]:
        """Holds reserved for a receipt at calculation (found through their transactions)."""
        t = ledger_transactions.c
        rows = self.conn.execute(sa.select(t.hold_id).where(
            t.store_id == store_id, t.receipt_id == receipt_id, t.code == Code.HOLD.value,
            t.hold_id.is_not(None)).distinct())
        return sorted(r.hold_id for r in rows)

    def expired_holds(self, now: datetime, limit: int) -> list[HoldRow]:
        rows = self.conn.execute(sa.select(holds).where(
            holds.c.status == "active", holds.c.expires_at <= now)
            .order_by(holds.c.expires_at).limit(limit))
        return [HoldRow(r.hold_id, r.member_id, r.currency, r.points, r.captured, r.status,
                        r.created_at, r.expires_at) for r in rows]

    # --- transactions ----------------------------------------------------------------------

    def transaction(self, member_id: str, transaction_id: str) -> PostedTransaction | None:
        t, e = ledger_transactions.c, ledger_entries.c
        head = self.conn.execute(sa.select(t.code).where(
            t.member_id == member_id, t.transaction_id == transaction_id)).first()
        if head is None:
            return None
        rows = self.conn.execute(sa.select(e.account, e.amount, e.lot_id).where(
            e.member_id == member_id, e.transaction_id == transaction_id).order_by(e.line)).all()
        entries = tuple(Entry(Account(r.account), r.amount, r.lot_id) for r in rows)
        reversed_by = self.conn.execute(sa.select(t.transaction_id).where(
            t.member_id == member_id, t.reverses_id == transaction_id)).scalar()
        lots = self.lots(member_id, [x.lot_id for x in entries if x.lot_id])
        return PostedTransaction(transaction_id, Code(head.code), entries, lots, reversed_by)

    def transaction_currency(self, member_id: str, transaction_id: str) -> str:
        t = ledger_transactions.c
        return self.conn.execute(sa.select(t.currency).where(
            t.member_id == member_id, t.transaction_id == transaction_id)).scalar_one()

    def history(self, member_id: str, *, limit: int, before: str | None) -> list[sa.Row]:
        t = ledger_transactions.c
        query = sa.select(ledger_transactions).where(t.member_id == member_id)
        if before is not None:
            query = query.where(t.transaction_id < before)
        return list(self.conn.execute(query.order_by(t.transaction_id.desc()).limit(limit)))

    def expiring(self, member_id: str, currency: str) -> list[tuple[int, datetime]]:
        """Points of active lots by expiry date, nearest first (at most 20 dates)."""
        rows = self.hot.all("expiring", {"m": member_id, "cur": currency})
        return [(int(points), self.hot.read_ts(at)) for at, points in rows]

    # --- jobs ------------------------------------------------------------------------------

    def due_lots(self, *, now: datetime, kind: str, limit: int,
                 after: tuple[str, str] | None = None) -> Sequence[tuple[str, str, str]]:
        """(member_id, currency, lot_id) of lots to expire or activate now, in key order."""
        c = point_lots.c
        if kind == "expire":
            cond = sa.and_(c.state == LotState.ACTIVE.value, c.available > 0,
                           c.expires_at.is_not(None), c.expires_at <= now)
        else:
            cond = sa.and_(c.state == LotState.PENDING.value, c.activation_event.is_(None),
                           c.activates_at <= now)
        query = sa.select(c.member_id, c.currency, c.lot_id).where(cond)
        if after is not None:
            query = query.where(sa.tuple_(c.member_id, c.lot_id) > sa.tuple_(*after))
        rows = self.conn.execute(query.order_by(c.member_id, c.lot_id).limit(limit))
        return [(r.member_id, r.currency, r.lot_id) for r in rows]

    def event_lots(self, member_id: str, event: str) -> list[tuple[str, str]]:
        c = point_lots.c
        rows = self.conn.execute(sa.select(c.currency, c.lot_id).where(
            c.member_id == member_id, c.state == LotState.PENDING.value,
            c.activation_event == event))
        return [(r.currency, r.lot_id) for r in rows]
