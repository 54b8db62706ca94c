"""Hand-computed scenarios of the pure promotions engine: every reward kind, every condition,
the stacking rules, budgets, limits, control groups and hints.

Every expected figure is worked out in the comment next to it from the rules documented in
`kopilka.domain.promotions` and `promotion_rewards`; none is read back from the code.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import Line, Receipt
from kopilka.domain.program import Channel, Goods, Hours
from kopilka.domain.promotions import (
    AmountOff,
    BuyXGetY,
    CheapestFree,
    Conditions,
    Consumption,
    ControlDecision,
    ExtraPoints,
    FixedPrice,
    FreeDelivery,
    Gift,
    GiftItem,
    GoodsCondition,
    Limits,
    MultiplierBonus,
    PercentOff,
    Period,
    PointsBonus,
    PointsMultiplier,
    PresentedCode,
    Promotion,
    PromotionContext,
    PromotionOutcome,
    PromotionUsage,
    Reward,
    apply_promotions,
    in_control_group,
    period_start,
)

MSK = timezone(timedelta(hours=3))
WEDNESDAY = datetime(2026, 3, 4, 14, 0, tzinfo=MSK)
COFFEE = Goods(categories=("coffee",))
BAKERY = Goods(categories=("bakery",))
FRUIT = Goods(categories=("fruit",))
MEMBER = PromotionContext(member_id="m-1", store_id="msk-001")


def rub(text: str) -> int:
    """"123.45" -> 12345 kopecks, worked out here rather than by the code under test."""
    return int(Decimal(text).scaleb(2))


def line(line_id: str, price: str, quantity: str = "1", **attributes: Any) -> Line:
    """A receipt line; `sku` defaults to SKU-<line id>, other attributes to Line's defaults."""
    attributes.setdefault("sku", f"SKU-{line_id}")
    return Line(line_id=line_id, unit_price=rub(price), quantity=Decimal(quantity), **attributes)


def receipt(*lines: Line, at: datetime = WEDNESDAY, channel: str = "offline") -> Receipt:
    return Receipt(lines=tuple(lines), occurred_at=at, channel=channel)


def promo(promotion_id: str, reward: Reward, name: str | None = None,
          **kwargs: Any) -> Promotion:
    return Promotion(promotion_id=promotion_id, name=name or promotion_id.title(),
                     reward=reward, **kwargs)


def run(promotions: list[Promotion], rec: Receipt,
        context: PromotionContext = MEMBER) -> PromotionOutcome:
    outcome = apply_promotions(promotions, rec, context)
    assert_consistent(outcome, rec)
    return outcome


def assert_consistent(outcome: PromotionOutcome, rec: Receipt) -> None:
    """What every outcome promises, whatever the scenario."""
    assert len(outcome.line_discounts) == len(rec.lines)
    for discount, ln in zip(outcome.line_discounts, rec.lines, strict=True):
        assert 0 <= discount <= ln.amount
    assert sum(outcome.line_discounts) == sum(e.amount for e in outcome.applied)
    assert [c.money_kopecks for c in outcome.consumption] == [e.amount for e in outcome.applied]


def applied(outcome: PromotionOutcome) -> list[tuple[str, int]]:
    return [(e.code, e.amount) for e in outcome.applied]


def rejected(outcome: PromotionOutcome) -> list[tuple[str | None, str]]:
    return [(r.promotion_id, r.code) for r in outcome.rejected]


# --- rewards --------------------------------------------------------------------------------

def test_percent_off_the_receipt_is_floored_and_allocated_by_largest_remainder() -> None:
    rec = receipt(line("1", "100.00"), line("2", "50.01"),
                  line("3", "70.00", discountable=False))
    outcome = run([promo("ten", PercentOff(Decimal(10)))], rec)
    # 10% of the discountable 150.01 = 15.001 -> 15.00. Shares 1500 x 10000/15001 = 999.93
    # and 1500 x 5001/15001 = 500.07: floors 999 + 500, the kopeck left goes to .93 (line 1).
    assert outcome.line_discounts == (1000, 500, 0)
    assert applied(outcome) == [("ten", 1500)]
    assert outcome.applied[0].kind == "promotion"
    assert outcome.applied[0].line_ids == ("1", "2")
    assert outcome.applied[0].rule == "10% off the receipt"
    assert outcome.consumption == (Consumption("ten", 1500, 0, 1),)


