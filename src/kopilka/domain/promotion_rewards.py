"""Promotion rewards (SPEC R2): what a promotion gives on one receipt, in kopecks and points.

A reward is data, one frozen dataclass per kind. `grant(reward, lines, remaining, open_)`
computes what it gives on the lines still open to the promotion (`open_`, see the stacking
rules in `kopilka.domain.promotions`), from what those lines still cost after the promotions
applied before it (`remaining`, kopecks per line). Integer arithmetic only; every money
discount is floored to the kopeck, never more than the rule says:

- percent off: floor(percent x the remaining amount of the matching lines, or of the whole
  receipt when the reward names no goods), allocated to those lines by largest remainder, as
  the program's own discount is;
- amount off: the amount, never more than those lines' remaining amount, allocated the same way;
- fixed price: each matching line brought down to unit price x quantity (half-up, like a line
  amount); a line already cheaper is left alone;
- gift: units of the gift SKU on the receipt are made free, up to the gift quantity; the outcome
  lists the gift so the till can hand out what is not on the receipt;
- buy X get Y, cheapest free: counted in whole units (see `_buy_get`);
- extra points and points multipliers give no money: the earn step turns them into points;
- free delivery: the delivery lines made free, and a flag for a delivery not on the receipt yet.

Money rewards never touch a line marked not discountable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from kopilka.domain.allocation import allocate
from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import Line
from kopilka.domain.points import format_money
from kopilka.domain.program import Goods

MAX_GIFT_QUANTITY = 100
MAX_UNITS = 1000  # buy/get quantities and group sizes


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidInput(message, code="invalid_promotion")


@dataclass(frozen=True, slots=True)
class PercentOff:
    """`percent` off the matching lines; off the whole receipt when `goods` is empty."""

    TYPE: ClassVar[str] = "percent_off"
    EFFECT: ClassVar[str] = "promotion"
    percent: Decimal
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(0 < self.percent <= 100, "percent off must be above 0 and at most 100")


@dataclass(frozen=True, slots=True)
class AmountOff:
    """A fixed amount off the matching lines (or the receipt), at most what they cost."""

    TYPE: ClassVar[str] = "amount_off"
    EFFECT: ClassVar[str] = "promotion"
    amount_kopecks: int
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(self.amount_kopecks > 0, "amount off must be above 0.00")


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """Matching goods at a fixed price per unit (per kilogram for weighed goods)."""

    TYPE: ClassVar[str] = "fixed_price"
    EFFECT: ClassVar[str] = "promotion"
    unit_price_kopecks: int
    goods: Goods

    def __post_init__(self) -> None:
        _require(self.unit_price_kopecks >= 0, "a fixed price cannot be negative")
        _require(not self.goods.empty, "a fixed price needs goods")


@dataclass(frozen=True, slots=True)
class Gift:
    """`quantity` units of `sku` free: made free on the receipt if there, else handed out."""

    TYPE: ClassVar[str] = "gift"
    EFFECT: ClassVar[str] = "gift"
    sku: str
    quantity: int = 1

    def __post_init__(self) -> None:
        _require(bool(self.sku), "a gift needs a SKU")
        _require(1 <= self.quantity <= MAX_GIFT_QUANTITY,
                 f"a gift quantity must be 1..{MAX_GIFT_QUANTITY}")


@dataclass(frozen=True, slots=True)
class BuyXGetY:
    """Buy `buy_quantity` units of `buy_goods`, get `get_quantity` units of `get_goods` at
    `percent` off (100: free); repeated for every X bought, at most `max_repeats` times."""

    TYPE: ClassVar[str] = "buy_x_get_y"
    EFFECT: ClassVar[str] = "promotion"
    buy_quantity: int
    buy_goods: Goods
    get_quantity: int
    get_goods: Goods
    percent: Decimal = Decimal(100)
    max_repeats: int | None = None

    def __post_init__(self) -> None:
        _require(1 <= self.buy_quantity <= MAX_UNITS and 1 <= self.get_quantity <= MAX_UNITS,
                 f"buy and get quantities must be 1..{MAX_UNITS}")
        _require(not self.buy_goods.empty and not self.get_goods.empty,
                 "buy X get Y needs goods to buy and goods to get")
        _require(0 < self.percent <= 100, "the percent off must be above 0 and at most 100")
        _require(self.max_repeats is None or self.max_repeats >= 1, "max repeats must be >= 1")


@dataclass(frozen=True, slots=True)
class CheapestFree:
    """Of every `group_size` units of `goods`, the cheapest is free ("3 for the price of 2")."""

    TYPE: ClassVar[str] = "cheapest_free"
    EFFECT: ClassVar[str] = "promotion"
    group_size: int
    goods: Goods
    max_repeats: int | None = None

    def __post_init__(self) -> None:
        _require(2 <= self.group_size <= MAX_UNITS, f"the group size must be 2..{MAX_UNITS}")
        _require(not self.goods.empty, "cheapest free needs goods")
        _require(self.max_repeats is None or self.max_repeats >= 1, "max repeats must be >= 1")


@dataclass(frozen=True, slots=True)
class ExtraPoints:
    """A fixed number of points (minor units of the program's main currency) per receipt."""

    TYPE: ClassVar[str] = "extra_points"
    EFFECT: ClassVar[str] = "extra_points"
    points: int

    def __post_init__(self) -> None:
        _require(self.points > 0, "extra points must be above 0")


@dataclass(frozen=True, slots=True)
class PointsMultiplier:
    """The points earned on the matching lines (every line when `goods` is empty) times
    `factor`; the earn step applies it."""

    TYPE: ClassVar[str] = "points_multiplier"
    EFFECT: ClassVar[str] = "points_multiplier"
    factor: Decimal
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(1 < self.factor <= 100, "a points multiplier must be above 1 and at most 100")


@dataclass(frozen=True, slots=True)
class FreeDelivery:
    """The delivery lines (`goods`) made free; with no goods, or no delivery line yet, the
    outcome's `free_delivery` flag tells the web shop not to charge for it."""

    TYPE: ClassVar[str] = "free_delivery"
    EFFECT: ClassVar[str] = "free_delivery"
    goods: Goods = Goods()


Reward = (PercentOff | AmountOff | FixedPrice | Gift | BuyXGetY | CheapestFree | ExtraPoints
          | PointsMultiplier | FreeDelivery)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one reward gives on one receipt, before the promotion's budget caps it."""

    discounts: tuple[int, ...]  # kopecks per receipt line
    claimed: tuple[int, ...] = ()  # indexes of the lines the reward acts on (stacking)
    points: int = 0  # fixed extra points
    factor: Decimal | None = None  # a points multiplier on the claimed lines
    gift_sku: str | None = None
    gift_quantity: int = 0
    gift_freed: Decimal = Decimal(0)  # of the gift quantity, units made free on the receipt
    free_delivery: bool = False
    receipt_level: bool = False  # acts on the receipt as a whole, not on some lines
    shortfall: str = ""  # when it gives nothing: what the basket lacks ("add 1 more item ...")

    @property
    def amount(self) -> int:
        return sum(self.discounts)

    @property
    def empty(self) -> bool:
        return not (self.amount or self.points or self.factor is not None
                    or self.gift_sku is not None or self.free_delivery)


def grant(reward: Reward, lines: Sequence[Line], remaining: Sequence[int],
          open_: Sequence[bool]) -> Grant:
    """What `reward` gives on `lines` (remaining kopecks per line; only `open_` lines)."""
    zero = (0,) * len(lines)
    match reward:
        case PercentOff() | AmountOff():
            base = _base(reward.goods, lines, remaining, open_)
            if isinstance(reward, PercentOff):
                total = floor_percent(sum(base), reward.percent)
            else:
                total = min(reward.amount_kopecks, sum(base))
            return _spread(total, base, receipt_level=reward.goods.empty)
        case FixedPrice():
            return _fixed_price(reward, lines, remaining, open_)
        case Gift():
            return _gift(reward, lines, remaining, open_)
        case BuyXGetY():
            return _buy_get(reward, lines, remaining, open_)
        case CheapestFree():
            return _buy_get(BuyXGetY(reward.group_size - 1, reward.goods, 1, reward.goods,
                                     max_repeats=reward.max_repeats), lines, remaining, open_)
        case ExtraPoints():
            return Grant(zero, points=reward.points, receipt_level=True)
        case PointsMultiplier():
            hits = tuple(i for i, line in enumerate(lines)
                         if open_[i] and remaining[i] > 0 and _in(reward.goods, line))
            return Grant(zero, claimed=hits, factor=reward.factor) if hits else Grant(zero)
        case FreeDelivery():
            base = ([0] * len(lines) if reward.goods.empty
                    else _base(reward.goods, lines, remaining, open_))
            claimed = tuple(i for i, b in enumerate(base) if b)
            return Grant(tuple(base), claimed=claimed, free_delivery=True,
                         receipt_level=not claimed)
    raise TypeError(f"unknown reward {reward!r}")


def cap(granted: Grant, money_kopecks: int | None, points: int | None) -> tuple[Grant, bool]:
    """`granted` cut down to the remaining budgets (None: unlimited), never overspending them:
    a money cut is allocated over the lines in proportion to their discounts (largest
    remainder), so no line gets more than before. Returns the grant and whether it was cut."""
    cut = False
    if money_kopecks is not None and granted.amount > money_kopecks:
        granted = replace(granted, discounts=tuple(allocate(max(money_kopecks, 0),
                                                            granted.discounts)))
        cut = True
    if points is not None and granted.points > points:
        granted = replace(granted, points=max(points, 0))
        cut = True
    return granted, cut


def floor_percent(amount: int, percent: Decimal) -> int:
    """floor(amount x percent / 100), exactly (amount >= 0)."""
    return int(Fraction(amount) * Fraction(percent) / 100)


def _in(goods: Goods, line: Line) -> bool:
    """Does the line match? Empty goods match every line."""
    return goods.empty or goods.contains(line.sku, line.category)


def _base(goods: Goods, lines: Sequence[Line], remaining: Sequence[int],
          open_: Sequence[bool]) -> list[int]:
    """The remaining amount of each open, discountable, matching line (else 0)."""
    return [remaining[i] if open_[i] and line.discountable and _in(goods, line) else 0
            for i, line in enumerate(lines)]


def _spread(total: int, base: list[int], *, receipt_level: bool) -> Grant:
    discounts = allocate(total, base) if total else [0] * len(base)
    return Grant(tuple(discounts), claimed=tuple(i for i, d in enumerate(discounts) if d),
                 receipt_level=receipt_level)


def _share(remaining: int, units: Decimal, quantity: Decimal,
           percent: Decimal = Decimal(100)) -> int:
    """floor(remaining x units / quantity x percent / 100): `percent` of what `units` of a
    line still cost, floored once."""
    return int(Fraction(remaining) * Fraction(units) / Fraction(quantity)
               * Fraction(percent) / 100)


def _fixed_price(reward: FixedPrice, lines: Sequence[Line], remaining: Sequence[int],
                 open_: Sequence[bool]) -> Grant:
    base = _base(reward.goods, lines, remaining, open_)
    discounts = [max(b - replace(line, unit_price=reward.unit_price_kopecks).amount, 0)
                 if b else 0 for b, line in zip(base, lines, strict=True)]
    return Grant(tuple(discounts), claimed=tuple(i for i, d in enumerate(discounts) if d))


def _gift(reward: Gift, lines: Sequence[Line], remaining: Sequence[int],
          open_: Sequence[bool]) -> Grant:
    left = Decimal(reward.quantity)
    discounts = [0] * len(lines)
    for i, line in enumerate(lines):
        if left > 0 and line.sku == reward.sku and open_[i] and line.discountable \
                and remaining[i] > 0:
            units = min(left, line.quantity)
            discounts[i] = _share(remaining[i], units, line.quantity)
            left -= units
    claimed = tuple(i for i, d in enumerate(discounts) if d)
    return Grant(tuple(discounts), claimed=claimed, gift_sku=reward.sku,
                 gift_quantity=reward.quantity, gift_freed=reward.quantity - left,
                 receipt_level=not claimed)


def _buy_get(reward: BuyXGetY, lines: Sequence[Line], remaining: Sequence[int],
             open_: Sequence[bool]) -> Grant:
    """Buy X get Y in whole units: a line counts floor(quantity) units, so 2.5 kg of apples at
    100.00/kg is 2 units; the fraction of a weighed line is neither counted nor made free.

    A line can be bought (matches the buy goods) and/or got (matches the get goods and is
    discountable); no unit is both bought and got. Repeats r are the most that fit:
    r*X <= buyable, r*Y <= gettable, r*(X+Y) <= all of them, at most `max_repeats`. The r*Y
    cheapest gettable units (by what they still cost per unit) are got, leaving enough shared
    units to be bought; a got unit costs the line's remaining amount / quantity (floored),
    times the percent. The r*X most expensive other units are the ones bought (claimed)."""
    n = len(lines)
    whole = [int(line.quantity) for line in lines]  # quantities are > 0: int() floors
    buys = [open_[i] and reward.buy_goods.contains(line.sku, line.category)
            for i, line in enumerate(lines)]
    gets = [open_[i] and line.discountable and remaining[i] > 0 and whole[i] > 0
            and reward.get_goods.contains(line.sku, line.category)
            for i, line in enumerate(lines)]
    a = sum(whole[i] for i in range(n) if buys[i] and not gets[i])
    b = sum(whole[i] for i in range(n) if gets[i] and not buys[i])
    c = sum(whole[i] for i in range(n) if buys[i] and gets[i])
    x, y = reward.buy_quantity, reward.get_quantity
    repeats = min((a + c) // x, (b + c) // y, (a + b + c) // (x + y))
    if reward.max_repeats is not None:
        repeats = min(repeats, reward.max_repeats)
    if repeats == 0:
        return Grant((0,) * n, shortfall=_missing(reward, a, b, c))

    def unit_value(i: int) -> Fraction:
        return Fraction(remaining[i]) / Fraction(lines[i].quantity)

    got, need, shared_cap = [0] * n, repeats * y, a + c - repeats * x
    for i in sorted((i for i in range(n) if gets[i]), key=lambda i: (unit_value(i), i)):
        take = min(whole[i], need, shared_cap if buys[i] else need)
        got[i], need = take, need - take
        if buys[i]:
            shared_cap -= take
    bought, need = [0] * n, repeats * x
    for i in sorted((i for i in range(n) if buys[i]), key=lambda i: (-unit_value(i), i)):
        bought[i] = min(whole[i] - got[i], need)
        need -= bought[i]
    discounts = tuple(_share(remaining[i], Decimal(got[i]), lines[i].quantity, reward.percent)
                      if got[i] else 0 for i in range(n))
    if not any(discounts):
        return Grant((0,) * n)
    return Grant(discounts, claimed=tuple(i for i in range(n) if got[i] or bought[i]))


def _missing(reward: BuyXGetY, a: int, b: int, c: int) -> str:
    """What a buy X get Y basket lacks for one repeat (units only-buyable a, only-gettable b,
    both c)."""
    x, y = reward.buy_quantity, reward.get_quantity
    short_buy = max(x - a - c, 0)
    short_get = max(y - b - max(c - max(x - a, 0), 0), 0)
    if reward.buy_goods == reward.get_goods:
        return _add(short_buy + short_get, reward.buy_goods)
    parts = [_add(short, goods) for short, goods in ((short_buy, reward.buy_goods),
                                                     (short_get, reward.get_goods)) if short]
    return " and ".join(parts)


def _add(count: int, goods: Goods) -> str:
    return f"add {count} more item{'s' if count != 1 else ''} from {goods_text(goods)}"


def goods_text(goods: Goods) -> str:
    """A short human name of a goods set: its categories and SKUs."""
    return ", ".join((*goods.categories, *goods.skus)) or "any goods"


def describe(reward: Reward) -> str:
    """The human rule text of a reward, for the applied effect."""
    match reward:
        case PercentOff():
            where = "the receipt" if reward.goods.empty else goods_text(reward.goods)
            return f"{reward.percent}% off {where}"
        case AmountOff():
            where = "the receipt" if reward.goods.empty else goods_text(reward.goods)
            return f"{format_money(reward.amount_kopecks)} off {where}"
        case FixedPrice():
            return f"{goods_text(reward.goods)} at {format_money(reward.unit_price_kopecks)} each"
        case Gift():
            return f"gift: {reward.quantity} x {reward.sku}"
        case BuyXGetY():
            off = "free" if reward.percent == 100 else f"at {reward.percent}% off"
            return (f"buy {reward.buy_quantity} from {goods_text(reward.buy_goods)}, get "
                    f"{reward.get_quantity} from {goods_text(reward.get_goods)} {off}"
                    + _repeats(reward.max_repeats))
        case CheapestFree():
            return (f"the cheapest of every {reward.group_size} items from "
                    f"{goods_text(reward.goods)} free" + _repeats(reward.max_repeats))
        case ExtraPoints():
            return f"{reward.points} extra points"
        case PointsMultiplier():
            where = "every line" if reward.goods.empty else goods_text(reward.goods)
            return f"points x{reward.factor} on {where}"
        case FreeDelivery():
            return "free delivery"
    raise TypeError(f"unknown reward {reward!r}")


def _repeats(max_repeats: int | None) -> str:
    return "" if max_repeats is None else f", up to {max_repeats} times"
