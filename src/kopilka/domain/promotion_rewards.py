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

For speed, `grant` takes the receipt's lines read once (`promotion_grants.ReceiptLines`: an
index of the lines by SKU and category, made per receipt), and `reads_of(reward)(table)` names the
lines a grant depends on, so the engine can keep a grant while none of those lines changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, TypeVar

from kopilka.domain.allocation import allocate
from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import Line
from kopilka.domain.kept import PerObject
from kopilka.domain.points import format_money
from kopilka.domain.program import Goods
from kopilka.domain.promotion_grants import Grant, ReceiptLines

MAX_GIFT_QUANTITY = 100
_T = TypeVar("_T")
MAX_UNITS = 1000  # buy/get quantities and group sizes


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidInput(message, code="invalid_promotion")


@dataclass(frozen=True, slots=True)
class PercentOff:
    """`percent` off the matching lines; off the whole receipt when `goods` is empty."""

    percent: Decimal
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(0 < self.percent <= 100, "percent off must be above 0 and at most 100")


@dataclass(frozen=True, slots=True)
class AmountOff:
    """A fixed amount off the matching lines (or the receipt), at most what they cost."""

    amount_kopecks: int
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(self.amount_kopecks > 0, "amount off must be above 0.00")


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """Matching goods at a fixed price per unit (per kilogram for weighed goods)."""

    unit_price_kopecks: int
    goods: Goods

    def __post_init__(self) -> None:
        _require(self.unit_price_kopecks >= 0, "a fixed price cannot be negative")
        _require(not self.goods.empty, "a fixed price needs goods")


@dataclass(frozen=True, slots=True)
class Gift:
    """`quantity` units of `sku` free: made free on the receipt if there, else handed out."""

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

    points: int

    def __post_init__(self) -> None:
        _require(self.points > 0, "extra points must be above 0")


@dataclass(frozen=True, slots=True)
class PointsMultiplier:
    """The points earned on the matching lines (every line when `goods` is empty) times
    `factor`; the earn step applies it."""

    factor: Decimal
    goods: Goods = Goods()

    def __post_init__(self) -> None:
        _require(1 < self.factor <= 100, "a points multiplier must be above 1 and at most 100")


@dataclass(frozen=True, slots=True)
class FreeDelivery:
    """The delivery lines (`goods`) made free; with no goods, or no delivery line yet, the
    outcome's `free_delivery` flag tells the web shop not to charge for it."""

    goods: Goods = Goods()


Reward = (PercentOff | AmountOff | FixedPrice | Gift | BuyXGetY | CheapestFree | ExtraPoints
          | PointsMultiplier | FreeDelivery)


# What each reward kind is called in a promotion document, and the kind of effect it shows as
# on a receipt. Tables, not class variables: mypyc, which compiles the engine, takes a class
# variable of a dataclass for a field.
REWARD_TYPES: dict[type, str] = {
    PercentOff: "percent_off", AmountOff: "amount_off", FixedPrice: "fixed_price", Gift: "gift",
    BuyXGetY: "buy_x_get_y", CheapestFree: "cheapest_free", ExtraPoints: "extra_points",
    PointsMultiplier: "points_multiplier", FreeDelivery: "free_delivery"}
EFFECTS: dict[type, str] = {
    PercentOff: "promotion", AmountOff: "promotion", FixedPrice: "promotion", Gift: "gift",
    BuyXGetY: "promotion", CheapestFree: "promotion", ExtraPoints: "extra_points",
    PointsMultiplier: "points_multiplier", FreeDelivery: "free_delivery"}


def reward_type(reward: Reward) -> str:
    """"percent_off", "gift", ...: the reward's `type` in a promotion document."""
    return _kind(reward, REWARD_TYPES)


def effect_kind(reward: Reward) -> str:
    """The `kind` of the effect the reward shows as on a receipt ("promotion", "gift", ...)."""
    return _kind(reward, EFFECTS)


def grant(reward: Reward, lines: Sequence[Line], remaining: Sequence[int],
          open_: Sequence[bool], table: ReceiptLines | None = None) -> Grant:
    """What `reward` gives on `lines` (remaining kopecks per line; only `open_` lines).
    `table`: the same lines read once (`ReceiptLines`), made here when not given."""
    if table is None:
        table = ReceiptLines(lines)
    return give(grant_kind(reward), reward, table, list(remaining), list(open_))


