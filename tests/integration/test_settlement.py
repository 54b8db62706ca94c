"""Coalition settlement on SQLite and PostgreSQL: a hand-computed month of three partners.

Partners A, B and C; a program whose coalition section sets a default rate of 0.50 RUB per
point, 0.70 for points redeemed at C, and 0.3335 for points issued at B and redeemed at C.
The scenario (every step below names the lots it touches; L1 is the oldest lot):

  Feb 20  receipt at A (1000.00): M1 earns 10% = 100 (L1)             (February: not in March)
  Mar 02  B gives M1 50 (L2)                                          issued B 50
  Mar 03  M1 spends 30 at B: from L1 (oldest)                         A->B 30
  Mar 04  late receipt at C (occurred Feb 27): 2 x 100.00, 100 points redeemed from L1 70 and
          L2 30, 10% of the 100.00 paid earned (L3)                   A->C 70, B->C 30, issued C 10
  Mar 05  one of the two returned at C: 50 points back to L1, 5 earned taken back
                                                                      A->C -50, issued C -5
  Mar 06  M2 gets 40 at A (L4, expires Mar 10), 60 at B (L5), 20 at C (L6, expires May 1)
                                                                      issued A 40, B 60, C 20
  Mar 12  L4 expires (40 burnt: nobody's redemption)
  Mar 13  B holds 45 of M2 (L6 20 first: it expires first; L5 25), captures 40
          (L6 20, L5 20), releases 5                                  C->B 20, B own 20
  Apr 02  M1 spends 10 at C (after the period: must not move March)

Money, per ordered pair on its total (half-up to the kopeck):
  A->B 30 x 0.50 = 15.00;  A->C 20 x 0.70 = 14.00;  B->C 30 x 0.3335 = 10.005 -> 10.01;
  C->B 20 x 0.50 = 10.00.
Nets: A owes B 15.00; A owes C 14.00; B owes C 0.01 (10.01 - 10.00).
Positions: A -29.00; B 25.00 - 10.01 = 14.99; C 24.01 - 10.00 = 14.01; sum 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_entries, ledger_transactions
from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
from kopilka.app.library import Caller, Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line

PROGRAM = """\
name: Coalition
effective_from: 2026-01-01T00:00:00+00:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
burn: {id: pay, max_share_percent: "50"}
coalition:
  default_rate: "0.50"
  rates: [{issuer: b, redeemer: c, money_per_point: "0.3335"}]
  partners: [{partner_id: c, money_per_point: "0.70"}]