def test_percent_off_matching_lines_matches_categories_by_prefix() -> None:
    rec = receipt(line("1", "333.33", category="coffee/beans"), line("2", "100.00",
                                                                     category="tea"))
    outcome = run([promo("coffee15", PercentOff(Decimal("15"), COFFEE))], rec)
    # 15% of 333.33 = 49.9995 -> 49.99, all on the coffee line
    assert outcome.line_discounts == (4999, 0)


def test_amount_off_never_exceeds_what_the_lines_cost() -> None:
    rec = receipt(line("1", "120.00", category="tea"), line("2", "180.00", category="tea"),
                  line("3", "1000.00", category="coffee"))
    outcome = run([promo("tea500", AmountOff(rub("500.00"), Goods(categories=("tea",))))], rec)
    # 500.00 off tea, but tea costs 300.00: 300.00, i.e. the tea lines are free
    assert outcome.line_discounts == (12000, 18000, 0)


def test_amount_off_the_receipt_is_allocated_in_proportion() -> None:
    rec = receipt(line("1", "200.00"), line("2", "100.00"))
    outcome = run([promo("minus100", AmountOff(rub("100.00")))], rec)
    # 100.00 over 200:100 -> 66.666 and 33.333: floors 6666 + 3333, the kopeck left to .67
    assert outcome.line_discounts == (6667, 3333)


def test_fixed_price_per_unit_and_per_kilogram_never_raises_a_price() -> None:
    rec = receipt(line("1", "120.00", "3", category="coffee"),
                  line("2", "80.00", category="coffee"),
                  line("3", "1000.00", "0.455", category="coffee/cheese-ish"))
    outcome = run([promo("fixed99", FixedPrice(rub("99.00"), COFFEE))], rec)
    # line 1: 360.00 -> 3 x 99.00 = 297.00, discount 63.00; line 2 is already cheaper;
    # line 3: 455.00 -> 99.00 x 0.455 = 45.045 -> 45.05 (half-up), discount 409.95
    assert outcome.line_discounts == (6300, 0, 40995)


def test_a_gift_on_the_receipt_is_made_free_and_listed_for_the_till() -> None:
    rec = receipt(line("1", "500.00", category="coffee"), line("2", "50.00", "2", sku="CRO"))
    outcome = run([promo("croissant", Gift("CRO", 1))], rec)
    # one of the two croissants (100.00) is free: 50.00
    assert outcome.line_discounts == (0, 5000)
    assert outcome.gifts == (GiftItem("croissant", "CRO", 1, Decimal(1), ("2",)),)
    assert outcome.applied[0].kind == "gift"


def test_a_gift_not_on_the_receipt_is_handed_out_and_costs_no_money() -> None:
    rec = receipt(line("1", "500.00"))
    outcome = run([promo("mug", Gift("MUG", 2))], rec)
    assert outcome.line_discounts == (0,)
    assert outcome.gifts == (GiftItem("mug", "MUG", 2, Decimal(0), ()),)
    assert applied(outcome) == [("mug", 0)]
    assert outcome.consumption == (Consumption("mug", 0, 0, 1),)


def test_buy_two_coffees_get_the_cheapest_croissant_free() -> None:
    rec = receipt(line("1", "100.00", "3", category="coffee"),
                  line("2", "50.00", category="bakery"), line("3", "40.00", category="bakery"))
    outcome = run([promo("b2g1", BuyXGetY(2, COFFEE, 1, BAKERY))], rec)
    # 3 coffees: one repeat (3 // 2); the cheaper croissant, 40.00, is free
    assert outcome.line_discounts == (0, 0, 4000)
    assert outcome.applied[0].line_ids == ("1", "3")


def test_buy_x_get_y_repeats_per_x_bought_up_to_max_repeats() -> None:
    rec = receipt(line("1", "100.00", "4", category="coffee"),
                  line("2", "50.00", category="bakery"), line("3", "40.00", category="bakery"))
    # 4 coffees: two repeats, both croissants free (90.00); with max_repeats 1 only 40.00
    assert run([promo("b2g1", BuyXGetY(2, COFFEE, 1, BAKERY))], rec).line_discounts == (
        0, 5000, 4000)
    assert run([promo("b2g1", BuyXGetY(2, COFFEE, 1, BAKERY, max_repeats=1))],
               rec).line_discounts == (0, 0, 4000)


