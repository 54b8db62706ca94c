"""One-time rewards by event (SPEC R6), as data and pure decisions.

A reward rule says what a member gets (points in a currency of the program, optionally pending
until an activation event, with its own expiry) when something happens: enrolment (welcome),
a birthday, a friend's first purchase (referral), a review, a subscription, a completed
profile, the first app order, an app install, or an event type the program names itself.

Each reward is given at most once per *grant key*: (member, rule, period). The period is
"once" for most rules, the birthday's year for birthdays, the friend for a referrer, or a
calendar year/month when a rule repeats. The functions here compute the grants an occurrence
triggers with their keys; the application stores the key in the same transaction as the
points, so a retry or a parallel call finds the key taken and gives nothing.

Dates are the member's local dates: a birthday window and a period are evaluated in the
member's IANA time zone (else the rewards section's, Europe/Moscow by default). A birthday on
29 February is celebrated on 28 February in years without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import expiry_date
from kopilka.domain.program import Expiry

DEFAULT_TIME_ZONE = "Europe/Moscow"
MAX_WINDOW_DAYS = 90  # before or after the birthday: windows of two years never overlap
ONCE = "once"
FRIEND = "friend"  # the friend's side of a referral


class Trigger(StrEnum):
    ENROLMENT = "enrolment"
    BIRTHDAY = "birthday"
    REFERRAL = "referral"
    REVIEW = "review"
    SUBSCRIPTION = "subscription"
    PROFILE_COMPLETED = "profile_completed"
    FIRST_APP_ORDER = "first_app_order"
    APP_INSTALL = "app_install"
    CUSTOM = "custom"  # an event type the program names (`RewardRule.event_type`)


# What the integrator posts as events (POST /v1/members/{id}/events); the others happen
# inside kopilka (enrolment, a purchase, the birthday job).
POSTED = frozenset({Trigger.REVIEW, Trigger.SUBSCRIPTION, Trigger.PROFILE_COMPLETED,
                    Trigger.APP_INSTALL, Trigger.CUSTOM})


class Period(StrEnum):
    """How often an event reward may be given to one member."""

    ONCE = "once"
    CALENDAR_YEAR = "calendar_year"
    CALENDAR_MONTH = "calendar_month"


@dataclass(frozen=True, slots=True)
class RewardRule:
    rule_id: str
    name: str
    trigger: Trigger
    currency: str
    points: int = 0  # in the currency's minor units; for a referral: the friend's
    referrer_points: int = 0  # referral only
    event_type: str | None = None  # custom only
    pending_until: str | None = None  # an activation event, e.g. phone_verified
    expiry: Expiry = Expiry()
    days_before: int = 0  # birthday window
    days_after: int = 0
    period: Period = Period.ONCE  # posted events only

    def __post_init__(self) -> None:
        assert self.points >= 0 and self.referrer_points >= 0, "points are never negative"
        assert (self.event_type is not None) == (self.trigger is Trigger.CUSTOM)
        assert 0 <= self.days_before <= MAX_WINDOW_DAYS and 0 <= self.days_after <= MAX_WINDOW_DAYS

    @property
    def event(self) -> str:
        """The event type the rule answers to."""
        return self.event_type if self.event_type is not None else self.trigger.value


@dataclass(frozen=True, slots=True)
class Rewards:
    """The program's reward rules and the time zone of members who have none of their own."""

    rules: tuple[RewardRule, ...] = ()
    time_zone: str = DEFAULT_TIME_ZONE

    def of(self, *triggers: Trigger) -> tuple[RewardRule, ...]:
        return tuple(rule for rule in self.rules if rule.trigger in triggers)

    def event_types(self) -> frozenset[str]:
        """The event types an integrator may post: those the program's rules answer to."""
        return frozenset(rule.event for rule in self.rules if rule.trigger in POSTED)


@dataclass(frozen=True, slots=True)
class Grant:
    """One reward to give: `key` makes it exactly-once."""

    rule: RewardRule
    member_id: str
    period_key: str
    points: int
    occurred_at: datetime
    expires_at: datetime | None
    related_member_id: str | None = None  # referral: the other side

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.member_id, self.rule.rule_id, self.period_key)


@dataclass(frozen=True, slots=True)
class Party:
    """A side of a referral as the self-referral check sees it."""

    member_id: str
    phone: str | None
    cards: frozenset[str] = frozenset()
    active: bool = True


# --- time zones and dates -------------------------------------------------------------------

def zone(name: str | None, default: str = DEFAULT_TIME_ZONE) -> ZoneInfo:
    """The IANA zone `name` (None: `default`)."""
    return ZoneInfo(name or default)


def is_time_zone(name: str) -> bool:
    if not isinstance(name, str) or not 0 < len(name) <= 64 or name.startswith(("/", ".")) \
            or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def birthday_in(year: int, birth: date) -> date:
    """The member's birthday in `year`: 29 February falls on 28 February in common years."""
    if birth.month == 2 and birth.day == 29 and not _leap(year):
        return date(year, 2, 28)
    return birth.replace(year=year)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_around(birth: date, today: date, days_before: int, days_after: int) -> date | None:
    """The birthday whose window [birthday - before, birthday + after] holds `today` (a local
    date), or None. The window may cross the new year: a 31 December birthday with 7 days
    after is still celebrated on 3 January (as the previous year's birthday)."""
    for year in (today.year - 1, today.year, today.year + 1):
        day = birthday_in(year, birth)
        if day - timedelta(days=days_before) <= today <= day + timedelta(days=days_after):
            return day
    return None


