"""Properties of the pure receipt evaluation and of largest-remainder allocation.

Programs are generated directly as domain dataclasses (random ladders, multipliers, shares,
exclusions, currencies with scales, tiers), receipts with 1-30 lines (weighed quantities,
free lines, non-discountable lines), members with any balance. Whatever the inputs:

- line totals add up to the payable total, and subtotal - discount - points value = payable;
- nothing is negative;
- points redeemed never exceed the member's spendable points nor the offered maximum;
- line points add up to the main currency's accrual;
- evaluation is deterministic, and receipt-level sums do not depend on the order of lines;
- earned points are the exact (rational) amount, rounded once per the currency.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kopilka.domain.allocation import allocate, distribute
from kopilka.domain.evaluation import MAX, Evaluation, Line, MemberState, Receipt, evaluate
from kopilka.domain.points import PointCurrency, Rounding
from kopilka.domain.program import (
    BurnRule,
    Channel,
    Condition,
    DiscountRule,
    EarnRule,
    Expiry,
    ExpiryKind,
    Goods,
    Hours,
    Ladder,
    Measure,
    Multiplier,
    Program,
    Step,
    Tier,
    TierProgram,
    Window,
)

CATEGORIES = ["food", "food/fruit", "tobacco", "tobacco/cigars", "gift-cards", "coffee"]
SKUS = [f"S{i}" for i in range(6)]
PROFILE = settings(max_examples=300, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LIGHT = settings(PROFILE, max_examples=150)

# --- strategies -----------------------------------------------------------------------------

percents = st.builds(lambda n, places: Decimal(n).scaleb(-places),
                     st.integers(0, 10_000), st.sampled_from([0, 1, 2])).filter(
    lambda p: p <= 100)
factors = st.builds(lambda n: Decimal(n).scaleb(-1), st.integers(1, 50))


@st.composite
def ladders(draw: st.DrawFn) -> Ladder:
    starts = sorted(draw(st.sets(st.integers(0, 2_000_000), min_size=1, max_size=4)))
    if draw(st.booleans()):
        starts[0] = 0
    return Ladder(tuple(Step(s, draw(percents)) for s in starts))


goods = st.builds(lambda c, s: Goods(tuple(c), tuple(s)),
                  st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
                  st.lists(st.sampled_from(SKUS), max_size=2, unique=True))


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    start = draw(st.integers(0, 23))
    return Condition(
        goods=draw(goods),
        channels=tuple(draw(st.lists(st.sampled_from(list(Channel)), max_size=2, unique=True))),
        payment_methods=tuple(draw(st.lists(st.sampled_from(["card", "cash", "sbp"]),
                                            max_size=2, unique=True))),
        weekdays=tuple(draw(st.lists(st.integers(1, 7), max_size=3, unique=True))),
        hours=draw(st.none() | st.builds(lambda end: Hours(start, end),
                                         st.integers(start + 1, 24))))


currencies = st.builds(
    lambda code, scale, value, rounding, floor: PointCurrency(
        code=code, name=code, scale=scale, unit_value_kopecks=value, earn_rounding=rounding,
        min_available=floor),
    st.just("points"), st.integers(0, 2), st.integers(1, 1000), st.sampled_from(list(Rounding)),
    st.integers(-100, 0))


@st.composite
def programs(draw: st.DrawFn) -> Program:
    main = draw(currencies)
    curs = [main]
    if draw(st.booleans()):
        curs.append(replace(draw(currencies), code="stars"))
    codes = [c.code for c in curs]
    earn = tuple(
        EarnRule(rule_id=f"earn{i}", ladder=draw(ladders()),
                 multipliers=tuple(Multiplier(f"m{i}-{j}", draw(factors), draw(conditions()))
                                   for j in range(draw(st.integers(0, 3)))),
                 excluded=draw(goods), currency=draw(st.sampled_from(codes)),
                 pending_days=draw(st.integers(0, 30)),
                 expiry=draw(st.sampled_from([Expiry(), Expiry(ExpiryKind.AFTER_DAYS, 180),
                                              Expiry(ExpiryKind.END_OF_MONTH, 2),
                                              Expiry(ExpiryKind.END_OF_YEAR, 1)])))
        for i in range(draw(st.integers(0, 2))))
    burn = draw(st.none() | st.builds(
        BurnRule, rule_id=st.just("burn"), currency=st.sampled_from(codes),
        point_value_kopecks=st.integers(1, 500), max_share_percent=percents,
        min_balance=st.integers(0, 1_000), min_cash_kopecks=st.integers(0, 10_000),
        excluded=goods, exclude_discounted=st.booleans(), combine_with_discounts=st.booleans()))
    discount = draw(st.none() | st.builds(DiscountRule, rule_id=st.just("discount"),
                                          ladder=ladders(), excluded=goods))
    tiers = None
    if draw(st.booleans()):
        thresholds = [0, *sorted(draw(st.sets(st.integers(1, 5_000_000), max_size=3)))]
        levels = tuple(Tier(code=f"t{i}", name=f"T{i}", threshold=t,
                            discount_percent=draw(st.none() | percents),
                            earn_multiplier=draw(factors)) for i, t in enumerate(thresholds))
        tiers = TierProgram(rule_id="tiers", measure=draw(st.sampled_from(list(Measure))),
                            window=Window(), levels=levels)
    return Program(name="generated", effective_from=datetime(2026, 1, 1, tzinfo=UTC),
                   currencies=tuple(curs), earn=earn, burn=burn, discount=discount,
                   tiers=tiers, version=1)


quantities = st.one_of(st.integers(1, 10).map(Decimal),
                       st.integers(1, 5_000).map(lambda n: Decimal(n).scaleb(-3)))


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    n = draw(st.integers(1, 30))
    lines = tuple(Line(line_id=f"L{i}", sku=draw(st.sampled_from(SKUS)),
                       unit_price=draw(st.integers(0, 1_000_000)), quantity=draw(quantities),
                       category=draw(st.none() | st.sampled_from(CATEGORIES)),
                       discountable=draw(st.booleans())) for i in range(n))
    offset = timezone(timedelta(hours=draw(st.integers(-12, 14))))
    at = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
    return Receipt(lines=lines, occurred_at=at.replace(tzinfo=offset),
                   channel=draw(st.sampled_from([c.value for c in Channel])),
                   payment_methods=tuple(draw(st.lists(st.sampled_from(["card", "cash", "sbp"]),
                                                       max_size=2, unique=True))),
                   redeem_points=draw(st.one_of(st.just(0), st.just(MAX),
                                                st.integers(0, 200_000))))


@st.composite
def members(draw: st.DrawFn, program: Program) -> MemberState | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    codes = [t.code for t in program.tiers.levels] if program.tiers else []
    spendable = draw(st.integers(0, 200_000))
    return MemberState(tier_code=draw(st.none() | st.sampled_from(codes or ["none"])),
                       spendable=spendable,
                       available=spendable + draw(st.integers(0, 1_000)),
                       qualifying_value=draw(st.integers(0, 6_000_000)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Program, Receipt, MemberState | None]:
    program = draw(programs())
    return program, draw(receipts()), draw(members(program))


# --- evaluation -----------------------------------------------------------------------------

def _totals(e: Evaluation) -> tuple:
    return (e.subtotal, e.discount_total, e.points_redeemed, e.points_redeemed_value,
            e.total_payable, e.max_redeemable_points, e.tier_after, e.qualifying_value)


def _check_line_totals_add_up_and_the_receipt_balances(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    assert sum(x.total for x in e.lines) == e.total_payable
    assert e.subtotal - e.discount_total - e.points_redeemed_value == e.total_payable
    assert sum(x.amount for x in e.lines) == e.subtotal
    assert sum(x.discount for x in e.lines) == e.discount_total
    assert sum(x.points_redeemed_value for x in e.lines) == e.points_redeemed_value
    assert sum(x.points_redeemed for x in e.lines) == e.points_redeemed
    for x, line in zip(e.lines, receipt.lines, strict=True):
        assert x.amount - x.discount - x.points_redeemed_value == x.total
        assert x.line_id == line.line_id


def _check_nothing_is_negative(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    for x in e.lines:
        assert min(x.amount, x.discount, x.points_redeemed, x.points_redeemed_value, x.total,
                   x.points_earned) >= 0, x
        assert x.discount <= x.amount
    assert min(e.subtotal, e.discount_total, e.points_redeemed, e.points_redeemed_value,
               e.total_payable, e.points_earned, e.points_earned_pending,
               e.max_redeemable_points, e.qualifying_value) >= 0
    assert all(a.points > 0 for a in e.accruals)
    assert all(effect.amount >= 0 and effect.points >= 0 for effect in e.applied)


def _check_points_redeemed_are_within_the_balance_and_the_offer(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    spendable = member.spendable if member else 0
    assert e.points_redeemed <= e.max_redeemable_points <= max(spendable, 0)
    if receipt.redeem_points == 0:
        assert e.points_redeemed == 0
    if e.points_redeemed:
        burn = program.burn
        assert burn is not None and member is not None
        assert member.available >= burn.min_balance
        assert burn.combine_with_discounts or e.discount_total == 0
        # the money the points pay is their value, floored, within the share and min cash
        cur = program.currency(burn.currency)
        value = Fraction(e.points_redeemed * burn.point_value_kopecks, 10 ** cur.scale)
        assert e.points_redeemed_value == math.floor(value)
        after_discount = e.subtotal - e.discount_total
        assert e.points_redeemed_value <= after_discount * burn.max_share_percent / 100
        assert e.total_payable >= burn.min_cash_kopecks
        for x, line in zip(e.lines, receipt.lines, strict=True):
            if burn.excluded.contains(line.sku, line.category) or (
                    burn.exclude_discounted and x.discount):
                assert x.points_redeemed_value == 0 and x.points_redeemed == 0
    if receipt.redeem_points == MAX and not e.rejected:
        assert e.points_redeemed == e.max_redeemable_points


def _check_line_points_add_up_to_the_main_accrual(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    main = program.earn[0].currency if program.earn else None
    assert sum(x.points_earned for x in e.lines) == e.points_earned
    assert e.points_earned == sum(a.points for a in e.accruals if a.currency == main)
    assert e.points_earned_pending <= sum(a.points for a in e.accruals)
    if member is None:
        assert e.accruals == () and e.applied == ()
        assert [r.code for r in e.rejected] == ["no_member"]


@LIGHT
@given(cases())
def test_earned_points_are_the_exact_amount_rounded_once(case) -> None:  # noqa: ANN001
    """Per earn rule: the rational sum over lines of paid x percent x multipliers / point
    value, rounded per the currency. Checked with Fractions, independent of Decimal
    precision."""
    program, receipt, member = case
    assume(member is not None)
    e = evaluate(program, receipt, member)
    tier = program.tiers.level(member.tier_code) if program.tiers else None
    paid = e.total_payable
    earned_by_rule = {a.rule_id: a.points for a in e.accruals}
    for rule in program.earn:
        cur = program.currency(rule.currency)
        percent = Fraction(rule.ladder.percent_for(paid))
        exact = Fraction(0)
        for x, line in zip(e.lines, receipt.lines, strict=True):
            if rule.excluded.contains(line.sku, line.category):
                continue
            factor = Fraction(tier.earn_multiplier) if tier else Fraction(1)
            for m in rule.multipliers:
                if _matches(m.when, line, receipt):
                    factor *= Fraction(m.factor)
            exact += Fraction(x.total) * percent / 100 * factor
        exact = exact / cur.unit_value_kopecks * 10 ** cur.scale
        expected = _round(exact, cur.earn_rounding)
        assert earned_by_rule.get(rule.rule_id, 0) == max(expected, 0), (rule.rule_id, exact)


def _matches(when: Condition, line: Line, receipt: Receipt) -> bool:
    """The documented meaning of a multiplier's condition (test-side)."""
    at = receipt.occurred_at
    return ((when.goods.empty or when.goods.contains(line.sku, line.category))
            and (not when.channels or receipt.channel in when.channels)
            and (not when.payment_methods
                 or bool(set(when.payment_methods) & set(receipt.payment_methods)))
            and (not when.weekdays or at.isoweekday() in when.weekdays)
            and (when.hours is None or when.hours.start <= at.hour < when.hours.end))


