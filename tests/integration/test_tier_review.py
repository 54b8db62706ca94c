"""Tier review: a tier earned in a year is kept through the next; without new spend it is lost
after that, once the grace days are over. Upgrades happen at the till, immediately."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
from kopilka.app.members import Enrolment
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tiers-discount.yaml"


def _buy(kopilka, member_id: str, receipt_id: str, kopecks: int, at: datetime) -> dict:  # noqa: ANN001
    receipt = ReceiptInput(store_id="msk-001", receipt_id=receipt_id, occurred_at=at,
                           lines=(Line("1", "TV-1", kopecks, Decimal(1), "electronics"),),
                           member={"member_id": member_id})
    return kopilka.confirm(receipt).body


def test_tier_is_upgraded_at_once_kept_a_year_and_reviewed_down_after_grace(
        kopilka, clock) -> None:  # noqa: ANN001
    kopilka.apply_program(parse_program(EXAMPLE.read_text()))
    member = kopilka.enrol(Enrolment(phone="+79161234567",
                                     consents={"personal_data": True})).body["member_id"]
    clock.at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    first = _buy(kopilka, member, "r1", 400_000, clock.at)  # 4,000.00: still base
    assert first["tier"] == {"before": "base", "after": "base", "qualifying_value": "4000.00"}
    assert "Buy for 1000.00 more to reach Silver" in first["messages"]
    second = _buy(kopilka, member, "r2", 200_000, clock.at)  # crosses 5,000.00
    assert second["tier"]["after"] == "silver"
    assert kopilka.member(member)["tier"]["code"] == "silver"
    progress = kopilka.tier(member)
    assert progress["qualifying_value"] == "6000.00"
    assert progress["next_tier"]["code"] == "gold"
    assert progress["next_tier"]["missing"] == "4000.00"

    clock.at = datetime(2027, 2, 15, tzinfo=UTC)  # next year, past the grace days
    assert jobs.review_tiers(kopilka).done == 0  # earned in 2026: kept through 2027
    assert kopilka.member(member)["tier"]["code"] == "silver"

    clock.at = datetime(2028, 1, 10, tzinfo=UTC)  # within the grace days of 2028
    assert jobs.review_tiers(kopilka).done == 0
    clock.at = datetime(2028, 2, 15, tzinfo=UTC)  # grace over, nothing spent in 2027
    report = jobs.review_tiers(kopilka)
    assert report.done == 1
    assert kopilka.member(member)["tier"]["code"] == "base"
    assert jobs.review_tiers(kopilka).done == 0  # idempotent
    with kopilka.db.engine.connect() as conn:
        assert verify(conn) == []


def test_review_keeps_a_tier_requalified_in_the_current_year(kopilka, clock) -> None:  # noqa: ANN001
    kopilka.apply_program(parse_program(EXAMPLE.read_text()))
    member = kopilka.enrol(Enrolment(phone="+79161234568",
                                     consents={"personal_data": True})).body["member_id"]
    clock.at = datetime(2026, 5, 1, tzinfo=UTC)
    _buy(kopilka, member, "a1", 1_100_000, clock.at)  # gold in 2026
    clock.at = datetime(2028, 3, 1, tzinfo=UTC)
    _buy(kopilka, member, "a2", 600_000, clock.at)  # 6,000.00 in 2028: silver level earned
    jobs.review_tiers(kopilka)
    assert kopilka.member(member)["tier"]["code"] == "silver"  # gold lost, silver kept


def test_lookup_shows_the_tier_name_and_its_discount(kopilka, clock) -> None:  # noqa: ANN001
    member = kopilka.enrol(Enrolment(phone="+79161234569",
                                     consents={"personal_data": True})).body["member_id"]
    assert kopilka.lookup({"member_id": member})["discount_percent"] == "0"  # no program yet
    kopilka.apply_program(parse_program(EXAMPLE.read_text()))
    clock.at = datetime(2026, 4, 1, tzinfo=UTC)
    summary = kopilka.lookup({"member_id": member})
    assert summary["tier"] == {"code": "base", "name": "Base"}
    assert summary["discount_percent"] == "0"
    _buy(kopilka, member, "t1", 1_050_000, clock.at)  # 10,500.00: gold
    summary = kopilka.lookup({"member_id": member})
    assert summary["tier"] == {"code": "gold", "name": "Gold"}
    assert summary["discount_percent"] == "10"
    assert kopilka.member(member)["tier"] == {"code": "gold", "name": "Gold"}


def test_another_partners_key_cannot_see_cancel_or_return_a_receipt(kopilka, clock) -> None:  # noqa: ANN001
    from kopilka.app.library import Caller
    from kopilka.domain.errors import DomainError

    kopilka.apply_program(parse_program(EXAMPLE.read_text()))
    member = kopilka.enrol(Enrolment(phone="+79161234570",
                                     consents={"personal_data": True})).body["member_id"]
    clock.at = datetime(2026, 4, 1, tzinfo=UTC)
    main, other = Caller("till-main", partner_id="main"), Caller("till-other", partner_id="other")
    receipt = ReceiptInput(store_id="msk-001", receipt_id="p1", occurred_at=clock.at,
                           lines=(Line("1", "TV-1", 100_000, Decimal(1), "electronics"),),
                           member={"member_id": member})
    kopilka.confirm(receipt, caller=main)
    assert kopilka.receipt("msk-001", "p1", caller=main)["status"] == "confirmed"
    for attempt in (lambda: kopilka.receipt("msk-001", "p1", caller=other),
                    lambda: kopilka.cancel_receipt("msk-001", "p1", caller=other),
                    lambda: kopilka.return_receipt("msk-001", "p1", "ret", [("1", Decimal(1))],
                                                   caller=other)):
        try:
            attempt()
        except DomainError as exc:
            assert exc.code == "receipt_not_found"
        else:
            raise AssertionError("another partner reached the receipt")
    assert kopilka.receipt("msk-001", "p1")["status"] == "confirmed"  # nothing changed


def test_cancel_or_return_of_the_upgrading_purchase_undoes_the_upgrade(kopilka, clock) -> None:  # noqa: ANN001
    kopilka.apply_program(parse_program(EXAMPLE.read_text()))
    member = kopilka.enrol(Enrolment(phone="+79161234571",
                                     consents={"personal_data": True})).body["member_id"]
    clock.at = datetime(2026, 4, 1, tzinfo=UTC)
    _buy(kopilka, member, "u1", 300_000, clock.at)  # 3,000.00: base
    assert _buy(kopilka, member, "u2", 300_000, clock.at)["tier"]["after"] == "silver"
    kopilka.cancel_receipt("msk-001", "u2")
    assert kopilka.member(member)["tier"]["code"] == "base"  # 3,000.00 spent: no silver
    assert _buy(kopilka, member, "u3", 800_000, clock.at)["tier"]["after"] == "gold"
    # a return that keeps 5,000+ spent keeps silver (the tier before this receipt was base)
    kopilka.return_receipt("msk-001", "u3", "r1", [("1", Decimal("0.5"))])
    assert kopilka.member(member)["tier"]["code"] == "silver"  # 3,000 + 4,000 = 7,000.00
    kopilka.return_receipt("msk-001", "u3", "r2", [("1", Decimal("0.5"))])
    assert kopilka.member(member)["tier"]["code"] == "base"
    assert kopilka.tier(member)["qualifying_value"] == "3000.00"


def test_another_partners_key_cannot_capture_or_release_a_hold(kopilka) -> None:  # noqa: ANN001
    from kopilka.app.library import Caller
    from kopilka.domain.errors import NotFound

    member = kopilka.enrol(Enrolment(phone="+79161234572",
                                     consents={"personal_data": True})).body["member_id"]
    kopilka.earn(member, 500)
    main, other = Caller("till-main", partner_id="main"), Caller("till-other", partner_id="other")
    hold = kopilka.hold(member, 200, caller=main).body["hold_id"]
    for attempt in (lambda: kopilka.capture(hold, caller=other),
                    lambda: kopilka.release(hold, caller=other)):
        try:
            attempt()
        except NotFound as exc:
            assert exc.code == "hold_not_found"
        else:
            raise AssertionError("another partner moved the hold")
    assert kopilka.balance(member)["on_hold"] == 200
    assert kopilka.capture(hold, 150, caller=main).body["balance"]["available"] == 350
