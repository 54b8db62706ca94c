"""The pure settlement statement: rates precedence, rounding per pair total, nets, positions."""

from __future__ import annotations

from decimal import Decimal

from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Coalition, CoalitionPartner, PairRate
from kopilka.domain.settlement import Flow, Issued, Terms, money_of, settle

POINTS = PointCurrency("points", "Points", unit_value_kopecks=100)
STARS = PointCurrency("stars", "Stars", unit_value_kopecks=7)
CENTS = PointCurrency("cents", "Cents", scale=2, unit_value_kopecks=100)
CURRENCIES = {c.code: c for c in (POINTS, STARS, CENTS)}
COALITION = Coalition(
    currency="points", default_rate=Decimal("0.50"),
    rates=(PairRate("a", "b", Decimal("0.80")),),
    partners=(CoalitionPartner("b", money_per_point=Decimal("0.90")),
              CoalitionPartner("c", discount_percent=Decimal("5"))))


def terms(coalition: Coalition | None = COALITION) -> Terms:
    return Terms(CURRENCIES, coalition)


def test_the_pairs_rate_comes_first_then_the_redeemers_then_the_default() -> None:
    t = terms()
    assert t.rate("a", "b", "points") == Decimal("0.80")  # the pair's
    assert t.rate("c", "b", "points") == Decimal("0.90")  # the redeeming partner's
    assert t.rate("b", "a", "points") == Decimal("0.50")  # the default
    assert t.rate("a", "c", "points") == Decimal("0.50")  # c has a discount, not a rate


def test_without_a_default_or_a_coalition_a_point_is_worth_its_currencys_value() -> None:
    bare = Coalition(currency="points", partners=(CoalitionPartner("b", Decimal("0.90")),))
    assert terms(bare).rate("a", "c", "points") == Decimal("1.00")
    assert terms(bare).rate("a", "b", "points") == Decimal("0.90")
    assert terms(None).rate("a", "b", "points") == Decimal("1.00")
    # the coalition prices its own currency only; others are worth their own value
    assert terms().rate("a", "b", "stars") == Decimal("0.07")


def test_money_is_rounded_half_up_once_on_the_pairs_total() -> None:
    tiny = Coalition(currency="points", default_rate=Decimal("0.005"))
    flows = [Flow("a", "b", "points", 1)] * 3  # 3 x 0.5 kopeck: 1.5 -> 2 (not 3 x 1)
    (line,) = settle([(terms(tiny), flows)]).pairs
    assert (line.points, line.rate, line.money) == (3, Decimal("0.005"), 2)
    (refund,) = settle([(terms(tiny), [Flow("a", "b", "points", -1)])]).pairs
    assert refund.money == -1  # half away from zero: a refund mirrors a redemption


def test_money_of_scaled_currencies_counts_whole_points() -> None:
    assert money_of(150, 2, Decimal("1.00")) == 150  # 1.50 points at 1.00 = 1.50
    assert money_of(1, 2, Decimal("0.5")) == 1  # 0.005 money = 0.5 kopeck -> 1
    assert money_of(-1, 2, Decimal("0.5")) == -1
    assert money_of(10**15, 0, Decimal("999999.999999")) == 99_999_999_999_900_000_000_000


def test_own_redemptions_owe_nothing_and_nets_offset_both_directions() -> None:
    statement = settle([(terms(), [
        Flow("a", "a", "points", 40),
        Flow("a", "b", "points", 100),  # 0.80: a owes b 80.00
        Flow("b", "a", "points", 100),  # 0.50: b owes a 50.00
        Flow("c", "b", "points", 10),  # 0.90: c owes b 9.00
        Flow("c", "a", "points", 0),  # nothing
    ])], [Issued("a", "points", 500), Issued("b", "points", 20)])
    assert [(p.issuer, p.redeemer, p.money) for p in statement.pairs] == [
        ("a", "b", 8000), ("b", "a", 5000), ("c", "b", 900)]
    assert [(n.debtor, n.creditor, n.money) for n in statement.nets] == [
        ("a", "b", 3000), ("c", "b", 900)]
    by_partner = {p.partner: p for p in statement.positions}
    assert (by_partner["a"].receivable, by_partner["a"].payable) == (5000, 8000)
    assert by_partner["b"].net == 8000 + 900 - 5000
    assert by_partner["c"].net == -900
    assert sum(p.net for p in statement.positions) == 0
    (a_points,) = by_partner["a"].points
    assert (a_points.issued, a_points.redeemed_own, a_points.redeemed_others,
            a_points.redeemed_elsewhere) == (500, 40, 100, 100)
    assert statement.redeemed("points") == 250 and statement.issued("points") == 520


def test_even_partners_have_a_zero_net() -> None:
    flat = Coalition(currency="points", default_rate=Decimal("1"))
    statement = settle([(terms(flat), [Flow("b", "a", "points", 7), Flow("a", "b", "points", 7)])])
    assert [(n.debtor, n.creditor, n.money) for n in statement.nets] == [("a", "b", 0)]


def test_each_segment_is_priced_by_its_terms_and_equal_rates_share_one_line() -> None:
    later = Coalition(currency="points", default_rate=Decimal("0.90"))
    same = Coalition(currency="points", default_rate=Decimal("0.50"))
    statement = settle([(terms(), [Flow("b", "a", "points", 3)]),
                        (terms(later), [Flow("b", "a", "points", 3)]),
                        (terms(same), [Flow("b", "a", "points", 3)])])
    assert [(p.points, p.rate, p.money) for p in statement.pairs] == [
        (6, Decimal("0.50"), 300), (3, Decimal("0.90"), 270)]


def test_unknown_partners_are_counted_and_owe_nothing() -> None:
    statement = settle([(terms(), [Flow(None, "b", "points", 5), Flow("a", None, "points", 2),
                                   Flow(None, None, "points", 1)])])
    assert [(p.issuer, p.redeemer, p.rate, p.money) for p in statement.pairs] == [
        ("a", None, None, 0), (None, "b", None, 0)]
    assert statement.nets == ()
    assert statement.redeemed("points") == 8
    assert [p.partner for p in statement.positions] == ["a", "b", None]


def test_a_partners_view_keeps_only_what_concerns_it() -> None:
    statement = settle([(terms(), [Flow("a", "b", "points", 10), Flow("c", "a", "points", 10),
                                   Flow("b", "c", "points", 10)])])
    mine = statement.involving("a")
    assert [(p.issuer, p.redeemer) for p in mine.pairs] == [("a", "b"), ("c", "a")]
    assert {(n.debtor, n.creditor) for n in mine.nets} == {("a", "b"), ("c", "a")}
    assert [p.partner for p in mine.positions] == ["a"]
