"""Promotions at the till: what the pure engine needs, and its budgets kept exactly once.

`prepare` reads the promotions in force, resolves the receipt's promo codes (checking each
code's own limits), and takes a snapshot of every promotion's use. When confirming, the
counters of the promotions that limit something are locked (in id order) before the snapshot,
so two parallel confirms can never both take the last of a budget: the second one waits, then
sees what the first used. `record` books what a confirmed receipt used; `give_back` returns
it on cancel, and on a return that breaks the promotion's condition.

Member segments (closed clubs, targeting) are the member's `segments` attribute: segment
names separated by commas ("vip,coffee-lovers"), set through the members API.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from kopilka.app.ports import UnitOfWork
from kopilka.app.promotion_admin import normalise_code
from kopilka.app.promotion_document import parse_promotion, promotion_to_document
from kopilka.domain.errors import Conflict
from kopilka.domain.evaluation import Evaluation, Rejection, evaluate
from kopilka.domain.kept import PerObject
from kopilka.domain.promotions import (
    Period,
    PresentedCode,
    Promotion,
    PromotionContext,
    PromotionOutcome,
    PromotionUsage,
    apply_promotions,
    period_start,
)

MAX_CODES = 20  # promo codes on one receipt

# Promotion ids by the start of the period their uses are counted since (None: ever), as the
# repository counts them: one group per distinct period (a handful: day, week, month, ever).
Since = tuple[tuple[datetime | None, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Prepared:
    promotions: tuple[Promotion, ...]
    context: PromotionContext
    codes: dict[str, str] = field(default_factory=dict)  # promotion id -> the code used
    refused: tuple[Rejection, ...] = ()  # codes refused before the engine (used up, ...)
    locked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Active:
    """The promotions in force as of one fingerprint of the promotions table, and what the
    till asks of them on every receipt, worked out once."""

    fingerprint: tuple[int, int]
    promotions: tuple[Promotion, ...]  # in id order
    by_stamp: dict[tuple[str, int], Promotion]  # (id, revision): to reuse on the next change
    limited: tuple[str, ...]  # ids whose counters a calculation reads (`limited`)
    per_member: tuple[tuple[Period, tuple[str, ...]], ...]  # ids with a per-member limit,
    per_store: tuple[tuple[Period, tuple[str, ...]], ...]  # per-store limit, by period
    usage: tuple[Promotion, ...]  # those with a usage snapshot: limited or per-member
    segments: bool  # some promotion targets segments
    first_purchase: bool  # some promotion needs to know the member's first purchase

    @classmethod
    def of(cls, fingerprint: tuple[int, int],
           promotions: dict[tuple[str, int], Promotion]) -> Active:
        found = tuple(promotions.values())
        return cls(fingerprint, found, promotions,
                   limited=tuple(p.promotion_id for p in found if limited(p)),
                   per_member=_by_period(p for p in found
                                         if p.limits.per_member_count is not None),
                   per_store=_by_period((p for p in found
                                         if p.limits.per_store_count is not None), store=True),
                   usage=tuple(p for p in found
                               if limited(p) or p.limits.per_member_count is not None),
                   segments=any(p.conditions.segments for p in found),
                   first_purchase=any(p.conditions.first_purchase for p in found))


def _by_period(promotions: Iterable[Promotion], *, store: bool = False,
               ) -> tuple[tuple[Period, tuple[str, ...]], ...]:
    """The ids of `promotions` grouped by their per-member (or per-`store`) period."""
    groups: dict[Period, list[str]] = {}
    for p in promotions:
        limits = p.limits
        period = limits.per_store_period if store else limits.per_member_period
        groups.setdefault(period, []).append(p.promotion_id)
    return tuple((period, tuple(ids)) for period, ids in groups.items())


_NONE = Active.of((-1, -1), {})

# The promotions in force per database engine, as of a fingerprint. A process (an API node)
# trusts none of it: every calculation reads the table's fingerprint first (one aggregate
# row) and rebuilds the snapshot when it differs, so a promotion created, changed or paused
# through another node is seen by the next calculation here. Promotions whose (id, revision)
# did not change are not parsed again. (The fingerprint only grows, so it never names an
# older state: the till never changes a promotion in the transaction it calculates in.)
_active: weakref.WeakKeyDictionary[Any, Active] = weakref.WeakKeyDictionary()


def active(uow: UnitOfWork) -> Active:
    """The active promotions (parsed once per process per revision of each)."""
    known = _active.get(uow.conn.engine, _NONE)
    if uow.promotions.fingerprint() == known.fingerprint:
        return known
    return _rebuild(uow, known)


def _rebuild(uow: UnitOfWork, known: Active) -> Active:
    """The process's snapshot made again from the table (`known`: the one it replaces,
    whose promotions are reused where their revision is unchanged)."""
    fingerprint, stamps = uow.promotions.stamps()
    stale = [pid for pid, revision in stamps if (pid, revision) not in known.by_stamp]
    documents = uow.promotions.documents(stale) if stale else {}
    parsed = {(pid, revision): known.by_stamp.get((pid, revision))
              or _parsed(pid, documents[pid]) for pid, revision in stamps}
    found = _active[uow.conn.engine] = Active.of(fingerprint, parsed)
    return found


# The promotion last parsed per id, with the document it was parsed from (as canonical JSON:
# 1, 1.0 and true are different documents, though equal in Python). A revision moves with
# every change, the status too: a promotion paused and resumed (or saved unchanged) comes
# back with its document as it was, and is then the same Promotion object again, so what the
# engine keeps per Promotion object (plans, screenings, grants, refusals) stays warm instead
# of being made again on every worker. The same document parses to an equal promotion, so
# sharing one (across databases too) changes no result.
_PARSED: dict[str, tuple[str, Promotion]] = {}
_PARSED_LIMIT = 10_000


def _parsed(promotion_id: str, document: dict[str, Any]) -> Promotion:
    text = json.dumps(document, sort_keys=True, default=str)
    kept = _PARSED.get(promotion_id)
    if kept is not None and kept[0] == text:
        return kept[1]
    promotion = parse_promotion(document)
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[promotion_id] = (text, promotion)
    return promotion


def limited(promotion: Promotion) -> bool:
    """Whether confirming must lock the promotion's counters (it limits something shared)."""
    limits = promotion.limits
    return any(x is not None for x in (limits.budget_kopecks, limits.budget_points,
                                       limits.count, limits.per_store_count))


