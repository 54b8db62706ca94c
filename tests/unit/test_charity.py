"""Charity (SPEC P9) without a database: the donation planner's entries, the share of a
purchase, and the `charity:` section of the program document (mapping, round trip, errors at
their precise locations)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml

from kopilka.app.program_document import parse_program, program_to_document
from kopilka.domain.errors import InsufficientPoints, InvalidInput
from kopilka.domain.ledger import (
    Account,
    Balance,
    Code,
    Entry,
    Lot,
    LotState,
    MemberPoints,
    plan_debit,
    plan_donation,
)
from kopilka.domain.program import Charity, Fund
from kopilka.entrypoints.cli.demo import BONUS_FALLBACK, BONUS_YAML

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def lot(lot_id: str, available: int = 0, *, days: int | None = None, pending: int = 0) -> Lot:
    return Lot(lot_id=lot_id, amount=available + pending, created_at=T0 - timedelta(days=1),
               state=LotState.PENDING if pending else LotState.ACTIVE, available=available,
               pending=pending, expires_at=T0 + timedelta(days=days) if days else None)


def points(*lots: Lot, floor: int = 0) -> MemberPoints:
    return MemberPoints(Balance(available=sum(x.available for x in lots),
                                pending=sum(x.pending for x in lots)), lots, floor)


# --- the planner ----------------------------------------------------------------------------

def test_a_donation_takes_nearest_expiry_lots_first_into_system_donations() -> None:
    state = points(lot("late", 100, days=90), lot("soon", 30, days=5), lot("never", 50))
    plan = plan_donation(state, 60, now=T0)
    assert plan.code is Code.DONATE
    assert plan.entries == (Entry(Account.AVAILABLE, -30, "soon"),
                            Entry(Account.AVAILABLE, -30, "late"),
                            Entry(Account.DONATIONS, 60))
    assert sum(e.amount for e in plan.entries) == 0 and plan.points == -60
    # from available only it is exactly a debit into system.donations
    assert plan == plan_debit(state, 60, now=T0, code=Code.DONATE, sink=Account.DONATIONS)


def test_a_donation_never_goes_below_the_policy_floor() -> None:
    state = points(lot("a", 100), floor=20)
    assert plan_donation(state, 80, now=T0).points == -80
    with pytest.raises(InsufficientPoints) as caught:
        plan_donation(state, 81, now=T0)
    assert caught.value.code == "insufficient_points"
    with pytest.raises(InvalidInput):
        plan_donation(state, 0, now=T0)


def test_a_share_comes_from_the_purchases_pending_lot_then_available() -> None:
    pending = lot("new", pending=40)
    state = points(lot("old", 100, days=30))
    plan = plan_donation(state, 50, now=T0, pending_lots=(pending,))
    assert plan.entries == (Entry(Account.PENDING, -40, "new"),
                            Entry(Account.AVAILABLE, -10, "old"),
                            Entry(Account.DONATIONS, 50))
    assert plan.lot_states == (("new", LotState.CANCELLED),)  # given away entirely
    partial = plan_donation(state, 5, now=T0, pending_lots=(pending,))
    assert partial.entries == (Entry(Account.PENDING, -5, "new"), Entry(Account.DONATIONS, 5))
    assert partial.lot_states == () and partial.balance_delta() == Balance(pending=-5)


def test_the_share_of_a_purchase_is_floored() -> None:
    fund = Fund("kids", "Kids", "points", share_of_purchase_percent=Decimal("7.5"))
    assert [fund.share_of(n) for n in (0, 13, 14, 100, 1001)] == [0, 0, 1, 7, 75]
    assert Fund("trees", "Trees", "points").share_of(1000) == 0


# --- the program document -------------------------------------------------------------------

DOCUMENT = """\
name: Charity
effective_from: 2026-01-01T00:00:00+03:00
point_currencies:
  - {code: points, name: Bonus points, value: "1.00"}
  - {code: miles, name: Miles, scale: 2, value: "0.50"}
earn: [{id: base, percent: "10"}]
burn: {id: pay, currency: points}
charity:
  funds:
    - {id: children, name: "Children's hospital", min_donation: 10,
       share_of_purchase_percent: "2.5"}
    - {id: trees, name: Trees, currency: miles, min_donation: "0.50"}
"""


def test_the_section_maps_to_the_domain_and_round_trips() -> None:
    program = parse_program(DOCUMENT)
    assert program.charity == Charity(funds=(
        Fund("children", "Children's hospital", "points", Decimal("2.5"), 10),
        Fund("trees", "Trees", "miles", None, 50)))
    document = program_to_document(program)
    assert document["charity"] == {"funds": [
        {"id": "children", "name": "Children's hospital", "currency": "points",
         "min_donation": 10, "share_of_purchase_percent": "2.5"},
        {"id": "trees", "name": "Trees", "currency": "miles", "min_donation": "0.50"}]}
    assert parse_program(yaml.safe_dump(document)) == program
    assert parse_program(json.dumps(document), content_type="application/json") == program
    without = parse_program(DOCUMENT[:DOCUMENT.index("charity:")])
    assert without.charity is None and "charity" not in program_to_document(without)


def test_the_example_and_the_demos_copy_define_the_same_fund() -> None:
    example = parse_program(BONUS_YAML.read_text(encoding="utf-8"))
    assert example == parse_program(BONUS_FALLBACK)
    assert example.charity == Charity(funds=(
        Fund("children", "Children's hospital", "points", Decimal("5"), 10),))


def _with(funds: Any) -> str:
    data = yaml.safe_load(DOCUMENT)
    data["charity"] = {"funds": funds}
    return yaml.safe_dump(data)


KIDS = {"id": "kids", "name": "Kids"}
CASES = [
    ([{**KIDS, "currency": "rubles"}], ["charity", "funds", 0, "currency"],
     "unknown currency 'rubles'"),
    ([KIDS, {**KIDS, "name": "Again"}], ["charity", "funds", 1, "id"],
     "duplicate fund id 'kids' (already at charity.funds.0)"),
    ([{**KIDS, "min_donation": -1}], ["charity", "funds", 0, "min_donation"],
     "cannot be negative"),
    ([{**KIDS, "min_donation": "1.5"}], ["charity", "funds", 0, "min_donation"],
     "more than 0 decimal places"),
    ([{**KIDS, "min_donation": 1.5}], ["charity", "funds", 0, "min_donation"],
     "must be an integer"),
    ([{**KIDS, "share_of_purchase_percent": "101"}],
     ["charity", "funds", 0, "share_of_purchase_percent"], "between 0 and 100"),
    ([{**KIDS, "share_of_purchase_percent": "0"}],
     ["charity", "funds", 0, "share_of_purchase_percent"], "must be greater than 0"),
    ([{**KIDS, "currency": "miles", "share_of_purchase_percent": "5"}],
     ["charity", "funds", 0, "share_of_purchase_percent"], "paid in the main currency"),
    ([{"id": "kids"}], ["charity", "funds", 0, "name"], "Field required"),
    ([{**KIDS, "id": "-bad"}], ["charity", "funds", 0, "id"], "starting with a letter"),
    ([{**KIDS, "share": "5"}], ["charity", "funds", 0, "share"], "Extra inputs"),
    ([], ["charity", "funds"], "at least 1"),
]


@pytest.mark.parametrize(("funds", "loc", "msg"), CASES)
def test_a_bad_section_is_refused_at_the_precise_location(funds: Any, loc: list,
                                                          msg: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_program(_with(funds))
    errors = caught.value.extra["errors"]
    assert any(e["loc"] == loc and msg in e["msg"] for e in errors), errors
    assert all("line" in e for e in errors)
