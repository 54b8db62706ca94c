"""What a promotion is (SPEC R1-R5, R7, P8) and whether it is open to one receipt.

A promotion is data: targeting and basket conditions, a reward (`promotion_rewards`), limits
and budgets, stacking attributes. `screen` decides, before any reward is computed, whether a
promotion may apply to a receipt, in this order (the first failure is the reason given):

1. validity window: `starts_at` <= occurred_at < `ends_at`           -> not_started, expired
2. a code: a code-only promotion needs a presented code resolved to it -> code_required
3. audience: invited list (closed club), tiers, segments, first purchase, stores, channels,
   weekdays and hours (in the receipt's own time zone)
              -> not_invited, tier, segment, first_purchase, store, channel, schedule
4. limits: any remaining budget (money, points, count) spent; the member's uses in the current
   per-member period; the store's uses in the per-store period
              -> budget_exhausted, member_required, member_limit, store_limit
5. control group: a stable share of the audience is held back (`in_control_group`); the
   decision is recorded either way so uplift can be measured   -> control_group
   (an anonymous receipt has no id to hash: it is never held back and records no decision)
6. basket: goods present (quantity, amount) and the receipt's minimum amount, on the line
   amounts before any promotion; a hint says what is missing   -> condition_not_met

The control decision comes after the audience and the limits (a member outside the audience, or
of a campaign that stopped giving, is not part of the experiment) and before the basket (the
basket is the behaviour the promotion tries to change, so held-back members get no hints).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from kopilka.domain.errors import InvalidInput
from kopilka.domain.evaluation import Receipt
from kopilka.domain.kept import PerObject
from kopilka.domain.points import format_money
from kopilka.domain.program import Channel, Goods, Hours
from kopilka.domain.promotion_rewards import ReceiptLines, Reward, goods_text


class Period(StrEnum):
    """The period a per-member or per-store use count is counted over."""

    DAY = "day"
    WEEK = "week"  # Monday 00:00 to Monday 00:00
    MONTH = "month"
    EVER = "ever"  # the whole life of the promotion


@dataclass(frozen=True, slots=True)
class GoodsCondition:
    """Goods that must be on the receipt: at least `min_quantity` units (any line, when 0) and
    `min_amount_kopecks` of them. `label` names them in hints ("Coffee")."""

    goods: Goods
    min_quantity: Decimal = Decimal(0)
    min_amount_kopecks: int = 0
    label: str = ""


@dataclass(frozen=True, slots=True)
class Conditions:
    """All must hold. Empty collections mean "any"."""

    goods: tuple[GoodsCondition, ...] = ()
    min_receipt_kopecks: int = 0  # the receipt's line amounts before promotions
    first_purchase: bool = False
    stores: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    weekdays: tuple[int, ...] = ()  # 1 = Monday .. 7 = Sunday
    hours: Hours | None = None
    tiers: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()  # the member must be in at least one
    invited: frozenset[str] = frozenset()  # member ids of a closed club (P8)


@dataclass(frozen=True, slots=True)
class Limits:
    """Totals of the campaign; the caller's `PromotionUsage` says how much of them is left."""

    budget_kopecks: int | None = None
    budget_points: int | None = None
    count: int | None = None  # receipts the promotion may apply to, in all
    per_member_count: int | None = None
    per_member_period: Period = Period.EVER
    per_store_count: int | None = None
    per_store_period: Period = Period.EVER


