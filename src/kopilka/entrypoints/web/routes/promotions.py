"""Promotions (issue 5 item 5): the list with status, dates, priority and budget use; the
detail page with the document, code batches and budget use; create and edit as YAML with
errors at their lines; pause and resume; batches of unique codes and their CSV.

Every change goes through the library with the signed-in person's caller (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.app.promotion_text import parse_promotion_yaml, promotion_yaml, update_patch
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes.document_editor import editor, placed_errors
from kopilka.entrypoints.web.routes.program import Form
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
Viewer = Annotated[StaffContext, permitted(Permission.PROMOTIONS_VIEW)]
Editor = Annotated[StaffContext, permitted(Permission.PROMOTIONS_EDIT)]
FILTERS = {"": N_("All"), "active": N_("Active"), "paused": N_("Paused")}
STATES = {"running": N_("running"), "scheduled": N_("scheduled"), "ended": N_("ended"),
          "paused": N_("paused")}
MAX_CONSOLE_BATCH = 10_000  # one request makes the whole batch: keep it quick
NEW_PROMOTION = """\
id: autumn-coffee
name: Autumn coffee -10%
priority: 10
starts_at: '2026-09-01T00:00:00+03:00'
ends_at: '2026-12-01T00:00:00+03:00'
conditions:
  min_receipt: '300.00'
reward:
  type: percent_off
  percent: '10'
  goods:
    categories: [coffee]
limits:
  budget: '50000.00'
  count: 1000
"""


def state_of(item: dict[str, Any], now: datetime) -> str:
    """paused, or where `now` is in its window: scheduled, running, ended."""
    if item["status"] == "paused":
        return "paused"
    if item.get("starts_at") and datetime.fromisoformat(item["starts_at"]) > now:
        return "scheduled"
    if item.get("ends_at") and datetime.fromisoformat(item["ends_at"]) <= now:
        return "ended"
    return "running"


def _share(used: str | int, limit: str | int | None) -> int | None:
    """How much of a limit is used, in percent (for the bar), None without a limit."""
    if limit in (None, "", 0, "0"):
        return None
    return min(100, round(float(used) * 100 / float(limit)))  # display only


def _budget(item: dict[str, Any]) -> dict[str, Any]:
    limits, used = item.get("limits", {}), item["used"]
    return {"amount": used["amount"], "budget": limits.get("budget"),
            "amount_share": _share(used["amount"], limits.get("budget")),
            "count": used["count"], "count_limit": limits.get("count"),
            "count_share": _share(used["count"], limits.get("count")),
            "points": used["points"], "budget_points": limits.get("budget_points")}


@router.get("/promotions")
def index(request: Request, who: Viewer, lib: Lib, status: str = "",
          cursor: str | None = None) -> Response:
    status = status if status in FILTERS else ""
    found = lib.promotions_with_use(status=status or None, limit=50, cursor=cursor)
    now = lib.clock.now()
    items = [{**p, "state": state_of(p, now), "budget": _budget(p)} for p in found["items"]]
    return render(request, "console/promotions.html", {
        "items": items, "status": status, "filters": FILTERS, "states": STATES,
        "next_cursor": found["next_cursor"]})


def _editor_page(request: Request, text: str, *, promotion: dict | None = None,
                 errors: list[dict[str, Any]] | None = None, status: int = 200,
                 initial_status: str = "active") -> Response:
    return render(request, "console/promotion_edit.html", {
        "editor": editor(text, errors), "promotion": promotion,
        "initial_status": initial_status}, status=status)


@router.get("/promotions/new")
def new(request: Request, who: Editor) -> Response:
    return _editor_page(request, NEW_PROMOTION, initial_status="paused")


@router.post("/promotions/new")
def create(request: Request, who: Editor, lib: Lib, form: Form) -> Response:
    text = str(form.get("document", "")).replace("\r\n", "\n")
    initial = "active" if form.get("status") == "active" else "paused"
    try:
        document = parse_promotion_yaml(text)
        made = lib.create_promotion(document, status=initial, caller=who.caller).body
    except DomainError as exc:
        return _editor_page(request, text, errors=placed_errors(exc, text), status=422,
                            initial_status=initial)
    return RedirectResponse(f"/console/promotions/{made['id']}?saved=1", status_code=303)


def _stored_document(promotion: dict[str, Any]) -> dict[str, Any]:
    """The document part of the library's view (without status, use and codes)."""
    extra = {"status", "partner_id", "used", "codes", "audience", "created_at", "updated_at",
             "updated_by"}
    return {k: v for k, v in promotion.items() if k not in extra}


