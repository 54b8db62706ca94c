"""Members at the support desk: find a customer, see everything about them, and act.

Search by phone (any format, or a part), card number or name; the member page shows the
profile, consents with their history, cards, balance, tier, ledger history and receipts.
Every action is a form post (with the CSRF token) that redirects back with `?done=...`, or
shows the page again with the refusal at its form. Each action passes the signed-in person's
caller, so the audit log records it with the state before and after.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.member_search import MAX_QUERY_LENGTH
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import ADJUSTMENT_LIMIT_POINTS, Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
HISTORY_PAGE = 20
RECEIPTS_SHOWN = 20
MAX_REASON = 500
MAX_POINTS = 10**9
DONE = {
    "adjusted": N_("The adjustment is posted."),
    "blocked": N_("The card is blocked."),
    "reissued": N_("A new card is issued; the old one is blocked. The balance stays."),
    "issued": N_("A new card is issued."),
    "erased": N_("The member's personal data are erased."),
    "updated": N_("The profile is saved."),
}
# refusals the desk meets often, in words the operator's language has (else the detail)
MESSAGES = {
    "empty_search": N_("Type a phone number, a card number or a name."),
    "search_too_short": N_("Type at least 4 digits of the phone or the card."),
    "search_too_long": N_("A search is at most 100 characters."),
    "reason_required": N_("Give the reason for the adjustment."),
    "invalid_points": N_("Points are a whole number other than zero, such as 500 or -120."),
    "adjustment_over_limit": N_("This is above your role's limit: larger corrections need "
                                "an admin."),
    "insufficient_points": N_("The member does not have that many points to take away."),
    "card_blocked": N_("This card is already blocked."),
    "card_not_found": N_("This card is not the member's."),
    "member_not_active": N_("The member is not active."),
    "invalid_email": N_("This is not a valid email address."),
    "invalid_birth_date": N_("The birth date is not plausible."),
    "invalid_date": N_("The birth date is not a date."),
}
KIND_NAMES = {
    "earn": N_("Accrual"), "bonus": N_("Bonus accrual"), "activate": N_("Pending points activated"),
    "cancel_pending": N_("Pending points cancelled"), "spend": N_("Redemption"),
    "hold": N_("Reserved for a purchase"), "capture": N_("Reserved points redeemed"),
    "release": N_("Reservation released"), "expire": N_("Expiry"),
    "adjust": N_("Manual adjustment"), "reversal": N_("Reversal of an operation"),
    "refund_earn": N_("Return: accrual taken back"),
    "refund_spend": N_("Return: redemption given back"), "donate": N_("Donation to charity"),
}
CONSENT_NAMES = {
    "personal_data": N_("processing of personal data"),
    "marketing_email": N_("marketing by email"), "marketing_sms": N_("marketing by SMS"),
    "marketing_push": N_("marketing by push notifications"),
    "partner_transfer": N_("transfer to partners"),
}
MARKETING_FIELDS = ("marketing_email", "marketing_sms", "marketing_push")
RECEIPT_STATES = {"confirmed": N_("receipt confirmed"), "cancelled": N_("receipt cancelled"),
                  "returned": N_("goods returned"), "partly_returned": N_("goods partly returned")}
Viewer = Annotated[StaffContext, permitted(Permission.MEMBERS_VIEW)]


def message_of(exc: DomainError) -> str:
    return MESSAGES.get(exc.code, exc.detail)


@router.get("/members")
def search(request: Request, lib: Lib, who: Viewer, q: str = "") -> Response:
    query = q.strip()[:MAX_QUERY_LENGTH]
    found: dict[str, Any] | None = None
    error: str | None = None
    if query:
        try:
            found = lib.search_members(query)
        except DomainError as exc:
            error = message_of(exc)
    context = {"q": query, "found": found, "error": error}
    if request.headers.get("hx-target") == "member-results":
        return render(request, "console/members_results.html", context)
    return render(request, "console/members.html", context)


def member_page(request: Request, lib: Any, who: StaffContext, member_id: str, *,
                cursor: str | None = None, done: str | None = None,
                errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    """The member page; `errors` (by form name) and `form` (what was typed) after a refusal."""
    member = lib.member(member_id, caller=who.caller)
    try:
        tier = lib.tier(member_id)
    except DomainError:  # no program in force: nothing to show
        tier = None
    try:
        history = lib.history(member_id, limit=HISTORY_PAGE, cursor=cursor,
                              caller=who.caller)
    except DomainError:  # a stale or forged cursor: the newest page instead
        cursor = None
        history = lib.history(member_id, limit=HISTORY_PAGE, caller=who.caller)
    context = {
        "member": member, "tier": tier, "history": history, "cursor": cursor,
        "consent_history": lib.consent_history(member_id),
        "receipts": lib.member_receipts(member_id, limit=RECEIPTS_SHOWN),
        "done": DONE.get(done or ""), "errors": errors or {}, "form": form or {},
        "adjust_limit": ADJUSTMENT_LIMIT_POINTS.get(who.role),
        "active": member["status"] == "active", "progress": _progress(tier),
        "kind_names": KIND_NAMES, "consent_names": CONSENT_NAMES,
        "marketing_fields": MARKETING_FIELDS, "receipt_states": RECEIPT_STATES,
        "receipts_shown": RECEIPTS_SHOWN,
    }
    return render(request, "console/member_detail.html", context, status=status)


def _progress(tier: dict[str, Any] | None) -> int:
    """Percent of the way to the next tier (the values are numbers or money strings)."""
    following = (tier or {}).get("next_tier")
    if not following:
        return 100
    threshold = Decimal(str(following["threshold"]))
    if threshold <= 0:
        return 100
    return min(100, int(Decimal(str(tier["qualifying_value"])) * 100 / threshold))  # type: ignore[index]


@router.get("/members/{member_id}")
def member(request: Request, lib: Lib, who: Viewer, member_id: str,
           cursor: str | None = None, done: str | None = None) -> Response:
    return member_page(request, lib, who, member_id, cursor=cursor, done=done)


def _points(text: str) -> int:
    """Whole points with a sign ("+500", "-120", "1 000"); zero is not an adjustment."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    try:
        value = int(cleaned)
    except ValueError:
        raise DomainError("points must be a whole number such as 500 or -120",
                          code="invalid_points", status=422) from None
    if value == 0 or abs(value) > MAX_POINTS:
        raise DomainError(f"points must be non-zero and at most {MAX_POINTS} either way",
                          code="invalid_points", status=422)
    return value


