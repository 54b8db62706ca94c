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
