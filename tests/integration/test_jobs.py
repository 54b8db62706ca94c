"""Jobs: pending activation, lot expiry and hold expiry are idempotent and resumable."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_transactions
from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
from kopilka.app.members import Enrolment


def _member(k, phone: str = "+79161234567") -> str:  # noqa: ANN001
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True})).body["member_id"]


def _codes(k) -> list[str]:  # noqa: ANN001
    with k.db.engine.connect() as conn:
        return [r.code for r in conn.execute(sa.select(ledger_transactions.c.code)
                                             .order_by(ledger_transactions.c.transaction_id))]


def test_pending_points_activate_when_their_time_comes(kopilka, clock) -> None:  # noqa: ANN001
    member = _member(kopilka)
    kopilka.earn(member, 300, activates_at=clock.now() + timedelta(days=14))
    assert kopilka.balance(member)["pending"] == 300
    clock.advance(days=13)
    assert jobs.activate_pending(kopilka).done == 0
    clock.advance(days=1)
    assert jobs.activate_pending(kopilka).done == 1
    assert (kopilka.balance(member)["available"], kopilka.balance(member)["pending"]) == (300, 0)
    assert jobs.activate_pending(kopilka).done == 0  # running again changes nothing


def test_expiry_burns_what_is_left_of_each_lot_once(kopilka, clock) -> None:  # noqa: ANN001
    member = _member(kopilka)
    kopilka.earn(member, 100, expires_at=clock.now() + timedelta(days=30))
    kopilka.earn(member, 200, expires_at=clock.now() + timedelta(days=60))
    kopilka.earn(member, 50)
    kopilka.spend(member, 120)  # 100 from the first lot, 20 from the second
    clock.advance(days=61)
    report = jobs.expire_lots(kopilka)
    assert report.done == 1  # the first lot was empty already
    assert kopilka.balance(member)["available"] == 50
    assert jobs.expire_lots(kopilka).done == 0
    assert _codes(kopilka).count("expire") == 1
    with kopilka.db.engine.connect() as conn:
        assert verify(conn) == []


def test_expiry_works_through_many_chunks(kopilka, clock) -> None:  # noqa: ANN001
    members = [_member(kopilka, f"+7916123{i:04d}") for i in range(7)]
    for member in members:
        for _ in range(3):
            kopilka.earn(member, 10, expires_at=clock.now() + timedelta(days=1))
    clock.advance(days=2)
    seen: list[str] = []
    report = jobs.expire_lots(kopilka, chunk=4, progress=lambda name, n: seen.append(name))
    assert report.done == 21 and len(seen) == 21
    assert all(kopilka.balance(m)["available"] == 0 for m in members)


def test_expired_holds_are_released_to_their_lots(kopilka, clock) -> None:  # noqa: ANN001
    member = _member(kopilka)
    kopilka.earn(member, 500)
    hold = kopilka.hold(member, 200, ttl=timedelta(minutes=15)).body
    assert kopilka.balance(member)["on_hold"] == 200
    clock.advance(minutes=16)
    assert jobs.expire_holds(kopilka).done == 1
    balance = kopilka.balance(member)
    assert (balance["available"], balance["on_hold"]) == (500, 0)
    assert jobs.expire_holds(kopilka).done == 0
    try:
        kopilka.capture(hold["hold_id"])
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "code", None) == "hold_not_active"
    else:
        raise AssertionError("an expired hold was captured")


def test_run_all_reports_every_job(kopilka) -> None:  # noqa: ANN001
    names = [report.name for report in jobs.run_all(kopilka)]
    assert names == ["activate_pending", "expire_lots", "expire_holds", "review_tiers",
                     "birthday"]
