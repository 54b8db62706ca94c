"""The pure promotions engine (SPEC R1-R5, R7, P8): which promotions apply to a receipt, what
each gives, and why the others do not.

`apply_promotions(promotions, receipt, context)` reads no clock, database or network: the
caller passes the promotions in force, the member's attributes, the promo codes resolved to
promotion ids and a snapshot of each promotion's use, and applies the outcome's `consumption`
to the budgets exactly once (under their lock when confirming). The outcome is input for the
till flow: `line_discounts` per line, the points bonuses and multipliers for the earn step, the
lines not payable with points for the burn step, gifts and hints for the till.

Stacking, in order (documented here, tested in tests/unit/test_promotions.py):

1. Screening (`promotion_rules.screen`): window, code, audience, limits, control group, basket.
   A promotion that fails is rejected with a stable code; nothing it would give is computed.
2. Order: higher `priority` first. Within one priority, the promotion that gives more goes
   first (money, then points, each computed as if it went first in that priority, within its
   budget), then the smaller promotion id. The order never depends on the order of the input.
3. Exclusivity: of an exclusivity group, only the first promotion that actually gives something
   applies; the later ones are rejected `exclusive_group_lost`. So the group goes to the highest
   priority, ties to the best benefit, then the id. A promotion held back for the control
   group, or rejected in screening, does not take its group: the next one may apply.
4. Lines: each promotion computes its reward on what the lines still cost after the
   promotions before it. A line a promotion acts on is *claimed* by it. A stackable promotion
   may use lines that are open or claimed only by stackable promotions; a non-stackable one
   uses only lines nobody claimed, and once it claims a line no later promotion may use it.
   So a non-stackable promotion never shares a line. A promotion left with nothing to act on is
   rejected `lines_taken` (other promotions took its lines) or `no_benefit`.
5. Budgets: a reward above the remaining money or points budget is cut to it (never overspent
   by one kopeck or point; a money cut is allocated over its lines by largest remainder); when a
   budget is spent the promotion is rejected `budget_exhausted` in screening. A points
   multiplier cannot know its points yet: it carries the remaining points budget as `points_cap`
   for the earn step, and its consumption counts no points.
6. Points: a promotion not `combinable_with_points` makes the lines it discounted not payable
   with points, or the whole receipt when its reward is receipt-level (percent or amount off
   the receipt, extra points, a gift or free delivery not on the receipt).

Every line's promotion discount stays within its amount (each reward takes at most what the
line still costs), and the applied effects' amounts sum to the line discounts exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby

from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import MAX_LINES, Effect, Receipt
from kopilka.domain.promotion_rewards import (
    AmountOff,
    BuyXGetY,
    CheapestFree,
    ExtraPoints,
    FixedPrice,
    FreeDelivery,
    Gift,
    Grant,
    PercentOff,
    PointsMultiplier,
    Reward,
    cap,
    describe,
    grant,
)
from kopilka.domain.promotion_rules import (
    Budget,
    Conditions,
    ControlDecision,
    GoodsCondition,
    Limits,
    Period,
    PresentedCode,
    Promotion,
    PromotionContext,
    PromotionRejection,
    PromotionUsage,
    in_control_group,
    period_start,
    screen,
)

__all__ = [
    "AmountOff", "BuyXGetY", "CheapestFree", "Conditions", "Consumption", "ControlDecision",
    "ExtraPoints", "FixedPrice", "FreeDelivery", "Gift", "GiftItem", "GoodsCondition", "Limits",
    "MAX_PROMOTIONS", "MultiplierBonus", "PercentOff", "Period", "PointsBonus",
    "PointsMultiplier", "PresentedCode", "Promotion", "PromotionContext", "PromotionOutcome",
    "PromotionRejection", "PromotionUsage", "Reward", "apply_promotions", "in_control_group",
    "period_start",
]

MAX_PROMOTIONS = 1000

OPEN, SHARED, CLOSED = 0, 1, 2  # a line's claim: nobody, stackable promotions, a non-stackable


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
    consumption: tuple[Consumption, ...] = ()

    @property
    def discount_total(self) -> int:
        return sum(self.line_discounts)


@dataclass(frozen=True, slots=True)
class _Candidate:
    promotion: Promotion
    budget: Budget


@dataclass
class _Work:
    """Mutable scratch of one application (never leaves this module)."""

    receipt: Receipt
    remaining: list[int]
    claims: list[int]
    groups: dict[str, str] = field(default_factory=dict)  # exclusivity group -> promotion id
    applied: list[Effect] = field(default_factory=list)
    rejected: list[PromotionRejection] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    control: list[ControlDecision] = field(default_factory=list)
    bonuses: list[PointsBonus] = field(default_factory=list)
    multipliers: list[MultiplierBonus] = field(default_factory=list)
    gifts: list[GiftItem] = field(default_factory=list)
    consumption: list[Consumption] = field(default_factory=list)
    no_points: set[int] = field(default_factory=set)
    free_delivery: bool = False

    def open_for(self, stackable: bool) -> list[bool]:
        return [c != CLOSED if stackable else c == OPEN for c in self.claims]

    def ids(self, indexes: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.receipt.lines[i].line_id for i in sorted(indexes))


def apply_promotions(promotions: Sequence[Promotion], receipt: Receipt,
                     context: PromotionContext) -> PromotionOutcome:
    """Apply `promotions` to `receipt` (see the module docstring for the stacking rules)."""
    _check(promotions, receipt)
    amounts = [line.amount for line in receipt.lines]
    work = _Work(receipt, remaining=list(amounts), claims=[OPEN] * len(amounts))
    known = {p.promotion_id for p in promotions}
    for presented in context.codes:
        if presented.promotion_id is None or presented.promotion_id not in known:
            work.rejected.append(PromotionRejection(
                presented.promotion_id, "unknown_code",
                f"promo code {presented.code} is not valid for this purchase"))
    candidates = []
    for promotion in sorted(promotions, key=lambda p: (-p.priority, p.promotion_id)):
        screening = screen(promotion, receipt, context, amounts)
        if screening.control is not None:
            work.control.append(screening.control)
        if screening.rejection is not None:
            work.rejected.append(screening.rejection)
            if screening.hint:
                work.hints.append(screening.hint)
            continue
        candidates.append(_Candidate(promotion, screening.budget))
    for _, level in groupby(candidates, key=lambda c: c.promotion.priority):
        for candidate in _by_benefit(list(level), work):
            _apply(candidate, work)
    n = len(amounts)
    return PromotionOutcome(
        line_discounts=tuple(amounts[i] - work.remaining[i] for i in range(n)),
        applied=tuple(work.applied), rejected=tuple(work.rejected), hints=tuple(work.hints),
        not_payable_with_points=work.ids(tuple(work.no_points)),
        points_bonuses=tuple(work.bonuses), multipliers=tuple(work.multipliers),
        gifts=tuple(work.gifts), free_delivery=work.free_delivery, control=tuple(work.control),
        consumption=tuple(work.consumption))


def _check(promotions: Sequence[Promotion], receipt: Receipt) -> None:
    if len(promotions) > MAX_PROMOTIONS:
        raise InvalidInput(f"at most {MAX_PROMOTIONS} promotions per evaluation",
                           code="too_many_promotions")
    ids = [p.promotion_id for p in promotions]
    if len(set(ids)) != len(ids):
        raise InvalidInput("promotion ids must be unique", code="duplicate_promotion_id")
    if len(receipt.lines) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines per receipt", code="too_many_lines")
    if receipt.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a time zone", code="invalid_time")
    if any(line.unit_price < 0 or line.quantity <= 0 for line in receipt.lines):
        raise InvalidInput("line prices must be >= 0 and quantities > 0", code="invalid_line")


def _trial(candidate: _Candidate, work: _Work) -> Grant:
    promotion = candidate.promotion
    granted = grant(promotion.reward, work.receipt.lines, work.remaining,
                    work.open_for(promotion.stackable))
    return cap(granted, candidate.budget.kopecks, candidate.budget.points)[0]


def _by_benefit(level: list[_Candidate], work: _Work) -> list[_Candidate]:
    """One priority level, the larger benefit first (money, then points), then by id; each
    benefit computed on the receipt as the level starts."""
    if len(level) < 2:
        return level
    trials = {c.promotion.promotion_id: _trial(c, work) for c in level}
    return sorted(level, key=lambda c: (-trials[c.promotion.promotion_id].amount,
                                        -trials[c.promotion.promotion_id].points,
                                        c.promotion.promotion_id))


def _apply(candidate: _Candidate, work: _Work) -> None:
    promotion = candidate.promotion
    group = promotion.exclusivity_group
    if group is not None and group in work.groups:
        work.rejected.append(PromotionRejection(
            promotion.promotion_id, "exclusive_group_lost",
            f"{promotion.name}: only one promotion of group {group} applies, and "
            f"{work.groups[group]} did"))
        return
    lines = work.receipt.lines
    granted = grant(promotion.reward, lines, work.remaining, work.open_for(promotion.stackable))
    if granted.empty:
        _refuse(promotion, granted, work)
        return
    granted, cut = cap(granted, candidate.budget.kopecks, candidate.budget.points)
    if group is not None:
        work.groups[group] = promotion.promotion_id
    _record(promotion, granted, cut, candidate.budget, work)


def _refuse(promotion: Promotion, granted: Grant, work: _Work) -> None:
    everything = grant(promotion.reward, work.receipt.lines, work.remaining,
                       [True] * len(work.remaining))
    if not everything.empty:
        code, reason = "lines_taken", "its lines were taken by promotions applied before it"
    elif granted.shortfall:
        code, reason = "condition_not_met", f"the basket lacks: {granted.shortfall}"
        work.hints.append(f"{granted.shortfall[0].upper()}{granted.shortfall[1:]} "
                          f"to get {promotion.name}")
    else:
        code, reason = "no_benefit", "nothing on this receipt it can discount"
    work.rejected.append(PromotionRejection(promotion.promotion_id, code,
                                            f"{promotion.name}: {reason}"))


def _record(promotion: Promotion, granted: Grant, cut: bool, budget: Budget,
            work: _Work) -> None:
    pid = promotion.promotion_id
    for i, discount in enumerate(granted.discounts):
        work.remaining[i] -= discount
    for i in granted.claimed:
        work.claims[i] = max(work.claims[i], SHARED if promotion.stackable else CLOSED)
    if not promotion.combinable_with_points:
        work.no_points.update(range(len(work.remaining)) if granted.receipt_level
                              else granted.claimed)
    line_ids = work.ids(granted.claimed)
    if granted.points:
        work.bonuses.append(PointsBonus(pid, granted.points))
    if granted.factor is not None:
        work.multipliers.append(MultiplierBonus(pid, granted.factor, line_ids, budget.points))
    if granted.gift_sku is not None:
        work.gifts.append(GiftItem(pid, granted.gift_sku, granted.gift_quantity,
                                   granted.gift_freed, line_ids))
    work.free_delivery = work.free_delivery or granted.free_delivery
    rule = describe(promotion.reward) + (" (cut to the remaining budget)" if cut else "")
    work.applied.append(Effect(promotion.reward.EFFECT, pid, promotion.name,
                               amount=granted.amount, points=granted.points,
                               line_ids=line_ids, rule=rule))
    work.consumption.append(Consumption(pid, granted.amount, granted.points))
