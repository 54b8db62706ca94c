"""Balance changes wait for the member's lock, and parallel spends never overdraw.

These run against PostgreSQL: the row lock is what makes one member's operations serial
while different members proceed in parallel.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import member_balances
from kopilka.adapters.sql.verify import verify
from kopilka.app.members import Enrolment
from kopilka.domain.errors import InsufficientPoints
from tests.conftest import make_library

pytestmark = pytest.mark.postgres


def _member(k, phone: str = "+79161234567") -> str:  # noqa: ANN001
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True})).body["member_id"]


def test_spend_waits_for_the_member_balance_row_lock(pg_url: str) -> None:
    k = make_library(pg_url)
    member_id = _member(k)
    k.earn(member_id, 100)
    done = threading.Event()
    with k.db.engine.connect() as blocker:
        blocker.execute(sa.select(member_balances).where(
            member_balances.c.member_id == member_id).with_for_update())
        worker = threading.Thread(target=lambda: (k.spend(member_id, 30), done.set()))
        worker.start()
        time.sleep(0.5)
        assert not done.is_set(), "the spend wrote without taking the member's lock"
        blocker.rollback()
    worker.join(5)
    assert done.is_set()
    assert k.balance(member_id)["available"] == 70
    k.db.dispose()


def test_different_members_do_not_wait_for_each_other(pg_url: str) -> None:
    k = make_library(pg_url)
    first, second = _member(k, "+79161234567"), _member(k, "+79161234568")
    k.earn(first, 100)
    k.earn(second, 100)
    with k.db.engine.connect() as blocker:
        blocker.execute(sa.select(member_balances).where(
            member_balances.c.member_id == first).with_for_update())
        k.spend(second, 10)  # would hang if locks were wider than one member
        blocker.rollback()
    assert k.balance(second)["available"] == 90
    k.db.dispose()


def test_parallel_spends_in_process_never_overdraw(pg_url: str) -> None:
    k = make_library(pg_url)
    member_id = _member(k)
    k.earn(member_id, 1000)

    def spend(_: int) -> bool:
        try:
            k.spend(member_id, 70)
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(spend, range(60)))
    assert sum(outcomes) == 1000 // 70
    assert k.balance(member_id)["available"] == 1000 - 70 * (1000 // 70)
    with k.db.engine.connect() as conn:
        assert verify(conn) == []
    k.db.dispose()