def _round(value: Fraction, mode: Rounding) -> int:
    floor = math.floor(value)
    rest = value - floor
    if mode is Rounding.FLOOR:
        return floor
    if mode is Rounding.CEILING:
        return math.ceil(value)
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (mode is Rounding.HALF_UP
                                                            or floor % 2 == 1)):
        return floor + 1
    return floor


def _check_evaluation_is_deterministic(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    assert evaluate(program, receipt, member) == e


def _check_a_member_never_pays_more_than_without_the_program(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    anonymous = evaluate(program, receipt, None)
    assert e.subtotal == anonymous.subtotal == anonymous.total_payable
    assert e.total_payable <= anonymous.total_payable


def _check_tiers_only_move_up_at_the_till(
        program: Program, receipt: Receipt, member: MemberState | None, e: Evaluation) -> None:
    if program.tiers is None or member is None:
        assert (e.tier_before, e.tier_after) == (None, None)
        return
    tiers = program.tiers
    assert tiers.rank(e.tier_after) >= tiers.rank(e.tier_before)
    reached = tiers.earned_level(member.qualifying_value + e.qualifying_value)
    assert tiers.rank(e.tier_after) == max(tiers.rank(reached.code), tiers.rank(e.tier_before))
    upgrades = [x for x in e.applied if x.kind == "tier"]
    assert len(upgrades) == (e.tier_after != e.tier_before)


@PROFILE
@given(cases())
def test_every_evaluation_keeps_its_promises(case) -> None:  # noqa: ANN001
    """One generated case checked against every invariant (generation is the costly part)."""
    program, receipt, member = case
    e = evaluate(program, receipt, member)
    for check in (_check_line_totals_add_up_and_the_receipt_balances,
                  _check_nothing_is_negative,
                  _check_points_redeemed_are_within_the_balance_and_the_offer,
                  _check_line_points_add_up_to_the_main_accrual,
                  _check_evaluation_is_deterministic,
                  _check_a_member_never_pays_more_than_without_the_program,
                  _check_tiers_only_move_up_at_the_till):
        check(program, receipt, member, e)


@LIGHT
@given(cases(), st.randoms(use_true_random=False))
def test_receipt_level_sums_do_not_depend_on_line_order(case, rnd: random.Random) -> None:  # noqa: ANN001
    program, receipt, member = case
    lines = list(receipt.lines)
    rnd.shuffle(lines)
    shuffled = replace(receipt, lines=tuple(lines))
    a, b = evaluate(program, receipt, member), evaluate(program, shuffled, member)
    assert _totals(a) == _totals(b)
    assert {x.line_id: x.amount for x in a.lines} == {x.line_id: x.amount for x in b.lines}
    assert sorted(r.code for r in a.rejected) == sorted(r.code for r in b.rejected)


# --- allocation -----------------------------------------------------------------------------

weights_lists = st.lists(st.integers(0, 10**9), min_size=1, max_size=40)


@settings(max_examples=500, deadline=None)
@given(weights_lists, st.integers(0, 10**9))
def test_allocate_sums_to_the_total_within_floor_and_ceil_of_exact_shares(
        weights: list[int], total: int) -> None:
    assume(sum(weights) > 0 or total == 0)
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part >= 0
        if weight_sum == 0 or weight == 0:
            assert part == 0
            continue
        exact = Fraction(total * weight, weight_sum)
        assert math.floor(exact) <= part <= math.ceil(exact)


@settings(max_examples=300, deadline=None)
@given(weights_lists, st.integers(0, 10**6))
def test_allocate_gives_leftovers_to_the_largest_remainders(weights: list[int],
                                                            total: int) -> None:
    assume(sum(weights) > 0)
    parts = allocate(total, weights)
    weight_sum = sum(weights)
    exact = [Fraction(total * w, weight_sum) for w in weights]
    rest = [x - math.floor(x) for x in exact]
    bumped = [i for i, (p, x) in enumerate(zip(parts, exact, strict=True)) if p > math.floor(x)]
    kept = [i for i in range(len(parts)) if i not in bumped and rest[i] > 0]
    # every line that got a leftover unit had a remainder at least as large as any that
    # did not (ties to the earlier line)
    for i in bumped:
        for j in kept:
            assert rest[i] > rest[j] or (rest[i] == rest[j] and i < j)


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """The rule as written: floors, then one unit each to the largest remainders, ties to the
    earlier line (a sort of (-remainder, index))."""
    weight_sum = sum(weights)
    floors = [total * w // weight_sum for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in order[:total - sum(floors)]:
        floors[i] += 1
    return floors


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(st.integers(0, 3), min_size=1, max_size=120),  # ties, long lists
                 st.lists(st.integers(0, 10**9), min_size=1, max_size=120)),
       st.integers(0, 10**6))
def test_allocate_is_largest_remainder_ties_to_the_earlier_line(weights: list[int],
                                                                 total: int) -> None:
    assume(sum(weights) > 0)
    assert allocate(total, weights) == largest_remainder(total, weights)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20), st.integers(0, 10**6))
def test_equal_weights_differ_by_at_most_one(weights: list[int], total: int) -> None:
    n = len(weights)
    parts = allocate(total, [7] * n)
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # ties go to the earlier lines


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fractions(min_value=0, max_value=10**6, max_denominator=1000),
                min_size=1, max_size=30), st.data())
def test_distribute_rounds_exact_shares_to_any_reachable_total(shares: list[Fraction],
                                                               data: st.DataObject) -> None:
    exact = [Decimal(s.numerator) / Decimal(s.denominator) for s in shares]
    floors = sum(math.floor(x) for x in exact)
    total = data.draw(st.integers(floors, floors + len(exact)))
    parts = distribute(total, exact)
    assert sum(parts) == total
    for part, x in zip(parts, exact, strict=True):
        assert math.floor(x) <= part <= math.floor(x) + 1


def test_allocate_refuses_what_cannot_be_split() -> None:
    with pytest.raises(ValueError):
        allocate(-1, [1, 2])
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        distribute(10, [Decimal(1), Decimal(2)])
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
