"""The library's promotion methods (mixed into `Kopilka`): catalogue and promo codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import promotion_admin as A
from kopilka.app.ports import UnitOfWork


class PromotionsMixin:
    """Promotions (R1-R5, R7): create, read, change, pause; codes; their CSV export."""

    def _promotion_call(self, operation: str, request: Any, work: Any, caller: Any,
                        idempotency_key: str | None, status: int = 200) -> Any:
        from kopilka.app.library import LIBRARY, Result

        caller = caller or LIBRARY

        def run(uow: UnitOfWork, now: datetime) -> Result:
            return Result(status, work(uow, now, caller))
        return self.mutate(operation, request, run, caller=caller,  # type: ignore[attr-defined]
                           idempotency_key=idempotency_key)

    def create_promotion(self, document: Any, *, status: str = "active", caller: Any = None,
                         idempotency_key: str | None = None) -> Any:
        return self._promotion_call(
            "create_promotion", {"document": document, "status": status},
            lambda uow, now, who: A.create(uow, document, status=status,
                                           partner_id=who.partner_id, now=now,
                                           author=who.name),
            caller, idempotency_key, status=201)

    def update_promotion(self, promotion_id: str, patch: dict[str, Any], *,
                         caller: Any = None, idempotency_key: str | None = None) -> Any:
        return self._promotion_call(
            "update_promotion", {"promotion_id": promotion_id, "patch": patch},
            lambda uow, now, who: A.update(uow, promotion_id, patch,
                                           partner_id=who.partner_id, now=now,
                                           author=who.name),
            caller, idempotency_key)

    def generate_codes(self, promotion_id: str, *, count: int, prefix: str = "",
                       caller: Any = None, idempotency_key: str | None = None) -> Any:
        return self._promotion_call(
            "generate_codes", {"promotion_id": promotion_id, "count": count, "prefix": prefix},
            lambda uow, now, who: A.generate_codes(uow, promotion_id, count=count,
                                                   prefix=prefix, partner_id=who.partner_id,
                                                   now=now),
            caller, idempotency_key, status=201)

    def add_promo_code(self, promotion_id: str, *, code: str, max_uses: int | None = None,
                       max_uses_per_member: int | None = None, caller: Any = None,
                       idempotency_key: str | None = None) -> Any:
        return self._promotion_call(
            "add_promo_code", {"promotion_id": promotion_id, "code": code,
                               "max_uses": max_uses, "max_uses_per_member": max_uses_per_member},
            lambda uow, now, who: A.add_shared_code(uow, promotion_id, code=code,
                                                    max_uses=max_uses,
                                                    max_uses_per_member=max_uses_per_member,
                                                    partner_id=who.partner_id, now=now),
            caller, idempotency_key, status=201)

    def promotion(self, promotion_id: str, *, caller: Any = None) -> dict[str, Any]:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return A.view(uow, promotion_id, getattr(caller, "partner_id", None))

    def promotions(self, *, status: str | None = None, limit: int = 100,
                   cursor: str | None = None) -> dict[str, Any]:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return A.page(uow, status=status, limit=limit, cursor=cursor)

    def promo_codes_csv(self, promotion_id: str, *, batch_id: str | None = None,
                        caller: Any = None) -> str:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return A.codes_csv(uow, promotion_id, batch_id=batch_id,
                               partner_id=getattr(caller, "partner_id", None))

    def check_promo_code(self, code: str, *, member_id: str | None = None) -> dict[str, Any]:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return A.check_code(uow, code, member_id=member_id,
                                at=self.clock.now())  # type: ignore[attr-defined]

    def check_promo_code_on_cart(self, code: str, receipt: Any, *,
                                 caller: Any = None) -> dict[str, Any]:
        """The code's promotion on this member and cart: a calculation with the code that
        writes nothing; says whether it applies, what it gives, or why not and what is
        missing."""
        from dataclasses import replace

        from kopilka.app import receipts
        from kopilka.app.receipt_views import evaluation_view

        with self.db.read() as uow:  # type: ignore[attr-defined]
            member_id = None
            if receipt.member:
                from kopilka.app.members import resolve_brief
                member_id = resolve_brief(
                    uow, receipt.member,
                    qr_verifier=self.card_of_token)["member_id"]  # type: ignore[attr-defined]
            info = A.check_code(uow, code, member_id=member_id, at=receipt.occurred_at)
            with_code = replace(receipt, promo_codes=(*receipt.promo_codes, info["code"]))
            ctx, evaluation = receipts.calculate(
                uow, with_code, self.clock.now(),  # type: ignore[attr-defined]
                qr_verifier=self.card_of_token)  # type: ignore[attr-defined]
            view = evaluation_view(evaluation, ctx.program)
        pid = info["promotion_id"]
        applied = [a for a in view["applied"] if a["code"] == pid]
        return {**info, "applies": bool(applied), "applied": applied,
                "rejected": [r for r in view["rejected"] if r.get("promotion_id") == pid
                             or r["code"].startswith("code_")],
                "messages": view["messages"], "total_payable": view["total_payable"]}