def test_buy_two_get_one_of_the_same_goods_frees_the_cheapest_units() -> None:
    rec = receipt(line("1", "100.00", "3", category="coffee"),
                  line("2", "80.00", category="coffee"), line("3", "90.00", "2", category="coffee"))
    outcome = run([promo("b2g1", BuyXGetY(2, COFFEE, 1, COFFEE))], rec)
    # 6 units: 2 repeats; the 2 cheapest units are free: 80.00 and one 90.00
    assert outcome.line_discounts == (0, 8000, 9000)


def test_buy_one_get_one_at_half_price() -> None:
    rec = receipt(line("1", "99.99", "2", category="coffee"))
    outcome = run([promo("half", BuyXGetY(1, COFFEE, 1, COFFEE, percent=Decimal(50)))], rec)
    # one unit of 99.99 at 50% off: 49.995 -> 49.99
    assert outcome.line_discounts == (4999,)


def test_buy_x_get_y_counts_whole_units_of_weighed_goods() -> None:
    # 2.5 kg of apples at 100.00/kg count as 2 units of 100.00; the half kilogram is neither
    # counted nor made free. Buy 1 get 1: one repeat, one unit free: 250.00 x 1 / 2.5.
    rec = receipt(line("1", "100.00", "2.5", category="fruit"))
    assert run([promo("b1g1", BuyXGetY(1, FRUIT, 1, FRUIT))], rec).line_discounts == (10000,)


def test_a_weighed_line_under_one_unit_counts_nothing_and_gets_a_hint() -> None:
    rec = receipt(line("1", "100.00", "0.75", category="fruit"))
    outcome = run([promo("b1g1", BuyXGetY(1, FRUIT, 1, FRUIT), name="Apples 1+1")], rec)
    assert outcome.line_discounts == (0,)
    assert rejected(outcome) == [("b1g1", "condition_not_met")]
    assert outcome.hints == ("Add 2 more items from fruit to get Apples 1+1",)


def test_buy_x_get_y_hints_name_what_is_missing_of_each_goods() -> None:
    rec = receipt(line("1", "100.00", category="coffee"))
    outcome = run([promo("b2g1", BuyXGetY(2, COFFEE, 1, BAKERY), name="Breakfast")], rec)
    assert outcome.hints == ("Add 1 more item from coffee and add 1 more item from bakery "
                             "to get Breakfast",)


def test_the_cheapest_of_every_three_items_is_free() -> None:
    rec = receipt(line("1", "10.00", "2", category="shirts"), line("2", "20.00", category="shirts"),
                  line("3", "30.00", "3", category="shirts"), line("4", "40.00", category="shirts"))
    outcome = run([promo("3for2", CheapestFree(3, Goods(categories=("shirts",))))], rec)
    # 7 units: 2 groups, the 2 cheapest units (both 10.00) free; the 4 most expensive of the
    # other units are the ones bought (lines 3 and 4), line 2 takes no part
    assert outcome.line_discounts == (2000, 0, 0, 0)
    assert outcome.applied[0].line_ids == ("1", "3", "4")


def test_extra_points_are_passed_to_the_earn_step() -> None:
    outcome = run([promo("bonus", ExtraPoints(500))], receipt(line("1", "10.00")))
    assert outcome.points_bonuses == (PointsBonus("bonus", 500),)
    assert [(e.kind, e.points) for e in outcome.applied] == [("extra_points", 500)]
    assert outcome.consumption == (Consumption("bonus", 0, 500, 1),)


def test_a_points_multiplier_names_its_lines_and_caps_by_the_points_budget() -> None:
    rec = receipt(line("1", "300.00", category="coffee"), line("2", "100.00", category="tea"))
    outcome = run([promo("x3", PointsMultiplier(Decimal(3), COFFEE),
                         limits=Limits(budget_points=1000))], rec)
    assert outcome.multipliers == (MultiplierBonus("x3", Decimal(3), ("1",), 1000),)
    assert outcome.line_discounts == (0, 0)
    assert outcome.applied[0].kind == "points_multiplier"


