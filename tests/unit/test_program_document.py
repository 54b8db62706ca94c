"""The program document: the examples, exact mapping to the domain, round trips, and errors
reported at the precise path (and YAML line) of the offending value."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from kopilka.app.program_document import MAX_DOCUMENT_BYTES, parse_program, program_to_document
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import Rounding
from kopilka.domain.program import (
    Channel,
    Condition,
    Expiry,
    ExpiryKind,
    Goods,
    Hours,
    Ladder,
    Measure,
    Multiplier,
    SpentEarnedPolicy,
    Step,
    Window,
    WindowKind,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MSK = timezone(timedelta(hours=3))
START = datetime(2026, 1, 1, tzinfo=MSK)

# Every feature of the format at once; the error cases below break one thing each.
FULL = """\
name: Everything
effective_from: 2026-01-01T00:00:00+03:00
money_currency: RUB
point_currencies:
  - {code: points, name: Bonus points, scale: 0, value: "1.00", rounding: floor, min_balance: -100}
  - {code: stars, name: Stars, scale: 2, value: "0.50", rounding: half_up, min_balance: "0.00"}
earn:
  - id: base
    currency: points
    ladder:
      - {from: "0.00", percent: "5"}
      - {from: "3000.00", percent: "10"}
    multipliers:
      - id: online-x2
        factor: "2"
        when:
          channels: [online, app]
          categories: [coffee]
          skus: [SKU-1]
          payment_methods: [card]
          weekdays: [6, 7]
          hours: {from: 10, to: 12}
      - {id: always-x1.5, factor: "1.5"}
    exclude: {categories: [tobacco], skus: [GIFT-CARD]}
    pending_days: 14
    expiry: {after_days: 180}
  - id: stars
    currency: stars
    percent: "2.5"
    expiry: {end_of_month: 3}
burn:
  id: pay-with-points
  currency: points
  point_value: "1.00"
  max_share_percent: "30"
  min_balance: 100
  min_cash: "1.00"
  exclude: {categories: [tobacco], skus: [GIFT-CARD], discounted: true}
  combine_with_discounts: false
discount:
  id: discount
  ladder:
    - {from: "1000.00", percent: "3"}
    - {from: "5000.00", percent: "7.5"}
  exclude: {categories: [alcohol]}
tiers:
  id: tiers
  measure: spend
  window: {rolling_days: 365}
  downgrade_grace_days: 30
  entry_purchase: {amount: "20000.00", tier: gold}
  levels:
    - {code: base, name: Base, threshold: "0"}
    - {code: silver, name: Silver, threshold: "5000.00", discount_percent: "5"}
    - {code: gold, name: Gold, threshold: "10000.00", discount_percent: "10",
       earn_multiplier: "1.5"}
returns:
  spent_earned_points: deduct_from_refund
