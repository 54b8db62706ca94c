"""Hand-computed till scenarios on the pure `evaluate`, one group per example program, then
the general rules: multipliers, redeeming, exclusions, allocation, weighed goods, no member,
invalid receipts.

Every expected figure below is worked out in the comment next to it, from the program text
and the documented order of effects in `kopilka.domain.evaluation`; none is read back from
the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from kopilka.app.program_document import parse_program
from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import (
    MAX_LINES,
    Evaluation,
    Line,
    MemberState,
    Receipt,
    evaluate,
)
from kopilka.domain.program import Program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MSK = timezone(timedelta(hours=3))
WEDNESDAY = datetime(2026, 3, 4, 14, 0, tzinfo=MSK)
SATURDAY = datetime(2026, 3, 7, 9, 30, tzinfo=MSK)


def example(name: str) -> Program:
    return parse_program((EXAMPLES / name).read_text(encoding="utf-8"))


def rub(text: str) -> int:
    """Money string to kopecks (test-side, independent of the code under test)."""
    return int(Decimal(text) * 100)


def line(line_id: str, price: str, quantity: str = "1", *, category: str | None = None,
         sku: str | None = None, discountable: bool = True) -> Line:
    return Line(line_id=line_id, sku=sku or f"SKU-{line_id}", unit_price=rub(price),
                quantity=Decimal(quantity), category=category, discountable=discountable)


def receipt(*lines: Line, at: datetime = WEDNESDAY, redeem: int | str = 0,
            channel: str = "offline", payment_methods: tuple[str, ...] = ()) -> Receipt:
    return Receipt(lines=tuple(lines), occurred_at=at, channel=channel,
                   payment_methods=payment_methods, redeem_points=redeem)


def member(*, tier: str | None = None, spendable: int = 0, available: int | None = None,
           qualifying: str = "0") -> MemberState:
    return MemberState(tier_code=tier, spendable=spendable,
                       available=spendable if available is None else available,
                       qualifying_value=rub(qualifying))


def by_line(result: Evaluation, field: str) -> list[int]:
    return [getattr(x, field) for x in result.lines]


def kinds(result: Evaluation) -> list[tuple[str, str]]:
    return [(e.kind, e.code) for e in result.applied]


def rejected(result: Evaluation) -> list[str]:
    return [r.code for r in result.rejected]


def assert_consistent(result: Evaluation) -> None:
    """What every evaluation promises, whatever the scenario."""
    assert sum(by_line(result, "total")) == result.total_payable
    assert (result.subtotal - result.discount_total - result.points_redeemed_value
            == result.total_payable)
    assert sum(by_line(result, "discount")) == result.discount_total
    assert sum(by_line(result, "points_redeemed_value")) == result.points_redeemed_value
    assert sum(by_line(result, "points_redeemed")) == result.points_redeemed
    assert sum(by_line(result, "points_earned")) == result.points_earned


# --- tiers-discount.yaml: the seeds' tier example -------------------------------------------

TIERS = example("tiers-discount.yaml")


def test_tier_program_reads_as_the_seeds_describe() -> None:
    tiers = TIERS.tiers
    assert tiers is not None
    assert [(t.code, t.threshold, t.discount_percent) for t in tiers.levels] == [
        ("base", 0, Decimal(0)), ("silver", rub("5000"), Decimal(5)),
        ("gold", rub("10000"), Decimal(10)), ("platinum", rub("20000"), Decimal(15))]
    assert TIERS.earn == () and TIERS.burn is None


def test_base_member_gets_no_discount_and_is_told_what_is_missing_for_silver() -> None:
    result = evaluate(TIERS, receipt(line("1", "3000.00")), member(tier="base"))
    assert (result.subtotal, result.discount_total, result.total_payable) == (
        rub("3000"), 0, rub("3000"))
    assert result.applied == ()  # 0% gives no discount effect, no upgrade
    # 5,000 - 3,000 = 2,000 missing for Silver
    assert result.messages == ("Buy for 2000.00 more to reach Silver",)
    assert (result.tier_before, result.tier_after) == ("base", "base")
    assert result.qualifying_value == rub("3000")  # the paid amount adds to the measure
    assert result.points_earned == 0 and result.accruals == ()
    assert_consistent(result)


def test_a_member_without_a_tier_is_at_the_entry_level() -> None:
    result = evaluate(TIERS, receipt(line("1", "100.00")), member(tier=None))
    assert (result.tier_before, result.tier_after) == ("base", "base")
    assert result.messages == ("Buy for 4900.00 more to reach Silver",)


def test_the_purchase_that_crosses_5000_upgrades_to_silver() -> None:
    # 4,000 so far + 1,500 paid now = 5,500 >= 5,000: Silver from this purchase on; the
    # purchase itself is still priced at the Base tier's 0%.
    result = evaluate(TIERS, receipt(line("1", "1500.00")),
                      member(tier="base", qualifying="4000.00"))
    assert result.discount_total == 0
    assert (result.tier_before, result.tier_after) == ("base", "silver")
    (upgrade,) = result.applied
    assert (upgrade.kind, upgrade.code, upgrade.name) == ("tier", "tiers", "tier Silver")
    assert upgrade.rule == "upgrade from Base to Silver"
    # next: Gold at 10,000: 10,000 - 5,500 = 4,500
    assert result.messages == ("Buy for 4500.00 more to reach Gold",)


def test_just_below_the_threshold_stays_and_is_told_the_exact_kopecks() -> None:
    result = evaluate(TIERS, receipt(line("1", "999.99")),
                      member(tier="base", qualifying="4000.00"))
    assert result.tier_after == "base"
    assert result.messages == ("Buy for 0.01 more to reach Silver",)


def test_exactly_at_the_threshold_upgrades() -> None:
    result = evaluate(TIERS, receipt(line("1", "1000.00")),
                      member(tier="base", qualifying="4000.00"))
    assert result.tier_after == "silver"


def test_silver_gets_5_percent_but_never_on_gift_cards() -> None:
    result = evaluate(TIERS, receipt(line("1", "2000.00", category="electronics/cameras"),
                                     line("2", "1000.00", category="gift-cards/plastic")),
                      member(tier="silver", qualifying="5500.00"))
    # 5% of the 2,000 that may be discounted = 100.00; the gift card keeps its price
    assert result.discount_total == rub("100")
    assert by_line(result, "discount") == [rub("100"), 0]
    assert by_line(result, "total") == [rub("1900"), rub("1000")]
    assert result.total_payable == rub("2900")
    (discount,) = result.applied
    assert (discount.kind, discount.code, discount.amount, discount.line_ids) == (
        "discount", "tiers", rub("100"), ("1",))
    assert discount.rule == "5% off by the tier Silver"
    # 5,500 + 2,900 paid = 8,400; Gold at 10,000 is 1,600 away
    assert result.tier_after == "silver"
    assert result.messages == ("Buy for 1600.00 more to reach Gold",)
    assert_consistent(result)


def test_gold_gets_10_percent_and_the_crossing_purchase_upgrades_to_platinum() -> None:
    # 19,000 so far; 2,000 at 10% = 200.00 off, 1,800 paid: 20,800 >= 20,000
    result = evaluate(TIERS, receipt(line("1", "2000.00")),
                      member(tier="gold", qualifying="19000.00"))
    assert (result.discount_total, result.total_payable) == (rub("200"), rub("1800"))
    assert (result.tier_before, result.tier_after) == ("gold", "platinum")
    assert kinds(result) == [("discount", "tiers"), ("tier", "tiers")]
    assert result.messages == ()  # nothing above Platinum


def test_platinum_gets_15_percent() -> None:
    result = evaluate(TIERS, receipt(line("1", "1234.56")),
                      member(tier="platinum", qualifying="30000.00"))
    # floor(123456 x 15%) = floor(18518.4) = 18518 kopecks
    assert result.discount_total == 18518
    assert result.total_payable == 123456 - 18518
    assert result.tier_after == "platinum" and result.messages == ()


def test_one_big_purchase_skips_silver_and_lands_in_gold() -> None:
    result = evaluate(TIERS, receipt(line("1", "12000.00")), member(tier="base"))
    assert result.tier_after == "gold"
    assert [e.rule for e in result.applied] == ["upgrade from Base to Gold"]
    assert result.messages == ("Buy for 8000.00 more to reach Platinum",)


def test_the_tier_never_moves_down_at_the_till() -> None:
    # a Gold member with little spend this year keeps Gold (downgrades are the review's job)
    result = evaluate(TIERS, receipt(line("1", "100.00")), member(tier="gold"))
    assert (result.tier_before, result.tier_after) == ("gold", "gold")
    assert result.discount_total == rub("10")
    assert result.messages == ("Buy for 19910.00 more to reach Platinum",)


# --- bonus.yaml ----------------------------------------------------------------------------

BONUS = example("bonus.yaml")


def test_bonus_under_3000_earns_5_percent_pending_14_days_expiring_after_180() -> None:
    at = datetime(2026, 3, 4, 12, 30, tzinfo=MSK)
    result = evaluate(BONUS, receipt(line("1", "1000.00"), at=at), member())
    # 5% of 1,000.00 = 50.00 RUB = 50 points (1 point = 1 RUB)
    assert result.points_earned == 50
    assert result.points_earned_pending == 50  # not spendable before the return window ends
    (accrual,) = result.accruals
    assert (accrual.rule_id, accrual.currency, accrual.points) == ("base", "points", 50)
    assert accrual.activates_at == datetime(2026, 3, 18, 12, 30, tzinfo=MSK)
    assert accrual.expires_at == datetime(2026, 8, 31, 12, 30, tzinfo=MSK)  # +180 days
    assert by_line(result, "points_earned") == [50]
    (earned,) = result.applied
    assert (earned.kind, earned.code, earned.points) == ("points_earned", "base", 50)
    assert earned.rule == "5% of the paid amount, pending 14 days"
    assert result.messages == ("Buy for 2000.00 more to earn 10%",)
    assert result.burn_currency == "points"
    assert (result.tier_before, result.tier_after) == (None, None)


def test_bonus_from_3000_earns_10_percent() -> None:
    result = evaluate(BONUS, receipt(line("1", "3000.00")), member())
    assert result.points_earned == 300 and result.messages == ()


def test_bonus_ladder_uses_what_is_paid_in_money_after_points() -> None:
    # 3,100.00 minus 200 points = 2,900.00 paid: below 3,000, so 5% = 145 points
    result = evaluate(BONUS, receipt(line("1", "3100.00"), redeem=200), member(spendable=1000))
    assert (result.points_redeemed, result.points_redeemed_value) == (200, rub("200"))
    assert result.total_payable == rub("2900")
    assert result.points_earned == 145
    assert result.messages == ("Buy for 100.00 more to earn 10%",)
    assert_consistent(result)


def test_bonus_fractions_of_a_point_are_floored() -> None:
    # 5% of 99.99 = 4.9995 points -> 4
    result = evaluate(BONUS, receipt(line("1", "99.99")), member())
    assert result.points_earned == 4


def test_tobacco_neither_earns_nor_is_paid_with_points() -> None:
    result = evaluate(BONUS, receipt(line("1", "500.00", category="tobacco/cigarettes"),
                                     line("2", "1500.00", category="groceries"),
                                     redeem="max"), member(spendable=10_000))
    # cap: 30% of 2,000 = 600.00, the groceries (1,500) can take it all: 600 points
    assert result.max_redeemable_points == 600
    assert result.points_redeemed == 600
    assert by_line(result, "points_redeemed_value") == [0, rub("600")]
    assert by_line(result, "points_redeemed") == [0, 600]
    assert by_line(result, "total") == [rub("500"), rub("900")]
    assert result.total_payable == rub("1400")
    # earn: the ladder looks at 1,400 paid (5%), tobacco earns nothing: 5% of 900 = 45
    assert by_line(result, "points_earned") == [0, 45]
    assert result.points_earned == 45
    (spent,) = [e for e in result.applied if e.kind == "points_redeemed"]
    assert (spent.code, spent.points, spent.amount, spent.line_ids) == (
        "pay-with-points", 600, rub("600"), ("2",))
    assert_consistent(result)


def test_points_cap_is_the_eligible_lines_when_they_are_below_the_share() -> None:
    # 30% of 1,800 = 540.00, but only the 300.00 of non-tobacco goods can be paid with points
    result = evaluate(BONUS, receipt(line("1", "1500.00", category="tobacco"),
                                     line("2", "300.00", category="groceries")),
                      member(spendable=10_000))
    assert result.max_redeemable_points == 300
    assert result.points_redeemed == 0  # nothing asked, the maximum is only offered


def test_redeem_max_a_number_and_too_many() -> None:
    order = line("1", "1000.00")
    # cap: 30% of 1,000 = 300; the member has 500
    exact = evaluate(BONUS, receipt(order, redeem=100), member(spendable=500))
    assert (exact.points_redeemed, exact.points_redeemed_value) == (100, rub("100"))
    assert exact.max_redeemable_points == 300 and exact.rejected == ()

    most = evaluate(BONUS, receipt(order, redeem="max"), member(spendable=500))
    assert (most.points_redeemed, most.points_redeemed_value) == (300, rub("300"))
    assert most.rejected == ()
    assert most.total_payable == rub("700")
    assert most.points_earned == 35  # 5% of 700

    too_many = evaluate(BONUS, receipt(order, redeem=400), member(spendable=500))
    assert rejected(too_many) == ["redeem_capped"]
    assert "400 points asked, at most 300" in too_many.rejected[0].reason
    assert too_many.points_redeemed == 300  # capped to what is allowed, not refused entirely

    poor = evaluate(BONUS, receipt(order, redeem="max"), member(spendable=120))
    assert (poor.max_redeemable_points, poor.points_redeemed) == (120, 120)

    over_balance = evaluate(BONUS, receipt(order, redeem=200), member(spendable=120))
    assert rejected(over_balance) == ["redeem_capped"]
    assert over_balance.points_redeemed == 120


def test_redeem_with_no_points_at_all() -> None:
    result = evaluate(BONUS, receipt(line("1", "1000.00"), redeem="max"), member(spendable=0))
    assert (result.max_redeemable_points, result.points_redeemed) == (0, 0)
    assert result.rejected == ()
    assert [e.kind for e in result.applied] == ["points_earned"]
    asked = evaluate(BONUS, receipt(line("1", "1000.00"), redeem=5), member(spendable=0))
    assert rejected(asked) == ["redeem_capped"] and asked.points_redeemed == 0


# --- cashback.yaml: a currency with scale 2 -------------------------------------------------

CASHBACK = example("cashback.yaml")
NOV = datetime(2026, 11, 22, 12, 30, tzinfo=MSK)


def test_cashback_is_kept_to_the_kopeck_and_burns_at_the_end_of_next_year() -> None:
    result = evaluate(CASHBACK, receipt(line("1", "123.45"), at=NOV), member())
    # 3% of 123.45 = 3.7035 bonus rubles -> 3.70 = 370 minor units (floor)
    assert result.points_earned == 370
    assert result.points_earned_pending == 0  # spendable at once
    (accrual,) = result.accruals
    assert (accrual.currency, accrual.points, accrual.activates_at) == ("rub_bonus", 370, None)
    # cashback of 2026 lasts until 31 December 2027
    assert accrual.expires_at == datetime(2028, 1, 1, tzinfo=MSK)
    assert result.burn_currency == "rub_bonus"
    assert result.applied[0].name == "3% in Bonus rubles"


def test_cashback_pays_all_but_one_ruble() -> None:
    result = evaluate(CASHBACK, receipt(line("1", "123.45"), at=NOV, redeem="max"),
                      member(spendable=50_000))  # 500.00 bonus rubles
    # 100% share, but 1.00 RUB must be paid in money: 122.45 = 12245 minor units
    assert result.max_redeemable_points == 12245
    assert (result.points_redeemed, result.points_redeemed_value) == (12245, 12245)
    assert result.total_payable == 100
    # 3% of 1.00 = 0.03 bonus rubles = 3 minor units
    assert result.points_earned == 3
    assert_consistent(result)


def test_cashback_partly_paid_with_a_small_balance() -> None:
    result = evaluate(CASHBACK, receipt(line("1", "123.45"), at=NOV, redeem="max"),
                      member(spendable=5_000))  # 50.00 bonus rubles
    assert (result.points_redeemed, result.points_redeemed_value) == (5000, 5000)
    assert result.total_payable == 7345
    # 3% of 73.45 = 2.2035 -> 2.20
    assert result.points_earned == 220


def test_cashback_end_of_year_expiry_from_january_and_december() -> None:
    january = evaluate(CASHBACK, receipt(line("1", "100.00"),
                                         at=datetime(2026, 1, 1, 0, 0, tzinfo=MSK)), member())
    december = evaluate(CASHBACK, receipt(line("1", "100.00"),
                                          at=datetime(2026, 12, 31, 23, 59, tzinfo=MSK)),
                        member())
    assert january.accruals[0].expires_at == datetime(2028, 1, 1, tzinfo=MSK)
    assert december.accruals[0].expires_at == datetime(2028, 1, 1, tzinfo=MSK)


# --- multipliers ----------------------------------------------------------------------------

MULTIPLIERS = parse_program("""
name: Multipliers
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Points, value: "1.00"}]
earn:
  - id: base
    percent: "5"
    multipliers:
      - {id: online-x2, factor: "2", when: {channels: [online]}}
      - {id: coffee-x3, factor: "3", when: {categories: [coffee]}}
      - {id: weekend-x1.5, factor: "1.5", when: {weekdays: [6, 7]}}
      - {id: morning-x2, factor: "2", when: {hours: {from: 8, to: 11}}}
      - {id: sbp-x2, factor: "2", when: {payment_methods: [sbp]}}