def grant_kind(reward: Reward) -> int:
    """The kind of grant the reward gives (`give`), looked up once per reward (a promotion's
    `Plan` keeps it)."""
    kind = _GIVERS.get(type(reward))
    return kind if kind is not None else _kind(reward, _GIVERS)


# the grant kinds (Final: compiled to constants, not looked up in the module per call)
_OFF: Final = 0
_FIXED_PRICE: Final = 1
_GIFT: Final = 2
_BUY_GET: Final = 3
_EXTRA_POINTS: Final = 4
_MULTIPLIER: Final = 5
_FREE_DELIVERY: Final = 6


def give(kind: int, reward: Any, table: ReceiptLines, remaining: list[int],
         open_: list[bool]) -> Grant:
    """`grant(reward, table.lines, remaining, open_, table)` for a reward whose `grant_kind` is
    `kind`: one compiled call, no dispatch on the reward's type. (Calling a grant function
    kept as a value would go through Python, arguments checked on every call.) The lists are
    lists, not sequences: compiled, indexing a list costs half of indexing a Sequence."""
    if kind == _BUY_GET:
        return _buy_get(reward, table, remaining, open_)
    if kind == _OFF:
        return _off(reward, table, remaining, open_)
    if kind == _EXTRA_POINTS:
        return _extra_points(reward, table, remaining, open_)
    if kind == _MULTIPLIER:
        return _multiplier(reward, table, remaining, open_)
    if kind == _FIXED_PRICE:
        return _fixed_price(reward, table, remaining, open_)
    if kind == _GIFT:
        return _gift(reward, table, remaining, open_)
    return _free_delivery(reward, table, remaining, open_)


def _kind(reward: Reward, table: dict[type, _T]) -> _T:
    """The entry of the first reward kind `reward` is an instance of (a subclass)."""
    for kind, entry in table.items():
        if isinstance(reward, kind):
            return entry
    raise TypeError(f"unknown reward {reward!r}")


def _off(reward: PercentOff | AmountOff, table: ReceiptLines, remaining: list[int],
         open_: list[bool]) -> Grant:
    receipt_level = reward.goods.empty
    where = table.every if receipt_level else table.where(reward.goods)
    if not where:  # no line to take it off: nothing, as _spread(0, ...) gives
        return table.nothing(receipt_level)
    at, weights = [], []  # the lines with a base, and their base
    discountable = table.discountable
    base = 0
    for i in where:
        if open_[i] and discountable[i] and remaining[i]:
            at.append(i)
            weights.append(remaining[i])
            base += remaining[i]
    if isinstance(reward, PercentOff):
        total = floor_percent(base, reward.percent)
    else:
        total = min(reward.amount_kopecks, base)
    return _spread(total, at, weights, table, receipt_level=receipt_level)


def _extra_points(reward: ExtraPoints, table: ReceiptLines, remaining: list[int],
                  open_: list[bool]) -> Grant:
    remembered = _remembered(reward)
    granted = remembered.get(())
    if granted is None:
        granted = remembered[()] = Grant(points=reward.points, receipt_level=True)
    return granted


def _multiplier(reward: PointsMultiplier, table: ReceiptLines, remaining: list[int],
                open_: list[bool]) -> Grant:
    where = table.every if reward.goods.empty else table.where(reward.goods)
    hits = tuple(i for i in where if open_[i] and remaining[i] > 0)
    return Grant(hits, (0,) * len(hits), factor=reward.factor) if hits else table.nothing()


def _free_delivery(reward: FreeDelivery, table: ReceiptLines, remaining: list[int],
                   open_: list[bool]) -> Grant:
    if reward.goods.empty:
        return Grant(free_delivery=True, receipt_level=True)
    base = _base(reward.goods, table, remaining, open_)
    claimed = tuple(i for i, b in enumerate(base) if b)
    return Grant(claimed, tuple([base[i] for i in claimed]), free_delivery=True,
                 receipt_level=not claimed)


