"""One-time rewards through the library on SQLite and PostgreSQL (SPEC R6): each reward at
most once whatever the retries; welcome pending until the phone is verified; events and their
periods in the member's time zone; the birthday job; referral on the friend's first purchase
(and what a cancelled first purchase does); the first app order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import ledger_transactions, members, reward_grants
from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
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
name: Rewards test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
burn: {id: pay, max_share_percent: "50"}
rewards:
  rules:
    - {id: welcome, name: Welcome, trigger: enrolment, points: 100,
       pending_until: phone_verified}
    - {id: birthday, name: Birthday, trigger: birthday, points: 500,
       window: {days_before: 7, days_after: 7}, expiry: {after_days: 30}}
    - {id: referral, name: Friend, trigger: referral, referrer_points: 300, friend_points: 200}
    - {id: review, name: Review, trigger: review, points: 50}
    - {id: first-app, name: First app order, trigger: first_app_order, points: 70}
    - {id: recycling, name: Recycling, trigger: custom, event: recycling, points: 150,
       period: calendar_month}
"""
_phones = iter(range(2_000_000, 9_999_999))


@pytest.fixture
def lib(kopilka: Kopilka) -> Kopilka:
    kopilka.apply_program(parse_program(PROGRAM))
    return kopilka


def enrol(k: Kopilka, **fields: Any) -> dict[str, Any]:
    phone = fields.pop("phone", None) or f"+7916{next(_phones):07d}"
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True}, **fields)).body


def buy(k: Kopilka, member_id: str, receipt_id: str, *, channel: str = "offline",
        price: int = 100_000) -> dict[str, Any]:
    return k.confirm(ReceiptInput(
        store_id="msk-001", receipt_id=receipt_id, channel=channel,
        occurred_at=datetime(2026, 3, 1, 12, tzinfo=MSK),
        lines=(Line("1", "SKU-1", price, Decimal(1)),), member={"member_id": member_id})).body


def balance(k: Kopilka, member_id: str) -> tuple[int, int]:
    b = k.balance(member_id)
    return b["available"], b["pending"]


def bonuses(k: Kopilka, member_id: str, *, welcome: bool = False) -> list[tuple[str, int]]:
    """(reason, points) of the member's bonus operations, oldest first (every member of the
    test program gets the welcome bonus: left out unless asked for)."""
    items = k.history(member_id, limit=500)["items"]
    return [(op["reason"], op["points"]) for op in reversed(items)
            if op["kind"] == "bonus" and (welcome or op["reason"] != "welcome")]


def grants(k: Kopilka) -> list[tuple[str, str, str]]:
    with k.db.engine.connect() as conn:
        g = reward_grants.c
        return [(r.member_id, r.rule_id, r.status) for r in conn.execute(
            sa.select(g.member_id, g.rule_id, g.status).order_by(g.created_at, g.rule_id))]


def books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


# --- welcome --------------------------------------------------------------------------------

def test_the_welcome_bonus_waits_for_the_phone_and_is_given_once(lib: Kopilka) -> None:
    body = lib.enrol(Enrolment(phone="+79160000001", consents={"personal_data": True}),
                     idempotency_key="join-1").body
    member = body["member_id"]
    (given,) = body["rewards"]
    assert (given["rule_id"], given["points"], given["status"], given["pending_until"]) == (
        "welcome", 100, "pending", "phone_verified")
    assert balance(lib, member) == (0, 100)
    replay = lib.enrol(Enrolment(phone="+79160000001", consents={"personal_data": True}),
                       idempotency_key="join-1")
    assert replay.replayed and replay.body == body
    challenge = lib.start_verification(member).body
    code = lib.code_sender.sent[-1][2]  # type: ignore[attr-defined]
    assert lib.confirm_verification(member, challenge["challenge_id"], code) == {
        "verified": "phone", "activated_lots": 1}
    assert balance(lib, member) == (100, 0)
    assert bonuses(lib, member, welcome=True) == [("welcome", 100)]
    assert grants(lib) == [(member, "welcome", "granted")]
    books_whole(lib)


def test_without_a_program_enrolment_gives_nothing(kopilka: Kopilka) -> None:
    body = enrol(kopilka)
    assert "rewards" not in body and balance(kopilka, body["member_id"]) == (0, 0)