labels: {owner: marketing}
"""


def full() -> dict[str, Any]:
    return yaml.safe_load(FULL)


def errors_of(text: str, **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as caught:
        parse_program(text, **kwargs)
    assert caught.value.code == "invalid_program"
    assert caught.value.status == 422
    return caught.value.extra["errors"]  # type: ignore[return-value]


def read_example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


# --- the examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bonus.yaml", "cashback.yaml", "tiers-discount.yaml"])
def test_each_example_parses_and_round_trips_through_yaml_and_json(name: str) -> None:
    program = parse_program(read_example(name))
    document = program_to_document(program)
    assert program.effective_from == START
    assert parse_program(yaml.safe_dump(document)) == program
    assert parse_program(json.dumps(document), content_type="application/json") == program
    assert program_to_document(parse_program(yaml.safe_dump(document))) == document


def test_bonus_example_earns_5_then_10_percent_and_pays_up_to_30_percent() -> None:
    program = parse_program(read_example("bonus.yaml"))
    (earn,) = program.earn
    assert earn.ladder.steps == (Step(0, Decimal(5)), Step(300000, Decimal(10)))
    assert (earn.currency, earn.pending_days) == ("points", 14)
    assert earn.expiry == Expiry(ExpiryKind.AFTER_DAYS, 180)
    assert earn.excluded == Goods(categories=("tobacco",))
    burn = program.burn
    assert burn is not None
    assert (burn.max_share_percent, burn.point_value_kopecks, burn.min_balance,
            burn.min_cash_kopecks) == (Decimal(30), 100, 0, 0)
    assert burn.excluded == Goods(categories=("tobacco",))
    (cur,) = program.currencies
    assert (cur.code, cur.scale, cur.unit_value_kopecks, cur.earn_rounding) == (
        "points", 0, 100, Rounding.FLOOR)
    assert (program.discount, program.tiers) == (None, None)


def test_cashback_example_returns_3_percent_as_bonus_rubles_to_the_kopeck() -> None:
    program = parse_program(read_example("cashback.yaml"))
    (cur,) = program.currencies
    assert (cur.code, cur.scale, cur.unit_value_kopecks) == ("rub_bonus", 2, 100)
    (earn,) = program.earn
    assert earn.ladder == Ladder((Step(0, Decimal(3)),))
    assert earn.expiry == Expiry(ExpiryKind.END_OF_YEAR, 1)
    assert cur.points_for_money(12345, Decimal(3)) == 370  # 3.70 bonus rubles
    burn = program.burn
    assert burn is not None
    assert (burn.currency, burn.max_share_percent, burn.min_cash_kopecks) == (
        "rub_bonus", Decimal(100), 100)


def test_tiers_discount_example_gives_0_5_10_15_percent_by_yearly_spend() -> None:
    program = parse_program(read_example("tiers-discount.yaml"))
    tiers = program.tiers
    assert tiers is not None
    assert (tiers.measure, tiers.window, tiers.downgrade_grace_days) == (
        Measure.SPEND, Window(WindowKind.CALENDAR_YEAR), 30)
    assert [(t.code, t.threshold, t.discount_percent) for t in tiers.levels] == [
        ("base", 0, Decimal(0)), ("silver", 500000, Decimal(5)),
        ("gold", 1000000, Decimal(10)), ("platinum", 2000000, Decimal(15))]
    assert program.earn == () and program.burn is None


# --- mapping and formats --------------------------------------------------------------------

def test_every_field_maps_to_the_domain_exactly() -> None:
    program = parse_program(FULL)
    points, stars = program.currencies
    assert (points.min_available, stars.unit_value_kopecks, stars.earn_rounding) == (
        -100, 50, Rounding.HALF_UP)
    base, star_rule = program.earn
    assert base.multipliers == (
        Multiplier("online-x2", Decimal(2), Condition(
            goods=Goods(("coffee",), ("SKU-1",)), channels=(Channel.ONLINE, Channel.APP),
            payment_methods=("card",), weekdays=(6, 7), hours=Hours(10, 12))),
        Multiplier("always-x1.5", Decimal("1.5"), Condition()))
    assert base.excluded == Goods(("tobacco",), ("GIFT-CARD",))
    assert star_rule.ladder == Ladder((Step(0, Decimal("2.5")),))
    assert (star_rule.currency, star_rule.expiry) == ("stars", Expiry(ExpiryKind.END_OF_MONTH, 3))
    burn = program.burn
    assert burn is not None
    assert (burn.min_balance, burn.min_cash_kopecks, burn.exclude_discounted,
            burn.combine_with_discounts) == (100, 100, True, False)
    assert program.discount is not None
    assert program.discount.ladder.steps == (Step(100000, Decimal(3)), Step(500000, Decimal("7.5")))
    tiers = program.tiers
    assert tiers is not None
    assert tiers.window == Window(WindowKind.ROLLING_DAYS, 365)
    assert (tiers.entry_purchase_kopecks, tiers.entry_purchase_tier) == (2000000, "gold")
    assert tiers.levels[2].earn_multiplier == Decimal("1.5")
    assert tiers.levels[0].discount_percent is None
    assert program.returns_policy is SpentEarnedPolicy.DEDUCT_FROM_REFUND
    assert program.labels == {"owner": "marketing"}


def test_the_full_document_round_trips() -> None:
    program = parse_program(FULL)
    assert parse_program(yaml.safe_dump(program_to_document(program))) == program
    assert parse_program(json.dumps(program_to_document(program))) == program


def test_integer_thresholds_and_calendar_windows_round_trip() -> None:
    text = ("name: Stars\neffective_from: 2026-01-01T00:00:00+03:00\n"
            "point_currencies: [{code: stars, name: Stars, scale: 2, min_balance: '-10.50'}]\n"
            "earn: [{id: base, percent: 2, expiry: never, multipliers: [{id: x3, factor: 3}]}]\n"
            "burn: {id: spend, min_balance: '5.25'}\n"
            "tiers: {id: t, measure: purchases, window: calendar_quarter, levels: "
            "[{code: a, name: A, threshold: 0}, {code: b, name: B, threshold: 12}]}\n")
    program = parse_program(text)
    assert program.currencies[0].min_available == -1050
    assert program.burn is not None and program.burn.min_balance == 525
    assert program.tiers is not None
    assert program.tiers.window == Window(WindowKind.CALENDAR_QUARTER)
    assert [t.threshold for t in program.tiers.levels] == [0, 12]
    document = program_to_document(program)
    assert document["tiers"]["levels"][1]["threshold"] == 12
    assert document["earn"][0]["expiry"] == "never"
    assert parse_program(yaml.safe_dump(document)) == program


def test_defaults_fill_a_minimal_document() -> None:
    program = parse_program("name: Minimal\neffective_from: '2026-01-01T00:00:00Z'\n"
                            "point_currencies: [{code: points, name: Points}]\n"
                            "earn: [{id: base, percent: '5'}]\n")
    (cur,) = program.currencies
    assert (cur.scale, cur.unit_value_kopecks, cur.earn_rounding, cur.min_available) == (
        0, 100, Rounding.FLOOR, 0)
    (earn,) = program.earn
    assert (earn.currency, earn.pending_days, earn.expiry) == ("points", 0, Expiry())
    assert (program.money_currency, program.returns_policy) == (
        "RUB", SpentEarnedPolicy.NEGATIVE_BALANCE)


def test_json_and_yaml_give_the_same_program_with_or_without_a_content_type() -> None:
    as_json = json.dumps(full(), default=str)
    expected = parse_program(FULL)
    assert parse_program(as_json) == expected
    assert parse_program(as_json, content_type="application/json; charset=utf-8") == expected
    assert parse_program(FULL, content_type="application/yaml") == expected
    assert parse_program("\ufeff" + FULL) == expected


def test_a_yaml_flow_mapping_that_is_not_json_is_read_as_yaml() -> None:
    text = ("{name: Flow, effective_from: 2026-01-01T00:00:00+03:00, "
            "point_currencies: [{code: points, name: Points}]}")
    assert parse_program(text).name == "Flow"


def test_an_unsupported_content_type_is_refused_with_415() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_program(FULL, content_type="application/xml")
    assert (caught.value.code, caught.value.status) == ("unsupported_media_type", 415)


# --- errors at their precise location -------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


def _delete(path: tuple[Any, ...]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return mutate


def _duplicate_currency(doc: dict[str, Any]) -> None:
    doc["point_currencies"][1]["code"] = "points"
    doc["earn"][1]["currency"] = "points"


def _purchases_with_a_money_threshold(doc: dict[str, Any]) -> None:
    doc["tiers"]["measure"] = "purchases"
    doc["tiers"]["levels"][1]["threshold"] = 5
    doc["tiers"]["levels"][2]["threshold"] = 10


def _many_rules(doc: dict[str, Any]) -> None:
    doc["earn"] = [{"id": f"r{i}", "percent": "1", "multipliers": [{"id": f"m{i}", "factor": "2"}]}
                   for i in range(101)]
    del doc["burn"], doc["discount"], doc["tiers"]


BAD: list[tuple[str, Mutation, list[Any], str]] = [
    ("ladder percent not a number", _set(("earn", 0, "ladder", 1, "percent"), "ten"),
     ["earn", 0, "ladder", 1, "percent"], "decimal string"),
    ("ladder percent a float", _set(("earn", 0, "ladder", 1, "percent"), 2.5),
     ["earn", 0, "ladder", 1, "percent"], "floats are inexact"),
    ("ladder steps not ascending", _set(("earn", 0, "ladder", 1, "from"), "0.00"),
     ["earn", 0, "ladder", 1, "from"], "steps must ascend"),
    ("earn percent above 100", _set(("earn", 1, "percent"), "101"),
     ["earn", 1, "percent"], "between 0 and 100"),
    ("both percent and ladder", _set(("earn", 0, "percent"), "5"),
     ["earn", 0, "ladder"], "either percent or ladder"),
    ("neither percent nor ladder", _delete(("earn", 1, "percent")),
     ["earn", 1], "one of percent or ladder"),
    ("unknown earn currency", _set(("earn", 1, "currency"), "gems"),
     ["earn", 1, "currency"], "unknown currency 'gems'"),
    ("unknown burn currency", _set(("burn", "currency"), "gems"),
     ["burn", "currency"], "unknown currency"),
    ("duplicate rule id across sections", _set(("burn", "id"), "base"),
     ["burn", "id"], "duplicate rule id 'base' (already used at earn.0.id)"),
    ("duplicate multiplier id", _set(("earn", 0, "multipliers", 1, "id"), "stars"),
     ["earn", 1, "id"], "duplicate rule id 'stars'"),
    ("hour out of range", _set(("earn", 0, "multipliers", 0, "when", "hours", "to"), 25),
     ["earn", 0, "multipliers", 0, "when", "hours", "to"], "less than or equal to 24"),
    ("hours not increasing", _set(("earn", 0, "multipliers", 0, "when", "hours", "from"), 12),
     ["earn", 0, "multipliers", 0, "when", "hours", "to"], "must be after from (12)"),
    ("multiplier factor zero", _set(("earn", 0, "multipliers", 0, "factor"), "0"),
     ["earn", 0, "multipliers", 0, "factor"], "greater than 0"),
    ("multiplier factor negative", _set(("earn", 0, "multipliers", 1, "factor"), "-1"),
     ["earn", 0, "multipliers", 1, "factor"], "greater than 0"),
    ("unknown channel", _set(("earn", 0, "multipliers", 0, "when", "channels"), ["fax"]),
     ["earn", 0, "multipliers", 0, "when", "channels", 0], "'offline', 'online' or 'app'"),
    ("weekday 8", _set(("earn", 0, "multipliers", 0, "when", "weekdays"), [1, 8]),
     ["earn", 0, "multipliers", 0, "when", "weekdays", 1], "less than or equal to 7"),
    ("duplicate weekday", _set(("earn", 0, "multipliers", 0, "when", "weekdays"), [6, 6]),
     ["earn", 0, "multipliers", 0, "when", "weekdays", 1], "duplicate value 6"),
    ("max share above 100", _set(("burn", "max_share_percent"), "150"),
     ["burn", "max_share_percent"], "between 0 and 100"),
    ("max share negative", _set(("burn", "max_share_percent"), "-1"),
     ["burn", "max_share_percent"], "between 0 and 100"),
    ("fraction of a kopeck", _set(("burn", "min_cash"), "1.005"),
     ["burn", "min_cash"], "fractions of a kopeck"),
    ("burn min balance fraction on a whole-point currency", _set(("burn", "min_balance"), "1.5"),
     ["burn", "min_balance"], "more than 0 decimal places"),
    ("unknown field", _set(("burn", "max_share"), "30"),
     ["burn", "max_share"], "Extra inputs are not permitted"),
    ("missing name", _delete(("name",)), ["name"], "Field required"),
    ("naive effective date", _set(("effective_from",), "2026-01-01T00:00:00"),
     ["effective_from"], "with an offset"),
    ("expiry unknown word", _set(("earn", 0, "expiry"), "sometimes"),
     ["earn", 0, "expiry"], 'must be "never"'),
    ("expiry two kinds", _set(("earn", 0, "expiry"), {"after_days": 1, "end_of_year": 1}),
     ["earn", 0, "expiry"], "exactly one"),
    ("expiry zero days", _set(("earn", 0, "expiry"), {"after_days": 0}),
     ["earn", 0, "expiry", "after_days"], "greater than or equal to 1"),
    ("pending days negative", _set(("earn", 0, "pending_days"), -1),
     ["earn", 0, "pending_days"], "greater than or equal to 0"),
    ("pending days as text", _set(("earn", 0, "pending_days"), "14"),
     ["earn", 0, "pending_days"], "valid integer"),
    ("duplicate currency code", _duplicate_currency,
     ["point_currencies", 1, "code"], "duplicate currency code"),
    ("positive currency floor", _set(("point_currencies", 0, "min_balance"), 5),
     ["point_currencies", 0, "min_balance"], "0 or negative"),
    ("scale out of range", _set(("point_currencies", 1, "scale"), 5),
     ["point_currencies", 1, "scale"], "less than or equal to 4"),
    ("unknown rounding", _set(("point_currencies", 0, "rounding"), "down"),
     ["point_currencies", 0, "rounding"], "'floor'"),
    ("no point currency", _set(("point_currencies",), []),
     ["point_currencies"], "at least 1 item"),
    ("earning a currency without value", _set(("point_currencies", 1, "value"), "0"),
     ["earn", 1, "currency"], "no money value"),
    ("tier thresholds not ascending", _set(("tiers", "levels", 2, "threshold"), "5000.00"),
     ["tiers", "levels", 2, "threshold"], "thresholds must ascend"),
    ("first tier threshold not zero", _set(("tiers", "levels", 0, "threshold"), "1.00"),
     ["tiers", "levels", 0, "threshold"], "must be 0"),
    ("money threshold for purchases", _purchases_with_a_money_threshold,
     ["tiers", "levels", 0, "threshold"], "integer for measure purchases"),
    ("duplicate tier code", _set(("tiers", "levels", 1, "code"), "base"),
     ["tiers", "levels", 1, "code"], "duplicate tier code"),
    ("unknown entry tier", _set(("tiers", "entry_purchase", "tier"), "diamond"),
     ["tiers", "entry_purchase", "tier"], "unknown tier 'diamond'"),
    ("unknown window", _set(("tiers", "window"), "weekly"),
     ["tiers", "window"], "'calendar_year'"),
    ("rolling window of zero days", _set(("tiers", "window"), {"rolling_days": 0}),
     ["tiers", "window", "rolling_days"], "greater than or equal to 1"),
    ("window of a wrong type", _set(("tiers", "window"), 365),
     ["tiers", "window"], "must be calendar_year"),
    ("unknown returns policy", _set(("returns", "spent_earned_points"), "forgive"),
     ["returns", "spent_earned_points"], "'negative_balance'"),
    ("boolean as a percent", _set(("discount", "ladder", 0, "percent"), True),
     ["discount", "ladder", 0, "percent"], "decimal string"),
    ("bad rule id", _set(("discount", "id"), "no spaces allowed"),
     ["discount", "id"], "letters, digits"),
    ("control character in a name", _set(("name",), "Bonus\x00"),
     ["name"], "control characters"),
    ("too many rules", _many_rules, ["earn"], "too many rules: 202 > 200"),
]


@pytest.mark.parametrize(("mutate", "loc", "msg"), [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_a_bad_document_is_refused_at_the_precise_location(
        mutate: Mutation, loc: list[Any], msg: str) -> None:
    doc = full()
    mutate(doc)
    errors = errors_of(yaml.safe_dump(doc))
    assert [e["loc"] for e in errors] == [loc], errors
    assert msg in errors[0]["msg"]


@pytest.mark.parametrize(("mutate", "loc", "msg"), [case[1:] for case in BAD[:12]],
                         ids=[case[0] for case in BAD[:12]])
def test_json_documents_get_the_same_locations(mutate: Mutation, loc: list[Any], msg: str) -> None:
    doc = copy.deepcopy(full())
    mutate(doc)
    errors = errors_of(json.dumps(doc, default=str), content_type="application/json")
    assert [e["loc"] for e in errors] == [loc]
    assert "line" not in errors[0]


def test_all_problems_are_reported_together_with_their_yaml_lines() -> None:
    text = FULL.replace('{from: "3000.00", percent: "10"}', '{from: "3000.00", percent: "x"}')
    text = text.replace('max_share_percent: "30"', 'max_share_percent: "130"')
    errors = errors_of(text)
    lines = FULL.splitlines()
    assert errors == [
        {"loc": ["earn", 0, "ladder", 1, "percent"], "msg": errors[0]["msg"],
         "line": next(i for i, s in enumerate(lines, 1) if '"3000.00"' in s)},
        {"loc": ["burn", "max_share_percent"], "msg": "must be between 0 and 100",
         "line": next(i for i, s in enumerate(lines, 1) if "max_share_percent" in s)},
    ]


def test_the_detail_names_the_first_problem_and_counts_the_rest() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_program(FULL.replace('factor: "2"', 'factor: "0"').replace("scale: 2", "scale: 9"))
    assert caught.value.detail == ("invalid program document: point_currencies.1.scale: "
                                   "Input should be less than or equal to 4 (and 1 more)")


# --- text-level errors ----------------------------------------------------------------------

def test_a_yaml_syntax_error_names_its_line_and_column() -> None:
    (error,) = errors_of("name: x\nearn: [\n  {id: a\n")
    assert error["loc"] == []
    assert error["msg"].startswith("YAML syntax error at line 4, column 1")


def test_a_duplicate_yaml_key_is_refused_with_its_line() -> None:
    (error,) = errors_of(FULL.replace("pending_days: 14", "pending_days: 14\n    pending_days: 7"))
    line = FULL.splitlines().index("    pending_days: 14") + 2
    assert error["msg"] == f"YAML syntax error at line {line}, column 5: found duplicate key " \
                           "'pending_days'"


def test_json_errors_name_their_line_and_duplicate_keys_are_refused() -> None:
    (error,) = errors_of('{\n  "name": "x",\n  oops\n}', content_type="application/json")
    assert error["msg"].startswith("JSON syntax error at line 3, column 3")
    (error,) = errors_of('{"name": "a", "name": "b"}', content_type="application/json")
    assert error["msg"] == "JSON error: duplicate key 'name'"


def test_a_document_over_256_kib_is_refused_before_parsing() -> None:
    text = FULL + "#" * MAX_DOCUMENT_BYTES
    (error,) = errors_of(text)
    assert (error["loc"], error["msg"]) == (
        [], f"document too large: {len(text)} bytes > {MAX_DOCUMENT_BYTES}")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert errors_of("- a\n- b\n")[0]["msg"] == "the document must be a mapping of program fields"
    assert errors_of("")[0]["msg"] == "the document must be a mapping of program fields"


def test_yaml_aliases_cannot_expand_the_document_without_bound() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    (error,) = errors_of("\n".join(lines) + "\n")
    assert error["msg"] == "the document expands to more than 50000 values"


def test_deep_nesting_is_refused() -> None:
    (error,) = errors_of("name: " + "[" * 40 + "]" * 40 + "\n")
    assert error["msg"] == "the document is nested deeper than 32 levels"
    (error,) = errors_of("name: " + "[" * 5000 + "]" * 5000)
    assert "nested" in error["msg"]


def test_unsafe_yaml_tags_are_refused() -> None:
    (error,) = errors_of("name: !!python/object/apply:os.system ['true']\n")
    assert error["msg"].startswith("YAML syntax error at line 1")


# --- the rewards section (SPEC R6) -----------------------------------------------------------

REWARDS_DOC = FULL + """\
rewards:
  time_zone: Asia/Vladivostok
  rules:
    - {id: welcome, name: Welcome, trigger: enrolment, points: 100,
       pending_until: phone_verified, expiry: never}
    - {id: birthday, name: Birthday, trigger: birthday, currency: stars, points: "5.25",
       window: {days_before: 3, days_after: 10}, expiry: {after_days: 30}}
    - {id: referral, name: Friend, trigger: referral, referrer_points: 300, friend_points: 0}
    - {id: review, name: Review, trigger: review, points: 50, period: calendar_month}
    - {id: app, name: First app order, trigger: first_app_order, points: 200,
       expiry: {end_of_month: 1}}
    - {id: recycling, name: Recycling, trigger: custom, event: recycling, points: 150,
       period: calendar_year}