@dataclass(frozen=True, slots=True)
class Promotion:
    promotion_id: str
    name: str
    reward: Reward
    priority: int = 0  # higher first
    exclusivity_group: str | None = None  # at most one promotion of a group applies
    combinable_with_points: bool = True  # False: what it discounts cannot be paid with points
    stackable: bool = True  # False: takes only unclaimed lines and closes them to others
    requires_code: bool = False
    starts_at: datetime | None = None  # inclusive
    ends_at: datetime | None = None  # exclusive
    control_share_percent: Decimal = Decimal(0)  # share of the audience held back (R7)
    conditions: Conditions = Conditions()
    limits: Limits = Limits()

    def __post_init__(self) -> None:
        problems = []
        if not self.promotion_id:
            problems.append("a promotion needs an id")
        if not 0 <= self.control_share_percent <= 100:
            problems.append("the control share must be 0..100 percent")
        if self.starts_at is not None and self.ends_at is not None \
                and self.ends_at <= self.starts_at:
            problems.append("ends_at must be after starts_at")
        for name in ("budget_kopecks", "budget_points", "count", "per_member_count",
                     "per_store_count"):
            value = getattr(self.limits, name)
            if value is not None and value < 0:
                problems.append(f"limit {name} cannot be negative")
        if problems:
            raise InvalidInput(f"promotion {self.promotion_id!r}: {'; '.join(problems)}",
                               code="invalid_promotion")


@dataclass(frozen=True, slots=True, init=False)
class PresentedCode:
    """A promo code on the receipt and the promotion the caller resolved it to (None: the code
    is unknown, used up or not valid for this member; the caller checks per-code limits)."""

    code: str
    promotion_id: str | None

    def __init__(self, code: str, promotion_id: str | None) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "promotion_id", promotion_id)


@dataclass(frozen=True, slots=True, init=False)
class PromotionUsage:
    """The caller's snapshot of one promotion's use, read under its lock when confirming.
    Remaining amounts: None means unlimited; they never raise a budget above its total."""

    remaining_kopecks: int | None = None
    remaining_points: int | None = None
    remaining_count: int | None = None
    member_uses: int = 0  # by this member in the current per-member period
    store_uses: int = 0  # at this store in the current per-store period

    def __init__(self, remaining_kopecks: int | None = None, remaining_points: int | None = None,
                 remaining_count: int | None = None, member_uses: int = 0,
                 store_uses: int = 0) -> None:
        object.__setattr__(self, "remaining_kopecks", remaining_kopecks)
        object.__setattr__(self, "remaining_points", remaining_points)
        object.__setattr__(self, "remaining_count", remaining_count)
        object.__setattr__(self, "member_uses", member_uses)
        object.__setattr__(self, "store_uses", store_uses)


@dataclass(frozen=True, slots=True)
class PromotionContext:
    """Who buys where, with which codes, and how much of each promotion is used up. The time
    is the receipt's `occurred_at`. A promotion missing from `usage` is taken as unused."""

    member_id: str | None = None
    tier_code: str | None = None
    segments: frozenset[str] = frozenset()
    store_id: str | None = None
    channel: str | None = None  # None: the receipt's channel
    is_first_purchase: bool = False
    codes: tuple[PresentedCode, ...] = ()
    usage: Mapping[str, PromotionUsage] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, init=False)
class PromotionRejection:
    promotion_id: str | None  # None for a code that resolved to no promotion
    code: str
    reason: str

    def __init__(self, promotion_id: str | None, code: str, reason: str) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "reason", reason)


@dataclass(frozen=True, slots=True, init=False)
class ControlDecision:
    """Whether the member was held back from the promotion (the control group) or exposed."""

    promotion_id: str
    member_id: str
    held_back: bool
    share_percent: Decimal

    def __init__(self, promotion_id: str, member_id: str, held_back: bool,
                 share_percent: Decimal) -> None:
        object.__setattr__(self, "promotion_id", promotion_id)
        object.__setattr__(self, "member_id", member_id)
        object.__setattr__(self, "held_back", held_back)
        object.__setattr__(self, "share_percent", share_percent)


@dataclass(frozen=True, slots=True, init=False)
class Budget:
    """What a promotion may still give on this receipt (None: unlimited)."""

    kopecks: int | None = None
    points: int | None = None

    def __init__(self, kopecks: int | None = None, points: int | None = None) -> None:
        object.__setattr__(self, "kopecks", kopecks)
        object.__setattr__(self, "points", points)