# --- posted events --------------------------------------------------------------------------

def test_an_event_reward_is_given_once_whatever_the_retries(lib: Kopilka) -> None:
    member = enrol(lib)["member_id"]
    first = lib.record_event(member, "review", attributes={"sku": "CAM-100"},
                             idempotency_key="review-1")
    assert first.status == 201
    assert [(r["rule_id"], r["points"], r["status"]) for r in first.body["rewards"]] == [
        ("review", 50, "available")]
    assert first.body["balance"]["available"] == 50
    replay = lib.record_event(member, "review", attributes={"sku": "CAM-100"},
                              idempotency_key="review-1")
    assert replay.replayed and (replay.status, replay.body) == (201, first.body)
    again = lib.record_event(member, "review", idempotency_key="review-2")
    assert (again.status, again.body["rewards"], again.body["already_granted"]) == (
        200, [], ["review"])
    assert lib.record_event(member, "review").status == 200
    assert bonuses(lib, member) == [("review", 50)]
    assert balance(lib, member) == (50, 100)
    books_whole(lib)


def test_a_monthly_reward_counts_months_in_the_members_time_zone(lib: Kopilka) -> None:
    east = enrol(lib, time_zone="Asia/Vladivostok")["member_id"]
    west = enrol(lib, time_zone="Europe/Kaliningrad")["member_id"]
    evening = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)  # 28 Feb in both zones
    late = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)  # 1 March in Vladivostok, 28 Feb west
    for member in (east, west):
        assert lib.record_event(member, "recycling", occurred_at=evening).status == 201
    assert lib.record_event(east, "recycling", occurred_at=late).status == 201
    assert lib.record_event(west, "recycling", occurred_at=late).status == 200
    assert bonuses(lib, east) == [("recycling", 150), ("recycling", 150)]
    assert bonuses(lib, west) == [("recycling", 150)]
    periods = {(r["period_key"]) for r in lib.rewards_of(east)}
    assert periods == {"once", "2026-02", "2026-03"}


def test_an_unknown_event_type_is_refused_and_writes_nothing(lib: Kopilka) -> None:
    member = enrol(lib)["member_id"]
    before = row_counts(lib)
    for bad in ("subscription", "reveiw", "birthday", "referral", "enrolment"):
        with pytest.raises(DomainError) as caught:
            lib.record_event(member, bad, idempotency_key=f"k-{bad}")
        assert (caught.value.code, caught.value.status) == ("unknown_event_type", 422)
    with pytest.raises(DomainError) as caught:
        lib.record_event(member, "review", occurred_at=lib.clock.now() + timedelta(hours=1))
    assert caught.value.code == "invalid_occurred_at"
    with pytest.raises(DomainError) as caught:
        lib.record_event("nobody", "review")
    assert caught.value.code == "member_not_found"
    assert row_counts(lib) == before


# --- birthdays ------------------------------------------------------------------------------

def test_the_birthday_job_gives_once_per_year_inside_the_window(lib: Kopilka,
                                                                clock: FixedClock) -> None:
    clock.at = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
    due = enrol(lib, birth_date=date(1990, 6, 15))["member_id"]  # 5 days ahead: in window
    later = enrol(lib, birth_date=date(1990, 6, 25))["member_id"]  # 15 days ahead: not yet
    enrol(lib)  # no birth date
    report = jobs.birthday(lib)
    assert (report.done, report.skipped) == (1, 0)
    (view,) = [g for g in lib.rewards_of(due) if g["rule_id"] == "birthday"]
    assert (view["period_key"], view["points"]) == ("2026", 500)
    assert lib.balance(due)["expiring"] == [
        {"points": 500, "expires_at": (clock.now() + timedelta(days=30)).isoformat()}]
    assert jobs.birthday(lib).done == 0  # idempotent
    clock.advance(days=12)  # 22 June: `due` is still in its window, `later` enters it
    report = jobs.birthday(lib)
    assert (report.done, report.skipped) == (1, 1)
    assert bonuses(lib, due) == [("birthday", 500)]
    assert bonuses(lib, later) == [("birthday", 500)]
    books_whole(lib)


