"""The till flow: calculate, confirm, get, cancel and return a receipt.

Evaluation is the pure `domain.evaluation.evaluate`; this module reads what it needs (program
version in force at the receipt's time, the member's tier, balance and tier progress) under the
member's lock, and turns the result into ledger operations: a spend (or a hold capture) and
one accrual per earn rule. Everything a return or cancel needs to undo is kept with the receipt
(`effects`): the operations, lots, and what has been given back so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kopilka.app import charity, engagement, programs, rewards
from kopilka.app import members as M
from kopilka.app import points as P
from kopilka.app import promotion_till as PT
from kopilka.app.ports import TransactionMeta, UnitOfWork, new_id
from kopilka.app.program_coalition import store_program
from kopilka.domain import ledger as L
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.evaluation import Evaluation, Line, MemberState, Receipt
from kopilka.domain.program import Program, window_bounds


@dataclass(frozen=True)
class ReceiptInput:
    store_id: str
    receipt_id: str
    occurred_at: datetime
    lines: tuple[Line, ...]
    member: dict[str, str] | None = None
    channel: str = "offline"
    payment_methods: tuple[str, ...] = ()
    redeem_points: int | str = 0
    till_id: str | None = None
    cashier_id: str | None = None
    promo_codes: tuple[str, ...] = ()
    hold_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def domain(self) -> Receipt:
        return Receipt(self.lines, self.occurred_at, self.channel, self.payment_methods,
                       self.redeem_points)


@dataclass(frozen=True)
class Context:
    """The member and program a receipt is evaluated against."""

    program: Program
    member: dict[str, Any] | None
    state: MemberState | None
    points: dict[str, L.MemberPoints] = field(default_factory=dict)  # by currency, locked


def member_state(uow: UnitOfWork, program: Program, member: dict[str, Any], at: datetime,
                 now: datetime, *, lock: bool, extra_spendable: int = 0,
                 points_out: dict[str, L.MemberPoints] | None = None) -> MemberState:
    """Tier, spendable points and tier progress; with `lock`, under the member's lock
    (the locked points per currency are left in `points_out` for posting)."""
    currencies = sorted({r.currency for r in program.earn}
                        | ({program.burn.currency} if program.burn else set()))
    spendable = available = 0
    for code in currencies:  # fixed lock order: by currency code
        cur = program.currency(code)
        if lock:
            found = uow.ledger.lock_points(member["member_id"], code, now=now,
                                           min_available=cur.min_available, with_lots=True)
            points = found[0]
        else:
            lots = uow.ledger.open_lots(member["member_id"], code)
            points = L.MemberPoints(uow.ledger.balance(member["member_id"], code), lots,
                                    cur.min_available)
        if points_out is not None:
            points_out[code] = points
        if program.burn and code == program.burn.currency:
            spendable = max(L.spendable(points, now), 0) + extra_spendable
            available = points.balance.available + extra_spendable
    qualifying = 0
    if program.tiers is not None:
        start, end = window_bounds(program.tiers.window, program.local(at))
        qualifying = uow.receipts.qualifying_total(member["member_id"], start, end)
    return MemberState(tier_code=member["tier_code"], spendable=spendable, available=available,
                       qualifying_value=qualifying)


def context(uow: UnitOfWork, receipt: ReceiptInput, now: datetime, *, lock: bool,
            extra_spendable: int = 0, qr_verifier: M.QrVerifier | None = None) -> Context:
    program = store_program(uow, programs.in_force(uow, receipt.occurred_at), receipt.store_id)
    if not receipt.member:
        return Context(program, None, None)
    member = M.resolve_brief(uow, receipt.member, qr_verifier=qr_verifier)
    if member["status"] != "active":
        raise DomainError(f"member {member['member_id']} is {member['status']}",
                          code="member_not_active", status=409)
    points: dict[str, L.MemberPoints] = {}
    state = member_state(uow, program, member, receipt.occurred_at, now, lock=lock,
                         extra_spendable=extra_spendable, points_out=points)
    return Context(program, member, state, points if lock else {})


def program_currency(uow: UnitOfWork, receipt: ReceiptInput) -> str:
    """The currency a receipt's member balance is shown in: the program's main one."""
    return programs.in_force(uow, receipt.occurred_at).main_currency


def calculate(uow: UnitOfWork, receipt: ReceiptInput, now: datetime, *,
              qr_verifier: M.QrVerifier | None = None) -> tuple[Context, Evaluation]:
    ctx = context(uow, receipt, now, lock=False, qr_verifier=qr_verifier)
    _prepared, _outcome, evaluation = PT.evaluate_receipt(uow, ctx.program, ctx.member,
                                                          ctx.state, receipt, confirm=False)
    return ctx, evaluation


def hold_for(uow: UnitOfWork, ctx: Context, evaluation: Evaluation, *, now: datetime,
             ttl: Any, meta: TransactionMeta) -> str | None:
    """Reserve the points a calculation redeems; returns the hold id (None: nothing to hold)."""
    if ctx.member is None or not evaluation.points_redeemed:
        return None
    cur = ctx.program.currency(evaluation.burn_currency)
    posted = P.hold(uow, ctx.member["member_id"], cur, evaluation.points_redeemed, now=now,
                    ttl=ttl, meta=meta)
    return posted.hold_id


# --- confirm --------------------------------------------------------------------------------

def confirm(uow: UnitOfWork, receipt: ReceiptInput, request: dict[str, Any], digest: str, *,
            now: datetime, partner_id: str | None, author: str,
            qr_verifier: M.QrVerifier | None = None) -> dict[str, Any]:
    """Post a purchase: spend (or capture the hold), accrue, move the tier; store the receipt."""
    held = _usable_hold(uow, receipt, now, partner_id)
    ctx = context(uow, receipt, now, lock=True, extra_spendable=held.points if held else 0,
                  qr_verifier=qr_verifier)
    prepared, outcome, evaluation = PT.evaluate_receipt(uow, ctx.program, ctx.member,
                                                        ctx.state, receipt, confirm=True)
    meta = TransactionMeta(effective_at=receipt.occurred_at, author=author,
                           partner_id=partner_id, store_id=receipt.store_id,
                           receipt_id=receipt.receipt_id)
    effects: dict[str, Any] = {"accruals": [], "spend": None, "restored": {},
                               "withdrawn": {}, "returned": {}}
    if ctx.member is not None:
        member_id = ctx.member["member_id"]
        effects["spend"] = _spend(uow, ctx, evaluation, held, now, meta)
        for accrual in evaluation.accruals:
            cur = ctx.program.currency(accrual.currency)
            posted = P.earn(uow, member_id, cur, accrual.points, now=now, meta=meta,
                            expires_at=accrual.expires_at, activates_at=accrual.activates_at,
                            locked=ctx.points.get(cur.code))
            effects["accruals"].append({"operation_id": posted.transaction_id,
                                        "lot_id": posted.lot_id, "currency": cur.code,
                                        "points": accrual.points,
                                        "lines": dict(zip([line.line_id for line in receipt.lines],
                                                          accrual.lines, strict=True))})
        charity.on_purchase(uow, ctx.program, member_id, effects, now=now, meta=meta)  # P9
        if evaluation.tier_after and evaluation.tier_after != ctx.member["tier_code"]:
            uow.members.update(member_id, {"tier_code": evaluation.tier_after,
                                           "updated_at": now})
    receipt_key = new_id()
    from kopilka.app.receipt_views import evaluation_view
    body = evaluation_view(evaluation, ctx.program)
    body.update({"receipt_key": receipt_key, "status": "confirmed",
                 "store_id": receipt.store_id, "receipt_id": receipt.receipt_id,
                 "member_id": ctx.member["member_id"] if ctx.member else None,
                 "program_version": ctx.program.version})
    given = rewards.on_purchase(uow, ctx.program, body["member_id"], channel=receipt.channel,
                                occurred_at=receipt.occurred_at, receipt_key=receipt_key,
                                now=now, meta=meta) if body["member_id"] else []
    if given:  # one-time rewards of the purchase: referral (both sides), first app order
        body["rewards"] = given
    body.update(engagement.on_confirm(uow, ctx, receipt, evaluation, effects,  # P7
                                      receipt_key=receipt_key, now=now, meta=meta))
    if outcome is not None:
        uses = PT.record(uow, prepared, outcome, evaluation, member_id=body["member_id"],
                         receipt_key=receipt_key, store_id=receipt.store_id,
                         occurred_at=receipt.occurred_at, now=now)
        effects["promotions"] = PT.effects_of(prepared, outcome, uses,
                                              [line.line_id for line in receipt.lines])
    uow.receipts.add({
        "store_id": receipt.store_id, "receipt_id": receipt.receipt_id,
        "receipt_key": receipt_key, "member_id": body["member_id"], "partner_id": partner_id,
        "status": "confirmed", "occurred_at": receipt.occurred_at,
        "program_version": ctx.program.version, "request_sha256": digest, "request": request,
        "result": body, "effects": effects, "total_payable": evaluation.total_payable,
        "qualifying_value": evaluation.qualifying_value, "created_at": now, "updated_at": now})
    return body


def _usable_hold(uow: UnitOfWork, receipt: ReceiptInput, now: datetime,  # noqa: ANN202
                 partner_id: str | None):
    if receipt.hold_id is None:
        return None
    row = uow.ledger.find_hold(receipt.hold_id)
    owner = uow.ledger.hold_partner(receipt.hold_id) if row is not None else None
    if row is None or (partner_id is not None and owner not in (None, partner_id)):
        raise DomainError(f"hold {receipt.hold_id} not found", code="hold_not_found",
                          status=404)
    if row.status != "active" or row.expires_at <= now:
        raise DomainError(f"hold {receipt.hold_id} is no longer active", code="hold_not_active",
                          status=409)
    return row


def _spend(uow: UnitOfWork, ctx: Context, evaluation: Evaluation, held, now: datetime,  # noqa: ANN001
           meta: TransactionMeta) -> dict[str, Any] | None:
    points = evaluation.points_redeemed
    member_id = ctx.member["member_id"]
    if held is not None:
        if held.member_id != member_id:
            raise DomainError("the hold belongs to another member", code="hold_mismatch",
                              status=409)
        if points > held.points:
            raise DomainError(f"the hold reserves {held.points} points, the receipt redeems "
                              f"{points}", code="hold_insufficient", status=409)
        posted = P.capture(uow, held.hold_id, points, now=now, meta=meta)
    elif points:
        cur = ctx.program.currency(evaluation.burn_currency)
        posted = P.spend(uow, member_id, cur, points, now=now, meta=meta,
                         locked=ctx.points.get(cur.code))
    else:
        return None
    if not points:
        return None
    return {"operation_id": posted.transaction_id, "currency": evaluation.burn_currency,
            "points": points}


# --- cancel and returns ---------------------------------------------------------------------

def visible_to(row: dict[str, Any], caller: Any) -> bool:
    """A partner's key sees its own partner's receipts only (the library sees everything)."""
    partner = getattr(caller, "partner_id", None)
    return partner is None or row["partner_id"] in (None, partner)


def locked_receipt(uow: UnitOfWork, store_id: str, receipt_id: str,
                   partner_id: str | None = None) -> dict[str, Any]:
    row = uow.receipts.get(store_id, receipt_id, lock=True)
    if row is None or (partner_id is not None and row["partner_id"] not in (None, partner_id)):
        raise DomainError(f"receipt {store_id}/{receipt_id} not found",
                          code="receipt_not_found", status=404)
    return row


def cancel(uow: UnitOfWork, store_id: str, receipt_id: str, *, now: datetime,
           author: str, partner_id: str | None = None) -> dict[str, Any]:
    """Void a confirmed receipt: every effect not yet undone by returns is reversed. A receipt
    that was only calculated with a hold gets its holds released."""
    if uow.receipts.get(store_id, receipt_id) is None:
        return _release_holds(uow, store_id, receipt_id, now=now, author=author)
    row = locked_receipt(uow, store_id, receipt_id, partner_id)
    if row["status"] == "cancelled":
        return row["result"]
    program = programs.version(uow, row["program_version"])
    undo = Undo(uow, program, row, now, author)
    for accrual in row["effects"]["accruals"]:
        undo.withdraw(accrual, accrual["points"] - undo.withdrawn(accrual))
    spend = row["effects"]["spend"]
    if spend:
        undo.restore(spend["points"] - sum(row["effects"]["restored"].values()))
    rewards.on_cancel(uow, row, now=now, author=author)  # revokes what the purchase gave
    engagement.on_cancel(uow, row, now=now, author=author)  # lowers progress, undoes wins
    promoted = row["effects"].get("promotions")
    PT.give_back(uow, PT.standing(promoted), member_id=row["member_id"],
                 receipt_key=row["receipt_key"], now=now)
    if promoted:
        undo.effects["promotions"] = {**promoted, "returned": [
            u["promotion_id"] for u in promoted["uses"]]}
    result = {**row["result"], "status": "cancelled"}
    uow.receipts.update(store_id, receipt_id, {"status": "cancelled", "result": result,
                                               "effects": undo.effects, "qualifying_value": 0,
                                               "updated_at": now})
    undo_upgrade(uow, program, row, now)
    return result


def _release_holds(uow: UnitOfWork, store_id: str, receipt_id: str, *, now: datetime,
                   author: str) -> dict[str, Any]:
    released = []
    for hold_id in uow.ledger.holds_of_receipt(store_id, receipt_id):
        row = uow.ledger.find_hold(hold_id)
        if row is not None and row.status == "active":
            P.release(uow, hold_id, now=now, meta=TransactionMeta(
                effective_at=now, author=author, store_id=store_id, receipt_id=receipt_id,
                reason="receipt cancelled before confirmation"))
            released.append(hold_id)
    if not released:
        raise DomainError(f"receipt {store_id}/{receipt_id} not found",
                          code="receipt_not_found", status=404)
    return {"store_id": store_id, "receipt_id": receipt_id, "status": "released",
            "released_holds": released}


@dataclass
class Undo:
    """Gives back what a receipt did, remembering how much is already given back."""

    uow: UnitOfWork
    program: Program
    row: dict[str, Any]
    now: datetime
    author: str
    deducted_value: int = 0  # kopecks of points that could not be taken back (deducted)
    deducted_points: int = 0

    def __post_init__(self) -> None:
        self.effects = {**self.row["effects"], "withdrawn": dict(self.row["effects"]["withdrawn"]),
                        "restored": dict(self.row["effects"]["restored"])}
        self.member_id = self.row["member_id"]
        self.meta = TransactionMeta(effective_at=self.now, author=self.author,
                                    partner_id=self.row["partner_id"],  # whose receipt it is
                                    store_id=self.row["store_id"],
                                    receipt_id=self.row["receipt_id"])

    def withdrawn(self, accrual: dict[str, Any]) -> int:
        return self.effects["withdrawn"].get(accrual["lot_id"], 0)

    def withdraw(self, accrual: dict[str, Any], points: int) -> None:
        """Take back earned points: pending ones first, then available (policy decides debt)."""
        if points <= 0:
            return
        cur = self.program.currency(accrual["currency"])
        # one read under the lock: cancelling pending points moves neither lots nor debt
        state = P.lock_state(self.uow, self.member_id, cur, self.now)
        lot = self.uow.ledger.lots(self.member_id, [accrual["lot_id"]])[accrual["lot_id"]]
        left = points
        if lot.state is L.LotState.PENDING and lot.pending > 0:
            part = min(lot.pending, left)
            plan = L.plan_pending_cancellation(lot, part, code=L.Code.REFUND_EARN)
            self.uow.ledger.post(self.member_id, cur.code, plan, self.meta, now=self.now)
            left -= part
        if left:
            self._take_available(cur, left, lot.lot_id, state)
        self.effects["withdrawn"][accrual["lot_id"]] = self.withdrawn(accrual) + points

    def _take_available(self, cur, points: int, lot_id: str,  # noqa: ANN001
                        state: L.MemberPoints) -> None:
        negative = self.program.returns_policy.value == "negative_balance"
        if not negative:
            can = max(L.spendable(state, self.now), 0)
            missing = points - min(points, can)
            self.deducted_value += self._money_value(cur, missing)
            self.deducted_points += missing
            points = min(points, can)
            if not points:
                return
        plan = L.plan_debit(state, points, now=self.now, code=L.Code.REFUND_EARN,
                            sink=L.Account.ISSUED, allow_debt=negative,
                            preferred_lot_ids=[lot_id])
        self.uow.ledger.post(self.member_id, cur.code, plan, self.meta, now=self.now)

    def _money_value(self, cur, minor: int) -> int:  # noqa: ANN001
        """Kopecks that `minor` units of `cur` are worth (what paying with them is worth when
        the program takes them as payment, else their unit value), floored."""
        burn = self.program.burn
        per_point = (burn.point_value_kopecks if burn and burn.currency == cur.code
                     else cur.unit_value_kopecks)
        return minor * per_point // 10 ** cur.scale

    def restore(self, points: int) -> None:
        """Give spent points back to the lots they came from, in the order they were taken."""
        if points <= 0:
            return
        spend = self.effects["spend"]
        cur = self.program.currency(spend["currency"])
        state = P.lock_state(self.uow, self.member_id, cur, self.now)
        original = self.uow.ledger.transaction(self.member_id, spend["operation_id"])
        restored = self.effects["restored"]
        parts, left = [], points
        for e in original.entries:
            if e.account not in (L.Account.AVAILABLE, L.Account.HELD) or e.amount >= 0 or not left:
                continue
            key = e.lot_id or "-"
            free = -e.amount - restored.get(key, 0)
            take = min(free, left)
            if take > 0:
                parts.append(L.Consumption(original.lots.get(e.lot_id) if e.lot_id else None,
                                           take))
                restored[key] = restored.get(key, 0) + take
                left -= take
        plan = L.plan_restoration(state, parts, now=self.now, lot_id=new_id())
        self.uow.ledger.post(self.member_id, cur.code, plan, self.meta, now=self.now)


def return_lines(uow: UnitOfWork, store_id: str, receipt_id: str, return_id: str,
                 lines: list[tuple[str, Decimal]], *, occurred_at: datetime, now: datetime,
                 author: str, partner_id: str | None = None) -> dict[str, Any]:
    """A partial or full return: the returned share of every effect is undone exactly; what
    a full return gives back equals what the receipt did (cumulative rounding)."""
    row = locked_receipt(uow, store_id, receipt_id, partner_id)
    if row["status"] != "confirmed":
        raise DomainError("a cancelled receipt takes no returns", code="receipt_cancelled",
                          status=409)
    result_lines = {line["line_id"]: line for line in row["result"]["lines"]}
    returned = dict(row["effects"]["returned"])
    before = dict(returned)
    for line_id, quantity in lines:
        if line_id not in result_lines:
            raise InvalidInput(f"line {line_id} is not on the receipt", code="unknown_line")
        bought = Decimal(result_lines[line_id]["quantity"])
        total = Decimal(returned.get(line_id, "0")) + quantity
        if quantity <= 0 or total > bought:
            raise DomainError(f"line {line_id}: returning {total} of {bought}",
                              code="return_exceeds_receipt", status=422)
        returned[line_id] = str(total)
    program = programs.version(uow, row["program_version"])
    undo = Undo(uow, program, row, now, author)
    shares = _shares(row["result"]["lines"], before, returned)
    withdrawn = 0
    for accrual in row["effects"]["accruals"]:
        share = _accrual_share(accrual, row["result"]["lines"], before, returned)
        share = min(share, accrual["points"] - undo.withdrawn(accrual))
        undo.withdraw(accrual, share)
        withdrawn += share if accrual["currency"] == program.main_currency else 0
    shares["points_earned"] = withdrawn
    if row["effects"]["spend"] and shares["points_redeemed"]:
        undo.restore(shares["points_redeemed"])
    undo.effects["returned"] = returned
    refund = shares["total"]
    deduction = undo.deducted_value + _promotions_after_return(uow, row, undo, returned, now)
    result = {"return_id": return_id, "store_id": store_id, "receipt_id": receipt_id,
              "lines": [{"line_id": i, "quantity": str(q)} for i, q in lines],
              "points_withdrawn": shares["points_earned"],
              "points_returned": shares["points_redeemed"],
              "points_not_withdrawn": undo.deducted_points,
              "refund": _money(max(refund - deduction, 0)),
              "refund_deduction": _money(min(deduction, refund)),
              "occurred_at": occurred_at.isoformat()}
    qualifying = max(row["qualifying_value"] - _qualifying_share(program, shares), 0)
    uow.receipts.update(store_id, receipt_id, {"effects": undo.effects,
                                               "qualifying_value": qualifying,
                                               "updated_at": now})
    undo_upgrade(uow, program, row, now)
    return result


def stored_receipt(request: dict[str, Any]) -> ReceiptInput:
    """The receipt as it was confirmed, from its stored canonical request."""
    lines = tuple(Line(line_id=x["line_id"], sku=x["sku"], name=x["name"],
                       category=x["category"], quantity=Decimal(x["quantity"]),
                       unit_price=x["unit_price"], discountable=x["discountable"])
                  for x in request["lines"])
    return ReceiptInput(store_id=request["store_id"], receipt_id=request["receipt_id"],
                        occurred_at=datetime.fromisoformat(request["occurred_at"]), lines=lines,
                        member=request["member"], channel=request["channel"],
                        promo_codes=tuple(request["promo_codes"]))


def _promotions_after_return(uow: UnitOfWork, row: dict[str, Any], undo: Undo,
                             returned: dict[str, str], now: datetime) -> int:
    """Promotions whose condition the kept goods no longer meet give their budget back; the
    discount the kept goods lose is deducted from the refund (kopecks)."""
    promoted = undo.effects.get("promotions")
    if not PT.standing(promoted):
        return 0
    receipt = stored_receipt(row["request"])
    kept = {line.line_id: line.quantity - Decimal(returned.get(line.line_id, "0"))
            for line in receipt.lines}
    member = M.require_member(uow, row["member_id"]) if row["member_id"] else None
    broken, clawback = PT.recheck_after_return(
        promoted, receipt, kept, member, PT.segments_of((member or {}).get("attributes")))
    PT.give_back(uow, [u for u in PT.standing(promoted) if u["promotion_id"] in broken],
                 member_id=row["member_id"], receipt_key=row["receipt_key"], now=now)
    undo.effects["promotions"] = {**promoted, "returned": [*promoted["returned"], *broken]}
    return clawback


def _shares(lines: list[dict[str, Any]], before: dict[str, str],
            after: dict[str, str]) -> dict[str, int]:
    """What the newly returned quantities undo: cumulative floor(value x returned / bought)."""
    sums = {"points_earned": 0, "points_redeemed": 0, "total": 0}
    for line in lines:
        bought = Decimal(line["quantity"])
        old = Decimal(before.get(line["line_id"], "0"))
        new = Decimal(after.get(line["line_id"], "0"))
        if new == old:
            continue
        for name in sums:
            value = _as_int(line[name])
            sums[name] += int(value * new / bought) - int(value * old / bought)
    return sums


def _accrual_share(accrual: dict[str, Any], lines: list[dict[str, Any]],
                   before: dict[str, str], after: dict[str, str]) -> int:
    """The points of one accrual that the newly returned quantities take back (cumulative)."""
    per_line = accrual.get("lines", {})
    share = 0
    for line in lines:
        points = per_line.get(line["line_id"], 0)
        bought = Decimal(line["quantity"])
        old = Decimal(before.get(line["line_id"], "0"))
        new = Decimal(after.get(line["line_id"], "0"))
        share += int(points * new / bought) - int(points * old / bought)
    return share


def _as_int(value: Any) -> int:
    if isinstance(value, str):  # money strings
        return int(Decimal(value) * 100)
    return int(value)


def _money(kopecks: int) -> str:
    from kopilka.domain.points import format_money
    return format_money(kopecks)


def _qualifying_share(program: Program, shares: dict[str, int]) -> int:
    if program.tiers is None:
        return 0
    return {"spend": shares["total"], "points_earned": shares["points_earned"],
            "purchases": 0}[program.tiers.measure.value]


def undo_upgrade(uow: UnitOfWork, program: Program, row: dict[str, Any], now: datetime) -> None:
    """After a cancel or return: an upgrade this receipt caused stands only while the tier's
    measure still reaches it. The member falls back no lower than the tier they had before
    the receipt, and only from a tier this receipt could have given them."""
    tier = row["result"].get("tier")
    if program.tiers is None or not tier or tier["before"] == tier["after"] or not row["member_id"]:
        return
    tiers = program.tiers
    current = M.require_member(uow, row["member_id"])["tier_code"]
    if not tiers.rank(tier["before"]) < tiers.rank(current) <= tiers.rank(tier["after"]):
        return
    start, end = window_bounds(tiers.window, program.local(row["occurred_at"]))
    earned = tiers.earned_level(uow.receipts.qualifying_total(row["member_id"], start, end))
    before = tiers.level(tier["before"])
    fallback = earned if tiers.rank(earned.code) > tiers.rank(before.code) else before
    if tiers.rank(fallback.code) < tiers.rank(current):
        uow.members.update(row["member_id"], {"tier_code": fallback.code, "updated_at": now})