@dataclass(frozen=True)
class TillReads:
    """What a calculation reads besides the promotions themselves: one statement on the
    calculate path (`till_reads` of the promotions repository), separate ones when
    confirming (`_Asks.apart`)."""

    fingerprint: tuple[int, int]  # of the promotions, as of the other reads
    counters: dict[str, tuple[int, int, int]]  # used (kopecks, points, count) per promotion
    member_uses: dict[str, int]  # the member's uses per promotion, since its period start
    segments: str | None  # the member's `segments` attribute when a string; None: not
    # asked, absent or not a string
    purchased: bool | None  # whether the member has a confirmed receipt; None: not asked


@dataclass(frozen=True)
class _Asks:
    """What a receipt reads for the promotions of one snapshot: the counters of the limited
    ones, and for a known member the uses of those with a per-member limit (since each one's
    period start), the attributes when some targets segments, and whether the member has
    bought before when some needs a first purchase."""

    counters: tuple[str, ...]
    member_id: str | None
    since: Since
    attributes: bool
    purchased: bool

    @classmethod
    def of(cls, found: Active, member_id: str | None, at: datetime) -> _Asks:
        known = member_id is not None
        return cls(found.limited, member_id,
                   _period_starts(found.per_member, at) if known else (),
                   attributes=known and found.segments,
                   purchased=bool(member_id) and found.first_purchase)

    def folded(self, uow: UnitOfWork) -> TillReads:
        return uow.promotions.till_reads(self.counters, self.member_id, since=self.since,
                                         attributes=self.attributes, purchased=self.purchased)

    def apart(self, uow: UnitOfWork, fingerprint: tuple[int, int],
              locked: frozenset[str]) -> TillReads:
        """The same reads one by one, with the counters of `locked` read FOR UPDATE."""
        repo, member_id = uow.promotions, self.member_id
        counters = repo.counters(self.counters, lock=False)  # others need none
        if locked:
            counters.update(repo.counters(locked, lock=True))
        return TillReads(
            fingerprint, counters,
            repo.member_use_counts(member_id, self.since) if self.since else {},
            segments_text(repo.member_attributes(member_id)) if self.attributes else None,
            repo.has_purchases(member_id) if self.purchased else None)


