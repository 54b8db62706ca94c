"""The support desk's library methods (mixed into Kopilka): find a member, their receipts,
and a manual adjustment within the limit of the staff member's role."""

from __future__ import annotations

from typing import Any

from kopilka.app import audit, member_search, programs, views
from kopilka.app import members as M
from kopilka.domain.errors import InvalidInput
from kopilka.domain.staff import check_adjustment

MAX_RECEIPTS = 100


class StaffDeskMixin:
    def search_members(self, text: str, *, limit: int = member_search.MAX_RESULTS,
                       ) -> dict[str, Any]:
        """Members matching a phone (any format or a part), a card number or a name, with
        their cards, tier and available balance in the default currency."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            cur = self._currency(uow, None)  # type: ignore[attr-defined]
            found = member_search.search(uow, text, currency=cur.code, limit=limit)
            program = programs.in_force_or_none(uow, self.clock.now())  # type: ignore[attr-defined]
        found["items"] = [{
            "member_id": m["member_id"], "first_name": m["first_name"],
            "last_name": m["last_name"], "phone": m["phone"], "status": m["status"],
            "cards": m["cards"], "tier": views.tier_view(m, program),
            "balance": {"available": cur.format(m["available"]),
                        "pending": cur.format(m["pending"]), "currency": cur.code},
        } for m in found["items"]]
        return found

    def member_receipts(self, member_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The member's latest receipts (newest first) with what each did: discount, points
        redeemed and earned."""
        if not 0 < limit <= MAX_RECEIPTS:
            raise InvalidInput(f"limit must be 1..{MAX_RECEIPTS}", code="invalid_limit")
        with self.db.read() as uow:  # type: ignore[attr-defined]
            M.require_member(uow, member_id)
            found = []
            for brief in uow.receipts.of_member(member_id, limit=limit):
                result = brief["result"] or {}
                found.append({
                    "store_id": brief["store_id"], "receipt_id": brief["receipt_id"],
                    "status": brief["status"], "occurred_at": views.iso(brief["occurred_at"]),
                    "total_payable": brief["total_payable"],
                    "discount_total": result.get("discount_total"),
                    "points_redeemed": result.get("points_redeemed", 0),
                    "points_earned": result.get("points_earned", 0),
                    "points_earned_pending": result.get("points_earned_pending", 0),
                })
            return found

    def staff_adjust(self, member_id: str, points: int, *, reason: str, role: str,
                     author: str, caller: Any) -> Any:
        """A manual adjustment by a staff member: refused (403) beyond their role's limit
        before anything is written."""
        check_adjustment(role, points)
        return self.adjust(member_id, points, reason=reason, author=author,  # type: ignore[attr-defined]
                           caller=caller)

    def export_for_staff(self, member_id: str, *, caller: Any) -> dict[str, Any]:
        """The member's export (M6) for a staff member; who took it goes to the audit log."""
        data = self.export(member_id)  # type: ignore[attr-defined]
        person = getattr(caller, "person", None)
        if person is not None:
            with self.db.write() as uow:  # type: ignore[attr-defined]
                audit.record(uow, person, "export_member", [member_id], before=None,
                             after={"member_id": member_id}, now=self.clock.now())  # type: ignore[attr-defined]
        return data