def test_free_delivery_frees_the_delivery_line_or_raises_the_flag() -> None:
    rec = receipt(line("1", "2000.00"), line("2", "299.00", sku="DLV"))
    outcome = run([promo("ship", FreeDelivery(Goods(skus=("DLV",))))], rec)
    assert outcome.line_discounts == (0, 29900)
    assert outcome.free_delivery is True
    flag = run([promo("ship", FreeDelivery())], receipt(line("1", "2000.00")))
    assert flag.free_delivery is True and flag.line_discounts == (0,)
    assert flag.applied[0].kind == "free_delivery"


# --- conditions -----------------------------------------------------------------------------

def test_goods_condition_with_quantity_gives_a_hint_with_its_label() -> None:
    when = Conditions(goods=(GoodsCondition(COFFEE, min_quantity=Decimal(2), label="Coffee"),))
    p = promo("duo", PercentOff(Decimal(10)), name="Coffee duo", conditions=when)
    outcome = run([p], receipt(line("1", "100.00", category="coffee")))
    assert rejected(outcome) == [("duo", "condition_not_met")]
    assert outcome.hints == ("Add 1 more item from Coffee to get Coffee duo",)
    two = run([p], receipt(line("1", "100.00", "2", category="coffee")))
    assert applied(two) == [("duo", 2000)]


def test_goods_condition_with_an_amount_hints_the_money_missing() -> None:
    when = Conditions(goods=(GoodsCondition(COFFEE, min_amount_kopecks=rub("500.00"),
                                            label="Coffee"),))
    p = promo("c500", ExtraPoints(100), name="Coffee lover", conditions=when)
    outcome = run([p], receipt(line("1", "450.00", category="coffee")))
    assert outcome.hints == ("Buy Coffee for 50.00 more to get Coffee lover",)


def test_missing_goods_hint_one_item() -> None:
    when = Conditions(goods=(GoodsCondition(COFFEE),))
    outcome = run([promo("any", ExtraPoints(1), name="Any coffee", conditions=when)],
                  receipt(line("1", "10.00", category="tea")))
    assert outcome.hints == ("Add 1 more item from coffee to get Any coffee",)


def test_minimum_receipt_is_on_amounts_before_promotions() -> None:
    p = promo("autumn", PercentOff(Decimal(10)), name="Autumn 10%",
              conditions=Conditions(min_receipt_kopecks=rub("1000.00")))
    outcome = run([p], receipt(line("1", "700.00")))
    assert outcome.hints == ("Buy for 300.00 more to get Autumn 10%",)
    # a bigger promotion applied first does not take the receipt back under the minimum
    other = promo("a-big", AmountOff(rub("500.00")), priority=5)
    both = run([p, other], receipt(line("1", "1000.00")))
    assert applied(both) == [("a-big", 50000), ("autumn", 5000)]


@pytest.mark.parametrize(("conditions", "context", "code"), [
    (Conditions(first_purchase=True), MEMBER, "first_purchase"),
    (Conditions(stores=("spb-001",)), MEMBER, "store"),
    (Conditions(channels=(Channel.ONLINE, Channel.APP)), MEMBER, "channel"),
    (Conditions(weekdays=(6, 7)), MEMBER, "schedule"),  # a Wednesday receipt
    (Conditions(hours=Hours(8, 12)), MEMBER, "schedule"),  # at 14:00
    (Conditions(tiers=("gold",)), replace(MEMBER, tier_code="silver"), "tier"),
    (Conditions(segments=("coffee-lovers",)), replace(MEMBER, segments=frozenset({"new"})),
     "segment"),
    (Conditions(invited=frozenset({"m-2"})), MEMBER, "not_invited"),
    (Conditions(invited=frozenset({"m-1"})), PromotionContext(), "not_invited"),
    (Conditions(tiers=("gold",)), PromotionContext(tier_code="gold"), "tier"),  # no member
])
def test_targeting_refuses_with_its_own_code_and_no_hint(
        conditions: Conditions, context: PromotionContext, code: str) -> None:
    outcome = run([promo("p", PercentOff(Decimal(5)), conditions=conditions)],
                  receipt(line("1", "100.00")), context)
    assert rejected(outcome) == [("p", code)]
    assert outcome.hints == () and outcome.line_discounts == (0,)


