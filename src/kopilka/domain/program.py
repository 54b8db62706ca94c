"""The program document as the domain sees it: plain frozen dataclasses, already validated.

Money is integer kopecks, percents are Decimals, points are integers in the currency's minor
units. The document's YAML/JSON form and its validation live in `app.program_document`; this
module only says what a program *is*. Every rule has an `id` so every effect can name its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from kopilka.domain.points import PointCurrency

if TYPE_CHECKING:  # rewards.py builds on this module (Expiry), engagement.py (Goods)
    from kopilka.domain.engagement import Engagement
    from kopilka.domain.rewards import Rewards


class Channel(StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"
    APP = "app"


@dataclass(frozen=True, slots=True)
class Goods:
    """A set of goods by category (prefix match on "a/b/c" paths) or SKU."""

    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()

    def contains(self, sku: str, category: str | None) -> bool:
        """The SKU is listed, or the category or one of its parents ("a/b" for "a/b/c") is."""
        if sku in self.skus:
            return True
        categories = self.categories
        while category:
            if category in categories:
                return True
            cut = category.rfind("/")
            category = category[:cut] if cut > 0 else None
        return False

    @property
    def empty(self) -> bool:
        return not self.categories and not self.skus


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a ladder: from this receipt amount (kopecks) on, this percent."""

    from_kopecks: int
    percent: Decimal


@dataclass(frozen=True, slots=True)
class Ladder:
    """A percent that depends on the receipt amount (a single step is a fixed percent)."""

    steps: tuple[Step, ...]

    def percent_for(self, amount_kopecks: int) -> Decimal:
        percent = Decimal(0)
        for step in self.steps:
            if amount_kopecks >= step.from_kopecks:
                percent = step.percent
        return percent

    def next_step(self, amount_kopecks: int) -> Step | None:
        return next((s for s in self.steps if s.from_kopecks > amount_kopecks), None)


@dataclass(frozen=True, slots=True)
class Hours:
    start: int  # hour of day, 0..23, inclusive
    end: int  # hour of day, 1..24, exclusive


@dataclass(frozen=True, slots=True)
class Condition:
    """When a multiplier applies. Empty fields mean "any"."""

    goods: Goods = Goods()
    channels: tuple[Channel, ...] = ()
    payment_methods: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()  # 1 = Monday .. 7 = Sunday, in the store's local time
    hours: Hours | None = None


@dataclass(frozen=True, slots=True)
class Multiplier:
    rule_id: str
    factor: Decimal
    when: Condition


class ExpiryKind(StrEnum):
    NEVER = "never"
    AFTER_DAYS = "after_days"
    END_OF_MONTH = "end_of_month"
    END_OF_YEAR = "end_of_year"


@dataclass(frozen=True, slots=True)
class Expiry:
    kind: ExpiryKind = ExpiryKind.NEVER
    count: int = 0  # days for after_days; months/years ahead for end_of_*


@dataclass(frozen=True, slots=True)
class EarnRule:
    rule_id: str
    ladder: Ladder
    multipliers: tuple[Multiplier, ...] = ()
    excluded: Goods = Goods()
    currency: str = "points"
    pending_days: int = 0
    expiry: Expiry = Expiry()


@dataclass(frozen=True, slots=True)
class BurnRule:
    rule_id: str
    currency: str = "points"
    point_value_kopecks: int = 100  # what one point pays, in kopecks
    max_share_percent: Decimal = Decimal(100)
    min_balance: int = 0
    min_cash_kopecks: int = 0
    excluded: Goods = Goods()
    exclude_discounted: bool = False
    combine_with_discounts: bool = True


@dataclass(frozen=True, slots=True)
class DiscountRule:
    rule_id: str
    ladder: Ladder
    excluded: Goods = Goods()


class Measure(StrEnum):
    SPEND = "spend"  # paid money, kopecks
    POINTS_EARNED = "points_earned"
    PURCHASES = "purchases"


