"""Use cases of the points ledger: earn, spend, holds, adjustments, reversal, jobs.

Each runs inside a unit of work the caller opened (so it can share the transaction with an
idempotency record): lock the member's balance row, plan with the pure domain, post.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kopilka.app.ports import TransactionMeta, UnitOfWork, new_id
from kopilka.domain import ledger as L
from kopilka.domain.errors import DomainError, InvalidInput, NotFound
from kopilka.domain.points import PointCurrency

JOB_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Posted:
    transaction_id: str
    code: L.Code
    points: int
    lot_id: str | None = None
    hold_id: str | None = None
    balance: L.Balance | None = None  # the member's balance right after, when known


def currency_of(uow: UnitOfWork, code: str) -> PointCurrency:
    cur = uow.members.currency(code)
    if cur is None:
        raise NotFound(f"unknown point currency {code!r}", code="currency_not_found")
    return cur


def _lock(uow: UnitOfWork, member_id: str, cur: PointCurrency, now: datetime,
          *, with_lots: bool, active_only: bool = False) -> L.MemberPoints:
    """Lock the member's balance row (the one lock of a points change) and read the state."""
    found = uow.ledger.lock_points(member_id, cur.code, now=now,
                                   min_available=cur.min_available, with_lots=with_lots)
    if found is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    state, status = found
    if active_only and status != "active":
        raise DomainError(f"member {member_id} is {status}", code="member_not_active",
                          status=409)
    return state


def lock_state(uow: UnitOfWork, member_id: str, cur: PointCurrency,
               now: datetime) -> L.MemberPoints:
    """The member's points in `cur` with open lots, under the member's lock."""
    return _lock(uow, member_id, cur, now, with_lots=True)


def _post(uow: UnitOfWork, member_id: str, cur: PointCurrency, plan: L.Plan,
          meta: TransactionMeta, now: datetime, state: L.MemberPoints | None = None,
          **extra: str | None) -> Posted:
    tx = uow.ledger.post(member_id, cur.code, plan, meta, now=now)
    delta = plan.balance_delta()
    lot_id = plan.new_lots[0].lot_id if plan.new_lots else None
    balance = state.balance.plus(delta) if state is not None else None
    return Posted(tx, plan.code, delta.available + delta.pending + delta.held, lot_id,
                  extra.get("hold_id"), balance)


def earn(uow: UnitOfWork, member_id: str, cur: PointCurrency, points: int, *, now: datetime,
         meta: TransactionMeta, expires_at: datetime | None = None,
         activates_at: datetime | None = None, activation_event: str | None = None,
         code: L.Code = L.Code.EARN, locked: L.MemberPoints | None = None) -> Posted:
    """Credit points; `locked` is the member's state when the caller already holds the lock
    (an accrual only needs its debt, which a spend in the same transaction does not move)."""
    state = locked or _lock(uow, member_id, cur, now, with_lots=False, active_only=True)
    plan = L.plan_accrual(state, points, lot_id=new_id(), now=now, expires_at=expires_at,
                          activates_at=activates_at, activation_event=activation_event,
                          code=code)
    return _post(uow, member_id, cur, plan, meta, now, state)


def spend(uow: UnitOfWork, member_id: str, cur: PointCurrency, points: int, *, now: datetime,
          meta: TransactionMeta, locked: L.MemberPoints | None = None) -> Posted:
    """Debit points; `locked` is the member's state (with lots) read under the lock already."""
    state = locked or _lock(uow, member_id, cur, now, with_lots=True, active_only=True)
    return _post(uow, member_id, cur, L.plan_debit(state, points, now=now), meta, now, state)


def donate(uow: UnitOfWork, member_id: str, cur: PointCurrency, points: int, *,
           now: datetime, meta: TransactionMeta, pending_lots: tuple[L.Lot, ...] = (),
           preferred_lot_ids: tuple[str, ...] = (),
           locked: L.MemberPoints | None = None) -> Posted:
    """Give points to a charity fund (`system.donations`); see `L.plan_donation`."""
    state = locked or _lock(uow, member_id, cur, now, with_lots=True, active_only=True)
    plan = L.plan_donation(state, points, now=now, pending_lots=pending_lots,
                           preferred_lot_ids=preferred_lot_ids)
    return _post(uow, member_id, cur, plan, meta, now, state)


def adjust(uow: UnitOfWork, member_id: str, cur: PointCurrency, points: int, *, now: datetime,
           meta: TransactionMeta, expires_at: datetime | None = None,
           allow_debt: bool = False) -> Posted:
    if not (meta.reason and meta.reason.strip()):
        raise InvalidInput("an adjustment needs a reason", code="reason_required")
    if not meta.author:
        raise InvalidInput("an adjustment needs an author", code="author_required")
    state = _lock(uow, member_id, cur, now, with_lots=points < 0)
    plan = L.plan_adjustment(state, points, lot_id=new_id(), now=now, expires_at=expires_at,
                             allow_debt=allow_debt)
    return _post(uow, member_id, cur, plan, meta, now, state)


