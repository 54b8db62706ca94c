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

Work done once: each promotion's reward is granted once per receipt where possible: the grant
computed to order a priority level is kept and used again when the promotion is applied (or
refused) as long as none of the lines it reads (`promotion_rewards.reads_of`) has changed since
(`_Work.touched`). A promotion whose reward reads no line of the receipt (its goods are not
on it) gives nothing: it is refused in its turn without a grant (`_Candidate.idle`). The
order and check of the promotions and what each needs (`promotion_plans`), their screening
shortcuts and screenings (`promotion_rules._Checks`) and their refusals at application are
kept per Promotion object. None of this changes an outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import MAX_LINES, Effect, Receipt
from kopilka.domain.promotion_outcome import (
    Consumption,
    GiftItem,
    MultiplierBonus,
    PointsBonus,
    PromotionOutcome,
)
from kopilka.domain.promotion_plans import MAX_PROMOTIONS, Plan, plans_of
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
    ReceiptLines,
    Reward,
    cap,
    give,
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

# a line's claim: nobody, stackable promotions, a non-stackable (Final: compiled to constants)
OPEN: Final = 0
SHARED: Final = 1
CLOSED: Final = 2


class _Candidate:
    """A promotion that passed screening, with what it may still give and, once computed, its
    grant on the lines as they were at `at` (the count of promotions applied by then)."""

    __slots__ = ("plan", "promotion", "budget", "reads", "idle", "granted", "amount", "at")

    def __init__(self, plan: Plan, budget: Budget, table: ReceiptLines) -> None:
        self.plan = plan
        self.promotion = plan.promotion
        self.budget = budget
        goods = plan.read_goods  # the lines its grant depends on
        self.reads = reads_ = plan.read(table) if goods is None else table.where(goods)
        # it reads no line and so gives nothing: refused in its turn, its grant never made
        self.idle = plan.idle_unread and not reads_
        self.granted: Grant | None = None
        self.amount = 0  # granted.amount
        self.at = -1


class _Work:
    """Mutable scratch of one application (never leaves this module).

    `touched[i]` is the count of promotions applied (`clock`) when line i last changed
    (its remaining amount or claim), so a grant computed at clock t on lines none of which was
    touched after t is still what `grant` would give now (`grant` reads only `reads` lines)."""

    __slots__ = ("receipt", "table", "line_ids", "remaining", "claims", "touched", "clock",
                 "groups", "applied", "rejected", "hints", "control", "bonuses", "multipliers",
                 "gifts", "no_points", "free_delivery", "open_stackable",
                 "open_alone")

    def __init__(self, receipt: Receipt, table: ReceiptLines, amounts: list[int]) -> None:
        n = len(amounts)
        self.receipt = receipt
        self.table = table
        self.line_ids = [line.line_id for line in receipt.lines]
        self.remaining = list(amounts)
        self.claims = [OPEN] * n
        self.touched = [0] * n
        self.clock = 0
        self.groups: dict[str, str] = {}  # exclusivity group -> promotion id
        self.applied: list[Effect] = []
        self.rejected: list[PromotionRejection] = []
        self.hints: list[str] = []
        self.control: list[ControlDecision] = []
        self.bonuses: list[PointsBonus] = []
        self.multipliers: list[MultiplierBonus] = []
        self.gifts: list[GiftItem] = []
        self.no_points: set[int] = set()
        self.free_delivery = False
        # per line: may a stackable / non-stackable promotion use it (`_record` keeps them)
        self.open_stackable = [True] * n  # claims[i] != CLOSED
        self.open_alone = [True] * n  # claims[i] == OPEN

    def ids(self, indexes: Sequence[int]) -> tuple[str, ...]:
        line_ids = self.line_ids
        return tuple([line_ids[i] for i in sorted(indexes)])


