"""The member's own pages (SPEC U3, M5), mobile first: balance, pending and expiring points,
tier progress, history, profile and marketing consents; the card pages and sign-in are
included from their own modules.

A member only ever sees their own data: every page reads the member of the session, and no
URL carries a member id. Every change passes the member's caller, so the audit log records it
as the member's own change.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.domain.errors import DomainError
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes import member_card, member_sign_in
from kopilka.entrypoints.web.security import Lib, Member, MemberContext

router = APIRouter()
router.include_router(member_sign_in.router)
router.include_router(member_card.router)

HISTORY_PAGE = 10
MARKETING_CHANNELS = (("marketing_email", N_("Offers by email")),
                      ("marketing_sms", N_("Offers by SMS")),
                      ("marketing_push", N_("Offers in app notifications")))
KINDS = {"earn": N_("Points earned"), "bonus": N_("Bonus points"),
         "spend": N_("Points spent"), "expire": N_("Points expired"),
         "refund_earn": N_("Points taken back (return)"),
         "refund_spend": N_("Points given back (return)"), "adjust": N_("Points corrected"),
         "donate": N_("Donated to charity"), "transfer": N_("Points transferred")}
# operations whose code says more to a member than their kind (which groups them)
CODES = {"activate": N_("Pending points became available"),
         "hold": N_("Points reserved for a purchase"),
         "release": N_("Reserved points released"),
         "cancel_pending": N_("Pending points cancelled (return)")}
SAVED = {"profile": N_("Your details are saved."),
         "consents": N_("Your choice of offers is saved.")}
WAITS_FOR = {"phone_verified": N_("once your phone number is confirmed")}


def _tier(lib: Kopilka, member_id: str) -> dict[str, Any] | None:
    """The tier and what is missing to the next one; None when no program is in force."""
    try:
        found = lib.tier(member_id)
    except DomainError:
        return None
    return found if found.get("tier") else None


def _home(request: Request, lib: Kopilka, who: MemberContext, *, notice: str | None = None,
          error: str | None = None, status: int = 200) -> Response:
    member_id = who.member_id
    member = lib.member(member_id, caller=who.caller)
    return render(request, "member/home.html", {
        "member": member, "balance": member["balance"],
        "pending": lib.pending_points(member_id), "tier": _tier(lib, member_id),
        "history": lib.history(member_id, limit=HISTORY_PAGE, caller=who.caller),
        "kinds": KINDS, "codes": CODES, "channels": MARKETING_CHANNELS, "waits_for": WAITS_FOR,
        "notice": notice, "error": error}, status=status)


@router.get("/")
def home(request: Request, lib: Lib, who: Member, saved: str | None = None) -> Response:
    return _home(request, lib, who, notice=SAVED.get(saved or ""))


@router.get("/history")
def history(request: Request, lib: Lib, who: Member,
            cursor: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """More of the member's history: list items for htmx, else a page of its own."""
    page = lib.history(who.member_id, limit=HISTORY_PAGE, cursor=cursor, caller=who.caller)
    return render(request, "member/history.html", {"history": page, "kinds": KINDS,
                                                       "codes": CODES})


@router.post("/profile")
def update_profile(request: Request, lib: Lib, who: Member,
                   first_name: Annotated[str, Form(max_length=100)] = "",
                   last_name: Annotated[str, Form(max_length=100)] = "",
                   email: Annotated[str, Form(max_length=254)] = "") -> Response:
    changes = {"first_name": first_name.strip() or None, "last_name": last_name.strip() or None,
               "email": email.strip() or None}
    try:
        lib.update_member(who.member_id, changes, caller=who.caller)
    except DomainError as exc:
        error = N_("This email address does not look right.") \
            if exc.code == "invalid_email" else exc.detail
        return _home(request, lib, who, error=error, status=exc.status)
    return RedirectResponse("/me/?saved=profile#profile", status_code=303)


@router.post("/consents")
def update_consents(request: Request, lib: Lib, who: Member,
                    marketing_email: Annotated[bool, Form()] = False,
                    marketing_sms: Annotated[bool, Form()] = False,
                    marketing_push: Annotated[bool, Form()] = False) -> Response:
    consents = {"marketing_email": marketing_email, "marketing_sms": marketing_sms,
                "marketing_push": marketing_push}
    lib.update_member(who.member_id, {}, consents=consents, caller=who.caller)
    return RedirectResponse("/me/?saved=consents#consents", status_code=303)