def _back(member_id: str, done: str) -> Response:
    return RedirectResponse(f"/console/members/{member_id}?done={done}", status_code=303)


@router.post("/members/{member_id}/adjust")
def adjust(request: Request, lib: Lib,
           who: Annotated[StaffContext, permitted(Permission.POINTS_ADJUST)], member_id: str,
           points: Annotated[str, Form(max_length=20)] = "",
           reason: Annotated[str, Form(max_length=MAX_REASON)] = "") -> Response:
    try:
        amount = _points(points)
        if not reason.strip():
            raise DomainError("an adjustment needs a reason", code="reason_required",
                              status=422)
        lib.staff_adjust(member_id, amount, reason=reason.strip(), role=who.role.value,
                         author=who.session.name, caller=who.caller)
    except DomainError as exc:
        if exc.code == "member_not_found":
            raise
        return member_page(request, lib, who, member_id, errors={"adjust": message_of(exc)},
                           form={"points": points, "reason": reason}, status=exc.status)
    return _back(member_id, "adjusted")


def _card_action(request: Request, lib: Any, who: StaffContext, member_id: str,
                 action: Any, done: str) -> Response:
    try:
        action()
    except DomainError as exc:
        if exc.code == "member_not_found":
            raise
        return member_page(request, lib, who, member_id, errors={"cards": message_of(exc)},
                           status=exc.status)
    return _back(member_id, done)


CardManager = Annotated[StaffContext, permitted(Permission.CARDS_MANAGE)]


