"""Properties of the pure promotions engine.

Promotions are generated as domain dataclasses (every reward kind, priorities, exclusivity
groups, stackable or not, budgets in the totals and in the usage snapshot), receipts with 1-12
lines (weighed quantities, free and non-discountable lines). Whatever the inputs:

- no line's discount is negative or above the line's amount;
- line discounts sum to the applied promotions' amounts and to the money consumed;
- consumption never exceeds a remaining budget (money or points), and one use is counted per
  applied promotion;
- a non-stackable promotion never shares a line with another applied promotion;
- at most one promotion of an exclusivity group applies;
- each promotion is applied or rejected exactly once;
- the outcome is deterministic and does not depend on the order of the promotions.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.domain.evaluation import Line, Receipt
from kopilka.domain.program import Goods
from kopilka.domain.promotions import (
    AmountOff,
    BuyXGetY,
    CheapestFree,
    Conditions,
    ExtraPoints,
    FixedPrice,
    FreeDelivery,
    Gift,
    GoodsCondition,
    Limits,
    PercentOff,
    PointsMultiplier,
    Promotion,
    PromotionContext,
    PromotionOutcome,
    PromotionUsage,
    apply_promotions,
)

MSK = timezone(timedelta(hours=3))
AT = datetime(2026, 3, 4, 14, 0, tzinfo=MSK)
CATEGORIES = ["coffee", "coffee/beans", "tea", "bakery", "delivery"]
SKUS = [f"S{i}" for i in range(5)]
PROFILE = settings(max_examples=300, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

goods = st.builds(lambda c, s: Goods(tuple(c), tuple(s)),
                  st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
                  st.lists(st.sampled_from(SKUS), max_size=2, unique=True))
named_goods = goods.filter(lambda g: not g.empty)
percents = st.integers(1, 10_000).map(lambda n: Decimal(n).scaleb(-2))
money = st.integers(1, 500_000)
repeats = st.none() | st.integers(1, 3)

rewards = st.one_of(
    st.builds(PercentOff, percents, goods),
    st.builds(AmountOff, money, goods),
    st.builds(FixedPrice, st.integers(0, 100_000), named_goods),
    st.builds(Gift, st.sampled_from(SKUS), st.integers(1, 3)),
    st.builds(BuyXGetY, st.integers(1, 3), named_goods, st.integers(1, 2), named_goods,
              percents, repeats),
    st.builds(CheapestFree, st.integers(2, 4), named_goods, repeats),
    st.builds(ExtraPoints, st.integers(1, 5_000)),
    st.builds(PointsMultiplier, st.integers(11, 50).map(lambda n: Decimal(n).scaleb(-1)), goods),
    st.builds(FreeDelivery, goods),
)
optional_budget = st.none() | st.integers(0, 50_000)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    count = draw(st.integers(1, 6))
    result = []
    for i in range(count):
        when = Conditions()
        if draw(st.booleans()):
            when = Conditions(goods=(GoodsCondition(draw(named_goods)),),
                              min_receipt_kopecks=draw(st.integers(0, 100_000)))
        result.append(Promotion(
            promotion_id=f"p{i}", name=f"P{i}", reward=draw(rewards),
            priority=draw(st.integers(0, 2)),
            exclusivity_group=draw(st.sampled_from([None, None, "g1", "g2"])),
            combinable_with_points=draw(st.booleans()), stackable=draw(st.booleans()),
            control_share_percent=draw(st.sampled_from([Decimal(0), Decimal(0), Decimal(50)])),
            conditions=when,
            limits=Limits(budget_kopecks=draw(optional_budget),
                          budget_points=draw(optional_budget))))
    return result


quantities = st.one_of(st.integers(1, 6).map(Decimal),
                       st.integers(1, 5_000).map(lambda n: Decimal(n).scaleb(-3)))


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    lines = tuple(
        Line(line_id=str(i), sku=draw(st.sampled_from(SKUS)),
             unit_price=draw(st.integers(0, 300_000)), quantity=draw(quantities),
             category=draw(st.none() | st.sampled_from(CATEGORIES)),
             discountable=draw(st.integers(0, 4)) > 0)
        for i in range(draw(st.integers(1, 12))))
    return Receipt(lines=lines, occurred_at=AT)


@st.composite
def contexts(draw: st.DrawFn, promos: list[Promotion]) -> PromotionContext:
    usage = {p.promotion_id: PromotionUsage(remaining_kopecks=draw(optional_budget),
                                            remaining_points=draw(optional_budget))
             for p in promos if draw(st.booleans())}
    return PromotionContext(member_id=draw(st.none() | st.sampled_from(["m1", "m2", "m3"])),
                            store_id="s1", usage=usage)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Promotion], Receipt, PromotionContext]:
    promos = draw(promotions())
    return promos, draw(receipts()), draw(contexts(promos))


def _remaining(total: int | None, snapshot: int | None) -> int | None:
    given_ = [v for v in (total, snapshot) if v is not None]
    return min(given_) if given_ else None


@PROFILE
@given(cases())
def test_line_discounts_stay_within_the_line_and_sum_to_the_effects(
        case: tuple[list[Promotion], Receipt, PromotionContext]) -> None:
    promos, receipt, context = case
    outcome = apply_promotions(promos, receipt, context)
    assert len(outcome.line_discounts) == len(receipt.lines)
    for discount, line in zip(outcome.line_discounts, receipt.lines, strict=True):
        assert 0 <= discount <= line.amount
        if not line.discountable:
            assert discount == 0
    assert sum(outcome.line_discounts) == sum(e.amount for e in outcome.applied)
    assert sum(outcome.line_discounts) == sum(c.money_kopecks for c in outcome.consumption)
    assert all(e.amount >= 0 and e.points >= 0 for e in outcome.applied)
    order = {line.line_id: i for i, line in enumerate(receipt.lines)}
    for effect in outcome.applied:  # the lines an effect names, in receipt order, once each
        positions = [order[line_id] for line_id in effect.line_ids]
        assert positions == sorted(set(positions))


@PROFILE
@given(cases())
def test_consumption_never_exceeds_the_remaining_budgets(
        case: tuple[list[Promotion], Receipt, PromotionContext]) -> None:
    promos, receipt, context = case
    outcome = apply_promotions(promos, receipt, context)
    by_id = {p.promotion_id: p for p in promos}
    for used in outcome.consumption:
        promotion = by_id[used.promotion_id]
        usage = context.usage.get(used.promotion_id, PromotionUsage())
        money_left = _remaining(promotion.limits.budget_kopecks, usage.remaining_kopecks)
        points_left = _remaining(promotion.limits.budget_points, usage.remaining_points)
        assert used.count == 1
        assert money_left is None or 0 <= used.money_kopecks <= money_left
        assert points_left is None or 0 <= used.points <= points_left
    for bonus in outcome.multipliers:
        promotion = by_id[bonus.promotion_id]
        usage = context.usage.get(bonus.promotion_id, PromotionUsage())
        assert bonus.points_cap == _remaining(promotion.limits.budget_points,
                                              usage.remaining_points)


@PROFILE
@given(cases())
def test_stacking_rules_hold(case: tuple[list[Promotion], Receipt, PromotionContext]) -> None:
    promos, receipt, context = case
    outcome = apply_promotions(promos, receipt, context)
    by_id = {p.promotion_id: p for p in promos}
    claims = {e.code: set(e.line_ids) for e in outcome.applied}
    for pid, lines in claims.items():
        if not by_id[pid].stackable:
            for other, other_lines in claims.items():
                assert other == pid or not lines & other_lines, (pid, other)
    groups = Counter(by_id[pid].exclusivity_group for pid in claims
                     if by_id[pid].exclusivity_group is not None)
    assert all(n == 1 for n in groups.values())
    decided = [e.code for e in outcome.applied] + [r.promotion_id or "" for r in outcome.rejected]
    assert sorted(decided) == sorted(by_id)
    line_ids = [line.line_id for line in receipt.lines]
    assert set(outcome.not_payable_with_points) <= set(line_ids)


@PROFILE
@given(cases(), st.randoms(use_true_random=False))
def test_the_outcome_is_deterministic_and_independent_of_input_order(
        case: tuple[list[Promotion], Receipt, PromotionContext], rnd: object) -> None:
    promos, receipt, context = case
    first: PromotionOutcome = apply_promotions(promos, receipt, context)
    assert apply_promotions(promos, receipt, context) == first
    shuffled = list(promos)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert apply_promotions(shuffled, receipt, context) == first
