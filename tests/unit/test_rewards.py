"""One-time rewards as pure rules (SPEC R6): which rewards an occurrence triggers and the
grant key that makes each exactly-once; birthdays in the member's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kopilka.domain import rewards as R
from kopilka.domain.errors import DomainError
from kopilka.domain.program import Expiry, ExpiryKind

MSK = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")  # UTC+10
KALININGRAD = ZoneInfo("Europe/Kaliningrad")  # UTC+2


def rule(rule_id: str, trigger: R.Trigger, points: int = 100, **fields: object) -> R.RewardRule:
    return R.RewardRule(rule_id=rule_id, name=rule_id.title(), trigger=trigger,
                        currency="points", points=points, **fields)  # type: ignore[arg-type]


BIRTHDAY = rule("birthday", R.Trigger.BIRTHDAY, 500, days_before=7, days_after=7,
                expiry=Expiry(ExpiryKind.AFTER_DAYS, 30))
REFERRAL = rule("referral", R.Trigger.REFERRAL, 300, referrer_points=200)
REWARDS = R.Rewards(rules=(
    rule("welcome", R.Trigger.ENROLMENT, pending_until="phone_verified"),
    BIRTHDAY, REFERRAL,
    rule("review", R.Trigger.REVIEW, 50),
    rule("review-stars", R.Trigger.REVIEW, 5, period=R.Period.CALENDAR_MONTH),
    rule("first-app", R.Trigger.FIRST_APP_ORDER, 200),
    rule("recycling", R.Trigger.CUSTOM, 150, event_type="recycling",
         period=R.Period.CALENDAR_YEAR),
))


def birthday_keys(birth: date, at: datetime, tz: ZoneInfo = MSK) -> list[str]:
    return [g.period_key for g in R.birthday_grants(REWARDS, "m1", birth, now=at, tz=tz)]


# --- birthdays ------------------------------------------------------------------------------

def test_a_birthday_is_due_inside_its_window_and_not_outside() -> None:
    birth = date(1990, 6, 15)
    assert birthday_keys(birth, datetime(2026, 6, 8, 12, tzinfo=MSK)) == ["2026"]  # 7 before
    assert birthday_keys(birth, datetime(2026, 6, 22, 12, tzinfo=MSK)) == ["2026"]  # 7 after
    assert birthday_keys(birth, datetime(2026, 6, 7, 23, 59, tzinfo=MSK)) == []
    assert birthday_keys(birth, datetime(2026, 6, 23, 0, 0, tzinfo=MSK)) == []


def test_a_31_december_birthday_seen_on_3_january_is_last_years_birthday() -> None:
    birth = date(1985, 12, 31)
    on_3_january = datetime(2027, 1, 3, 10, tzinfo=MSK)
    assert birthday_keys(birth, on_3_january) == ["2026"]  # the same key as on 31 December
    assert birthday_keys(birth, datetime(2026, 12, 31, 10, tzinfo=MSK)) == ["2026"]
    assert birthday_keys(birth, datetime(2026, 12, 24, 10, tzinfo=MSK)) == ["2026"]
    assert birthday_keys(birth, datetime(2027, 1, 8, 10, tzinfo=MSK)) == []


def test_a_2_january_birthday_seen_in_late_december_is_next_years_birthday() -> None:
    assert birthday_keys(date(2000, 1, 2), datetime(2026, 12, 28, 10, tzinfo=MSK)) == ["2027"]


def test_the_same_instant_is_another_local_date_in_vladivostok_and_kaliningrad() -> None:
    # 2026-06-22 15:30 UTC: already 23 June (01:30) in Vladivostok, still 22 June (17:30)
    # in Kaliningrad; a 15 June birthday with 7 days after ends on 22 June.
    instant = datetime(2026, 6, 22, 15, 30, tzinfo=UTC)
    birth = date(1990, 6, 15)
    assert birthday_keys(birth, instant, KALININGRAD) == ["2026"]
    assert birthday_keys(birth, instant, VLADIVOSTOK) == []
    # and at the window's start (8 June): Vladivostok is in it first
    early = datetime(2026, 6, 7, 15, 30, tzinfo=UTC)
    assert birthday_keys(birth, early, VLADIVOSTOK) == ["2026"]
    assert birthday_keys(birth, early, KALININGRAD) == []


def test_29_february_is_celebrated_on_28_february_in_common_years() -> None:
    birth = date(1996, 2, 29)
    assert R.birthday_in(2027, birth) == date(2027, 2, 28)
    assert R.birthday_in(2028, birth) == date(2028, 2, 29)
    assert R.birthday_in(2100, birth) == date(2100, 2, 28)  # not a leap year
    exact = R.Rewards(rules=(rule("bd", R.Trigger.BIRTHDAY),))  # a window of the day itself

    def due(day: date) -> bool:
        at = datetime(day.year, day.month, day.day, 12, tzinfo=MSK)
        return bool(R.birthday_grants(exact, "m1", birth, now=at, tz=MSK))
    assert due(date(2027, 2, 28)) and not due(date(2027, 3, 1))
    assert due(date(2028, 2, 29)) and not due(date(2028, 2, 28))


def test_the_birthday_index_covers_every_time_zone_and_29_february() -> None:
    at = datetime(2027, 2, 20, 12, tzinfo=UTC)  # 2027 is a common year
    days = R.birthday_month_days((BIRTHDAY,), at)
    # local dates 19..21 February, windows of 7 days either side: 12 Feb .. 28 Feb
    assert days[0] == 212 and 228 in days and 229 in days and 301 not in days
    single = R.birthday_month_days((rule("bd", R.Trigger.BIRTHDAY),), at)
    assert single == (219, 220, 221)


def test_birthday_points_expire_after_their_own_days() -> None:
    at = datetime(2026, 6, 15, 9, tzinfo=MSK)
    (grant,) = R.birthday_grants(REWARDS, "m1", date(1990, 6, 15), now=at, tz=MSK)
    assert (grant.points, grant.expires_at) == (500, at + timedelta(days=30))
    assert grant.key == ("m1", "birthday", "2026")


def test_no_birth_date_no_birthday() -> None:
    assert R.birthday_grants(REWARDS, "m1", None, now=datetime(2026, 1, 1, tzinfo=UTC),
                             tz=MSK) == []


# --- enrolment and events -------------------------------------------------------------------

def test_the_welcome_bonus_is_given_once_and_waits_for_its_event() -> None:
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    (grant,) = R.enrolment_grants(REWARDS, "m1", at=at, tz=MSK)
    assert grant.key == ("m1", "welcome", "once")
    assert (grant.points, grant.rule.pending_until, grant.expires_at) == (
        100, "phone_verified", None)


def test_an_event_gives_every_rule_it_triggers_with_its_period_key() -> None:
    at = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April in Moscow
    grants = R.event_grants(REWARDS, "m1", "review", occurred_at=at, now=at, tz=MSK)
    assert [g.key for g in grants] == [("m1", "review", "once"),
                                       ("m1", "review-stars", "2026-04")]
    (recycling,) = R.event_grants(REWARDS, "m1", "recycling", occurred_at=at, now=at, tz=MSK)
    assert recycling.key == ("m1", "recycling", "2026")


def test_an_event_type_the_program_does_not_name_is_refused() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for unknown in ("reveiw", "subscription", "birthday", "enrolment", "referral"):
        with pytest.raises(DomainError) as caught:
            R.event_grants(REWARDS, "m1", unknown, occurred_at=at, now=at, tz=MSK)
        assert (caught.value.code, caught.value.status) == ("unknown_event_type", 422)
    assert REWARDS.event_types() == {"review", "recycling"}


# --- purchases: referral and first app order -------------------------------------------------

FRIEND = R.Party("friend", "+79160000002", frozenset({"2000000000024"}))
REFERRER = R.Party("referrer", "+79160000001", frozenset({"2000000000017"}))
AT = datetime(2026, 3, 1, 12, tzinfo=MSK)


def purchase(*, first: bool = True, referrer: R.Party | None = REFERRER, channel: str = "offline",
             first_in_app: bool = False) -> list[tuple[str, str, str, int]]:
    grants = R.purchase_grants(REWARDS, R.Purchase(FRIEND, channel, AT, first, first_in_app,
                                                   referrer), now=AT, tz=MSK)
    return [(*g.key, g.points) for g in grants]


def test_a_referral_pays_both_sides_on_the_friends_first_purchase() -> None:
    assert purchase() == [("friend", "referral", "friend", 300),
                          ("referrer", "referral", "friend:friend", 200)]


def test_a_referral_pays_nothing_on_a_later_purchase_or_without_a_referrer() -> None:
    assert purchase(first=False) == []
    assert purchase(referrer=None) == []


def test_a_self_referral_pays_nothing() -> None:
    same_member = R.Party("friend", "+79160000009")
    same_phone = R.Party("other", FRIEND.phone)
    shared_card = R.Party("other", "+79160000009", frozenset({"2000000000024"}))
    for referrer in (same_member, same_phone, shared_card):
        assert R.is_self_referral(referrer, FRIEND)
        assert purchase(referrer=referrer) == []
        with pytest.raises(DomainError) as caught:
            R.check_referral(referrer, FRIEND)
        assert caught.value.code == "self_referral"
    assert not R.is_self_referral(REFERRER, FRIEND)
    R.check_referral(REFERRER, FRIEND)
    assert not R.is_self_referral(R.Party("a", None), R.Party("b", None))  # erased: no phone


def test_an_inactive_referrer_gets_nothing_but_the_friend_does() -> None:
    blocked = R.Party("referrer", REFERRER.phone, active=False)
    assert purchase(referrer=blocked) == [("friend", "referral", "friend", 300)]
    with pytest.raises(DomainError) as caught:
        R.check_referral(blocked, FRIEND)
    assert caught.value.code == "invalid_referral_code"


def test_the_first_app_order_is_rewarded_only_in_the_app() -> None:
    assert purchase(referrer=None, channel="app", first_in_app=True) == [
        ("friend", "first-app", "once", 200)]
    assert purchase(referrer=None, channel="app", first_in_app=False) == []
    assert purchase(referrer=None, channel="online", first_in_app=True) == []


def test_time_zone_names_are_checked() -> None:
    assert R.is_time_zone("Asia/Vladivostok") and R.is_time_zone("UTC")
    for bad in ("Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "x" * 65):
        assert not R.is_time_zone(bad)
