"""The program document's external form: strict Pydantic models of its YAML/JSON text.

Scalars are converted as they are validated when the conversion needs nothing else: money
strings to kopecks (`parse_money`), percents and factors to `Decimal`, `effective_from` to an
aware datetime. Whatever depends on another part of the document (a currency's scale, the tier
measure, references between rules) is checked by `program_rules.check_program`. Every
collection is bounded; floats are refused everywhere because they are inexact.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Strict,
    Tag,
)
from pydantic_core import PydanticCustomError

from kopilka.domain.engagement import ChallengeMeasure, ChallengePeriod
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import Rounding, parse_money
from kopilka.domain.program import Channel, Measure, SpentEarnedPolicy
from kopilka.domain.rewards import (
    DEFAULT_TIME_ZONE,
    MAX_WINDOW_DAYS,
    Period,
    Trigger,
    is_time_zone,
)

MAX_DAYS = 3660  # ten years: the bound of every "days" field
# Tags of the window union; they appear in Pydantic's error locations and are stripped from them.
UNION_TAGS = frozenset({"<calendar>", "<rolling>"})

_DECIMAL = re.compile(r"-?\d{1,15}(\.\d{1,6})?")
_MONEY = re.compile(r"-?\d{1,13}(\.\d+)?")
_AMOUNT = re.compile(r"-?\d{1,15}(\.\d{1,4})?")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_ISO_CURRENCY = re.compile(r"[A-Z]{3}")


def _fail(message: str) -> NoReturn:
    """Refuse a value with `message` as it is (no "Value error, " prefix). No braces in it."""
    raise PydanticCustomError("program", message)


def _decimal(value: object) -> Decimal:
    if isinstance(value, float):
        _fail('must be a decimal string such as "2.5": floats are inexact (quote the number)')
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**15:
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        _fail('must be a decimal string such as "2.5" (at most 6 decimal places)')
    return Decimal(value)


def _percent(value: object) -> Decimal:
    percent = _decimal(value)
    if not 0 <= percent <= 100:
        _fail("must be between 0 and 100")
    return percent


def _factor(value: object) -> Decimal:
    factor = _decimal(value)
    if factor <= 0:
        _fail("must be greater than 0")
    if factor > 100:
        _fail("must be at most 100")
    return factor


def money_kopecks(value: object) -> int:
    """A money string ("1234.50", or an integer of whole units) to kopecks, never negative."""
    if isinstance(value, float):
        _fail('must be a money string such as "1234.50": floats are inexact (quote it)')
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**13:
        value = str(value)
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        _fail('must be a money string such as "1234.50"')
    try:
        kopecks = parse_money(value)
    except InvalidInput:
        _fail('must not have fractions of a kopeck, e.g. "1234.50"')
    if kopecks < 0:
        _fail("cannot be negative")
    return kopecks


def _positive_money(value: object) -> int:
    kopecks = money_kopecks(value)
    if kopecks == 0:
        _fail("must be greater than 0.00")
    return kopecks


def _amount(value: object) -> int | str:
    """An amount of points, in the currency's whole units: converted once the scale is known."""
    if isinstance(value, float):
        _fail('must be an integer, or a decimal string such as "10.50" for a scaled currency')
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**15:
        return value
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        _fail('must be an integer, or a decimal string such as "10.50" for a scaled currency')
    return value


def _threshold(value: object) -> int | str:
    """A tier threshold: a money string for spend, an integer otherwise (checked later)."""
    if isinstance(value, float):
        _fail('must be a money string such as "5000.00" (spend) or an integer: no floats')
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**15:
        return value
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        _fail('must be a money string such as "5000.00" (spend) or an integer')
    return value


def _moment(value: object) -> datetime:
    message = "must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T00:00:00+03:00"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            _fail(message)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        _fail(message)
    return value


