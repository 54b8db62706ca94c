"""Pure evaluation of a receipt under a program version: what the member gets and pays.

`evaluate(program, receipt, member)` returns every effect with the rule that caused it, per
line, in kopecks and integer points. The till, the console preview and the what-if simulator
all call this one function; it reads no clock, database or network.

Order of effects (documented, tested):
1. line amounts: unit price x quantity, rounded half-up to the kopeck;
2. discount: the tier's percent if it has one, else the discount program's ladder by the
   receipt subtotal, on discountable, non-excluded lines; the receipt discount is floored to
   the kopeck and allocated to lines by largest remainder;
3. points redeemed: capped by the balance, the share of the receipt, the eligible lines and the
   minimum cash part; their money value allocated to eligible lines by largest remainder;
4. line totals = amount - discount - points value (what a fiscal receipt prints);
5. points earned on what is paid in money, by the earn ladder (by the receipt's payable total)
   times line multipliers and the tier multiplier, rounded per the currency (floor by default)
   and allocated to lines by largest remainder;
6. tier progress, upgrade and upsell messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import compress, repeat
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from kopilka.domain.allocation import allocate, distribute_remainders
from kopilka.domain.errors import InvalidInput
from kopilka.domain.kept import PerObject
from kopilka.domain.points import PointCurrency, Rounding, format_money
from kopilka.domain.program import (
    Condition,
    EarnRule,
    Expiry,
    ExpiryKind,
    Goods,
    Measure,
    Program,
    Step,
    Tier,
)

MAX_LINES = 500
MAX = "max"

if TYPE_CHECKING:  # domain.promotions builds on this module; its outcome comes in as data
    from kopilka.domain.promotions import PromotionOutcome, PromotionRejection


@dataclass(frozen=True, slots=True, init=False)
class Line:
    line_id: str
    sku: str
    unit_price: int  # kopecks
    quantity: Decimal
    category: str | None = None
    name: str | None = None
    discountable: bool = True

    def __init__(self, line_id: str, sku: str, unit_price: int, quantity: Decimal,
                 category: str | None = None, name: str | None = None,
                 discountable: bool = True) -> None:
        object.__setattr__(self, "line_id", line_id)
        object.__setattr__(self, "sku", sku)
        object.__setattr__(self, "unit_price", unit_price)
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "discountable", discountable)

    @property
    def amount(self) -> int:
        """unit price x quantity, half-up to the kopeck (exact integer arithmetic)."""
        num, den = self.quantity.as_integer_ratio()
        return (2 * self.unit_price * num + den) // (2 * den)


@dataclass(frozen=True, slots=True, init=False)
class Receipt:
    lines: tuple[Line, ...]
    occurred_at: datetime
    channel: str = "offline"
    payment_methods: tuple[str, ...] = ()
    redeem_points: int | str = 0  # an integer or "max"

    def __init__(self, lines: tuple[Line, ...], occurred_at: datetime, channel: str = "offline",
                 payment_methods: tuple[str, ...] = (), redeem_points: int | str = 0) -> None:
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "occurred_at", occurred_at)
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "payment_methods", payment_methods)
        object.__setattr__(self, "redeem_points", redeem_points)


@dataclass(frozen=True, slots=True, init=False)
class MemberState:
    """What evaluation needs to know of the member, read before (or under) the lock."""

    tier_code: str | None = None
    spendable: int = 0  # points of the burn currency that can be spent now
    available: int = 0  # the available balance (for the minimum balance to start spending)
    qualifying_value: int = 0  # tier measure accumulated in the current window

    def __init__(self, tier_code: str | None = None, spendable: int = 0, available: int = 0,
                 qualifying_value: int = 0) -> None:
        object.__setattr__(self, "tier_code", tier_code)
        object.__setattr__(self, "spendable", spendable)
        object.__setattr__(self, "available", available)
        object.__setattr__(self, "qualifying_value", qualifying_value)


@dataclass(frozen=True, slots=True, init=False)
class Effect:
    kind: str  # discount, points_redeemed, points_earned, points_multiplier, tier
    code: str  # the rule id
    name: str
    amount: int = 0  # kopecks
    points: int = 0
    line_ids: tuple[str, ...] = ()
    rule: str = ""  # a human explanation

    def __init__(self, kind: str, code: str, name: str, amount: int = 0, points: int = 0,
                 line_ids: tuple[str, ...] = (), rule: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "line_ids", line_ids)
        object.__setattr__(self, "rule", rule)


@dataclass(frozen=True, slots=True, init=False)
class Rejection:
    code: str
    reason: str
    rule: str = ""  # the promotion (or rule) refused, where there is one

    def __init__(self, code: str, reason: str, rule: str = "") -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "rule", rule)


class LineResult(NamedTuple):  # a tuple: one is built per line, so it must be cheap
    line_id: str
    unit_price: int
    quantity: Decimal
    amount: int
    discount: int
    points_redeemed: int
    points_redeemed_value: int
    total: int
    points_earned: int


@dataclass(frozen=True, slots=True, init=False)
class Accrual:
    """Points to credit on confirmation: currency, amount, when they activate and expire."""

    rule_id: str
    currency: str
    points: int
    activates_at: datetime | None
    expires_at: datetime | None
    lines: tuple[int, ...] = ()  # the points per receipt line (a return takes back its share)

    def __init__(self, rule_id: str, currency: str, points: int, activates_at: datetime | None,
                 expires_at: datetime | None, lines: tuple[int, ...] = ()) -> None:
        object.__setattr__(self, "rule_id", rule_id)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "activates_at", activates_at)
        object.__setattr__(self, "expires_at", expires_at)
        object.__setattr__(self, "lines", lines)


@dataclass(frozen=True, slots=True, init=False)
class Evaluation:  # evaluate() passes the fields by position, in this order
    subtotal: int
    discount_total: int
    points_redeemed: int
    points_redeemed_value: int
    total_payable: int
    points_earned: int
    points_earned_pending: int
    max_redeemable_points: int
    lines: tuple[LineResult, ...]
    applied: tuple[Effect, ...]
    rejected: tuple[Rejection, ...]
    messages: tuple[str, ...]
    accruals: tuple[Accrual, ...] = ()
    burn_currency: str | None = None
    qualifying_value: int = 0  # what this receipt adds to the tier measure
    tier_before: str | None = None
    tier_after: str | None = None
    program_version: int = 0

    def __init__(self, subtotal: int, discount_total: int, points_redeemed: int,
                 points_redeemed_value: int, total_payable: int, points_earned: int,
                 points_earned_pending: int, max_redeemable_points: int,
                 lines: tuple[LineResult, ...], applied: tuple[Effect, ...],
                 rejected: tuple[Rejection, ...], messages: tuple[str, ...],
                 accruals: tuple[Accrual, ...] = (), burn_currency: str | None = None,
                 qualifying_value: int = 0, tier_before: str | None = None,
                 tier_after: str | None = None, program_version: int = 0) -> None:
        object.__setattr__(self, "subtotal", subtotal)
        object.__setattr__(self, "discount_total", discount_total)
        object.__setattr__(self, "points_redeemed", points_redeemed)
        object.__setattr__(self, "points_redeemed_value", points_redeemed_value)
        object.__setattr__(self, "total_payable", total_payable)
        object.__setattr__(self, "points_earned", points_earned)
        object.__setattr__(self, "points_earned_pending", points_earned_pending)
        object.__setattr__(self, "max_redeemable_points", max_redeemable_points)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "applied", applied)
        object.__setattr__(self, "rejected", rejected)
        object.__setattr__(self, "messages", messages)
        object.__setattr__(self, "accruals", accruals)
        object.__setattr__(self, "burn_currency", burn_currency)
        object.__setattr__(self, "qualifying_value", qualifying_value)
        object.__setattr__(self, "tier_before", tier_before)
        object.__setattr__(self, "tier_after", tier_after)
        object.__setattr__(self, "program_version", program_version)


# --- the program, prepared once -------------------------------------------------------------
#
# Everything a receipt needs from the program that does not depend on the receipt is looked
# up once per Program object and kept in a `_Plan` (programs are frozen; the app keeps one
# object per stored version). Whether a line is in a goods set is remembered per (SKU,
# category) in a `_GoodsMatch`, as the same goods come back receipt after receipt. Nothing
# here changes a result: every cached value is what the plain code would compute again.

class _GoodsMatch:
    """A goods set and its answers so far: `Goods.contains` per (SKU, category)."""

    __slots__ = ("goods", "empty", "memo")

    def __init__(self, goods: Goods) -> None:
        self.goods = goods
        self.empty = goods.empty
        self.memo: dict[tuple[str, str | None], bool] = {}

    def flags(self, keys: list[tuple[str, str | None]]) -> list[bool]:
        """Per line (keys: the lines' (sku, category)): is it in the goods set?"""
        if self.empty:
            return [False] * len(keys)
        memo = self.memo
        try:
            flags = list(map(memo.get, keys))
        except TypeError:  # an unhashable SKU or category: ask the goods set itself
            contains = self.goods.contains
            return [contains(sku, category) for sku, category in keys]
        if None in flags:
            if len(memo) > _MEMO_LIMIT:  # bounded: a catalogue that outgrows it starts over
                memo.clear()
            contains = self.goods.contains
            for i, hit in enumerate(flags):
                if hit is None:
                    key = keys[i]
                    flags[i] = memo[key] = contains(*key)
        return cast(list[bool], flags)  # every None is filled in


_MEMO_LIMIT = 100_000  # (sku, category) answers kept per goods set
_MATCHES: dict[Goods, _GoodsMatch] = {}  # shared by equal goods sets of all programs


def _goods_match(goods: Goods) -> _GoodsMatch:
    """The one `_GoodsMatch` of goods sets equal to `goods` (its answers hold for them all)."""
    try:
        match = _MATCHES.get(goods)
        if match is None:
            if len(_MATCHES) >= 4096:
                _MATCHES.clear()
            match = _MATCHES[goods] = _GoodsMatch(goods)
        return match
    except TypeError:  # unhashable (lists instead of tuples): not shared
        return _GoodsMatch(goods)


def _member_of(match: _GoodsMatch, keys: list[tuple[str, str | None]],
               membership: dict[_GoodsMatch, list[bool]]) -> list[bool]:
    """Per line: is it in the goods set? Asked once per goods set and receipt."""
    flags = membership.get(match)
    if flags is None:
        flags = membership[match] = match.flags(keys)
    return flags


class _EarnPlan:
    """An earn rule with its goods sets; its texts and periods are made on first use."""

    __slots__ = ("rule", "steps", "excluded", "multipliers", "texts", "pending", "expires")

    def __init__(self, rule: EarnRule) -> None:
        self.rule = rule
        self.steps = rule.ladder.steps
        self.excluded = _goods_match(rule.excluded)
        self.multipliers = tuple((mult, _goods_match(mult.when.goods), f"x{mult.factor} points",
                                  f"points x{mult.factor} on matching lines")
                                 for mult in rule.multipliers)
        self.texts: dict[int, tuple[str, str]] = {}  # by ladder step: effect name and rule
        self.pending: timedelta | None = None  # timedelta(days=rule.pending_days)
        self.expires: timedelta | None = None  # timedelta(days=count) of an after_days expiry

    def dates(self, at: datetime) -> tuple[datetime | None, datetime | None]:
        """When points the rule credits for a receipt at `at` activate (None: at once) and
        expire (None: never), as pending_days and expiry_date() say; durations made once."""
        rule = self.rule
        activates = None
        if rule.pending_days:
            if self.pending is None:
                self.pending = timedelta(days=rule.pending_days)
            activates = at + self.pending
        expiry = rule.expiry
        if expiry.kind is ExpiryKind.AFTER_DAYS:
            if self.expires is None:
                self.expires = timedelta(days=expiry.count)
            return activates, at + self.expires
        return activates, expiry_date(expiry, at)


class _Plan:
    """A program's lookups: currencies, tier levels and tier ranks by code, the main earn
    currency, the goods sets of its rules, and effect texts made on first use."""

    __slots__ = ("program", "main", "currencies", "tiers", "levels", "level_by_code",
                 "rank_by_code", "discount_excluded", "burn_excluded", "burn_text", "earn",
                 "grants")

    def __init__(self, program: Program) -> None:
        self.program = program
        self.main = _main_earn_currency(program)
        self.currencies: dict[str, PointCurrency] = {}
        for cur in program.currencies:
            self.currencies.setdefault(cur.code, cur)  # the first of a code, as currency()
        discount, burn = program.discount, program.burn
        self.discount_excluded = _goods_match(discount.excluded) if discount else None
        self.burn_excluded = _goods_match(burn.excluded) if burn else None
        self.burn_text: str | None = None  # the points_redeemed effect's rule
        self.earn = tuple(_EarnPlan(rule) for rule in program.earn)
        # promotions' points: their currency and the earn rule that dates them (on first use)
        self.grants: tuple[str, _EarnPlan | None] | None = None
        tiers = self.tiers = program.tiers
        levels = self.levels = tiers.levels if tiers is not None else ()
        self.level_by_code: dict[str | None, Tier] = {}
        self.rank_by_code: dict[str | None, int] = {}
        for i, level in enumerate(levels):  # the first level of a code, as level() finds it
            self.level_by_code.setdefault(level.code, level)
            self.rank_by_code.setdefault(level.code, i)

    def currency(self, code: str) -> PointCurrency:
        cur = self.currencies.get(code)
        return cur if cur is not None else self.program.currency(code)  # raises KeyError

    def level(self, code: str | None) -> Tier:
        """TierProgram.level: the level of this code, else the entry level."""
        level = self.level_by_code.get(code)
        return level if level is not None else self.levels[0]


_PLANS: dict[int, _Plan] = {}  # by id(program); a plan holds its program, so ids stay unique


def _plan(program: Program) -> _Plan:
    """The plan of this Program object, made on its first receipt."""
    plan = _PLANS.get(id(program))
    if plan is None or plan.program is not program:
        plan = _Plan(program)
        if len(_PLANS) >= 256:
            _PLANS.clear()
        _PLANS[id(program)] = plan
    return plan


def _main_earn_currency(program: Program) -> str | None:
    return program.earn[0].currency if program.earn else None


# --- 1. line amounts ------------------------------------------------------------------------

_ZERO, _ONE = Decimal(0), Decimal(1)
_new_line_result = tuple.__new__  # a LineResult from a ready tuple, as LineResult(*t) makes it


def _lines(receipt: Receipt) -> tuple[list, ...]:
    """The receipt checked (as `_check` does) and read column-wise in one pass: line ids,
    unit prices, quantities, (SKU, category) pairs, and the amounts (as `Line.amount`)."""
    lines = receipt.lines
    ids, prices, quantities, keys, amounts = [], [], [], [], []
    try:
        for line in lines:
            price, quantity = line.unit_price, line.quantity
            num, den = quantity.as_integer_ratio()
            if price < 0 or num <= 0:  # den > 0: num <= 0 is quantity <= 0
                break
            ids.append(line.line_id)
            prices.append(price)
            quantities.append(quantity)
            keys.append((line.sku, line.category))
            amounts.append((2 * price * num + den) // (2 * den))
        else:
            if (ids and len(ids) <= MAX_LINES and len(set(ids)) == len(ids)
                    and receipt.occurred_at.tzinfo is not None):
                return ids, prices, quantities, keys, amounts
    except Exception:  # the checks below raise what applies
        pass
    _check(receipt)  # raises the error of the first check that fails
    amounts = [line.amount for line in lines]  # or what Line.amount raises
    return ([line.line_id for line in lines], [line.unit_price for line in lines],
            [line.quantity for line in lines], [(line.sku, line.category) for line in lines],
            amounts)


def _check(receipt: Receipt) -> None:
    if not receipt.lines:
        raise InvalidInput("a receipt needs at least one line", code="empty_receipt")
    if len(receipt.lines) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines per receipt", code="too_many_lines")
    ids = [line.line_id for line in receipt.lines]
    if len(set(ids)) != len(ids):
        raise InvalidInput("line ids must be unique", code="duplicate_line_id")
    for line in receipt.lines:
        if line.unit_price < 0 or line.quantity <= 0:
            raise InvalidInput(f"line {line.line_id}: price must be >= 0 and quantity > 0",
                               code="invalid_line")
    if receipt.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a time zone", code="invalid_time")


def _ladder_at(steps: tuple[Step, ...], amount: int) -> tuple[int, Step | None]:
    """Ladder.percent_for and Ladder.next_step in one pass: the index of the step in force
    (-1: none, 0%) and the next step up."""
    index, following = -1, None
    for i, step in enumerate(steps):
        if amount >= step.from_kopecks:
            index = i
        elif following is None:
            following = step
    return index, following


# --- the evaluation -------------------------------------------------------------------------

def evaluate(program: Program, receipt: Receipt, member: MemberState | None,
             promotions: PromotionOutcome | None = None) -> Evaluation:
    """`promotions`: what `domain.promotions.apply_promotions` gave this receipt (their line
    discounts come first; see the module docstring)."""
    ids, prices, quantities, keys, amounts = _lines(receipt)
    plan = _plan(program)
    subtotal = sum(amounts)
    burn = program.burn
    promo = promotions if promotions is not None and (
        promotions.applied or promotions.rejected or promotions.hints) else None
    if member is None and promo is not None:
        return _anonymous(program, promo, ids, prices, quantities, amounts, subtotal)
    if member is None:
        return Evaluation(
            subtotal=subtotal, discount_total=0, points_redeemed=0, points_redeemed_value=0,
            total_payable=subtotal, points_earned=0, points_earned_pending=0,
            max_redeemable_points=0,
            lines=tuple(map(_new_line_result, repeat(LineResult), zip(
                ids, prices, quantities, amounts, repeat(0), repeat(0), repeat(0), amounts,
                repeat(0), strict=False))),
            applied=(), rejected=(Rejection("no_member", "no member identified: no program "
                                                         "effects"),),
            messages=(), accruals=(), burn_currency=burn.currency if burn else None,
            program_version=program.version)
    tier = plan.level(member.tier_code) if member and program.tiers else None
    membership: dict[_GoodsMatch, list[bool]] = {}
    applied: list[Effect] = []
    rejected: list[Rejection] = []
    messages: list[str] = []
    # per-line lists left None are all zeros
    discounts, discount_total, blocked = None, 0, None
    if promo is not None:
        discounts, discount_total, blocked = _promotion_effects(promo, ids, applied, rejected,
                                                                messages)
    if program.discount is not None or (tier is not None
                                        and tier.discount_percent is not None):
        net = amounts if discounts is None else [
            a - d for a, d in zip(amounts, discounts, strict=True)]
        own, own_total = _discount(program, plan, receipt, tier, net,
                                   subtotal - discount_total, ids, keys, membership, applied,
                                   messages)
        if own is not None:
            discounts = own if discounts is None else [
                a + b for a, b in zip(discounts, own, strict=True)]
            discount_total += own_total
    redeemed, values, points_redeemed, value_total, max_points = _redeem(
        plan, receipt, member, amounts, discounts, subtotal, discount_total, ids, keys,
        membership, applied, rejected, blocked)
    if discounts is None and values is None:
        totals = amounts
    else:
        totals = [a - d - v for a, d, v in zip(amounts, discounts or repeat(0),
                                               values or repeat(0), strict=False)]
    paid = subtotal - discount_total - value_total
    earned, accruals, points_earned, pending = _earn(
        plan, receipt, tier, totals, paid, ids, keys, membership, applied, messages)
    if promo is not None and (promo.points_bonuses or promo.multipliers):
        earned, points_earned, pending = _promotion_points(
            plan, promo, receipt, totals, earned, ids, accruals, applied, points_earned,
            pending)
    tier_after, qualifying = (None, 0) if plan.tiers is None or tier is None else _tiers(
        plan, member, tier, paid, points_earned, applied, messages)
    lines = tuple(map(_new_line_result, repeat(LineResult), zip(
        ids, prices, quantities, amounts, discounts or repeat(0), redeemed or repeat(0),
        values or repeat(0), totals, earned or repeat(0), strict=False)))
    return Evaluation(  # positional (cheaper than keywords), in the order of the fields
        subtotal, discount_total, points_redeemed, value_total, paid, points_earned, pending,
        max_points, lines, tuple(applied), tuple(rejected), tuple(messages), tuple(accruals),
        burn.currency if burn else None, qualifying, tier.code if tier else None, tier_after,
        program.version)


# --- 2. discount ----------------------------------------------------------------------------

def _discount(program: Program, plan: _Plan, receipt: Receipt, tier: Tier | None,
              amounts: list[int], subtotal: int, ids: list[str],
              keys: list[tuple[str, str | None]], membership: dict[_GoodsMatch, list[bool]],
              applied: list[Effect], messages: list[str]) -> tuple[list[int] | None, int]:
    """The discount per line (None: none) and in total."""
    rule = program.discount
    if tier is not None and tier.discount_percent is not None:
        assert program.tiers is not None  # a member's tier is one of the program's
        percent, code, why = tier.discount_percent, program.tiers.rule_id, f"tier {tier.name}"
    else:
        assert rule is not None  # the caller asks for a discount rule or a tier discount
        steps = rule.ladder.steps
        index, step = _ladder_at(steps, subtotal)
        percent = steps[index].percent if index >= 0 else _ZERO
        code, why = rule.rule_id, "discount program"
        if step is not None and step.percent > percent:
            messages.append(f"Buy for {format_money(step.from_kopecks - subtotal)} more "
                            f"to get a {step.percent}% discount")
    discountable = [line.discountable for line in receipt.lines]
    if rule is not None:
        assert plan.discount_excluded is not None  # made with the rule
        excluded = _member_of(plan.discount_excluded, keys, membership)
        base = [a if d and not x else 0
                for a, d, x in zip(amounts, discountable, excluded, strict=True)]
    else:
        base = [a if d else 0 for a, d in zip(amounts, discountable, strict=True)]
    if percent <= 0:
        return None, 0
    base_total = sum(base)
    if base_total == 0:
        return None, 0
    total = _percent_of(base_total, percent)
    discounts = allocate(total, base)
    applied.append(Effect("discount", code, f"{percent}% discount", amount=total,
                          line_ids=tuple(compress(ids, discounts)),
                          rule=f"{percent}% off by the {why}"))
    return discounts, total


# --- 1b. promotions (computed before, by domain.promotions) ---------------------------------

def _promotion_effects(promo: PromotionOutcome, ids: list[str], applied: list[Effect],
                       rejected: list[Rejection], messages: list[str],
                       ) -> tuple[list[int] | None, int, list[bool] | None]:
    """The promotions' line discounts (None: none), their total, the lines they make not
    payable with points (None: none); their effects, refusals and hints are recorded."""
    applied.extend(promo.applied)
    for refusal in promo.rejected:
        rejected.append(_rejection.of(refusal))
    messages.extend(promo.hints)
    total = 0
    for discount in promo.line_discounts:
        total += discount
    blocked = None
    if promo.not_payable_with_points:
        no_points = set(promo.not_payable_with_points)
        blocked = [line_id in no_points for line_id in ids]
    return (list(promo.line_discounts) if total else None), total, blocked


# The engine hands out the same (frozen) refusal objects receipt after receipt: each one's
# Rejection (code, reason, promotion id or "") is made once.
_rejection: Final[PerObject[PromotionRejection, Rejection]] = PerObject(
    lambda refusal: Rejection(refusal.code, refusal.reason, refusal.promotion_id or ""))


def _anonymous(program: Program, promo: PromotionOutcome, ids: list[str],
               prices: Any, quantities: Any, amounts: list[int],
               subtotal: int) -> Evaluation:
    """A receipt without a member: promotions open to everyone still apply; nothing else."""
    applied: list[Effect] = []
    rejected: list[Rejection] = [Rejection("no_member", "no member identified: no program "
                                                        "effects")]
    messages: list[str] = []
    discounts, total, _blocked = _promotion_effects(promo, ids, applied, rejected, messages)
    discounts = discounts or [0] * len(amounts)
    totals = [a - d for a, d in zip(amounts, discounts, strict=True)]
    burn = program.burn
    return Evaluation(
        subtotal=subtotal, discount_total=total, points_redeemed=0, points_redeemed_value=0,
        total_payable=subtotal - total, points_earned=0, points_earned_pending=0,
        max_redeemable_points=0,
        lines=tuple(LineResult(i, p, q, a, d, 0, 0, t, 0) for i, p, q, a, d, t in zip(
            ids, prices, quantities, amounts, discounts, totals, strict=True)),
        applied=tuple(applied), rejected=tuple(rejected), messages=tuple(messages),
        accruals=(), burn_currency=burn.currency if burn else None,
        program_version=program.version)


def _promotion_points(plan: _Plan, promo: PromotionOutcome, receipt: Receipt,
                      totals: list[int], earned: list[int] | None, ids: list[str],
                      accruals: list[Accrual], applied: list[Effect], points_earned: int,
                      pending: int) -> tuple[list[int] | None, int, int]:
    """Extra points and multipliers of promotions, as one accrual each in the main currency
    (activation and expiry as the main currency's first earn rule). A multiplier adds
    floor(line points x (factor - 1)) per line, within the promotion's points budget left.
    Returns the points per line, and the points earned and pending, all updated."""
    main, rule = _grants(plan)
    at = receipt.occurred_at
    activates, expires = rule.dates(at) if rule is not None else (None, None)
    grants = _bonus_lines(promo, totals, len(ids))
    per_line = earned or [0] * len(ids)  # before these grants: what multipliers read
    if promo.multipliers:
        grants += _multiplied_lines(promo, ids, per_line)
    shown: dict[str, list[int]] = {}  # promotion id -> its effects that show its points
    for i, effect in enumerate(applied):
        if effect.kind in ("extra_points", "points_multiplier"):
            shown.setdefault(effect.code, []).append(i)
    counts_pending = activates is not None and activates > at
    for promotion_id, points, lines in grants:
        accruals.append(Accrual(promotion_id, main, points, activates, expires, tuple(lines)))
        points_earned += points
        if counts_pending:
            pending += points
        for i in shown.get(promotion_id, ()):
            e = applied[i]  # replace(e, points=points), built directly when they differ
            if e.points != points:
                applied[i] = Effect(e.kind, e.code, e.name, e.amount, points, e.line_ids,
                                    e.rule)
    if grants:  # the points per line: what the program gave, plus each grant
        per_line = list(per_line)
        n = len(per_line)
        for grant in grants:
            lines = grant[2]
            for i in range(n):  # (not `+=` on the item: compiled, that is a generic call)
                per_line[i] = per_line[i] + lines[i]
    return per_line, points_earned, pending


def _grants(plan: _Plan) -> tuple[str, _EarnPlan | None]:
    """The currency of promotions' points (the main earn currency, else the program's main
    one) and the first earn rule in it, which dates them (found once per plan)."""
    if plan.grants is None:
        main = plan.main or plan.program.main_currency
        plan.grants = (main, next((ep for ep in plan.earn if ep.rule.currency == main), None))
    return plan.grants


def _bonus_lines(promo: PromotionOutcome, totals: list[int],
                 n: int) -> list[tuple[str, int, list[int]]]:
    """(promotion id, points, points per line) of each extra-points bonus, allocated by what
    the lines pay (all to the first line when nothing is paid)."""
    weights = [max(t, 0) for t in totals]
    paid = 0
    for weight in weights:  # (a loop: compiled, cheaper than sum())
        paid += weight
    grants = []
    for bonus in promo.points_bonuses:
        points = bonus.points
        if points > 0:
            lines = allocate(points, weights) if paid else [points] + [0] * (n - 1)
            grants.append((bonus.promotion_id, points, lines))
    return grants


def _multiplied_lines(promo: PromotionOutcome, ids: list[str],
                      per_line: list[int]) -> list[tuple[str, int, list[int]]]:
    """(promotion id, points, points per line) of each multiplier that adds points: on its
    lines, floor(points x (factor - 1)), within its cap (allocated by what each would add)."""
    index = {line_id: i for i, line_id in enumerate(ids)}
    grants = []
    for mult in promo.multipliers:
        num, den = (mult.factor - 1).as_integer_ratio()
        extra = [0] * len(ids)
        for line_id in mult.line_ids:
            i = index.get(line_id)
            if i is not None:
                extra[i] = per_line[i] * num // den
        points = sum(extra)
        if mult.points_cap is not None and points > mult.points_cap:
            extra = allocate(mult.points_cap, extra)
            points = mult.points_cap
        if points > 0:
            grants.append((mult.promotion_id, points, extra))
    return grants


# --- 3. points redeemed ---------------------------------------------------------------------

def _redeem(plan: _Plan, receipt: Receipt, member: MemberState, amounts: list[int],
            discounts: list[int] | None, subtotal: int, discount_total: int,
            ids: list[str], keys: list[tuple[str, str | None]],
            membership: dict[_GoodsMatch, list[bool]], applied: list[Effect],
            rejected: list[Rejection], blocked: list[bool] | None = None,
            ) -> tuple[list[int] | None, list[int] | None, int, int, int]:
    """Points and their money value per line (None: none) and in total, and the most points
    the receipt could take. `blocked` lines (a promotion not combinable with points) take
    none, like excluded goods."""
    rule = plan.program.burn
    requested = receipt.redeem_points
    if rule is None:
        if requested:
            rejected.append(Rejection("no_burn_rule", "this program does not take points"))
        return None, None, 0, 0, 0
    minor = 10 ** plan.currency(rule.currency).scale  # minor units per point
    assert plan.burn_excluded is not None  # made with the burn rule
    excluded = _member_of(plan.burn_excluded, keys, membership)
    if blocked is not None:
        excluded = [x or b for x, b in zip(excluded, blocked, strict=True)]
    if discounts is None:  # the eligible lines' amounts; the list is made when needed
        eligible = None
        eligible_total = subtotal - sum(compress(amounts, excluded))
    else:
        exclude_discounted = rule.exclude_discounted
        eligible = [0 if x or (exclude_discounted and d > 0) else a - d
                    for a, d, x in zip(amounts, discounts, excluded, strict=True)]
        eligible_total = sum(eligible)
    after_discount = subtotal - discount_total
    share = _percent_of(after_discount, rule.max_share_percent)
    money_cap = max(min(share, eligible_total, after_discount - rule.min_cash_kopecks), 0)
    points_cap = (money_cap * minor // rule.point_value_kopecks
                  if rule.point_value_kopecks else 0)
    max_points = max(min(points_cap, member.spendable), 0)
    if member.available < rule.min_balance:
        if requested:
            rejected.append(Rejection(
                "below_min_balance", f"points can be spent from a balance of {rule.min_balance}"))
        return None, None, 0, 0, 0
    if not rule.combine_with_discounts and discount_total > 0:
        if requested:
            rejected.append(Rejection("not_combinable",
                                      "points do not combine with the discount"))
        return None, None, 0, 0, 0
    if not requested:
        return None, None, 0, 0, max_points
    points = max_points if requested == MAX else int(requested)
    if points > max_points:
        rejected.append(Rejection(
            "redeem_capped", f"{points} points asked, at most {max_points} can pay this "
                             f"receipt (balance, {rule.max_share_percent}% share, minimum cash)"))
        points = max_points
    if points <= 0:
        return None, None, 0, 0, max_points
    if eligible is None:
        eligible = [0 if x else a for a, x in zip(amounts, excluded, strict=True)]
    value = points * rule.point_value_kopecks // minor
    values, redeemed = _allocate_two(value, points, eligible, eligible_total)
    text = plan.burn_text
    if text is None:
        text = plan.burn_text = (f"1 point pays {format_money(rule.point_value_kopecks)}, "
                                 f"up to {rule.max_share_percent}% of the receipt")
    applied.append(Effect("points_redeemed", rule.rule_id, "paid with points", value, points,
                          tuple(compress(ids, values)), text))
    return redeemed, values, points, value, max_points


def _allocate_two(first: int, second: int, weights: list[int],
                  weight_sum: int) -> tuple[list[int], list[int]]:
    """allocate(first, weights) and allocate(second, weights) in one pass over the weights
    (weight_sum is sum(weights))."""
    if first < 0 or second < 0 or weight_sum <= 0:
        return allocate(first, weights), allocate(second, weights)
    parts_1, rests_1, parts_2, rests_2 = [], [], [], []
    for weight in weights:
        share = first * weight
        parts_1.append(share // weight_sum)
        rests_1.append(share % weight_sum)
        share = second * weight
        parts_2.append(share // weight_sum)
        rests_2.append(share % weight_sum)
    return (distribute_remainders(first, parts_1, rests_1),
            distribute_remainders(second, parts_2, rests_2))


# --- 5. points earned -----------------------------------------------------------------------

def _earn(plan: _Plan, receipt: Receipt, tier: Tier | None, totals: list[int], paid: int,
          ids: list[str], keys: list[tuple[str, str | None]],
          membership: dict[_GoodsMatch, list[bool]], applied: list[Effect],
          messages: list[str]) -> tuple[list[int] | None, list[Accrual], int, int]:
    """Points per line in the main currency (None: none), one accrual per earning rule, and
    the points in the main currency and those pending.

    A line's exact points are numerator / common denominator (integers, no rounding): paid x
    percent x (tier and matching multipliers) / value of a point. `unit` is the part of the
    numerator all lines share, `factors` the per-line multipliers (None: all the same)."""
    main = plan.main
    per_line = None
    accruals = []
    main_points = pending = 0
    at = receipt.occurred_at
    for ep in plan.earn:
        rule = ep.rule
        cur = plan.currency(rule.currency)
        steps = ep.steps
        index, step = _ladder_at(steps, paid)
        percent = steps[index].percent if index >= 0 else _ZERO
        if step is not None and step.percent > percent:
            messages.append(f"Buy for {format_money(step.from_kopecks - paid)} more "
                            f"to earn {step.percent}%")
        if cur.unit_value_kopecks == 0 or percent <= 0:
            continue
        p_num, p_den = percent.as_integer_ratio()
        t_num, t_den = (tier.earn_multiplier if tier is not None else _ONE).as_integer_ratio()
        denominator = p_den * 100 * t_den * cur.unit_value_kopecks
        unit = p_num * t_num * 10 ** cur.scale
        excluded = _member_of(ep.excluded, keys, membership)
        factors = None
        for mult, goods, name, text in ep.multipliers:
            f_num, f_den = mult.factor.as_integer_ratio()
            denominator *= f_den
            matching = _matching_lines(mult.when, receipt, goods, keys, membership)
            if matching is False:
                unit *= f_den
                continue
            if matching is True:
                unit *= f_num
                hits = tuple(compress(ids, [total > 0 and not x for total, x in zip(
                    totals, excluded, strict=True)]))
            else:
                factors = ([f_num if hit else f_den for hit in matching] if factors is None
                           else [f * (f_num if hit else f_den)
                                 for f, hit in zip(factors, matching, strict=True)])
                hits = tuple(compress(ids, [hit and total > 0 and not x for hit, total, x in zip(
                    matching, totals, excluded, strict=True)]))  # lines that hit and earn
            if hits:
                applied.append(Effect("points_multiplier", mult.rule_id, name, 0, 0, hits,
                                      text))
        # the numerators, split into floors and remainders by the denominator (> 0)
        floors, remainders = [], []
        numerator_sum = 0
        for i, total in enumerate(totals):
            if total > 0 and not excluded[i]:
                numerator = total * unit
                if factors is not None:
                    numerator *= factors[i]
                numerator_sum += numerator
                floors.append(numerator // denominator)
                remainders.append(numerator % denominator)
            else:
                floors.append(0)
                remainders.append(0)
        points = _round_div(numerator_sum, denominator, cur.earn_rounding)
        if points <= 0:
            continue
        lines = distribute_remainders(points, floors, remainders)
        if rule.currency == main:
            main_points += points
            per_line = lines if per_line is None else [
                a + b for a, b in zip(per_line, lines, strict=True)]
        activates, expires = ep.dates(at)
        if activates is not None and activates > at:
            pending += points
        accruals.append(Accrual(rule.rule_id, rule.currency, points, activates, expires,
                                tuple(lines)))
        texts = ep.texts.get(index)
        if texts is None:
            texts = ep.texts[index] = (
                f"{percent}% in {cur.name}",
                f"{percent}% of the paid amount"
                + (f", pending {rule.pending_days} days" if rule.pending_days else ""))
        applied.append(Effect("points_earned", rule.rule_id, texts[0], 0, points,
                              tuple(compress(ids, lines)), texts[1]))
    return per_line, accruals, main_points, pending


def _matching_lines(when: Condition, receipt: Receipt, goods: _GoodsMatch,
                    keys: list[tuple[str, str | None]],
                    membership: dict[_GoodsMatch, list[bool]]) -> bool | list[bool]:
    """Per line: does the multiplier's condition hold? The receipt-level parts (channel,
    payment, weekday, hours; in the receipt's own time zone) are checked once: False or True
    when they decide for every line."""
    at = receipt.occurred_at
    if ((when.channels and receipt.channel not in when.channels)
            or (when.payment_methods
                and not set(when.payment_methods) & set(receipt.payment_methods))
            or (when.weekdays and at.isoweekday() not in when.weekdays)
            or (when.hours is not None and not when.hours.start <= at.hour < when.hours.end)):
        return False
    if goods.empty:
        return True
    return _member_of(goods, keys, membership)


def _round_div(numerator: int, denominator: int, rounding: Rounding) -> int:
    """numerator / denominator rounded to an integer with the currency's mode."""
    quotient, remainder = divmod(numerator, denominator)
    if remainder == 0 or rounding is Rounding.FLOOR:
        return quotient
    if rounding is Rounding.CEILING:
        return quotient + 1
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and (rounding is Rounding.HALF_UP
                                                          or quotient % 2 == 1)):
        return quotient + 1
    return quotient


def _percent_of(amount: int, percent: Decimal) -> int:
    """floor(amount x percent / 100), exactly."""
    num, den = percent.as_integer_ratio()
    return amount * num // (den * 100)


def expiry_date(expiry: Expiry, earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire (in the receipt's own time zone)."""
    if expiry.kind is ExpiryKind.NEVER:
        return None
    if expiry.kind is ExpiryKind.AFTER_DAYS:
        return earned_at + timedelta(days=expiry.count)
    start = earned_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if expiry.kind is ExpiryKind.END_OF_MONTH:
        month = earned_at.month - 1 + expiry.count + 1  # the month after the last one
        return start.replace(year=start.year + month // 12, month=month % 12 + 1)
    return start.replace(year=earned_at.year + expiry.count + 1, month=1)


# --- 6. tiers -------------------------------------------------------------------------------

def _tiers(plan: _Plan, member: MemberState, current: Tier, paid: int, points_earned: int,
           applied: list[Effect], messages: list[str]) -> tuple[str, int]:
    """The tier after this receipt and what the receipt adds to the tier measure (the plan's
    lookups stand in for TierProgram.level, rank and above)."""
    tiers = plan.tiers
    assert tiers is not None  # asked only of a program with tiers
    contribution = {Measure.SPEND: paid, Measure.PURCHASES: 1,
                    Measure.POINTS_EARNED: points_earned}[tiers.measure]
    value = member.qualifying_value + contribution
    levels = plan.levels
    reached = levels[0]  # TierProgram.earned_level
    for level in levels:
        if value >= level.threshold:
            reached = level
    rank = plan.rank_by_code.get  # (code, 0): the entry level's rank for an unknown code
    if (tiers.entry_purchase_kopecks is not None and paid >= tiers.entry_purchase_kopecks
            and tiers.entry_purchase_tier is not None):
        entry = plan.level(tiers.entry_purchase_tier)
        if rank(entry.code, 0) > rank(reached.code, 0):
            reached = entry
    after = reached if rank(reached.code, 0) > rank(current.code, 0) else current
    if after.code != current.code:
        applied.append(Effect("tier", tiers.rule_id, f"tier {after.name}",
                              rule=f"upgrade from {current.name} to {after.name}"))
    index = rank(after.code, 0) + 1
    if index < len(levels):
        following = levels[index]
        missing = following.threshold - value
        if missing > 0:
            messages.append(f"{_measure_text(tiers.measure, missing)} more to reach "
                            f"{following.name}")
    return after.code, contribution


def _measure_text(measure: Measure, value: int) -> str:
    if measure is Measure.SPEND:
        return f"Buy for {format_money(value)}"
    if measure is Measure.PURCHASES:
        return f"{value} purchase{'s' if value != 1 else ''}"
    return f"{value} points"

