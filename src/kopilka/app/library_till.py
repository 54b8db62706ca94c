"""The library's till and program methods (mixed into `Kopilka`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kopilka.app import members as M
from kopilka.app import programs, receipts
from kopilka.app.ports import TransactionMeta, UnitOfWork
from kopilka.app.receipt_views import evaluation_view
from kopilka.domain.errors import DomainError, NotFound
from kopilka.domain.program import Program, window_bounds


class TillMixin:
    """Receipts (calculate, confirm, get, cancel, returns), programs and tier progress."""

    # --- programs --------------------------------------------------------------------------

    def apply_program(self, program: Program, *, author: str = "library",
                      caller: Any = None, idempotency_key: str | None = None) -> Any:
        from kopilka.app.library import LIBRARY, Result
        from kopilka.app.program_document import program_to_document

        def work(uow: UnitOfWork, now: datetime) -> Result:
            applied = programs.apply(uow, program, now=now, author=author)
            return Result(201, programs.document_of(uow, applied.version))
        return self.mutate("apply_program", program_to_document(program), work,
                           caller=caller or LIBRARY, idempotency_key=idempotency_key)

    def program(self, at: datetime | None = None) -> dict[str, Any]:
        with self.db.read() as uow:
            found = programs.in_force(uow, at or self.clock.now())
            return programs.document_of(uow, found.version)

    def program_versions(self) -> list[dict[str, Any]]:
        with self.db.read() as uow:
            return [{"version": r["version"], "name": r["name"],
                     "effective_from": r["effective_from"].isoformat(),
                     "created_at": r["created_at"].isoformat(), "created_by": r["created_by"]}
                    for r in uow.programs.all()]

    # --- receipts --------------------------------------------------------------------------

    def calculate(self, receipt: receipts.ReceiptInput, *, hold: bool = False,
                  caller: Any = None, idempotency_key: str | None = None) -> Any:
        """Evaluate without changing anything, or reserve the redeemed points (`hold`)."""
        from kopilka.app.library import LIBRARY, Result

        if not hold:
            with self.db.read() as uow:
                ctx, evaluation = receipts.calculate(uow, receipt, self.clock.now(),
                                                     qr_verifier=self.card_of_token)
                return Result(200, self._calculation(uow, ctx, evaluation, caller))

        def work(uow: UnitOfWork, now: datetime) -> Result:
            ctx, evaluation = receipts.calculate(uow, receipt, now,
                                                 qr_verifier=self.card_of_token)
            meta = TransactionMeta(effective_at=now, store_id=receipt.store_id,
                                   receipt_id=receipt.receipt_id,
                                   author=(caller or LIBRARY).name,
                                   partner_id=(caller or LIBRARY).partner_id)
            hold_id = receipts.hold_for(uow, ctx, evaluation, now=now, ttl=self.hold_ttl,
                                        meta=meta)
            return Result(200, {**self._calculation(uow, ctx, evaluation, caller),
                                "hold_id": hold_id})
        return self.mutate("calculate_hold", _request(receipt), work, caller=caller or LIBRARY,
                           idempotency_key=idempotency_key)

    def _calculation(self, uow: UnitOfWork, ctx: receipts.Context, evaluation,  # noqa: ANN001
                     caller: Any = None) -> dict:
        from kopilka.app import privacy, views

        body = evaluation_view(evaluation, ctx.program)
        if ctx.member is not None:
            cur = self._currency(uow, ctx.program.main_currency)
            summary = views.summary_view(uow, ctx.member, cur, ctx.program)
            body["member"] = privacy.member_for(uow, ctx.member, summary, caller)
        else:
            body["member"] = None
        return body

    def confirm(self, receipt: receipts.ReceiptInput, *, caller: Any = None) -> Any:
        """Post a purchase, exactly once per (store_id, receipt_id): a repeat returns the
        first result (`replayed`), the same receipt id with other content is refused."""
        from kopilka.app.library import LIBRARY, Caller, Result, request_hash

        caller = caller or LIBRARY
        request = _request(receipt)
        digest = request_hash("confirm", request)

        def work(uow: UnitOfWork, now: datetime) -> Result:
            body = receipts.confirm(uow, receipt, request, digest, now=now,
                                    partner_id=caller.partner_id, author=caller.name,
                                    qr_verifier=self.card_of_token)
            if body["member_id"]:
                cur = self._currency(uow, receipts.program_currency(uow, receipt))
                from kopilka.app import views
                body["balance"] = views.balance_view(uow, body["member_id"], cur)
            return Result(201, body)
        # idempotent on the receipt's own key, whoever sends it
        store_scope = Caller(name=f"store:{receipt.store_id}")
        try:
            return self.mutate("confirm", request, work, caller=store_scope,
                               idempotency_key=receipt.receipt_id)
        except DomainError as exc:
            if exc.code == "idempotency_conflict":
                raise DomainError(f"receipt {receipt.store_id}/{receipt.receipt_id} was "
                                  "confirmed with other content", code="receipt_conflict",
                                  status=409) from exc
            raise

    def receipt(self, store_id: str, receipt_id: str, *, caller: Any = None) -> dict[str, Any]:
        """A stored receipt; another partner's receipt is "not found" to a partner's key."""
        with self.db.read() as uow:
            return self._receipt_view(uow, store_id, receipt_id, caller)[1]

    def _receipt_view(self, uow: UnitOfWork, store_id: str, receipt_id: str,
                      caller: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The stored row and its view as `receipt` returns it (in the caller's transaction)."""
        row = uow.receipts.get(store_id, receipt_id)
        if row is None or not receipts.visible_to(row, caller):
            raise NotFound(f"receipt {store_id}/{receipt_id} not found",
                           code="receipt_not_found")
        returns = [r["result"] for r in uow.receipts.returns_of(store_id, receipt_id)]
        return row, {**row["result"], "status": row["status"], "returns": returns,
                     "occurred_at": row["occurred_at"].isoformat()}

    def cancel_receipt(self, store_id: str, receipt_id: str, *, caller: Any = None,
                       idempotency_key: str | None = None) -> Any:
        from kopilka.app.library import LIBRARY, Result

        caller = caller or LIBRARY

        def work(uow: UnitOfWork, now: datetime) -> Result:
            return Result(200, receipts.cancel(uow, store_id, receipt_id, now=now,
                                               author=caller.name,
                                               partner_id=caller.partner_id))
        return self.mutate("cancel_receipt", [store_id, receipt_id], work, caller=caller,
                           idempotency_key=idempotency_key)

    def return_receipt(self, store_id: str, receipt_id: str, return_id: str,
                       lines: list[tuple[str, Decimal]], *, occurred_at: datetime | None = None,
                       caller: Any = None) -> Any:
        """A return, idempotent on `return_id` (a repeat gives the first answer)."""
        from kopilka.app.library import LIBRARY, Caller, Result

        caller = caller or LIBRARY
        request = [store_id, receipt_id, return_id, [[i, str(q)] for i, q in lines]]

        def work(uow: UnitOfWork, now: datetime) -> Result:
            at = occurred_at or now
            result = receipts.return_lines(uow, store_id, receipt_id, return_id, lines,
                                           occurred_at=at, now=now, author=caller.name,
                                           partner_id=caller.partner_id)
            uow.receipts.add_return({"store_id": store_id, "receipt_id": receipt_id,
                                     "return_id": return_id, "request_sha256": "-",
                                     "result": result, "occurred_at": at, "created_at": now})
            return Result(201, result)
        scope = Caller(name=f"store:{store_id}:returns", person=caller.person)
        return self.mutate("return", request, work, caller=scope,
                           idempotency_key=f"{receipt_id}:{return_id}")

    # --- tiers -----------------------------------------------------------------------------

    def tier(self, member_id: str, at: datetime | None = None) -> dict[str, Any]:
        at = at or self.clock.now()
        with self.db.read() as uow:
            member = M.require_member(uow, member_id)
            program = programs.in_force(uow, at)
            if program.tiers is None:
                return {"member_id": member_id, "tier": None, "program_has_tiers": False}
            tiers = program.tiers
            start, end = window_bounds(tiers.window, program.local(at))
            value = uow.receipts.qualifying_total(member_id, start, end)
            current = tiers.level(member["tier_code"])
            following = tiers.above(current.code)
            return {
                "member_id": member_id, "tier": {"code": current.code, "name": current.name},
                "measure": tiers.measure.value, "qualifying_value": _measure(tiers, value),
                "period": {"from": start.isoformat(), "to": end.isoformat()},
                "next_tier": {"code": following.code, "name": following.name,
                              "threshold": _measure(tiers, following.threshold),
                              "missing": _measure(tiers, max(following.threshold - value, 0))}
                if following else None,
                "next_review_at": end.isoformat(),
            }


def _measure(tiers: Any, value: int) -> Any:
    from kopilka.domain.points import format_money
    return format_money(value) if tiers.measure.value == "spend" else value


def _request(receipt: receipts.ReceiptInput) -> dict[str, Any]:
    """A canonical, JSON-ready form of the receipt (what the idempotency hash covers)."""
    return {"store_id": receipt.store_id, "receipt_id": receipt.receipt_id,
            "occurred_at": receipt.occurred_at.isoformat(), "member": receipt.member,
            "channel": receipt.channel, "payment_methods": list(receipt.payment_methods),
            "redeem_points": receipt.redeem_points, "hold_id": receipt.hold_id,
            "till_id": receipt.till_id, "cashier_id": receipt.cashier_id,
            "promo_codes": list(receipt.promo_codes),
            "lines": [{"line_id": line.line_id, "sku": line.sku, "name": line.name,
                       "category": line.category, "quantity": str(line.quantity),
                       "unit_price": line.unit_price, "discountable": line.discountable}
                      for line in receipt.lines]}

