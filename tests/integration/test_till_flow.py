"""The till flow through the library, on SQLite and PostgreSQL: calculate, hold, confirm
exactly once, late receipts under old program versions, returns (after spending, after
expiry, partial then the rest), cancel, and tier progress. Every scenario ends with the
ledger verifier finding nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import Line
from tests.e2e.conftest import row_counts

MSK = timezone(timedelta(hours=3))
STORE = "msk-001"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PROGRAM = """\
name: Till test
effective_from: {effective_from}
point_currencies: [{{code: points, name: Bonus points, value: "1.00"}}]
earn:
  - id: base
    percent: "{percent}"
    pending_days: {pending_days}
burn: {{id: pay, max_share_percent: "50"}}
tiers:
  id: tiers
  measure: spend
  levels:
    - {{code: base, name: Base, threshold: "0.00"}}
    - {{code: silver, name: Silver, threshold: "5000.00"}}
returns: {{spent_earned_points: {policy}}}
"""


def apply(k: Kopilka, *, percent: str = "10", pending_days: int = 0,
          policy: str = "negative_balance",
          effective_from: str = "2026-01-01T00:00:00+03:00") -> int:
    text = PROGRAM.format(percent=percent, pending_days=pending_days, policy=policy,
                          effective_from=effective_from)
    result = k.apply_program(parse_program(text))
    assert result.status == 201
    return result.body["version"]


def apply_example(k: Kopilka, name: str) -> int:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    return k.apply_program(parse_program(text)).body["version"]


_phones = iter(range(1_000_000, 9_999_999))


def enrol(k: Kopilka) -> str:
    phone = f"+7916{next(_phones):07d}"
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True})).body["member_id"]


def line(line_id: str, price: str, quantity: str = "1", category: str | None = None) -> Line:
    return Line(line_id=line_id, sku=f"SKU-{line_id}", unit_price=int(Decimal(price) * 100),
                quantity=Decimal(quantity), category=category)


def receipt(receipt_id: str, member_id: str | None, *lines: Line, redeem: int | str = 0,
            at: datetime | None = None, hold_id: str | None = None,
            store_id: str = STORE) -> ReceiptInput:
    return ReceiptInput(store_id=store_id, receipt_id=receipt_id,
                        occurred_at=at or datetime(2026, 3, 1, 12, 0, tzinfo=MSK),
                        lines=lines or (line("1", "1000.00"),),
                        member={"member_id": member_id} if member_id else None,
                        redeem_points=redeem, hold_id=hold_id)


def available(k: Kopilka, member_id: str) -> int:
    return k.balance(member_id)["available"]


def points_of(k: Kopilka, member_id: str, receipt_id: str, kind: str) -> int:
    return sum(op["points"] for op in k.history(member_id, limit=500)["items"]
               if op["receipt_id"] == receipt_id and op["kind"] == kind)


def assert_books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


def refuse(code: str, call: Any, *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


# --- calculate and holds --------------------------------------------------------------------

def test_calculate_never_writes(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    before = row_counts(kopilka)
    result = kopilka.calculate(receipt("r1", member, redeem="max"))
    assert result.status == 200 and not result.replayed
    body = result.body
    # 50% of 1,000 = 500 points, the whole balance; 500.00 paid earns 10% = 50
    assert (body["points_redeemed"], body["max_redeemable_points"]) == (500, 500)
    assert (body["total_payable"], body["points_earned"]) == ("500.00", 50)
    assert body["member"]["member_id"] == member
    assert (body["tier"]["before"], body["tier"]["after"]) == ("base", "base")
    assert "hold_id" not in body
    anonymous = kopilka.calculate(receipt("r1", None)).body
    assert anonymous["member"] is None and anonymous["points_earned"] == 0
    assert [r["code"] for r in anonymous["rejected"]] == ["no_member"]
    refuse("member_not_found", kopilka.calculate, receipt("r1", "0" * 32))
    assert row_counts(kopilka) == before
    assert available(kopilka, member) == 500
    with pytest.raises(DomainError):
        kopilka.receipt(STORE, "r1")  # nothing was stored
    assert_books_whole(kopilka)


def test_calculate_with_hold_reserves_and_confirm_with_the_hold_captures(
        kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    held = kopilka.calculate(receipt("r1", member, redeem=200), hold=True).body
    assert held["hold_id"] and held["points_redeemed"] == 200
    balance = kopilka.balance(member)
    assert (balance["available"], balance["on_hold"]) == (300, 200)
    # a plain calculation now only sees what is not reserved
    assert kopilka.calculate(receipt("r1", member, redeem="max")).body[
        "max_redeemable_points"] == 300
    confirmed = kopilka.confirm(receipt("r1", member, redeem=200, hold_id=held["hold_id"]))
    assert confirmed.status == 201
    body = confirmed.body
    assert (body["points_redeemed"], body["points_earned"]) == (200, 80)  # 10% of 800
    assert body["status"] == "confirmed" and body["receipt_key"]
    assert (body["balance"]["available"], body["balance"]["on_hold"]) == (380, 0)
    assert kopilka.balance(member)["on_hold"] == 0
    assert points_of(kopilka, member, "r1", "spend") == -200
    # the hold is used up: confirming another receipt with it is refused
    refuse("hold_not_active", kopilka.confirm,
           receipt("r2", member, redeem=100, hold_id=held["hold_id"]))
    assert_books_whole(kopilka)


def test_a_hold_smaller_than_the_redemption_is_refused_and_changes_nothing(
        kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    held = kopilka.calculate(receipt("r1", member, redeem=100), hold=True).body
    before = row_counts(kopilka)
    refuse("hold_insufficient", kopilka.confirm,
           receipt("r1", member, redeem=300, hold_id=held["hold_id"]))
    assert row_counts(kopilka) == before
    assert kopilka.balance(member)["on_hold"] == 100
    assert_books_whole(kopilka)


def test_cancel_of_a_held_but_unconfirmed_receipt_releases_the_hold(kopilka: Kopilka) -> None:
    """API.md: cancel "voids a confirmed receipt (or releases a hold)"."""
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    kopilka.calculate(receipt("r1", member, redeem=200), hold=True)
    assert kopilka.balance(member)["on_hold"] == 200
    kopilka.cancel_receipt(STORE, "r1")
    balance = kopilka.balance(member)
    assert (balance["available"], balance["on_hold"]) == (500, 0)
    assert_books_whole(kopilka)


# --- confirm exactly once -------------------------------------------------------------------

def test_confirm_twice_is_confirm_once(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    first = kopilka.confirm(receipt("r1", member, redeem=100))
    assert first.status == 201 and not first.replayed
    after_first = row_counts(kopilka)
    balance = kopilka.balance(member)
    second = kopilka.confirm(receipt("r1", member, redeem=100))
    assert second.replayed and second.status == 201
    assert second.body == first.body
    assert row_counts(kopilka) == after_first
    assert kopilka.balance(member) == balance
    assert balance["available"] == 500 - 100 + 90
    stored = kopilka.receipt(STORE, "r1")
    assert stored["status"] == "confirmed" and stored["returns"] == []
    assert stored["receipt_key"] == first.body["receipt_key"]
    assert_books_whole(kopilka)


def test_the_same_receipt_id_with_other_content_is_a_conflict(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, line("1", "1000.00")))
    before = row_counts(kopilka)
    error = refuse("receipt_conflict", kopilka.confirm,
                   receipt("r1", member, line("1", "1000.01")))
    assert error.status == 409
    refuse("receipt_conflict", kopilka.confirm, receipt("r1", None, line("1", "1000.00")))
    assert row_counts(kopilka) == before
    # the same receipt id in another store is another receipt
    other = kopilka.confirm(receipt("r1", member, line("1", "1000.01"), store_id="msk-002"))
    assert other.status == 201 and not other.replayed
    assert_books_whole(kopilka)


def test_a_receipt_without_a_member_is_stored_with_no_effects(kopilka: Kopilka) -> None:
    apply(kopilka)
    before = row_counts(kopilka)
    body = kopilka.confirm(receipt("r1", None)).body
    assert body["member_id"] is None and body["points_earned"] == 0
    after = row_counts(kopilka)
    assert after["receipts"] == before["receipts"] + 1
    assert after["ledger_transactions"] == before["ledger_transactions"]
    assert kopilka.cancel_receipt(STORE, "r1").body["status"] == "cancelled"
    assert_books_whole(kopilka)


# --- program versions -----------------------------------------------------------------------

def test_a_late_receipt_is_evaluated_under_the_version_in_force_when_it_happened(
        kopilka: Kopilka, clock) -> None:  # noqa: ANN001
    v1 = apply(kopilka, percent="5", effective_from="2026-01-01T00:00:00+03:00")
    clock.advance(days=130)  # July
    v2 = apply(kopilka, percent="10", effective_from="2026-06-01T00:00:00+03:00")
    assert v2 > v1
    assert kopilka.program()["version"] == v2
    assert kopilka.program(datetime(2026, 3, 15, tzinfo=MSK))["version"] == v1
    versions = kopilka.program_versions()
    assert [(v["version"], v["name"]) for v in versions] == [(v1, "Till test"),
                                                             (v2, "Till test")]
    member = enrol(kopilka)
    march = datetime(2026, 3, 15, 12, 0, tzinfo=MSK)
    late = kopilka.confirm(receipt("offline-1", member, at=march)).body
    assert (late["program_version"], late["points_earned"]) == (v1, 50)  # 5% of 1,000
    june = datetime(2026, 6, 15, 12, 0, tzinfo=MSK)
    current = kopilka.confirm(receipt("online-1", member, at=june)).body
    assert (current["program_version"], current["points_earned"]) == (v2, 100)
    ops = {op["receipt_id"]: op for op in kopilka.history(member)["items"]
           if op["kind"] == "earn"}
    assert datetime.fromisoformat(ops["offline-1"]["effective_at"]) == march
    assert datetime.fromisoformat(ops["online-1"]["effective_at"]) == june
    assert datetime.fromisoformat(ops["offline-1"]["created_at"]) == clock.now()
    assert kopilka.receipt(STORE, "offline-1")["program_version"] == v1
    assert_books_whole(kopilka)


def test_no_program_in_force_is_refused(kopilka: Kopilka) -> None:
    apply(kopilka, effective_from="2026-06-01T00:00:00+03:00")
    member = enrol(kopilka)
    before = row_counts(kopilka)
    refuse("no_program", kopilka.calculate, receipt("r1", member))
    refuse("no_program", kopilka.confirm, receipt("r1", member))
    assert row_counts(kopilka) == before
    assert_books_whole(kopilka)


# --- returns --------------------------------------------------------------------------------

def test_return_after_the_earned_points_were_spent_goes_negative(kopilka: Kopilka) -> None:
    apply(kopilka, policy="negative_balance")
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member))  # 10% of 1,000 = 100 points
    kopilka.spend(member, 100)
    assert available(kopilka, member) == 0
    returned = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body
    assert returned["points_withdrawn"] == 100
    assert returned["points_not_withdrawn"] == 0
    assert (returned["refund"], returned["refund_deduction"]) == ("1000.00", "0.00")
    assert available(kopilka, member) == -100  # a debt, settled by future earning
    kopilka.confirm(receipt("r2", member, line("1", "500.00")))  # +50
    assert available(kopilka, member) == -50
    assert kopilka.calculate(receipt("r3", member, redeem="max")).body[
        "max_redeemable_points"] == 0
    assert_books_whole(kopilka)


def test_return_after_the_earned_points_were_spent_deducts_from_the_refund(
        kopilka: Kopilka) -> None:
    apply(kopilka, policy="deduct_from_refund")
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member))  # +100
    kopilka.spend(member, 100)
    returned = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body
    assert returned["points_not_withdrawn"] == 100
    # 100 points at 1.00 each are kept from the 1,000.00 refund
    assert (returned["refund"], returned["refund_deduction"]) == ("900.00", "100.00")
    assert available(kopilka, member) == 0
    assert_books_whole(kopilka)


def test_deduct_from_refund_takes_back_what_is_left_and_deducts_the_rest(
        kopilka: Kopilka) -> None:
    apply(kopilka, policy="deduct_from_refund")
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member))  # +100
    kopilka.spend(member, 60)
    returned = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body
    assert (returned["points_withdrawn"], returned["points_not_withdrawn"]) == (100, 60)
    assert (returned["refund"], returned["refund_deduction"]) == ("940.00", "60.00")
    assert available(kopilka, member) == 0
    assert points_of(kopilka, member, "r1", "refund_earn") == -40
    assert_books_whole(kopilka)


def test_return_after_a_lot_expired_burns_the_points_that_came_from_it(
        kopilka: Kopilka, clock) -> None:  # noqa: ANN001
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 100, expires_at=clock.now() + timedelta(days=10))
    kopilka.earn(member, 50)
    at = clock.now().astimezone(MSK)
    # 120 points: 100 from the lot that expires first, 20 from the other; 880 paid earns 88
    body = kopilka.confirm(receipt("r1", member, redeem=120, at=at)).body
    assert (body["points_redeemed"], body["points_earned"]) == (120, 88)
    assert available(kopilka, member) == 150 - 120 + 88
    clock.advance(days=11)
    jobs.expire_lots(kopilka)
    assert available(kopilka, member) == 118  # the expiring lot was already spent
    returned = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body
    assert (returned["points_withdrawn"], returned["points_returned"]) == (88, 120)
    # only the 20 from the lot without expiry come back; the 100 would have expired
    assert available(kopilka, member) == 50
    assert kopilka.balance(member)["expiring"] == []
    assert_books_whole(kopilka)


MIXED = (line("1", "333.33", "3"), line("2", "99.99", "1.234"), line("3", "1000.00"))


def test_partial_returns_then_the_rest_restore_balance_and_tier_progress(
        kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    progress = kopilka.tier(member)
    assert progress["qualifying_value"] == "0.00"
    body = kopilka.confirm(receipt("r1", member, *MIXED, redeem=250)).body
    # 999.99 + 123.39 (1.234 kg at 99.99, half up) + 1,000.00 = 2,123.38; less 250 points
    assert (body["subtotal"], body["total_payable"]) == ("2123.38", "1873.38")
    earned = body["points_earned"]
    assert earned == 187  # 10% of 1,873.38, floored
    assert available(kopilka, member) == 500 - 250 + earned
    assert kopilka.tier(member)["qualifying_value"] == "1873.38"

    parts = [kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body,
             kopilka.return_receipt(STORE, "r1", "ret2", [("2", Decimal("0.5"))]).body,
             kopilka.return_receipt(STORE, "r1", "ret3", [("1", Decimal(2)),
                                                          ("2", Decimal("0.734")),
                                                          ("3", Decimal(1))]).body]
    assert sum(p["points_withdrawn"] for p in parts) == earned
    assert sum(p["points_returned"] for p in parts) == 250
    assert sum(Decimal(p["refund"]) for p in parts) == Decimal("1873.38")
    assert available(kopilka, member) == 500
    assert kopilka.balance(member)["pending"] == 0
    assert kopilka.tier(member)["qualifying_value"] == "0.00"
    stored = kopilka.receipt(STORE, "r1")
    assert [r["return_id"] for r in stored["returns"]] == ["ret1", "ret2", "ret3"]
    assert stored["status"] == "confirmed"
    # everything is back: not one more gram
    refuse("return_exceeds_receipt", kopilka.return_receipt, STORE, "r1", "ret4",
           [("2", Decimal("0.001"))])
    assert_books_whole(kopilka)


def test_a_return_is_idempotent_on_its_return_id(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, *MIXED))
    first = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))])
    counts = row_counts(kopilka)
    again = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))])
    assert again.replayed and again.body == first.body
    assert row_counts(kopilka) == counts
    refuse("idempotency_conflict", kopilka.return_receipt, STORE, "r1", "ret1",
           [("1", Decimal(2))])
    assert_books_whole(kopilka)


def test_pending_points_are_cancelled_first_on_return(kopilka: Kopilka) -> None:
    apply(kopilka, pending_days=14)
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, line("1", "100.00", "10")))  # 1,000 -> 100 pending
    assert kopilka.balance(member)["pending"] == 100
    kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(3))])
    balance = kopilka.balance(member)
    assert (balance["available"], balance["pending"]) == (0, 70)
    assert_books_whole(kopilka)


def test_cancel_after_a_return_gives_back_only_what_is_left(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    body = kopilka.confirm(receipt("r1", member, *MIXED, redeem=250)).body
    earned = body["points_earned"]
    part = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1)),
                                                        ("2", Decimal("0.617"))]).body
    assert 0 < part["points_withdrawn"] < earned
    cancelled = kopilka.cancel_receipt(STORE, "r1").body
    assert cancelled["status"] == "cancelled"
    assert available(kopilka, member) == 500
    # over the return and the cancel, exactly what the receipt did is undone, no more
    assert points_of(kopilka, member, "r1", "refund_earn") == -earned
    assert points_of(kopilka, member, "r1", "refund_spend") == 250
    assert kopilka.tier(member)["qualifying_value"] == "0.00"
    assert kopilka.receipt(STORE, "r1")["status"] == "cancelled"
    refuse("receipt_cancelled", kopilka.return_receipt, STORE, "r1", "ret2",
           [("3", Decimal(1))])
    assert_books_whole(kopilka)


def test_cancel_twice_is_harmless(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.earn(member, 500)
    kopilka.confirm(receipt("r1", member, redeem=100))
    first = kopilka.cancel_receipt(STORE, "r1").body
    counts, balance = row_counts(kopilka), kopilka.balance(member)
    second = kopilka.cancel_receipt(STORE, "r1").body
    assert second == first
    assert row_counts(kopilka) == counts
    assert kopilka.balance(member) == balance
    assert balance["available"] == 500
    # a confirm repeated after the cancel replays the first answer and changes nothing
    replay = kopilka.confirm(receipt("r1", member, redeem=100))
    assert replay.replayed
    assert kopilka.balance(member) == balance
    assert_books_whole(kopilka)


def test_cancel_of_an_unknown_receipt_is_not_found(kopilka: Kopilka) -> None:
    apply(kopilka)
    assert refuse("receipt_not_found", kopilka.cancel_receipt, STORE, "nope").status == 404
    assert_books_whole(kopilka)


def test_returning_more_than_was_bought_is_refused_and_changes_nothing(
        kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, *MIXED))
    before, balance = row_counts(kopilka), kopilka.balance(member)
    error = refuse("return_exceeds_receipt", kopilka.return_receipt, STORE, "r1", "ret1",
                   [("1", Decimal(4))])
    assert error.status == 422
    refuse("return_exceeds_receipt", kopilka.return_receipt, STORE, "r1", "ret1",
           [("2", Decimal("1.235"))])
    with pytest.raises(DomainError) as zero:
        kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(0))])
    assert zero.value.status == 422
    # two return lines for the same line that together exceed it
    refuse("return_exceeds_receipt", kopilka.return_receipt, STORE, "r1", "ret1",
           [("1", Decimal(2)), ("1", Decimal(2))])
    refuse("unknown_line", kopilka.return_receipt, STORE, "r1", "ret1", [("9", Decimal(1))])
    refuse("receipt_not_found", kopilka.return_receipt, STORE, "nope", "ret1",
           [("1", Decimal(1))])
    assert row_counts(kopilka) == before
    assert kopilka.balance(member) == balance
    # a partial return, then more than what is left
    kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(2))])
    refuse("return_exceeds_receipt", kopilka.return_receipt, STORE, "r1", "ret2",
           [("1", Decimal(2))])
    assert_books_whole(kopilka)


# --- tiers ----------------------------------------------------------------------------------

def test_tier_upgrade_on_confirm_and_tier_progress(kopilka: Kopilka) -> None:
    apply_example(kopilka, "tiers-discount.yaml")
    member = enrol(kopilka)
    progress = kopilka.tier(member)
    assert progress["tier"]["code"] == "base"
    assert progress["qualifying_value"] == "0.00"
    assert progress["next_tier"] == {"code": "silver", "name": "Silver",
                                     "threshold": "5000.00", "missing": "5000.00"}
    preview = kopilka.calculate(receipt("r1", member, line("1", "6000.00"))).body
    assert (preview["tier"]["before"], preview["tier"]["after"]) == ("base", "silver")
    body = kopilka.confirm(receipt("r1", member, line("1", "6000.00"))).body
    assert body["discount_total"] == "0.00"  # the crossing purchase is priced at Base
    assert [a["kind"] for a in body["applied"]] == ["tier"]
    assert body["messages"] == ["Buy for 4000.00 more to reach Gold"]
    assert kopilka.member(member)["tier"]["code"] == "silver"
    progress = kopilka.tier(member)
    assert progress["tier"]["code"] == "silver"
    assert progress["measure"] == "spend"
    assert progress["qualifying_value"] == "6000.00"
    assert progress["next_tier"] == {"code": "gold", "name": "Gold", "threshold": "10000.00",
                                     "missing": "4000.00"}
    assert progress["next_review_at"] == progress["period"]["to"]
    # the next purchase gets Silver's 5%
    second = kopilka.confirm(receipt("r2", member, line("1", "1000.00"),
                                     line("2", "500.00", category="gift-cards"))).body
    assert (second["discount_total"], second["total_payable"]) == ("50.00", "1450.00")
    assert kopilka.tier(member)["next_tier"]["missing"] == "2550.00"
    assert_books_whole(kopilka)


def test_tier_progress_counts_the_receipts_the_till_counted(kopilka: Kopilka) -> None:
    """A Moscow receipt early on 1 January counts for the year at the till (the tier window
    is read in the receipt's own time); the tier endpoint must count it as well."""
    apply_example(kopilka, "tiers-discount.yaml")
    member = enrol(kopilka)
    new_year = datetime(2026, 1, 1, 1, 0, tzinfo=MSK)  # 2025-12-31 22:00 UTC
    body = kopilka.confirm(receipt("r1", member, line("1", "6000.00"), at=new_year)).body
    assert body["tier"]["after"] == "silver"
    assert kopilka.tier(member)["qualifying_value"] == "6000.00"


def test_a_cancelled_receipt_no_longer_counts_for_the_tier(kopilka: Kopilka) -> None:
    apply_example(kopilka, "tiers-discount.yaml")
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, line("1", "3000.00")))
    assert kopilka.tier(member)["qualifying_value"] == "3000.00"
    kopilka.cancel_receipt(STORE, "r1")
    assert kopilka.tier(member)["qualifying_value"] == "0.00"
    assert kopilka.tier(member)["next_tier"]["missing"] == "5000.00"
    assert_books_whole(kopilka)


