"""Gamification (SPEC P7) as data and pure decisions: challenges with badges, instant-win
draws, sticker offers.

- A **challenge** counts a measure of a member's confirmed purchases over a period (a calendar
  month in the program's time zone, or ever): purchases, paid spend, or paid spend on a
  category (prefix match, as program goods). Reaching the target gives the badge and the
  reward points once per challenge and period (the grant key (member, challenge, period)).
- A **draw** is an instant win at confirm: a receipt paying at least `min_receipt` wins with
  `odds_percent`, decided by a hash of (draw, store, receipt), so a retry of the same receipt
  draws the same result. A win is worth `prize_points`, capped by what is left of the draw's
  `budget_points` (nothing once the budget is spent).
- A **sticker offer** exchanges stickers (points of a second currency) for a single-use
  voucher: a discount on a SKU.

Money is kopecks, points are integers in the currency's minor units, percents are Decimals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kopilka.domain.program import Goods

EVER = "ever"
ROLL_SCALE = 10**8  # a roll is 0..ROLL_SCALE-1; odds have at most 6 decimal places in percent


class ChallengeMeasure(StrEnum):
    PURCHASES = "purchases"  # one per confirmed receipt
    SPEND = "spend"  # paid money, kopecks (line totals after discounts and points)
    CATEGORY_SPEND = "category_spend"  # paid money on lines of the category


class ChallengePeriod(StrEnum):
    MONTH = "month"  # a calendar month in the program's time zone
    EVER = "ever"


@dataclass(frozen=True, slots=True)
class Challenge:
    rule_id: str
    name: str
    measure: ChallengeMeasure
    target: int  # purchases, or kopecks for the money measures
    currency: str
    period: ChallengePeriod = ChallengePeriod.MONTH
    reward_points: int = 0
    badge: str | None = None
    category: str | None = None  # category_spend only

    def __post_init__(self) -> None:
        assert self.target > 0 and self.reward_points >= 0
        assert (self.category is not None) == (self.measure is ChallengeMeasure.CATEGORY_SPEND)


@dataclass(frozen=True, slots=True)
class Draw:
    rule_id: str
    name: str
    odds_percent: Decimal
    prize_points: int
    budget_points: int
    currency: str
    min_receipt_kopecks: int = 0

    def __post_init__(self) -> None:
        assert 0 < self.odds_percent <= 100 and self.prize_points > 0
        assert self.budget_points >= 0 and self.min_receipt_kopecks >= 0


@dataclass(frozen=True, slots=True)
class StickerOffer:
    offer_id: str
    name: str
    stickers: int  # in the sticker currency's minor units
    sku: str
    discount_percent: Decimal


@dataclass(frozen=True, slots=True)
class Engagement:
    challenges: tuple[Challenge, ...] = ()
    draws: tuple[Draw, ...] = ()
    sticker_currency: str | None = None  # required when there are sticker offers
    sticker_offers: tuple[StickerOffer, ...] = ()

    def offer(self, offer_id: str) -> StickerOffer | None:
        return next((o for o in self.sticker_offers if o.offer_id == offer_id), None)


@dataclass(frozen=True, slots=True)
class PaidLine:
    """A receipt line as challenges see it: what was paid for it in money."""

    sku: str
    category: str | None
    paid_kopecks: int


# --- challenges -----------------------------------------------------------------------------

def period_key(period: ChallengePeriod, local: datetime) -> str:
    """The period a moment (in the program's time zone) counts in: "2026-03" or "ever"."""
    if period is ChallengePeriod.MONTH:
        return f"{local.year:04d}-{local.month:02d}"
    return EVER


def contribution(challenge: Challenge, lines: tuple[PaidLine, ...] | list[PaidLine]) -> int:
    """What one confirmed receipt adds to a challenge's progress (never negative)."""
    if challenge.measure is ChallengeMeasure.PURCHASES:
        return 1
    if challenge.measure is ChallengeMeasure.SPEND:
        return sum(max(line.paid_kopecks, 0) for line in lines)
    goods = Goods(categories=(challenge.category or "",))
    return sum(max(line.paid_kopecks, 0) for line in lines
               if goods.contains("", line.category))


def reached(challenge: Challenge, progress: int) -> bool:
    return progress >= challenge.target


# --- draws ----------------------------------------------------------------------------------

def roll(draw_id: str, store_id: str, receipt_id: str) -> int:
    """A deterministic pseudo-random number in [0, ROLL_SCALE) for one receipt and draw."""
    text = "\x1f".join((draw_id, store_id, receipt_id)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") % ROLL_SCALE


def wins(draw: Draw, store_id: str, receipt_id: str, paid_kopecks: int) -> bool:
    """Whether the receipt wins the draw (before the budget is looked at)."""
    if paid_kopecks < draw.min_receipt_kopecks or paid_kopecks <= 0:
        return False
    threshold = draw.odds_percent * ROLL_SCALE / 100  # exact: odds have <= 6 decimals
    return roll(draw.rule_id, store_id, receipt_id) < threshold


def prize(draw: Draw, spent_points: int) -> int:
    """The prize a win gets given what the draw has spent: capped by what is left of the
    budget; 0 once the budget is spent (the win is then refused)."""
    return max(min(draw.prize_points, draw.budget_points - spent_points), 0)