@pytest.mark.parametrize(("conditions", "context"), [
    (Conditions(first_purchase=True), replace(MEMBER, is_first_purchase=True)),
    (Conditions(stores=("msk-001",)), MEMBER),
    (Conditions(channels=(Channel.ONLINE,)), replace(MEMBER, channel="online")),
    (Conditions(weekdays=(3,), hours=Hours(14, 15)), MEMBER),  # Wednesday 14:00, end exclusive
    (Conditions(tiers=("gold",)), replace(MEMBER, tier_code="gold")),
    (Conditions(segments=("a", "b")), replace(MEMBER, segments=frozenset({"b", "c"}))),
    (Conditions(invited=frozenset({"m-1", "m-9"})), MEMBER),
])
def test_targeting_admits_its_audience(conditions: Conditions,
                                       context: PromotionContext) -> None:
    outcome = run([promo("p", PercentOff(Decimal(5)), conditions=conditions)],
                  receipt(line("1", "100.00")), context)
    assert applied(outcome) == [("p", 500)]


def test_the_receipt_channel_is_used_when_the_context_gives_none() -> None:
    p = promo("web", PercentOff(Decimal(5)), conditions=Conditions(channels=(Channel.ONLINE,)))
    outcome = run([p], receipt(line("1", "100.00"), channel="online"))
    assert applied(outcome) == [("web", 500)]


def test_the_validity_window_includes_its_start_and_excludes_its_end() -> None:
    p = promo("p", PercentOff(Decimal(5)), starts_at=WEDNESDAY,
              ends_at=WEDNESDAY + timedelta(hours=1))
    assert applied(run([p], receipt(line("1", "100.00")))) == [("p", 500)]
    early = receipt(line("1", "100.00"), at=WEDNESDAY - timedelta(seconds=1))
    late = receipt(line("1", "100.00"), at=WEDNESDAY + timedelta(hours=1))
    assert rejected(run([p], early)) == [("p", "not_started")]
    assert rejected(run([p], late)) == [("p", "expired")]


def test_a_code_only_promotion_needs_a_code_resolved_to_it() -> None:
    p = promo("autumn", PercentOff(Decimal(10)), requires_code=True)
    rec = receipt(line("1", "100.00"))
    assert rejected(run([p], rec)) == [("autumn", "code_required")]
    other = replace(MEMBER, codes=(PresentedCode("SPRING", "spring"),))
    assert rejected(run([p], rec, other)) == [("spring", "unknown_code"),
                                              ("autumn", "code_required")]
    given = replace(MEMBER, codes=(PresentedCode("AUTUMN10", "autumn"),
                                   PresentedCode("NOPE", None)))
    outcome = run([p], rec, given)
    assert applied(outcome) == [("autumn", 1000)]
    assert rejected(outcome) == [(None, "unknown_code")]
    assert "NOPE" in outcome.rejected[0].reason


# --- stacking -------------------------------------------------------------------------------

def test_two_stackable_promotions_share_a_line_in_priority_order() -> None:
    first = promo("ten", PercentOff(Decimal(10)), priority=2)
    second = promo("twenty", PercentOff(Decimal(20)), priority=1)
    outcome = run([second, first], receipt(line("1", "1000.00")))
    # 10% of 1000.00 = 100.00 first, then 20% of the remaining 900.00 = 180.00
    assert applied(outcome) == [("ten", 10000), ("twenty", 18000)]
    assert outcome.line_discounts == (28000,)


def test_a_non_stackable_promotion_closes_its_lines_to_later_ones() -> None:
    coffee = promo("coffee", PercentOff(Decimal(10), COFFEE), stackable=False, priority=2)
    everything = promo("all5", PercentOff(Decimal(5)), priority=1)
    also_coffee = promo("coffee2", AmountOff(rub("10.00"), COFFEE), stackable=False)
    rec = receipt(line("1", "200.00", category="coffee"), line("2", "100.00", category="tea"))
    outcome = run([also_coffee, everything, coffee], rec)
    # coffee: 20.00 on line 1, closed; all5: 5% of the open 100.00 = 5.00 on line 2 only;
    # coffee2 finds line 1 closed
    assert applied(outcome) == [("coffee", 2000), ("all5", 500)]
    assert rejected(outcome) == [("coffee2", "lines_taken")]
    assert outcome.line_discounts == (2000, 500)