def test_cashback_confirm_keeps_bonus_rubles_to_the_kopeck(kopilka: Kopilka) -> None:
    apply_example(kopilka, "cashback.yaml")
    member = enrol(kopilka)
    nov = datetime(2026, 11, 22, 12, 30, tzinfo=MSK)
    body = kopilka.confirm(receipt("r1", member, line("1", "123.45"), at=nov)).body
    assert body["points_earned"] == 370  # 3.70 bonus rubles in minor units
    (accrual,) = body["accruals"]
    assert accrual["currency"] == "rub_bonus"
    assert datetime.fromisoformat(accrual["expires_at"]) == datetime(2028, 1, 1, tzinfo=MSK)
    assert kopilka.balance(member, "rub_bonus")["available"] == "3.70"
    second = kopilka.confirm(receipt("r2", member, line("1", "10.00"), at=nov,
                                     redeem="max")).body
    assert (second["points_redeemed"], second["points_redeemed_value"]) == (370, "3.70")
    assert second["total_payable"] == "6.30"
    # 3% of 6.30 = 0.189 -> 0.18
    assert kopilka.balance(member, "rub_bonus")["available"] == "0.18"
    kopilka.return_receipt(STORE, "r2", "ret1", [("1", Decimal(1))])
    assert kopilka.balance(member, "rub_bonus")["available"] == "3.70"
    assert_books_whole(kopilka)