def reads_of(reward: Reward) -> Callable[[ReceiptLines], tuple[int, ...]]:
    """The function giving, for a receipt's lines (`ReceiptLines`), the lines whose remaining
    amount or openness `grant(reward, ...)` depends on (a superset: lines outside it neither
    change nor get anything it gives). Made once per reward (a promotion's `Plan` keeps it):
    its kind and goods are looked at here, not per receipt."""
    if isinstance(reward, PercentOff | AmountOff | FixedPrice | PointsMultiplier):
        return _every_line if reward.goods.empty else _lines_of(reward.goods)
    if isinstance(reward, CheapestFree):
        return _lines_of(reward.goods)
    if isinstance(reward, BuyXGetY):
        buy, get = reward.buy_goods, reward.get_goods
        if buy == get:  # the same lines either way
            return _lines_of(buy)

        def bought_or_got(table: ReceiptLines) -> tuple[int, ...]:
            bought, got = table.where(buy), table.where(get)
            return bought if bought == got else tuple(sorted({*bought, *got}))
        return bought_or_got
    if isinstance(reward, FreeDelivery):
        return _no_line if reward.goods.empty else _lines_of(reward.goods)
    if isinstance(reward, Gift):
        sku = reward.sku
        return lambda table: tuple(i for i, (line_sku, _) in enumerate(table.keys)
                                   if line_sku == sku)
    if isinstance(reward, ExtraPoints):
        return _no_line
    raise TypeError(f"unknown reward {reward!r}")


def read_goods(reward: Reward) -> Goods | None:
    """The goods set whose lines are what `reads_of(reward)` gives, when it is one (the
    common case; None: call the reads function). The engine then asks `table.where(goods)`
    itself, a compiled call, instead of calling through the function per receipt."""
    if isinstance(reward, PercentOff | AmountOff | FixedPrice | PointsMultiplier
                  | FreeDelivery):
        return None if reward.goods.empty else reward.goods
    if isinstance(reward, CheapestFree):
        return reward.goods
    if isinstance(reward, BuyXGetY) and reward.buy_goods == reward.get_goods:
        return reward.buy_goods
    return None


def _every_line(table: ReceiptLines) -> tuple[int, ...]:
    return table.every


def _no_line(table: ReceiptLines) -> tuple[int, ...]:
    return ()


def _lines_of(goods: Goods) -> Callable[[ReceiptLines], tuple[int, ...]]:
    where = ReceiptLines.where
    return lambda table: where(table, goods)


def cap(granted: Grant, money_kopecks: int | None, points: int | None) -> tuple[Grant, bool]:
    """`granted` cut down to the remaining budgets (None: unlimited), never overspending them:
    a money cut is allocated over the lines in proportion to their discounts (largest
    remainder), so no line gets more than before. Returns the grant and whether it was cut."""
    cut = False
    if money_kopecks is not None and granted.amount > money_kopecks:
        granted = replace(granted, parts=tuple(allocate(max(money_kopecks, 0),
                                                        granted.parts)))
        cut = True
    if points is not None and granted.points > points:
        granted = replace(granted, points=max(points, 0))
        cut = True
    return granted, cut


def _floor_div(numerator: int, denominator: int) -> int:
    """int(numerator / denominator) as an exact fraction would give it (towards zero;
    denominator > 0)."""
    return numerator // denominator if numerator >= 0 else -(-numerator // denominator)


def floor_percent(amount: int, percent: Decimal) -> int:
    """floor(amount x percent / 100), exactly (amount >= 0)."""
    num, den = percent.as_integer_ratio()
    return _floor_div(amount * num, den * 100)


def _base(goods: Goods, table: ReceiptLines, remaining: list[int],
          open_: list[bool]) -> list[int]:
    """The remaining amount of each open, discountable, matching line (else 0); empty goods
    match every line."""
    if goods.empty:
        return [r if o and d else 0
                for r, o, d in zip(remaining, open_, table.discountable, strict=True)]
    return [r if o and d and h else 0
            for r, o, d, h in zip(remaining, open_, table.discountable, table.holds(goods),
                                  strict=True)]


def _spread(total: int, at: list[int], weights: list[int], table: ReceiptLines, *,
            receipt_level: bool) -> Grant:
    """`total` allocated over the lines `at` in proportion to `weights`, by largest remainder.
    Lines with no weight never get a unit (fewer units are left over than lines with a
    fractional share), so leaving them out allocates exactly as over every line."""
    if not total:
        return table.nothing(receipt_level)
    parts = allocate(total, weights) if len(at) > 1 else [total]  # one line takes it all
    claimed, kept = [], []
    for k in range(len(at)):  # (an index loop: compiled, zip(strict=True) is a slow call)
        part = parts[k]
        if part:
            claimed.append(at[k])
            kept.append(part)
    return Grant(tuple(claimed), tuple(kept), receipt_level=receipt_level)


_HUNDRED: Final = Decimal(100)  # cheapest free: the got unit is free
_FREE: Final = (100, 1)  # _HUNDRED.as_integer_ratio()


