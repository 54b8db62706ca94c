"""The `rewards:` section of the program document (SPEC R6): checks, conversion to the domain
`Rewards` and back.

```yaml
rewards:
  time_zone: Europe/Moscow          # members without their own zone (default Europe/Moscow)
  rules:
    - {id: welcome, name: Welcome bonus, trigger: enrolment, points: 100,
       pending_until: phone_verified}
    - {id: birthday, name: Birthday, trigger: birthday, points: 500,
       window: {days_before: 7, days_after: 7}, expiry: {after_days: 30}}
    - {id: referral, name: Bring a friend, trigger: referral,
       referrer_points: 300, friend_points: 300}
    - {id: recycling, name: Recycling, trigger: custom, event: recycling, points: 150,
       period: calendar_month}
```

Triggers: enrolment, birthday, referral, review, subscription, profile_completed,
first_app_order, app_install, and `custom` (with `event`, the type the integrator posts).
Amounts are in the currency's whole units (default currency: the first one). `period` (once,
calendar_year, calendar_month) applies to posted events; a birthday is once per year by nature.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.app.program_schema import ExpiryDoc, ProgramDoc, RewardDoc
from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Expiry, ExpiryKind, Program
from kopilka.domain.rewards import POSTED, Period, RewardRule, Rewards, Trigger

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
AMOUNTS = ("points", "friend_points", "referrer_points")


def _minor(raw: int | str, scale: int) -> int:
    value = Decimal(str(raw)).scaleb(scale)
    if value != value.to_integral_value():
        raise ValueError(f"has more than {scale} decimal places for this currency")
    return int(value)


def check_rewards(doc: ProgramDoc) -> list[Issue]:
    if doc.rewards is None:
        return []
    issues: list[Issue] = []
    scales = {c.code: c.scale for c in doc.point_currencies}
    default = doc.point_currencies[0].code
    for index, rule in enumerate(doc.rewards.rules):
        loc: Loc = ("rewards", "rules", index)
        if rule.currency is not None and rule.currency not in scales:
            known = ", ".join(sorted(scales))
            issues.append(((*loc, "currency"), f"unknown currency {rule.currency!r} "
                                               f"(known: {known})"))
        else:
            _check_amounts(rule, loc, scales[rule.currency or default], issues)
        _check_shape(rule, loc, issues)
    return issues


def _check_amounts(rule: RewardDoc, loc: Loc, scale: int, issues: list[Issue]) -> None:
    wanted = ("friend_points", "referrer_points") if rule.trigger is Trigger.REFERRAL \
        else ("points",)
    for name in AMOUNTS:
        raw = getattr(rule, name)
        if name not in wanted:
            if raw is not None:
                issues.append(((*loc, name), f"not allowed for trigger {rule.trigger.value}"
                                             f" (give {' and '.join(wanted)})"))
            continue
        if raw is None:
            if name == "points":
                issues.append((loc, "points is required"))
            continue
        try:
            value = _minor(raw, scale)
        except ValueError as exc:
            issues.append(((*loc, name), str(exc)))
            continue
        if value < 0 or (value == 0 and name == "points"):
            issues.append(((*loc, name), "must be greater than 0" if name == "points"
                           else "cannot be negative"))
    if rule.trigger is Trigger.REFERRAL and not any(
            _positive(getattr(rule, name), scale) for name in wanted):
        issues.append((loc, "give friend_points or referrer_points (greater than 0)"))


def _positive(raw: int | str | None, scale: int) -> bool:
    try:
        return raw is not None and _minor(raw, scale) > 0
    except ValueError:
        return True  # reported already


def _check_shape(rule: RewardDoc, loc: Loc, issues: list[Issue]) -> None:
    custom = rule.trigger is Trigger.CUSTOM
    if custom and rule.event is None:
        issues.append((loc, "event is required for trigger custom (the event type posted)"))
    if custom and rule.event in {t.value for t in Trigger}:
        issues.append(((*loc, "event"), f"{rule.event!r} is a built-in trigger: use "
                                        f"trigger: {rule.event}"))
    if not custom and rule.event is not None:
        issues.append(((*loc, "event"), "only for trigger custom"))
    if rule.window is not None and rule.trigger is not Trigger.BIRTHDAY:
        issues.append(((*loc, "window"), "only for trigger birthday"))
    if rule.period is not Period.ONCE and rule.trigger not in POSTED:
        issues.append(((*loc, "period"), f"only for posted events; a {rule.trigger.value} "
                                         "reward is given once (a birthday once a year)"))
    if rule.expiry is not None:
        given = [k for k in ("after_days", "end_of_month", "end_of_year")
                 if getattr(rule.expiry, k) is not None]
        if len(given) != 1:
            issues.append(((*loc, "expiry"), "give exactly one of after_days, end_of_month, "
                                             'end_of_year (or "never")'))


def reward_rule_ids(doc: ProgramDoc) -> list[tuple[Loc, str]]:
    """The rule ids of the section with their locations (ids are unique program-wide)."""
    if doc.rewards is None:
        return []
    return [(("rewards", "rules", index, "id"), rule.id)
            for index, rule in enumerate(doc.rewards.rules)]


# --- document -> domain ---------------------------------------------------------------------

def rewards_of(doc: ProgramDoc) -> Rewards | None:
    """The domain rewards of a checked document."""
    if doc.rewards is None:
        return None
    scales = {c.code: c.scale for c in doc.point_currencies}
    default = doc.point_currencies[0].code
    return Rewards(rules=tuple(_rule(rule, rule.currency or default,
                                     scales[rule.currency or default])
                               for rule in doc.rewards.rules),
                   time_zone=doc.rewards.time_zone)


def _rule(doc: RewardDoc, currency: str, scale: int) -> RewardRule:
    referral = doc.trigger is Trigger.REFERRAL
    points = doc.friend_points if referral else doc.points
    window = doc.window
    return RewardRule(
        rule_id=doc.id, name=doc.name, trigger=doc.trigger, currency=currency,
        points=_minor(points, scale) if points is not None else 0,
        referrer_points=_minor(doc.referrer_points, scale)
        if referral and doc.referrer_points is not None else 0,
        event_type=doc.event, pending_until=doc.pending_until, expiry=_expiry(doc.expiry),
        days_before=window.days_before if window else 0,
        days_after=window.days_after if window else 0, period=doc.period)


def _expiry(doc: ExpiryDoc | None) -> Expiry:
    if doc is None:
        return Expiry()
    kind = next(k for k in (ExpiryKind.AFTER_DAYS, ExpiryKind.END_OF_MONTH,
                            ExpiryKind.END_OF_YEAR) if getattr(doc, k.value) is not None)
    return Expiry(kind=kind, count=getattr(doc, kind.value))


# --- domain -> document ---------------------------------------------------------------------

def rewards_document(rewards: Rewards, program: Program) -> dict[str, Any]:
    return {"time_zone": rewards.time_zone,
            "rules": [_rule_document(rule, program.currency(rule.currency))
                      for rule in rewards.rules]}


def _rule_document(rule: RewardRule, cur: PointCurrency) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": rule.rule_id, "name": rule.name,
                           "trigger": rule.trigger.value}
    if rule.event_type is not None:
        doc["event"] = rule.event_type
    doc["currency"] = rule.currency
    if rule.trigger is Trigger.REFERRAL:
        doc["friend_points"] = cur.format(rule.points)
        doc["referrer_points"] = cur.format(rule.referrer_points)
    else:
        doc["points"] = cur.format(rule.points)
    if rule.pending_until is not None:
        doc["pending_until"] = rule.pending_until
    doc["expiry"] = ("never" if rule.expiry.kind is ExpiryKind.NEVER
                     else {rule.expiry.kind.value: rule.expiry.count})
    if rule.trigger is Trigger.BIRTHDAY:
        doc["window"] = {"days_before": rule.days_before, "days_after": rule.days_after}
    if rule.trigger in POSTED:
        doc["period"] = rule.period.value
    return doc