def test_deduct_from_refund_in_a_currency_with_kopecks(kopilka: Kopilka) -> None:
    """3.00 bonus rubles (300 minor units of a scale-2 currency) that cannot be taken back
    are worth 3.00 RUB of the refund, not 300 rubles."""
    text = (EXAMPLES / "cashback.yaml").read_text(encoding="utf-8").replace(
        "spent_earned_points: negative_balance", "spent_earned_points: deduct_from_refund")
    kopilka.apply_program(parse_program(text))
    member = enrol(kopilka)
    kopilka.confirm(receipt("r1", member, line("1", "100.00")))  # 3% = 3.00 bonus rubles
    kopilka.spend(member, 300, currency="rub_bonus")
    returned = kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))]).body
    assert returned["points_not_withdrawn"] == 300
    assert (returned["refund"], returned["refund_deduction"]) == ("97.00", "3.00")
    assert_books_whole(kopilka)


def test_the_confirmed_balance_is_in_the_programs_currency(kopilka: Kopilka) -> None:
    """API.md: confirm returns "the member's new balance" - for a cashback program that is
    the bonus rubles just earned, not the (empty) default point currency."""
    apply_example(kopilka, "cashback.yaml")
    member = enrol(kopilka)
    body = kopilka.confirm(receipt("r1", member, line("1", "123.45"))).body
    assert body["balance"]["currency"] == "rub_bonus"
    assert body["balance"]["available"] == "3.70"


