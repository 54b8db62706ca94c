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

from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import datetime, timedelta
from decimal import Decimal

from kopilka.domain.allocation import allocate, distribute_fractions
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import Rounding, format_money
from kopilka.domain.program import (
    BurnRule,
    Condition,
    EarnRule,
    Expiry,
    ExpiryKind,
    Goods,
    Measure,
    Program,
    Tier,
)

MAX_LINES = 500
MAX = "max"


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku: str
    unit_price: int  # kopecks
    quantity: Decimal
    category: str | None = None
    name: str | None = None
    discountable: bool = True

    @property
    def amount(self) -> int:
        """unit price x quantity, half-up to the kopeck (exact integer arithmetic)."""
        num, den = self.quantity.as_integer_ratio()
        return (2 * self.unit_price * num + den) // (2 * den)


@dataclass(frozen=True, slots=True)
class Receipt:
    lines: tuple[Line, ...]
    occurred_at: datetime
    channel: str = "offline"
    payment_methods: tuple[str, ...] = ()
    redeem_points: int | str = 0  # an integer or "max"


@dataclass(frozen=True, slots=True)
class MemberState:
    """What evaluation needs to know of the member, read before (or under) the lock."""

    tier_code: str | None = None
    spendable: int = 0  # points of the burn currency that can be spent now
    available: int = 0  # the available balance (for the minimum balance to start spending)
    qualifying_value: int = 0  # tier measure accumulated in the current window


@dataclass(frozen=True, slots=True)
class Effect:
    kind: str  # discount, points_redeemed, points_earned, points_multiplier, tier
    code: str  # the rule id
    name: str
    amount: int = 0  # kopecks
    points: int = 0
    line_ids: tuple[str, ...] = ()
    rule: str = ""  # a human explanation


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    reason: str


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


@dataclass(frozen=True, slots=True)
class Accrual:
    """Points to credit on confirmation: currency, amount, when they activate and expire."""

    rule_id: str
    currency: str
    points: int
    activates_at: datetime | None
    expires_at: datetime | None
    lines: tuple[int, ...] = ()  # the points per receipt line (a return takes back its share)


@dataclass(frozen=True, slots=True)
class Evaluation:
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


@dataclass
class _Work:
    """Mutable scratch of one evaluation (never leaves this module)."""

    amounts: list[int]
    discounts: list[int] = field(default_factory=list)
    redeemed: list[int] = field(default_factory=list)
    redeemed_value: list[int] = field(default_factory=list)
    applied: list[Effect] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    _membership: dict[Goods, list[bool]] = field(default_factory=dict)

    def member_of(self, goods: Goods, receipt: Receipt) -> list[bool]:
        """Per line: is it in `goods`? Computed once per goods set and receipt."""
        key = goods
        if key not in self._membership:
            if goods.empty:
                self._membership[key] = [False] * len(receipt.lines)
            else:
                self._membership[key] = [goods.contains(line.sku, line.category)
                                         for line in receipt.lines]
        return self._membership[key]


def evaluate(program: Program, receipt: Receipt, member: MemberState | None) -> Evaluation:
    _check(receipt)
    lines = receipt.lines
    work = _Work(amounts=[line.amount for line in lines])
    n = len(lines)
    work.discounts, work.redeemed, work.redeemed_value = [0] * n, [0] * n, [0] * n
    tier = program.tiers.level(member.tier_code) if member and program.tiers else None
    if member is not None:
        _discount(program, receipt, tier, work)
        max_points = _redeem(program, receipt, member, work)
    else:
        max_points = 0
        work.rejected.append(Rejection("no_member", "no member identified: no program effects"))
    totals = [a - d - v for a, d, v in zip(work.amounts, work.discounts, work.redeemed_value,
                                           strict=True)]
    earned, accruals = ([0] * n, []) if member is None else _earn(program, receipt, tier,
                                                                  totals, work)
    result_lines = tuple(
        LineResult(line.line_id, line.unit_price, line.quantity, work.amounts[i],
                   work.discounts[i], work.redeemed[i], work.redeemed_value[i], totals[i],
                   earned[i]) for i, line in enumerate(lines))
    tier_after, qualifying = _tiers(program, receipt, member, sum(totals), accruals, work)
    pending = sum(a.points for a in accruals
                  if a.activates_at is not None and a.activates_at > receipt.occurred_at)
    main = _main_earn_currency(program)
    return Evaluation(
        subtotal=sum(work.amounts), discount_total=sum(work.discounts),
        points_redeemed=sum(work.redeemed), points_redeemed_value=sum(work.redeemed_value),
        total_payable=sum(totals),
        points_earned=sum(a.points for a in accruals if a.currency == main),
        points_earned_pending=pending, max_redeemable_points=max_points, lines=result_lines,
        applied=tuple(work.applied), rejected=tuple(work.rejected),
        messages=tuple(work.messages), accruals=tuple(accruals),
        burn_currency=program.burn.currency if program.burn else None,
        qualifying_value=qualifying, tier_before=tier.code if tier else None,
        tier_after=tier_after, program_version=program.version)


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


