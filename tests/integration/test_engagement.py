"""Gamification through the library on SQLite and PostgreSQL (SPEC P7): challenge progress
from confirmed receipts, the badge and its points once per period, cancel lowering progress
(the badge stays), instant-win draws within their budget (a retry draws the same), stickers
earned per amount spent and exchanged for a voucher exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import draw_counters, engagement_grants
from kopilka.adapters.sql.verify import verify
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain import engagement as E
from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import Line
from tests.e2e.conftest import row_counts

MSK = timezone(timedelta(hours=3))
PROGRAM = """\
name: Engagement test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies:
  - {code: points, name: Bonus points, value: "1.00"}
  - {code: stickers, name: Stickers, value: "1.00"}
earn:
  - {id: base, percent: "10"}
  - {id: stickers, currency: stickers, percent: "0.2"}   # 1 sticker per 500.00 paid
burn: {id: pay, max_share_percent: "50"}
engagement:
  challenges:
    - {id: five, name: Five purchases a month, badge: Regular, measure: purchases,
       target: 5, period: month, reward_points: 100}
    - {id: gadgets, name: Spend 10000 in Electronics, badge: Gadget fan,
       measure: category_spend, category: electronics, target: "10000.00", period: ever,
       reward_points: 500}
  draws:
    - {id: lucky, name: Lucky receipt, odds_percent: "100", prize_points: 200,
       budget_points: 500, min_receipt: "500.00"}
  sticker_currency: stickers
  sticker_offers:
    - {id: pan, name: Frying pan -50%, stickers: 3, sku: PAN-28, discount_percent: "50"}
