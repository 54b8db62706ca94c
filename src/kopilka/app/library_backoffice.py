"""Library methods of the back office (mixed into `Kopilka`): finding receipts, a receipt
with everything a person needs to judge a cancel or a return, and staff account changes
that never let an admin lock themselves out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.app import receipt_search as RS
from kopilka.domain.errors import Conflict


class BackofficeMixin:
    # --- receipts ----------------------------------------------------------------------------

    def receipts_search(self, query: RS.ReceiptQuery, *, limit: int = 50,
                        cursor: str | None = None) -> dict[str, Any]:
        """Receipts matching `query`, newest first, one keyset page at a time."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return RS.search(uow, query, limit=limit, cursor=cursor)

    def receipt_detail(self, store_id: str, receipt_id: str) -> dict[str, Any]:
        """`Kopilka.receipt` plus what the till sent (names, SKUs, channel, till, cashier),
        how much of each line is returned and left, and what returns and cancel undid."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            row, view = self._receipt_view(uow, store_id,  # type: ignore[attr-defined]
                                           receipt_id)
        request, effects = row["request"], row["effects"]
        returned = effects.get("returned", {})
        sent = {line["line_id"]: line for line in request["lines"]}
        lines = []
        for line in view["lines"]:
            given = sent.get(line["line_id"], {})
            back = Decimal(returned.get(line["line_id"], "0"))
            lines.append({**line, "sku": given.get("sku"), "name": given.get("name"),
                          "category": given.get("category"), "returned": str(back),
                          "left": str(Decimal(line["quantity"]) - back)})
        withdrawn = effects.get("withdrawn", {})
        rules = [a.get("rule") for a in view.get("accruals", [])]
        accruals = [{"rule": rules[i] if i < len(rules) else None, "currency": a["currency"],
                     "points": a["points"], "withdrawn": withdrawn.get(a["lot_id"], 0)}
                    for i, a in enumerate(effects.get("accruals", []))]
        spend = effects.get("spend")
        promotions = effects.get("promotions") or {}
        return {**view, "lines": lines, "partner_id": row["partner_id"],
                "channel": request.get("channel"), "till_id": request.get("till_id"),
                "cashier_id": request.get("cashier_id"),
                "payment_methods": request.get("payment_methods", []),
                "promo_codes": request.get("promo_codes", []),
                "member_reference": request.get("member"),
                "undo": {"accruals": accruals,
                         "spent": spend["points"] if spend else 0,
                         "restored": sum(effects.get("restored", {}).values()),
                         "promotions_given_back": list(promotions.get("returned", []))},
                "returnable": view["status"] == "confirmed" and
                any(Decimal(x["left"]) > 0 for x in lines)}

    # --- staff accounts ----------------------------------------------------------------------

    def change_staff(self, staff_id: str, changes: dict[str, Any], *,
                     caller: Any) -> dict[str, Any]:
        """`update_staff`, except that a person may not deactivate or demote themselves
        (the console must always keep someone who can manage it)."""
        person = getattr(caller, "person", None)
        if person is not None and person.id == staff_id:
            if "active" in changes and not changes["active"]:
                raise Conflict("you cannot deactivate your own account",
                               code="self_deactivation")
            if "role" in changes and changes["role"] != person.role:
                raise Conflict("you cannot change your own role", code="self_demotion")
        return self.update_staff(staff_id, changes, caller=caller)  # type: ignore[attr-defined]
