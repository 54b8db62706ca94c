"""Finding a member at the support desk from whatever the customer tells the operator.

One search box takes a phone number in any format ("8 (916) 123-45-67"), a part of it (the
last digits), a card number, or a name ("Иванова", "анна ив"). What was typed decides how it
is searched; the results are bounded, and the page says when there were more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kopilka.app.identity import PHONE_CHARACTERS, normalise_phone
from kopilka.app.ports import UnitOfWork
from kopilka.domain.cards import is_valid_card_number
from kopilka.domain.errors import InvalidInput

MAX_RESULTS = 50
MAX_QUERY_LENGTH = 100
MAX_WORDS = 4
MIN_DIGITS = 4  # fewer digits than this would match most of the phone book


@dataclass(frozen=True, slots=True)
class Criteria:
    """How a query is searched: exactly one of the fields is set."""

    kind: str  # phone, digits, card, name
    phone: str | None = None
    digits: str | None = None
    card: str | None = None
    words: tuple[tuple[str, ...], ...] = ()

    def as_arguments(self) -> dict[str, Any]:
        return {"phone": self.phone, "digits": self.digits, "card": self.card,
                "words": self.words}


def case_variants(word: str) -> tuple[str, ...]:
    """The spellings a stored name may have: SQLite folds the case of ASCII letters only, so
    a Cyrillic name is looked for as typed, lower case, upper case and capitalised."""
    return tuple(dict.fromkeys((word, word.lower(), word.upper(), word.capitalize())))


def criteria(text: str) -> Criteria:
    """What to search for: a card number, a whole phone number, a part of one, or names."""
    query = " ".join(text.split())
    if not query:
        raise InvalidInput("type a phone number, a card number or a name",
                           code="empty_search")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"a search is at most {MAX_QUERY_LENGTH} characters",
                           code="search_too_long")
    if PHONE_CHARACTERS.fullmatch(query):
        digits = "".join(ch for ch in query if ch.isdigit())
        if is_valid_card_number(digits):
            return Criteria("card", card=digits)
        try:
            return Criteria("phone", phone=normalise_phone(query))
        except InvalidInput:
            pass
        if len(digits) < MIN_DIGITS:
            raise InvalidInput(f"type at least {MIN_DIGITS} digits of the phone or card",
                               code="search_too_short")
        return Criteria("digits", digits=digits)
    words = query.split(" ")[:MAX_WORDS]
    return Criteria("name", words=tuple(case_variants(w) for w in words))


def search(uow: UnitOfWork, text: str, *, currency: str, limit: int = MAX_RESULTS,
           ) -> dict[str, Any]:
    """At most `limit` members matching `text`; `more` says the list was cut short."""
    if not 0 < limit <= MAX_RESULTS:
        raise InvalidInput(f"limit must be 1..{MAX_RESULTS}", code="invalid_limit")
    found = criteria(text)
    rows = uow.members.search(currency=currency, limit=limit + 1, **found.as_arguments())
    return {"query": text.strip(), "kind": found.kind, "items": rows[:limit],
            "more": len(rows) > limit}


