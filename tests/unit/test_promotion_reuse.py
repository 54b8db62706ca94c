"""The same promotion objects, receipt after receipt (as the till's snapshot hands them out):
what the engine keeps per promotion (refusals, screenings, grants) never carries one
receipt's explanation, winner or budget into another's.

Expected texts and amounts are worked out in the comments from the rules documented in
`kopilka.domain.promotions`, `promotion_rules` and `promotion_rewards`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from kopilka.domain.evaluation import Line, Receipt
from kopilka.domain.program import Goods
from kopilka.domain.promotions import (
    AmountOff,
    BuyXGetY,
    Conditions,
    Limits,
    PercentOff,
    Promotion,
    PromotionContext,
    PromotionUsage,
    apply_promotions,
)

AT = datetime(2026, 3, 4, 14, 0, tzinfo=timezone(timedelta(hours=3)))
COFFEE = Goods(categories=("coffee",))
BAKERY = Goods(categories=("bakery",))
MEMBER = PromotionContext(member_id="m-1", store_id="s-1")


def receipt(*lines: tuple[str, int, int]) -> Receipt:
    """Lines of (category, unit price in kopecks, quantity)."""
    return Receipt(tuple(Line(line_id=str(i), sku=f"SKU-{i}", unit_price=price,
                              quantity=Decimal(quantity), category=category)
                         for i, (category, price, quantity) in enumerate(lines, 1)), AT)


def test_the_loser_of_an_exclusivity_group_names_this_receipts_winner() -> None:
    coffee = Promotion("coffee", "Coffee deal", PercentOff(Decimal(10), COFFEE),
                       exclusivity_group="g")
    bakery = Promotion("bakery", "Bakery deal", PercentOff(Decimal(10), BAKERY),
                       exclusivity_group="g")
    promotions = [coffee, bakery]
    coffee_only = receipt(("coffee", 20000, 1))  # 10% of 200.00: 20.00, bakery gives nothing
    bakery_only = receipt(("bakery", 10000, 1))  # 10% of 100.00: 10.00
    for rec, winner, loser, amount in ((coffee_only, "coffee", "Bakery deal", 2000),
                                       (bakery_only, "bakery", "Coffee deal", 1000),
                                       (coffee_only, "coffee", "Bakery deal", 2000)):
        outcome = apply_promotions(promotions, rec, MEMBER)
        assert [(e.code, e.amount) for e in outcome.applied] == [(winner, amount)]
        assert [(r.code, r.reason) for r in outcome.rejected] == [
            ("exclusive_group_lost",
             f"{loser}: only one promotion of group g applies, and {winner} did")]


def test_a_buy_x_get_y_shortfall_is_this_baskets() -> None:
    deal = Promotion("b3g1", "Fourth coffee free", BuyXGetY(3, COFFEE, 1, COFFEE))
    one, two = receipt(("coffee", 10000, 1)), receipt(("coffee", 10000, 2))
    # one unit, both buyable and gettable: 2 more to buy and 1 to get -> add 3 more;
    # two units: 1 more to buy, 1 to get -> add 2 more
    for rec, count in ((one, 3), (two, 2), (one, 3)):
        outcome = apply_promotions([deal], rec, MEMBER)
        assert [(r.code, r.reason) for r in outcome.rejected] == [
            ("condition_not_met",
             f"Fourth coffee free: the basket lacks: add {count} more items from coffee")]
        assert outcome.hints == (f"Add {count} more items from coffee to get Fourth coffee "
                                 f"free",)


def test_a_minimum_receipt_shortfall_is_this_receipts() -> None:
    deal = Promotion("big", "Big basket", AmountOff(5000),
                     conditions=Conditions(min_receipt_kopecks=100000))
    small, larger = receipt(("coffee", 30000, 1)), receipt(("coffee", 70000, 1))
    # 1000.00 - 300.00 = 700.00 more; 1000.00 - 700.00 = 300.00 more
    for rec, more in ((small, "700.00"), (larger, "300.00"), (small, "700.00")):
        outcome = apply_promotions([deal], rec, MEMBER)
        assert [(r.code, r.reason) for r in outcome.rejected] == [
            ("condition_not_met", f"Big basket: the basket lacks: buy for {more} more")]
        assert outcome.hints == (f"Buy for {more} more to get Big basket",)


def test_the_budget_left_is_read_from_each_receipts_usage() -> None:
    deal = Promotion("cap", "Capped", AmountOff(10000), limits=Limits(budget_kopecks=100000))
    rec = receipt(("coffee", 50000, 1))  # 100.00 off a 500.00 line, within what is left
    for left, amount, cut in ((5000, 5000, True), (3000, 3000, True), (None, 10000, False),
                              (5000, 5000, True), (0, 0, None)):
        usage = {} if left is None else {"cap": PromotionUsage(remaining_kopecks=left)}
        context = PromotionContext(member_id="m-1", store_id="s-1", usage=usage)
        outcome = apply_promotions([deal], rec, context)
        if cut is None:  # nothing left: refused in screening
            assert [(r.code, r.reason) for r in outcome.rejected] == [
                ("budget_exhausted", "Capped: its budget of money is spent")]
            assert outcome.applied == ()
            continue
        assert [(e.code, e.amount) for e in outcome.applied] == [("cap", amount)]
        assert outcome.applied[0].rule == "100.00 off the receipt" + (
            " (cut to the remaining budget)" if cut else "")
        assert outcome.line_discounts == (amount,)


def test_lines_taken_and_no_benefit_follow_the_receipt() -> None:
    alone = Promotion("alone", "Alone", PercentOff(Decimal(50), COFFEE), priority=1,
                      stackable=False)
    later = Promotion("later", "Later", AmountOff(1000, COFFEE), stackable=False)
    promotions = [alone, later]
    coffee, bakery = receipt(("coffee", 10000, 1)), receipt(("bakery", 10000, 1))
    # coffee: "alone" (higher priority) closes the line, "later" finds it taken;
    # bakery: neither has a line to act on
    for rec, expected in ((coffee, [("later", "lines_taken",
                                     "Later: its lines were taken by promotions applied "
                                     "before it")]),
                          (bakery, [("alone", "no_benefit",
                                     "Alone: nothing on this receipt it can discount"),
                                    ("later", "no_benefit",
                                     "Later: nothing on this receipt it can discount")]),
                          (coffee, [("later", "lines_taken",
                                     "Later: its lines were taken by promotions applied "
                                     "before it")])):
        outcome = apply_promotions(promotions, rec, MEMBER)
        assert [(r.promotion_id, r.code, r.reason) for r in outcome.rejected] == expected


def test_a_promotion_whose_goods_are_absent_is_refused_in_its_turn() -> None:
    """Goods not on the receipt: the reward reads no line, gives nothing and is refused
    without computing it (`_Candidate.idle`), in the order a computed refusal would take:
    after the promotions of its priority that give something, by id among those that give
    nothing, and an exclusivity group already won names its winner."""
    tea = Goods(categories=("tea",))
    coffee_deal = Promotion("c-coffee", "Coffee", PercentOff(Decimal(10), COFFEE),
                            exclusivity_group="g")
    tea_deal = Promotion("a-tea", "Tea", PercentOff(Decimal(10), tea), exclusivity_group="g")
    tea_bundle = Promotion("b-tea", "Tea bundle", BuyXGetY(2, tea, 1, tea))
    pastry = Promotion("d-pastry", "Pastry", AmountOff(500, BAKERY))
    promotions = [pastry, tea_bundle, tea_deal, coffee_deal]
    coffee_only = receipt(("coffee", 20000, 1))
    tea_too = receipt(("coffee", 20000, 1), ("tea", 30000, 3))
    for rec, applied, rejected in (
            # coffee gives 20.00 and wins group g; tea (a-) then loses the group, the tea
            # bundle lacks 3 items, pastry finds no bakery line
            (coffee_only, [("c-coffee", 2000)],
             [("a-tea", "exclusive_group_lost"), ("b-tea", "condition_not_met"),
              ("d-pastry", "no_benefit")]),
            # tea: 3 x 300.00, the bundle frees one (300.00) and goes first; then 10% of the
            # 600.00 left on tea (60.00) beats 10% of coffee (20.00) for group g
            (tea_too, [("b-tea", 30000), ("a-tea", 6000)],
             [("c-coffee", "exclusive_group_lost"), ("d-pastry", "no_benefit")]),
            (coffee_only, [("c-coffee", 2000)],
             [("a-tea", "exclusive_group_lost"), ("b-tea", "condition_not_met"),
              ("d-pastry", "no_benefit")])):
        outcome = apply_promotions(promotions, rec, MEMBER)
        assert [(e.code, e.amount) for e in outcome.applied] == applied
        assert [(r.promotion_id, r.code) for r in outcome.rejected] == rejected
    refusals = {r.promotion_id: r for r in apply_promotions(promotions, coffee_only,
                                                            MEMBER).rejected}
    assert refusals["b-tea"].reason == "Tea bundle: the basket lacks: add 3 more items from tea"
    assert refusals["d-pastry"].reason == "Pastry: nothing on this receipt it can discount"
    assert apply_promotions(promotions, coffee_only, MEMBER).hints == (
        "Add 3 more items from tea to get Tea bundle",)


def test_a_promotion_with_absent_goods_does_not_take_its_exclusivity_group() -> None:
    """An idle promotion (its goods are not on the receipt) gives nothing, so it does not take
    its group: the next promotion of the group applies."""
    tea = Goods(categories=("tea",))
    first = Promotion("a-tea", "Tea", PercentOff(Decimal(50), tea), priority=2,
                      exclusivity_group="g")
    second = Promotion("b-coffee", "Coffee", PercentOff(Decimal(10), COFFEE),
                       exclusivity_group="g")
    outcome = apply_promotions([first, second], receipt(("coffee", 20000, 1)), MEMBER)
    assert [(e.code, e.amount) for e in outcome.applied] == [("b-coffee", 2000)]
    assert [(r.promotion_id, r.code) for r in outcome.rejected] == [("a-tea", "no_benefit")]