@router.post("/members/{member_id}/cards/{number}/block")
def block_card(request: Request, lib: Lib, who: CardManager, member_id: str,
               number: str) -> Response:
    return _card_action(request, lib, who, member_id,
                        lambda: lib.block_card(member_id, number, caller=who.caller),
                        "blocked")


@router.post("/members/{member_id}/cards/{number}/reissue")
def reissue_card(request: Request, lib: Lib, who: CardManager, member_id: str,
                 number: str) -> Response:
    return _card_action(request, lib, who, member_id,
                        lambda: lib.issue_card(member_id, replace=number, caller=who.caller),
                        "reissued")


@router.post("/members/{member_id}/cards")
def issue_card(request: Request, lib: Lib, who: CardManager, member_id: str) -> Response:
    return _card_action(request, lib, who, member_id,
                        lambda: lib.issue_card(member_id, caller=who.caller), "issued")


@router.post("/members/{member_id}/export")
def export(lib: Lib, who: Annotated[StaffContext, permitted(Permission.MEMBERS_EXPORT)],
           member_id: str) -> Response:
    """Everything held about the member (M6), as a JSON file; the export is audited."""
    data = lib.export_for_staff(member_id, caller=who.caller)
    body = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="member-{member_id}.json"',
        "Cache-Control": "no-store"})


@router.post("/members/{member_id}/erase")
def erase(request: Request, lib: Lib,
          who: Annotated[StaffContext, permitted(Permission.MEMBERS_ERASE)],
          member_id: str) -> Response:
    lib.erase(member_id, caller=who.caller)
    return _back(member_id, "erased")


PROFILE_TEXT_FIELDS = ("first_name", "last_name", "email", "city")


def _profile_changes(member: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """The fields that differ from what is stored; an emptied field is cleared."""
    changes: dict[str, Any] = {}
    for name in PROFILE_TEXT_FIELDS:
        value = typed[name].strip() or None
        if value != member[name]:
            changes[name] = value
    birth: date | None = None
    if typed["birth_date"].strip():
        try:
            birth = date.fromisoformat(typed["birth_date"].strip())
        except ValueError:
            raise DomainError("the birth date is not a date", code="invalid_date",
                              status=422) from None
    if (birth.isoformat() if birth else None) != member["birth_date"]:
        changes["birth_date"] = birth
    return changes


@router.post("/members/{member_id}/profile")
def update_profile(request: Request, lib: Lib,
                   who: Annotated[StaffContext, permitted(Permission.MEMBERS_EDIT)],
                   member_id: str,
                   first_name: Annotated[str, Form(max_length=100)] = "",
                   last_name: Annotated[str, Form(max_length=100)] = "",
                   email: Annotated[str, Form(max_length=254)] = "",
                   city: Annotated[str, Form(max_length=100)] = "",
                   birth_date: Annotated[str, Form(max_length=10)] = "",
                   marketing_email: Annotated[str, Form(max_length=1)] = "",
                   marketing_sms: Annotated[str, Form(max_length=1)] = "",
                   marketing_push: Annotated[str, Form(max_length=1)] = "") -> Response:
    """Profile fields and marketing consents, as the member asked the desk (MEMBERS_EDIT)."""
    typed = {"first_name": first_name, "last_name": last_name, "email": email, "city": city,
             "birth_date": birth_date}
    wanted = {"marketing_email": bool(marketing_email), "marketing_sms": bool(marketing_sms),
              "marketing_push": bool(marketing_push)}
    try:
        member = lib.member(member_id, caller=who.caller)
        changes = _profile_changes(member, typed)
        consents = {k: v for k, v in wanted.items() if member["consents"][k] != v}
        if changes or consents:
            lib.update_member(member_id, changes, consents or None, caller=who.caller)
    except DomainError as exc:
        if exc.code == "member_not_found":
            raise
        return member_page(request, lib, who, member_id, errors={"profile": message_of(exc)},
                           form=typed, status=exc.status)
    return _back(member_id, "updated")
