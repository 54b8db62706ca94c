"""Parallel one-time rewards on PostgreSQL, through the library from many threads.

- 20 callers post the same event for one member at once, each with its own Idempotency-Key
  (or none): the grant key lets exactly one give the reward, the others answer 200 with
  nothing given.
- 20 callers retry one request with the same Idempotency-Key: one effect, 20 equal answers.
- two birthday jobs run at once (two workers): the birthday is given once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_transactions, reward_grants
from kopilka.app import jobs
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from tests.concurrency.test_parallel_confirms import _all_at_once, _books_whole
from tests.conftest import START, make_library

# many PostgreSQL connections each: these modules run one after another on one worker
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_connections")]

PROGRAM = """\
name: Parallel rewards
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
rewards:
  rules:
    - {id: review, name: Review, trigger: review, points: 50}
    - {id: birthday, name: Birthday, trigger: birthday, points: 500,
       window: {days_before: 3, days_after: 3}}
"""


@pytest.fixture
def lib(pg_url: str) -> Iterator[Kopilka]:
    k = make_library(pg_url, FixedClock(START), pool_size=32)
    k.apply_program(parse_program(PROGRAM))
    yield k
    k.db.dispose()


def _member(k: Kopilka, phone: str = "+79161234567", **fields: object) -> str:
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True},
                             **fields)).body["member_id"]  # type: ignore[arg-type]


def _bonus_count(k: Kopilka, member_id: str) -> int:
    with k.db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions).where(
            ledger_transactions.c.member_id == member_id,
            ledger_transactions.c.code == "bonus")).scalar_one()


def _grant_count(k: Kopilka) -> int:
    with k.db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(reward_grants)).scalar_one()


def test_parallel_identical_events_give_the_reward_once(lib: Kopilka) -> None:
    member = _member(lib)
    results = _all_at_once(20, lambda i: lib.record_event(
        member, "review", idempotency_key=f"review-{i}" if i % 2 else None))
    assert sorted(r.status for r in results) == [200] * 19 + [201]
    (winner,) = [r for r in results if r.status == 201]
    assert [g["points"] for g in winner.body["rewards"]] == [50]
    assert all(r.body["already_granted"] == ["review"] for r in results if r.status == 200)
    assert lib.balance(member)["available"] == 50
    assert (_bonus_count(lib, member), _grant_count(lib)) == (1, 1)
    _books_whole(lib)


def test_parallel_retries_with_one_key_take_effect_once(lib: Kopilka) -> None:
    member = _member(lib)
    results = _all_at_once(20, lambda i: lib.record_event(member, "review",
                                                          idempotency_key="same"))
    first = [r for r in results if not r.replayed]
    assert len(first) == 1 and first[0].status == 201
    assert all((r.status, r.body) == (201, first[0].body) for r in results)
    assert (_bonus_count(lib, member), _grant_count(lib)) == (1, 1)
    _books_whole(lib)


def test_two_birthday_jobs_at_once_give_each_birthday_once(lib: Kopilka) -> None:
    lib.clock.at = datetime(2026, 6, 15, 9, tzinfo=UTC)  # type: ignore[attr-defined]
    members = [_member(lib, f"+7916123{i:04d}", birth_date=date(1990, 6, 14)) for i in range(30)]
    reports = _all_at_once(2, lambda i: jobs.birthday(lib, chunk=7))
    assert sum(r.done for r in reports) == 30
    assert all(_bonus_count(lib, m) == 1 for m in members)
    assert _grant_count(lib) == 30
    _books_whole(lib)