def month_day(value: date) -> int:
    """A date's month and day as one number (March 8 is 308): the birthday index key."""
    return value.month * 100 + value.day


def birthday_month_days(rules: tuple[RewardRule, ...], at: datetime) -> tuple[int, ...]:
    """Month-days of every birth date that may be in a birthday window at the instant `at`
    in some time zone (local dates are at most a day away from the UTC date)."""
    utc_day = at.date() if at.utcoffset() is None else at.astimezone(ZoneInfo("UTC")).date()
    found: set[int] = set()
    for rule in rules:
        first = utc_day - timedelta(days=1 + rule.days_after)
        last = utc_day + timedelta(days=1 + rule.days_before)
        day = first
        while day <= last:
            found.add(month_day(day))
            if day.month == 2 and day.day == 28 and not _leap(day.year):
                found.add(229)  # celebrated on 28 February this year
            day += timedelta(days=1)
    return tuple(sorted(found))


def period_key(period: Period, local: datetime) -> str:
    if period is Period.CALENDAR_YEAR:
        return f"{local.year:04d}"
    if period is Period.CALENDAR_MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    return ONCE


# --- decisions ------------------------------------------------------------------------------

def _grant(rule: RewardRule, member_id: str, key: str, points: int, occurred_at: datetime,
           now_local: datetime, related: str | None = None) -> Grant:
    """Expiry counts from the moment the points are given, in the member's time zone."""
    return Grant(rule, member_id, key, points, occurred_at, expiry_date(rule.expiry, now_local),
                 related)


def enrolment_grants(rewards: Rewards, member_id: str, *, at: datetime,
                     tz: ZoneInfo) -> list[Grant]:
    local = at.astimezone(tz)
    return [_grant(rule, member_id, ONCE, rule.points, at, local)
            for rule in rewards.of(Trigger.ENROLMENT) if rule.points]


def event_grants(rewards: Rewards, member_id: str, event_type: str, *, occurred_at: datetime,
                 now: datetime, tz: ZoneInfo) -> list[Grant]:
    """The rewards a posted event triggers; an event type the program does not name is
    refused (a typo must not be silently accepted and rewarded never)."""
    if event_type not in rewards.event_types():
        known = ", ".join(sorted(rewards.event_types())) or "none"
        raise DomainError(f"the program names no event type {event_type!r} (known: {known})",
                          code="unknown_event_type", status=422)
    local = occurred_at.astimezone(tz)
    return [_grant(rule, member_id, period_key(rule.period, local), rule.points, occurred_at,
                   now.astimezone(tz))
            for rule in rewards.of(*POSTED) if rule.event == event_type and rule.points]


def birthday_grants(rewards: Rewards, member_id: str, birth: date | None, *, now: datetime,
                    tz: ZoneInfo) -> list[Grant]:
    """Birthday rewards due at `now`: one per rule and birthday year (the key is the year of
    the birthday being celebrated, so a window across the new year gives it once)."""
    if birth is None:
        return []
    local = now.astimezone(tz)
    grants = []
    for rule in rewards.of(Trigger.BIRTHDAY):
        day = birthday_around(birth, local.date(), rule.days_before, rule.days_after)
        if day is not None and rule.points:
            grants.append(_grant(rule, member_id, f"{day.year:04d}", rule.points, now, local))
    return grants


def is_self_referral(referrer: Party, friend: Party) -> bool:
    """The same member, the same phone number or a shared card."""
    return (referrer.member_id == friend.member_id
            or (referrer.phone is not None and referrer.phone == friend.phone)
            or bool(referrer.cards & friend.cards))


def check_referral(referrer: Party, friend: Party) -> None:
    if not referrer.active:
        raise DomainError("the referral code belongs to a member who is not active",
                          code="invalid_referral_code", status=422)
    if is_self_referral(referrer, friend):
        raise DomainError("a member cannot refer themselves", code="self_referral", status=422)


@dataclass(frozen=True, slots=True)
class Purchase:
    """A confirmed purchase as the reward rules see it."""

    member: Party
    channel: str
    occurred_at: datetime
    first: bool  # the member's first confirmed purchase
    first_in_app: bool  # the member's first confirmed app order
    referrer: Party | None = None


def purchase_grants(rewards: Rewards, purchase: Purchase, *, now: datetime,
                    tz: ZoneInfo) -> list[Grant]:
    """Referral (both sides, on the friend's first purchase; never for a self-referral, the
    referrer only while active) and the first app order."""
    local, member = now.astimezone(tz), purchase.member
    at = purchase.occurred_at
    grants: list[Grant] = []
    if purchase.channel == "app" and purchase.first_in_app:
        grants += [_grant(rule, member.member_id, ONCE, rule.points, at, local)
                   for rule in rewards.of(Trigger.FIRST_APP_ORDER) if rule.points]
    referrer = purchase.referrer
    if not purchase.first or referrer is None or is_self_referral(referrer, member):
        return grants
    for rule in rewards.of(Trigger.REFERRAL):
        if rule.points:
            grants.append(_grant(rule, member.member_id, FRIEND, rule.points, at, local,
                                 referrer.member_id))
        if rule.referrer_points and referrer.active:
            grants.append(_grant(rule, referrer.member_id, f"{FRIEND}:{member.member_id}",
                                 rule.referrer_points, at, local, member.member_id))
    return grants
