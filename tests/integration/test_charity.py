"""Charity through the library on SQLite and PostgreSQL (SPEC P9): donations exactly once,
refusals that write nothing, the report per fund with hand-computed figures that tie out to
the ledger's `system.donations`, and the share of purchase paid inside a confirm (and kept
when the receipt is cancelled)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_entries, ledger_transactions, receipts
from kopilka.adapters.sql.verify import verify
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import Line
from tests.e2e.conftest import row_counts

MSK = timezone(timedelta(hours=3))
PROGRAM = """\
name: Charity test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "0.50"}]
earn: [{id: base, percent: "10"PENDING}]
burn: {id: pay, max_share_percent: "50"}
charity:
  funds:
    - {id: children, name: "Children's hospital", min_donation: 10,
       share_of_purchase_percent: "7"}
    - {id: trees, name: Trees}
    - {id: shelter, name: Shelter}
"""
PERIOD = ("2026-03-01T00:00:00+03:00", "2026-03-02T00:00:00+03:00")
_phones = iter(range(3_000_000, 9_999_999))


@pytest.fixture
def lib(kopilka: Kopilka) -> Kopilka:
    kopilka.apply_program(parse_program(PROGRAM.replace("PENDING", "")))
    return kopilka


def enrol(k: Kopilka, **fields: Any) -> str:
    phone = f"+7916{next(_phones):07d}"
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True},
                             **fields)).body["member_id"]


def buy(k: Kopilka, member_id: str, receipt_id: str, price: int = 100_000) -> dict[str, Any]:
    return k.confirm(ReceiptInput(
        store_id="msk-001", receipt_id=receipt_id, occurred_at=datetime(2026, 3, 1, 12, tzinfo=MSK),
        lines=(Line("1", "SKU-1", price, Decimal(1)),), member={"member_id": member_id})).body


def ledger_donations(k: Kopilka, start: str, end: str) -> int:
    """What the ledger's system.donations account received in [start, end) (booking time)."""
    e, t = ledger_entries.c, ledger_transactions.c
    with k.db.engine.connect() as conn:
        return int(conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(e.amount), 0))
            .select_from(ledger_entries.join(ledger_transactions, sa.and_(
                t.member_id == e.member_id, t.transaction_id == e.transaction_id)))
            .where(e.account == "system.donations",
                   t.created_at >= datetime.fromisoformat(start),
                   t.created_at < datetime.fromisoformat(end))).scalar_one())


def assert_books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


def test_donations_and_the_report_per_fund_tie_out_to_the_ledger(lib: Kopilka,
                                                                 clock: FixedClock) -> None:
    a, b = enrol(lib), enrol(lib)
    lib.earn(a, 500)
    lib.earn(b, 300)
    first = lib.donate(a, "children", 100).body
    assert (first["kind"], first["points"], first["fund_id"], first["fund_name"]) == (
        "donate", -100, "children", "Children's hospital")
    assert first["balance"]["available"] == 400
    lib.donate(a, "trees", 40)
    lib.donate(b, "children", 60)
    clock.advance(days=1)  # booked the next day: outside PERIOD
    lib.donate(b, "trees", 11)

    report = lib.fund_report(*PERIOD)
    # hand-computed: a point is worth 0.50
    assert report["funds"] == [
        {"fund_id": "children", "name": "Children's hospital", "currency": "points",
         "donations": 2, "donors": 2, "points": 160, "value": "80.00"},
        {"fund_id": "trees", "name": "Trees", "currency": "points",
         "donations": 1, "donors": 1, "points": 40, "value": "20.00"},
        {"fund_id": "shelter", "name": "Shelter", "currency": "points",
         "donations": 0, "donors": 0, "points": 0, "value": "0.00"}]
    assert report["total"] == {"donations": 3, "donors": 2, "value": "100.00"}
    assert sum(f["points"] for f in report["funds"]) == ledger_donations(lib, *PERIOD) == 200

    whole = ("2026-01-01T00:00:00+03:00", "2027-01-01T00:00:00+03:00")
    trees = lib.fund_report(*whole)["funds"][1]
    assert (trees["donations"], trees["donors"], trees["points"], trees["value"]) == (
        2, 2, 51, "25.50")
    assert sum(f["points"] for f in lib.fund_report(*whole)["funds"]) == \
        ledger_donations(lib, *whole) == 211
    assert [(op["kind"], op["points"], op["reason"])
            for op in lib.history(b)["items"]] == [
        ("donate", -11, "fund:trees"), ("donate", -60, "fund:children"), ("earn", 300, None)]
    assert lib.balance(b)["available"] == 229
    assert_books_whole(lib)


