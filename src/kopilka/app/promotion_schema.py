"""The promotion document (what `POST /v1/promotions` accepts) <-> the domain `Promotion`.

Strict Pydantic models in the conventions of `program_schema` (and with its scalar types):
money as decimal strings "123.45" converted to kopecks, points as integers, percents as
decimal strings (or integers; floats are refused as inexact), times RFC 3339 with an offset,
unknown fields refused, every collection bounded. `parse_promotion(data)` validates decoded
JSON, runs the checks that span fields, and builds the domain `Promotion`; every problem is
reported at once as `InvalidInput(code="invalid_promotion", errors=[{"loc": [...], "msg": ...}])`
with `loc` the path in the document (the reward's `type` tag is not part of it).
`promotion_to_document` is the inverse, JSON-ready, so that
`parse_promotion(promotion_to_document(p)) == p`.

A document:
```json
{"id": "autumn10", "name": "Autumn 10%", "priority": 10, "exclusivity_group": "seasonal",
 "stackable": false, "combinable_with_points": true, "requires_code": true,
 "starts_at": "2026-09-01T00:00:00+03:00", "ends_at": "2026-12-01T00:00:00+03:00",
 "control_share_percent": "10",
 "conditions": {"goods": [{"categories": ["coffee"], "min_quantity": 2, "label": "Coffee"}],
                "min_receipt": "1000.00", "channels": ["online"], "tiers": ["gold"]},
 "reward": {"type": "percent_off", "percent": "10", "goods": {"categories": ["coffee"]}},
 "limits": {"budget": "50000.00", "count": 1000, "per_member": {"count": 1, "period": "week"}}}
```
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, Strict
from pydantic import ValidationError as _PydanticError

from kopilka.app.program_checks import Issue, Loc
from kopilka.app.program_schema import (
    Code,
    Factor,
    GoodsDoc,
    HoursDoc,
    Moment,
    Money,
    Name,
    Percent,
    PositiveMoney,
    Text,
    _decimal,
    _fail,
)
from kopilka.domain.errors import InvalidInput
from kopilka.domain.program import Channel
from kopilka.domain.promotion_rewards import MAX_GIFT_QUANTITY, MAX_UNITS
from kopilka.domain.promotion_rules import Period

MAX_LIST = 1000  # stores, tiers, segments per promotion
MAX_INVITED = 10_000  # members of a closed club given inline (larger: a segment)
MAX_REPORTED = 100
REWARD_TAGS = frozenset({"percent_off", "amount_off", "fixed_price", "gift", "buy_x_get_y",
                         "cheapest_free", "extra_points", "points_multiplier", "free_delivery"})


def _above_zero(value: Decimal) -> Decimal:
    if value <= 0:
        _fail("must be greater than 0")
    return value


def _above_one(value: Decimal) -> Decimal:
    if value <= 1:
        _fail("must be greater than 1 (a multiplier that adds points)")
    return value


def _quantity(value: object) -> Decimal:
    quantity = _decimal(value)
    if quantity < 0:
        _fail("cannot be negative")
    return quantity


PositivePercent = Annotated[Percent, AfterValidator(_above_zero)]
Quantity = Annotated[Decimal, PlainValidator(_quantity)]
Units = Annotated[int, Field(ge=1, le=MAX_UNITS)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- reward ---------------------------------------------------------------------------------

class PercentOffDoc(_Doc):
    type: Literal["percent_off"]
    percent: PositivePercent
    goods: GoodsDoc | None = None  # none: the whole receipt


class AmountOffDoc(_Doc):
    type: Literal["amount_off"]
    amount: PositiveMoney
    goods: GoodsDoc | None = None


class FixedPriceDoc(_Doc):
    type: Literal["fixed_price"]
    price: Money  # per unit (per kilogram for weighed goods)
    goods: GoodsDoc


class GiftDoc(_Doc):
    type: Literal["gift"]
    sku: Text
    quantity: int = Field(1, ge=1, le=MAX_GIFT_QUANTITY)


class BuyDoc(GoodsDoc):
    quantity: Units


class GetDoc(BuyDoc):
    percent: PositivePercent = Decimal(100)


class BuyXGetYDoc(_Doc):
    type: Literal["buy_x_get_y"]
    buy: BuyDoc
    get: GetDoc
    max_repeats: Units | None = None


class CheapestFreeDoc(_Doc):
    type: Literal["cheapest_free"]
    group_size: int = Field(ge=2, le=MAX_UNITS)
    goods: GoodsDoc
    max_repeats: Units | None = None


class ExtraPointsDoc(_Doc):
    type: Literal["extra_points"]
    points: int = Field(ge=1, le=10**12)


class PointsMultiplierDoc(_Doc):
    type: Literal["points_multiplier"]
    factor: Annotated[Factor, AfterValidator(_above_one)]
    goods: GoodsDoc | None = None  # none: every line


class FreeDeliveryDoc(_Doc):
    type: Literal["free_delivery"]
    goods: GoodsDoc | None = None  # the delivery lines; none: only the flag


RewardDoc = Annotated[
    PercentOffDoc | AmountOffDoc | FixedPriceDoc | GiftDoc | BuyXGetYDoc | CheapestFreeDoc
    | ExtraPointsDoc | PointsMultiplierDoc | FreeDeliveryDoc,
    Field(discriminator="type")]


# --- conditions, limits, the promotion ------------------------------------------------------

class GoodsConditionDoc(GoodsDoc):
    min_quantity: Quantity = Decimal(0)
    min_amount: Money = 0
    label: Name | None = None


class ConditionsDoc(_Doc):
    goods: list[GoodsConditionDoc] = Field(default_factory=list, max_length=20)
    min_receipt: Money = 0
    first_purchase: bool = False
    stores: list[Code] = Field(default_factory=list, max_length=MAX_LIST)
    channels: list[Annotated[Channel, Strict(False)]] = Field(default_factory=list, max_length=3)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    hours: HoursDoc | None = None
    tiers: list[Code] = Field(default_factory=list, max_length=MAX_LIST)
    segments: list[Code] = Field(default_factory=list, max_length=MAX_LIST)
    invited: list[Text] = Field(default_factory=list, max_length=MAX_INVITED)


class PerPeriodDoc(_Doc):
    count: int = Field(ge=1, le=10**9)
    period: Annotated[Period, Strict(False)] = Period.EVER


class LimitsDoc(_Doc):
    budget: PositiveMoney | None = None
    budget_points: int | None = Field(default=None, ge=1, le=10**15)
    count: int | None = Field(default=None, ge=1, le=10**12)
    per_member: PerPeriodDoc | None = None
    per_store: PerPeriodDoc | None = None


class PromotionDoc(_Doc):
    id: Code
    name: Name
    priority: int = Field(0, ge=-1_000_000, le=1_000_000)
    exclusivity_group: Code | None = None
    combinable_with_points: bool = True
    stackable: bool = True
    requires_code: bool = False
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    control_share_percent: Percent = Decimal(0)
    conditions: ConditionsDoc = Field(default_factory=ConditionsDoc)
    reward: RewardDoc
    limits: LimitsDoc = Field(default_factory=LimitsDoc)


# --- validation -----------------------------------------------------------------------------

def validate_promotion(data: Any) -> PromotionDoc:
    """The schema and cross-field checks of decoded JSON; InvalidInput with every problem."""
    try:
        doc = PromotionDoc.model_validate(data)
    except _PydanticError as exc:
        raise invalid([_issue(err) for err in exc.errors(include_url=False,
                                                         include_input=False)]) from None
    issues = check_promotion(doc)
    if issues:
        raise invalid(issues)
    return doc


def invalid(issues: Sequence[Issue]) -> InvalidInput:
    errors = [{"loc": list(loc), "msg": msg} for loc, msg in issues[:MAX_REPORTED]]
    where = ".".join(map(str, errors[0]["loc"])) or "document"
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return InvalidInput(f"invalid promotion: {where}: {errors[0]['msg']}{more}",
                        code="invalid_promotion", errors=errors)


def _issue(err: Any) -> Issue:
    loc = tuple(err["loc"])
    if len(loc) > 1 and loc[0] == "reward" and loc[1] in REWARD_TAGS:
        loc = loc[:1] + loc[2:]  # the discriminator's tag is not a path in the document
    if err["type"] == "union_tag_not_found":
        return (*loc, "type"), f"Field required: one of {', '.join(sorted(REWARD_TAGS))}"
    return loc, err["msg"]


def check_promotion(doc: PromotionDoc) -> list[Issue]:
    """Problems that span fields: time order, hours, duplicates, goods that must be named."""
    issues: list[Issue] = []
    if doc.starts_at is not None and doc.ends_at is not None and doc.ends_at <= doc.starts_at:
        issues.append((("ends_at",), "must be after starts_at"))
    when = doc.conditions
    if when.hours is not None and when.hours.end <= when.hours.start:
        issues.append((("conditions", "hours", "to"),
                       f"must be after from ({when.hours.start}); windows across midnight "
                       "are two promotions"))
    for name in ("stores", "channels", "weekdays", "tiers", "segments", "invited"):
        _unique(getattr(when, name), ("conditions", name), issues)
    for index, condition in enumerate(when.goods):
        _named(condition, ("conditions", "goods", index), issues)
    reward = doc.reward
    if isinstance(reward, FixedPriceDoc | CheapestFreeDoc):
        _named(reward.goods, ("reward", "goods"), issues)
    elif isinstance(reward, BuyXGetYDoc):
        _named(reward.buy, ("reward", "buy"), issues)
        _named(reward.get, ("reward", "get"), issues)
    else:
        goods = getattr(reward, "goods", None)  # optional: none means every line
        if goods is not None:
            _named(goods, ("reward", "goods"), issues)
    return issues


def _unique(values: Sequence[object], loc: Loc, issues: list[Issue]) -> None:
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            issues.append(((*loc, index), f"duplicate value {value!r}"))
        seen.add(value)


def _named(goods: GoodsDoc, loc: Loc, issues: list[Issue]) -> None:
    if not goods.categories and not goods.skus:
        issues.append((loc, "name at least one category or SKU"))
    _unique(goods.categories, (*loc, "categories"), issues)
    _unique(goods.skus, (*loc, "skus"), issues)
