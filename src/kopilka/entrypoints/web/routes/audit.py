"""The audit log (issue 5 item 1): who changed what and when, newest first, filtered by
person, action, object and days; each entry opens to show what changed (before -> after);
the filtered log downloads as CSV. Auditors and admins only (AUDIT_VIEW)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kopilka.app.library import Kopilka
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes.audit_diff import entry_diff
from kopilka.entrypoints.web.routes.common import query_fields
from kopilka.entrypoints.web.routes.period_filter import period
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
Auditor = Annotated[StaffContext, permitted(Permission.AUDIT_VIEW)]
PAGE_SIZE = 50
FILTER_FIELDS = ("actor", "action", "object_type", "object_id", "from", "to")
FIELD_MAX = 100
OBJECT_TYPES = {"member": N_("Member"), "receipt": N_("Receipt"), "promotion": N_("Promotion"),
                "program": N_("Program"), "staff": N_("Staff account"),
                "partner": N_("Partner"), "store": N_("Store")}
# offered as suggestions (any action name may be typed), shown by these names
ACTION_NAMES = {
    "sign_in": N_("Signed in"), "sign_out": N_("Signed out"),
    "staff_create": N_("Staff account created"), "staff_update": N_("Staff account changed"),
    "enrol": N_("Member enrolled"), "update_member": N_("Member profile changed"),
    "erase": N_("Personal data erased"), "issue_card": N_("Card issued"),
    "block_card": N_("Card blocked"), "replace_lost_card": N_("Lost card replaced"),
    "adjust": N_("Points adjusted"), "reverse": N_("Operation reversed"),
    "apply_program": N_("Program version saved"), "create_promotion": N_("Promotion created"),
    "update_promotion": N_("Promotion changed"), "cancel_receipt": N_("Receipt cancelled"),
    "return": N_("Goods returned"),
}
BAD_FILTER = N_("Check the filter: dates are YYYY-MM-DD and the period must not end before "
                "it starts.")


def library_filters(given: dict[str, str]) -> dict[str, Any]:
    """The form's fields as `Kopilka.audit_log` / `audit_csv` keyword arguments."""
    since, until = period(given["from"], given["to"])
    return {"actor_id": given["actor"] or None, "action": given["action"] or None,
            "object_type": given["object_type"] or None,
            "object_id": given["object_id"] or None, "since": since, "until": until}


def _staff_names(lib: Kopilka) -> list[dict[str, Any]]:
    return sorted(lib.staff_members(), key=lambda s: (s["display_name"].lower(), s["login"]))


@router.get("/audit")
def index(request: Request, who: Auditor, lib: Lib, cursor: str | None = None) -> Response:
    given = query_fields(request, FILTER_FIELDS, FIELD_MAX)
    query = urlencode({k: v for k, v in given.items() if v})
    context: dict[str, Any] = {"filters": given, "query": query, "staff_list": _staff_names(lib),
                               "actions": ACTION_NAMES, "object_types": OBJECT_TYPES,
                               "entries": [], "next_cursor": None, "error": None,
                               "first_page": not cursor}
    try:
        found = lib.audit_log(limit=PAGE_SIZE, cursor=cursor or None, **library_filters(given))
    except DomainError:
        context["error"] = BAD_FILTER
        return render(request, "console/audit.html", context, status=422)
    context["entries"] = [{**e, "diff": entry_diff(e)} for e in found["items"]]
    context["next_cursor"] = found["next_cursor"]
    return render(request, "console/audit.html", context)


@router.get("/audit.csv")
def export(request: Request, who: Auditor, lib: Lib) -> Response:
    """The filtered log as a CSV download (a BOM first, so spreadsheet programs read the
    Cyrillic names as UTF-8)."""
    given = query_fields(request, FILTER_FIELDS, FIELD_MAX)
    try:
        filters = library_filters(given)
    except DomainError:
        return render(request, "console/audit.html", {
            "filters": given, "query": "", "staff_list": _staff_names(lib),
            "actions": ACTION_NAMES, "object_types": OBJECT_TYPES, "entries": [],
            "next_cursor": None, "error": BAD_FILTER, "first_page": True}, status=422)
    stamp = lib.clock.now().strftime("%Y%m%d-%H%M")
    return Response("\ufeff" + lib.audit_csv(**filters), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})