def reverse(uow: UnitOfWork, member_id: str, transaction_id: str, *, now: datetime,
            meta: TransactionMeta) -> Posted:
    original = uow.ledger.transaction(member_id, transaction_id)
    if original is None:
        raise NotFound(f"operation {transaction_id} not found", code="operation_not_found")
    cur_code = uow.ledger.transaction_currency(member_id, transaction_id)
    cur = currency_of(uow, cur_code)
    state = _lock(uow, member_id, cur, now, with_lots=True)
    original = uow.ledger.transaction(member_id, transaction_id)  # re-read under the lock
    plan = L.plan_reversal(state, original, now=now, lot_id=new_id())
    meta = replace(meta, reverses_id=transaction_id)
    return _post(uow, member_id, cur, plan, meta, now, state)


# --- holds ----------------------------------------------------------------------------------

def hold(uow: UnitOfWork, member_id: str, cur: PointCurrency, points: int, *, now: datetime,
         ttl: timedelta, meta: TransactionMeta) -> Posted:
    state = _lock(uow, member_id, cur, now, with_lots=True, active_only=True)
    hold_id = new_id()
    plan = L.plan_hold(state, points, now=now)
    uow.ledger.create_hold(member_id, cur.code, hold_id, points, now, now + ttl)
    meta = replace(meta, hold_id=hold_id)
    return _post(uow, member_id, cur, plan, meta, now, state, hold_id=hold_id)


def _locked_active_hold(uow: UnitOfWork, hold_id: str, now: datetime):  # noqa: ANN202
    found = uow.ledger.find_hold(hold_id)
    if found is None:
        raise NotFound(f"hold {hold_id} not found", code="hold_not_found")
    cur = currency_of(uow, found.currency)
    _lock(uow, found.member_id, cur, now, with_lots=False)  # balance row first: lock order
    row = uow.ledger.lock_hold(found.member_id, hold_id)
    if row.status != "active":
        raise DomainError(f"hold {hold_id} is {row.status}", code="hold_not_active", status=409)
    return row, cur


def capture(uow: UnitOfWork, hold_id: str, points: int | None, *, now: datetime,
            meta: TransactionMeta) -> Posted:
    """Spend all or part of a hold; what is not captured goes back to its lots."""
    row, cur = _locked_active_hold(uow, hold_id, now)
    if row.expires_at <= now:
        raise DomainError(f"hold {hold_id} has expired", code="hold_expired", status=409)
    amount = row.points if points is None else points
    parts = uow.ledger.held_parts(row.member_id, hold_id)
    plan = L.plan_capture(parts, amount, now=now)
    uow.ledger.close_hold(row.member_id, hold_id, "captured", amount, now)
    meta = replace(meta, hold_id=hold_id)
    return _post(uow, row.member_id, cur, plan, meta, now, hold_id=hold_id)


def release(uow: UnitOfWork, hold_id: str, *, now: datetime, meta: TransactionMeta,
            status: str = "released") -> Posted:
    row, cur = _locked_active_hold(uow, hold_id, now)
    parts = uow.ledger.held_parts(row.member_id, hold_id)
    plan = L.plan_release(parts, now=now)
    uow.ledger.close_hold(row.member_id, hold_id, status, 0, now)
    meta = replace(meta, hold_id=hold_id)
    return _post(uow, row.member_id, cur, plan, meta, now, hold_id=hold_id)


# --- jobs: each call does one bounded chunk; call again until it returns 0 --------------------

def expire_lot(uow: UnitOfWork, member_id: str, currency: str, lot_id: str, now: datetime) -> bool:
    cur = currency_of(uow, currency)
    _lock(uow, member_id, cur, now, with_lots=False)
    lot = uow.ledger.lots(member_id, [lot_id]).get(lot_id)
    if lot is None or lot.available <= 0 or not lot.is_expired(now):
        return False  # already done by an earlier run: the job is idempotent
    plan = L.plan_expiry(lot, now=now)
    _post(uow, member_id, cur, plan, TransactionMeta(effective_at=lot.expires_at,
                                                     reason="lot expired"), now)
    return True


def activate_lot(uow: UnitOfWork, member_id: str, currency: str, lot_id: str, now: datetime,
                 *, event: str | None = None) -> bool:
    cur = currency_of(uow, currency)
    state = _lock(uow, member_id, cur, now, with_lots=False)
    lot = uow.ledger.lots(member_id, [lot_id]).get(lot_id)
    if lot is None or lot.state is not L.LotState.PENDING or lot.pending <= 0:
        return False
    if event is None and (lot.activation_event or lot.activates_at is None
                          or lot.activates_at > now):
        return False
    if event is not None and lot.activation_event != event:
        return False
    plan = L.plan_activation(state, lot)
    effective = lot.activates_at if event is None and lot.activates_at else now
    _post(uow, member_id, cur, plan, TransactionMeta(effective_at=effective,
                                                     reason=event or "pending period over"), now)
    return True