@dataclass(frozen=True, slots=True, init=False)
class Screening:
    rejection: PromotionRejection | None = None
    hint: str = ""
    control: ControlDecision | None = None
    budget: Budget = Budget()

    def __init__(self, rejection: PromotionRejection | None = None, hint: str = "",
                 control: ControlDecision | None = None, budget: Budget = Budget()) -> None:
        object.__setattr__(self, "rejection", rejection)
        object.__setattr__(self, "hint", hint)
        object.__setattr__(self, "control", control)
        object.__setattr__(self, "budget", budget)


def in_control_group(promotion_id: str, member_id: str, share_percent: Decimal) -> bool:
    """Stable assignment: the first 64 bits of sha256(promotion id NUL member id) as a fraction
    of 2**64, held back when below the share. Same inputs, same answer, on every node and run;
    independent across promotions."""
    if share_percent <= 0:
        return False
    digest = hashlib.sha256(f"{promotion_id}\x00{member_id}".encode()).digest()
    num, den = share_percent.as_integer_ratio()
    return int.from_bytes(digest[:8], "big") * 100 * den < num * 2**64


def period_start(period: Period, at: datetime) -> datetime | None:
    """Start of the per-member/per-store period containing `at`, in `at`'s own time zone (None
    for `ever`): for the caller, which counts the uses since then."""
    if period is Period.EVER:
        return None
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=at.weekday())
    return day.replace(day=1)


class _Checks:
    """Which screening steps can refuse a promotion, worked out once per Promotion object
    (promotions are frozen): a step that cannot refuse it is skipped, which changes nothing."""

    __slots__ = ("promotion", "window", "audience", "limits", "control", "basket", "budget",
                 "passed", "passed_with", "refused")

    def __init__(self, promotion: Promotion) -> None:
        self.promotion = promotion
        when, limits = promotion.conditions, promotion.limits
        self.window = promotion.starts_at is not None or promotion.ends_at is not None
        self.audience = bool(when.invited or when.tiers or when.segments or when.first_purchase
                             or when.stores or when.channels or when.weekdays
                             or when.hours is not None)
        self.limits = any(v is not None for v in (
            limits.budget_kopecks, limits.budget_points, limits.count, limits.per_member_count,
            limits.per_store_count))
        self.control = promotion.control_share_percent > 0
        self.basket = bool(when.goods) or when.min_receipt_kopecks > 0
        # with no usage snapshot, the budget is the totals (or unlimited), and a promotion
        # that passes (with no control decision) passes with this screening
        self.budget = _UNLIMITED if limits.budget_kopecks is None \
            and limits.budget_points is None else Budget(limits.budget_kopecks,
                                                         limits.budget_points)
        self.passed = _PASSED if self.budget is _UNLIMITED else Screening(budget=self.budget)
        # with a usage snapshot and no control decision: the passing screening by the budget
        # left, (kopecks, points)
        self.passed_with: dict[tuple[int | None, int | None], Screening] = {}
        # a refusal before the control group, by (code, reason), or a basket's without a
        # control decision, by ("condition_not_met", what it lacks): the same screening each time
        self.refused: dict[tuple[str, str], Screening] = {}


_UNUSED: Final = PromotionUsage()
_UNLIMITED = Budget()
_PASSED = Screening()


_checks: Final[PerObject[Promotion, _Checks]] = PerObject(_Checks)


def unconditional(promotion: Promotion) -> bool:
    """Whether nothing in screening can refuse `promotion` or limit its budget (no window,
    code, audience, limits, control group or basket condition): `screen` then passes it with
    an unlimited budget and no control decision whenever the context holds no usage of it."""
    checks = _checks.of(promotion)
    return not (checks.window or promotion.requires_code or checks.audience or checks.limits
                or checks.control or checks.basket)


