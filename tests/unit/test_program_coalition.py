"""The `coalition:` section of the program document: mapping, round trip, errors at their
precise locations, and the program as one brand's stores apply it (P6)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import yaml

from kopilka.app.program_coalition import brand_program
from kopilka.app.program_document import parse_program, program_to_document
from kopilka.domain.errors import InvalidInput
from kopilka.domain.program import (
    Coalition,
    CoalitionPartner,
    Goods,
    PairRate,
    for_partner,
    partner_rule_id,
)

DOCUMENT = """\
name: Coalition
effective_from: 2026-01-01T00:00:00+03:00
point_currencies:
  - {code: points, name: Bonus points, value: "1.00"}
  - {code: stars, name: Stars, value: "0.00"}
burn: {id: pay, currency: points}
discount: {id: base, percent: "3", exclude: {categories: [tobacco]}}
coalition:
  default_rate: "0.95"
  rates:
    - {issuer: cafe, redeemer: books, money_per_point: "0.80"}
    - {issuer: books, redeemer: cafe, money_per_point: 1}
  partners:
    - {partner_id: books, money_per_point: "0.9"}
    - {partner_id: cafe, discount_percent: "7.5"}
"""


def test_the_section_maps_to_the_domain_exactly() -> None:
    program = parse_program(DOCUMENT)
    assert program.coalition == Coalition(
        currency="points", default_rate=Decimal("0.95"),
        rates=(PairRate("cafe", "books", Decimal("0.80")),
               PairRate("books", "cafe", Decimal("1"))),
        partners=(CoalitionPartner("books", money_per_point=Decimal("0.9")),
                  CoalitionPartner("cafe", discount_percent=Decimal("7.5"))))


def test_the_section_round_trips_through_yaml_and_json() -> None:
    program = parse_program(DOCUMENT)
    document = program_to_document(program)
    assert document["coalition"] == {
        "currency": "points", "default_rate": "0.95",
        "rates": [{"issuer": "cafe", "redeemer": "books", "money_per_point": "0.80"},
                  {"issuer": "books", "redeemer": "cafe", "money_per_point": "1"}],
        "partners": [{"partner_id": "books", "money_per_point": "0.9"},
                     {"partner_id": "cafe", "discount_percent": "7.5"}]}
    assert parse_program(yaml.safe_dump(document)) == program
    assert parse_program(json.dumps(document), content_type="application/json") == program


def test_a_minimal_section_prices_the_main_currency_at_its_own_value() -> None:
    text = DOCUMENT[:DOCUMENT.index("coalition:")] + "coalition: {}\n"
    program = parse_program(text)
    assert program.coalition == Coalition(currency="points")
    assert program.coalition.rate("a", "b", Decimal("1.00")) == Decimal("1.00")
    assert parse_program(yaml.safe_dump(program_to_document(program))) == program
    without = parse_program(DOCUMENT[:DOCUMENT.index("coalition:")])
    assert without.coalition is None and "coalition" not in program_to_document(without)


def _with(section: dict[str, Any]) -> str:
    data = yaml.safe_load(DOCUMENT)
    data["coalition"] = section
    return yaml.safe_dump(data)


BASE = yaml.safe_load(DOCUMENT)["coalition"]
CASES = [
    ({**BASE, "default_rate": 0.5}, ["coalition", "default_rate"], "floats are inexact"),
    ({**BASE, "default_rate": "-1"}, ["coalition", "default_rate"], "cannot be negative"),
    ({**BASE, "default_rate": "2000000"}, ["coalition", "default_rate"], "at most"),
    ({**BASE, "default_rate": "0.1234567"}, ["coalition", "default_rate"], "6 decimal"),
    ({**BASE, "currency": "rubles"}, ["coalition", "currency"], "unknown currency 'rubles'"),
    ({**BASE, "rates": [{"issuer": "cafe", "redeemer": "cafe", "money_per_point": "1"}]},
     ["coalition", "rates", 0, "redeemer"], "must differ from the issuer"),
    ({**BASE, "rates": [*BASE["rates"], BASE["rates"][0]]},
     ["coalition", "rates", 2, "redeemer"], "duplicate rate for cafe -> books"),
    ({**BASE, "rates": [{"issuer": "cafe", "money_per_point": "1"}]},
     ["coalition", "rates", 0, "redeemer"], "Field required"),
    ({**BASE, "partners": [{"partner_id": "books"}]}, ["coalition", "partners", 0],
     "give money_per_point, discount_percent or both"),
    ({**BASE, "partners": [*BASE["partners"], {"partner_id": "cafe", "money_per_point": "1"}]},
     ["coalition", "partners", 2, "partner_id"], "duplicate partner 'cafe'"),
    ({**BASE, "partners": [{"partner_id": "-bad", "money_per_point": "1"}]},
     ["coalition", "partners", 0, "partner_id"], "starting with a letter or digit"),
    ({**BASE, "partners": [{"partner_id": "cafe", "discount_percent": "101"}]},
     ["coalition", "partners", 0, "discount_percent"], "between 0 and 100"),
    ({**BASE, "rate": "1"}, ["coalition", "rate"], "Extra inputs"),
]


@pytest.mark.parametrize(("section", "loc", "msg"), CASES)
def test_a_bad_section_is_refused_at_the_precise_location(section: dict, loc: list,
                                                          msg: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_program(_with(section))
    errors = caught.value.extra["errors"]
    assert any(e["loc"] == loc and msg in e["msg"] for e in errors), errors
    assert all("line" in e for e in errors)


def test_a_brands_discount_replaces_the_programs_percent_at_its_stores() -> None:
    program = parse_program(DOCUMENT)
    cafe = for_partner(program, "cafe")
    assert cafe.discount.rule_id == partner_rule_id("cafe") == "coalition:cafe"
    assert cafe.discount.ladder.percent_for(10**9) == Decimal("7.5")
    assert cafe.discount.excluded == Goods(categories=("tobacco",))  # the program's exclusions
    assert (cafe.earn, cafe.burn, cafe.tiers, cafe.version) == (
        program.earn, program.burn, program.tiers, program.version)
    assert for_partner(program, "books") is program  # a rate only: the program as it is
    assert for_partner(program, None) is program
    assert brand_program(program, "cafe") is brand_program(program, "cafe")  # made once
