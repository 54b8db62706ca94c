"""Receipts (issue 5 item 6): find a receipt by store, id, member, status and days (newest
first, keyset pages); see its lines, totals, member, every effect, its returns; cancel it or
return chosen quantities of its lines (RECEIPTS_MANAGE: operators and admins).

Changes go through `Kopilka.cancel_receipt` / `Kopilka.return_receipt` with the signed-in
person's caller, so each is audited with the receipt's state before and after. A return's id
comes from a random token in the form: posting the same form twice returns once."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.app.receipt_search import STATUSES, ReceiptQuery
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes.common import Form, query_fields, stores
from kopilka.entrypoints.web.routes.period_filter import period
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
Viewer = Annotated[StaffContext, permitted(Permission.RECEIPTS_VIEW)]
Manager = Annotated[StaffContext, permitted(Permission.RECEIPTS_MANAGE)]
PAGE_SIZE = 50
FILTER_FIELDS = ("store", "receipt", "member", "status", "from", "to")
FIELD_MAX = 64
RETURN_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,43}")
QTY_PREFIX = "qty-"
STATUS_NAMES = {"confirmed": N_("confirmed"), "cancelled": N_("cancelled")}
EFFECT_KINDS = {
    "discount": N_("Discount"), "points_redeemed": N_("Points spent"),
    "points_earned": N_("Points earned"), "points_multiplier": N_("Points multiplier"),
    "extra_points": N_("Extra points"), "promotion": N_("Promotion"),
    "tier": N_("Tier change"),
}
# what a refused change means to the person at the form
MESSAGES = {
    "receipt_cancelled": N_("This receipt is cancelled: it takes no returns."),
    "already_cancelled": N_("This receipt is already cancelled."),
    "return_exceeds_receipt": N_("You cannot return more than is left on a line."),
    "unknown_line": N_("That line is not on this receipt."),
    "idempotency_conflict": N_("This return form was already used with other quantities: "
                               "reload the page and try again."),
    "nothing_to_return": N_("Enter a quantity to return on at least one line."),
    "invalid_quantity": N_("Quantities are positive numbers, such as 1 or 0.5."),
    "invalid_return_token": N_("The form is incomplete: reload the page and try again."),
}
SEARCH_MESSAGES = {
    "invalid_member_reference": N_("Give the member as a member id, a phone number or a "
                                   "card number."),
    "invalid_date": N_("Dates are YYYY-MM-DD."),
    "invalid_period": N_("The period ends before it starts."),
}


def _path(store_id: str, receipt_id: str) -> str:
    return f"/console/receipts/{quote(store_id, safe='')}/{quote(receipt_id, safe='')}"


def _store_names(lib: Kopilka) -> dict[str, str]:
    return {s["store_id"]: s["name"] for s in stores(lib)}


def _query(given: dict[str, str]) -> ReceiptQuery:
    since, until = period(given["from"], given["to"])
    return ReceiptQuery(store_id=given["store"] or None, receipt_id=given["receipt"] or None,
                        member=given["member"] or None,
                        status=given["status"] if given["status"] in STATUSES else None,
                        since=since, until=until)


@router.get("/receipts")
def index(request: Request, who: Viewer, lib: Lib, cursor: str | None = None) -> Response:
    given = query_fields(request, FILTER_FIELDS, FIELD_MAX)
    context: dict[str, Any] = {
        "filters": given, "query": urlencode({k: v for k, v in given.items() if v}),
        "stores": _store_names(lib), "status_names": STATUS_NAMES, "found": None,
        "error": None, "first_page": not cursor}
    try:
        context["found"] = lib.receipts_search(_query(given), limit=PAGE_SIZE,
                                               cursor=cursor or None)
    except DomainError as exc:
        context["error"] = {"message": SEARCH_MESSAGES.get(exc.code), "detail": exc.detail}
        return render(request, "console/receipts.html", context, status=422)
    return render(request, "console/receipts.html", context)


def _detail_page(request: Request, lib: Lib, store_id: str, receipt_id: str, *,
                 status: int = 200, **extra: Any) -> Response:
    receipt = lib.receipt_detail(store_id, receipt_id)
    return render(request, "console/receipt.html", {
        "r": receipt, "store_name": _store_names(lib).get(store_id),
        "status_names": STATUS_NAMES, "effect_kinds": EFFECT_KINDS,
        "return_token": secrets.token_urlsafe(16), "error": None, "entered": {},
        "done": request.query_params.get("done"), **extra}, status=status)


@router.get("/receipts/{store_id}/{receipt_id}")
def detail(request: Request, store_id: str, receipt_id: str, who: Viewer,
           lib: Lib) -> Response:
    return _detail_page(request, lib, store_id, receipt_id)


def _refused(request: Request, lib: Lib, store_id: str, receipt_id: str, form: str,
             exc: DomainError, entered: dict[str, str] | None = None) -> Response:
    error = {"form": form, "code": exc.code, "detail": exc.detail,
             "message": MESSAGES.get(exc.code)}
    return _detail_page(request, lib, store_id, receipt_id, status=exc.status,
                        error=error, entered=entered or {})


@router.post("/receipts/{store_id}/{receipt_id}/cancel")
def cancel(request: Request, store_id: str, receipt_id: str, who: Manager,
           lib: Lib) -> Response:
    try:
        if lib.receipt(store_id, receipt_id)["status"] == "cancelled":
            raise DomainError("the receipt is already cancelled", code="already_cancelled",
                              status=409)
        lib.cancel_receipt(store_id, receipt_id, caller=who.caller)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _refused(request, lib, store_id, receipt_id, "cancel", exc)
    return RedirectResponse(f"{_path(store_id, receipt_id)}?done=cancelled", status_code=303)


def chosen_lines(form: FormData) -> list[tuple[str, Decimal]]:
    """The (line id, quantity) pairs with a quantity above zero."""
    chosen = []
    for key, value in form.multi_items():
        if not key.startswith(QTY_PREFIX) or not isinstance(value, str) or not value.strip():
            continue
        try:
            quantity = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise InvalidInput(f"{value!r} is not a number", code="invalid_quantity") from None
        if not quantity.is_finite() or quantity < 0:
            raise InvalidInput(f"{value!r} is not a quantity", code="invalid_quantity")
        if quantity > 0:
            chosen.append((key[len(QTY_PREFIX):], quantity))
    if not chosen:
        raise InvalidInput("no line has a quantity to return", code="nothing_to_return")
    return chosen


@router.post("/receipts/{store_id}/{receipt_id}/return")
def give_back(request: Request, store_id: str, receipt_id: str, who: Manager, lib: Lib,
              form: Form) -> Response:
    entered = {k[len(QTY_PREFIX):]: str(v)[:20] for k, v in form.multi_items()
               if k.startswith(QTY_PREFIX)}
    token = str(form.get("return_token") or "")
    try:
        if not RETURN_TOKEN.fullmatch(token):
            raise InvalidInput("the return token is missing", code="invalid_return_token")
        lines = chosen_lines(form)
        made = lib.return_receipt(store_id, receipt_id, f"web-{token}", lines,
                                  caller=who.caller)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _refused(request, lib, store_id, receipt_id, "return", exc, entered)
    query = urlencode({"done": "returned", "return_id": made.body["return_id"]})
    return RedirectResponse(f"{_path(store_id, receipt_id)}?{query}", status_code=303)
