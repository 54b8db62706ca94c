"""The pure ledger planners: which entries each operation books, lot by lot. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kopilka.domain.errors import DomainError, InsufficientPoints, InvalidInput
from kopilka.domain.ledger import (
    MAX_POINTS_PER_OPERATION,
    REVERSIBLE,
    Account,
    Balance,
    Code,
    Consumption,
    Entry,
    HeldPart,
    Lot,
    LotState,
    MemberPoints,
    Plan,
    PostedTransaction,
    check_amount,
    plan_accrual,
    plan_activation,
    plan_adjustment,
    plan_capture,
    plan_debit,
    plan_expiry,
    plan_hold,
    plan_pending_cancellation,
    plan_release,
    plan_restoration,
    plan_reversal,
    spendable,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
IN_TWO_WEEKS = T0 + timedelta(days=14)

AVAILABLE, PENDING, HELD = Account.AVAILABLE, Account.PENDING, Account.HELD
ISSUED, REDEEMED, EXPIRED, ADJUSTMENTS = (Account.ISSUED, Account.REDEEMED, Account.EXPIRED,
                                          Account.ADJUSTMENTS)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def active(lot_id: str, available: int, *, expires: datetime | None = None,
           created: datetime = T0, amount: int | None = None) -> Lot:
    return Lot(lot_id=lot_id, amount=amount if amount is not None else available,
               state=LotState.ACTIVE, created_at=created, expires_at=expires,
               available=available)


def pending_lot(lot_id: str, pending: int, *, activates: datetime | None = IN_TWO_WEEKS,
                expires: datetime | None = None, event: str | None = None) -> Lot:
    return Lot(lot_id=lot_id, amount=pending, state=LotState.PENDING, created_at=T0,
               expires_at=expires, activates_at=activates, activation_event=event,
               pending=pending)


def member(*lots: Lot, debt: int = 0, held: int = 0, min_available: int = 0) -> MemberPoints:
    available = sum(lot.available for lot in lots) - debt
    pending = sum(lot.pending for lot in lots)
    return MemberPoints(Balance(available, pending, held, debt), lots, min_available)


def after(state: MemberPoints, plan: Plan) -> Balance:
    return state.balance.plus(plan.balance_delta())


# --- amounts --------------------------------------------------------------------------------

@pytest.mark.parametrize("points", [1, 500, MAX_POINTS_PER_OPERATION])
def test_check_amount_accepts_positive_integers_up_to_the_limit(points: int) -> None:
    check_amount(points)


@pytest.mark.parametrize("points", [0, -1, -MAX_POINTS_PER_OPERATION,
                                    MAX_POINTS_PER_OPERATION + 1, 10**30])
def test_check_amount_refuses_non_positive_and_oversized_amounts(points: int) -> None:
    with pytest.raises(InvalidInput) as err:
        check_amount(points)
    assert err.value.code == "invalid_points"


@pytest.mark.parametrize("points", [True, False, 1.0, "5", None])
def test_check_amount_refuses_booleans_and_non_integers(points: object) -> None:
    with pytest.raises(InvalidInput) as err:
        check_amount(points)  # type: ignore[arg-type]
    assert err.value.code == "validation_error"


# --- plans ----------------------------------------------------------------------------------

def test_a_plan_whose_entries_do_not_sum_to_zero_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        Plan(Code.SPEND, (Entry(AVAILABLE, -10, "L1"), Entry(REDEEMED, 9)))
    assert err.value.code == "unbalanced_transaction"


def test_a_plan_without_entries_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        Plan(Code.SPEND, ())
    assert err.value.code == "empty_transaction"


@pytest.mark.parametrize("account", [PENDING, HELD])
def test_pending_and_held_entries_without_a_lot_are_refused(account: Account) -> None:
    with pytest.raises(DomainError) as err:
        Plan(Code.HOLD, (Entry(AVAILABLE, -5, "L1"), Entry(account, 5)))
    assert err.value.code == "unbalanced_transaction"


def test_plan_deltas_split_available_pending_held_and_debt() -> None:
    plan = Plan(Code.CAPTURE, (Entry(HELD, -30, "A"), Entry(REDEEMED, 30),
                               Entry(HELD, -20, "B"), Entry(AVAILABLE, 20, "B"),
                               Entry(AVAILABLE, -5, None), Entry(PENDING, 5, "C")))
    assert plan.balance_delta() == Balance(available=15, pending=5, held=-50, debt=5)
    assert plan.lot_deltas() == {"B": (20, 0), "C": (0, 5)}
    assert plan.held_by_lot() == {"A": -30, "B": -20}
    assert plan.points == 20


def test_expiry_order_puts_nearest_expiry_first_and_never_expiring_lots_last() -> None:
    lots = [active("never-new", 1, created=day(-1)), active("late", 1, expires=day(30)),
            active("never-old", 1, created=day(-9)), active("soon", 1, expires=day(2)),
            active("soon-older", 1, expires=day(2), created=day(-3))]
    ordered = [lot.lot_id for lot in sorted(lots, key=Lot.expiry_order)]
    assert ordered == ["soon-older", "soon", "late", "never-old", "never-new"]


def test_a_lot_is_expired_from_its_expiry_instant_on() -> None:
    lot = active("A", 10, expires=day(5))
    assert not lot.is_expired(day(5) - timedelta(microseconds=1))
    assert lot.is_expired(day(5))
    assert not active("N", 10).is_expired(day(10_000))


# --- accruals -------------------------------------------------------------------------------

def test_accrual_without_activation_creates_an_available_lot() -> None:
    plan = plan_accrual(member(), 100, lot_id="L1", now=T0, expires_at=day(30))
    assert plan.code is Code.EARN
    assert plan.entries == (Entry(ISSUED, -100), Entry(AVAILABLE, 100, "L1"))
    (lot,) = plan.new_lots
    assert (lot.lot_id, lot.amount, lot.state, lot.available, lot.pending) == (
        "L1", 100, LotState.ACTIVE, 100, 0)
    assert (lot.created_at, lot.expires_at, lot.activates_at) == (T0, day(30), None)
    assert plan.balance_delta() == Balance(available=100)
    assert plan.lot_states == ()


def test_accrual_with_a_future_activation_time_is_pending() -> None:
    plan = plan_accrual(member(), 100, lot_id="L1", now=T0, activates_at=day(14),
                        expires_at=day(60))
    assert plan.entries == (Entry(ISSUED, -100), Entry(PENDING, 100, "L1"))
    (lot,) = plan.new_lots
    assert (lot.state, lot.available, lot.pending, lot.activates_at) == (
        LotState.PENDING, 0, 100, day(14))
    assert plan.balance_delta() == Balance(pending=100)


@pytest.mark.parametrize("activates_at", [T0, day(-1)])
def test_accrual_whose_activation_time_has_come_is_available_at_once(
        activates_at: datetime) -> None:
    plan = plan_accrual(member(), 40, lot_id="L1", now=T0, activates_at=activates_at)
    assert plan.entries == (Entry(ISSUED, -40), Entry(AVAILABLE, 40, "L1"))
    assert plan.new_lots[0].state is LotState.ACTIVE


def test_accrual_waiting_for_an_event_is_pending_whatever_the_time() -> None:
    plan = plan_accrual(member(), 25, lot_id="L1", now=T0, activates_at=day(-1),
                        activation_event="phone_verified")
    assert plan.entries == (Entry(ISSUED, -25), Entry(PENDING, 25, "L1"))
    assert plan.new_lots[0].state is LotState.PENDING
    assert plan.new_lots[0].activation_event == "phone_verified"


def test_accrual_settles_debt_before_filling_its_lot() -> None:
    state = member(debt=30)
    plan = plan_accrual(state, 100, lot_id="L1", now=T0)
    assert plan.entries == (Entry(ISSUED, -100), Entry(AVAILABLE, 30, None),
                            Entry(AVAILABLE, 70, "L1"))
    assert plan.new_lots[0].available == 70
    assert plan.balance_delta() == Balance(available=100, debt=-30)
    assert after(state, plan) == Balance(available=70, debt=0)


@pytest.mark.parametrize("points", [20, 30])
def test_accrual_not_larger_than_the_debt_goes_entirely_to_the_debt(points: int) -> None:
    state = member(debt=30)
    plan = plan_accrual(state, points, lot_id="L1", now=T0)
    assert plan.entries == (Entry(ISSUED, -points), Entry(AVAILABLE, points, None))
    assert plan.new_lots[0].available == 0
    assert plan.new_lots[0].amount == points
    assert plan.lot_deltas() == {}
    assert after(state, plan) == Balance(available=points - 30, debt=30 - points)


def test_pending_accrual_leaves_the_debt_for_its_activation() -> None:
    plan = plan_accrual(member(debt=30), 100, lot_id="L1", now=T0, activates_at=day(1))
    assert plan.entries == (Entry(ISSUED, -100), Entry(PENDING, 100, "L1"))
    assert plan.balance_delta() == Balance(pending=100)


@pytest.mark.parametrize("expires_at", [day(3), day(2)])
def test_accrual_refuses_points_that_expire_before_they_activate(expires_at: datetime) -> None:
    with pytest.raises(InvalidInput) as err:
        plan_accrual(member(), 10, lot_id="L1", now=T0, activates_at=day(3),
                     expires_at=expires_at)
    assert err.value.code == "invalid_expiry"


@pytest.mark.parametrize("points", [0, -5, True, MAX_POINTS_PER_OPERATION + 1])
def test_accrual_refuses_invalid_amounts(points: int) -> None:
    with pytest.raises(InvalidInput):
        plan_accrual(member(), points, lot_id="L1", now=T0)


def test_accrual_books_against_the_given_code_and_source() -> None:
    plan = plan_accrual(member(), 15, lot_id="L1", now=T0, code=Code.BONUS,
                        source=ADJUSTMENTS)
    assert plan.code is Code.BONUS
    assert plan.entries == (Entry(ADJUSTMENTS, -15), Entry(AVAILABLE, 15, "L1"))


def test_activation_moves_pending_points_to_available_and_settles_debt_first() -> None:
    lot = pending_lot("L1", 100)
    plan = plan_activation(member(lot, debt=30), lot)
    assert plan.code is Code.ACTIVATE
    assert plan.entries == (Entry(PENDING, -100, "L1"), Entry(AVAILABLE, 30, None),
                            Entry(AVAILABLE, 70, "L1"))
    assert plan.lot_states == (("L1", LotState.ACTIVE),)
    assert plan.lot_deltas() == {"L1": (70, -100)}
    assert plan.balance_delta() == Balance(available=100, pending=-100, debt=-30)


def test_activation_without_debt_moves_everything_to_the_lot() -> None:
    lot = pending_lot("L1", 60)
    plan = plan_activation(member(lot), lot)
    assert plan.entries == (Entry(PENDING, -60, "L1"), Entry(AVAILABLE, 60, "L1"))


@pytest.mark.parametrize("lot", [active("L1", 50), pending_lot("L1", 0)])
def test_activation_of_a_lot_that_is_not_pending_is_refused(lot: Lot) -> None:
    with pytest.raises(DomainError) as err:
        plan_activation(member(), lot)
    assert err.value.code == "lot_not_pending"


# --- pending cancellation -------------------------------------------------------------------

def test_partial_pending_cancellation_keeps_the_lot_pending() -> None:
    plan = plan_pending_cancellation(pending_lot("L1", 100), 40)
    assert plan.code is Code.CANCEL_PENDING
    assert plan.entries == (Entry(PENDING, -40, "L1"), Entry(ISSUED, 40))
    assert plan.lot_states == ()
    assert plan.balance_delta() == Balance(pending=-40)


@pytest.mark.parametrize("points", [None, 100])
def test_full_pending_cancellation_cancels_the_lot(points: int | None) -> None:
    plan = plan_pending_cancellation(pending_lot("L1", 100), points, code=Code.REFUND_EARN)
    assert plan.code is Code.REFUND_EARN
    assert plan.entries == (Entry(PENDING, -100, "L1"), Entry(ISSUED, 100))
    assert plan.lot_states == (("L1", LotState.CANCELLED),)


def test_pending_cancellation_of_more_than_is_pending_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        plan_pending_cancellation(pending_lot("L1", 100), 101)
    assert err.value.code == "lot_not_pending"


def test_pending_cancellation_of_an_active_lot_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        plan_pending_cancellation(active("L1", 100), 10)
    assert err.value.code == "lot_not_pending"


@pytest.mark.parametrize("points", [0, -3])
def test_pending_cancellation_of_no_points_is_refused(points: int) -> None:
    with pytest.raises(InvalidInput):
        plan_pending_cancellation(pending_lot("L1", 100), points)


# --- debits ---------------------------------------------------------------------------------

def four_lots() -> tuple[Lot, ...]:
    return (active("A", 50, expires=day(10)), active("B", 30, expires=day(5)),
            active("C", 100), active("D", 40, expires=day(20)))


def spent(*parts: tuple[int, str | None]) -> tuple[Entry, ...]:
    """A redemption's entries: each lot's points leave member.available and land in
    system.redeemed on the same lot (lot None: the debt part)."""
    return (*(Entry(AVAILABLE, -points, lot) for points, lot in parts),
            *(Entry(REDEEMED, points, lot) for points, lot in parts))


def test_debit_consumes_lots_nearest_to_expiry_first() -> None:
    plan = plan_debit(member(*four_lots()), 100, now=T0)
    assert plan.code is Code.SPEND
    assert plan.entries == (Entry(AVAILABLE, -30, "B"), Entry(AVAILABLE, -50, "A"),
                            Entry(AVAILABLE, -20, "D"), Entry(REDEEMED, 30, "B"),
                            Entry(REDEEMED, 50, "A"), Entry(REDEEMED, 20, "D"))
    assert plan.balance_delta() == Balance(available=-100)


def test_debit_takes_never_expiring_lots_last() -> None:
    plan = plan_debit(member(*four_lots()), 150, now=T0)
    assert plan.entries == spent((30, "B"), (50, "A"), (40, "D"), (30, "C"))


def test_debit_of_lots_with_the_same_expiry_takes_the_oldest_first() -> None:
    state = member(active("young", 10, expires=day(5), created=T0),
                   active("old", 10, expires=day(5), created=day(-3)))
    plan = plan_debit(state, 15, now=T0)
    assert plan.entries == spent((10, "old"), (5, "young"))


def test_debit_skips_expired_lots_not_yet_burnt() -> None:
    state = member(active("gone", 100, expires=day(2)), active("A", 50, expires=day(10)),
                   active("C", 20))
    now = day(2)  # "gone" expires exactly now
    assert spendable(state, now) == 70
    plan = plan_debit(state, 60, now=now)
    assert plan.entries == spent((50, "A"), (10, "C"))
    with pytest.raises(InsufficientPoints) as err:
        plan_debit(state, 71, now=now)
    assert err.value.extra == {"available": 70}


def test_debit_ignores_pending_and_empty_lots() -> None:
    state = member(pending_lot("P", 100), active("E", 0, amount=10), active("A", 5))
    assert spendable(state, T0) == 5
    plan = plan_debit(state, 5, now=T0)
    assert plan.entries == spent((5, "A"))


def test_debit_of_more_than_available_raises_insufficient_points() -> None:
    with pytest.raises(InsufficientPoints) as err:
        plan_debit(member(active("A", 60), active("B", 40)), 101, now=T0)
    assert err.value.code == "insufficient_points"
    assert err.value.status == 422
    assert err.value.extra == {"available": 100}


def test_debit_of_exactly_everything_empties_every_lot() -> None:
    plan = plan_debit(member(active("A", 60, expires=day(1)), active("B", 40)), 100, now=T0)
    assert plan.entries == spent((60, "A"), (40, "B"))


def test_debit_may_go_down_to_a_negative_floor_as_lot_less_debt() -> None:
    state = member(active("A", 100), min_available=-50)
    assert spendable(state, T0) == 150
    plan = plan_debit(state, 150, now=T0)
    assert plan.entries == spent((100, "A"), (50, None))
    assert after(state, plan) == Balance(available=-50, debt=50)
    with pytest.raises(InsufficientPoints) as err:
        plan_debit(state, 151, now=T0)
    assert err.value.extra == {"available": 150}


def test_debit_counts_existing_debt_against_the_lots() -> None:
    state = member(active("A", 100), debt=20)
    with pytest.raises(InsufficientPoints) as err:
        plan_debit(state, 81, now=T0)
    assert err.value.extra == {"available": 80}
    plan = plan_debit(state, 80, now=T0)
    assert plan.entries == spent((80, "A"))
    assert after(state, plan) == Balance(available=0, debt=20)


def test_insufficient_points_never_reports_a_negative_amount_available() -> None:
    with pytest.raises(InsufficientPoints) as err:
        plan_debit(member(active("A", 10), debt=50), 1, now=T0)
    assert err.value.extra == {"available": 0}


def test_debit_with_debt_allowed_books_the_shortfall_as_debt() -> None:
    state = member(active("A", 40, expires=day(3)))
    plan = plan_debit(state, 100, now=T0, allow_debt=True, code=Code.REFUND_EARN,
                      sink=ISSUED)
    assert plan.code is Code.REFUND_EARN
    assert plan.entries == (Entry(AVAILABLE, -40, "A"), Entry(AVAILABLE, -60, None),
                            Entry(ISSUED, 100))
    assert after(state, plan) == Balance(available=-60, debt=60)


def test_debit_with_debt_allowed_and_no_lots_is_all_debt() -> None:
    plan = plan_debit(member(), 25, now=T0, allow_debt=True)
    assert plan.entries == spent((25, None))


def test_debit_takes_preferred_lots_before_nearer_expiries() -> None:
    plan = plan_debit(member(*four_lots()), 120, now=T0, preferred_lot_ids=["C"])
    assert plan.entries == spent((100, "C"), (20, "B"))


@pytest.mark.parametrize("points", [0, -1, True, MAX_POINTS_PER_OPERATION + 1])
def test_debit_refuses_invalid_amounts(points: int) -> None:
    with pytest.raises(InvalidInput):
        plan_debit(member(active("A", 10)), points, now=T0, allow_debt=True)


# --- holds ----------------------------------------------------------------------------------

def test_hold_moves_points_from_available_to_held_lot_by_lot() -> None:
    state = member(active("A", 50, expires=day(10)), active("B", 30, expires=day(5)))
    plan = plan_hold(state, 60, now=T0)
    assert plan.code is Code.HOLD
    assert plan.entries == (Entry(AVAILABLE, -30, "B"), Entry(AVAILABLE, -30, "A"),
                            Entry(HELD, 30, "B"), Entry(HELD, 30, "A"))
    assert plan.held_by_lot() == {"B": 30, "A": 30}
    assert plan.lot_deltas() == {"B": (-30, 0), "A": (-30, 0)}
    assert plan.balance_delta() == Balance(available=-60, held=60)
    assert plan.points == -60


def test_hold_cannot_overdraw_available_points() -> None:
    with pytest.raises(InsufficientPoints) as err:
        plan_hold(member(active("A", 50), active("gone", 500, expires=T0)), 51, now=T0)
    assert err.value.extra == {"available": 50}


def test_hold_cannot_overdraw_when_the_member_has_debt() -> None:
    with pytest.raises(InsufficientPoints):
        plan_hold(member(active("A", 50), debt=10), 41, now=T0)
    plan = plan_hold(member(active("A", 50), debt=10), 40, now=T0)
    assert plan.entries == (Entry(AVAILABLE, -40, "A"), Entry(HELD, 40, "A"))


def test_hold_beyond_the_lots_is_refused_as_insufficient_under_a_negative_floor() -> None:
    """Holds never go into debt, so a credit floor must not let them exceed the lots.

    Held points must come from lots, so the floor below zero does not apply to holds.
    """
    state = member(active("A", 50), min_available=-100)
    with pytest.raises(InsufficientPoints) as err:
        plan_hold(state, 80, now=T0)
    assert err.value.extra == {"available": 50}


# --- capture and release --------------------------------------------------------------------

def held_parts() -> list[HeldPart]:
    return [HeldPart(active("A", 0, expires=day(10), amount=50), 30),
            HeldPart(active("B", 0, expires=day(5), amount=30), 30)]


def test_partial_capture_spends_nearest_expiry_first_and_releases_the_rest() -> None:
    plan = plan_capture(held_parts(), 40, now=T0)
    assert plan.code is Code.CAPTURE
    assert plan.entries == (Entry(HELD, -30, "B"), Entry(REDEEMED, 30, "B"),
                            Entry(HELD, -10, "A"), Entry(REDEEMED, 10, "A"),
                            Entry(HELD, -20, "A"), Entry(AVAILABLE, 20, "A"))
    assert plan.balance_delta() == Balance(available=20, held=-60)
    assert plan.lot_deltas() == {"A": (20, 0)}


def test_full_capture_only_moves_held_points_to_redeemed() -> None:
    plan = plan_capture(held_parts(), 60, now=T0)
    assert plan.entries == (Entry(HELD, -30, "B"), Entry(REDEEMED, 30, "B"),
                            Entry(HELD, -30, "A"), Entry(REDEEMED, 30, "A"))
    assert plan.balance_delta() == Balance(held=-60)


def test_capture_of_nothing_releases_the_whole_hold() -> None:
    plan = plan_capture(held_parts(), 0, now=T0)
    assert plan.entries == (Entry(HELD, -30, "B"), Entry(AVAILABLE, 30, "B"),
                            Entry(HELD, -30, "A"), Entry(AVAILABLE, 30, "A"))


def test_capture_burns_the_uncaptured_points_of_a_lot_that_expired_meanwhile() -> None:
    plan = plan_capture(held_parts(), 10, now=day(5))
    assert plan.entries == (Entry(HELD, -10, "B"), Entry(REDEEMED, 10, "B"),
                            Entry(HELD, -20, "B"), Entry(EXPIRED, 20),
                            Entry(HELD, -30, "A"), Entry(AVAILABLE, 30, "A"))


@pytest.mark.parametrize("points", [-1, 61])
def test_capture_outside_the_hold_is_refused(points: int) -> None:
    with pytest.raises(InvalidInput) as err:
        plan_capture(held_parts(), points, now=T0)
    assert err.value.code == "invalid_capture"


def test_release_returns_held_points_to_their_lots() -> None:
    plan = plan_release(held_parts(), now=T0)
    assert plan.code is Code.RELEASE
    assert plan.entries == (Entry(HELD, -30, "A"), Entry(AVAILABLE, 30, "A"),
                            Entry(HELD, -30, "B"), Entry(AVAILABLE, 30, "B"))
    assert plan.balance_delta() == Balance(available=60, held=-60)


def test_release_of_a_lot_that_expired_meanwhile_burns_to_system_expired() -> None:
    plan = plan_release(held_parts(), now=day(6))
    assert plan.entries == (Entry(HELD, -30, "A"), Entry(AVAILABLE, 30, "A"),
                            Entry(HELD, -30, "B"), Entry(EXPIRED, 30))
    assert plan.balance_delta() == Balance(available=30, held=-60)
    assert plan.lot_deltas() == {"A": (30, 0)}


# --- expiry ---------------------------------------------------------------------------------

def test_expiry_burns_what_is_left_of_the_lot() -> None:
    plan = plan_expiry(active("A", 40, expires=day(5), amount=100), now=day(5))
    assert plan.code is Code.EXPIRE
    assert plan.entries == (Entry(AVAILABLE, -40, "A"), Entry(EXPIRED, 40))
    assert plan.lot_deltas() == {"A": (-40, 0)}


@pytest.mark.parametrize("lot", [active("A", 40, expires=day(5)), active("N", 40)])
def test_expiry_of_a_lot_that_has_not_expired_is_refused(lot: Lot) -> None:
    with pytest.raises(DomainError) as err:
        plan_expiry(lot, now=day(5) - timedelta(seconds=1))
    assert err.value.code == "lot_not_expired"


def test_expiry_of_an_empty_lot_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        plan_expiry(active("A", 0, expires=day(1), amount=10), now=day(2))
    assert err.value.code == "lot_empty"


# --- restoration ----------------------------------------------------------------------------

def test_restoration_gives_points_back_to_their_original_lots() -> None:
    a, b = active("A", 0, expires=day(10), amount=30), active("B", 5, amount=25)
    state = member(a, b)
    plan = plan_restoration(state, [Consumption(a, 30), Consumption(b, 20)], now=T0)
    assert plan.code is Code.REFUND_SPEND
    assert plan.entries == (Entry(REDEEMED, -30, "A"), Entry(AVAILABLE, 30, "A"),
                            Entry(REDEEMED, -20, "B"), Entry(AVAILABLE, 20, "B"))
    assert plan.lot_deltas() == {"A": (30, 0), "B": (20, 0)}
    assert plan.new_lots == ()


def test_restoration_burns_the_parts_of_lots_expired_meanwhile() -> None:
    a, b = active("A", 0, expires=day(10), amount=30), active("B", 0, expires=day(3), amount=20)
    plan = plan_restoration(member(a, b), [Consumption(a, 30), Consumption(b, 20)], now=day(3))
    assert plan.entries == (Entry(REDEEMED, -30, "A"), Entry(AVAILABLE, 30, "A"),
                            Entry(REDEEMED, -20, "B"), Entry(EXPIRED, 20))
    assert plan.balance_delta() == Balance(available=30)


def test_restoration_of_only_expired_lots_changes_no_member_balance() -> None:
    a = active("A", 0, expires=day(1), amount=30)
    plan = plan_restoration(member(a), [Consumption(a, 10), Consumption(a, 20)], now=day(2),
                            code=Code.REVERSAL, source=ADJUSTMENTS)
    assert plan.code is Code.REVERSAL
    assert plan.entries == (Entry(ADJUSTMENTS, -30), Entry(EXPIRED, 30))
    assert plan.balance_delta() == Balance()


def test_restoration_merges_repeated_parts_of_one_lot() -> None:
    a = active("A", 0, amount=30)
    plan = plan_restoration(member(a), [Consumption(a, 10), Consumption(a, 20)], now=T0)
    assert plan.entries == (Entry(REDEEMED, -30, "A"), Entry(AVAILABLE, 30, "A"))


def test_restoration_of_a_debt_part_pays_the_debt_back() -> None:
    state = member(active("A", 0, amount=30), debt=25)
    plan = plan_restoration(state, [Consumption(None, 25)], now=T0)
    assert plan.entries == (Entry(REDEEMED, -25), Entry(AVAILABLE, 25, None))
    assert after(state, plan) == Balance(available=0, debt=0)


def test_restoration_of_a_debt_part_never_makes_the_debt_negative() -> None:
    """A debit that went into debt, whose debt a later accrual settled, is given back: what
    no debt is left for becomes a new lot without expiry."""
    state = member(debt=10)  # 15 of the debt of 25 was settled meanwhile
    plan = plan_restoration(state, [Consumption(None, 25)], now=T0, lot_id="NEW")
    assert plan.entries == (Entry(REDEEMED, -25), Entry(AVAILABLE, 10, None),
                            Entry(AVAILABLE, 15, "NEW"))
    assert [(lot.lot_id, lot.available, lot.expires_at) for lot in plan.new_lots] == [
        ("NEW", 15, None)]
    result = after(state, plan)
    assert (result.available, result.debt) == (15, 0)
    with pytest.raises(DomainError):
        plan_restoration(state, [Consumption(None, 25)], now=T0)  # needs the new lot's id


@pytest.mark.parametrize("points", [0, -5])
def test_restoration_refuses_empty_parts(points: int) -> None:
    with pytest.raises(InvalidInput):
        plan_restoration(member(), [Consumption(active("A", 0, amount=5), points)], now=T0)


# --- adjustments ----------------------------------------------------------------------------

def test_positive_adjustment_credits_a_new_lot_against_system_adjustments() -> None:
    plan = plan_adjustment(member(), 50, lot_id="L9", now=T0, expires_at=day(90))
    assert plan.code is Code.ADJUST
    assert plan.entries == (Entry(ADJUSTMENTS, -50), Entry(AVAILABLE, 50, "L9"))
    (lot,) = plan.new_lots
    assert (lot.lot_id, lot.available, lot.expires_at, lot.state) == (
        "L9", 50, day(90), LotState.ACTIVE)


def test_positive_adjustment_settles_debt_first() -> None:
    plan = plan_adjustment(member(debt=10), 50, lot_id="L9", now=T0)
    assert plan.entries == (Entry(ADJUSTMENTS, -50), Entry(AVAILABLE, 10, None),
                            Entry(AVAILABLE, 40, "L9"))


def test_negative_adjustment_debits_nearest_expiry_lots() -> None:
    state = member(active("A", 30, expires=day(10)), active("B", 40, expires=day(4)))
    plan = plan_adjustment(state, -50, lot_id="unused", now=T0)
    assert plan.code is Code.ADJUST
    assert plan.entries == (Entry(AVAILABLE, -40, "B"), Entry(AVAILABLE, -10, "A"),
                            Entry(ADJUSTMENTS, 50))
    assert plan.new_lots == ()


def test_negative_adjustment_beyond_the_balance_needs_debt_allowed() -> None:
    state = member(active("A", 30))
    with pytest.raises(InsufficientPoints):
        plan_adjustment(state, -50, lot_id="x", now=T0)
    plan = plan_adjustment(state, -50, lot_id="x", now=T0, allow_debt=True)
    assert plan.entries == (Entry(AVAILABLE, -30, "A"), Entry(AVAILABLE, -20, None),
                            Entry(ADJUSTMENTS, 50))
    assert after(state, plan) == Balance(available=-20, debt=20)


@pytest.mark.parametrize("points", [0, True, False, 1.5, "10"])
def test_adjustment_refuses_zero_and_non_integers(points: object) -> None:
    with pytest.raises(InvalidInput) as err:
        plan_adjustment(member(active("A", 30)), points, lot_id="x", now=T0)  # type: ignore[arg-type]
    assert err.value.code == "invalid_points"


@pytest.mark.parametrize("points", [MAX_POINTS_PER_OPERATION + 1,
                                    -(MAX_POINTS_PER_OPERATION + 1)])
def test_adjustment_refuses_amounts_beyond_the_limit(points: int) -> None:
    with pytest.raises(InvalidInput) as err:
        plan_adjustment(member(), points, lot_id="x", now=T0, allow_debt=True)
    assert err.value.code == "invalid_points"


# --- reversal -------------------------------------------------------------------------------

def credit(code: Code, *lots: Lot, amount: int = 50, lot_id: str = "OWN",
           source: Account = ADJUSTMENTS, reversed_by: str | None = None) -> PostedTransaction:
    return PostedTransaction("T1", code, (Entry(source, -amount), Entry(AVAILABLE, amount, lot_id)),
                             {lot.lot_id: lot for lot in lots}, reversed_by)


def test_reversal_of_a_credit_takes_its_own_lot_first_then_nearest_expiry() -> None:
    own = active("OWN", 30, amount=50)  # never expires; 20 of it were spent
    state = member(own, active("X", 100, expires=day(3)), active("Y", 100, expires=day(9)))
    plan = plan_reversal(state, credit(Code.ADJUST, own), now=T0)
    assert plan.code is Code.REVERSAL
    assert plan.entries == (Entry(AVAILABLE, -30, "OWN"), Entry(AVAILABLE, -20, "X"),
                            Entry(ADJUSTMENTS, 50))


def test_reversal_of_a_spent_credit_may_leave_the_member_in_debt() -> None:
    own = active("OWN", 10, amount=50)
    state = member(own)
    plan = plan_reversal(state, credit(Code.ADJUST, own), now=T0)
    assert plan.entries == (Entry(AVAILABLE, -10, "OWN"), Entry(AVAILABLE, -40, None),
                            Entry(ADJUSTMENTS, 50))
    assert after(state, plan) == Balance(available=-40, debt=40)


def test_reversal_of_an_earn_returns_the_points_to_system_issued() -> None:
    own = active("OWN", 50)
    plan = plan_reversal(member(own), credit(Code.EARN, own, source=ISSUED), now=T0)
    assert plan.entries == (Entry(AVAILABLE, -50, "OWN"), Entry(ISSUED, 50))


def test_reversal_of_an_earn_that_settled_debt_restores_the_debt() -> None:
    own = active("OWN", 70, amount=100)
    original = PostedTransaction("T1", Code.EARN, (Entry(ISSUED, -100), Entry(AVAILABLE, 30),
                                                   Entry(AVAILABLE, 70, "OWN")), {"OWN": own})
    state = member(own)
    plan = plan_reversal(state, original, now=T0)
    assert plan.entries == (Entry(AVAILABLE, -70, "OWN"), Entry(AVAILABLE, -30, None),
                            Entry(ISSUED, 100))
    assert after(state, plan) == Balance(available=-30, debt=30)


def test_reversal_of_a_still_pending_earn_cancels_the_pending_lot() -> None:
    lot = pending_lot("L1", 80)
    original = PostedTransaction("T1", Code.EARN, (Entry(ISSUED, -80), Entry(PENDING, 80, "L1")),
                                 {"L1": lot})
    plan = plan_reversal(member(lot), original, now=T0)
    assert plan.code is Code.REVERSAL
    assert plan.entries == (Entry(PENDING, -80, "L1"), Entry(ISSUED, 80))
    assert plan.lot_states == (("L1", LotState.CANCELLED),)
    assert plan.balance_delta() == Balance(pending=-80)


def test_reversal_of_an_activated_earn_takes_the_points_from_available() -> None:
    lot = Lot("L1", 80, LotState.ACTIVE, T0, activates_at=day(1), available=80)
    original = PostedTransaction("T1", Code.EARN, (Entry(ISSUED, -80), Entry(PENDING, 80, "L1")),
                                 {"L1": lot})
    plan = plan_reversal(member(lot), original, now=day(2))
    assert plan.entries == (Entry(AVAILABLE, -80, "L1"), Entry(ISSUED, 80))
    assert plan.lot_states == ()


def test_reversal_of_an_earn_whose_pending_points_were_cancelled_takes_nothing_twice() -> None:
    """An earn that was pending and then cancelled (goods returned) has nothing left to undo.

    Taking the original amount from available would take the member's points a second time
    (here the member, who has 40 unrelated points, would end with available -60).
    """
    cancelled = Lot("L1", 100, LotState.CANCELLED, T0, activates_at=day(14), pending=0)
    original = PostedTransaction("T1", Code.EARN, (Entry(ISSUED, -100), Entry(PENDING, 100, "L1")),
                                 {"L1": cancelled})
    with pytest.raises(DomainError):
        plan_reversal(member(cancelled, active("OTHER", 40)), original, now=T0)


def test_reversal_of_a_debit_gives_the_points_back_to_their_lots() -> None:
    a, b = active("A", 0, expires=day(10), amount=30), active("B", 10, expires=day(4), amount=30)
    original = PostedTransaction("T1", Code.ADJUST, (
        Entry(AVAILABLE, -20, "B"), Entry(AVAILABLE, -30, "A"), Entry(ADJUSTMENTS, 50)),
        {"A": a, "B": b})
    plan = plan_reversal(member(a, b), original, now=T0)
    assert plan.code is Code.REVERSAL
    assert plan.entries == (Entry(ADJUSTMENTS, -50), Entry(AVAILABLE, 20, "B"),
                            Entry(AVAILABLE, 30, "A"))
    assert plan.new_lots == ()
    # later, after B expired: its part burns
    late = plan_reversal(member(a, b), original, now=day(4))
    assert late.entries == (Entry(ADJUSTMENTS, -50), Entry(EXPIRED, 20), Entry(AVAILABLE, 30, "A"))


def test_reversal_of_a_debit_into_debt_pays_the_debt_back() -> None:
    a = active("A", 0, amount=30)
    original = PostedTransaction("T1", Code.ADJUST, (
        Entry(AVAILABLE, -30, "A"), Entry(AVAILABLE, -20, None), Entry(ADJUSTMENTS, 50)),
        {"A": a})
    state = member(a, debt=20)
    plan = plan_reversal(state, original, now=T0)
    assert plan.entries == (Entry(ADJUSTMENTS, -50), Entry(AVAILABLE, 30, "A"),
                            Entry(AVAILABLE, 20, None))
    assert after(state, plan) == Balance(available=30, debt=0)


@pytest.mark.parametrize("code", sorted(set(Code) - REVERSIBLE))
def test_reversal_is_refused_for_operations_with_their_own_flow(code: Code) -> None:
    own = active("OWN", 50)
    with pytest.raises(DomainError) as err:
        plan_reversal(member(own), credit(code, own), now=T0)
    assert err.value.code == "not_reversible"
    assert err.value.status == 409


def test_reversible_codes_are_adjust_bonus_and_earn() -> None:
    assert REVERSIBLE == {Code.ADJUST, Code.BONUS, Code.EARN}


@pytest.mark.parametrize("code", sorted(REVERSIBLE))
def test_reversal_of_an_already_reversed_operation_is_refused(code: Code) -> None:
    own = active("OWN", 50)
    with pytest.raises(DomainError) as err:
        plan_reversal(member(own), credit(code, own, reversed_by="T2"), now=T0)
    assert err.value.code == "already_reversed"
    assert err.value.status == 409
