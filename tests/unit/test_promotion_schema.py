"""The promotion document: exact mapping to the domain, round trips for every reward kind,
and errors reported at the precise path of the offending value."""

from __future__ import annotations

import copy
import functools
import json
import operator
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from kopilka.app.promotion_document import parse_promotion, promotion_to_document
from kopilka.domain.errors import InvalidInput
from kopilka.domain.program import Channel, Goods, Hours
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
)

MSK = timezone(timedelta(hours=3))

# Every field of the format at once; the error cases below break one thing each.
FULL: dict[str, Any] = {
    "id": "autumn10", "name": "Autumn 10%", "priority": 10, "exclusivity_group": "seasonal",
    "combinable_with_points": False, "stackable": False, "requires_code": True,
    "starts_at": "2026-09-01T00:00:00+03:00", "ends_at": "2026-12-01T00:00:00+03:00",
    "control_share_percent": "12.5",
    "conditions": {
        "goods": [{"categories": ["coffee"], "skus": ["TEA-1"], "min_quantity": "2",
                   "min_amount": "300.00", "label": "Coffee"}],
        "min_receipt": "1000.00", "first_purchase": True, "stores": ["msk-001", "msk-002"],
        "channels": ["online", "app"], "weekdays": [1, 2, 3], "hours": {"from": 9, "to": 21},
        "tiers": ["gold"], "segments": ["coffee-lovers"], "invited": ["m-1", "m-2"]},
    "reward": {"type": "percent_off", "percent": "10", "goods": {"categories": ["coffee"]}},
    "limits": {"budget": "50000.00", "budget_points": 100000, "count": 1000,
               "per_member": {"count": 1, "period": "week"},
               "per_store": {"count": 100, "period": "day"}},
}

REWARDS: list[tuple[dict[str, Any], object]] = [
    ({"type": "percent_off", "percent": "10"}, PercentOff(Decimal(10))),
    ({"type": "amount_off", "amount": "300.00", "goods": {"skus": ["A"]}},
     AmountOff(30000, Goods(skus=("A",)))),
    ({"type": "fixed_price", "price": "99.90", "goods": {"categories": ["coffee"]}},
     FixedPrice(9990, Goods(categories=("coffee",)))),
    ({"type": "gift", "sku": "MUG", "quantity": 2}, Gift("MUG", 2)),
    ({"type": "buy_x_get_y", "buy": {"categories": ["coffee"], "quantity": 2},
      "get": {"skus": ["CRO"], "quantity": 1, "percent": "50"}, "max_repeats": 3},
     BuyXGetY(2, Goods(categories=("coffee",)), 1, Goods(skus=("CRO",)), Decimal(50), 3)),
    ({"type": "cheapest_free", "group_size": 3, "goods": {"categories": ["shirts"]}},
     CheapestFree(3, Goods(categories=("shirts",)))),
    ({"type": "extra_points", "points": 500}, ExtraPoints(500)),
    ({"type": "points_multiplier", "factor": "2.5", "goods": {"categories": ["coffee"]}},
     PointsMultiplier(Decimal("2.5"), Goods(categories=("coffee",)))),
    ({"type": "free_delivery", "goods": {"skus": ["DLV"]}}, FreeDelivery(Goods(skus=("DLV",)))),
    ({"type": "free_delivery"}, FreeDelivery()),
]


def full() -> dict[str, Any]:
    return copy.deepcopy(FULL)


def errors_of(data: Any) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as caught:
        parse_promotion(data)
    assert caught.value.code == "invalid_promotion"
    assert caught.value.status == 422
    return caught.value.extra["errors"]  # type: ignore[return-value]


def test_every_field_maps_to_the_domain_exactly() -> None:
    assert parse_promotion(full()) == Promotion(
        promotion_id="autumn10", name="Autumn 10%",
        reward=PercentOff(Decimal(10), Goods(categories=("coffee",))), priority=10,
        exclusivity_group="seasonal", combinable_with_points=False, stackable=False,
        requires_code=True, starts_at=datetime(2026, 9, 1, tzinfo=MSK),
        ends_at=datetime(2026, 12, 1, tzinfo=MSK), control_share_percent=Decimal("12.5"),
        conditions=Conditions(
            goods=(GoodsCondition(Goods(("coffee",), ("TEA-1",)), Decimal(2), 30000,
                                  "Coffee"),),
            min_receipt_kopecks=100000, first_purchase=True, stores=("msk-001", "msk-002"),
            channels=(Channel.ONLINE, Channel.APP), weekdays=(1, 2, 3), hours=Hours(9, 21),
            tiers=("gold",), segments=("coffee-lovers",), invited=frozenset({"m-1", "m-2"})),
        limits=Limits(budget_kopecks=5000000, budget_points=100000, count=1000,
                      per_member_count=1, per_member_period=Period.WEEK, per_store_count=100,
                      per_store_period=Period.DAY))


