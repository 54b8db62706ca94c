"""Personal data between coalition partners (SPEC P5, M2; ADR 0006).

A member's personal data belong to the partner the member enrolled at. Another partner's key
gets them only if the member's current `partner_transfer` consent is given; otherwise it gets
the member with every personal field null (`PERSONAL_FIELDS`) and
`personal_data_withheld: true`, but with the balance, tier, cards and consents: the coalition
shares points, so any partner's till can see and spend them. In the history such a key sees
every operation and its points, but the details of other partners' operations
(`OPERATION_DETAILS`: where and why) are null.

Who always sees everything: the library itself (no partner), `admin` keys (the coalition
operator), and keys of the member's own enrolling partner. A member enrolled without a partner
(in-process, e.g. an import) is nobody's partner member: partners' keys need the consent.
"""

from __future__ import annotations

from typing import Any

from kopilka.app.ports import UnitOfWork
from kopilka.domain import consent as C

PERSONAL_FIELDS = ("phone", "email", "first_name", "last_name", "birth_date", "gender", "city",
                   "attributes")
OPERATION_DETAILS = ("store_id", "receipt_id", "reason", "author", "hold_id")


def sees_everything(caller: Any) -> bool:
    return getattr(caller, "partner_id", None) is None or getattr(caller, "admin", False)


def may_see(uow: UnitOfWork, member: dict[str, Any], caller: Any,
            consents: dict[str, bool] | None = None) -> bool:
    """Whether `caller` may see this member's personal data (`consents`: the current state,
    when the caller has it already)."""
    if sees_everything(caller) or member["enrolled_partner_id"] == caller.partner_id:
        return True
    if consents is None:
        consents = C.current(uow.members.consents_of(member["member_id"]))
    return bool(consents.get("partner_transfer", False))


def member_for(uow: UnitOfWork, member: dict[str, Any], view: dict[str, Any],
               caller: Any) -> dict[str, Any]:
    """A member (or summary) view as `caller` may see it."""
    shared = may_see(uow, member, caller, view.get("consents"))
    view = {**view, "personal_data_withheld": not shared}
    if not shared:
        for name in PERSONAL_FIELDS:
            if name in view:
                view[name] = None
    return view


def operation_for(view: dict[str, Any], partner_id: str | None, caller: Any,
                  shared: bool) -> dict[str, Any]:
    """A history item as `caller` may see it: another partner's operation without details
    unless personal data are shared."""
    if shared or partner_id == caller.partner_id:
        return view
    return {**view, **dict.fromkeys(OPERATION_DETAILS)}
