"""Card numbers: 13 digits in the EAN-13 in-store range, the last one a check digit.

EAN-13 is what till scanners already verify, so a mistyped or misread number is refused at the
till before it reaches us. A member may hold several cards; blocking one never touches points.
"""

from __future__ import annotations

from enum import StrEnum

from kopilka.domain.errors import InvalidInput

CARD_PREFIX = "2"  # EAN-13 numbers starting with 2 are reserved for in-store use
CARD_LENGTH = 13
MAX_SERIAL = 10 ** (CARD_LENGTH - 1 - len(CARD_PREFIX)) - 1


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


def ean_check_digit(payload: str) -> str:
    """Check digit for the 12 payload digits: weights 1,3,1,3... from the left."""
    if len(payload) != CARD_LENGTH - 1 or not payload.isdigit() or not payload.isascii():
        raise InvalidInput(f"card payload must be {CARD_LENGTH - 1} digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(payload))
    return str((10 - total % 10) % 10)


def card_number(serial: int, prefix: str = CARD_PREFIX) -> str:
    """The card number for a serial: prefix, zero-padded serial, check digit."""
    width = CARD_LENGTH - 1 - len(prefix)
    if not 0 < serial < 10**width:
        raise InvalidInput(f"card serial must be 1..{10**width - 1}")
    payload = f"{prefix}{serial:0{width}d}"
    return payload + ean_check_digit(payload)


def is_valid_card_number(number: str) -> bool:
    if len(number) != CARD_LENGTH or not number.isdigit() or not number.isascii():
        return False
    return ean_check_digit(number[:-1]) == number[-1]