def test_the_full_document_round_trips_exactly_through_json() -> None:
    document = promotion_to_document(parse_promotion(full()))
    assert document == full()
    assert parse_promotion(json.loads(json.dumps(document))) == parse_promotion(full())


@pytest.mark.parametrize(("reward", "expected"), REWARDS, ids=[r[0]["type"] for r in REWARDS])
def test_each_reward_kind_maps_and_round_trips(reward: dict[str, Any], expected: object) -> None:
    doc = {"id": "p", "name": "P", "reward": reward}
    promotion = parse_promotion(doc)
    assert promotion.reward == expected
    rendered = promotion_to_document(promotion)
    assert parse_promotion(json.loads(json.dumps(rendered))) == promotion
    assert promotion_to_document(parse_promotion(rendered)) == rendered


def test_defaults_fill_a_minimal_document_and_are_written_out() -> None:
    promotion = parse_promotion({"id": "p", "name": "P",
                                 "reward": {"type": "extra_points", "points": 10}})
    assert promotion == Promotion("p", "P", ExtraPoints(10))
    assert promotion_to_document(promotion) == {
        "id": "p", "name": "P", "priority": 0, "combinable_with_points": True,
        "stackable": True, "requires_code": False, "control_share_percent": "0",
        "conditions": {}, "reward": {"type": "extra_points", "points": 10}, "limits": {}}


def test_percents_may_be_integers_and_money_whole_units() -> None:
    promotion = parse_promotion({"id": "p", "name": "P",
                                 "reward": {"type": "percent_off", "percent": 15},
                                 "conditions": {"min_receipt": 500, "goods": [
                                     {"skus": ["A"], "min_quantity": "0.5"}]}})
    assert promotion.reward == PercentOff(Decimal(15))
    assert promotion.conditions.min_receipt_kopecks == 50000
    assert promotion.conditions.goods[0].min_quantity == Decimal("0.5")


Mutation = Callable[[dict[str, Any]], None]


_DELETE = object()


def _at(path: tuple[Any, ...], value: Any = _DELETE) -> Mutation:
    """A mutation that sets (or, without a value, deletes) the field at `path`."""
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path
        parent = functools.reduce(operator.getitem, parents, doc)
        if value is _DELETE:
            del parent[last]
        else:
            parent[last] = value
    return mutate


_set = _at


def _delete(path: tuple[Any, ...]) -> Mutation:
    return _at(path)


def _reward(reward: dict[str, Any]) -> Mutation:
    return _set(("reward",), reward)


BXGY = {"type": "buy_x_get_y", "buy": {"skus": ["A"], "quantity": 1},
        "get": {"skus": ["B"], "quantity": 1}}