def test_a_non_stackable_promotion_cannot_take_a_line_a_stackable_one_claimed() -> None:
    shared = promo("shared", PercentOff(Decimal(10), COFFEE), priority=2)
    alone = promo("alone", PercentOff(Decimal(50), COFFEE), stackable=False, priority=1)
    outcome = run([alone, shared], receipt(line("1", "100.00", category="coffee")))
    assert applied(outcome) == [("shared", 1000)]
    assert rejected(outcome) == [("alone", "lines_taken")]


def test_equal_priority_goes_to_the_bigger_benefit_then_the_smaller_id() -> None:
    small = promo("a-small", PercentOff(Decimal(5)), stackable=False)
    big = promo("z-big", PercentOff(Decimal(20)), stackable=False)
    outcome = run([small, big], receipt(line("1", "100.00")))
    assert applied(outcome) == [("z-big", 2000)]
    assert rejected(outcome) == [("a-small", "lines_taken")]
    twin = promo("b-twin", PercentOff(Decimal(20)), stackable=False)
    assert applied(run([big, twin], receipt(line("1", "100.00")))) == [("b-twin", 2000)]


def test_an_exclusive_group_goes_to_the_higher_priority() -> None:
    high = promo("high", PercentOff(Decimal(5)), exclusivity_group="season", priority=2)
    low = promo("low", PercentOff(Decimal(50)), exclusivity_group="season", priority=1)
    outcome = run([low, high], receipt(line("1", "100.00")))
    assert applied(outcome) == [("high", 500)]
    assert rejected(outcome) == [("low", "exclusive_group_lost")]
    assert "high" in outcome.rejected[0].reason


def test_an_exclusive_group_tie_goes_to_the_best_benefit_then_the_id() -> None:
    points = promo("a-points", ExtraPoints(1000), exclusivity_group="g")
    money = promo("b-money", AmountOff(rub("1.00")), exclusivity_group="g")
    outcome = run([points, money], receipt(line("1", "100.00")))
    # money before points: 1.00 off beats 1000 points
    assert applied(outcome) == [("b-money", 100)]
    more_points = promo("c-points", ExtraPoints(2000), exclusivity_group="g")
    outcome = run([points, more_points], receipt(line("1", "100.00")))
    assert [e.code for e in outcome.applied] == ["c-points"]
    same = promo("0-points", ExtraPoints(1000), exclusivity_group="g")
    assert [e.code for e in run([points, same], receipt(line("1", "1"))).applied] == ["0-points"]


def test_a_group_member_that_gives_nothing_leaves_the_group_to_the_next() -> None:
    first = promo("first", PercentOff(Decimal(50), COFFEE), exclusivity_group="g", priority=2)
    second = promo("second", PercentOff(Decimal(5)), exclusivity_group="g", priority=1)
    outcome = run([first, second], receipt(line("1", "100.00", category="tea")))
    assert applied(outcome) == [("second", 500)]
    assert rejected(outcome) == [("first", "no_benefit")]


def test_the_outcome_does_not_depend_on_the_order_of_the_promotions() -> None:
    promotions = [promo("a", PercentOff(Decimal(10)), stackable=False),
                  promo("b", AmountOff(rub("30.00")), priority=1),
                  promo("c", ExtraPoints(10), exclusivity_group="g"),
                  promo("d", ExtraPoints(20), exclusivity_group="g")]
    rec = receipt(line("1", "100.00"), line("2", "50.00"))
    assert run(promotions, rec) == run(promotions[::-1], rec)


def test_not_combinable_with_points_flags_its_lines_or_the_whole_receipt() -> None:
    rec = receipt(line("1", "100.00", category="coffee"), line("2", "100.00"),
                  line("3", "100.00"))
    lines_only = promo("coffee", PercentOff(Decimal(10), COFFEE), combinable_with_points=False)
    assert run([lines_only], rec).not_payable_with_points == ("1",)
    receipt_level = promo("all", ExtraPoints(100), combinable_with_points=False)
    assert run([receipt_level], rec).not_payable_with_points == ("1", "2", "3")
    assert run([promo("ok", PercentOff(Decimal(10)))], rec).not_payable_with_points == ()


# --- budgets and limits ---------------------------------------------------------------------