def test_a_31_december_birthday_is_given_once_across_the_new_year(lib: Kopilka,
                                                                 clock: FixedClock) -> None:
    clock.at = datetime(2026, 12, 30, 21, 30, tzinfo=UTC)  # 31 December in Moscow
    member = enrol(lib, birth_date=date(1985, 12, 31))["member_id"]
    assert jobs.birthday(lib).done == 1
    clock.at = datetime(2027, 1, 3, 9, tzinfo=UTC)
    assert jobs.birthday(lib).done == 0  # still the 2026 birthday
    assert [g["period_key"] for g in lib.rewards_of(member) if g["rule_id"] == "birthday"] == [
        "2026"]


def test_the_birthday_job_reads_each_members_own_date(lib: Kopilka, clock: FixedClock) -> None:
    clock.at = datetime(2026, 6, 22, 15, 30, tzinfo=UTC)  # 23 June in Vladivostok
    east = enrol(lib, birth_date=date(1990, 6, 15), time_zone="Asia/Vladivostok")["member_id"]
    west = enrol(lib, birth_date=date(1990, 6, 15), time_zone="Europe/Kaliningrad")["member_id"]
    assert jobs.birthday(lib).done == 1
    assert bonuses(lib, east) == [] and bonuses(lib, west) == [("birthday", 500)]


def test_the_birthday_job_works_in_chunks_and_follows_profile_changes(
        lib: Kopilka, clock: FixedClock) -> None:
    clock.at = datetime(2027, 2, 28, 9, tzinfo=UTC)  # 2027 has no 29 February
    born = [enrol(lib, birth_date=date(1996, 2, 29))["member_id"] for _ in range(4)]
    moved = enrol(lib, birth_date=date(1990, 9, 1))["member_id"]
    lib.update_member(moved, {"birth_date": date(1990, 3, 1)})  # now in the window
    erased = enrol(lib, birth_date=date(1996, 2, 29))["member_id"]
    lib.erase(erased)
    seen: list[str] = []
    report = jobs.birthday(lib, chunk=2, progress=lambda name, n: seen.append(name))
    assert report.done == 5 and len(seen) == 5
    assert all(bonuses(lib, m) == [("birthday", 500)] for m in [*born, moved])
    assert bonuses(lib, erased) == []
    assert "birthday" in jobs.ALL_JOBS
    assert [r.done for r in jobs.run_all(lib) if r.name == "birthday"] == [0]
    books_whole(lib)


# --- referral -------------------------------------------------------------------------------

def test_enrolment_with_a_referral_code_records_the_referrer_once(lib: Kopilka) -> None:
    referrer = enrol(lib)
    friend = enrol(lib, referral_code=referrer["referral_code"].lower())
    with lib.db.engine.connect() as conn:
        referred_by = conn.execute(sa.select(members.c.referred_by).where(
            members.c.member_id == friend["member_id"])).scalar_one()
    assert referred_by == referrer["member_id"]
    assert friend["referral_code"] != referrer["referral_code"]
    before = row_counts(lib)
    for code, error in (("NOSUCH", "invalid_referral_code"),
                        (referrer["referral_code"], "member_exists")):
        with pytest.raises(DomainError) as caught:
            enrol(lib, phone=friend["phone"] if error == "member_exists" else None,
                  referral_code=code)
        assert caught.value.code == error
    assert row_counts(lib) == before


def test_a_member_cannot_refer_themselves(lib: Kopilka) -> None:
    member = enrol(lib)
    lib.erase(member["member_id"])  # they leave and join again with their old code
    before = row_counts(lib)
    with pytest.raises(DomainError) as caught:
        enrol(lib, phone=member["phone"], referral_code=member["referral_code"])
    assert caught.value.code == "invalid_referral_code"
    assert row_counts(lib) == before
    # a referrer link that points to the member themselves (say, after merging duplicates)
    # pays nothing at the first purchase
    own = enrol(lib)["member_id"]
    with lib.db.engine.begin() as conn:
        conn.execute(members.update().where(members.c.member_id == own).values(referred_by=own))
    assert "rewards" not in buy(lib, own, "self-1")
    assert bonuses(lib, own) == []


