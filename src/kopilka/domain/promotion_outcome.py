"""What applying promotions to one receipt gives (`promotions.apply_promotions`): line
discounts, effects, refusals and hints, and what the earn step, the till and the budgets need
of it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kopilka.domain.evaluation import Effect
from kopilka.domain.promotion_rules import ControlDecision, PromotionRejection


@dataclass(frozen=True, slots=True, init=False)
class PointsBonus:
    """Fixed extra points a promotion gives, for the earn step to credit."""

    promotion_id: str
    points: int

    def __init__(self, promotion_id: str, points: int) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "points", points)


@dataclass(frozen=True, slots=True, init=False)
class MultiplierBonus:
    """Points on these lines are multiplied by `factor` in the earn step; the extra points it
    adds may not exceed `points_cap` (the promotion's remaining points budget; None: no cap)."""

    promotion_id: str
    factor: Decimal
    line_ids: tuple[str, ...]
    points_cap: int | None = None

    def __init__(self, promotion_id: str, factor: Decimal, line_ids: tuple[str, ...],
                 points_cap: int | None = None) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "line_ids", line_ids)
        object.__setattr__(self, "points_cap", points_cap)


@dataclass(frozen=True, slots=True, init=False)
class GiftItem:
    """A gift for the till: `quantity` of `sku`, of which `freed_quantity` is on the receipt and
    made free (those lines); the rest is to hand out."""

    promotion_id: str
    sku: str
    quantity: int
    freed_quantity: Decimal
    line_ids: tuple[str, ...] = ()

    def __init__(self, promotion_id: str, sku: str, quantity: int, freed_quantity: Decimal,
                 line_ids: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "sku", sku)
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "freed_quantity", freed_quantity)
        object.__setattr__(self, "line_ids", line_ids)


@dataclass(frozen=True, slots=True, init=False)
class Consumption:
    """What one applied promotion used, for the caller to take off its budgets exactly once."""

    promotion_id: str
    money_kopecks: int
    points: int
    count: int = 1

    def __init__(self, promotion_id: str, money_kopecks: int, points: int, count: int = 1) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "money_kopecks", money_kopecks)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "count", count)


@dataclass(frozen=True, slots=True, init=False)
class PromotionOutcome:
    line_discounts: tuple[int, ...]  # kopecks, aligned with receipt.lines
    applied: tuple[Effect, ...] = ()
    rejected: tuple[PromotionRejection, ...] = ()
    hints: tuple[str, ...] = ()
    not_payable_with_points: tuple[str, ...] = ()  # line ids, in receipt order
    points_bonuses: tuple[PointsBonus, ...] = ()
    multipliers: tuple[MultiplierBonus, ...] = ()
    gifts: tuple[GiftItem, ...] = ()
    free_delivery: bool = False
    control: tuple[ControlDecision, ...] = ()

    def __init__(self, line_discounts: tuple[int, ...], applied: tuple[Effect, ...] = (),
                 rejected: tuple[PromotionRejection, ...] = (), hints: tuple[str, ...] = (),
                 not_payable_with_points: tuple[str, ...] = (),
                 points_bonuses: tuple[PointsBonus, ...] = (),
                 multipliers: tuple[MultiplierBonus, ...] = (), gifts: tuple[GiftItem, ...] = (),
                 free_delivery: bool = False, control: tuple[ControlDecision, ...] = ()) -> None:
        object.__setattr__(self, "line_discounts", line_discounts)
        object.__setattr__(self, "applied", applied)
        object.__setattr__(self, "rejected", rejected)
        object.__setattr__(self, "hints", hints)
        object.__setattr__(self, "not_payable_with_points", not_payable_with_points)
        object.__setattr__(self, "points_bonuses", points_bonuses)
        object.__setattr__(self, "multipliers", multipliers)
        object.__setattr__(self, "gifts", gifts)
        object.__setattr__(self, "free_delivery", free_delivery)
        object.__setattr__(self, "control", control)

    @property
    def consumption(self) -> tuple[Consumption, ...]:
        """What each applied promotion used: its effect's money and points, one use. Made
        when asked (only confirming takes it off the budgets)."""
        return tuple([Consumption(e.code, e.amount, e.points) for e in self.applied])

    @property
    def discount_total(self) -> int:
        return sum(self.line_discounts)
