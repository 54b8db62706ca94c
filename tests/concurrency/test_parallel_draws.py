"""Instant-win draws under parallel confirms on PostgreSQL (SPEC P7): 40 tills confirm
winning receipts of 40 members at once; the draw's counter row (locked FOR UPDATE in the
confirm's transaction) keeps the prizes within the budget: their sum never exceeds it and
equals the counter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import draw_counters, engagement_grants, ledger_transactions
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line
from tests.concurrency.test_parallel_confirms import _all_at_once, _books_whole
from tests.conftest import START, make_library

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_connections")]
MSK = timezone(timedelta(hours=3))
PROGRAM = """\
name: Parallel draws
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "5"}]
engagement:
  challenges:
    - {id: three, name: Three purchases, measure: purchases, target: 3, period: ever,
       reward_points: 10}
  draws:
    - {id: lucky, name: Lucky receipt, odds_percent: "100", prize_points: 300,
       budget_points: 5000}
"""


@pytest.fixture
def lib(pg_url: str) -> Iterator[Kopilka]:
    k = make_library(pg_url, FixedClock(START), pool_size=16)  # at most 32 connections
    k.apply_program(parse_program(PROGRAM))
    yield k
    k.db.dispose()


def _receipt(receipt_id: str, member_id: str) -> ReceiptInput:
    return ReceiptInput(store_id="msk-001", receipt_id=receipt_id,
                        occurred_at=datetime(2026, 3, 1, 12, tzinfo=MSK),
                        lines=(Line("1", "SKU-1", 100_000, Decimal(1)),),
                        member={"member_id": member_id})


def test_parallel_confirms_never_exceed_the_draw_budget(lib: Kopilka) -> None:
    members = [lib.enrol(Enrolment(phone=f"+7916555{i:04d}", consents={"personal_data": True})
                         ).body["member_id"] for i in range(40)]
    results = _all_at_once(40, lambda i: lib.confirm(_receipt(f"r{i}", members[i])))
    assert all(r.status == 201 for r in results)
    prizes = [d["points"] for r in results for d in r.body["engagement"].get("draws", [])
              if d["won"]]
    assert sum(prizes) == 5000  # 16 x 300 + one capped at 200; the rest refused
    assert sorted(prizes) == [200] + [300] * 16
    refused = [d for r in results for d in r.body["engagement"].get("draws", [])
               if not d["won"]]
    assert len(refused) == 40 - 17 and {d["reason"] for d in refused} == {"budget_spent"}
    with lib.db.engine.connect() as conn:
        spent, wins = conn.execute(sa.select(draw_counters.c.spent_points,
                                             draw_counters.c.wins)).one()
        granted = conn.execute(sa.select(sa.func.sum(engagement_grants.c.points)).where(
            engagement_grants.c.kind == "draw")).scalar_one()
        posted = conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)
                              .where(ledger_transactions.c.reason == "lucky")).scalar_one()
    assert (spent, wins, granted, posted) == (5000, 17, 5000, 17)
    # retries of the same receipts replay: nothing more is drawn
    again = _all_at_once(40, lambda i: lib.confirm(_receipt(f"r{i}", members[i])))
    assert all(r.replayed for r in again)
    _books_whole(lib)


def test_parallel_confirms_of_one_member_count_each_purchase_once(lib: Kopilka) -> None:
    member = lib.enrol(Enrolment(phone="+79165551234", consents={"personal_data": True})
                       ).body["member_id"]
    results = _all_at_once(30, lambda i: lib.confirm(_receipt(f"m{i % 10}", member)))
    assert sum(not r.replayed for r in results) == 10
    assert lib.challenges(member)["items"][0]["progress"] == 10
    with lib.db.engine.connect() as conn:
        bonuses = conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)
                               .where(ledger_transactions.c.reason == "three")).scalar_one()
    assert bonuses == 1
    _books_whole(lib)