@router.get("/promotions/{promotion_id}")
def detail(request: Request, promotion_id: str, who: Viewer, lib: Lib,
           saved: int | None = None, batch: str | None = None) -> Response:
    return _detail_page(request, lib, promotion_id, saved=saved, batch=batch)


def _detail_page(request: Request, lib: Kopilka, promotion_id: str, *, saved: Any = None,
                 batch: str | None = None, errors: list[str] | None = None,
                 status: int = 200) -> Response:
    promotion = lib.promotion(promotion_id)
    document = _stored_document(promotion)
    return render(request, "console/promotion_detail.html", {
        "p": promotion, "state": state_of(promotion, lib.clock.now()), "states": STATES,
        "budget": _budget(promotion), "yaml": promotion_yaml(document),
        "batches": lib.promotion_batches(promotion_id), "saved": saved, "new_batch": batch,
        "errors": errors or [], "max_batch": MAX_CONSOLE_BATCH}, status=status)


@router.get("/promotions/{promotion_id}/edit")
def edit(request: Request, promotion_id: str, who: Editor, lib: Lib) -> Response:
    promotion = lib.promotion(promotion_id)
    return _editor_page(request, promotion_yaml(_stored_document(promotion)),
                        promotion=promotion)


@router.post("/promotions/{promotion_id}/edit")
def update(request: Request, promotion_id: str, who: Editor, lib: Lib, form: Form) -> Response:
    promotion = lib.promotion(promotion_id)
    text = str(form.get("document", "")).replace("\r\n", "\n")
    try:
        document = parse_promotion_yaml(text)
        if document["id"] != promotion_id:
            raise DomainError(N_("A promotion's id cannot change."), code="validation_error",
                              errors=[{"loc": ["id"], "msg": N_("A promotion's id cannot "
                                                                "change."), "line": 1}])
        patch = update_patch(_stored_document(promotion), document)
        lib.update_promotion(promotion_id, patch, caller=who.caller)
    except DomainError as exc:
        return _editor_page(request, text, promotion=promotion, status=422,
                            errors=placed_errors(exc, text))
    return RedirectResponse(f"/console/promotions/{promotion_id}?saved=1", status_code=303)


@router.post("/promotions/{promotion_id}/status")
def set_status(request: Request, promotion_id: str, who: Editor, lib: Lib,
               form: Form) -> Response:
    wanted = "paused" if form.get("status") == "paused" else "active"
    lib.update_promotion(promotion_id, {"status": wanted}, caller=who.caller)
    return RedirectResponse(f"/console/promotions/{promotion_id}", status_code=303)


@router.post("/promotions/{promotion_id}/codes")
def generate(request: Request, promotion_id: str, who: Editor, lib: Lib,
             form: Form) -> Response:
    raw = str(form.get("count", "")).strip()
    count = int(raw) if raw.isdigit() else 0
    if not 1 <= count <= MAX_CONSOLE_BATCH:
        return _detail_page(request, lib, promotion_id, status=422, errors=[
            N_("The number of codes must be between 1 and 10000.")])
    try:
        made = lib.generate_codes(promotion_id, count=count,
                                  prefix=str(form.get("prefix", "")).strip(),
                                  caller=who.caller).body
    except DomainError as exc:
        return _detail_page(request, lib, promotion_id, status=422, errors=[exc.detail])
    return RedirectResponse(f"/console/promotions/{promotion_id}?batch={made['batch_id']}",
                            status_code=303)


@router.get("/promotions/{promotion_id}/codes.csv")
def codes_csv(request: Request, promotion_id: str, who: Editor, lib: Lib,
              batch_id: str | None = None) -> Response:
    """The codes (of one batch, or all) as CSV; codes are handed out, hence the edit right."""
    text = lib.promo_codes_csv(promotion_id, batch_id=batch_id or None)
    name = f"{promotion_id}-{batch_id or 'all'}-codes.csv"
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