def _share(remaining: int, units: tuple[int, int], quantity: tuple[int, int],
           percent: tuple[int, int] = (100, 1)) -> int:
    """floor(remaining x units / quantity x percent / 100): `percent` of what `units` of a line
    still cost, floored once. Units, quantity and percent as integer ratios (num, den)."""
    pnum, pden = percent
    return _floor_div(remaining * units[0] * quantity[1] * pnum,
                      units[1] * quantity[0] * pden * 100)


def _fixed_price(reward: FixedPrice, table: ReceiptLines, remaining: list[int],
                 open_: list[bool]) -> Grant:
    base = _base(reward.goods, table, remaining, open_)
    price, ratios = reward.unit_price_kopecks, table.ratios
    claimed, parts = [], []
    for i, b in enumerate(base):
        if b:
            num, den = ratios[i]  # the line's amount at the fixed price, as Line.amount
            off = b - (2 * price * num + den) // (2 * den)
            if off > 0:
                claimed.append(i)
                parts.append(off)
    return Grant(tuple(claimed), tuple(parts))


def _gift(reward: Gift, table: ReceiptLines, remaining: list[int],
          open_: list[bool]) -> Grant:
    left = Decimal(reward.quantity)
    claimed, parts = [], []
    for i, line in enumerate(table.lines):
        if left > 0 and line.sku == reward.sku and open_[i] and line.discountable \
                and remaining[i] > 0:
            units = min(left, line.quantity)
            off = _share(remaining[i], units.as_integer_ratio(), table.ratios[i])
            if off:
                claimed.append(i)
                parts.append(off)
            left -= units
    return Grant(tuple(claimed), tuple(parts), gift_sku=reward.sku,
                 gift_quantity=reward.quantity, gift_freed=reward.quantity - left,
                 receipt_level=not claimed)


