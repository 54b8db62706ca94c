"""What applying promotions to one receipt gives (`promotions.apply_promotions`): line
discounts, effects, refusals and hints, and what the earn step, the till and the budgets need
of it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kopilka.domain.evaluation import Effect
from kopilka.domain.promotion_rules import ControlDecision, PromotionRejection


@dataclass(frozen=True, slots=True)
class PointsBonus:
    """Fixed extra points a promotion gives, for the earn step to credit."""

    promotion_id: str
    points: int


@dataclass(frozen=True, slots=True)
class MultiplierBonus:
    """Points on these lines are multiplied by `factor` in the earn step; the extra points it
    adds may not exceed `points_cap` (the promotion's remaining points budget; None: no cap)."""

    promotion_id: str
    factor: Decimal
    line_ids: tuple[str, ...]
    points_cap: int | None = None


@dataclass(frozen=True, slots=True)
class GiftItem:
    """A gift for the till: `quantity` of `sku`, of which `freed_quantity` is on the receipt and
    made free (those lines); the rest is to hand out."""

    promotion_id: str
    sku: str
    quantity: int
    freed_quantity: Decimal
    line_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Consumption:
    """What one applied promotion used, for the caller to take off its budgets exactly once."""

    promotion_id: str
    money_kopecks: int
    points: int
    count: int = 1


@dataclass(frozen=True, slots=True)
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

    @property
    def consumption(self) -> tuple[Consumption, ...]:
        """What each applied promotion used: its effect's money and points, one use. Made
        when asked (only confirming takes it off the budgets)."""
        return tuple([Consumption(e.code, e.amount, e.points) for e in self.applied])

    @property
    def discount_total(self) -> int:
        return sum(self.line_discounts)