def apply_promotions(promotions: Sequence[Promotion], receipt: Receipt,
                     context: PromotionContext) -> PromotionOutcome:
    """Apply `promotions` to `receipt` (see the module docstring for the stacking rules)."""
    ordered, known = plans_of(promotions)
    amounts, ratios = _amounts(receipt)
    table = ReceiptLines(receipt.lines, ratios)
    work = _Work(receipt, table, amounts)
    for presented in context.codes:
        if presented.promotion_id is None or presented.promotion_id not in known:
            work.rejected.append(PromotionRejection(
                presented.promotion_id, "unknown_code",
                f"promo code {presented.code} is not valid for this purchase"))
    candidates = []
    rejected, hints, control = work.rejected, work.hints, work.control
    usage, coded = context.usage, bool(context.codes)
    for plan in ordered:
        if plan.unconditional and plan.promotion_id not in usage:
            candidates.append(_Candidate(plan, _NO_LIMIT, table))  # what screen would pass
            continue
        if not coded and plan.code_refusal is not None:  # what screen would refuse
            rejected.append(plan.code_refusal)
            continue
        screening = screen(plan.promotion, receipt, context, amounts, table)
        if screening.control is not None:
            control.append(screening.control)
        if screening.rejection is not None:
            rejected.append(screening.rejection)
            if screening.hint:
                hints.append(screening.hint)
            continue
        candidates.append(_Candidate(plan, screening.budget, table))
    level: list[_Candidate] = []  # the candidates of one priority (they come in order)
    for candidate in candidates:
        if level and candidate.plan.priority != level[0].plan.priority:
            _apply_level(level, work)
            level = []
        level.append(candidate)
    if level:
        _apply_level(level, work)
    remaining = work.remaining
    return PromotionOutcome(
        line_discounts=tuple([amounts[i] - remaining[i] for i in range(len(amounts))]),
        applied=tuple(work.applied), rejected=tuple(work.rejected), hints=tuple(work.hints),
        not_payable_with_points=work.ids(tuple(work.no_points)),
        points_bonuses=tuple(work.bonuses), multipliers=tuple(work.multipliers),
        gifts=tuple(work.gifts), free_delivery=work.free_delivery, control=tuple(work.control))


_NO_LIMIT: Final = Budget()


def _apply_level(level: list[_Candidate], work: _Work) -> None:
    """Apply the candidates of one priority, the larger benefit first."""
    for candidate in _by_benefit(level, work) if len(level) > 1 else level:
        _apply(candidate, work)