def test_a_money_reward_is_cut_to_the_remaining_budget_to_the_kopeck() -> None:
    rec = receipt(line("1", "600.00"), line("2", "400.00"))
    p = promo("p", PercentOff(Decimal(10)), limits=Limits(budget_kopecks=rub("10000.00")))
    context = replace(MEMBER, usage={"p": PromotionUsage(remaining_kopecks=5001)})
    outcome = run([p], rec, context)
    # 100.00 wanted, 50.01 left: 5001 over 6000:4000 -> 3000.6 and 2000.4 -> 3001 + 2000
    assert outcome.line_discounts == (3001, 2000)
    assert outcome.consumption == (Consumption("p", 5001, 0, 1),)
    assert outcome.applied[0].rule.endswith("(cut to the remaining budget)")


def test_points_are_cut_to_the_remaining_points_budget() -> None:
    p = promo("p", ExtraPoints(500), limits=Limits(budget_points=10_000))
    context = replace(MEMBER, usage={"p": PromotionUsage(remaining_points=120)})
    outcome = run([p], receipt(line("1", "10.00")), context)
    assert outcome.points_bonuses == (PointsBonus("p", 120),)
    assert outcome.consumption == (Consumption("p", 0, 120, 1),)


def test_a_snapshot_never_raises_a_budget_above_its_total_and_none_means_unused() -> None:
    p = promo("p", AmountOff(rub("100.00")), limits=Limits(budget_kopecks=rub("50.00")))
    rec = receipt(line("1", "1000.00"))
    assert run([p], rec).line_discounts == (5000,)
    big = replace(MEMBER, usage={"p": PromotionUsage(remaining_kopecks=rub("80.00"))})
    assert run([p], rec, big).line_discounts == (5000,)


@pytest.mark.parametrize("usage", [PromotionUsage(remaining_kopecks=0),
                                   PromotionUsage(remaining_points=0),
                                   PromotionUsage(remaining_count=0)])
def test_a_spent_budget_stops_the_promotion(usage: PromotionUsage) -> None:
    p = promo("p", PercentOff(Decimal(10)))
    outcome = run([p], receipt(line("1", "100.00")), replace(MEMBER, usage={"p": usage}))
    assert rejected(outcome) == [("p", "budget_exhausted")]
    assert outcome.consumption == ()


def test_a_count_limit_of_zero_uses_left_in_the_totals_stops_it_too() -> None:
    p = promo("p", PercentOff(Decimal(10)), limits=Limits(count=0))
    assert rejected(run([p], receipt(line("1", "100.00")))) == [("p", "budget_exhausted")]


def test_the_per_member_limit_uses_the_callers_count() -> None:
    p = promo("p", PercentOff(Decimal(10)),
              limits=Limits(per_member_count=2, per_member_period=Period.WEEK))
    rec = receipt(line("1", "100.00"))
    once = replace(MEMBER, usage={"p": PromotionUsage(member_uses=1)})
    twice = replace(MEMBER, usage={"p": PromotionUsage(member_uses=2)})
    assert applied(run([p], rec, once)) == [("p", 1000)]
    assert rejected(run([p], rec, twice)) == [("p", "member_limit")]
    assert rejected(run([p], rec, PromotionContext())) == [("p", "member_required")]


def test_the_per_store_limit_uses_the_callers_count() -> None:
    p = promo("p", PercentOff(Decimal(10)), limits=Limits(per_store_count=10))
    full = replace(MEMBER, usage={"p": PromotionUsage(store_uses=10)})
    assert rejected(run([p], receipt(line("1", "100.00")), full)) == [("p", "store_limit")]


def test_period_start_gives_the_caller_the_start_of_the_counting_period() -> None:
    at = datetime(2026, 3, 4, 14, 30, tzinfo=MSK)  # a Wednesday
    assert period_start(Period.DAY, at) == datetime(2026, 3, 4, tzinfo=MSK)
    assert period_start(Period.WEEK, at) == datetime(2026, 3, 2, tzinfo=MSK)
    assert period_start(Period.MONTH, at) == datetime(2026, 3, 1, tzinfo=MSK)
    assert period_start(Period.EVER, at) is None


# --- control groups -------------------------------------------------------------------------

