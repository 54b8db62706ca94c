"""Hypothesis: whatever the flows and agreed rates, the partners' net positions sum to exactly
zero, every pair's money is its points times its rate rounded half-up once, and the statement
accounts for every point it was given."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Coalition, CoalitionPartner, PairRate
from kopilka.domain.settlement import Flow, Issued, Terms, settle

PARTNERS = ["a", "b", "c", "d", None]
CURRENCIES = {"points": PointCurrency("points", "Points", unit_value_kopecks=100),
              "cents": PointCurrency("cents", "Cents", scale=2, unit_value_kopecks=37)}
KNOWN = [p for p in PARTNERS if p is not None]

rates = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False,
                    allow_infinity=False)


@st.composite
def coalitions(draw: st.DrawFn) -> Coalition | None:
    if draw(st.booleans()):
        return None
    pairs = draw(st.dictionaries(st.tuples(st.sampled_from(KNOWN), st.sampled_from(KNOWN))
                                 .filter(lambda p: p[0] != p[1]), rates, max_size=6))
    partners = draw(st.dictionaries(st.sampled_from(KNOWN), rates, max_size=4))
    return Coalition(currency=draw(st.sampled_from(list(CURRENCIES))),
                     default_rate=draw(st.none() | rates),
                     rates=tuple(PairRate(i, r, v) for (i, r), v in pairs.items()),
                     partners=tuple(CoalitionPartner(p, v) for p, v in partners.items()))


flows = st.builds(Flow, st.sampled_from(PARTNERS), st.sampled_from(PARTNERS),
                  st.sampled_from(list(CURRENCIES)), st.integers(-10**9, 10**9))
segments = st.lists(st.tuples(coalitions().map(lambda c: Terms(CURRENCIES, c)),
                              st.lists(flows, max_size=25)), min_size=1, max_size=3)
issued = st.lists(st.builds(Issued, st.sampled_from(PARTNERS), st.sampled_from(list(CURRENCIES)),
                            st.integers(-10**9, 10**9)), max_size=10)


def half_up(value: Fraction) -> int:
    """Round to an integer, ties away from zero (independently of the code under test)."""
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


@settings(max_examples=300, deadline=None)
@given(segments, issued)
def test_net_positions_sum_to_zero_and_money_is_rounded_per_pair(segs, given_issued) -> None:  # noqa: ANN001
    statement = settle(segs, given_issued)
    assert sum(p.net for p in statement.positions) == 0
    assert sum(p.receivable for p in statement.positions) == \
        sum(p.payable for p in statement.positions)
    for line in statement.pairs:
        assert line.issuer != line.redeemer and line.points != 0
        if line.rate is None:
            assert line.money == 0 and None in (line.issuer, line.redeemer)
            continue
        scale = CURRENCIES[line.currency].scale
        exact = Fraction(line.points) * Fraction(line.rate) * 100 / 10**scale
        assert line.money == half_up(exact)
    for currency in CURRENCIES:
        flow_total = sum(f.points for _, fs in segs for f in fs if f.currency == currency)
        assert statement.redeemed(currency) == flow_total
        assert statement.issued(currency) == sum(i.points for i in given_issued
                                                 if i.currency == currency)


@settings(max_examples=200, deadline=None)
@given(segments)
def test_each_pair_net_is_what_one_owes_the_other_less_the_reverse(segs) -> None:  # noqa: ANN001
    statement = settle(segs)
    for net in statement.nets:
        forward = sum(p.money for p in statement.pairs
                      if (p.issuer, p.redeemer) == (net.debtor, net.creditor))
        backward = sum(p.money for p in statement.pairs
                       if (p.issuer, p.redeemer) == (net.creditor, net.debtor))
        assert net.money == forward - backward >= 0
    positions = {p.partner: p for p in statement.positions}
    for partner in KNOWN:
        if partner in positions:
            owed = sum(n.money for n in statement.nets if n.creditor == partner) - \
                sum(n.money for n in statement.nets if n.debtor == partner)
            assert positions[partner].net == owed
    assert all(isinstance(p.rate, Decimal | type(None)) for p in statement.pairs)
