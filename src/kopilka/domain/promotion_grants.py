"""What a promotion's reward gives on one receipt (`Grant`), and the receipt's lines as the
rewards read them (`ReceiptLines`), for `promotion_rewards`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kopilka.domain.evaluation import Line
from kopilka.domain.program import Goods


@dataclass(frozen=True, slots=True, init=False)
class Grant:
    """What one reward gives on one receipt, before the promotion's budget caps it.

    Every reward discounts only lines it claims, so the discounts are kept per claimed line
    (`parts`, aligned with `claimed`, in receipt order), not per receipt line: a grant costs
    what it acts on, not the receipt's length.

    Never changed once made (grants are shared: `NOTHING`, `_remembered`, the engine's kept
    grants); `cap` makes a new one (`replace`). The engine makes dozens per receipt: its
    `__init__` is written out, so mypyc compiles it (ARCHITECTURE, "The compiled domain")."""

    claimed: tuple[int, ...] = ()  # indexes of the lines the reward acts on (stacking)
    parts: tuple[int, ...] = ()  # kopecks off each claimed line (0: claimed, not discounted)
    points: int = 0  # fixed extra points
    factor: Decimal | None = None  # a points multiplier on the claimed lines
    gift_sku: str | None = None
    gift_quantity: int = 0
    gift_freed: Decimal = Decimal(0)  # of the gift quantity, units made free on the receipt
    free_delivery: bool = False
    receipt_level: bool = False  # acts on the receipt as a whole, not on some lines
    shortfall: str = ""  # when it gives nothing: what the basket lacks ("add 1 more item ...")

    def __init__(self, claimed: tuple[int, ...] = (), parts: tuple[int, ...] = (),
                 points: int = 0, factor: Decimal | None = None, gift_sku: str | None = None,
                 gift_quantity: int = 0, gift_freed: Decimal = Decimal(0),
                 free_delivery: bool = False, receipt_level: bool = False,
                 shortfall: str = "") -> None:
        object.__setattr__(self, "claimed", claimed)
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "gift_sku", gift_sku)
        object.__setattr__(self, "gift_quantity", gift_quantity)
        object.__setattr__(self, "gift_freed", gift_freed)
        object.__setattr__(self, "free_delivery", free_delivery)
        object.__setattr__(self, "receipt_level", receipt_level)
        object.__setattr__(self, "shortfall", shortfall)

    @property
    def amount(self) -> int:
        total = 0
        for part in self.parts:  # a loop: compiled, cheaper than sum()
            total += part
        return total

    @property
    def empty(self) -> bool:
        return not (self.amount or self.points or self.factor is not None
                    or self.gift_sku is not None or self.free_delivery)


NOTHING = Grant()  # a grant of nothing, on some lines
NOTHING_ON_THE_RECEIPT = Grant(receipt_level=True)  # ... or on the receipt as a whole


# --- a receipt's lines, read once -------------------------------------------------------------
#
# `grant` is asked many times per receipt (every promotion, as a trial and when applied).
# `ReceiptLines` reads the lines once per receipt, and indexes them by SKU and by every category
# `Goods.contains` would try for them (the category and its parents, `_walk`), so the lines a
# goods set holds are a few look-ups, not a `contains` per line. Nothing here changes a result:
# every value is what `Goods.contains` or `Line` would give.

_WALKS: dict[str | None, tuple[str, ...]] = {}  # category -> _walk(category), bounded


def _walk(category: str | None) -> tuple[str, ...]:
    """The categories `Goods.contains` tries for a line's category, in its order: the category,
    then each parent ("a/b" for "a/b/c")."""
    walk = _WALKS.get(category)
    if walk is None:
        found, name = [], category
        while name:
            found.append(name)
            cut = name.rfind("/")
            name = name[:cut] if cut > 0 else None
        walk = tuple(found)
        if len(_WALKS) >= 50_000:
            _WALKS.clear()
        _WALKS[category] = walk
    return walk


def _index(names: list[tuple[str, ...]]) -> dict[str, list[int]]:
    """The indexes of the lines by each of their names (names[i]: line i's), in receipt
    order."""
    index: dict[str, list[int]] = {}
    for i in range(len(names)):
        for name in names[i]:
            found = index.get(name)
            if found is None:
                index[name] = [i]  # (not setdefault: that makes a list per line, used or not)
            else:
                found.append(i)
    return index


class ReceiptLines:
    """The lines of one receipt as the rewards read them: (SKU, category) keys, whether each
    is discountable, quantities as integer ratios and in whole units, and (`holds`, `where`)
    which lines a goods set holds, worked out once per goods set and receipt from an index of
    the lines by SKU and by category (with its parents)."""

    __slots__ = ("lines", "n", "keys", "discountable", "every", "_asked", "_by_sku",
                 "_by_category", "_ratios", "_whole")

    def __init__(self, lines: Sequence[Line],
                 ratios: list[tuple[int, int]] | None = None) -> None:
        """`ratios`: the lines' quantities as integer ratios, when the caller has them."""
        self.lines = lines
        self.n = len(lines)
        self.keys = [(line.sku, line.category) for line in lines]
        self.discountable = [line.discountable for line in lines]
        self.every = tuple(range(self.n))
        self._asked: dict[int, list] = {}  # by id(goods): [goods, where, holds or None]
        self._by_sku: dict[str, list[int]] | None = None  # made when first asked
        self._by_category: dict[str, list[int]] | None = None
        self._ratios = ratios
        self._whole: list[int] | None = None

    def nothing(self, receipt_level: bool = False) -> Grant:
        """A grant of nothing (shared: grants are never changed)."""
        return NOTHING_ON_THE_RECEIPT if receipt_level else NOTHING

    def _categories(self) -> dict[str, list[int]]:
        """The lines by every category `Goods.contains` would try for them (made once)."""
        by_category = self._by_category
        if by_category is None:
            by_category = self._by_category = _index([_walk(key[1]) for key in self.keys])
        return by_category

    def _skus(self) -> dict[str, list[int]]:
        """The lines by SKU (made once, when a goods set names SKUs)."""
        by_sku = self._by_sku
        if by_sku is None:
            by_sku = self._by_sku = _index([(key[0],) for key in self.keys])
        return by_sku

    def _held(self, goods: Goods) -> tuple[int, ...]:
        """The indexes of the lines `goods.contains`, in receipt order."""
        try:
            if not goods.skus and len(goods.categories) == 1:  # the common case, in short
                hit = self._categories().get(goods.categories[0])
                return tuple(hit) if hit else ()
            by_sku, by_category = self._skus(), self._categories()
            parts = [hit for hit in (*map(by_sku.get, goods.skus),
                                     *map(by_category.get, goods.categories)) if hit]
        except TypeError:  # an unhashable SKU or category in the goods set: ask it
            return tuple(i for i, key in enumerate(self.keys) if goods.contains(*key))
        if not parts:
            return ()
        return tuple(parts[0]) if len(parts) == 1 else tuple(sorted(set().union(*parts)))

    def where(self, goods: Goods) -> tuple[int, ...]:
        """The indexes of the lines `goods` holds (`goods.contains`), in receipt order."""
        asked = self._asked.get(id(goods))
        if asked is None or asked[0] is not goods:
            asked = self._asked[id(goods)] = [goods, self._held(goods), None]  # holds goods:
        return asked[1]  # its id stays unique

    def holds(self, goods: Goods) -> list[bool]:
        """Per line: does `goods` hold it (`goods.contains`)?"""
        asked = self._asked.get(id(goods))
        if asked is None or asked[0] is not goods:
            self.where(goods)
            asked = self._asked[id(goods)]
        if asked[2] is None:
            flags = asked[2] = [False] * self.n
            for i in asked[1]:
                flags[i] = True
        return asked[2]

    @property
    def ratios(self) -> list[tuple[int, int]]:
        """Per line: quantity.as_integer_ratio()."""
        if self._ratios is None:
            self._ratios = [line.quantity.as_integer_ratio() for line in self.lines]
        return self._ratios

    @property
    def whole(self) -> list[int]:
        """Per line: the whole units of its quantity (quantities are > 0: int() floors)."""
        if self._whole is None:
            self._whole = [num // den for num, den in self.ratios]
        return self._whole