def screen(promotion: Promotion, receipt: Receipt, context: PromotionContext,
           amounts: Sequence[int], table: ReceiptLines | None = None) -> Screening:
    """Whether `promotion` may apply to `receipt` (see the module docstring for the order).
    `amounts` are the receipt's line amounts before promotions; `table` the receipt's lines
    read once (`ReceiptLines`, made here when needed and not given)."""
    checks = _checks.of(promotion)
    usage = context.usage.get(promotion.promotion_id, _UNUSED)
    refusal = ((checks.window and _window(promotion, receipt.occurred_at))
               or (promotion.requires_code and _code(promotion, context))
               or (checks.audience and _audience(promotion, receipt, context))
               or ((checks.limits or usage is not _UNUSED) and _limits(promotion, context, usage)))
    if refusal:
        refused = checks.refused.get(refusal)
        if refused is None:
            if len(checks.refused) >= 64:
                checks.refused.clear()
            refused = checks.refused[refusal] = Screening(_reject(promotion, *refusal))
        return refused
    control = None
    share = promotion.control_share_percent
    if checks.control and context.member_id is not None:
        held = in_control_group(promotion.promotion_id, context.member_id, share)
        control = ControlDecision(promotion.promotion_id, context.member_id, held, share)
        if held:
            return Screening(_reject(promotion, "control_group",
                                     f"held back in the {share}% control group"), control=control)
    if checks.basket:
        missing = _basket(promotion.conditions, receipt, amounts,
                          table if table is not None else ReceiptLines(receipt.lines))
        if missing:
            if control is not None:
                return _lacking(promotion, missing, control)
            refused = checks.refused.get(("condition_not_met", missing))
            if refused is None:
                if len(checks.refused) >= 64:
                    checks.refused.clear()
                refused = checks.refused["condition_not_met", missing] = _lacking(promotion,
                                                                                 missing, None)
            return refused
    if usage is _UNUSED:
        if control is None:
            return checks.passed
        budget = checks.budget
    else:
        limits = promotion.limits
        kopecks = _least(limits.budget_kopecks, usage.remaining_kopecks)
        points = _least(limits.budget_points, usage.remaining_points)
        if control is None:  # the same screening for the same budget left
            passed = checks.passed_with.get((kopecks, points))
            if passed is None:
                if len(checks.passed_with) >= 64:
                    checks.passed_with.clear()
                passed = checks.passed_with[kopecks, points] = Screening(
                    budget=Budget(kopecks, points))
            return passed
        budget = Budget(kopecks, points)
    return Screening(control=control, budget=budget)


def _lacking(promotion: Promotion, missing: str,
             control: ControlDecision | None) -> Screening:
    """The screening of a basket that lacks `missing`, with its hint."""
    return Screening(_reject(promotion, "condition_not_met", f"the basket lacks: {missing}"),
                     hint=f"{missing[0].upper()}{missing[1:]} to get {promotion.name}",
                     control=control)


def _reject(promotion: Promotion, code: str, reason: str) -> PromotionRejection:
    return PromotionRejection(promotion.promotion_id, code, f"{promotion.name}: {reason}")


def _least(total: int | None, remaining: int | None) -> int | None:
    """The smaller of the two that are given (None: neither is)."""
    if total is None:
        return remaining
    if remaining is None or total < remaining:
        return total
    return remaining


def _window(promotion: Promotion, at: datetime) -> tuple[str, str] | None:
    if promotion.starts_at is not None and at < promotion.starts_at:
        return "not_started", f"starts at {promotion.starts_at.isoformat()}"
    if promotion.ends_at is not None and at >= promotion.ends_at:
        return "expired", f"ended at {promotion.ends_at.isoformat()}"
    return None


_CODE_REQUIRED = ("code_required", "needs a promo code")


def _code(promotion: Promotion, context: PromotionContext) -> tuple[str, str] | None:
    if promotion.requires_code and not any(c.promotion_id == promotion.promotion_id
                                           for c in context.codes):
        return _CODE_REQUIRED
    return None


