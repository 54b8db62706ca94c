"""The `engagement:` section of the program document (SPEC P7): checks, conversion to the
domain `Engagement` and back.

The example `examples/engagement.yaml` shows every part: challenges (`measure`, `target`,
`period`, `reward_points`, optional `badge`), draws (`odds_percent`, `prize_points`,
`budget_points`, `min_receipt`), and `sticker_currency` with `sticker_offers` (`stickers`,
`sku`, `discount_percent`). Stickers themselves are a second point currency with an ordinary
earn rule (1 sticker per 500.00 paid: value "1.00", percent "0.2").

Measures: purchases (target an integer), spend and category_spend (target a money string;
category_spend needs `category`, matched by prefix like program goods). Periods: month (a
calendar month in the program's time zone) or ever. Amounts of points are in the currency's
whole units (default currency: the main one); stickers in the sticker currency's.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from kopilka.app.program_coalition import main_currency
from kopilka.app.program_rewards import _minor
from kopilka.app.program_schema import ChallengeDoc, ProgramDoc, money_kopecks
from kopilka.domain.engagement import (
    Challenge,
    ChallengeMeasure,
    Draw,
    Engagement,
    StickerOffer,
)
from kopilka.domain.points import format_money
from kopilka.domain.program import Program

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
MONEY_MEASURES = (ChallengeMeasure.SPEND, ChallengeMeasure.CATEGORY_SPEND)


def check_engagement(doc: ProgramDoc) -> list[Issue]:
    section = doc.engagement
    if section is None:
        return []
    issues: list[Issue] = []
    scales = {c.code: c.scale for c in doc.point_currencies}
    main = main_currency(doc)
    seen: dict[str, Loc] = {}

    def unique(loc: Loc, rule_id: str) -> None:
        if rule_id in seen:
            issues.append(((*loc, "id"), f"duplicate id {rule_id!r} in engagement"))
        seen.setdefault(rule_id, loc)

    def scale_of(loc: Loc, code: str | None) -> int | None:
        if code is not None and code not in scales:
            issues.append(((*loc, "currency"), f"unknown currency {code!r} "
                                               f"(known: {', '.join(sorted(scales))})"))
            return None
        return scales[code or main]

    def amount(loc: Loc, raw: int | str, scale: int | None, *, positive: bool) -> None:
        if scale is None:
            return
        try:
            value = _minor(raw, scale)
        except ValueError as exc:
            issues.append((loc, str(exc)))
            return
        if value < 0 or (positive and value == 0):
            issues.append((loc, "must be greater than 0" if positive else "cannot be negative"))

    for index, ch in enumerate(section.challenges):
        loc: Loc = ("engagement", "challenges", index)
        unique(loc, ch.id)
        _check_challenge(ch, loc, issues)
        amount((*loc, "reward_points"), ch.reward_points, scale_of(loc, ch.currency),
               positive=False)
    for index, draw in enumerate(section.draws):
        loc = ("engagement", "draws", index)
        unique(loc, draw.id)
        if draw.odds_percent <= 0:
            issues.append(((*loc, "odds_percent"), "must be greater than 0"))
        scale = scale_of(loc, draw.currency)
        amount((*loc, "prize_points"), draw.prize_points, scale, positive=True)
        amount((*loc, "budget_points"), draw.budget_points, scale, positive=False)
    if section.sticker_offers and section.sticker_currency is None:
        issues.append((("engagement",), "sticker_currency is required with sticker_offers"))
    sticker_scale = None
    if section.sticker_currency is not None:
        sticker_scale = scales.get(section.sticker_currency)
        if sticker_scale is None:
            issues.append((("engagement", "sticker_currency"),
                           f"unknown currency {section.sticker_currency!r} "
                           f"(known: {', '.join(sorted(scales))})"))
    for index, offer in enumerate(section.sticker_offers):
        loc = ("engagement", "sticker_offers", index)
        unique(loc, offer.id)
        amount((*loc, "stickers"), offer.stickers, sticker_scale, positive=True)
    return issues


def _check_challenge(ch: ChallengeDoc, loc: Loc, issues: list[Issue]) -> None:
    category = ch.measure is ChallengeMeasure.CATEGORY_SPEND
    if category and ch.category is None:
        issues.append((loc, "category is required for measure category_spend"))
    if not category and ch.category is not None:
        issues.append(((*loc, "category"), "only for measure category_spend"))
    try:
        target = _target(ch)
    except ValueError as exc:
        issues.append(((*loc, "target"), str(exc)))
        return
    if target <= 0:
        issues.append(((*loc, "target"), "must be greater than 0"))


def _target(ch: ChallengeDoc) -> int:
    if ch.measure in MONEY_MEASURES:
        try:
            return money_kopecks(ch.target)
        except PydanticCustomError as exc:
            raise ValueError(exc.message()) from exc
    if isinstance(ch.target, str):
        raise ValueError("must be an integer for measure purchases")
    return ch.target


# --- document -> domain ---------------------------------------------------------------------

def engagement_of(doc: ProgramDoc) -> Engagement | None:
    """The domain engagement of a checked document."""
    section = doc.engagement
    if section is None:
        return None
    scales = {c.code: c.scale for c in doc.point_currencies}
    main = main_currency(doc)
    challenges = tuple(Challenge(
        rule_id=ch.id, name=ch.name, measure=ch.measure, target=_target(ch),
        currency=ch.currency or main, period=ch.period,
        reward_points=_minor(ch.reward_points, scales[ch.currency or main]), badge=ch.badge,
        category=ch.category) for ch in section.challenges)
    draws = tuple(Draw(
        rule_id=d.id, name=d.name, odds_percent=d.odds_percent,
        prize_points=_minor(d.prize_points, scales[d.currency or main]),
        budget_points=_minor(d.budget_points, scales[d.currency or main]),
        currency=d.currency or main, min_receipt_kopecks=d.min_receipt) for d in section.draws)
    sticker = section.sticker_currency
    offers = tuple(StickerOffer(
        offer_id=o.id, name=o.name, stickers=_minor(o.stickers, scales[sticker or main]),
        sku=o.sku, discount_percent=o.discount_percent) for o in section.sticker_offers)
    return Engagement(challenges=challenges, draws=draws, sticker_currency=sticker,
                      sticker_offers=offers)


# --- domain -> document ---------------------------------------------------------------------

def engagement_document(engagement: Engagement, program: Program) -> dict[str, Any]:
    doc: dict[str, Any] = {"challenges": [_challenge_document(ch, program)
                                          for ch in engagement.challenges],
                           "draws": [_draw_document(d, program) for d in engagement.draws]}
    if engagement.sticker_currency is not None:
        cur = program.currency(engagement.sticker_currency)
        doc["sticker_currency"] = cur.code
        doc["sticker_offers"] = [{"id": o.offer_id, "name": o.name,
                                  "stickers": cur.format(o.stickers), "sku": o.sku,
                                  "discount_percent": format(o.discount_percent, "f")}
                                 for o in engagement.sticker_offers]
    return doc


def _challenge_document(ch: Challenge, program: Program) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": ch.rule_id, "name": ch.name}
    if ch.badge is not None:
        doc["badge"] = ch.badge
    doc["measure"] = ch.measure.value
    if ch.category is not None:
        doc["category"] = ch.category
    doc["target"] = format_money(ch.target) if ch.measure in MONEY_MEASURES else ch.target
    doc.update(period=ch.period.value, currency=ch.currency,
               reward_points=program.currency(ch.currency).format(ch.reward_points))
    return doc


def _draw_document(draw: Draw, program: Program) -> dict[str, Any]:
    cur = program.currency(draw.currency)
    return {"id": draw.rule_id, "name": draw.name,
            "odds_percent": format(draw.odds_percent, "f"),
            "prize_points": cur.format(draw.prize_points),
            "budget_points": cur.format(draw.budget_points), "currency": cur.code,
            "min_receipt": format_money(draw.min_receipt_kopecks)}