class WindowKind(StrEnum):
    CALENDAR_YEAR = "calendar_year"
    CALENDAR_QUARTER = "calendar_quarter"
    CALENDAR_MONTH = "calendar_month"
    ROLLING_DAYS = "rolling_days"


@dataclass(frozen=True, slots=True)
class Window:
    kind: WindowKind = WindowKind.CALENDAR_YEAR
    days: int = 365  # for rolling_days


@dataclass(frozen=True, slots=True)
class Tier:
    code: str
    name: str
    threshold: int  # in the measure's unit (kopecks, points, purchases)
    discount_percent: Decimal | None = None  # replaces the discount program's percent
    earn_multiplier: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class TierProgram:
    rule_id: str
    measure: Measure
    window: Window
    levels: tuple[Tier, ...]  # ascending thresholds; the first is the entry level
    downgrade_grace_days: int = 0
    entry_purchase_kopecks: int | None = None  # a single purchase this large...
    entry_purchase_tier: str | None = None  # ...lifts the member straight to this tier

    def level(self, code: str | None) -> Tier:
        return next((t for t in self.levels if t.code == code), self.levels[0])

    def earned_level(self, value: int) -> Tier:
        reached = self.levels[0]
        for tier in self.levels:
            if value >= tier.threshold:
                reached = tier
        return reached

    def above(self, code: str | None) -> Tier | None:
        codes = [t.code for t in self.levels]
        index = codes.index(self.level(code).code)
        return self.levels[index + 1] if index + 1 < len(self.levels) else None

    def rank(self, code: str | None) -> int:
        return [t.code for t in self.levels].index(self.level(code).code)


class SpentEarnedPolicy(StrEnum):
    """What a return does when the points it must take back were already spent."""

    NEGATIVE_BALANCE = "negative_balance"
    DEDUCT_FROM_REFUND = "deduct_from_refund"


@dataclass(frozen=True, slots=True)
class Fund:
    """A charity fund members give points to (SPEC P9). Amounts in the currency's minor units."""

    fund_id: str
    name: str
    currency: str
    share_of_purchase_percent: Decimal | None = None  # of each purchase's earned points
    min_donation: int = 0  # of an explicit donation (an automatic share has no minimum)

    def share_of(self, earned: int) -> int:
        """The share of `earned` points that goes to the fund, floored (0 without a share)."""
        if self.share_of_purchase_percent is None or earned <= 0:
            return 0
        return int(earned * self.share_of_purchase_percent / 100)  # int() floors a positive


@dataclass(frozen=True, slots=True)
class Charity:
    funds: tuple[Fund, ...] = ()

    def fund(self, fund_id: str) -> Fund | None:
        return next((f for f in self.funds if f.fund_id == fund_id), None)


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    effective_from: datetime
    currencies: tuple[PointCurrency, ...]
    earn: tuple[EarnRule, ...] = ()
    burn: BurnRule | None = None
    discount: DiscountRule | None = None
    tiers: TierProgram | None = None
    returns_policy: SpentEarnedPolicy = SpentEarnedPolicy.NEGATIVE_BALANCE
    money_currency: str = "RUB"
    version: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    coalition: Coalition | None = None  # partners' agreed rates and brand discounts
    rewards: Rewards | None = None  # one-time rewards by event (domain.rewards, R6)
    engagement: Engagement | None = None  # challenges, draws, stickers (domain.engagement, P7)
    charity: Charity | None = None  # funds members donate points to (SPEC P9)

    def local(self, at: datetime) -> datetime:
        """`at` in the program's own time zone (that of its effective_from): qualifying
        periods are counted there, whoever asks and from wherever."""
        return at.astimezone(self.effective_from.tzinfo)

    @property
    def main_currency(self) -> str:
        """The currency members see first: the one points are paid with, else earned in."""
        if self.burn is not None:
            return self.burn.currency
        if self.earn:
            return self.earn[0].currency
        return self.currencies[0].code

    def currency(self, code: str) -> PointCurrency:
        for cur in self.currencies:
            if cur.code == code:
                return cur
        raise KeyError(code)


