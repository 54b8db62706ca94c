"""The points ledger, as pure planning functions.

Every change of a balance is a *transaction* of signed integer *entries* that sum to zero.
Member accounts carry a lot id, so a lot's remaining points are the sum of the member entries
booked against it: there is one source of truth and the verifier can recompute everything.

The functions here take a snapshot of a member's points (balance and lots) and return a
`Plan`: the entries to post, lots to create and lot state changes. Adapters load the snapshot
under a lock, call a planner, persist the plan. Nothing here does I/O or reads the clock.

Accounts (per currency):
- member.available  spendable points (per lot; lot-less entries are debt below zero)
- member.pending    accruals waiting for their activation time or event (per lot)
- member.held       points reserved by a hold (per lot)
- system.issued     counterpart of every accrual: minus the points ever issued (liability)
- system.redeemed   points spent
- system.expired    points burnt at expiry (breakage)
- system.adjustments  counterpart of manual adjustments
- system.donations  points members gave to charity funds (SPEC P9); final, never reversed

Redemptions carry the lot on their system side too (e.g. `system.redeemed` +30 on lot L beside
`member.available` -30 on lot L): a redemption then says whose points were spent, which is
what a coalition settlement needs (points issued at one partner, redeemed at another). Lot
remainders are computed from member accounts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from kopilka.domain.errors import DomainError, InsufficientPoints, InvalidInput

MAX_POINTS_PER_OPERATION = 10**12  # a limit on everything the outside world can send


class Account(StrEnum):
    AVAILABLE = "member.available"
    PENDING = "member.pending"
    HELD = "member.held"
    ISSUED = "system.issued"
    REDEEMED = "system.redeemed"
    EXPIRED = "system.expired"
    ADJUSTMENTS = "system.adjustments"
    DONATIONS = "system.donations"

    @property
    def is_member(self) -> bool:
        return self.value.startswith("member.")


class Code(StrEnum):
    """Why a transaction happened (the reason code every transaction carries)."""

    EARN = "earn"
    BONUS = "bonus"
    ACTIVATE = "activate"
    CANCEL_PENDING = "cancel_pending"
    SPEND = "spend"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSAL = "reversal"
    REFUND_EARN = "refund_earn"
    REFUND_SPEND = "refund_spend"
    DONATE = "donate"


class LotState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Entry:
    account: Account
    amount: int
    lot_id: str | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    """A batch of points with its own expiry. `available`/`pending` are its live remainders."""

    lot_id: str
    amount: int
    state: LotState
    created_at: datetime
    expires_at: datetime | None = None
    activates_at: datetime | None = None
    activation_event: str | None = None
    available: int = 0
    pending: int = 0

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def expiry_order(self) -> tuple:
        """Nearest expiry first; lots that never expire last; then oldest first."""
        never = self.expires_at is None
        return (never, self.expires_at or self.created_at, self.created_at, self.lot_id)


@dataclass(frozen=True, slots=True)
class Balance:
    available: int = 0
    pending: int = 0
    held: int = 0
    debt: int = 0  # points below zero not covered by any lot (only where the policy allows)

    def plus(self, other: Balance) -> Balance:
        return Balance(self.available + other.available, self.pending + other.pending,
                       self.held + other.held, self.debt + other.debt)


@dataclass(frozen=True, slots=True)
class MemberPoints:
    """What a planner needs to know of one member in one currency."""

    balance: Balance
    lots: Sequence[Lot] = ()  # lots with available points (for spending); may be partial
    min_available: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    code: Code
    entries: tuple[Entry, ...]
    new_lots: tuple[Lot, ...] = ()
    lot_states: tuple[tuple[str, LotState], ...] = ()

    def __post_init__(self) -> None:
        assert_balanced(self.entries)

    def balance_delta(self) -> Balance:
        available = sum(e.amount for e in self.entries if e.account is Account.AVAILABLE)
        debt = -sum(e.amount for e in self.entries
                    if e.account is Account.AVAILABLE and e.lot_id is None)
        pending = sum(e.amount for e in self.entries if e.account is Account.PENDING)
        held = sum(e.amount for e in self.entries if e.account is Account.HELD)
        return Balance(available, pending, held, debt)

    def lot_deltas(self) -> dict[str, tuple[int, int]]:
        """Per lot: (change of available, change of pending)."""
        deltas: dict[str, tuple[int, int]] = {}
        for e in self.entries:
            if e.lot_id is None or e.account not in (Account.AVAILABLE, Account.PENDING):
                continue
            avail, pend = deltas.get(e.lot_id, (0, 0))
            if e.account is Account.AVAILABLE:
                avail += e.amount
            else:
                pend += e.amount
            deltas[e.lot_id] = (avail, pend)
        return deltas

    def held_by_lot(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for e in self.entries:
            if e.account is Account.HELD and e.lot_id is not None:
                held[e.lot_id] = held.get(e.lot_id, 0) + e.amount
        return held

    @property
    def points(self) -> int:
        """The size of the operation as the member sees it (change of available+pending)."""
        delta = self.balance_delta()
        return delta.available + delta.pending


def assert_balanced(entries: Iterable[Entry]) -> None:
    entries = tuple(entries)
    if not entries:
        raise DomainError("a transaction needs entries", code="empty_transaction")
    total = sum(e.amount for e in entries)
    if total != 0:
        raise DomainError(f"entries sum to {total}, not zero", code="unbalanced_transaction")
    for e in entries:
        if e.account in (Account.PENDING, Account.HELD) and e.lot_id is None:
            raise DomainError(f"{e.account} entries need a lot", code="unbalanced_transaction")


def check_amount(points: int, *, what: str = "points") -> None:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidInput(f"{what} must be an integer")
    if points <= 0:
        raise InvalidInput(f"{what} must be positive, got {points}", code="invalid_points")
    if points > MAX_POINTS_PER_OPERATION:
        raise InvalidInput(f"{what} exceeds the limit of {MAX_POINTS_PER_OPERATION}",
                           code="invalid_points")


# --- accruals -------------------------------------------------------------------------------

def plan_accrual(state: MemberPoints, points: int, *, lot_id: str, now: datetime,
                 expires_at: datetime | None = None, activates_at: datetime | None = None,
                 activation_event: str | None = None, code: Code = Code.EARN,
                 source: Account = Account.ISSUED) -> Plan:
    """Credit `points` as a new lot: pending until its time or event, else available.

    Available credits first settle any debt (lot-less negative balance) of the member.
    """
    check_amount(points)
    if expires_at is not None and activates_at is not None and expires_at <= activates_at:
        raise InvalidInput("points cannot expire before they activate", code="invalid_expiry")
    pending = activation_event is not None or (activates_at is not None and activates_at > now)
    lot = Lot(lot_id=lot_id, amount=points, created_at=now, expires_at=expires_at,
              activates_at=activates_at, activation_event=activation_event,
              state=LotState.PENDING if pending else LotState.ACTIVE)
    if pending:
        entries = [Entry(source, -points), Entry(Account.PENDING, points, lot_id)]
        return Plan(code, tuple(entries), (replace(lot, pending=points),))
    entries = [Entry(source, -points), *_credit_available(state.balance.debt, points, lot_id)]
    settled = min(points, state.balance.debt)
    return Plan(code, tuple(entries), (replace(lot, available=points - settled),))


def _credit_available(debt: int, points: int, lot_id: str) -> list[Entry]:
    settled = min(points, max(debt, 0))
    entries = []
    if settled:
        entries.append(Entry(Account.AVAILABLE, settled, None))
    if points - settled:
        entries.append(Entry(Account.AVAILABLE, points - settled, lot_id))
    return entries


def plan_activation(state: MemberPoints, lot: Lot) -> Plan:
    """Move a pending lot's points to available (its time has come or its event happened)."""
    if lot.state is not LotState.PENDING or lot.pending <= 0:
        raise DomainError(f"lot {lot.lot_id} is not pending", code="lot_not_pending", status=409)
    entries = [Entry(Account.PENDING, -lot.pending, lot.lot_id),
               *_credit_available(state.balance.debt, lot.pending, lot.lot_id)]
    return Plan(Code.ACTIVATE, tuple(entries), lot_states=((lot.lot_id, LotState.ACTIVE),))