def _period_starts(by_period: tuple[tuple[Period, tuple[str, ...]], ...],
                   at: datetime) -> Since:
    """Each group's period start for `at` (None: ever)."""
    return tuple((period_start(period, at), ids) for period, ids in by_period)


FOLDED_TRIES = 3  # snapshots rebuilt while promotions change, before reading apart


def _read_folded(uow: UnitOfWork, member_id: str | None,
                 at: datetime) -> tuple[Active, TillReads] | None:
    """The snapshot in force and what the receipt reads for it, in one statement when the
    process's snapshot is current: the fingerprint read with the rest says whether it is
    (and that the rest belongs to it). When not, the snapshot is rebuilt and read for
    again; None when promotions kept changing meanwhile."""
    found = _active.get(uow.conn.engine, _NONE)
    for _ in range(FOLDED_TRIES):
        reads = _Asks.of(found, member_id, at).folded(uow)
        if reads.fingerprint == found.fingerprint:
            return found, reads
        found = _rebuild(uow, found)
    return None


def prepare(uow: UnitOfWork, *, member: dict[str, Any] | None, store_id: str, channel: str,
            at: datetime, codes: Iterable[str], lock: Iterable[str] = (),
            confirm: bool = False) -> Prepared:
    """`lock`: promotions whose counters to lock; `confirm`: also lock the rows of presented
    codes that have a use limit (a code's uses are checked and counted under its lock).
    Calculating reads everything in one statement (`_read_folded`); confirming reads apart,
    as FOR UPDATE admits no UNION, taking its locks in their order: codes, then counters."""
    member_id = member["member_id"] if member else None
    locked = frozenset(lock)
    folded = None if locked or confirm else _read_folded(uow, member_id, at)
    found, reads = folded or (active(uow), None)
    promotions = found.promotions
    if not promotions:
        return Prepared((), PromotionContext(store_id=store_id, channel=channel))
    presented, used, refused = _codes(uow, codes, member_id, lock=confirm)
    if reads is None:
        reads = _Asks.of(found, member_id, at).apart(uow, found.fingerprint, locked)
    store_uses = uow.promotions.store_use_counts(
        store_id, _period_starts(found.per_store, at))
    usage = {p.promotion_id: _usage(p, reads.counters.get(p.promotion_id, (0, 0, 0)),
                                    reads.member_uses.get(p.promotion_id, 0),
                                    store_uses.get(p.promotion_id, 0))
             for p in found.usage}  # absent: unlimited
    context = PromotionContext(
        member_id=member_id, tier_code=member["tier_code"] if member else None,
        segments=segment_names(reads.segments),
        store_id=store_id, channel=channel,
        is_first_purchase=reads.purchased is False,  # asked (a known member), not bought
        codes=tuple(presented), usage=usage)
    return Prepared(promotions, context, used, tuple(refused), locked)


def segments_of(attributes: dict[str, Any] | None) -> frozenset[str]:
    """Segment names from a member's attributes (`segments`: "a,b,c")."""
    return segment_names(segments_text(attributes))


def segments_text(attributes: dict[str, Any] | None) -> str | None:
    """The `segments` attribute when it is a string (as the folded read gives it)."""
    found = (attributes or {}).get("segments")
    return found if isinstance(found, str) else None


def segment_names(text: str | None) -> frozenset[str]:
    """The segment names in a `segments` attribute ("a,b,c")."""
    if not text:
        return frozenset()
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _codes(uow: UnitOfWork, codes: Iterable[str], member_id: str | None, *,
           lock: bool) -> tuple[list[PresentedCode], dict[str, str], list[Rejection]]:
    presented: list[PresentedCode] = []
    used: dict[str, str] = {}
    refused: list[Rejection] = []
    for code in sorted({normalise_code(c) for c in codes})[:MAX_CODES]:
        row = uow.promotions.code_limits(code)
        if row is not None and lock and row["max_uses"] is not None:
            row = uow.promotions.code_limits(code, lock=True)  # in code order: no deadlocks
        if row is None:
            presented.append(PresentedCode(code, None))
            continue
        if row["max_uses"] is not None and row["uses"] >= row["max_uses"]:
            refused.append(Rejection("code_used_up", f"code {code} has been used up"))
            continue
        per_member = row["max_uses_per_member"]
        if per_member is not None and member_id is not None and \
                uow.promotions.code_uses_by_member(code, member_id) >= per_member:
            refused.append(Rejection("code_used_by_member",
                                     f"code {code} was already used by this member"))
            continue
        presented.append(PresentedCode(code, row["promotion_id"]))
        used.setdefault(row["promotion_id"], code)
    return presented, used, refused