"""
MARCH = ("2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")
A, B, C = (Caller(name=f"till-{p}", partner_id=p) for p in "abc")


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


def setup_partners(k: Kopilka) -> None:
    for partner in "abc":
        assert k.add_partner(partner, f"Brand {partner.upper()}").status == 201
        assert k.add_store(f"{partner}-1", partner, f"Store of {partner}").status == 201
    assert k.apply_program(parse_program(PROGRAM)).status == 201


def enrol(k: Kopilka, phone: str, caller: Caller) -> str:
    cmd = Enrolment(phone=phone, consents={"personal_data": True})
    return k.enrol(cmd, caller=caller).body["member_id"]


def receipt(receipt_id: str, store: str, member_id: str, quantity: str, price: str,
            occurred_at: datetime, redeem: int = 0) -> ReceiptInput:
    line = Line(line_id="1", sku="SKU", unit_price=int(Decimal(price) * 100),
                quantity=Decimal(quantity))
    return ReceiptInput(store_id=store, receipt_id=receipt_id, occurred_at=occurred_at,
                        lines=(line,), member={"member_id": member_id}, redeem_points=redeem)


def run_scenario(k: Kopilka, clock: FixedClock) -> tuple[str, str]:
    clock.at = at(2, 20)
    setup_partners(k)
    m1, m2 = enrol(k, "+79161110001", A), enrol(k, "+79161110002", B)
    first = k.confirm(receipt("a-r1", "a-1", m1, "1", "1000.00", at(2, 20)), caller=A)
    assert first.body["points_earned"] == 100
    clock.at = at(3, 2)
    k.earn(m1, 50, caller=B)
    clock.at = at(3, 3)
    k.spend(m1, 30, caller=B)
    clock.at = at(3, 4)
    late = k.confirm(receipt("c-r1", "c-1", m1, "2", "100.00", at(2, 27), redeem=100),
                     caller=C)
    assert (late.body["points_redeemed"], late.body["points_earned"]) == (100, 10)
    clock.at = at(3, 5)
    back = k.return_receipt("c-1", "c-r1", "ret-1", [("1", Decimal(1))], caller=C)
    assert (back.body["points_returned"], back.body["points_withdrawn"]) == (50, 5)
    clock.at = at(3, 6)
    k.earn(m2, 40, caller=A, expires_at=at(3, 10))
    k.earn(m2, 60, caller=B)
    k.earn(m2, 20, caller=C, expires_at=at(5, 1))
    clock.at = at(3, 12)
    assert jobs.expire_lots(k).done == 1
    clock.at = at(3, 13)
    hold = k.hold(m2, 45, caller=B).body["hold_id"]
    k.capture(hold, 40, caller=B)
    return m1, m2


EXPECTED_PAIRS = [
    ("a", "b", 30, "0.50", "15.00"),
    ("a", "c", 20, "0.70", "14.00"),
    ("b", "c", 30, "0.3335", "10.01"),
    ("c", "b", 20, "0.50", "10.00"),
]
EXPECTED_NETS = [("a", "b", "15.00"), ("a", "c", "14.00"), ("b", "c", "0.01")]
EXPECTED_POSITIONS = {  # issued, own, others' here, elsewhere; receivable, payable, net
    "a": ((40, 0, 0, 50), ("0.00", "29.00", "-29.00")),
    "b": ((110, 20, 50, 30), ("25.00", "10.01", "14.99")),
    "c": ((25, 0, 50, 20), ("24.01", "10.00", "14.01")),
}


def ledger_sum(k: Kopilka, account: str, start: str, end: str) -> int:
    """The plain sum of an account's entries booked in [start, end): the tie-out reference."""
    e, t = ledger_entries.c, ledger_transactions.c
    query = (sa.select(sa.func.coalesce(sa.func.sum(e.amount), 0))
             .select_from(ledger_entries.join(ledger_transactions, sa.and_(
                 t.member_id == e.member_id, t.transaction_id == e.transaction_id)))
             .where(e.account == account,
                    t.created_at >= datetime.fromisoformat(start),
                    t.created_at < datetime.fromisoformat(end)))
    with k.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def assert_march(view: dict) -> None:
    pairs = [(p["issuer"], p["redeemer"], p["points"], p["rate"], p["money"])
             for p in view["pairs"]]
    assert pairs == EXPECTED_PAIRS
    assert all(p["settled"] and p["currency"] == "points" for p in view["pairs"])
    assert [(n["debtor"], n["creditor"], n["money"]) for n in view["nets"]] == EXPECTED_NETS
    positions = {}
    for pos in view["partners"]:
        (points,) = pos["points"]
        positions[pos["partner_id"]] = (
            (points["issued"], points["redeemed_own"], points["redeemed_others"],
             points["redeemed_elsewhere"]), (pos["receivable"], pos["payable"], pos["net"]))
    assert positions == EXPECTED_POSITIONS
    assert sum(Decimal(pos["net"]) for pos in view["partners"]) == 0
    assert view["totals"] == [{"currency": "points", "issued": 175, "redeemed": 120}]
    assert view["program_versions"] == [1] and view["money_currency"] == "RUB"
    assert view["partners"][1]["name"] == "Brand B"


def test_a_month_of_three_partners_settles_as_computed_by_hand(kopilka: Kopilka,
                                                              clock: FixedClock) -> None:
    m1, _ = run_scenario(kopilka, clock)
    march = kopilka.settlement(*MARCH)
    assert_march(march)
    # ties out exactly to the ledger: redeemed = sum of system.redeemed (+ spend, - refund),
    # issued = minus the sum of system.issued, over the transactions booked in March
    assert ledger_sum(kopilka, "system.redeemed", *MARCH) == 120
    assert ledger_sum(kopilka, "system.issued", *MARCH) == -175
    # booking time: what is booked after the period never changes a closed period
    clock.at = at(4, 2)
    kopilka.spend(m1, 10, caller=C)
    assert kopilka.settlement(*MARCH) == march
    april = kopilka.settlement("2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00")
    assert [(p["issuer"], p["redeemer"], p["points"]) for p in april["pairs"]] == [
        ("a", "c", 10)]
    assert verify_clean(kopilka)


def verify_clean(kopilka: Kopilka) -> bool:
    with kopilka.db.engine.connect() as conn:
        problems = list(verify(conn))
    assert problems == []
    return True


def test_a_partner_key_sees_only_its_own_rows(kopilka: Kopilka, clock: FixedClock) -> None:
    run_scenario(kopilka, clock)
    own = kopilka.settlement(*MARCH, caller=Caller(name="b-analytics", partner_id="b"))
    assert own["partner_id"] == "b" and own["totals"] is None
    assert [(p["issuer"], p["redeemer"]) for p in own["pairs"]] == [
        ("a", "b"), ("b", "c"), ("c", "b")]
    assert [(n["debtor"], n["creditor"]) for n in own["nets"]] == [("a", "b"), ("b", "c")]
    assert [p["partner_id"] for p in own["partners"]] == ["b"]
    admin = kopilka.settlement(*MARCH, caller=Caller(name="op", partner_id="b", admin=True))
    assert admin == kopilka.settlement(*MARCH)