def plan_pending_cancellation(lot: Lot, points: int | None = None,
                              code: Code = Code.CANCEL_PENDING) -> Plan:
    """Withdraw (part of) a pending lot before it activates, e.g. when goods come back."""
    amount = lot.pending if points is None else points
    check_amount(amount)
    if lot.state is not LotState.PENDING or amount > lot.pending:
        raise DomainError(f"lot {lot.lot_id} has only {lot.pending} pending points",
                          code="lot_not_pending", status=409)
    states = ((lot.lot_id, LotState.CANCELLED),) if amount == lot.pending else ()
    entries = (Entry(Account.PENDING, -amount, lot.lot_id), Entry(Account.ISSUED, amount))
    return Plan(code, entries, lot_states=states)


# --- spending and holds ---------------------------------------------------------------------

def spendable(state: MemberPoints, now: datetime) -> int:
    """Points that can be spent now: unexpired active lots less any debt, above the floor."""
    in_lots = sum(lot.available for lot in _usable_lots(state.lots, now))
    return in_lots - state.balance.debt - state.min_available


def _usable_lots(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    usable = [lot for lot in lots
              if lot.state is LotState.ACTIVE and lot.available > 0 and not lot.is_expired(now)]
    return sorted(usable, key=Lot.expiry_order)


def _take_from_lots(lots: Iterable[Lot], points: int,
                    now: datetime) -> tuple[list[tuple[str, int]], int]:
    """Consume nearest-expiry lots first. Returns [(lot_id, taken)] and the shortfall."""
    taken: list[tuple[str, int]] = []
    left = points
    for lot in _usable_lots(lots, now):
        if left == 0:
            break
        part = min(lot.available, left)
        taken.append((lot.lot_id, part))
        left -= part
    return taken, left


def _debit(state: MemberPoints, points: int, now: datetime, allow_debt: bool,
           preferred_lot_ids: Sequence[str] = ()) -> list[Entry]:
    """member.available entries taking `points`: preferred lots, then nearest expiry first."""
    check_amount(points)
    if not allow_debt and points > spendable(state, now):
        available = max(spendable(state, now), 0)
        raise InsufficientPoints(f"{points} points requested, {available} available",
                                 available=available)
    preferred = set(preferred_lot_ids)
    taken, short = _take_from_lots([lot for lot in state.lots if lot.lot_id in preferred],
                                   points, now)
    more, short = _take_from_lots([lot for lot in state.lots if lot.lot_id not in preferred],
                                  short, now)
    entries = [Entry(Account.AVAILABLE, -part, lot_id) for lot_id, part in taken + more]
    if short:
        entries.append(Entry(Account.AVAILABLE, -short, None))
    return entries


def plan_debit(state: MemberPoints, points: int, *, now: datetime, code: Code = Code.SPEND,
               sink: Account = Account.REDEEMED, allow_debt: bool = False,
               preferred_lot_ids: Sequence[str] = ()) -> Plan:
    """Take `points` out of available: lots nearest to expiry first.

    The policy floor (`min_available`) bounds the balance; `allow_debt` lets an operation that
    must happen (taking back points for returned goods) drive the balance below it.
    """
    entries = _debit(state, points, now, allow_debt, preferred_lot_ids)
    if sink is Account.REDEEMED:  # redemptions say whose lots they spent (see the top)
        return Plan(code, (*entries, *(Entry(sink, -e.amount, e.lot_id) for e in entries)))
    return Plan(code, (*entries, Entry(sink, points)))


def plan_donation(state: MemberPoints, points: int, *, now: datetime,
                  pending_lots: Sequence[Lot] = (), preferred_lot_ids: Sequence[str] = ()) -> Plan:
    """Give `points` to a charity fund (`system.donations`, SPEC P9).

    First from `pending_lots` (a purchase's own accruals still waiting for their activation:
    a lot given away entirely is cancelled), the rest from available points as a spend takes
    them: `preferred_lot_ids` first, then nearest expiry, never below the policy floor.
    """
    check_amount(points)
    entries: list[Entry] = []
    states: list[tuple[str, LotState]] = []
    left = points
    for lot in pending_lots:
        part = min(lot.pending, left) if lot.state is LotState.PENDING else 0
        if part <= 0:
            continue
        entries.append(Entry(Account.PENDING, -part, lot.lot_id))
        if part == lot.pending:
            states.append((lot.lot_id, LotState.CANCELLED))
        left -= part
    if left:
        entries += _debit(state, left, now, False, preferred_lot_ids)
    return Plan(Code.DONATE, (*entries, Entry(Account.DONATIONS, points)),
                lot_states=tuple(states))


def plan_hold(state: MemberPoints, points: int, *, now: datetime) -> Plan:
    """Reserve points: they leave available for member.held, lot by lot (never into debt,
    whatever the floor: held points must come from lots)."""
    if state.min_available < 0:
        state = replace(state, min_available=0)
    entries = _debit(state, points, now, allow_debt=False)
    held = [Entry(Account.HELD, -e.amount, e.lot_id) for e in entries]
    return Plan(Code.HOLD, (*entries, *held))


@dataclass(frozen=True, slots=True)
class HeldPart:
    lot: Lot
    points: int


def plan_capture(parts: Sequence[HeldPart], points: int, *, now: datetime) -> Plan:
    """Spend `points` of a hold (nearest-expiry lots first) and release the rest."""
    held = sum(p.points for p in parts)
    if points < 0 or points > held:
        raise InvalidInput(f"cannot capture {points} of a hold of {held}", code="invalid_capture")
    entries: list[Entry] = []
    left = points
    for part in sorted(parts, key=lambda p: p.lot.expiry_order()):
        captured = min(part.points, left)
        left -= captured
        if captured:
            entries += [Entry(Account.HELD, -captured, part.lot.lot_id),
                        Entry(Account.REDEEMED, captured, part.lot.lot_id)]
        if part.points - captured:
            entries += _return_held(part.lot, part.points - captured, now)
    return Plan(Code.CAPTURE, tuple(entries))


def plan_release(parts: Sequence[HeldPart], *, now: datetime) -> Plan:
    """Give held points back to their lots; points of lots expired meanwhile burn."""
    entries: list[Entry] = []
    for part in parts:
        entries += _return_held(part.lot, part.points, now)
    return Plan(Code.RELEASE, tuple(entries))


def _return_held(lot: Lot, points: int, now: datetime) -> list[Entry]:
    if lot.is_expired(now):
        return [Entry(Account.HELD, -points, lot.lot_id), Entry(Account.EXPIRED, points)]
    return [Entry(Account.HELD, -points, lot.lot_id), Entry(Account.AVAILABLE, points, lot.lot_id)]


# --- expiry, restoration, adjustments -------------------------------------------------------

def plan_expiry(lot: Lot, *, now: datetime) -> Plan:
    """Burn what is left of a lot at its expiry date."""
    if not lot.is_expired(now):
        raise DomainError(f"lot {lot.lot_id} has not expired", code="lot_not_expired", status=409)
    if lot.available <= 0:
        raise DomainError(f"lot {lot.lot_id} has nothing left", code="lot_empty", status=409)
    entries = (Entry(Account.AVAILABLE, -lot.available, lot.lot_id),
               Entry(Account.EXPIRED, lot.available))
    return Plan(Code.EXPIRE, entries)


@dataclass(frozen=True, slots=True)
class Consumption:
    """Points a debit took from a lot (lot None: the debt part)."""

    lot: Lot | None
    points: int


def plan_restoration(state: MemberPoints, consumed: Sequence[Consumption], *, now: datetime,
                     code: Code = Code.REFUND_SPEND, source: Account = Account.REDEEMED,
                     lot_id: str | None = None) -> Plan:
    """Give debited points back to the lots they came from, keeping their expiry.

    Points of lots that have expired since are burnt on the spot (they would have expired).
    The debt part of a debit pays back what debt is left; the rest of it (debt settled by a
    later accrual meanwhile) becomes a new lot `lot_id` without expiry.
    """
    entries: list[Entry] = []
    debt_left = state.balance.debt
    unlotted = 0
    for part in consumed:
        check_amount(part.points)
        lot_side = part.lot.lot_id if part.lot is not None and source is Account.REDEEMED \
            else None
        entries.append(Entry(source, -part.points, lot_side))
        if part.lot is None:
            settled = min(part.points, debt_left)
            debt_left -= settled
            if settled:
                entries.append(Entry(Account.AVAILABLE, settled, None))
            unlotted += part.points - settled
        elif part.lot.is_expired(now):
            entries.append(Entry(Account.EXPIRED, part.points))
        else:
            entries.append(Entry(Account.AVAILABLE, part.points, part.lot.lot_id))
    new_lots: tuple[Lot, ...] = ()
    if unlotted:
        if lot_id is None:
            raise DomainError("restoring points beyond the debt needs a new lot id",
                              code="lot_id_required")
        entries.append(Entry(Account.AVAILABLE, unlotted, lot_id))
        new_lots = (Lot(lot_id=lot_id, amount=unlotted, state=LotState.ACTIVE, created_at=now,
                        available=unlotted),)
    return Plan(code, tuple(_merge_system(entries)), new_lots)


def _merge_system(entries: list[Entry]) -> list[Entry]:
    """Collapse repeated lot-less entries on one account into one (tidier history)."""
    merged: dict[tuple[Account, str | None], int] = {}
    order: list[tuple[Account, str | None]] = []
    for e in entries:
        key = (e.account, e.lot_id)
        if key not in merged:
            order.append(key)
            merged[key] = 0
        merged[key] += e.amount
    return [Entry(acc, merged[(acc, lot)], lot) for acc, lot in order if merged[(acc, lot)]]


def plan_adjustment(state: MemberPoints, points: int, *, lot_id: str, now: datetime,
                    expires_at: datetime | None = None, allow_debt: bool = False) -> Plan:
    """A manual correction: positive credits a new lot, negative debits nearest-expiry lots."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidInput("adjustment points must be a non-zero integer", code="invalid_points")
    if points > 0:
        return plan_accrual(state, points, lot_id=lot_id, now=now, expires_at=expires_at,
                            code=Code.ADJUST, source=Account.ADJUSTMENTS)
    return plan_debit(state, -points, now=now, code=Code.ADJUST, sink=Account.ADJUSTMENTS,
                      allow_debt=allow_debt)


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    """A transaction as stored, with the lots its member entries touched."""

    transaction_id: str
    code: Code
    entries: tuple[Entry, ...]
    lots: dict[str, Lot] = field(default_factory=dict)
    reversed_by: str | None = None


REVERSIBLE = frozenset({Code.ADJUST, Code.BONUS, Code.EARN})


def plan_reversal(state: MemberPoints, original: PostedTransaction, *, now: datetime,
                  lot_id: str | None = None) -> Plan:
    """Undo a posted credit or debit with a new transaction (never by editing the old one).

    A credit is taken back from its own lot first, then nearest-expiry lots; it may leave the
    member in debt when the points were spent meanwhile. A debit goes back to its lots.
    """
    if original.code not in REVERSIBLE:
        raise DomainError(f"{original.code} operations are reversed by their own flow",
                          code="not_reversible", status=409)
    if original.reversed_by is not None:
        raise DomainError(f"operation {original.transaction_id} is already reversed",
                          code="already_reversed", status=409)
    if any(e.account is Account.PENDING for e in original.entries):
        pending_lot = next(e.lot_id for e in original.entries if e.account is Account.PENDING)
        lot = original.lots[pending_lot]
        if lot.state is LotState.CANCELLED:
            raise DomainError(f"the points of operation {original.transaction_id} were "
                              "cancelled already", code="already_cancelled", status=409)
        if lot.state is LotState.PENDING and lot.pending > 0:
            return replace(plan_pending_cancellation(lot), code=Code.REVERSAL)
        original = replace(original, entries=tuple(
            Entry(Account.AVAILABLE, e.amount, e.lot_id) if e.account is Account.PENDING else e
            for e in original.entries))
    counter = next(e.account for e in original.entries if not e.account.is_member)
    member_total = sum(e.amount for e in original.entries if e.account is Account.AVAILABLE)
    if member_total > 0:
        own = [e.lot_id for e in original.entries if e.lot_id and e.amount > 0]
        plan = plan_debit(state, member_total, now=now, code=Code.REVERSAL, sink=counter,
                          allow_debt=True, preferred_lot_ids=own)
        return plan
    consumed = [Consumption(original.lots.get(e.lot_id) if e.lot_id else None, -e.amount)
                for e in original.entries if e.account is Account.AVAILABLE]
    return plan_restoration(state, consumed, now=now, code=Code.REVERSAL, source=counter,
                            lot_id=lot_id)