def test_a_referral_pays_both_sides_after_the_first_purchase_only(lib: Kopilka) -> None:
    referrer = enrol(lib)
    friend = enrol(lib, referral_code=referrer["referral_code"])["member_id"]
    assert bonuses(lib, friend) == [] and bonuses(lib, referrer["member_id"]) == []
    first = buy(lib, friend, "r-1")
    assert sorted((r["member_id"], r["rule_id"], r["points"]) for r in first["rewards"]) == sorted(
        [(friend, "referral", 200), (referrer["member_id"], "referral", 300)])
    assert "rewards" not in buy(lib, friend, "r-2")
    assert bonuses(lib, friend) == [("referral", 200)]
    assert bonuses(lib, referrer["member_id"]) == [("referral", 300)]
    assert balance(lib, referrer["member_id"]) == (300, 100)
    assert balance(lib, friend) == (200 + 100 + 100, 100)  # referral + 10% of two purchases
    replay = lib.confirm(ReceiptInput(
        store_id="msk-001", receipt_id="r-1", occurred_at=datetime(2026, 3, 1, 12, tzinfo=MSK),
        lines=(Line("1", "SKU-1", 100_000, Decimal(1)),), member={"member_id": friend}))
    assert replay.replayed and replay.body["rewards"] == first["rewards"]
    referrer_ops = lib.history(referrer["member_id"])["items"]
    assert [(op["receipt_id"], op["store_id"]) for op in referrer_ops
            if op["reason"] == "referral"] == [(None, None)]  # not the referrer's receipt
    books_whole(lib)


def test_a_cancelled_first_purchase_takes_the_referral_back_until_the_next_one(
        lib: Kopilka) -> None:
    referrer = enrol(lib)["member_id"]
    code = lib.member(referrer)["referral_code"]
    friend = enrol(lib, referral_code=code)["member_id"]
    buy(lib, friend, "c-1")
    assert balance(lib, referrer) == (300, 100)
    lib.cancel_receipt("msk-001", "c-1")
    assert balance(lib, referrer) == (0, 100)
    assert balance(lib, friend) == (0, 100)
    assert sorted(grants(lib)) == sorted([
        (referrer, "welcome", "granted"), (friend, "welcome", "granted"),
        (friend, "referral", "revoked"), (referrer, "referral", "revoked")])
    again = buy(lib, friend, "c-2")  # the first purchase that stays
    assert len(again["rewards"]) == 2
    assert balance(lib, referrer) == (300, 100)
    assert balance(lib, friend) == (200 + 100, 100)
    assert "rewards" not in buy(lib, friend, "c-3")
    assert [s for (m, r, s) in grants(lib) if r == "referral"] == ["granted", "granted"]
    with lib.db.engine.connect() as conn:
        reversals = conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)
                                 .where(ledger_transactions.c.code == "reversal")).scalar_one()
    assert reversals == 2
    books_whole(lib)


def test_a_referrer_who_left_gets_nothing_but_the_friend_does(lib: Kopilka) -> None:
    referrer = enrol(lib)
    friend = enrol(lib, referral_code=referrer["referral_code"])["member_id"]
    lib.erase(referrer["member_id"])
    (given,) = buy(lib, friend, "gone-1")["rewards"]
    assert (given["member_id"], given["points"]) == (friend, 200)
    books_whole(lib)


# --- first app order ------------------------------------------------------------------------

def test_the_first_app_order_is_rewarded_once(lib: Kopilka) -> None:
    member = enrol(lib)["member_id"]
    assert "rewards" not in buy(lib, member, "a-0", channel="offline")
    (given,) = buy(lib, member, "a-1", channel="app")["rewards"]
    assert (given["rule_id"], given["points"]) == ("first-app", 70)
    assert "rewards" not in buy(lib, member, "a-2", channel="app")
    assert bonuses(lib, member) == [("first-app", 70)]
    lib.cancel_receipt("msk-001", "a-2")  # not the purchase that earned it
    assert bonuses(lib, member) == [("first-app", 70)]
    lib.cancel_receipt("msk-001", "a-1")
    assert balance(lib, member)[0] == 100  # the offline purchase's 10%
    (again,) = buy(lib, member, "a-3", channel="app")["rewards"]
    assert again["rule_id"] == "first-app"
    books_whole(lib)