# A promotion's usage snapshot comes back the same receipt after receipt until a confirm moves
# its counters: each promotion keeps the snapshots made for it, by what they were made of.
_UsageKey = tuple[tuple[int, int, int], int, int]
_usages: PerObject[Promotion, dict[_UsageKey, PromotionUsage]] = PerObject(lambda _p: {})


def _usage(promotion: Promotion, used: tuple[int, int, int], member_uses: int,
           store_uses: int) -> PromotionUsage:
    kept = _usages(promotion)
    key = (used, member_uses, store_uses)
    usage = kept.get(key)
    if usage is None:
        if len(kept) >= 256:
            kept.clear()
        usage = kept[key] = _new_usage(promotion, used, member_uses, store_uses)
    return usage


def _new_usage(promotion: Promotion, used: tuple[int, int, int], member_uses: int,
               store_uses: int) -> PromotionUsage:
    limits = promotion.limits
    kopecks, points, count = used
    return PromotionUsage(
        remaining_kopecks=None if limits.budget_kopecks is None
        else max(limits.budget_kopecks - kopecks, 0),
        remaining_points=None if limits.budget_points is None
        else max(limits.budget_points - points, 0),
        remaining_count=None if limits.count is None else max(limits.count - count, 0),
        member_uses=member_uses, store_uses=store_uses)


def to_lock(prepared: Prepared, outcome: PromotionOutcome) -> frozenset[str]:
    """Counters a confirm must hold: those of applied promotions that limit something."""
    applied = {c.promotion_id for c in outcome.consumption}
    return frozenset(p.promotion_id for p in prepared.promotions
                     if p.promotion_id in applied and limited(p))


def record(uow: UnitOfWork, prepared: Prepared, outcome: PromotionOutcome,
           evaluation: Evaluation, *, member_id: str | None, receipt_key: str,
           store_id: str, occurred_at: datetime, now: datetime) -> list[dict[str, Any]]:
    """Book what a confirmed receipt used: counters, uses, codes, control-group decisions."""
    for decision in outcome.control:
        uow.promotions.record_audience(decision.promotion_id, decision.member_id,
                                       decision.held_back, now)
    uses = []
    for consumption in outcome.consumption:
        pid = consumption.promotion_id
        points = sum(a.points for a in evaluation.accruals if a.rule_id == pid)
        uow.promotions.consume(pid, kopecks=consumption.money_kopecks, points=points,
                               count=consumption.count, now=now)
        code = prepared.codes.get(pid)
        if code is not None:
            uow.promotions.use_code(code, 1)
        use = {"promotion_id": pid, "kopecks": consumption.money_kopecks, "points": points,
               "count": consumption.count, "code": code}
        if member_id is not None:
            uow.promotions.record_use(member_id=member_id, receipt_key=receipt_key,
                                      store_id=store_id, used_at=occurred_at, **use)
        uses.append(use)
    return uses


def give_back(uow: UnitOfWork, uses: list[dict[str, Any]], *, member_id: str | None,
              receipt_key: str, now: datetime) -> None:
    """Return what a receipt's promotions used to their budgets (cancel, or a return that
    broke their condition); `uses` are the receipt's recorded uses still standing."""
    for use in sorted(uses, key=lambda u: u["promotion_id"]):
        pid = use["promotion_id"]
        uow.promotions.consume(pid, kopecks=-use["kopecks"], points=-use["points"],
                               count=-use["count"], now=now)
        if use.get("code"):
            uow.promotions.use_code(use["code"], -1)
        if member_id is not None:
            uow.promotions.return_use(member_id, receipt_key, pid, now)


# --- the till flow ---------------------------------------------------------------------------