TWO_RULES = """\
name: Two earn rules
effective_from: 2026-01-01T00:00:00+03:00
point_currencies:
  - {code: points, name: Bonus points, value: "1.00"}
  - {code: stars, name: Stars, value: "1.00"}
earn:
  - {id: base, percent: "10"}
  - {id: extra, percent: "5", currency: "%s"}
"""


def test_a_full_return_takes_back_every_earn_rules_points(kopilka: Kopilka) -> None:
    """API.md: "Earned points of the returned share are withdrawn" - of every earn rule,
    here a second rule in a second currency."""
    kopilka.apply_program(parse_program(TWO_RULES % "stars"))
    member = enrol(kopilka)
    body = kopilka.confirm(receipt("r1", member)).body
    assert sorted((a["currency"], a["points"]) for a in body["accruals"]) == [
        ("points", 100), ("stars", 50)]
    kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))])
    assert available(kopilka, member) == 0
    assert kopilka.balance(member, "stars")["available"] == 0
    assert_books_whole(kopilka)


def test_return_then_cancel_with_two_earn_rules_in_one_currency_takes_back_once(
        kopilka: Kopilka) -> None:
    kopilka.apply_program(parse_program(TWO_RULES % "points"))
    member = enrol(kopilka)
    body = kopilka.confirm(receipt("r1", member)).body
    assert body["points_earned"] == 150  # 10% + 5% of 1,000
    kopilka.return_receipt(STORE, "r1", "ret1", [("1", Decimal(1))])
    assert available(kopilka, member) == 0
    kopilka.cancel_receipt(STORE, "r1")  # nothing is left to undo
    assert available(kopilka, member) == 0
    assert points_of(kopilka, member, "r1", "refund_earn") == -150
    assert_books_whole(kopilka)