def test_a_rate_change_mid_period_prices_each_redemption_at_its_booking_time(
        kopilka: Kopilka, clock: FixedClock) -> None:
    clock.at = at(2, 1)
    setup_partners(kopilka)
    member = enrol(kopilka, "+79161110003", A)
    kopilka.earn(member, 100, caller=A)
    clock.at = at(3, 10)
    kopilka.spend(member, 10, caller=B)  # at the default 0.50: 5.00
    new_terms = PROGRAM.replace("2026-01-01T00:00:00+00:00", "2026-03-15T00:00:00+00:00") \
        .replace('default_rate: "0.50"', 'default_rate: "0.90"')
    kopilka.apply_program(parse_program(new_terms))
    clock.at = at(3, 20)
    kopilka.spend(member, 10, caller=B)  # at 0.90: 9.00
    view = kopilka.settlement(*MARCH)
    assert [(p["points"], p["rate"], p["money"]) for p in view["pairs"]] == [
        (10, "0.50", "5.00"), (10, "0.90", "9.00")]
    assert view["program_versions"] == [1, 2]
    assert [(n["debtor"], n["creditor"], n["money"]) for n in view["nets"]] == [
        ("a", "b", "14.00")]


def test_points_spent_into_debt_are_the_redeemers_own(kopilka: Kopilka,
                                                      clock: FixedClock) -> None:
    clock.at = at(3, 1)
    setup_partners(kopilka)  # and a currency with a credit floor of -100:
    credit = PROGRAM.replace("code: points, name: Bonus points, value: \"1.00\"",
                             "code: credit, name: Credit, value: \"1.00\", min_balance: -100")
    kopilka.apply_program(parse_program(credit.replace("2026-01-01", "2026-02-01")))
    member = enrol(kopilka, "+79161110004", A)
    clock.at = at(3, 2)
    kopilka.spend(member, 30, currency="credit", caller=B)  # no lot: a debt, B's own
    kopilka.earn(member, 50, currency="credit", caller=A)  # settles the debt; 20 in A's lot
    kopilka.spend(member, 20, currency="credit", caller=C)
    view = kopilka.settlement(*MARCH)
    assert [(p["issuer"], p["redeemer"], p["currency"], p["points"], p["money"])
            for p in view["pairs"]] == [("a", "c", "credit", 20, "14.00")]
    own = {pos["partner_id"]: pos["points"][0]["redeemed_own"] for pos in view["partners"]}
    assert own == {"a": 0, "b": 30, "c": 0}
    assert view["totals"] == [{"currency": "credit", "issued": 50, "redeemed": 50}]
    assert ledger_sum(kopilka, "system.redeemed", *MARCH) == 50


def test_operations_without_a_partner_are_counted_but_not_settled(
        kopilka: Kopilka, clock: FixedClock) -> None:
    clock.at = at(3, 1)
    setup_partners(kopilka)
    member = enrol(kopilka, "+79161110005", A)
    kopilka.earn(member, 30)  # in-process, no partner
    clock.at = at(3, 2)
    kopilka.spend(member, 30, caller=B)
    view = kopilka.settlement(*MARCH)
    assert [(p["issuer"], p["redeemer"], p["points"], p["rate"], p["money"], p["settled"])
            for p in view["pairs"]] == [(None, "b", 30, None, "0.00", False)]
    positions = {pos["partner_id"]: (pos["points"][0]["issued"],
                                     pos["points"][0]["redeemed_others"],
                                     pos["points"][0]["redeemed_elsewhere"], pos["net"])
                 for pos in view["partners"]}
    assert positions == {"b": (0, 30, 0, "0.00"), None: (30, 0, 30, "0.00")}
    assert view["nets"] == []
    assert view["totals"] == [{"currency": "points", "issued": 30, "redeemed": 30}]


def test_periods_are_rfc3339_with_an_offset_and_ordered(kopilka: Kopilka) -> None:
    import pytest

    from kopilka.domain.errors import InvalidInput

    for start, end, loc in [("2026-03-01", MARCH[1], ["query", "from"]),
                            (MARCH[0], "soon", ["query", "to"]),
                            (MARCH[1], MARCH[0], ["query", "to"])]:
        with pytest.raises(InvalidInput) as caught:
            kopilka.settlement(start, end)
        assert caught.value.extra["errors"][0]["loc"] == loc


def test_an_empty_period_is_an_empty_statement(kopilka: Kopilka) -> None:
    view = kopilka.settlement(*MARCH)
    assert (view["pairs"], view["nets"], view["partners"], view["totals"]) == ([], [], [], [])
    assert view["program_versions"] == [] and view["basis"] == "booked_at"
    assert datetime.fromisoformat(view["to"]) - datetime.fromisoformat(view["from"]) == \
        timedelta(days=31)
