"""Promotions at the till through the library, on SQLite and PostgreSQL: hand-computed
scenarios for discounts with codes and budgets, cancel giving budgets back, a return that
breaks buy-X-get-Y, extra points, single-use codes, control groups and "not with points".
Every scenario ends with the ledger verifier finding nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kopilka.app.library import Kopilka
from kopilka.app.program_document import parse_program
from tests.integration.test_till_flow import (
    STORE,
    assert_books_whole,
    available,
    enrol,
    line,
    receipt,
)

PROGRAM = """\
name: Promo test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
burn: {id: pay, max_share_percent: "50"}
"""


@pytest.fixture
def k(kopilka: Kopilka) -> Kopilka:
    kopilka.apply_program(parse_program(PROGRAM))
    return kopilka


def promote(k: Kopilka, **document: Any) -> None:
    assert k.create_promotion(document).status == 201


def with_codes(rcpt: Any, *codes: str) -> Any:
    from dataclasses import replace
    return replace(rcpt, promo_codes=codes)


def used(k: Kopilka, promotion_id: str) -> dict[str, Any]:
    return k.promotion(promotion_id)["used"]


def applied(body: dict[str, Any], promotion_id: str) -> dict[str, Any] | None:
    return next((a for a in body["applied"] if a["code"] == promotion_id), None)


def rejected_codes(body: dict[str, Any], promotion_id: str) -> list[str]:
    return [r["code"] for r in body["rejected"] if r.get("promotion_id") == promotion_id]


def test_code_discount_within_a_budget_given_back_on_cancel(k: Kopilka) -> None:
    promote(k, id="autumn", name="Autumn 10%", requires_code=True,
            reward={"type": "percent_off", "percent": "10"}, limits={"budget": "150.00"})
    k.add_promo_code("autumn", code="AUTUMN")
    a, b, c = enrol(k), enrol(k), enrol(k)

    without = k.calculate(receipt("r0", a)).body
    assert without["discount_total"] == "0.00"
    assert rejected_codes(without, "autumn") == ["code_required"]

    first = k.confirm(with_codes(receipt("r1", a), "autumn")).body
    assert (first["discount_total"], first["total_payable"]) == ("100.00", "900.00")
    assert first["points_earned"] == 90  # 10% of what is paid
    assert applied(first, "autumn")["amount"] == "100.00"
    assert used(k, "autumn") == {"amount": "100.00", "points": 0, "count": 1}

    second = k.confirm(with_codes(receipt("r2", b), "AUTUMN")).body  # 50.00 left: capped
    assert (second["discount_total"], second["total_payable"]) == ("50.00", "950.00")
    assert used(k, "autumn") == {"amount": "150.00", "points": 0, "count": 2}

    third = k.confirm(with_codes(receipt("r3", c), "AUTUMN")).body
    assert third["discount_total"] == "0.00"
    assert rejected_codes(third, "autumn") == ["budget_exhausted"]

    k.cancel_receipt(STORE, "r2")
    assert used(k, "autumn") == {"amount": "100.00", "points": 0, "count": 1}
    again = k.confirm(with_codes(receipt("r4", c), "AUTUMN")).body
    assert again["discount_total"] == "50.00"
    assert_books_whole(k)


def test_line_totals_sum_to_the_payable_total_with_promotions_and_points(k: Kopilka) -> None:
    promote(k, id="coffee", name="Coffee 15%", reward={
        "type": "percent_off", "percent": "15", "goods": {"categories": ["coffee"]}})
    member = enrol(k)
    k.earn(member, 1000)
    body = k.calculate(receipt("r1", member, line("1", "333.33", "3", "coffee/beans"),
                               line("2", "99.99", "1", "tea"), redeem="max")).body
    totals = sum(int(x["total"].replace(".", "")) for x in body["lines"])
    assert totals == int(body["total_payable"].replace(".", ""))
    coffee = body["lines"][0]
    assert coffee["discount"] == "149.99"  # 15% of 999.99, floored
    assert body["lines"][1]["discount"] == "0.00"


def test_a_return_that_breaks_buy_x_get_y_claws_back_the_free_item(k: Kopilka) -> None:
    promote(k, id="coffee3", name="Third coffee free", reward={
        "type": "buy_x_get_y", "buy": {"categories": ["coffee"], "quantity": 2},
        "get": {"categories": ["coffee"], "quantity": 1}})
    member = enrol(k)
    body = k.confirm(receipt("r1", member, line("1", "150.00", "3", "coffee"))).body
    assert (body["discount_total"], body["total_payable"]) == ("150.00", "300.00")
    assert body["points_earned"] == 30
    assert used(k, "coffee3") == {"amount": "150.00", "points": 0, "count": 1}

    returned = k.return_receipt(STORE, "r1", "ret-1", [("1", Decimal(1))]).body
    # two coffees kept cost 300.00 without the promotion: the 300.00 paid covers them
    assert returned["refund"] == "0.00"
    assert returned["refund_deduction"] == "100.00"
    assert returned["points_withdrawn"] == 10
    assert used(k, "coffee3") == {"amount": "0.00", "points": 0, "count": 0}
    assert available(k, member) == 20
    assert_books_whole(k)


def test_a_return_that_keeps_the_condition_refunds_the_share(k: Kopilka) -> None:
    promote(k, id="coffee3", name="Third coffee free", reward={
        "type": "buy_x_get_y", "buy": {"categories": ["coffee"], "quantity": 2},
        "get": {"categories": ["coffee"], "quantity": 1}})
    member = enrol(k)
    k.confirm(receipt("r1", member, line("1", "150.00", "3", "coffee"),
                      line("2", "50.00", "1", "tea")))
    returned = k.return_receipt(STORE, "r1", "ret-1", [("2", Decimal(1))]).body
    assert (returned["refund"], returned["refund_deduction"]) == ("50.00", "0.00")
    assert used(k, "coffee3")["count"] == 1


def test_extra_points_are_posted_and_counted_against_the_points_budget(k: Kopilka) -> None:
    promote(k, id="bonus", name="+100 points", reward={"type": "extra_points", "points": 100},
            limits={"budget_points": 150})
    a, b = enrol(k), enrol(k)
    first = k.confirm(receipt("r1", a)).body
    assert first["points_earned"] == 100 + 100  # 10% of 1,000.00 and the promotion's 100
    assert available(k, a) == 200
    second = k.confirm(receipt("r2", b)).body
    assert second["points_earned"] == 100 + 50  # capped to the 50 points left
    assert used(k, "bonus") == {"amount": "0.00", "points": 150, "count": 2}
    k.cancel_receipt(STORE, "r1")
    assert available(k, a) == 0
    assert used(k, "bonus") == {"amount": "0.00", "points": 50, "count": 1}
    assert_books_whole(k)


def test_a_single_use_code_works_once(k: Kopilka) -> None:
    promote(k, id="welcome", name="Welcome 20%", requires_code=True,
            reward={"type": "percent_off", "percent": "20"})
    code = k.generate_codes("welcome", count=1, prefix="W").body["codes"][0]
    a, b = enrol(k), enrol(k)
    assert k.confirm(with_codes(receipt("r1", a), code)).body["discount_total"] == "200.00"
    second = k.confirm(with_codes(receipt("r2", b), code)).body
    assert second["discount_total"] == "0.00"
    assert "code_used_up" in [r["code"] for r in second["rejected"]]
    assert k.check_promo_code(code)["valid"] is False
    k.cancel_receipt(STORE, "r1")  # the code is given back with the receipt
    assert k.check_promo_code(code)["valid"] is True


def test_control_group_is_held_back_and_recorded(k: Kopilka) -> None:
    promote(k, id="all", name="Everyone 5%", control_share_percent="100",
            reward={"type": "percent_off", "percent": "5"})
    member = enrol(k)
    body = k.confirm(receipt("r1", member)).body
    assert body["discount_total"] == "0.00"
    assert rejected_codes(body, "all") == ["control_group"]
    assert k.promotion("all")["audience"] == {"control": 1, "exposed": 0}


def test_a_promotion_not_combinable_with_points_blocks_them_on_its_lines(k: Kopilka) -> None:
    promote(k, id="sale", name="Sale 50%", combinable_with_points=False, reward={
        "type": "percent_off", "percent": "50", "goods": {"categories": ["sale"]}})
    member = enrol(k)
    k.earn(member, 5000)
    body = k.calculate(receipt("r1", member, line("1", "1000.00", "1", "sale"),
                               line("2", "1000.00", "1", "regular"), redeem="max")).body
    assert body["lines"][0]["discount"] == "500.00"
    assert body["lines"][0]["points_redeemed_value"] == "0.00"
    # 50% of the 1,500.00 left to pay, all of it on the regular line
    assert body["lines"][1]["points_redeemed_value"] == "750.00"
    assert body["points_redeemed"] == 750


def test_calculate_writes_nothing_with_promotions(k: Kopilka) -> None:
    from tests.e2e.conftest import row_counts
    promote(k, id="all", name="Everyone 5%", control_share_percent="50",
            reward={"type": "percent_off", "percent": "5"}, limits={"budget": "10.00"})
    member = enrol(k)
    before = row_counts(k)
    k.calculate(receipt("r1", member))
    assert row_counts(k) == before


def test_stacking_at_the_till_exclusive_groups_and_shared_lines(k: Kopilka) -> None:
    # two promotions of one exclusivity group: the higher priority wins, the other is told so
    promote(k, id="gold", name="Coffee 20%", priority=20, exclusivity_group="coffee",
            reward={"type": "percent_off", "percent": "20", "goods": {"categories": ["coffee"]}})
    promote(k, id="silver", name="Coffee 10%", priority=10, exclusivity_group="coffee",
            reward={"type": "percent_off", "percent": "10", "goods": {"categories": ["coffee"]}})
    # a non-stackable promotion on the same line comes later (lower priority): lines taken
    promote(k, id="solo", name="Coffee 5%", priority=5, stackable=False,
            reward={"type": "percent_off", "percent": "5", "goods": {"categories": ["coffee"]}})
    # a stackable one on the whole receipt shares the line with the winner
    promote(k, id="all", name="Everything 1%", priority=1,
            reward={"type": "percent_off", "percent": "1"})
    member = enrol(k)
    body = k.calculate(receipt("r1", member, line("1", "1000.00", "1", "coffee"))).body
    assert applied(body, "gold")["amount"] == "200.00"
    assert rejected_codes(body, "silver") == ["exclusive_group_lost"]
    assert rejected_codes(body, "solo") == ["lines_taken"]
    assert applied(body, "all")["amount"] == "8.00"  # 1% of the 800.00 the line still costs
    assert (body["discount_total"], body["total_payable"]) == ("208.00", "792.00")
    assert body["points_earned"] == 79


def test_a_changed_or_paused_promotion_takes_effect_at_once(k: Kopilka) -> None:
    # the clock is fixed: a change must be seen even with the same updated_at
    promote(k, id="p", name="5%", reward={"type": "percent_off", "percent": "5"})
    member = enrol(k)
    assert k.calculate(receipt("r1", member)).body["discount_total"] == "50.00"
    k.update_promotion("p", {"reward": {"type": "percent_off", "percent": "7"}})
    assert k.calculate(receipt("r1", member)).body["discount_total"] == "70.00"
    k.update_promotion("p", {"status": "paused"})
    assert k.calculate(receipt("r1", member)).body["discount_total"] == "0.00"


def test_per_member_and_per_store_limits(k: Kopilka) -> None:
    promote(k, id="once", name="Once a month", reward={"type": "amount_off", "amount": "10.00"},
            limits={"per_member": {"count": 1, "period": "month"}})
    promote(k, id="store", name="Two per store", reward={"type": "extra_points", "points": 5},
            limits={"per_store": {"count": 2, "period": "ever"}})
    a, b, c = enrol(k), enrol(k), enrol(k)
    first = k.confirm(receipt("r1", a)).body
    assert applied(first, "once") and applied(first, "store")
    again = k.confirm(receipt("r2", a)).body
    assert rejected_codes(again, "once") == ["member_limit"]
    assert applied(again, "store")
    other = k.confirm(receipt("r3", b)).body
    assert applied(other, "once")
    assert rejected_codes(other, "store") == ["store_limit"]
    elsewhere = k.confirm(receipt("r4", c, store_id="msk-002")).body
    assert applied(elsewhere, "store")
    k.cancel_receipt(STORE, "r1")  # a cancelled use no longer counts
    assert applied(k.calculate(receipt("r5", a)).body, "once")


def test_closed_club_offers_apply_only_to_their_segment_or_invited_members(k: Kopilka) -> None:
    promote(k, id="club", name="VIP club 15%", conditions={"segments": ["vip"]},
            reward={"type": "percent_off", "percent": "15"})
    vip, guest, friend = enrol(k), enrol(k), enrol(k)
    promote(k, id="friends", name="Invited 3%", conditions={"invited": [friend]},
            reward={"type": "percent_off", "percent": "3"})
    k.update_member(vip, {"attributes": {"segments": "vip, coffee-lovers"}})
    assert applied(k.calculate(receipt("r1", vip)).body, "club")["amount"] == "150.00"
    refused = k.calculate(receipt("r2", guest)).body
    assert rejected_codes(refused, "club") == ["segment"]
    assert rejected_codes(refused, "friends") == ["not_invited"]
    assert applied(k.calculate(receipt("r3", friend)).body, "friends")["amount"] == "30.00"