def _buy_get(reward: BuyXGetY | CheapestFree, table: ReceiptLines, remaining: list[int],
             open_: list[bool]) -> Grant:
    """Buy X get Y in whole units: a line counts floor(quantity) units, so 2.5 kg of apples at
    100.00/kg is 2 units; the fraction of a weighed line is neither counted nor made free.
    Cheapest free is buy `group_size - 1` get 1 of its goods, free.

    A line can be bought (matches the buy goods) and/or got (matches the get goods and is
    discountable); no unit is both bought and got. Repeats r are the most that fit:
    r*X <= buyable, r*Y <= gettable, r*(X+Y) <= all of them, at most `max_repeats`. The r*Y
    cheapest gettable units (by what they still cost per unit) are got, leaving enough shared
    units to be bought; a got unit costs the line's remaining amount / quantity (floored),
    times the percent. The r*X most expensive other units are the ones bought (claimed)."""
    if isinstance(reward, BuyXGetY):
        buy_goods, get_goods = reward.buy_goods, reward.get_goods
        x, y, percent = reward.buy_quantity, reward.get_quantity, reward.percent
    else:
        buy_goods = get_goods = reward.goods
        x, y, percent = reward.group_size - 1, 1, _HUNDRED
    buy_at, get_at = table.where(buy_goods), table.where(get_goods)
    if not buy_at and not get_at:  # no unit to buy or get (a = b = c = 0): no repeat
        return _shortfall(reward, table, buy_goods, get_goods, x, y, 0, 0, 0)
    buyable: list[bool] | None = None  # None: every line read is in both goods sets
    gettable: list[bool] | None = None
    if buy_at != get_at:
        buyable, gettable = table.holds(buy_goods), table.holds(get_goods)
    whole, discountable = table.whole, table.discountable
    read = buy_at if buyable is None else tuple(sorted({*buy_at, *get_at}))  # receipt order
    buys, gets, a, b, c = [], [], 0, 0, 0  # buys, gets: open line indexes, in receipt order
    for i in read:
        if not open_[i]:
            continue
        buy = buyable is None or buyable[i]
        get = (gettable is None or gettable[i]) and discountable[i] and remaining[i] > 0 \
            and whole[i] > 0
        if buy:
            buys.append(i)
        if get:
            gets.append(i)
            if buy:
                c += whole[i]
            else:
                b += whole[i]
        elif buy:
            a += whole[i]
    # (two-argument min: compiled, min of three is a call through Python)
    repeats = min(min((a + c) // x, (b + c) // y), (a + b + c) // (x + y))
    if reward.max_repeats is not None:
        repeats = min(repeats, reward.max_repeats)
    if repeats == 0:
        return _shortfall(reward, table, buy_goods, get_goods, x, y, a, b, c)
    ratios, n = table.ratios, table.n
    if len(gets) > 1 or len(buys) > 1:
        # what one unit of a line still costs, remaining / quantity, as an exact integer key:
        # over the common multiple of the quantities' numerators
        common = math.lcm(*[ratios[i][0] for i in gets], *[ratios[i][0] for i in buys])
        value = [0] * n  # per line (those in gets or buys)
        for i in gets:
            value[i] = remaining[i] * ratios[i][1] * (common // ratios[i][0])
        for i in buys:
            value[i] = remaining[i] * ratios[i][1] * (common // ratios[i][0])
        # gets by (value, index), buys by (-value, index): each one sort of plain integers,
        # value x n + index, the index read back from the key (values are >= 0). Compiled,
        # that is much cheaper than a key function, which calls through Python per line.
        keys = [value[i] * n + i for i in gets]
        keys.sort()  # (in place: sorted() would copy the list)
        gets = [key % n for key in keys]
        keys = [value[i] * n + (n - 1 - i) for i in buys]
        keys.sort()  # read from the end
        buys = [n - 1 - keys[k] % n for k in range(len(keys) - 1, -1, -1)]
    # units got and bought per line: lists, not dicts (compiled, no hashing or boxed keys)
    got = [0] * n
    need, shared_cap = repeats * y, a + c - repeats * x
    for i in gets:  # the cheapest first
        if buyable is None or buyable[i]:
            take = min(min(whole[i], need), shared_cap)
            shared_cap -= take
        else:
            take = min(whole[i], need)
        got[i] = take
        need -= take
    bought = [0] * n
    need = repeats * x
    for i in buys:  # the most expensive first
        units = min(whole[i] - got[i], need)
        bought[i] = units
        need -= units
    percent_ratio = _FREE if percent is _HUNDRED else percent.as_integer_ratio()
    claimed, parts = [], []
    anything = False
    for i in read:  # in receipt order
        if got[i] or bought[i]:
            share = _share(remaining[i], (got[i], 1), ratios[i], percent_ratio) \
                if got[i] else 0
            claimed.append(i)
            parts.append(share)
            anything = anything or share != 0
    if not anything:
        return table.nothing()
    return Grant(tuple(claimed), tuple(parts))


_grants_of: Final[PerObject[Reward, dict[tuple[int, ...], Grant]]] = PerObject(
    lambda _: {}, 4096)


def _remembered(reward: Reward) -> dict[tuple[int, ...], Grant]:
    """Grants of this reward object that depend only on a few numbers (unit counts), kept
    across receipts: grants are never changed, so sharing one changes nothing."""
    known = _grants_of.of(reward)
    if len(known) >= 256:
        known.clear()
    return known


def _shortfall(reward: BuyXGetY | CheapestFree, table: ReceiptLines, buy_goods: Goods,
               get_goods: Goods, x: int, y: int, a: int, b: int, c: int) -> Grant:
    """Grant(shortfall=_missing(...)): nothing, and what the basket lacks."""
    remembered = _remembered(reward)
    granted = remembered.get((a, b, c))
    if granted is None:
        granted = remembered[a, b, c] = Grant(
            shortfall=_missing(buy_goods, get_goods, x, y, a, b, c))
    return granted


def _missing(buy_goods: Goods, get_goods: Goods, x: int, y: int, a: int, b: int,
             c: int) -> str:
    """What a buy X get Y basket lacks for one repeat (units only-buyable a, only-gettable b,
    both c)."""
    short_buy = max(x - a - c, 0)
    short_get = max(y - b - max(c - max(x - a, 0), 0), 0)
    if buy_goods == get_goods:
        return _add(short_buy + short_get, buy_goods)
    parts = [_add(short, goods) for short, goods in ((short_buy, buy_goods),
                                                     (short_get, get_goods)) if short]
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


# the kind of grant per reward type (`grant_kind`)
_GIVERS: dict[type, int] = {
    PercentOff: _OFF, AmountOff: _OFF, FixedPrice: _FIXED_PRICE, Gift: _GIFT,
    BuyXGetY: _BUY_GET, CheapestFree: _BUY_GET, ExtraPoints: _EXTRA_POINTS,
    PointsMultiplier: _MULTIPLIER, FreeDelivery: _FREE_DELIVERY}