def evaluate_receipt(uow: UnitOfWork, program: Any, member: dict[str, Any] | None,
                     state: Any, receipt: Any, *, confirm: bool,
                     ) -> tuple[Prepared, PromotionOutcome | None, Evaluation]:
    """Promotions, then the program's own rules, on one receipt (`receipt` is the app's
    ReceiptInput). Confirming locks the counters of the limited promotions it may use, in id
    order and before the snapshot it decides on, so budgets are never overspent."""
    domain = receipt.domain()
    prepared = prepare(uow, member=member, store_id=receipt.store_id, channel=receipt.channel,
                       at=receipt.occurred_at, codes=receipt.promo_codes, confirm=confirm)
    outcome = apply_promotions(prepared.promotions, domain, prepared.context) \
        if prepared.promotions else None
    if confirm and outcome is not None:
        # Only what applied is locked: a spent budget is not (else every later receipt would
        # queue on it); a budget a parallel cancel gives back serves the next receipts.
        need = to_lock(prepared, outcome)
        if need:
            prepared = prepare(uow, member=member, store_id=receipt.store_id,
                               channel=receipt.channel, at=receipt.occurred_at,
                               codes=receipt.promo_codes, lock=need, confirm=True)
            outcome = apply_promotions(prepared.promotions, domain, prepared.context)
            if to_lock(prepared, outcome) - prepared.locked:
                raise Conflict("a promotion's budget changed while confirming; retry",
                               code="promotion_contention")
    evaluation = evaluate(program, domain, state) if outcome is None else \
        evaluate(program, domain, state, promotions=outcome)
    if prepared.refused:
        evaluation = replace(evaluation, rejected=evaluation.rejected + prepared.refused)
    return prepared, outcome, evaluation


def effects_of(prepared: Prepared, outcome: PromotionOutcome | None, uses: list[dict[str, Any]],
               line_ids: list[str]) -> dict[str, Any] | None:
    """What a receipt keeps to undo its promotions later: the uses, the documents of the
    promotions as they were, and each line's promotion discount."""
    if outcome is None or not uses:
        return None
    ids = {u["promotion_id"] for u in uses}
    return {"uses": uses, "returned": [],
            "documents": {p.promotion_id: promotion_to_document(p)
                          for p in prepared.promotions if p.promotion_id in ids},
            "codes": [[c.code, c.promotion_id] for c in prepared.context.codes
                      if c.promotion_id in ids],
            "lines": dict(zip(line_ids, outcome.line_discounts, strict=True))}


def standing(effects: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not effects:
        return []
    return [u for u in effects["uses"] if u["promotion_id"] not in effects["returned"]]


def recheck_after_return(effects: dict[str, Any], receipt: Any, kept: dict[str, Decimal],
                         member: dict[str, Any] | None,
                         segments: frozenset[str] = frozenset()) -> tuple[list[str], int]:
    """After a return: which of the receipt's promotions no longer apply to what is kept
    (their condition broke), and how much promotion discount the kept goods lose (kopecks,
    to deduct from the refund). Budgets are not the question here: only the conditions."""
    from dataclasses import replace as copy
    lines = tuple(copy(line, quantity=kept[line.line_id]) for line in receipt.lines
                  if kept[line.line_id] > 0)
    promotions = tuple(parse_promotion(d) for d in effects["documents"].values())
    if not lines:
        return [u["promotion_id"] for u in standing(effects)], 0
    domain = copy(receipt.domain(), lines=lines)
    context = PromotionContext(
        member_id=member["member_id"] if member else None,
        tier_code=member["tier_code"] if member else None,
        segments=segments,
        store_id=receipt.store_id, channel=receipt.channel, is_first_purchase=True,
        codes=tuple(PresentedCode(code, pid) for code, pid in effects["codes"]))
    outcome = apply_promotions(promotions, domain, context)
    still = {c.promotion_id for c in outcome.consumption}
    broken = [u["promotion_id"] for u in standing(effects) if u["promotion_id"] not in still]
    before = sum(int(effects["lines"][line.line_id] * kept[line.line_id] / line.quantity)
                 for line in receipt.lines if kept[line.line_id] > 0)
    after = sum(outcome.line_discounts)
    return broken, max(before - after, 0)