""")


def test_category_multiplier_only_on_matching_lines() -> None:
    assert WEDNESDAY.isoweekday() == 3
    result = evaluate(MULTIPLIERS, receipt(line("1", "1000.00", category="coffee/beans"),
                                           line("2", "1000.00", category="tea")), member())
    # coffee: 5% x3 = 150; tea: 5% = 50
    assert by_line(result, "points_earned") == [150, 50]
    assert result.points_earned == 200
    mult = [e for e in result.applied if e.kind == "points_multiplier"]
    assert [(e.code, e.line_ids) for e in mult] == [("coffee-x3", ("1",))]


def test_channel_weekday_hour_and_payment_multipliers_compound() -> None:
    assert SATURDAY.isoweekday() == 6
    result = evaluate(MULTIPLIERS, receipt(line("1", "1000.00", category="coffee"),
                                           line("2", "1000.00", category="tea"),
                                           at=SATURDAY, channel="online",
                                           payment_methods=("card", "sbp")), member())
    # coffee: 50 x2 (online) x3 x1.5 (Saturday) x2 (09:30) x2 (sbp) = 1800; tea: 50 x12 = 600
    assert by_line(result, "points_earned") == [1800, 600]
    mult = {e.code: e.line_ids for e in result.applied if e.kind == "points_multiplier"}
    assert mult == {"online-x2": ("1", "2"), "coffee-x3": ("1",), "weekend-x1.5": ("1", "2"),
                    "morning-x2": ("1", "2"), "sbp-x2": ("1", "2")}
    assert_consistent(result)


@pytest.mark.parametrize(("hour", "minute", "expected"), [
    (7, 59, 50), (8, 0, 100), (10, 59, 100), (11, 0, 50)])
def test_hours_window_includes_its_start_and_excludes_its_end(hour: int, minute: int,
                                                              expected: int) -> None:
    at = WEDNESDAY.replace(hour=hour, minute=minute)
    result = evaluate(MULTIPLIERS, receipt(line("1", "1000.00"), at=at), member())
    assert result.points_earned == expected


def test_weekday_and_hour_are_read_in_the_receipts_own_time() -> None:
    # Friday 22:30 UTC is Saturday 01:30 in Moscow: the weekend bonus applies to the
    # Moscow till's receipt, not to the same instant written in UTC.
    moscow = datetime(2026, 3, 7, 1, 30, tzinfo=MSK)
    utc = moscow.astimezone(UTC)
    assert (moscow.isoweekday(), utc.isoweekday()) == (6, 5)
    assert evaluate(MULTIPLIERS, receipt(line("1", "1000.00"), at=moscow),
                    member()).points_earned == 75
    assert evaluate(MULTIPLIERS, receipt(line("1", "1000.00"), at=utc),
                    member()).points_earned == 50


def test_offline_channel_and_other_payment_do_not_match() -> None:
    result = evaluate(MULTIPLIERS, receipt(line("1", "1000.00"), payment_methods=("cash",)),
                      member())
    assert result.points_earned == 50
    assert not [e for e in result.applied if e.kind == "points_multiplier"]


# --- burn rules: minimum balance, combination with discounts, discounted lines --------------

def _program(extra: str) -> Program:
    return parse_program("""
