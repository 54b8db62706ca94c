"""The domain `Program` back to its document form: a JSON-ready dict (strings, ints, bools).

The inverse of `program_document.parse_program`: money as "1234.50", percents and factors as
decimal strings, point amounts in the currency's whole units (an int for scale 0), enums as
their values. Empty optional parts are left out, defaults that matter are written out.
`Program.version` is not part of the document (the store numbers versions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.app.program_charity import charity_document
from kopilka.app.program_coalition import coalition_document
from kopilka.app.program_engagement import engagement_document
from kopilka.app.program_rewards import rewards_document
from kopilka.domain.points import PointCurrency, format_money
from kopilka.domain.program import (
    BurnRule,
    Condition,
    DiscountRule,
    EarnRule,
    Expiry,
    ExpiryKind,
    Goods,
    Ladder,
    Measure,
    Program,
    TierProgram,
    WindowKind,
)


def program_to_document(program: Program) -> dict[str, Any]:
    """The program document of `program`, ready for `json.dumps` or `yaml.safe_dump`."""
    doc: dict[str, Any] = {
        "name": program.name,
        "effective_from": program.effective_from.isoformat(),
        "money_currency": program.money_currency,
        "point_currencies": [_currency(c) for c in program.currencies],
    }
    if program.earn:
        doc["earn"] = [_earn(rule) for rule in program.earn]
    if program.burn is not None:
        doc["burn"] = _burn(program.burn, program.currency(program.burn.currency))
    if program.discount is not None:
        doc["discount"] = _discount(program.discount)
    if program.tiers is not None:
        doc["tiers"] = _tiers(program.tiers)
    doc["returns"] = {"spent_earned_points": program.returns_policy.value}
    if program.labels:
        doc["labels"] = dict(program.labels)
    if program.coalition is not None:
        doc["coalition"] = coalition_document(program.coalition)
    if program.rewards is not None:
        doc["rewards"] = rewards_document(program.rewards, program)
    if program.engagement is not None:
        doc["engagement"] = engagement_document(program.engagement, program)
    if program.charity is not None:
        doc["charity"] = charity_document(program.charity, program)
    return doc


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _currency(cur: PointCurrency) -> dict[str, Any]:
    return {"code": cur.code, "name": cur.name, "scale": cur.scale,
            "value": format_money(cur.unit_value_kopecks), "rounding": cur.earn_rounding.value,
            "min_balance": cur.format(cur.min_available)}


def _goods(goods: Goods) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if goods.categories:
        doc["categories"] = list(goods.categories)
    if goods.skus:
        doc["skus"] = list(goods.skus)
    return doc


def _ladder(ladder: Ladder) -> dict[str, Any]:
    steps = ladder.steps
    if len(steps) == 1 and steps[0].from_kopecks == 0:
        return {"percent": _decimal(steps[0].percent)}
    return {"ladder": [{"from": format_money(s.from_kopecks), "percent": _decimal(s.percent)}
                       for s in steps]}


def _condition(when: Condition) -> dict[str, Any]:
    doc = _goods(when.goods)
    if when.channels:
        doc["channels"] = [channel.value for channel in when.channels]
    if when.payment_methods:
        doc["payment_methods"] = list(when.payment_methods)
    if when.weekdays:
        doc["weekdays"] = list(when.weekdays)
    if when.hours is not None:
        doc["hours"] = {"from": when.hours.start, "to": when.hours.end}
    return doc


def _expiry(expiry: Expiry) -> str | dict[str, int]:
    if expiry.kind is ExpiryKind.NEVER:
        return "never"
    return {expiry.kind.value: expiry.count}


def _earn(rule: EarnRule) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": rule.rule_id, "currency": rule.currency, **_ladder(rule.ladder)}
    if rule.multipliers:
        doc["multipliers"] = []
        for multiplier in rule.multipliers:
            item: dict[str, Any] = {"id": multiplier.rule_id,
                                    "factor": _decimal(multiplier.factor)}
            when = _condition(multiplier.when)
            if when:
                item["when"] = when
            doc["multipliers"].append(item)
    if not rule.excluded.empty:
        doc["exclude"] = _goods(rule.excluded)
    doc["pending_days"] = rule.pending_days
    doc["expiry"] = _expiry(rule.expiry)
    return doc


def _burn(rule: BurnRule, cur: PointCurrency) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": rule.rule_id, "currency": rule.currency,
        "point_value": format_money(rule.point_value_kopecks),
        "max_share_percent": _decimal(rule.max_share_percent),
        "min_balance": cur.format(rule.min_balance),
        "min_cash": format_money(rule.min_cash_kopecks),
    }
    exclude = _goods(rule.excluded)
    if rule.exclude_discounted:
        exclude["discounted"] = True
    if exclude:
        doc["exclude"] = exclude
    doc["combine_with_discounts"] = rule.combine_with_discounts
    return doc


def _discount(rule: DiscountRule) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": rule.rule_id, **_ladder(rule.ladder)}
    if not rule.excluded.empty:
        doc["exclude"] = _goods(rule.excluded)
    return doc


def _tiers(tiers: TierProgram) -> dict[str, Any]:
    window: str | dict[str, int] = tiers.window.kind.value
    if tiers.window.kind is WindowKind.ROLLING_DAYS:
        window = {"rolling_days": tiers.window.days}
    doc: dict[str, Any] = {"id": tiers.rule_id, "measure": tiers.measure.value,
                           "window": window, "downgrade_grace_days": tiers.downgrade_grace_days}
    if tiers.entry_purchase_kopecks is not None and tiers.entry_purchase_tier is not None:
        doc["entry_purchase"] = {"amount": format_money(tiers.entry_purchase_kopecks),
                                 "tier": tiers.entry_purchase_tier}
    levels = []
    for tier in tiers.levels:
        threshold: str | int = tier.threshold
        if tiers.measure is Measure.SPEND:
            threshold = format_money(tier.threshold)
        level: dict[str, Any] = {"code": tier.code, "name": tier.name, "threshold": threshold}
        if tier.discount_percent is not None:
            level["discount_percent"] = _decimal(tier.discount_percent)
        level["earn_multiplier"] = _decimal(tier.earn_multiplier)
        levels.append(level)
    doc["levels"] = levels
    return doc
