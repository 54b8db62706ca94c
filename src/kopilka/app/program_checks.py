"""Checks of a schema-valid program document that span several of its parts.

Each problem is reported as `(loc, msg)` with the path of the offending value, e.g.
`("earn", 0, "ladder", 1, "from")`, so an editor can point at it. The conversions used here
(`minor_units`, `threshold_units`) are the ones the document converter uses, so what passes the
checks converts without surprises.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic_core import PydanticCustomError

from kopilka.app.program_charity import check_charity
from kopilka.app.program_coalition import check_coalition
from kopilka.app.program_engagement import check_engagement
from kopilka.app.program_rewards import check_rewards, reward_rule_ids
from kopilka.app.program_schema import (
    BurnDoc,
    ConditionDoc,
    CurrencyDoc,
    DiscountDoc,
    EarnDoc,
    ProgramDoc,
    StepDoc,
    TiersDoc,
    money_kopecks,
)
from kopilka.domain.points import format_money
from kopilka.domain.program import Measure

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
MAX_RULES = 200  # earn rules, multipliers, burn, discount and tiers together


def minor_units(raw: int | str, scale: int) -> int:
    """An amount in whole units of a currency (validated text or int) to its minor units."""
    value = Decimal(str(raw)).scaleb(scale)
    if value != value.to_integral_value():
        raise ValueError(f"has more than {scale} decimal places for this currency")
    return int(value)


def threshold_units(raw: int | str, measure: Measure) -> int:
    """A tier threshold in the measure's unit: kopecks for spend, a plain integer otherwise."""
    if measure is Measure.SPEND:
        try:
            return money_kopecks(raw)
        except PydanticCustomError as exc:
            raise ValueError(exc.message()) from exc
    if isinstance(raw, str):
        raise ValueError(f"must be an integer for measure {measure.value}")
    if raw < 0:
        raise ValueError("cannot be negative")
    return raw


def check_program(doc: ProgramDoc) -> list[Issue]:
    issues: list[Issue] = []
    currencies = _check_currencies(doc.point_currencies, issues)
    default = doc.point_currencies[0].code
    _check_rule_ids(doc, issues)
    for index, rule in enumerate(doc.earn):
        _check_earn(rule, ("earn", index), currencies, default, issues)
    if doc.burn is not None:
        _check_burn(doc.burn, currencies, default, issues)
    if doc.discount is not None:
        _check_percent_or_ladder(doc.discount, ("discount",), issues)
    if doc.tiers is not None:
        _check_tiers(doc.tiers, issues)
    issues.extend(check_coalition(doc))
    issues.extend(check_rewards(doc))
    issues.extend(check_engagement(doc))
    issues.extend(check_charity(doc))
    count = len(doc.earn) + sum(len(r.multipliers) for r in doc.earn)
    count += sum(part is not None for part in (doc.burn, doc.discount, doc.tiers))
    if count > MAX_RULES:
        issues.append((("earn",), f"too many rules: {count} > {MAX_RULES}"))
    return issues


def _check_currencies(docs: Sequence[CurrencyDoc], issues: list[Issue]) -> dict[str, CurrencyDoc]:
    found: dict[str, CurrencyDoc] = {}
    for index, cur in enumerate(docs):
        loc: Loc = ("point_currencies", index)
        if cur.code in found:
            issues.append(((*loc, "code"), f"duplicate currency code {cur.code!r}"))
        found.setdefault(cur.code, cur)
        try:
            if minor_units(cur.min_balance, cur.scale) > 0:
                issues.append(((*loc, "min_balance"), "must be 0 or negative (a credit floor)"))
        except ValueError as exc:
            issues.append(((*loc, "min_balance"), str(exc)))
    return found


def _rule_ids(doc: ProgramDoc) -> list[tuple[Loc, str]]:
    ids: list[tuple[Loc, str]] = []
    for index, rule in enumerate(doc.earn):
        ids.append((("earn", index, "id"), rule.id))
        ids.extend((("earn", index, "multipliers", j, "id"), m.id)
                   for j, m in enumerate(rule.multipliers))
    for part in ("burn", "discount", "tiers"):
        rule_doc = getattr(doc, part)
        if rule_doc is not None:
            ids.append(((part, "id"), rule_doc.id))
    return ids + reward_rule_ids(doc)


def _check_rule_ids(doc: ProgramDoc, issues: list[Issue]) -> None:
    first: dict[str, Loc] = {}
    for loc, rule_id in _rule_ids(doc):
        if rule_id in first:
            where = ".".join(map(str, first[rule_id]))
            issues.append((loc, f"duplicate rule id {rule_id!r} (already used at {where})"))
        first.setdefault(rule_id, loc)