"""
_phones = iter(range(2_000_000, 9_999_999))


@pytest.fixture
def lib(kopilka: Kopilka) -> Kopilka:
    kopilka.apply_program(parse_program(PROGRAM))
    return kopilka


def enrol(k: Kopilka) -> str:
    return k.enrol(Enrolment(phone=f"+7916{next(_phones):07d}",
                             consents={"personal_data": True})).body["member_id"]


def buy(k: Kopilka, member_id: str, receipt_id: str, *, price: int = 100_000,
        category: str | None = "food", day: int = 1, month: int = 3) -> Any:
    return k.confirm(ReceiptInput(
        store_id="msk-001", receipt_id=receipt_id,
        occurred_at=datetime(2026, month, day, 12, tzinfo=MSK),
        lines=(Line("1", "SKU-1", price, Decimal(1), category=category),),
        member={"member_id": member_id}))


def bonuses(k: Kopilka, member_id: str) -> list[tuple[str, int]]:
    items = k.history(member_id, limit=500)["items"]
    return [(op["reason"], op["points"]) for op in reversed(items) if op["kind"] == "bonus"]


def books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


def counter(k: Kopilka) -> tuple[int, int]:
    with k.db.engine.connect() as conn:
        row = conn.execute(sa.select(draw_counters.c.spent_points, draw_counters.c.wins)).first()
        return (row.spent_points, row.wins) if row else (0, 0)


def only_challenges(program: str) -> str:
    return program.replace("odds_percent: \"100\"", "odds_percent: \"0.000001\"")


def test_five_purchases_give_the_badge_and_points_once_a_month(kopilka: Kopilka) -> None:
    lib = kopilka
    lib.apply_program(parse_program(only_challenges(PROGRAM)))
    member = enrol(lib)
    for i in range(4):
        body = buy(lib, member, f"r{i}", price=10_000).body
        assert body["engagement"]["challenges"] == [
            {"id": "five", "name": "Five purchases a month", "period_key": "2026-03",
             "progress": i + 1, "target": 5, "completed": False}]
    fifth = buy(lib, member, "r4", price=10_000).body["engagement"]["challenges"][0]
    assert (fifth["completed"], fifth["badge"], fifth["reward_points"]) == (True, "Regular", 100)
    assert buy(lib, member, "r4", price=10_000).replayed  # a retry changes nothing
    sixth = buy(lib, member, "r5", price=10_000).body["engagement"]["challenges"][0]
    assert (sixth["progress"], sixth["completed"], "badge" in sixth) == (6, True, False)
    assert bonuses(lib, member) == [("five", 100)]
    for i in range(5):  # April: a new period, a new badge
        buy(lib, member, f"a{i}", price=10_000, month=4)
    assert bonuses(lib, member) == [("five", 100), ("five", 100)]
    lib.clock.at = datetime(2026, 4, 20, 9, tzinfo=MSK)  # type: ignore[attr-defined]
    view = lib.challenges(member)
    assert [(c["id"], c["period_key"], c["progress"], c["completed"]) for c in view["items"]] == [
        ("five", "2026-04", 5, True), ("gadgets", "ever", "0.00", False)]
    assert [(b["badge"], b["period_key"]) for b in view["badges"]] == [
        ("Regular", "2026-03"), ("Regular", "2026-04")]
    books_whole(lib)


def test_category_spend_counts_paid_lines_of_the_category(kopilka: Kopilka) -> None:
    lib = kopilka
    lib.apply_program(parse_program(only_challenges(PROGRAM)))
    member = enrol(lib)
    buy(lib, member, "milk", price=900_000, category="food")  # not electronics
    first = buy(lib, member, "tv", price=600_000, category="electronics/tv").body
    assert [c for c in first["engagement"]["challenges"] if c["id"] == "gadgets"] == [
        {"id": "gadgets", "name": "Spend 10000 in Electronics", "period_key": "ever",
         "progress": "6000.00", "target": "10000.00", "completed": False}]
    second = buy(lib, member, "phone", price=400_000, category="electronics", day=2).body
    gadgets = second["engagement"]["challenges"][1]
    assert (gadgets["progress"], gadgets["badge"]) == ("10000.00", "Gadget fan")
    assert ("gadgets", 500) in bonuses(lib, member)
    books_whole(lib)


def test_cancel_lowers_progress_and_the_badge_stays(kopilka: Kopilka) -> None:
    lib = kopilka
    lib.apply_program(parse_program(only_challenges(PROGRAM)))
    member = enrol(lib)
    for i in range(5):
        buy(lib, member, f"r{i}", price=10_000)
    lib.cancel_receipt("msk-001", "r4")
    lib.cancel_receipt("msk-001", "r3")
    view = lib.challenges(member)
    assert (view["items"][0]["progress"], view["items"][0]["completed"]) == (3, True)
    assert [b["badge"] for b in view["badges"]] == ["Regular"]
    buy(lib, member, "r5", price=10_000)
    buy(lib, member, "r6", price=10_000)  # back at 5: no second badge in the same month
    assert bonuses(lib, member) == [("five", 100)]
    books_whole(lib)


def test_draw_wins_never_exceed_the_budget_and_cancel_gives_it_back(lib: Kopilka) -> None:
    member = enrol(lib)
    small = buy(lib, member, "small", price=49_999).body  # below min_receipt
    assert "draws" not in small.get("engagement", {})
    wins = [buy(lib, member, f"r{i}", price=50_000).body["engagement"]["draws"]
            for i in range(4)]
    assert [(d[0]["won"], d[0].get("points")) for d in wins] == [
        (True, 200), (True, 200), (True, 100), (False, None)]  # capped, then refused
    assert wins[3][0]["reason"] == "budget_spent"
    assert counter(lib) == (500, 3)
    assert [p for reason, p in bonuses(lib, member) if reason == "lucky"] == [200, 200, 100]
    lib.cancel_receipt("msk-001", "r0")  # gives 200 back to the budget
    assert counter(lib) == (300, 2)
    again = buy(lib, member, "r9", price=50_000).body["engagement"]["draws"][0]
    assert (again["won"], again["points"]) == (True, 200)
    assert counter(lib) == (500, 3)
    with lib.db.engine.connect() as conn:
        g = engagement_grants.c
        given = conn.execute(sa.select(sa.func.sum(g.points)).where(
            g.kind == "draw", g.status == "granted")).scalar_one()
    assert given == 500
    books_whole(lib)


def test_a_draw_result_depends_only_on_the_receipt(kopilka: Kopilka) -> None:
    lib = kopilka
    lib.apply_program(parse_program(PROGRAM.replace('odds_percent: "100"', 'odds_percent: "50"')
                                    .replace("budget_points: 500", "budget_points: 100000")))
    member = enrol(lib)
    results = {f"r{i}": bool(buy(lib, member, f"r{i}", price=50_000).body.get(
        "engagement", {}).get("draws")) for i in range(40)}
    expected = {rid: E.roll("lucky", "msk-001", rid) < E.ROLL_SCALE // 2 for rid in results}
    assert results == expected and 5 < sum(results.values()) < 35
    assert buy(lib, member, "r0", price=50_000).body == buy(lib, member, "r0",
                                                             price=50_000).body
    books_whole(lib)


def test_stickers_accrue_per_amount_and_buy_a_voucher_once(lib: Kopilka) -> None:
    member = enrol(lib)
    buy(lib, member, "a", price=149_999)  # 1,499.99 paid: 2 stickers (floor)
    buy(lib, member, "b", price=50_000)  # 500.00: 1 sticker
    assert lib.balance(member, "stickers")["available"] == 3
    first = lib.exchange_stickers(member, "pan", idempotency_key="x-1")
    assert first.status == 201
    voucher = first.body["voucher"]
    assert (voucher["offer_id"], voucher["sku"], voucher["discount_percent"],
            voucher["status"]) == ("pan", "PAN-28", "50", "issued")
    assert (first.body["stickers_spent"], first.body["balance"]["available"]) == (3, 0)
    replay = lib.exchange_stickers(member, "pan", idempotency_key="x-1")
    assert (replay.replayed, replay.body) == (True, first.body)
    before = row_counts(lib)
    with pytest.raises(DomainError) as err:
        lib.exchange_stickers(member, "pan", idempotency_key="x-2")
    assert err.value.code == "insufficient_points"
    with pytest.raises(DomainError) as err:
        lib.exchange_stickers(member, "kettle")
    assert err.value.code == "unknown_sticker_offer"
    assert row_counts(lib) == before
    books_whole(lib)


def test_a_sticker_voucher_is_a_single_use_code_the_till_redeems(lib: Kopilka) -> None:
    member = enrol(lib)
    buy(lib, member, "a", price=150_000)  # 3 stickers
    code = lib.exchange_stickers(member, "pan").body["voucher"]["code"]
    assert lib.check_promo_code(code)["valid"] is True
    pan = ReceiptInput(store_id="msk-001", receipt_id="pan-1",
                       occurred_at=datetime(2026, 3, 2, 12, tzinfo=MSK),
                       lines=(Line("1", "PAN-28", 400_000, Decimal(1), category="home"),
                              Line("2", "SKU-1", 10_000, Decimal(1), category="food")),
                       member={"member_id": member}, promo_codes=(code,))
    body = lib.confirm(pan).body
    assert body["lines"][0]["discount"] == "2000.00"  # 50% off the pan, nothing else
    assert body["lines"][1]["discount"] == "0.00"
    again = lib.calculate(replace(pan, receipt_id="pan-2")).body
    assert again["discount_total"] == "0.00"
    assert "code_used_up" in [r["code"] for r in again["rejected"]]
    books_whole(lib)
