"""Promotions read once for the engine (`promotions.apply_promotions`).

The promotions in force come back receipt after receipt as the same frozen objects, so what
the engine needs of each is worked out once and kept with it: its `Plan` (the grant kind and reads
of its reward, its rule text, whether screening can refuse it at all, its refusal
when it reads no line), the plans in order for the last sequence of promotions seen
(`plans_of`), and its refusals at application (`Plan.refusal`). Nothing kept changes a
result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kopilka.domain.errors import InvalidInput
from kopilka.domain.promotion_rewards import (
    AmountOff,
    BuyXGetY,
    CheapestFree,
    FixedPrice,
    PercentOff,
    PointsMultiplier,
    describe,
    effect_kind,
    grant_kind,
    read_goods,
    reads_of,
)
from kopilka.domain.promotion_rules import (
    Promotion,
    PromotionRejection,
    code_refusal,
    unconditional,
)

MAX_PROMOTIONS = 1000


class Plan:
    """A promotion read once for the engine (promotions are frozen, and the same objects come
    back receipt after receipt): what screening can ask of it, how its reward is granted and
    read, its rule text."""

    __slots__ = ("promotion", "promotion_id", "priority", "reward", "kind", "read", "read_goods",
                 "rule", "effect", "unconditional", "code_refusal", "idle_unread",
                 "idle_refusal", "refusals")

    def __init__(self, promotion: Promotion) -> None:
        self.promotion = promotion
        self.promotion_id = promotion.promotion_id
        self.priority = promotion.priority
        self.reward = reward = promotion.reward
        self.kind = grant_kind(reward)  # for `promotion_rewards.give`
        self.read = reads_of(reward)
        self.read_goods = read_goods(reward)  # what `read` reads, when a goods set (or None)
        self.rule = describe(reward)
        self.effect = effect_kind(reward)
        # nothing in screening can refuse it or limit its budget: with no usage snapshot of
        # it, `screen` would pass it with an unlimited budget and no control decision
        self.unconditional = unconditional(promotion)
        self.code_refusal = code_refusal(promotion)  # on a receipt without codes
        # on a receipt where it reads no line, its grant is nothing (and its refusal always
        # the same: `idle_refusal`, kept when first made)
        self.idle_unread = isinstance(reward, FixedPrice | BuyXGetY | CheapestFree) or (
            isinstance(reward, PercentOff | AmountOff | PointsMultiplier)
            and not reward.goods.empty)
        self.idle_refusal: tuple[PromotionRejection, str | None] | None = None
        self.refusals: dict[tuple[str, str], tuple[PromotionRejection, str | None]] = {}

    def refusal(self, code: str, detail: str, texts: RefusalTexts,
                ) -> tuple[PromotionRejection, str | None]:
        """PromotionRejection(id, code, "name: reason") and the hint (None: none), where
        `texts(promotion, code, detail)` gives (reason, hint); made once per code and
        `detail` (what the texts are made of: the shortfall, the group's winner). Refusals
        are frozen: sharing one changes nothing, and evaluation makes each one's Rejection
        once. (`texts` is a plain function, not a closure: a function that makes a closure
        allocates its environment on every call, compiled.)"""
        made = self.refusals.get((code, detail))
        if made is None:
            if len(self.refusals) >= 256:  # shortfalls vary with the basket: bounded
                self.refusals.clear()
            promotion = self.promotion
            reason, hint = texts(promotion, code, detail)
            made = self.refusals[code, detail] = (
                PromotionRejection(promotion.promotion_id, code, f"{promotion.name}: {reason}"),
                hint)
        return made


# (promotion, code, detail) -> (the reason after the promotion's name, the hint or None)
RefusalTexts = Callable[[Promotion, str, str], tuple[str, str | None]]


def check_promotions(promotions: Sequence[Promotion]) -> None:
    if len(promotions) > MAX_PROMOTIONS:
        raise InvalidInput(f"at most {MAX_PROMOTIONS} promotions per evaluation",
                           code="too_many_promotions")
    ids = [p.promotion_id for p in promotions]
    if len(set(ids)) != len(ids):
        raise InvalidInput("promotion ids must be unique", code="duplicate_promotion_id")


# The promotions in force come back receipt after receipt as the same (frozen) objects: their
# check, their plans in order and their ids are kept for the last sequence of them seen
# (`_LAST`). Nothing kept changes a result.

_LAST: list[tuple[tuple[Promotion, ...], list[Plan], frozenset[str]]] = []


def plans_of(promotions: Sequence[Promotion]) -> tuple[list[Plan], frozenset[str]]:
    """The promotions checked (`check_promotions`) and read (`Plan`), higher priority
    first then by id, and their ids: those of the last call again when it passed the very
    same objects."""
    if _LAST:
        same, ordered, known = _LAST[0]
        if len(same) == len(promotions) and _same_objects(same, promotions):
            return ordered, known
    check_promotions(promotions)
    ordered = [Plan(p) for p in sorted(promotions, key=lambda p: (-p.priority, p.promotion_id))]
    known = frozenset(p.promotion_id for p in promotions)
    _LAST[:] = [(tuple(promotions), ordered, known)]
    return ordered, known


def _same_objects(kept: tuple[Promotion, ...], promotions: Sequence[Promotion]) -> bool:
    for i, promotion in enumerate(promotions):  # a loop: compiled, no call per item
        if kept[i] is not promotion:
            return False
    return True