def _main_earn_currency(program: Program) -> str | None:
    return program.earn[0].currency if program.earn else None


# --- 2. discount ----------------------------------------------------------------------------

def _discount(program: Program, receipt: Receipt, tier: Tier | None, work: _Work) -> None:
    rule = program.discount
    if tier is not None and tier.discount_percent is not None:
        percent, code, why = tier.discount_percent, program.tiers.rule_id, f"tier {tier.name}"
    elif rule is not None:
        subtotal = sum(work.amounts)
        percent, code, why = rule.ladder.percent_for(subtotal), rule.rule_id, "discount program"
        step = rule.ladder.next_step(subtotal)
        if step is not None and step.percent > percent:
            work.messages.append(f"Buy for {format_money(step.from_kopecks - subtotal)} more "
                                 f"to get a {step.percent}% discount")
    else:
        return
    excluded = work.member_of(rule.excluded, receipt) if rule is not None else None
    base = [a if line.discountable and not (excluded and excluded[i]) else 0
            for i, (a, line) in enumerate(zip(work.amounts, receipt.lines, strict=True))]
    if percent <= 0 or sum(base) == 0:
        return
    total = _percent_of(sum(base), percent)
    work.discounts = allocate(total, base)
    ids = tuple(line.line_id for line, d in zip(receipt.lines, work.discounts, strict=True) if d)
    work.applied.append(Effect("discount", code, f"{percent}% discount", amount=total,
                               line_ids=ids, rule=f"{percent}% off by the {why}"))


# --- 3. points redeemed ---------------------------------------------------------------------

def _redeem(program: Program, receipt: Receipt, member: MemberState, work: _Work) -> int:
    rule = program.burn
    requested = receipt.redeem_points
    if rule is None:
        if requested:
            work.rejected.append(Rejection("no_burn_rule", "this program does not take points"))
        return 0
    minor = 10 ** program.currency(rule.currency).scale  # minor units per point
    eligible = _burn_base(rule, receipt, work)
    after_discount = sum(work.amounts) - sum(work.discounts)
    share = _percent_of(after_discount, rule.max_share_percent)
    money_cap = max(min(share, sum(eligible), after_discount - rule.min_cash_kopecks), 0)
    points_cap = (money_cap * minor // rule.point_value_kopecks
                  if rule.point_value_kopecks else 0)
    max_points = max(min(points_cap, member.spendable), 0)
    blocked = _burn_blocked(rule, member, work)
    if blocked:
        if requested:
            work.rejected.append(blocked)
        return 0
    if not requested:
        return max_points
    points = max_points if requested == MAX else int(requested)
    if points > max_points:
        work.rejected.append(Rejection(
            "redeem_capped", f"{points} points asked, at most {max_points} can pay this "
                             f"receipt (balance, {rule.max_share_percent}% share, minimum cash)"))
        points = max_points
    if points <= 0:
        return max_points
    value = points * rule.point_value_kopecks // minor
    work.redeemed_value = allocate(value, eligible)
    work.redeemed = allocate(points, eligible)
    ids = tuple(line.line_id for line, v in zip(receipt.lines, work.redeemed_value, strict=True)
                if v)
    work.applied.append(Effect("points_redeemed", rule.rule_id, "paid with points",
                               amount=value, points=points, line_ids=ids,
                               rule=f"1 point pays {format_money(rule.point_value_kopecks)}, "
                                    f"up to {rule.max_share_percent}% of the receipt"))
    return max_points


def _burn_base(rule: BurnRule, receipt: Receipt, work: _Work) -> list[int]:
    base = []
    excluded = work.member_of(rule.excluded, receipt)
    for i in range(len(receipt.lines)):
        if excluded[i] or (rule.exclude_discounted and work.discounts[i] > 0):
            base.append(0)
        else:
            base.append(work.amounts[i] - work.discounts[i])
    return base


def _burn_blocked(rule: BurnRule, member: MemberState, work: _Work) -> Rejection | None:
    if member.available < rule.min_balance:
        return Rejection("below_min_balance",
                         f"points can be spent from a balance of {rule.min_balance}")
    if not rule.combine_with_discounts and sum(work.discounts) > 0:
        return Rejection("not_combinable", "points do not combine with the discount")
    return None


# --- 5. points earned -----------------------------------------------------------------------

def _earn(program: Program, receipt: Receipt, tier: Tier | None, totals: list[int],
          work: _Work) -> tuple[list[int], list[Accrual]]:
    main = _main_earn_currency(program)
    per_line = [0] * len(totals)
    accruals = []
    for rule in program.earn:
        shares = _earn_shares(program, rule, receipt, tier, totals, work)
        if shares is None:
            continue
        numerators, denominator = shares
        cur = program.currency(rule.currency)
        points = _round_div(sum(numerators), denominator, cur.earn_rounding)
        if points <= 0:
            continue
        lines = distribute_fractions(points, numerators, denominator)
        if rule.currency == main:
            per_line = [a + b for a, b in zip(per_line, lines, strict=True)]
        activates = (receipt.occurred_at + timedelta(days=rule.pending_days)
                     if rule.pending_days else None)
        accruals.append(Accrual(rule.rule_id, rule.currency, points, activates,
                                expiry_date(rule.expiry, receipt.occurred_at), tuple(lines)))
        percent = rule.ladder.percent_for(sum(totals))
        work.applied.append(Effect(
            "points_earned", rule.rule_id, f"{percent}% in {cur.name}", points=points,
            line_ids=tuple(line.line_id for line, s in zip(receipt.lines, lines, strict=True)
                           if s),
            rule=f"{percent}% of the paid amount"
                 + (f", pending {rule.pending_days} days" if rule.pending_days else "")))
    return per_line, accruals


