"""Gamification rules (SPEC P7), pure: challenge progress and period keys, draw determinism
and odds, the prize capped by the budget; the engagement section of the program document
(checks with precise locations, round trip)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from kopilka.app.program_document import parse_program
from kopilka.app.program_render import program_to_document
from kopilka.domain import engagement as E
from kopilka.domain.errors import InvalidInput

MSK = timezone(timedelta(hours=3))
PROGRAM = (Path(__file__).resolve().parents[2] / "examples" / "engagement.yaml").read_text()


def challenge(measure: str, target: int, category: str | None = None) -> E.Challenge:
    return E.Challenge("c", "C", E.ChallengeMeasure(measure), target, "points",
                       category=category)


LINES = [E.PaidLine("TV-1", "electronics/tv", 600_000), E.PaidLine("MILK", "food/dairy", 10_000),
         E.PaidLine("CABLE", "electronics", 5_000), E.PaidLine("BAG", None, -100)]


def test_contributions_by_measure() -> None:
    assert E.contribution(challenge("purchases", 5), LINES) == 1
    assert E.contribution(challenge("spend", 1), LINES) == 615_000
    assert E.contribution(challenge("category_spend", 1, "electronics"), LINES) == 605_000
    assert E.contribution(challenge("category_spend", 1, "electronics/tv"), LINES) == 600_000
    assert E.contribution(challenge("category_spend", 1, "elec"), LINES) == 0  # not a prefix
    assert E.reached(challenge("purchases", 5), 5) and not E.reached(challenge("purchases", 5), 4)


def test_period_keys() -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=MSK)
    assert E.period_key(E.ChallengePeriod.MONTH, at) == "2026-03"
    assert E.period_key(E.ChallengePeriod.MONTH, at + timedelta(hours=1)) == "2026-04"
    assert E.period_key(E.ChallengePeriod.EVER, at) == "ever"


def draw(odds: str = "5", budget: int = 1_000, min_receipt: int = 0) -> E.Draw:
    return E.Draw("lucky", "Lucky", Decimal(odds), 200, budget, "points", min_receipt)


def test_draws_are_deterministic_and_win_at_their_odds() -> None:
    d = draw("5")
    first = [E.wins(d, "msk-001", f"r{i}", 100_000) for i in range(10_000)]
    assert first == [E.wins(d, "msk-001", f"r{i}", 100_000) for i in range(10_000)]
    assert 0.04 <= sum(first) / 10_000 <= 0.06
    assert sum(E.wins(draw("0.5"), "s", f"r{i}", 1) for i in range(10_000)) in range(25, 80)
    assert all(E.wins(draw("100"), "s", f"r{i}", 1) for i in range(1_000))
    other = [E.wins(E.Draw("other", "O", Decimal(5), 1, 1, "points"), "msk-001", f"r{i}",
                    100_000) for i in range(10_000)]
    assert other != first  # the draw id is part of the hash


def test_minimum_receipt_and_budget_cap() -> None:
    d = draw("100", budget=500, min_receipt=50_000)
    assert not E.wins(d, "s", "r", 49_999) and E.wins(d, "s", "r", 50_000)
    assert not E.wins(draw("100"), "s", "r", 0)  # nothing paid, nothing drawn
    assert [E.prize(d, spent) for spent in (0, 200, 400, 500, 600)] == [200, 200, 100, 0, 0]


def test_the_section_round_trips() -> None:
    program = parse_program(PROGRAM)
    eng = program.engagement
    assert eng is not None
    assert [c.target for c in eng.challenges] == [5, 1_000_000]
    assert eng.draws[0].min_receipt_kopecks == 50_000 and eng.offer("pan").stickers == 20
    assert parse_program(json.dumps(program_to_document(program))) == program
    assert parse_program(PROGRAM.split("engagement:")[0]).engagement is None


@pytest.mark.parametrize(("old", "new", "loc"), [
    ("target: 5,", "target: \"5.00\",", ["engagement", "challenges", 0, "target"]),
    ("measure: category_spend, category: electronics,", "measure: category_spend,",
     ["engagement", "challenges", 1]),
    ("measure: purchases,", "measure: purchases, category: x,",
     ["engagement", "challenges", 0, "category"]),
    ("measure: purchases,", "measure: visits,", ["engagement", "challenges", 0, "measure"]),
    ("target: \"10000.00\"", "target: \"0.00\"", ["engagement", "challenges", 1, "target"]),
    ("reward_points: 100}", "reward_points: 100, currency: stars}",
     ["engagement", "challenges", 0, "currency"]),
    ("odds_percent: \"5\"", "odds_percent: \"0\"", ["engagement", "draws", 0, "odds_percent"]),
    ("odds_percent: \"5\"", "odds_percent: \"101\"", ["engagement", "draws", 0, "odds_percent"]),
    ("prize_points: 200", "prize_points: 0", ["engagement", "draws", 0, "prize_points"]),
    ("budget_points: 10000", "budget_points: -1", ["engagement", "draws", 0, "budget_points"]),
    ("id: lucky", "id: gadget-fan", ["engagement", "draws", 0, "id"]),
    ("sticker_currency: stickers", "sticker_currency: stars",
     ["engagement", "sticker_currency"]),
    ("  sticker_currency: stickers\n", "", ["engagement"]),
    ("stickers: 20", "stickers: \"2.5\"", ["engagement", "sticker_offers", 0, "stickers"]),
])
def test_refusals_point_at_the_value(old: str, new: str, loc: list) -> None:
    assert PROGRAM.count(old) == 1
    with pytest.raises(InvalidInput) as err:
        parse_program(PROGRAM.replace(old, new))
    assert loc in [e["loc"] for e in err.value.extra["errors"]], err.value.extra["errors"]


def test_the_example_round_trips_and_earns_a_sticker_per_500() -> None:
    import yaml

    from kopilka.domain.evaluation import Line, MemberState, Receipt, evaluate

    text = (Path(__file__).resolve().parents[2] / "examples" / "engagement.yaml").read_text()
    program = parse_program(text)
    assert parse_program(yaml.safe_dump(program_to_document(program))) == program
    for price, stickers in ((49_999, 0), (50_000, 1), (149_999, 2), (1_000_000, 20)):
        result = evaluate(program, Receipt((Line("1", "X", price, Decimal(1)),),
                                           datetime(2026, 3, 1, tzinfo=MSK)), MemberState())
        got = sum(a.points for a in result.accruals if a.currency == "stickers")
        assert got == stickers, price
