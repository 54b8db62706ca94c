"""Use cases of gamification (SPEC P7): challenges and badges, instant-win draws, stickers.

Inside a confirm (`on_confirm`, after the receipt's own postings, under the member's lock):
- each challenge's progress in its period grows by what the receipt adds (paid line totals of
  the evaluation; one purchase); reaching the target claims the grant key (member,
  `challenge`, challenge, period) in `engagement_grants` and only then posts the reward
  points (code `bonus`, reason = the challenge id): exactly once per challenge and period;
- each draw rolls a hash of (draw, store, receipt), so a retry draws the same; a winner locks
  the draw's counter row (`draw_counters`, FOR UPDATE on PostgreSQL; in draw id order, after
  the member's lock), gets the prize capped by what is left of the budget (nothing once it is
  spent) and adds it to the counter, all in the confirm's transaction: the budget is never
  exceeded, however many tills confirm at once.
What the receipt did is kept in its effects (`engagement`), so `on_cancel` lowers the progress
by exactly what the receipt added and takes back a draw win (reversed, budget given back,
grant `revoked`). A badge reached stays, with its points: an achievement is not undone when a
purchase that counted towards it is cancelled (documented rule). Returns lower nothing.

Stickers are points of a second currency earned by an ordinary earn rule; `exchange` spends
an offer's stickers (exactly once with an Idempotency-Key, through `mutate`) and issues a
single-use voucher id, kept as a `voucher` grant row (status `issued`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kopilka.app import members as M
from kopilka.app import points as P
from kopilka.app import programs
from kopilka.app.ports import TransactionMeta, UnitOfWork, new_id
from kopilka.app.rewards import ALREADY_UNDONE
from kopilka.app.views import balance_view, iso
from kopilka.domain import engagement as E
from kopilka.domain import ledger as L
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.evaluation import Evaluation
from kopilka.domain.points import format_money
from kopilka.domain.program import Program

if TYPE_CHECKING:  # receipts.py calls this module
    from kopilka.app.receipts import Context, ReceiptInput

CHALLENGE, DRAW, VOUCHER = "challenge", "draw", "voucher"


def _amount(challenge: E.Challenge, value: int) -> int | str:
    return value if challenge.measure is E.ChallengeMeasure.PURCHASES else format_money(value)


def _give(uow: UnitOfWork, program: Program, ctx: Context, *, kind: str, rule_id: str,
          period_key: str, name: str, badge: str | None, currency: str, points: int,
          receipt_key: str, now: datetime, meta: TransactionMeta) -> str | None | bool:
    """Claim a grant key and post its points: the operation id (None: no points), or False
    when the key was taken."""
    row = {"member_id": ctx.member["member_id"], "kind": kind, "rule_id": rule_id,  # type: ignore[index]
           "period_key": period_key, "status": "granted", "name": name, "badge": badge,
           "currency": currency, "points": points, "program_version": program.version,
           "transaction_id": None, "receipt_key": receipt_key, "created_at": now,
           "updated_at": now}
    if not uow.engagement.claim(row):
        return False
    if not points:
        return None
    cur = program.currency(currency)
    posted = P.earn(uow, row["member_id"], cur, points, now=now,
                    meta=replace(meta, reason=rule_id), code=L.Code.BONUS,
                    locked=ctx.points.get(cur.code))
    uow.engagement.record_posting(row["member_id"], kind, rule_id, period_key,
                                  transaction_id=posted.transaction_id)
    return posted.transaction_id


def on_confirm(uow: UnitOfWork, ctx: Context, receipt: ReceiptInput, evaluation: Evaluation,
               effects: dict[str, Any], *, receipt_key: str, now: datetime,
               meta: TransactionMeta) -> dict[str, Any]:
    """Challenges and draws of a confirmed purchase; records what it did in `effects`
    (for cancel) and returns what the response shows ({} when nothing)."""
    program, engagement = ctx.program, ctx.program.engagement
    if engagement is None or ctx.member is None:
        return {}
    member_id = ctx.member["member_id"]
    lines = [E.PaidLine(line.sku, line.category, result.total)
             for line, result in zip(receipt.lines, evaluation.lines, strict=True)]
    local = program.local(receipt.occurred_at)
    record: dict[str, Any] = {"challenges": {}, "draws": []}
    challenges, draws = [], []
    for ch in engagement.challenges:
        add = E.contribution(ch, lines)
        if add <= 0:
            continue
        key = E.period_key(ch.period, local)
        value = uow.engagement.add_progress(member_id, ch.rule_id, key, add, now)
        record["challenges"][ch.rule_id] = [key, add]
        view = {"id": ch.rule_id, "name": ch.name, "period_key": key,
                "progress": _amount(ch, value), "target": _amount(ch, ch.target),
                "completed": E.reached(ch, value)}
        if view["completed"]:
            given = _give(uow, program, ctx, kind=CHALLENGE, rule_id=ch.rule_id,
                          period_key=key, name=ch.name, badge=ch.badge, currency=ch.currency,
                          points=ch.reward_points, receipt_key=receipt_key, now=now, meta=meta)
            if given is not False:  # reached with this receipt
                view.update(badge=ch.badge, operation_id=given, reward_points=program.currency(
                    ch.currency).format(ch.reward_points))
        challenges.append(view)
    paid = evaluation.total_payable
    for draw in sorted(engagement.draws, key=lambda d: d.rule_id):  # counter lock order
        if not E.wins(draw, receipt.store_id, receipt.receipt_id, paid):
            continue
        points = E.prize(draw, uow.engagement.lock_counter(draw.rule_id, now))
        if points <= 0:
            draws.append({"id": draw.rule_id, "name": draw.name, "won": False,
                          "reason": "budget_spent"})
            continue
        operation = _give(uow, program, ctx, kind=DRAW, rule_id=draw.rule_id,
                          period_key=receipt_key, name=draw.name, badge=None,
                          currency=draw.currency, points=points, receipt_key=receipt_key,
                          now=now, meta=meta)
        if operation is False:  # this receipt's win was given already
            continue
        uow.engagement.add_to_counter(draw.rule_id, points, 1, now)
        record["draws"].append({"draw_id": draw.rule_id, "points": points,
                                "operation_id": operation})
        draws.append({"id": draw.rule_id, "name": draw.name, "won": True,
                      "points": program.currency(draw.currency).format(points),
                      "currency": draw.currency, "operation_id": operation})
    effects["engagement"] = record
    shown = {k: v for k, v in (("challenges", challenges), ("draws", draws)) if v}
    return {"engagement": shown} if shown else {}


def on_cancel(uow: UnitOfWork, row: dict[str, Any], *, now: datetime, author: str) -> None:
    """Undo what the cancelled purchase `row` did: its progress, its draw wins (reversed,
    the budget given back). Badges reached stay."""
    record = row["effects"].get("engagement")
    member_id = row["member_id"]
    if not record or member_id is None:
        return
    for challenge_id, (key, add) in sorted(record["challenges"].items()):
        uow.engagement.add_progress(member_id, challenge_id, key, -add, now)
    meta = TransactionMeta(effective_at=now, author=author, partner_id=row["partner_id"],
                           store_id=row["store_id"], receipt_id=row["receipt_id"])
    for win in record["draws"]:  # in draw id order, as confirm locked them
        if win["operation_id"] is not None:
            try:
                P.reverse(uow, member_id, win["operation_id"], now=now,
                          meta=replace(meta, reason=f"{win['draw_id']}: purchase cancelled"))
            except DomainError as exc:  # reversed by hand meanwhile
                if exc.code not in ALREADY_UNDONE:
                    raise
        uow.engagement.add_to_counter(win["draw_id"], -win["points"], -1, now)
        uow.engagement.set_status(member_id, DRAW, win["draw_id"], row["receipt_key"],
                                  "revoked", now)


# --- what a member sees ---------------------------------------------------------------------

def challenges_view(uow: UnitOfWork, member_id: str, now: datetime) -> dict[str, Any]:
    """The challenges of the program in force with the member's progress in the current
    period, and every badge the member has."""
    M.require_member(uow, member_id)
    program = programs.in_force_or_none(uow, now)
    engagement = program.engagement if program is not None else None
    grants = uow.engagement.grants_of(member_id, CHALLENGE)
    items = []
    if engagement is not None and program is not None:
        progress = uow.engagement.progress_of(member_id)
        done = {(g["rule_id"], g["period_key"]) for g in grants}
        local = program.local(now)
        for ch in engagement.challenges:
            key = E.period_key(ch.period, local)
            value = progress.get((ch.rule_id, key), 0)
            items.append({"id": ch.rule_id, "name": ch.name, "badge": ch.badge,
                          "measure": ch.measure.value, "category": ch.category,
                          "period": ch.period.value, "period_key": key,
                          "progress": _amount(ch, value), "target": _amount(ch, ch.target),
                          "completed": (ch.rule_id, key) in done,
                          "reward_points": program.currency(ch.currency).format(
                              ch.reward_points), "currency": ch.currency})
    badges = [{"challenge_id": g["rule_id"], "badge": g["badge"], "name": g["name"],
               "period_key": g["period_key"], "awarded_at": iso(g["created_at"])}
              for g in grants if g["badge"]]
    return {"member_id": member_id, "items": items, "badges": badges}


# --- stickers -------------------------------------------------------------------------------

def exchange(uow: UnitOfWork, member_id: str, offer_id: str, *, now: datetime,
             meta: TransactionMeta) -> dict[str, Any]:
    """Spend an offer's stickers and issue a single-use voucher for it."""
    program = programs.in_force(uow, now)
    engagement = program.engagement
    offer = engagement.offer(offer_id) if engagement is not None else None
    if offer is None or engagement is None or engagement.sticker_currency is None:
        raise InvalidInput(f"the program has no sticker offer {offer_id!r}",
                           code="unknown_sticker_offer")
    M.require_active(uow, member_id)
    cur = program.currency(engagement.sticker_currency)
    posted = P.spend(uow, member_id, cur, offer.stickers, now=now,
                     meta=replace(meta, reason=offer.offer_id))
    voucher_id = new_id()
    code = _voucher_code(uow, offer, now)
    uow.engagement.claim({
        "member_id": member_id, "kind": VOUCHER, "rule_id": offer.offer_id,
        "period_key": voucher_id, "status": "issued", "name": offer.name, "badge": None,
        "currency": cur.code, "points": -offer.stickers, "program_version": program.version,
        "transaction_id": posted.transaction_id, "receipt_key": None, "created_at": now,
        "updated_at": now})
    return {"member_id": member_id,
            "voucher": {"voucher_id": voucher_id, "code": code, "status": "issued",
                        "offer_id": offer.offer_id,
                        "name": offer.name, "sku": offer.sku,
                        "discount_percent": format(offer.discount_percent, "f")},
            "stickers_spent": cur.format(offer.stickers), "operation_id": posted.transaction_id,
            "balance": balance_view(uow, member_id, cur)}


def _voucher_code(uow: UnitOfWork, offer: Any, now: datetime) -> str:
    """A single-use promo code the till redeems like any other: it belongs to the offer's
    own promotion (`stickers-<offer id>`: the offer's percent off its SKU, code required),
    made or brought in line with the offer here."""
    from kopilka.app import promotion_admin as A

    promotion_id = f"stickers-{offer.offer_id}"[:64]
    document = {"id": promotion_id, "name": offer.name, "requires_code": True,
                "reward": {"type": "percent_off", "percent": format(offer.discount_percent, "f"),
                           "goods": {"skus": [offer.sku]}}}
    row = uow.promotions.get(promotion_id)
    if row is None:
        A.create(uow, document, status="active", partner_id=None, now=now, author="stickers")
    elif row["document"].get("reward") != A.parse_and_render(document)["reward"] \
            or row["status"] != "active":
        A.update(uow, promotion_id, {"reward": document["reward"], "status": "active"},
                 partner_id=None, now=now, author="stickers")
    return A.generate_codes(uow, promotion_id, count=1, prefix="ST", partner_id=None,
                            now=now)["codes"][0]
