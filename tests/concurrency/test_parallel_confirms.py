"""Parallel confirms on PostgreSQL, through the library from many threads.

- 40 tills confirm different receipts of one member at once, each redeeming points from a
  balance that covers only some of them: the member's lock makes them serial, so the balance
  is never overdrawn and exactly the balance is spent.
- 20 tills confirm the same receipt at once (a retry storm): exactly one takes effect, the
  others replay its answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_transactions, receipts
from kopilka.adapters.sql.verify import verify
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line
from tests.conftest import START, make_library

# many PostgreSQL connections each: these modules run one after another on one worker
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_connections")]

MSK = timezone(timedelta(hours=3))
PROGRAM = """\
name: Parallel
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10", pending_days: 14}]
burn: {id: pay, max_share_percent: "30"}
"""


@pytest.fixture
def lib(pg_url: str) -> Iterator[Kopilka]:
    k = make_library(pg_url, FixedClock(START), pool_size=32)
    k.apply_program(parse_program(PROGRAM))
    yield k
    k.db.dispose()


def _member(k: Kopilka) -> str:
    return k.enrol(Enrolment(phone="+79161234567",
                             consents={"personal_data": True})).body["member_id"]


def _receipt(receipt_id: str, member_id: str, redeem: int) -> ReceiptInput:
    return ReceiptInput(store_id="msk-001", receipt_id=receipt_id,
                        occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=MSK),
                        lines=(Line("1", "SKU-1", 100_000, Decimal(1)),),  # 1,000.00
                        member={"member_id": member_id}, redeem_points=redeem)


def _all_at_once(n: int, call: Callable[[int], Any]) -> list[Any]:
    """Run `call(i)` for i in 0..n-1 in n threads released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        return call(i)
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


def test_parallel_confirms_of_one_member_never_overdraw(lib: Kopilka) -> None:
    member = _member(lib)
    lib.earn(member, 1_000)
    # each receipt asks for 100 points (30% of 1,000.00 allows 300): 40 x 100 = 4,000 asked,
    # 1,000 available; earned points are pending, so they cannot be spent meanwhile
    results = _all_at_once(40, lambda i: lib.confirm(_receipt(f"r{i}", member, 100)))
    assert all(r.status == 201 and not r.replayed for r in results)
    redeemed = [r.body["points_redeemed"] for r in results]
    assert all(0 <= p <= 100 for p in redeemed)
    assert sum(redeemed) == 1_000
    capped = [r for r in results if r.body["points_redeemed"] < 100]
    assert len(capped) == 30
    assert all([x["code"] for x in r.body["rejected"]] == ["redeem_capped"] for r in capped)
    balance = lib.balance(member)
    assert balance["available"] == 0
    # each receipt earns 10% of what was paid in money
    assert balance["pending"] == sum(r.body["points_earned"] for r in results)
    assert balance["pending"] == sum((100_000 - p * 100) // 1_000 for p in redeemed)
    with lib.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(receipts)).scalar_one() == 40
    _books_whole(lib)


def test_parallel_confirms_of_the_same_receipt_take_effect_once(lib: Kopilka) -> None:
    member = _member(lib)
    lib.earn(member, 1_000)
    results = _all_at_once(20, lambda i: lib.confirm(_receipt("same", member, 100)))
    first = [r for r in results if not r.replayed]
    assert len(first) == 1
    assert all(r.body == first[0].body for r in results)
    assert first[0].body["points_redeemed"] == 100
    balance = lib.balance(member)
    assert (balance["available"], balance["pending"]) == (900, 90)
    with lib.db.engine.connect() as conn:
        codes = [c for (c,) in conn.execute(
            sa.select(ledger_transactions.c.code)
            .where(ledger_transactions.c.receipt_id == "same"))]
        assert sorted(codes) == ["earn", "spend"]
        assert conn.execute(sa.select(sa.func.count()).select_from(receipts)).scalar_one() == 1
    _books_whole(lib)