"""


def rewards_doc() -> dict[str, Any]:
    return yaml.safe_load(REWARDS_DOC)


def test_the_bonus_example_has_every_one_time_reward() -> None:
    from kopilka.domain.rewards import Period, Trigger

    rewards = parse_program(read_example("bonus.yaml")).rewards
    assert rewards is not None and rewards.time_zone == "Europe/Moscow"
    by_id = {r.rule_id: r for r in rewards.rules}
    assert {(r.rule_id, r.trigger, r.points) for r in rewards.rules} == {
        ("welcome", Trigger.ENROLMENT, 100), ("birthday", Trigger.BIRTHDAY, 500),
        ("referral", Trigger.REFERRAL, 300), ("review", Trigger.REVIEW, 50),
        ("subscription", Trigger.SUBSCRIPTION, 50), ("profile", Trigger.PROFILE_COMPLETED, 100),
        ("first-app-order", Trigger.FIRST_APP_ORDER, 200), ("recycling", Trigger.CUSTOM, 150)}
    assert by_id["welcome"].pending_until == "phone_verified"
    birthday = by_id["birthday"]
    assert (birthday.days_before, birthday.days_after, birthday.expiry) == (
        7, 7, Expiry(ExpiryKind.AFTER_DAYS, 30))
    assert by_id["referral"].referrer_points == 300
    assert (by_id["recycling"].event_type, by_id["recycling"].period) == ("recycling", Period.ONCE)
    assert rewards.event_types() == {"review", "subscription", "profile_completed", "recycling"}


def test_the_rewards_section_maps_to_the_domain_and_round_trips() -> None:
    from kopilka.domain.rewards import Period

    program = parse_program(REWARDS_DOC)
    rewards = program.rewards
    assert rewards is not None and rewards.time_zone == "Asia/Vladivostok"
    welcome, birthday, referral, review, app, recycling = rewards.rules
    assert (welcome.points, welcome.currency, welcome.expiry) == (100, "points", Expiry())
    assert (birthday.currency, birthday.points) == ("stars", 525)  # minor units of scale 2
    assert (birthday.days_before, birthday.days_after) == (3, 10)
    assert (referral.points, referral.referrer_points) == (0, 300)
    assert review.period is Period.CALENDAR_MONTH
    assert app.expiry == Expiry(ExpiryKind.END_OF_MONTH, 1)
    assert (recycling.event, recycling.period) == ("recycling", Period.CALENDAR_YEAR)
    document = program_to_document(program)
    assert parse_program(yaml.safe_dump(document)) == program
    assert parse_program(json.dumps(document), content_type="application/json") == program
    assert program_to_document(parse_program(yaml.safe_dump(document))) == document
    assert document["rewards"]["rules"][1]["points"] == "5.25"


def test_an_empty_rewards_section_is_kept_and_a_missing_one_is_none() -> None:
    doc = full()
    doc["rewards"] = {}
    program = parse_program(yaml.safe_dump(doc))
    assert program.rewards is not None and program.rewards.rules == ()
    assert program.rewards.time_zone == "Europe/Moscow"
    assert parse_program(yaml.safe_dump(program_to_document(program))) == program
    assert parse_program(FULL).rewards is None
    assert "rewards" not in program_to_document(parse_program(FULL))


REWARD_BAD: list[tuple[str, Mutation, list[Any], str]] = [
    ("unknown trigger", _set(("rewards", "rules", 0, "trigger"), "wedding"),
     ["rewards", "rules", 0, "trigger"], "'enrolment'"),
    ("no points", _delete(("rewards", "rules", 0, "points")),
     ["rewards", "rules", 0], "points is required"),
    ("zero points", _set(("rewards", "rules", 3, "points"), 0),
     ["rewards", "rules", 3, "points"], "greater than 0"),
    ("points as a float", _set(("rewards", "rules", 3, "points"), 2.5),
     ["rewards", "rules", 3, "points"], "must be an integer"),
    ("too many decimals for the currency", _set(("rewards", "rules", 1, "points"), "5.255"),
     ["rewards", "rules", 1, "points"], "more than 2 decimal places"),
    ("points on a referral", _set(("rewards", "rules", 2, "points"), 10),
     ["rewards", "rules", 2, "points"], "not allowed for trigger referral"),
    ("a referral paying nobody", _set(("rewards", "rules", 2, "referrer_points"), 0),
     ["rewards", "rules", 2], "give friend_points or referrer_points"),
    ("referrer points elsewhere", _set(("rewards", "rules", 3, "referrer_points"), 5),
     ["rewards", "rules", 3, "referrer_points"], "not allowed for trigger review"),
    ("unknown currency", _set(("rewards", "rules", 0, "currency"), "gems"),
     ["rewards", "rules", 0, "currency"], "unknown currency 'gems'"),
    ("custom without event", _delete(("rewards", "rules", 5, "event")),
     ["rewards", "rules", 5], "event is required"),
    ("custom named as a built-in", _set(("rewards", "rules", 5, "event"), "review"),
     ["rewards", "rules", 5, "event"], "built-in trigger"),
    ("event on a built-in", _set(("rewards", "rules", 3, "event"), "x"),
     ["rewards", "rules", 3, "event"], "only for trigger custom"),
    ("window off a birthday", _set(("rewards", "rules", 3, "window"), {"days_after": 1}),
     ["rewards", "rules", 3, "window"], "only for trigger birthday"),
    ("window too wide", _set(("rewards", "rules", 1, "window", "days_after"), 91),
     ["rewards", "rules", 1, "window", "days_after"], "less than or equal to 90"),
    ("period on a birthday", _set(("rewards", "rules", 1, "period"), "calendar_year"),
     ["rewards", "rules", 1, "period"], "only for posted events"),
    ("unknown period", _set(("rewards", "rules", 3, "period"), "weekly"),
     ["rewards", "rules", 3, "period"], "'once'"),
    ("pending until something unknown", _set(("rewards", "rules", 0, "pending_until"), "x"),
     ["rewards", "rules", 0, "pending_until"], "'phone_verified'"),
    ("expiry two kinds", _set(("rewards", "rules", 4, "expiry"),
                              {"after_days": 1, "end_of_year": 1}),
     ["rewards", "rules", 4, "expiry"], "exactly one"),
    ("unknown time zone", _set(("rewards", "time_zone"), "Mars/Olympus"),
     ["rewards", "time_zone"], "IANA time zone"),
    ("duplicate id with an earn rule", _set(("rewards", "rules", 3, "id"), "base"),
     ["rewards", "rules", 3, "id"], "duplicate rule id 'base' (already used at earn.0.id)"),
    ("duplicate id within rewards", _set(("rewards", "rules", 4, "id"), "review"),
     ["rewards", "rules", 4, "id"], "duplicate rule id 'review'"),
    ("unknown field", _set(("rewards", "rules", 0, "amount"), 1),
     ["rewards", "rules", 0, "amount"], "Extra inputs are not permitted"),
    ("missing name", _delete(("rewards", "rules", 0, "name")),
     ["rewards", "rules", 0, "name"], "Field required"),
]


@pytest.mark.parametrize(("mutate", "loc", "msg"), [case[1:] for case in REWARD_BAD],
                         ids=[case[0] for case in REWARD_BAD])
def test_a_bad_rewards_section_is_refused_at_the_precise_location(
        mutate: Mutation, loc: list[Any], msg: str) -> None:
    doc = rewards_doc()
    mutate(doc)
    errors = errors_of(yaml.safe_dump(doc))
    assert [e["loc"] for e in errors] == [loc], errors
    assert msg in errors[0]["msg"]
    assert errors[0]["line"] >= 1
