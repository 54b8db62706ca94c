"""Hypothesis: a program and promotions together (`evaluate(..., promotions=outcome)`) keep
every promise of the evaluation: line totals add up to the payable total, nothing is
negative, points stay within the balance and the share, lines a promotion makes "not with
points" take none, and the promotions' own line discounts are all there."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from kopilka.domain.evaluation import Evaluation, evaluate
from kopilka.domain.promotions import apply_promotions
from tests.property import test_evaluation_properties as E
from tests.property import test_promotion_properties as P


@st.composite
def cases(draw: st.DrawFn):  # noqa: ANN201
    program, receipt, member = draw(E.cases())
    promos = draw(P.promotions())
    context = draw(P.contexts(promos))
    receipt = replace(receipt, occurred_at=P.AT)
    if member is not None:
        context = replace(context, member_id=context.member_id or "m1")
    return program, receipt, member, apply_promotions(promos, receipt, context)


@given(cases())
@P.PROFILE
def test_promotions_and_program_together_keep_the_promises(case) -> None:  # noqa: ANN001
    program, receipt, member, outcome = case
    e: Evaluation = evaluate(program, receipt, member, promotions=outcome)
    E._check_line_totals_add_up_and_the_receipt_balances(program, receipt, member, e)
    E._check_nothing_is_negative(program, receipt, member, e)
    assert e.points_redeemed <= e.max_redeemable_points
    for x, promo_discount in zip(e.lines, outcome.line_discounts, strict=True):
        assert x.discount >= promo_discount  # the program's discount only adds to it
        if x.line_id in outcome.not_payable_with_points:
            assert x.points_redeemed == 0 and x.points_redeemed_value == 0
    assert e.discount_total >= outcome.discount_total
    if member is None:
        assert e.points_earned == 0 and e.points_redeemed == 0
    assert evaluate(program, receipt, member, promotions=outcome) == e  # deterministic