def _check_currency_ref(code: str | None, loc: Loc, currencies: dict[str, CurrencyDoc],
                        issues: list[Issue]) -> bool:
    if code is not None and code not in currencies:
        known = ", ".join(sorted(currencies))
        issues.append(((*loc, "currency"), f"unknown currency {code!r} (known: {known})"))
        return False
    return True


def _check_earn(rule: EarnDoc, loc: Loc, currencies: dict[str, CurrencyDoc], default: str,
                issues: list[Issue]) -> None:
    if _check_currency_ref(rule.currency, loc, currencies, issues):
        code = rule.currency or default
        if currencies[code].value == 0:
            where = (*loc, "currency") if rule.currency else loc
            issues.append((where, f"currency {code!r} has no money value (value 0.00), "
                                  "so a percent cannot be earned in it"))
    _check_percent_or_ladder(rule, loc, issues)
    for index, multiplier in enumerate(rule.multipliers):
        _check_condition(multiplier.when, (*loc, "multipliers", index, "when"), issues)
    if rule.expiry is not None:
        given = [k for k in ("after_days", "end_of_month", "end_of_year")
                 if getattr(rule.expiry, k) is not None]
        if len(given) != 1:
            issues.append(((*loc, "expiry"), "give exactly one of after_days, end_of_month, "
                                             'end_of_year (or "never")'))


def _check_percent_or_ladder(rule: EarnDoc | DiscountDoc, loc: Loc, issues: list[Issue]) -> None:
    if rule.percent is not None and rule.ladder is not None:
        issues.append(((*loc, "ladder"), "give either percent or ladder, not both"))
    elif rule.percent is None and rule.ladder is None:
        issues.append((loc, "one of percent or ladder is required"))
    elif rule.ladder is not None:
        _check_ladder(rule.ladder, (*loc, "ladder"), issues)


def _check_ladder(steps: Sequence[StepDoc], loc: Loc, issues: list[Issue]) -> None:
    for index in range(1, len(steps)):
        before, step = steps[index - 1].start, steps[index].start
        if step <= before:
            issues.append(((*loc, index, "from"),
                           f"steps must ascend: {format_money(step)} is not above the previous "
                           f"step's {format_money(before)}"))


def _check_condition(when: ConditionDoc, loc: Loc, issues: list[Issue]) -> None:
    for field in ("channels", "weekdays", "payment_methods", "categories", "skus"):
        seen: set[object] = set()
        for index, value in enumerate(getattr(when, field)):
            if value in seen:
                issues.append(((*loc, field, index), f"duplicate value {value!r}"))
            seen.add(value)
    if when.hours is not None and when.hours.end <= when.hours.start:
        issues.append(((*loc, "hours", "to"),
                       f"must be after from ({when.hours.start}); windows across midnight "
                       "are two multipliers"))


def _check_burn(burn: BurnDoc, currencies: dict[str, CurrencyDoc], default: str,
                issues: list[Issue]) -> None:
    if not _check_currency_ref(burn.currency, ("burn",), currencies, issues):
        return
    scale = currencies[burn.currency or default].scale
    try:
        if minor_units(burn.min_balance, scale) < 0:
            issues.append((("burn", "min_balance"), "cannot be negative"))
    except ValueError as exc:
        issues.append((("burn", "min_balance"), str(exc)))


def _check_tiers(tiers: TiersDoc, issues: list[Issue]) -> None:
    codes: set[str] = set()
    previous: int | None = None
    for index, level in enumerate(tiers.levels):
        loc: Loc = ("tiers", "levels", index)
        if level.code in codes:
            issues.append(((*loc, "code"), f"duplicate tier code {level.code!r}"))
        codes.add(level.code)
        try:
            value = threshold_units(level.threshold, tiers.measure)
        except ValueError as exc:
            issues.append(((*loc, "threshold"), str(exc)))
            continue
        if index == 0 and value != 0:
            issues.append(((*loc, "threshold"), "the first (entry) level's threshold must be 0"))
        elif previous is not None and value <= previous:
            issues.append(((*loc, "threshold"),
                           "thresholds must ascend: not above the previous level's"))
        previous = value
    entry = tiers.entry_purchase
    if entry is not None and entry.tier not in codes:
        issues.append((("tiers", "entry_purchase", "tier"), f"unknown tier {entry.tier!r}"))