def _amounts(receipt: Receipt) -> tuple[list[int], list[tuple[int, int]]]:
    """The receipt checked, and its line amounts (as `Line.amount`) and quantities as integer
    ratios, in one pass."""
    lines = receipt.lines
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines per receipt", code="too_many_lines")
    if receipt.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a time zone", code="invalid_time")
    amounts, ratios = [], []
    for line in lines:
        price = line.unit_price
        ratio = line.quantity.as_integer_ratio()
        num, den = ratio  # den > 0: num <= 0 is quantity <= 0
        if price < 0 or num <= 0:
            raise InvalidInput("line prices must be >= 0 and quantities > 0",
                               code="invalid_line")
        amounts.append((2 * price * num + den) // (2 * den))
        ratios.append(ratio)
    return amounts, ratios


def _grant(candidate: _Candidate, work: _Work) -> Grant:
    """The candidate's grant on the lines as they are now: the one computed before when none
    of the lines it reads has changed since (the same inputs give the same grant). Its amount
    is left in `candidate.amount`."""
    granted = candidate.granted
    if granted is not None and (candidate.at == work.clock
                                or _untouched(work.touched, candidate.reads, candidate.at)):
        return granted
    plan = candidate.plan
    granted = candidate.granted = give(
        plan.kind, plan.reward, work.table, work.remaining,
        work.open_stackable if candidate.promotion.stackable else work.open_alone)
    amount = 0
    for part in granted.parts:
        amount += part
    candidate.amount = amount
    candidate.at = work.clock
    return granted


def _untouched(touched: list[int], reads: tuple[int, ...], at: int) -> bool:
    """Whether none of the lines `reads` changed after clock `at`. (Loops like this one,
    compiled, are ~10x cheaper than `max(map(...))` or `all(map(...))`, which call through
    Python per item: ARCHITECTURE, "The compiled domain".)"""
    for i in reads:
        if touched[i] > at:
            return False
    return True


def _by_benefit(level: list[_Candidate], work: _Work) -> list[_Candidate]:
    """One priority level, the larger benefit first (money, then points), then by id; each
    benefit computed on the receipt as the level starts."""
    if len(level) < 2:
        return level
    trials = []
    for i, c in enumerate(level):
        if c.idle:
            trials.append((0, 0, c.promotion.promotion_id, i))  # it gives nothing
            continue
        granted = _grant(c, work)
        # what cap(granted, budget) gives: a money cut allocates exactly the budget
        amount, points, budget = c.amount, granted.points, c.budget
        if budget.kopecks is not None and amount > budget.kopecks:
            amount = max(budget.kopecks, 0)
        if budget.points is not None and points > budget.points:
            points = max(budget.points, 0)
        trials.append((-amount, -points, c.promotion.promotion_id, i))
    trials.sort()
    return [level[trial[3]] for trial in trials]


def _apply(candidate: _Candidate, work: _Work) -> None:
    promotion = candidate.promotion
    group = promotion.exclusivity_group
    if group is not None and group in work.groups:
        work.rejected.append(candidate.plan.refusal("exclusive_group_lost", work.groups[group],
                                                    _refusal_texts)[0])
        return
    if candidate.idle:  # what _refuse gives a grant of nothing on no line, made once
        refusal, hint = candidate.plan.idle_refusal or _idle_refusal(candidate, work)
        if hint is not None:
            work.hints.append(hint)
        work.rejected.append(refusal)
        return
    granted = _grant(candidate, work)
    amount = candidate.amount
    if not (amount or granted.points or granted.factor is not None  # granted.empty
            or granted.gift_sku is not None or granted.free_delivery):
        _refuse(candidate, granted, work)
        return
    budget = candidate.budget
    cut = False
    if budget.kopecks is not None or budget.points is not None:
        granted, cut = cap(granted, budget.kopecks, budget.points)
        amount = granted.amount
    if group is not None:
        work.groups[group] = promotion.promotion_id
    _record(candidate.plan, granted, amount, cut, budget, work)


def _refuse(candidate: _Candidate, granted: Grant, work: _Work) -> None:
    promotion = candidate.promotion
    open_ = work.open_stackable if promotion.stackable else work.open_alone
    if work.clock == 0 or _all_open(open_, candidate.reads):
        taken = False  # every line it reads is open to it: the same (empty) grant
    else:
        taken = not grant(promotion.reward, work.receipt.lines, work.remaining,
                          [True] * len(work.remaining), work.table).empty
    refusal, hint = _refusal_of(candidate.plan, granted, taken)
    if hint is not None:
        work.hints.append(hint)
    work.rejected.append(refusal)


def _all_open(open_: list[bool], reads: tuple[int, ...]) -> bool:
    for i in reads:
        if not open_[i]:
            return False
    return True


def _idle_refusal(candidate: _Candidate, work: _Work) -> tuple[PromotionRejection, str | None]:
    """The refusal of a promotion that reads no line of the receipt (`_Candidate.idle`): its
    grant on no line is nothing, whatever the receipt, and no line it reads can be taken.
    Kept on the plan (made the same by any thread that makes it)."""
    plan = candidate.plan
    made = plan.idle_refusal = _refusal_of(plan, _grant(candidate, work), False)
    return made


def _refusal_of(plan: Plan, granted: Grant, taken: bool) -> tuple[PromotionRejection, str | None]:
    """Why a promotion whose grant is empty is refused, and its hint (None: none)."""
    if taken:
        return plan.refusal("lines_taken", "", _refusal_texts)
    shortfall = granted.shortfall
    if shortfall:
        return plan.refusal("condition_not_met", shortfall, _refusal_texts)
    return plan.refusal("no_benefit", "", _refusal_texts)


def _refusal_texts(promotion: Promotion, code: str, detail: str) -> tuple[str, str | None]:
    """The reason and hint of a refusal at application (`Plan.refusal`)."""
    if code == "exclusive_group_lost":
        return (f"only one promotion of group {promotion.exclusivity_group} applies, and "
                f"{detail} did"), None
    if code == "lines_taken":
        return "its lines were taken by promotions applied before it", None
    if code == "condition_not_met":  # detail: the shortfall
        return (f"the basket lacks: {detail}",
                f"{detail[0].upper()}{detail[1:]} to get {promotion.name}")
    return "nothing on this receipt it can discount", None


def _record(plan: Plan, granted: Grant, amount: int, cut: bool, budget: Budget,
            work: _Work) -> None:
    promotion = plan.promotion
    pid = plan.promotion_id
    work.clock += 1
    touched, clock = work.touched, work.clock
    remaining, claims = work.remaining, work.claims
    claim = SHARED if promotion.stackable else CLOSED
    claimed, parts = granted.claimed, granted.parts
    for k in range(len(claimed)):  # (compiled, an index loop is cheaper than zip(strict=True))
        i = claimed[k]
        remaining[i] = remaining[i] - parts[k]  # every reward discounts only lines it claims
        # (not `-=`: compiled, a list item's augmented assignment is a generic call)
        if claims[i] < claim:
            claims[i] = claim
            work.open_alone[i] = False
            if claim == CLOSED:
                work.open_stackable[i] = False
        touched[i] = clock
    if not promotion.combinable_with_points:
        work.no_points.update(range(len(work.remaining)) if granted.receipt_level
                              else granted.claimed)
    ids = work.line_ids  # claimed lines come in receipt order from every reward kind
    line_ids = tuple([ids[i] for i in granted.claimed]) if granted.claimed else ()
    if granted.points:
        work.bonuses.append(PointsBonus(pid, granted.points))
    if granted.factor is not None:
        work.multipliers.append(MultiplierBonus(pid, granted.factor, line_ids, budget.points))
    if granted.gift_sku is not None:
        work.gifts.append(GiftItem(pid, granted.gift_sku, granted.gift_quantity,
                                   granted.gift_freed, line_ids))
    work.free_delivery = work.free_delivery or granted.free_delivery
    rule = plan.rule
    if cut:
        rule += " (cut to the remaining budget)"
    work.applied.append(Effect(plan.effect, pid, promotion.name,  # positional:
                               amount, granted.points, line_ids, rule))  # cheaper
