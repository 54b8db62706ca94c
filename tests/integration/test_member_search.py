"""Member search for the support desk (`SqlMembers.search` and `app.member_search`), on both
databases: phone in any format or a part of it, card numbers (blocked ones too), names in any
case (Cyrillic included, which SQLite's LIKE does not fold), bounded results."""

from __future__ import annotations

import pytest

from kopilka.app import member_search
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.domain.errors import DomainError


def enrol(k: Kopilka, phone: str, first: str | None, last: str | None) -> str:
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True},
                             first_name=first, last_name=last)).body["member_id"]


def ids(k: Kopilka, text: str) -> list[str]:
    return [m["member_id"] for m in k.search_members(text)["items"]]


@pytest.fixture
def people(kopilka: Kopilka) -> dict[str, str]:
    return {"anna": enrol(kopilka, "+79161234567", "Анна", "Иванова"),
            "ivan": enrol(kopilka, "+79169990011", "Иван", "Смирнов"),
            "john": enrol(kopilka, "+79035550000", "John", "O'Neil_Smith"),
            "nameless": enrol(kopilka, "+79035551111", None, None)}


def test_a_whole_phone_in_any_format_is_an_exact_match(kopilka: Kopilka,
                                                       people: dict[str, str]) -> None:
    for typed in ("+79161234567", "8 (916) 123-45-67", "8-916-123-45-67", "+7 916 123 4567"):
        found = kopilka.search_members(typed)
        assert found["kind"] == "phone" and [m["member_id"] for m in found["items"]] == \
            [people["anna"]], typed


def test_a_part_of_a_phone_matches_anywhere_in_it(kopilka: Kopilka,
                                                  people: dict[str, str]) -> None:
    assert ids(kopilka, "4567") == [people["anna"]]
    assert sorted(ids(kopilka, "0355 5")) == sorted([people["john"], people["nameless"]])


def test_too_few_digits_are_refused(kopilka: Kopilka, people: dict[str, str]) -> None:
    with pytest.raises(DomainError) as refused:
        kopilka.search_members("916")
    assert refused.value.code == "search_too_short"
    with pytest.raises(DomainError) as empty:
        kopilka.search_members("   ")
    assert empty.value.code == "empty_search"


def test_a_card_number_finds_its_member_even_blocked(kopilka: Kopilka,
                                                     people: dict[str, str]) -> None:
    old = kopilka.member(people["ivan"])["cards"][0]["number"]
    kopilka.issue_card(people["ivan"], replace=old)
    found = kopilka.search_members(old)
    assert found["kind"] == "card" and [m["member_id"] for m in found["items"]] == \
        [people["ivan"]]
    assert [c["status"] for c in found["items"][0]["cards"]] == ["blocked", "active"]
    assert ids(kopilka, old[:12]) == [people["ivan"]]  # the start of a number


def test_names_match_in_any_case_and_every_word_must_match(kopilka: Kopilka,
                                                           people: dict[str, str]) -> None:
    anna, ivan = people["anna"], people["ivan"]
    assert ids(kopilka, "иванова") == [anna]
    assert ids(kopilka, "ИВАНОВА") == [anna]
    assert sorted(ids(kopilka, "иван")) == sorted([anna, ivan])  # Иван and Иванова
    assert ids(kopilka, "иван смирн") == [ivan]
    assert ids(kopilka, "анна смирнов") == []
    assert ids(kopilka, "JOHN") == [people["john"]]
    assert ids(kopilka, "'neil_") == [people["john"]]


def test_like_wildcards_are_plain_characters(kopilka: Kopilka,
                                             people: dict[str, str]) -> None:
    assert ids(kopilka, "%") == []
    assert ids(kopilka, "a_n") == []
    assert ids(kopilka, "l_S") == [people["john"]]


def test_results_carry_the_balance_and_are_bounded(kopilka: Kopilka,
                                                   people: dict[str, str]) -> None:
    kopilka.earn(people["anna"], 700)
    row = kopilka.search_members("Иванова")["items"][0]
    assert row["balance"] == {"available": 700, "pending": 0, "currency": "points"}
    assert (row["first_name"], row["last_name"], row["phone"]) == \
        ("Анна", "Иванова", "+79161234567")
    for n in range(6):
        enrol(kopilka, f"+7903777{n:04d}", "Пётр", f"Кузнецов{n}")
    found = kopilka.search_members("кузнецов", limit=5)
    assert len(found["items"]) == 5 and found["more"] is True
    assert [m["last_name"] for m in found["items"]] == [f"Кузнецов{n}" for n in range(5)]
    assert kopilka.search_members("кузнецов", limit=6)["more"] is False


def test_case_variants_cover_the_ways_a_name_is_stored() -> None:
    assert member_search.case_variants("иВАН") == ("иВАН", "иван", "ИВАН", "Иван")
    assert member_search.criteria("Анна  Иванова").words == (
        ("Анна", "анна", "АННА"), ("Иванова", "иванова", "ИВАНОВА"))