def test_a_retry_with_the_key_donates_once(lib: Kopilka) -> None:
    member = enrol(lib)
    lib.earn(member, 100)
    first = lib.donate(member, "trees", 30, idempotency_key="give-1")
    again = lib.donate(member, "trees", 30, idempotency_key="give-1")
    assert (again.status, again.body, again.replayed) == (201, first.body, True)
    assert lib.balance(member)["available"] == 70
    with pytest.raises(DomainError) as caught:
        lib.donate(member, "trees", 31, idempotency_key="give-1")
    assert caught.value.code == "idempotency_conflict"
    assert ledger_donations(lib, *PERIOD) == 30


@pytest.mark.parametrize(("member", "fund", "points", "code"), [
    (None, "trees", 101, "insufficient_points"),
    (None, "nowhere", 10, "unknown_fund"),
    (None, "children", 9, "donation_below_minimum"),
    (None, "trees", 0, "invalid_points"),
    ("nobody", "trees", 10, "member_not_found"),
])
def test_a_refused_donation_writes_nothing(lib: Kopilka, member: str | None, fund: str,
                                           points: int, code: str) -> None:
    member_id = member or enrol(lib)
    if member is None:
        lib.earn(member_id, 100)
    before = row_counts(lib)
    with pytest.raises(DomainError) as caught:
        lib.donate(member_id, fund, points, idempotency_key="refused")
    assert caught.value.code == code
    assert row_counts(lib) == before
    assert_books_whole(lib)


def test_a_program_without_charity_has_no_funds(kopilka: Kopilka) -> None:
    kopilka.apply_program(parse_program(PROGRAM[:PROGRAM.index("charity:")].replace("PENDING", "")))
    member = enrol(kopilka)
    kopilka.earn(member, 100)
    with pytest.raises(DomainError) as caught:
        kopilka.donate(member, "children", 10)
    assert caught.value.code == "unknown_fund"
    assert kopilka.fund_report(*PERIOD)["funds"] == []


def test_a_purchase_gives_its_share_to_the_members_fund(lib: Kopilka) -> None:
    giver = enrol(lib, attributes={"charity_fund": "children"})
    other = enrol(lib, attributes={"charity_fund": "trees"})  # a fund without a share
    plain = enrol(lib)
    for member_id in (giver, other, plain):
        # 1000.00 at 10% with a point worth 0.50: 200 points; 7% of them: 14
        assert buy(lib, member_id, f"r-{member_id}")["points_earned"] == 200
    assert lib.balance(giver)["available"] == 186
    assert lib.balance(other)["available"] == lib.balance(plain)["available"] == 200
    donation = lib.history(giver)["items"][0]
    assert (donation["kind"], donation["points"], donation["reason"], donation["receipt_id"]) == (
        "donate", -14, "fund:children", f"r-{giver}")
    with lib.db.engine.connect() as conn:
        effects = conn.execute(sa.select(receipts.c.effects).where(
            receipts.c.receipt_id == f"r-{giver}")).scalar_one()
    assert effects["donations"] == [{"operation_id": donation["operation_id"],
                                     "fund_id": "children", "currency": "points", "points": 14}]
    again = lib.confirm(ReceiptInput(  # a retried receipt gives nothing more
        store_id="msk-001", receipt_id=f"r-{giver}",
        occurred_at=datetime(2026, 3, 1, 12, tzinfo=MSK),
        lines=(Line("1", "SKU-1", 100_000, Decimal(1)),), member={"member_id": giver}))
    assert again.replayed
    children = lib.fund_report(*PERIOD)["funds"][0]
    assert (children["donations"], children["points"], children["value"]) == (1, 14, "7.00")
    assert ledger_donations(lib, *PERIOD) == 14
    assert_books_whole(lib)


def test_a_share_of_pending_points_stays_with_the_fund_when_the_receipt_is_cancelled(
        kopilka: Kopilka) -> None:
    kopilka.apply_program(parse_program(PROGRAM.replace("PENDING", ", pending_days: 14")))
    giver = enrol(kopilka, attributes={"charity_fund": "children"})
    buy(kopilka, giver, "r-1")
    balance = kopilka.balance(giver)
    assert (balance["available"], balance["pending"]) == (0, 186)  # 14 left with the share
    kopilka.cancel_receipt("msk-001", "r-1")
    balance = kopilka.balance(giver)
    # donations are final: the cancel takes back the 186 still pending and the 14 given away
    # from the balance (the program's policy: a negative balance, settled by future earning)
    assert (balance["available"], balance["pending"]) == (-14, 0)
    assert kopilka.fund_report(*PERIOD)["funds"][0]["points"] == 14
    assert ledger_donations(kopilka, *PERIOD) == 14
    assert_books_whole(kopilka)


def test_a_bad_period_is_refused(lib: Kopilka) -> None:
    with pytest.raises(DomainError) as caught:
        lib.fund_report(PERIOD[1], PERIOD[0])
    assert caught.value.code == "validation_error"
    with pytest.raises(DomainError):
        lib.fund_report("yesterday", PERIOD[1])
