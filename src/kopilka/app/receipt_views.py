"""Receipt calculations as the API returns them (money as decimal strings).

With many promotions a calculation carries dozens of effects, refusals and accruals; the view
builds their dicts in plain loops, formats each amount once per process (amounts recur: zeros,
prices, the promotions' fixed discounts) and an accrual date again only when it differs from
the previous accrual's (the program's accrual and the promotions' mostly share one activation
and expiry: an isoformat costs ~30x comparing two datetimes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.domain.evaluation import Accrual, Effect, Evaluation, LineResult, Rejection
from kopilka.domain.points import format_money
from kopilka.domain.program import Program

_TEXTS: dict[int, str] = {}  # format_money by amount in kopecks
_TEXTS_LIMIT = 65_536


def _money(kopecks: int) -> str:
    """format_money(kopecks), made once per amount (at most _TEXTS_LIMIT kept)."""
    text = _TEXTS.get(kopecks)
    if text is None:
        if len(_TEXTS) >= _TEXTS_LIMIT:
            _TEXTS.clear()
        text = _TEXTS[kopecks] = format_money(kopecks)
    return text


def evaluation_view(e: Evaluation, program: Program) -> dict[str, Any]:
    return {
        "subtotal": _money(e.subtotal),
        "discount_total": _money(e.discount_total),
        "points_redeemed": e.points_redeemed,
        "points_redeemed_value": _money(e.points_redeemed_value),
        "total_payable": _money(e.total_payable),
        "points_earned": e.points_earned,
        "points_earned_pending": e.points_earned_pending,
        "max_redeemable_points": e.max_redeemable_points,
        "lines": _lines(e.lines),
        "applied": _applied(e.applied),
        "rejected": _rejected(e.rejected),
        "messages": list(e.messages),
        "accruals": _accruals(e.accruals),
        "tier": {"before": e.tier_before, "after": e.tier_after,
                 "qualifying_value": _money(e.qualifying_value)
                 if program.tiers.measure.value == "spend" else e.qualifying_value}
        if program.tiers else None,
        "program_version": e.program_version,
    }


def _lines(lines: tuple[LineResult, ...]) -> list[dict[str, Any]]:
    text, money = _TEXTS.get, _money  # text(amount) or money(amount): _money, inlined
    return [{"line_id": line_id, "unit_price": text(price) or money(price),
             "quantity": str(quantity), "amount": text(amount) or money(amount),
             "discount": text(discount) or money(discount), "points_redeemed": redeemed,
             "points_redeemed_value": text(value) or money(value),
             "total": text(total) or money(total), "points_earned": earned}
            for line_id, price, quantity, amount, discount, redeemed, value, total, earned
            in lines]


def _applied(effects: tuple[Effect, ...]) -> list[dict[str, Any]]:
    text, money = _TEXTS.get, _money
    return [{"kind": a.kind, "code": a.code, "name": a.name,
             "amount": text(a.amount) or money(a.amount), "points": a.points,
             "line_ids": list(a.line_ids), "rule": a.rule}
            for a in effects]


# The engine hands out the same refusals receipt after receipt (evaluation makes each one's
# Rejection once): each Rejection's dict is made once and shared by the bodies that show it.
# Never changed after: bodies are only serialised. Kept by id, with the object (so its id
# stays unique while kept), and bounded.
_REJECTIONS: dict[int, tuple[Rejection, dict[str, Any]]] = {}
_REJECTIONS_LIMIT = 8192


def _rejected(rejections: tuple[Rejection, ...]) -> list[dict[str, Any]]:
    out = []
    kept = _REJECTIONS
    for r in rejections:
        found = kept.get(id(r))
        if found is None or found[0] is not r:
            view = {"code": r.code, "reason": r.reason, "promotion_id": r.rule} if r.rule \
                else {"code": r.code, "reason": r.reason}
            if len(kept) >= _REJECTIONS_LIMIT:
                kept.clear()
            found = kept[id(r)] = (r, view)
        out.append(found[1])
    return out


def _accruals(accruals: tuple[Accrual, ...]) -> list[dict[str, Any]]:
    out = []
    activates = expires = None  # the dates last formatted, and their texts
    activates_text = expires_text = None
    for a in accruals:
        if not _same_text(a.activates_at, activates):
            activates = a.activates_at
            activates_text = None if activates is None else activates.isoformat()
        if not _same_text(a.expires_at, expires):
            expires = a.expires_at
            expires_text = None if expires is None else expires.isoformat()
        out.append({"rule": a.rule_id, "currency": a.currency, "points": a.points,
                    "activates_at": activates_text, "expires_at": expires_text})
    return out


def _same_text(a: datetime | None, b: datetime | None) -> bool:
    """Whether `a.isoformat()` is `b.isoformat()`, told without formatting: the same object,
    or equal in the same time zone object and fold (equal instants in two zones, or an
    ambiguous hour's two folds, read differently). The program's accrual and the promotions'
    hold equal dates in different objects."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return a.tzinfo is b.tzinfo and a.fold == b.fold and a == b