def test_control_group_membership_is_a_stable_hash_of_promotion_and_member() -> None:
    def expected(promotion_id: str, member_id: str, share: Decimal) -> bool:
        digest = hashlib.sha256(f"{promotion_id}\x00{member_id}".encode()).digest()
        return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64) * 100 < share

    for i in range(200):
        member = f"m-{i}"
        assert in_control_group("autumn", member, Decimal(30)) == expected(
            "autumn", member, Decimal(30))
    assert not any(in_control_group("p", f"m-{i}", Decimal(0)) for i in range(100))
    assert all(in_control_group("p", f"m-{i}", Decimal(100)) for i in range(100))


def test_the_control_share_is_held_back_within_tolerance_and_independently() -> None:
    members = [f"member-{i}" for i in range(10_000)]
    held = {m for m in members if in_control_group("autumn", m, Decimal("10"))}
    # binomial: 1,000 expected, standard deviation 30
    assert 850 <= len(held) <= 1150
    other = {m for m in members if in_control_group("spring", m, Decimal("10"))}
    assert 50 <= len(held & other) <= 160  # about 10% of 10%: independent across promotions


def test_a_held_back_member_gets_nothing_and_no_hints_and_the_decision_is_recorded() -> None:
    members = [f"m-{i}" for i in range(50)]
    held = next(m for m in members if in_control_group("p", m, Decimal(50)))
    exposed = next(m for m in members if not in_control_group("p", m, Decimal(50)))
    p = promo("p", PercentOff(Decimal(10)), control_share_percent=Decimal(50),
              conditions=Conditions(min_receipt_kopecks=rub("500.00")))
    rec = receipt(line("1", "100.00"))
    out = run([p], rec, PromotionContext(member_id=held))
    assert rejected(out) == [("p", "control_group")] and out.hints == ()
    assert out.control == (ControlDecision("p", held, True, Decimal(50)),)
    exposed_out = run([p], rec, PromotionContext(member_id=exposed))
    assert rejected(exposed_out) == [("p", "condition_not_met")] and exposed_out.hints
    assert exposed_out.control == (ControlDecision("p", exposed, False, Decimal(50)),)
    anonymous = run([p], receipt(line("1", "600.00")), PromotionContext())
    assert anonymous.control == () and applied(anonymous) == [("p", 6000)]


def test_a_held_back_promotion_leaves_its_exclusive_group_to_the_next() -> None:
    member = next(f"m-{i}" for i in range(100)
                  if in_control_group("big", f"m-{i}", Decimal(50)))
    big = promo("big", PercentOff(Decimal(20)), exclusivity_group="g", priority=2,
                control_share_percent=Decimal(50))
    small = promo("small", PercentOff(Decimal(5)), exclusivity_group="g", priority=1)
    outcome = run([big, small], receipt(line("1", "100.00")), PromotionContext(member_id=member))
    assert applied(outcome) == [("small", 500)]
    assert rejected(outcome) == [("big", "control_group")]


# --- bad input ------------------------------------------------------------------------------

def test_duplicate_promotion_ids_and_naive_times_are_refused() -> None:
    p = promo("p", ExtraPoints(1))
    with pytest.raises(InvalidInput) as caught:
        apply_promotions([p, p], receipt(line("1", "1.00")), MEMBER)
    assert caught.value.code == "duplicate_promotion_id"
    with pytest.raises(InvalidInput) as caught:
        apply_promotions([p], receipt(line("1", "1.00"), at=datetime(2026, 1, 1)), MEMBER)
    assert caught.value.code == "invalid_time"


@pytest.mark.parametrize("build", [
    lambda: PercentOff(Decimal(0)),
    lambda: PercentOff(Decimal(101)),
    lambda: AmountOff(0),
    lambda: FixedPrice(100, Goods()),
    lambda: Gift("", 1),
    lambda: BuyXGetY(0, COFFEE, 1, COFFEE),
    lambda: CheapestFree(1, COFFEE),
    lambda: ExtraPoints(0),
    lambda: PointsMultiplier(Decimal(1)),
    lambda: promo("p", ExtraPoints(1), control_share_percent=Decimal(101)),
    lambda: promo("p", ExtraPoints(1), starts_at=WEDNESDAY, ends_at=WEDNESDAY),
    lambda: promo("p", ExtraPoints(1), limits=Limits(budget_kopecks=-1)),
])
def test_the_domain_refuses_impossible_promotions(build: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        build()  # type: ignore[operator]
    assert caught.value.code == "invalid_promotion"