BAD: list[tuple[str, Mutation, list[Any], str]] = [
    ("percent as a float", _set(("reward", "percent"), 2.5), ["reward", "percent"],
     "floats are inexact"),
    ("percent zero", _set(("reward", "percent"), "0"), ["reward", "percent"],
     "greater than 0"),
    ("percent above 100", _set(("reward", "percent"), "101"), ["reward", "percent"],
     "between 0 and 100"),
    ("unknown reward type", _set(("reward", "type"), "lottery"), ["reward"],
     "does not match any of the expected tags"),
    ("reward without a type", _delete(("reward", "type")), ["reward", "type"],
     "Field required"),
    ("no reward", _delete(("reward",)), ["reward"], "Field required"),
    ("unknown reward field", _set(("reward", "colour"), "red"), ["reward", "colour"],
     "Extra inputs are not permitted"),
    ("reward goods named nothing", _set(("reward", "goods"), {}), ["reward", "goods"],
     "name at least one category or SKU"),
    ("fraction of a kopeck", _set(("limits", "budget"), "1.005"), ["limits", "budget"],
     "fractions of a kopeck"),
    ("zero budget", _set(("limits", "budget"), "0.00"), ["limits", "budget"],
     "greater than 0.00"),
    ("points as text", _set(("limits", "budget_points"), "100"), ["limits", "budget_points"],
     "valid integer"),
    ("unknown period", _set(("limits", "per_member", "period"), "year"),
     ["limits", "per_member", "period"], "'day', 'week', 'month' or 'ever'"),
    ("per-member count zero", _set(("limits", "per_member", "count"), 0),
     ["limits", "per_member", "count"], "greater than or equal to 1"),
    ("naive start", _set(("starts_at",), "2026-09-01T00:00:00"), ["starts_at"],
     "with an offset"),
    ("end before start", _set(("ends_at",), "2026-08-01T00:00:00+03:00"), ["ends_at"],
     "must be after starts_at"),
    ("control share above 100", _set(("control_share_percent",), "101"),
     ["control_share_percent"], "between 0 and 100"),
    ("bad id", _set(("id",), "no spaces"), ["id"], "letters, digits"),
    ("priority as text", _set(("priority",), "1"), ["priority"], "valid integer"),
    ("stackable as text", _set(("stackable",), "yes"), ["stackable"], "valid boolean"),
    ("unknown condition", _set(("conditions", "colour"), "red"), ["conditions", "colour"],
     "Extra inputs are not permitted"),
    ("hours backwards", _set(("conditions", "hours", "from"), 22), ["conditions", "hours", "to"],
     "must be after from (22)"),
    ("weekday 8", _set(("conditions", "weekdays"), [1, 8]), ["conditions", "weekdays", 1],
     "less than or equal to 7"),
    ("duplicate store", _set(("conditions", "stores"), ["a", "a"]),
     ["conditions", "stores", 1], "duplicate value 'a'"),
    ("unknown channel", _set(("conditions", "channels"), ["fax"]),
     ["conditions", "channels", 0], "'offline', 'online' or 'app'"),
    ("goods condition naming nothing", _set(("conditions", "goods"), [{"min_quantity": 1}]),
     ["conditions", "goods", 0], "name at least one category or SKU"),
    ("negative quantity", _set(("conditions", "goods", 0, "min_quantity"), "-1"),
     ["conditions", "goods", 0, "min_quantity"], "cannot be negative"),
    ("control character in a name", _set(("name",), "Autumn\x00"), ["name"],
     "control characters"),
    ("buy quantity zero", _reward({**BXGY, "buy": {"skus": ["A"], "quantity": 0}}),
     ["reward", "buy", "quantity"], "greater than or equal to 1"),
    ("get goods naming nothing", _reward({**BXGY, "get": {"quantity": 1}}),
     ["reward", "get"], "name at least one category or SKU"),
    ("get percent zero", _reward({**BXGY, "get": {"skus": ["B"], "quantity": 1,
                                                  "percent": 0}}),
     ["reward", "get", "percent"], "greater than 0"),
    ("group of one", _reward({"type": "cheapest_free", "group_size": 1,
                              "goods": {"skus": ["A"]}}),
     ["reward", "group_size"], "greater than or equal to 2"),
    ("multiplier of one", _reward({"type": "points_multiplier", "factor": "1"}),
     ["reward", "factor"], "greater than 1"),
    ("gift of nothing", _reward({"type": "gift", "sku": "MUG", "quantity": 0}),
     ["reward", "quantity"], "greater than or equal to 1"),
    ("extra points negative", _reward({"type": "extra_points", "points": -5}),
     ["reward", "points"], "greater than or equal to 1"),
    ("fixed price without goods", _reward({"type": "fixed_price", "price": "1.00"}),
     ["reward", "goods"], "Field required"),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case[0]) for case in BAD])
def test_each_bad_document_names_the_precise_location_of_its_problem(
        case: tuple[str, Mutation, list[Any], str]) -> None:
    _, mutate, loc, msg = case
    broken = full()
    mutate(broken)
    errors = errors_of(broken)
    assert [e["loc"] for e in errors] == [loc], errors
    assert msg in errors[0]["msg"]


def test_all_problems_are_reported_together_and_the_detail_names_the_first() -> None:
    doc = full()
    doc["priority"] = "high"
    doc["limits"]["budget"] = 1.5
    with pytest.raises(InvalidInput) as caught:
        parse_promotion(doc)
    errors: list[dict[str, Any]] = caught.value.extra["errors"]  # type: ignore[assignment]
    assert [e["loc"] for e in errors] == [["priority"], ["limits", "budget"]]
    assert caught.value.detail.startswith("invalid promotion: priority: ")
    assert caught.value.detail.endswith("(and 1 more)")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert errors_of(["not", "a", "promotion"])[0]["loc"] == []