def _text(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        _fail("control characters are not allowed")
    if value != value.strip():
        _fail("leading or trailing spaces are not allowed")
    return value


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        _fail("must be 1-64 letters, digits, '_', '-', '.' or ':', starting with a letter or digit")
    return value


def _iso_currency(value: str) -> str:
    if not _ISO_CURRENCY.fullmatch(value):
        _fail("must be an ISO 4217 code such as RUB")
    return value


def _never(value: object) -> object:
    if isinstance(value, str):
        if value == "never":
            return None
        _fail('must be "never" or a mapping with one of after_days, end_of_month, end_of_year')
    return value


def _window_tag(value: object) -> str | None:
    if isinstance(value, str):
        return "<calendar>"
    return "<rolling>" if isinstance(value, dict) else None


Percent = Annotated[Decimal, PlainValidator(_percent)]
Factor = Annotated[Decimal, PlainValidator(_factor)]
Money = Annotated[int, PlainValidator(money_kopecks)]  # kopecks
PositiveMoney = Annotated[int, PlainValidator(_positive_money)]
Amount = Annotated[int | str, PlainValidator(_amount)]
Threshold = Annotated[int | str, PlainValidator(_threshold)]
Moment = Annotated[datetime, PlainValidator(_moment)]
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_text)]
Code = Annotated[str, AfterValidator(_code)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GoodsDoc(_Doc):
    categories: list[Text] = Field(default_factory=list, max_length=500)
    skus: list[Text] = Field(default_factory=list, max_length=1000)


class BurnExcludeDoc(GoodsDoc):
    discounted: bool = False


class HoursDoc(_Doc):
    start: int = Field(alias="from", ge=0, le=23)
    end: int = Field(alias="to", ge=1, le=24)


class ConditionDoc(GoodsDoc):
    channels: list[Annotated[Channel, Strict(False)]] = Field(default_factory=list, max_length=3)
    payment_methods: list[Code] = Field(default_factory=list, max_length=50)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    hours: HoursDoc | None = None


class MultiplierDoc(_Doc):
    id: Code
    factor: Factor
    when: ConditionDoc = Field(default_factory=ConditionDoc)


class StepDoc(_Doc):
    start: Money = Field(alias="from")
    percent: Percent


class ExpiryDoc(_Doc):
    after_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    end_of_month: int | None = Field(None, ge=0, le=120)
    end_of_year: int | None = Field(None, ge=0, le=10)


class EarnDoc(_Doc):
    id: Code
    currency: Code | None = None
    percent: Percent | None = None
    ladder: list[StepDoc] | None = Field(None, min_length=1, max_length=50)
    multipliers: list[MultiplierDoc] = Field(default_factory=list, max_length=50)
    exclude: GoodsDoc = Field(default_factory=GoodsDoc)
    pending_days: Days = 0
    expiry: Annotated[ExpiryDoc | None, BeforeValidator(_never)] = None


class BurnDoc(_Doc):
    id: Code
    currency: Code | None = None
    point_value: PositiveMoney = 100
    max_share_percent: Percent = Decimal(100)
    min_balance: Amount = 0
    min_cash: Money = 0
    exclude: BurnExcludeDoc = Field(default_factory=BurnExcludeDoc)
    combine_with_discounts: bool = True


class DiscountDoc(_Doc):
    id: Code
    percent: Percent | None = None
    ladder: list[StepDoc] | None = Field(None, min_length=1, max_length=50)
    exclude: GoodsDoc = Field(default_factory=GoodsDoc)


class RollingDoc(_Doc):
    rolling_days: int = Field(ge=1, le=MAX_DAYS)


CalendarWindow = Literal["calendar_year", "calendar_quarter", "calendar_month"]
WindowDoc = Annotated[
    Annotated[CalendarWindow, Tag("<calendar>")] | Annotated[RollingDoc, Tag("<rolling>")],
    Discriminator(_window_tag, custom_error_type="window",
                  custom_error_message="must be calendar_year, calendar_quarter, "
                                       "calendar_month or a mapping with rolling_days"),
]


class EntryDoc(_Doc):
    amount: PositiveMoney
    tier: Code


class LevelDoc(_Doc):
    code: Code
    name: Name
    threshold: Threshold
    discount_percent: Percent | None = None
    earn_multiplier: Factor = Decimal(1)


class TiersDoc(_Doc):
    id: Code
    measure: Annotated[Measure, Strict(False)]
    window: WindowDoc = "calendar_year"
    downgrade_grace_days: Days = 0
    entry_purchase: EntryDoc | None = None
    levels: list[LevelDoc] = Field(min_length=1, max_length=20)


class CurrencyDoc(_Doc):
    code: Code
    name: Name
    scale: int = Field(0, ge=0, le=4)
    value: Money = 100  # money value of one whole point, kopecks
    rounding: Annotated[Rounding, Strict(False)] = Rounding.FLOOR
    min_balance: Amount = 0


class ReturnsDoc(_Doc):
    spent_earned_points: Annotated[SpentEarnedPolicy, Strict(False)] = (
        SpentEarnedPolicy.NEGATIVE_BALANCE)


# --- coalition (SPEC P5, P6): agreed settlement rates and brand discounts ------------------

MAX_RATE = Decimal(1_000_000)


def _rate(value: object) -> Decimal:
    """Money per whole point, a decimal string such as "1.00" (at most 6 decimal places)."""
    rate = _decimal(value)
    if rate < 0:
        _fail("cannot be negative")
    if rate > MAX_RATE:
        _fail("must be at most 1000000")
    return rate


Rate = Annotated[Decimal, PlainValidator(_rate)]


class PairRateDoc(_Doc):
    issuer: Code
    redeemer: Code
    money_per_point: Rate


class CoalitionPartnerDoc(_Doc):
    partner_id: Code
    money_per_point: Rate | None = None
    discount_percent: Percent | None = None


class CoalitionDoc(_Doc):
    currency: Code | None = None  # the point currency the rates price; default: the main one
    default_rate: Rate | None = None  # default: the currency's own money value
    rates: list[PairRateDoc] = Field(default_factory=list, max_length=2500)
    partners: list[CoalitionPartnerDoc] = Field(default_factory=list, max_length=200)


# --- one-time rewards (SPEC R6): see app.program_rewards for the checks ---------------------

def _time_zone(value: str) -> str:
    if not is_time_zone(value):
        _fail("must be an IANA time zone such as Europe/Moscow")
    return value


class BirthdayWindowDoc(_Doc):
    days_before: int = Field(0, ge=0, le=MAX_WINDOW_DAYS)
    days_after: int = Field(0, ge=0, le=MAX_WINDOW_DAYS)


class RewardDoc(_Doc):
    id: Code
    name: Name
    trigger: Annotated[Trigger, Strict(False)]
    event: Code | None = None  # the event type of a custom trigger
    currency: Code | None = None
    points: Amount | None = None
    friend_points: Amount | None = None  # referral
    referrer_points: Amount | None = None  # referral
    pending_until: Literal["phone_verified"] | None = None
    expiry: Annotated[ExpiryDoc | None, BeforeValidator(_never)] = None
    window: BirthdayWindowDoc | None = None  # birthday
    period: Annotated[Period, Strict(False)] = Period.ONCE  # posted events


class RewardsDoc(_Doc):
    time_zone: Annotated[str, Field(max_length=64), AfterValidator(_time_zone)] = (
        DEFAULT_TIME_ZONE)
    rules: list[RewardDoc] = Field(default_factory=list, max_length=100)


# --- gamification (SPEC P7): see app.program_engagement for the checks ----------------------

class ChallengeDoc(_Doc):
    id: Code
    name: Name
    badge: Name | None = None
    measure: Annotated[ChallengeMeasure, Strict(False)]
    category: Text | None = None  # category_spend
    target: Threshold  # an integer for purchases, a money string for spend
    period: Annotated[ChallengePeriod, Strict(False)] = ChallengePeriod.MONTH
    currency: Code | None = None  # of reward_points; default: the main currency
    reward_points: Amount = 0


class DrawDoc(_Doc):
    id: Code
    name: Name
    odds_percent: Percent
    prize_points: Amount
    budget_points: Amount
    currency: Code | None = None
    min_receipt: Money = 0


class StickerOfferDoc(_Doc):
    id: Code
    name: Name
    stickers: Amount
    sku: Text
    discount_percent: Percent


class EngagementDoc(_Doc):
    challenges: list[ChallengeDoc] = Field(default_factory=list, max_length=100)
    draws: list[DrawDoc] = Field(default_factory=list, max_length=20)
    sticker_currency: Code | None = None
    sticker_offers: list[StickerOfferDoc] = Field(default_factory=list, max_length=100)


# --- charity (SPEC P9): see app.program_charity for the checks --------------------------------

class FundDoc(_Doc):
    id: Code
    name: Name
    currency: Code | None = None  # default: the main currency
    share_of_purchase_percent: Percent | None = None
    min_donation: Amount = 0  # in the currency's whole units


class CharityDoc(_Doc):
    funds: list[FundDoc] = Field(min_length=1, max_length=100)


class ProgramDoc(_Doc):
    name: Name
    effective_from: Moment
    money_currency: Annotated[str, AfterValidator(_iso_currency)] = "RUB"
    point_currencies: list[CurrencyDoc] = Field(min_length=1, max_length=10)
    earn: list[EarnDoc] = Field(default_factory=list, max_length=200)
    burn: BurnDoc | None = None
    discount: DiscountDoc | None = None
    tiers: TiersDoc | None = None
    returns: ReturnsDoc = Field(default_factory=ReturnsDoc)
    labels: dict[Code, Text] = Field(default_factory=dict, max_length=50)
    coalition: CoalitionDoc | None = None
    rewards: RewardsDoc | None = None
    engagement: EngagementDoc | None = None
    charity: CharityDoc | None = None
