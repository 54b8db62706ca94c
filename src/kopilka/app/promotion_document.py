"""The promotion document <-> the domain `Promotion`, both ways (see `promotion_schema`).

`parse_promotion(data)` takes decoded JSON (a dict), validates it and builds the domain
`Promotion`, or raises `InvalidInput(code="invalid_promotion", errors=[{loc, msg}])`.
`promotion_to_document(promotion)` renders it back as a JSON-ready dict (money "123.45",
percents and quantities as decimal strings, times RFC 3339) for GET responses; optional parts
left empty are left out, so `parse_promotion(promotion_to_document(p)) == p`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.app.program_document import _goods as goods_from_document
from kopilka.app.program_render import _goods as goods_to_document
from kopilka.app.program_schema import GoodsDoc
from kopilka.app.promotion_schema import (
    AmountOffDoc,
    BuyXGetYDoc,
    CheapestFreeDoc,
    ConditionsDoc,
    ExtraPointsDoc,
    FixedPriceDoc,
    FreeDeliveryDoc,
    GiftDoc,
    LimitsDoc,
    PercentOffDoc,
    PointsMultiplierDoc,
    PromotionDoc,
    validate_promotion,
)
from kopilka.domain.points import format_money
from kopilka.domain.program import Goods, Hours
from kopilka.domain.promotion_rewards import reward_type
from kopilka.domain.promotions import (
    AmountOff,
    BuyXGetY,
    CheapestFree,
    Conditions,
    ExtraPoints,
    FixedPrice,
    FreeDelivery,
    Gift,
    GoodsCondition,
    Limits,
    PercentOff,
    Period,
    PointsMultiplier,
    Promotion,
    Reward,
)

__all__ = ["parse_promotion", "promotion_from_document", "promotion_to_document"]


def parse_promotion(data: Any) -> Promotion:
    """Validate a decoded promotion document and build the domain `Promotion`."""
    return promotion_from_document(validate_promotion(data))


# --- document -> domain ---------------------------------------------------------------------

def promotion_from_document(doc: PromotionDoc) -> Promotion:
    """The domain `Promotion` of a document that passed `validate_promotion`."""
    return Promotion(
        promotion_id=doc.id, name=doc.name, reward=_reward(doc.reward), priority=doc.priority,
        exclusivity_group=doc.exclusivity_group,
        combinable_with_points=doc.combinable_with_points, stackable=doc.stackable,
        requires_code=doc.requires_code, starts_at=doc.starts_at, ends_at=doc.ends_at,
        control_share_percent=doc.control_share_percent,
        conditions=_conditions(doc.conditions), limits=_limits(doc.limits))


def _any(doc: GoodsDoc | None) -> Goods:
    return Goods() if doc is None else goods_from_document(doc)


def _reward(doc: Any) -> Reward:
    match doc:
        case PercentOffDoc():
            return PercentOff(doc.percent, _any(doc.goods))
        case AmountOffDoc():
            return AmountOff(doc.amount, _any(doc.goods))
        case FixedPriceDoc():
            return FixedPrice(doc.price, goods_from_document(doc.goods))
        case GiftDoc():
            return Gift(doc.sku, doc.quantity)
        case BuyXGetYDoc():
            return BuyXGetY(doc.buy.quantity, goods_from_document(doc.buy), doc.get.quantity,
                            goods_from_document(doc.get), doc.get.percent, doc.max_repeats)
        case CheapestFreeDoc():
            return CheapestFree(doc.group_size, goods_from_document(doc.goods), doc.max_repeats)
        case ExtraPointsDoc():
            return ExtraPoints(doc.points)
        case PointsMultiplierDoc():
            return PointsMultiplier(doc.factor, _any(doc.goods))
        case FreeDeliveryDoc():
            return FreeDelivery(_any(doc.goods))
    raise TypeError(f"unknown reward document {doc!r}")


def _conditions(doc: ConditionsDoc) -> Conditions:
    goods = tuple(GoodsCondition(goods_from_document(c), c.min_quantity, c.min_amount,
                                 c.label or "") for c in doc.goods)
    hours = Hours(start=doc.hours.start, end=doc.hours.end) if doc.hours else None
    return Conditions(goods=goods, min_receipt_kopecks=doc.min_receipt,
                      first_purchase=doc.first_purchase, stores=tuple(doc.stores),
                      channels=tuple(doc.channels), weekdays=tuple(doc.weekdays), hours=hours,
                      tiers=tuple(doc.tiers), segments=tuple(doc.segments),
                      invited=frozenset(doc.invited))


def _limits(doc: LimitsDoc) -> Limits:
    member, store = doc.per_member, doc.per_store
    return Limits(budget_kopecks=doc.budget, budget_points=doc.budget_points, count=doc.count,
                  per_member_count=member.count if member else None,
                  per_member_period=member.period if member else Period.EVER,
                  per_store_count=store.count if store else None,
                  per_store_period=store.period if store else Period.EVER)


# --- domain -> document ---------------------------------------------------------------------

def promotion_to_document(promotion: Promotion) -> dict[str, Any]:
    """The document of `promotion`, ready for `json.dumps`."""
    doc: dict[str, Any] = {"id": promotion.promotion_id, "name": promotion.name,
                           "priority": promotion.priority}
    if promotion.exclusivity_group is not None:
        doc["exclusivity_group"] = promotion.exclusivity_group
    doc["combinable_with_points"] = promotion.combinable_with_points
    doc["stackable"] = promotion.stackable
    doc["requires_code"] = promotion.requires_code
    if promotion.starts_at is not None:
        doc["starts_at"] = promotion.starts_at.isoformat()
    if promotion.ends_at is not None:
        doc["ends_at"] = promotion.ends_at.isoformat()
    doc["control_share_percent"] = _decimal(promotion.control_share_percent)
    doc["conditions"] = _conditions_document(promotion.conditions)
    doc["reward"] = _reward_document(promotion.reward)
    doc["limits"] = _limits_document(promotion.limits)
    return doc


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _with_goods(doc: dict[str, Any], goods: Goods) -> dict[str, Any]:
    if not goods.empty:
        doc["goods"] = goods_to_document(goods)
    return doc


def _reward_document(reward: Reward) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": reward_type(reward)}
    match reward:
        case PercentOff():
            return _with_goods({**doc, "percent": _decimal(reward.percent)}, reward.goods)
        case AmountOff():
            return _with_goods({**doc, "amount": format_money(reward.amount_kopecks)},
                               reward.goods)
        case FixedPrice():
            return _with_goods({**doc, "price": format_money(reward.unit_price_kopecks)},
                               reward.goods)
        case Gift():
            return {**doc, "sku": reward.sku, "quantity": reward.quantity}
        case BuyXGetY():
            doc["buy"] = {**goods_to_document(reward.buy_goods), "quantity": reward.buy_quantity}
            doc["get"] = {**goods_to_document(reward.get_goods), "quantity": reward.get_quantity,
                          "percent": _decimal(reward.percent)}
        case CheapestFree():
            doc = _with_goods({**doc, "group_size": reward.group_size}, reward.goods)
        case ExtraPoints():
            return {**doc, "points": reward.points}
        case PointsMultiplier():
            return _with_goods({**doc, "factor": _decimal(reward.factor)}, reward.goods)
        case FreeDelivery():
            return _with_goods(doc, reward.goods)
    if isinstance(reward, BuyXGetY | CheapestFree) and reward.max_repeats is not None:
        doc["max_repeats"] = reward.max_repeats
    return doc


def _conditions_document(when: Conditions) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if when.goods:
        doc["goods"] = [_goods_condition(c) for c in when.goods]
    if when.min_receipt_kopecks:
        doc["min_receipt"] = format_money(when.min_receipt_kopecks)
    if when.first_purchase:
        doc["first_purchase"] = True
    for name in ("stores", "channels", "weekdays", "tiers", "segments"):
        values = getattr(when, name)
        if values:
            doc[name] = [str(v) if name == "channels" else v for v in values]
    if when.hours is not None:
        doc["hours"] = {"from": when.hours.start, "to": when.hours.end}
    if when.invited:
        doc["invited"] = sorted(when.invited)
    return doc


def _goods_condition(condition: GoodsCondition) -> dict[str, Any]:
    doc = goods_to_document(condition.goods)
    if condition.min_quantity:
        doc["min_quantity"] = _decimal(condition.min_quantity)
    if condition.min_amount_kopecks:
        doc["min_amount"] = format_money(condition.min_amount_kopecks)
    if condition.label:
        doc["label"] = condition.label
    return doc


def _limits_document(limits: Limits) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if limits.budget_kopecks is not None:
        doc["budget"] = format_money(limits.budget_kopecks)
    if limits.budget_points is not None:
        doc["budget_points"] = limits.budget_points
    if limits.count is not None:
        doc["count"] = limits.count
    if limits.per_member_count is not None:
        doc["per_member"] = {"count": limits.per_member_count,
                             "period": limits.per_member_period.value}
    if limits.per_store_count is not None:
        doc["per_store"] = {"count": limits.per_store_count,
                            "period": limits.per_store_period.value}
    return doc