name: Custom
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
""" + extra)


def test_spending_starts_only_from_the_minimum_balance() -> None:
    program = _program("burn: {id: burn, max_share_percent: '50', min_balance: 500}\n")
    order = line("1", "1000.00")
    low = evaluate(program, receipt(order, redeem=100), member(spendable=400))
    assert rejected(low) == ["below_min_balance"]
    assert low.points_redeemed == 0 and low.max_redeemable_points == 0
    assert low.total_payable == rub("1000") and low.points_earned == 100
    silent = evaluate(program, receipt(order), member(spendable=400))
    assert silent.rejected == ()  # nothing asked, nothing refused
    enough = evaluate(program, receipt(order, redeem=100), member(spendable=500))
    assert enough.rejected == () and enough.points_redeemed == 100
    assert enough.max_redeemable_points == 500  # 50% of 1,000 = 500, balance 500


def test_the_minimum_balance_looks_at_the_available_balance() -> None:
    program = _program("burn: {id: burn, min_balance: 500}\n")
    # 600 available but only 300 spendable (e.g. a debt or a floor): may start spending
    result = evaluate(program, receipt(line("1", "1000.00"), redeem="max"),
                      member(spendable=300, available=600))
    assert result.points_redeemed == 300 and result.rejected == ()


def test_points_do_not_combine_with_a_discount_when_the_program_says_so() -> None:
    program = _program("""