def _earn_shares(program: Program, rule: EarnRule, receipt: Receipt, tier: Tier | None,
                 totals: list[int], work: _Work) -> tuple[list[int], int] | None:
    """Each line's exact points as numerator / common denominator (integers, no rounding):
    paid x percent x (tier and matching multipliers) / value of a point."""
    cur = program.currency(rule.currency)
    paid = sum(totals)
    percent = rule.ladder.percent_for(paid)
    step = rule.ladder.next_step(paid)
    if step is not None and step.percent > percent:
        work.messages.append(f"Buy for {format_money(step.from_kopecks - paid)} more "
                             f"to earn {step.percent}%")
    if cur.unit_value_kopecks == 0 or percent <= 0:
        return None
    p_num, p_den = percent.as_integer_ratio()
    t_num, t_den = (tier.earn_multiplier if tier is not None else Decimal(1)).as_integer_ratio()
    denominator = p_den * 100 * t_den * cur.unit_value_kopecks
    base = [p_num * t_num * 10 ** cur.scale] * len(totals)  # per line, before multipliers
    excluded = work.member_of(rule.excluded, receipt)
    earning = [not excluded[i] and total > 0 for i, total in enumerate(totals)]
    for mult in rule.multipliers:
        f_num, f_den = mult.factor.as_integer_ratio()
        denominator *= f_den
        matching = _matching_lines(mult.when, receipt, work)
        base = [b * (f_num if hit else f_den) for b, hit in zip(base, matching, strict=True)]
        hits = tuple(line.line_id for line, hit, earns in zip(receipt.lines, matching, earning,
                                                              strict=True) if hit and earns)
        if hits:
            work.applied.append(Effect("points_multiplier", mult.rule_id,
                                       f"x{mult.factor} points", line_ids=hits,
                                       rule=f"points x{mult.factor} on matching lines"))
    numerators = [total * base[i] if earning[i] else 0 for i, total in enumerate(totals)]
    return numerators, denominator


def _matching_lines(when: Condition, receipt: Receipt, work: _Work) -> list[bool]:
    """Per line: does the multiplier's condition hold? The receipt-level parts (channel,
    payment, weekday, hours; in the receipt's own time zone) are checked once."""
    at = receipt.occurred_at
    if ((when.channels and receipt.channel not in when.channels)
            or (when.payment_methods
                and not set(when.payment_methods) & set(receipt.payment_methods))
            or (when.weekdays and at.isoweekday() not in when.weekdays)
            or (when.hours is not None and not when.hours.start <= at.hour < when.hours.end)):
        return [False] * len(receipt.lines)
    if when.goods.empty:
        return [True] * len(receipt.lines)
    return work.member_of(when.goods, receipt)


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

def _tiers(program: Program, receipt: Receipt, member: MemberState | None, paid: int,
           accruals: list[Accrual], work: _Work) -> tuple[str | None, int]:
    tiers = program.tiers
    if tiers is None or member is None:
        return None, 0
    main = _main_earn_currency(program)
    contribution = {Measure.SPEND: paid, Measure.PURCHASES: 1,
                    Measure.POINTS_EARNED: sum(a.points for a in accruals
                                               if a.currency == main)}[tiers.measure]
    current = tiers.level(member.tier_code)
    reached = tiers.earned_level(member.qualifying_value + contribution)
    if (tiers.entry_purchase_kopecks is not None and paid >= tiers.entry_purchase_kopecks
            and tiers.entry_purchase_tier is not None):
        entry = tiers.level(tiers.entry_purchase_tier)
        if tiers.rank(entry.code) > tiers.rank(reached.code):
            reached = entry
    after = reached if tiers.rank(reached.code) > tiers.rank(current.code) else current
    if after.code != current.code:
        work.applied.append(Effect("tier", tiers.rule_id, f"tier {after.name}",
                                   rule=f"upgrade from {current.name} to {after.name}"))
    following = tiers.above(after.code)
    if following is not None:
        missing = following.threshold - (member.qualifying_value + contribution)
        if missing > 0:
            work.messages.append(f"{_measure_text(tiers.measure, missing)} more to reach "
                                 f"{following.name}")
    return after.code, contribution


def _measure_text(measure: Measure, value: int) -> str:
    if measure is Measure.SPEND:
        return f"Buy for {format_money(value)}"
    if measure is Measure.PURCHASES:
        return f"{value} purchase{'s' if value != 1 else ''}"
    return f"{value} points"