def reviewed_tier(tiers: TierProgram, current: str | None, *, value_now: int,
                  value_before: int, in_grace: bool, value_grace: int = 0) -> Tier:
    """The tier a member keeps at review: a tier earned in a period is kept through the next
    one; it is lost when neither the current nor the previous period reaches it (during the
    grace days after a period ends, the period before counts too). Review never upgrades
    beyond what was earned; upgrades happen at the till, immediately."""
    deserved = max((tiers.earned_level(value_now), tiers.earned_level(value_before),
                    tiers.earned_level(value_grace if in_grace else 0)),
                   key=lambda t: tiers.rank(t.code))
    held = tiers.level(current)
    return deserved if tiers.rank(deserved.code) < tiers.rank(held.code) else held


def window_bounds(window: Window, at: datetime) -> tuple[datetime, datetime]:
    """The qualifying period containing `at` (in `at`'s own time zone): [start, end)."""
    from datetime import timedelta

    if window.kind is WindowKind.ROLLING_DAYS:
        return at - timedelta(days=window.days), at + timedelta(microseconds=1)
    year_start = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if window.kind is WindowKind.CALENDAR_YEAR:
        return year_start, year_start.replace(year=at.year + 1)
    months = 3 if window.kind is WindowKind.CALENDAR_QUARTER else 1
    first = (at.month - 1) // months * months + 1
    start = year_start.replace(month=first)
    nxt = first + months
    end = start.replace(year=at.year + (nxt - 1) // 12, month=(nxt - 1) % 12 + 1)
    return start, end


# --- coalition: partners, agreed settlement rates, co-branded discounts (SPEC P5, P6) -------

@dataclass(frozen=True, slots=True)
class PairRate:
    """The agreed money value of a point issued at `issuer` and redeemed at `redeemer`."""

    issuer: str
    redeemer: str
    money_per_point: Decimal  # money units (e.g. rubles) per whole point


@dataclass(frozen=True, slots=True)
class CoalitionPartner:
    """One brand's terms: the rate of points redeemed at it, and its own discount (P6)."""

    partner_id: str
    money_per_point: Decimal | None = None
    discount_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Coalition:
    """Several brands in one program. Settlement values a point of `currency` earned at one
    partner and spent at another at the first rate found: the pair's, the redeeming
    partner's, `default_rate`, else the currency's own money value (other currencies are
    always valued at their own money value)."""

    currency: str
    default_rate: Decimal | None = None
    rates: tuple[PairRate, ...] = ()
    partners: tuple[CoalitionPartner, ...] = ()

    def partner(self, partner_id: str | None) -> CoalitionPartner | None:
        return next((p for p in self.partners if p.partner_id == partner_id), None)

    def rate(self, issuer: str, redeemer: str, unit_value: Decimal) -> Decimal:
        """Money per whole point for this pair; `unit_value` is the currency's own value."""
        pair = next((r for r in self.rates if (r.issuer, r.redeemer) == (issuer, redeemer)),
                    None)
        if pair is not None:
            return pair.money_per_point
        terms = self.partner(redeemer)
        if terms is not None and terms.money_per_point is not None:
            return terms.money_per_point
        return unit_value if self.default_rate is None else self.default_rate


def partner_rule_id(partner_id: str) -> str:
    """The rule id a brand's own discount carries in evaluation effects."""
    return f"coalition:{partner_id}"


def for_partner(program: Program, partner_id: str | None) -> Program:
    """The program as a brand's stores apply it (P6, co-branded card): the brand's
    `discount_percent` replaces the discount program's percent (keeping its exclusions);
    a tier's own discount still comes first, as everywhere. Unchanged without such terms."""
    terms = program.coalition.partner(partner_id) if program.coalition else None
    if terms is None or terms.discount_percent is None or partner_id is None:
        return program
    base = program.discount
    rule = DiscountRule(rule_id=partner_rule_id(partner_id),
                        ladder=Ladder(steps=(Step(from_kopecks=0,
                                                  percent=terms.discount_percent),)),
                        excluded=base.excluded if base is not None else Goods())
    return replace(program, discount=rule)