burn: {id: burn, combine_with_discounts: false}
discount:
  id: disc
  ladder: [{from: "1000.00", percent: "10"}]
""")
    with_discount = evaluate(program, receipt(line("1", "1000.00"), redeem=50),
                             member(spendable=500))
    assert with_discount.discount_total == rub("100")
    assert rejected(with_discount) == ["not_combinable"]
    assert with_discount.points_redeemed == 0
    # 10% of the 900 paid = 90 points
    assert with_discount.points_earned == 90
    # below the ladder's first step there is no discount: points may pay
    without = evaluate(program, receipt(line("1", "999.00"), redeem=50), member(spendable=500))
    assert without.discount_total == 0
    assert without.rejected == () and without.points_redeemed == 50
    assert without.messages[0] == "Buy for 1.00 more to get a 10% discount"


def test_discounted_lines_can_be_excluded_from_paying_with_points() -> None:
    program = _program("""
burn: {id: burn, exclude: {discounted: true}}
discount: {id: disc, percent: "10"}
""")
    result = evaluate(program, receipt(line("1", "1000.00"),
                                       line("2", "1000.00", discountable=False),
                                       redeem="max"), member(spendable=5_000))
    assert by_line(result, "discount") == [rub("100"), 0]
    # only the undiscounted line may be paid with points: at most 1,000
    assert result.max_redeemable_points == 1000
    assert by_line(result, "points_redeemed_value") == [0, rub("1000")]
    assert by_line(result, "total") == [rub("900"), 0]
    # the line paid entirely with points earns nothing: 10% of 900 = 90
    assert by_line(result, "points_earned") == [90, 0]
    assert_consistent(result)


def test_min_cash_larger_than_the_receipt_allows_no_points() -> None:
    program = _program("burn: {id: burn, min_cash: '50.00'}\n")
    result = evaluate(program, receipt(line("1", "40.00"), redeem="max"), member(spendable=100))
    assert result.max_redeemable_points == 0 and result.points_redeemed == 0


def test_a_program_without_burn_refuses_points() -> None:
    result = evaluate(TIERS, receipt(line("1", "100.00"), redeem=10), member(spendable=100))
    assert rejected(result) == ["no_burn_rule"]
    assert result.points_redeemed == 0 and result.burn_currency is None


# --- allocation and rounding visible in line amounts ----------------------------------------

def test_discount_of_one_ruble_over_three_equal_lines_is_34_33_33() -> None:
    program = _program("discount: {id: disc, percent: '1'}\n")
    result = evaluate(program, receipt(line("1", "33.34"), line("2", "33.34"),
                                       line("3", "33.34")), member())
    # 1% of 100.02 = 1.0002 -> 1.00 (floored to the kopeck), split 34/33/33: the leftover
    # kopeck of an exact tie goes to the first line
    assert result.discount_total == 100
    assert by_line(result, "discount") == [34, 33, 33]
    assert by_line(result, "total") == [3300, 3301, 3301]
    assert_consistent(result)


def test_one_point_over_three_equal_lines_is_34_33_33_kopecks() -> None:
    result = evaluate(BONUS, receipt(line("a", "1000.00"), line("b", "1000.00"),
                                     line("c", "1000.00"), redeem=1), member(spendable=10))
    assert by_line(result, "points_redeemed_value") == [34, 33, 33]
    assert by_line(result, "points_redeemed") == [1, 0, 0]
    assert by_line(result, "total") == [99966, 99967, 99967]
    # 2,999.00 paid is below 3,000: 5% = 149.95 -> 149 points over the lines
    assert result.points_earned == 149
    assert_consistent(result)


def test_largest_remainder_favours_the_largest_fraction_not_the_first_line() -> None:
    program = _program("discount: {id: disc, percent: '10'}\n")
    # 10% of (10.01 + 20.02 + 0.03) = 3.006 -> 3.00: 300 kopecks over weights 1001, 2002, 3
    result = evaluate(program, receipt(line("1", "10.01"), line("2", "20.02"),
                                       line("3", "0.03")), member())
    assert result.discount_total == 300
    # exact: 300 x 1001/3006 = 99.90, 300 x 2002/3006 = 199.80, 300 x 3/3006 = 0.299
    # floors 99 + 199 + 0 = 298; the two kopecks go to .90 and .80
    assert by_line(result, "discount") == [100, 200, 0]


def test_thirds_of_a_point_add_up_exactly() -> None:
    """Earning is exact: three lines of a third of a point each earn one whole point (a
    28-digit decimal sum of 0.333... would be 0.999... and floor to nothing)."""
    program = parse_program("""
