"""Point currencies, their money value and explicit rounding.

Amounts of a currency are integers in the currency's smallest unit (`scale` decimal places;
plain points have scale 0). Money is integer kopecks. Nothing here uses floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from kopilka.domain.errors import InvalidInput


class Rounding(StrEnum):
    FLOOR = "floor"
    CEILING = "ceiling"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


_DECIMAL_MODES = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEILING: ROUND_CEILING,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


def round_to_int(value: Decimal, rounding: Rounding | str) -> int:
    """Round an exact decimal to an integer with the named mode."""
    return int(value.to_integral_value(rounding=_DECIMAL_MODES[Rounding(rounding)]))


@dataclass(frozen=True, slots=True)
class PointCurrency:
    """A point currency of the program, e.g. bonus rubles or stars."""

    code: str
    name: str
    scale: int = 0
    unit_value_kopecks: int = 100  # money value of one whole point, in kopecks
    earn_rounding: Rounding = Rounding.FLOOR
    min_available: int = 0  # lowest available balance the policy allows (negative = credit)

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= 4:
            raise InvalidInput(f"currency {self.code}: scale must be 0..4")
        if self.unit_value_kopecks < 0:
            raise InvalidInput(f"currency {self.code}: unit value cannot be negative")
        if self.min_available > 0:
            raise InvalidInput(f"currency {self.code}: min_available cannot be positive")

    def parse(self, text: str | int) -> int:
        """Parse a decimal amount ("12.5") into integer minor units, refusing extra digits."""
        try:
            value = Decimal(str(text))
            minor = value.scaleb(self.scale)
        except ArithmeticError as exc:  # decimal.InvalidOperation, Overflow
            raise InvalidInput(f"{text!r} is not an amount of {self.code}") from exc
        if not value.is_finite():
            raise InvalidInput(f"{text!r} is not an amount of {self.code}")
        if minor != minor.to_integral_value():
            raise InvalidInput(f"{text} has more than {self.scale} decimal places for {self.code}")
        return int(minor)

    def format(self, minor: int) -> str | int:
        """Render minor units: an int for scale 0, a decimal string otherwise."""
        if self.scale == 0:
            return minor
        return str(Decimal(minor).scaleb(-self.scale))

    def money_value_kopecks(self, minor: int, rounding: Rounding | str = Rounding.FLOOR) -> int:
        """Money value of `minor` units of this currency, rounded explicitly."""
        return round_to_int(Decimal(minor * self.unit_value_kopecks).scaleb(-self.scale), rounding)

    def points_for_money(self, kopecks: int, percent: Decimal,
                         rounding: Rounding | str | None = None) -> int:
        """Points earned for `percent` of `kopecks`, in minor units of this currency."""
        if self.unit_value_kopecks == 0:
            raise InvalidInput(f"currency {self.code} has no money value")
        exact = Decimal(kopecks) * percent / 100 / self.unit_value_kopecks
        return round_to_int(exact.scaleb(self.scale), rounding or self.earn_rounding)


DEFAULT_CURRENCY = PointCurrency(code="points", name="Bonus points")


_CENTS = tuple(f".{cents:02d}" for cents in range(100))  # ".00" ... ".99"


def format_money(kopecks: int) -> str:
    """Kopecks as the API's decimal string with two places: 123450 -> "1234.50"."""
    whole, cents = divmod(abs(kopecks), 100)
    text = str(whole) + _CENTS[cents]  # no format spec: compiled (mypyc), one is slow
    return "-" + text if kopecks < 0 else text


def parse_money(text: str) -> int:
    """The API's decimal money string to kopecks, refusing fractions of a kopeck."""
    try:
        value = Decimal(text)
        if not value.is_finite() or value.adjusted() > 15:
            raise InvalidInput(f"{text!r} is not a money amount")
        kopecks = value.scaleb(2)
    except ArithmeticError as exc:  # decimal.InvalidOperation, Overflow
        raise InvalidInput(f"{text!r} is not a money amount") from exc
    if kopecks != kopecks.to_integral_value():
        raise InvalidInput(f"{text!r} has fractions of a kopeck")
    return int(kopecks)
