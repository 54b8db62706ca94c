"""Promotion budgets under parallel confirms on PostgreSQL (50 tills at once, each its own
member and receipt): a money budget, a count limit and one single-use code are never
overspent by one kopeck, receipt or use; the counters equal what the receipts got."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line
from tests.concurrency.test_parallel_confirms import MSK, PROGRAM, _all_at_once, _books_whole
from tests.conftest import START, make_library

# many PostgreSQL connections each: these modules run one after another on one worker
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_connections")]
TILLS = 50


@pytest.fixture
def lib(pg_url: str) -> Iterator[Kopilka]:
    # 50 tills at once over at most 32 connections (pool + overflow): the confirms queue for
    # a connection, as behind a real pool, and CI keeps clear of max_connections
    k = make_library(pg_url, FixedClock(START), pool_size=16)
    k.apply_program(parse_program(PROGRAM))
    yield k
    k.db.dispose()


def _members(k: Kopilka, n: int) -> list[str]:
    return [k.enrol(Enrolment(phone=f"+7916555{i:04d}", consents={"personal_data": True})
                    ).body["member_id"] for i in range(n)]


def _receipt(i: int, member_id: str, price: int = 100_000) -> ReceiptInput:
    return ReceiptInput(store_id="msk-001", receipt_id=f"p{i}",
                        occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=MSK),
                        lines=(Line("1", "SKU-1", price, Decimal(1)),),
                        member={"member_id": member_id})


def _discount(body: dict[str, Any]) -> int:
    return int(Decimal(body["discount_total"]) * 100)


def test_a_money_budget_is_never_overspent(lib: Kopilka) -> None:
    # 10% of 1,000.03 is 100.00 (floored); the budget of 1,234.56 covers 12 receipts and
    # 34.56 of a 13th: exactly the budget is given, never a kopeck more
    lib.create_promotion({"id": "ten", "name": "10% off", "reward": {
        "type": "percent_off", "percent": "10"}, "limits": {"budget": "1234.56"}})
    members = _members(lib, TILLS)
    results = _all_at_once(TILLS, lambda i: lib.confirm(_receipt(i, members[i], 100_003)))
    assert all(r.status == 201 for r in results)
    given = sorted((_discount(r.body) for r in results), reverse=True)
    assert sum(given) == 123_456
    assert given[:12] == [10_000] * 12 and given[12] == 3_456 and set(given[13:]) == {0}
    assert lib.promotion("ten")["used"] == {"amount": "1234.56", "points": 0, "count": 13}
    refused = [r for r in results if _discount(r.body) == 0]
    assert all("budget_exhausted" in [x["code"] for x in r.body["rejected"]] for r in refused)
    _books_whole(lib)


def test_a_count_limit_and_a_single_use_code_are_never_overused(lib: Kopilka) -> None:
    lib.create_promotion({"id": "first7", "name": "First seven", "reward": {
        "type": "amount_off", "amount": "50.00"}, "limits": {"count": 7}})
    lib.create_promotion({"id": "vip", "name": "VIP code", "requires_code": True,
                          "reward": {"type": "extra_points", "points": 500}})
    code = lib.generate_codes("vip", count=1).body["codes"][0]
    members = _members(lib, TILLS)
    results = _all_at_once(TILLS, lambda i: lib.confirm(
        replace(_receipt(i, members[i]), promo_codes=(code,))))
    bodies = [r.body for r in results]
    assert sum(1 for b in bodies if _discount(b) == 5_000) == 7
    assert lib.promotion("first7")["used"]["count"] == 7
    winners = [b for b in bodies if any(a["code"] == "vip" for a in b["applied"])]
    assert len(winners) == 1  # 500 and 10% of 1,000.00 (or of 950.00 with "first7")
    assert winners[0]["points_earned"] in (500 + 100, 500 + 95)
    assert lib.promotion("vip")["used"] == {"amount": "0.00", "points": 500, "count": 1}
    assert lib.check_promo_code(code)["valid"] is False
    _books_whole(lib)