name: Thirds
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Points, value: "3.00"}]
earn: [{id: base, percent: "1"}]
""")
    # 1% of 100.00 = 1.00 RUB = 1/3 of a point worth 3.00, on each of three lines
    result = evaluate(program, receipt(line("1", "100.00"), line("2", "100.00"),
                                       line("3", "100.00")), member())
    assert result.points_earned == 1
    assert by_line(result, "points_earned") == [1, 0, 0]
    single = evaluate(program, receipt(line("1", "100.00")), member())
    assert single.points_earned == 0


# --- weighed goods --------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "quantity", "amount"), [
    ("45.50", "1.234", 5615),  # 56.147 -> 56.15
    ("99.99", "1.234", 12339),  # 123.38766 -> 123.39
    ("2.50", "1.234", 309),  # 3.085 -> 3.09 (half up; half-even would give 3.08)
    ("0.25", "0.5", 13),  # 0.125 -> 0.13
    ("0.01", "0.001", 0),  # 0.00001 -> 0.00
    ("100.00", "3", 30000),
])
def test_weighed_goods_round_half_up_to_the_kopeck(price: str, quantity: str,
                                                   amount: int) -> None:
    result = evaluate(BONUS, receipt(line("1", price, quantity)), member())
    (only,) = result.lines
    assert only.amount == amount == result.subtotal == result.total_payable
    assert only.quantity == Decimal(quantity)


# --- no member ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bonus.yaml", "cashback.yaml", "tiers-discount.yaml"])
def test_without_a_member_nothing_applies(name: str) -> None:
    result = evaluate(example(name), receipt(line("1", "5000.00"), line("2", "1.00"),
                                             redeem="max"), None)
    assert result.subtotal == result.total_payable == rub("5001")
    assert (result.discount_total, result.points_redeemed, result.points_redeemed_value,
            result.points_earned, result.points_earned_pending,
            result.max_redeemable_points) == (0, 0, 0, 0, 0, 0)
    assert result.applied == () and result.accruals == () and result.messages == ()
    assert rejected(result) == ["no_member"]
    assert (result.tier_before, result.tier_after, result.qualifying_value) == (None, None, 0)
    assert all(x.discount == x.points_earned == x.points_redeemed == 0 for x in result.lines)


# --- invalid receipts -----------------------------------------------------------------------

def _invalid(bad: Receipt, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        evaluate(BONUS, bad, member())
    assert caught.value.code == code
    assert caught.value.status == 422


def test_an_empty_receipt_is_refused() -> None:
    _invalid(receipt(), "empty_receipt")


def test_duplicate_line_ids_are_refused() -> None:
    _invalid(receipt(line("1", "1.00"), line("2", "1.00"), line("1", "2.00")),
             "duplicate_line_id")


def test_a_time_without_a_zone_is_refused() -> None:
    _invalid(receipt(line("1", "1.00"), at=datetime(2026, 3, 4, 12, 0)), "invalid_time")


@pytest.mark.parametrize(("price", "quantity"), [("-1.00", "1"), ("1.00", "0"),
                                                 ("1.00", "-1")])
def test_negative_prices_and_non_positive_quantities_are_refused(price: str,
                                                                 quantity: str) -> None:
    _invalid(receipt(line("1", price, quantity)), "invalid_line")


def test_too_many_lines_are_refused() -> None:
    lines = [line(str(i), "1.00") for i in range(MAX_LINES + 1)]
    _invalid(receipt(*lines), "too_many_lines")
    assert evaluate(BONUS, receipt(*lines[:MAX_LINES]), None).subtotal == MAX_LINES * 100


def test_invalid_receipts_are_refused_even_without_a_member() -> None:
    with pytest.raises(InvalidInput):
        evaluate(BONUS, receipt(), None)


def test_a_free_line_is_allowed_and_gets_nothing() -> None:
    result = evaluate(BONUS, receipt(line("1", "0.00"), line("2", "100.00"), redeem="max"),
                      member(spendable=100))
    assert by_line(result, "total")[0] == 0
    assert by_line(result, "points_redeemed_value")[0] == 0
    assert_consistent(result)