def code_refusal(promotion: Promotion) -> PromotionRejection | None:
    """What `screen` refuses a code-only promotion with on a receipt that presents no code at
    all, when nothing screened before the code (its window) can refuse it first; None for
    other promotions."""
    if not promotion.requires_code or _checks.of(promotion).window:
        return None
    return _reject(promotion, *_CODE_REQUIRED)


def _audience(promotion: Promotion, receipt: Receipt,
              context: PromotionContext) -> tuple[str, str] | None:
    when = promotion.conditions
    member = context.member_id
    if when.invited and (member is None or member not in when.invited):
        return "not_invited", "for invited members only"
    if when.tiers and (member is None or context.tier_code not in when.tiers):
        return "tier", f"for tiers {', '.join(when.tiers)} only"
    if when.segments and (member is None or not context.segments & set(when.segments)):
        return "segment", "for members of selected segments only"
    if when.first_purchase and (member is None or not context.is_first_purchase):
        return "first_purchase", "for a member's first purchase only"
    if when.stores and context.store_id not in when.stores:
        return "store", "not valid in this store"
    channel = context.channel if context.channel is not None else receipt.channel
    if when.channels and channel not in when.channels:
        return "channel", f"for {', '.join(when.channels)} purchases only"
    at = receipt.occurred_at
    if when.weekdays and at.isoweekday() not in when.weekdays:
        return "schedule", "not valid on this day of the week"
    if when.hours is not None and not when.hours.start <= at.hour < when.hours.end:
        return "schedule", f"valid from {when.hours.start}:00 to {when.hours.end}:00 only"
    return None


def _limits(promotion: Promotion, context: PromotionContext,
            usage: PromotionUsage) -> tuple[str, str] | None:
    limits = promotion.limits
    for what, remaining in (
            ("money", _least(limits.budget_kopecks, usage.remaining_kopecks)),
            ("points", _least(limits.budget_points, usage.remaining_points)),
            ("uses", _least(limits.count, usage.remaining_count))):
        if remaining is not None and remaining <= 0:
            return "budget_exhausted", f"its budget of {what} is spent"
    if limits.per_member_count is not None:
        if context.member_id is None:
            return "member_required", "for identified members only (limited per member)"
        if usage.member_uses >= limits.per_member_count:
            return "member_limit", (f"already used {usage.member_uses} of "
                                    f"{limits.per_member_count} times "
                                    f"({limits.per_member_period.value})")
    if limits.per_store_count is not None:
        if context.store_id is None:
            return "store_limit", "limited per store, and no store was given"
        if usage.store_uses >= limits.per_store_count:
            return "store_limit", (f"the store's limit of {limits.per_store_count} uses "
                                   f"({limits.per_store_period.value}) is reached")
    return None


def _basket(when: Conditions, receipt: Receipt, amounts: Sequence[int],
            table: ReceiptLines) -> str:
    """What the basket lacks, as a hint fragment ("add 1 more item from Coffee"), or ""."""
    missing = []
    lines = receipt.lines
    for condition in when.goods:
        quantity, amount, found = Decimal(0), 0, False
        for i in table.where(condition.goods):
            quantity, amount, found = quantity + lines[i].quantity, amount + amounts[i], True
        name = condition.label or goods_text(condition.goods)
        if not found or quantity < condition.min_quantity:
            short = max(condition.min_quantity - quantity, Decimal(1) if not found else 0)
            count = math.ceil(short)  # whole items (weighed goods: rounded up)
            missing.append(f"add {count} more item{'s' if count != 1 else ''} from {name}")
        elif amount < condition.min_amount_kopecks:
            missing.append(f"buy {name} for {format_money(condition.min_amount_kopecks - amount)}"
                           " more")
    subtotal = sum(amounts)
    if subtotal < when.min_receipt_kopecks:
        missing.append(f"buy for {format_money(when.min_receipt_kopecks - subtotal)} more")
    return " and ".join(missing)
