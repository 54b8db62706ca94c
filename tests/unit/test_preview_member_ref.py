"""The program preview's member field: a valid card number is a card, anything else a phone,
as the receipt search decides (`receipt_search.member_id_of`)."""

from __future__ import annotations

import pytest

from kopilka.domain.cards import card_number
from kopilka.entrypoints.web.routes.preview_form import member_ref


def test_a_valid_card_number_is_a_card() -> None:
    card = card_number(17)
    assert member_ref(f"  {card} ") == {"card": card}


@pytest.mark.parametrize("typed", ["79001234567", "+7 900 123-45-67", "8 (900) 123 45 67",
                                   "9001234567"])
def test_a_phone_in_any_format_is_a_phone(typed: str) -> None:
    assert member_ref(typed) == {"phone": typed.strip()}


def test_thirteen_digits_failing_the_check_digit_are_not_taken_for_a_card() -> None:
    card = card_number(17)
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert member_ref(wrong) == {"phone": wrong}


def test_an_empty_field_is_no_member() -> None:
    assert member_ref("   ") is None
