"""The program (O-console, issue 5 item 4): the version in force, its history and what is
scheduled; the YAML editor with errors at their lines and a small form for common fields;
the receipt preview under the version in force or the draft being edited.

A saved version goes through `Kopilka.apply_program` with the signed-in person's caller, so
the audit log gets the version in force before and the new document after."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.app.program_document import parse_program
from kopilka.domain.errors import DomainError, NotFound
from kopilka.domain.program import Program
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes import preview_form as PF
from kopilka.entrypoints.web.routes import program_fields as F
from kopilka.entrypoints.web.routes.document_editor import (
    editor,
    errors_at,
    local_minute,
    parse_local_minute,
    placed_errors,
)
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
LIST_FIELDS = frozenset({"sku", "category", "price", "quantity"})
STATE_NAMES = {"in_force": N_("in force"), "scheduled": N_("scheduled"), "past": N_("past")}
MEASURES = (N_("spend"), N_("points_earned"), N_("purchases"))  # tiers.measure, shown translated
Viewer = Annotated[StaffContext, permitted(Permission.PROGRAM_VIEW)]
Editor = Annotated[StaffContext, permitted(Permission.PROGRAM_EDIT)]


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form as a dict (the receipt's line columns as lists)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if key in LIST_FIELDS else (values[-1] if values else "")
    return data


Form = Annotated[dict[str, Any], Depends(form_data)]


def _versions(lib: Kopilka, now: datetime) -> tuple[dict[str, Any] | None, list[dict]]:
    try:
        current = lib.program(now)
    except NotFound:
        current = None
    versions = []
    for item in reversed(lib.program_versions()):
        starts = datetime.fromisoformat(item["effective_from"])
        state = "scheduled" if starts > now else \
            "in_force" if current and item["version"] == current["version"] else "past"
        versions.append({**item, "state": state})
    return current, versions


@router.get("/program")
def index(request: Request, who: Viewer, lib: Lib, saved: int | None = None) -> Response:
    current, versions = _versions(lib, lib.clock.now())
    return render(request, "console/program.html", {
        "current": current, "versions": versions, "saved": saved, "state_names": STATE_NAMES,
        "current_yaml": F.dump(current["document"]) if current else "",
        "scheduled": [v for v in versions if v["state"] == "scheduled"]})


@router.get("/program/versions/{number}")
def version(request: Request, number: int, who: Viewer, lib: Lib) -> Response:
    found = lib.program_version(number)
    _, versions = _versions(lib, lib.clock.now())
    state = next((v["state"] for v in versions if v["version"] == number), "past")
    return render(request, "console/program_version.html", {
        "shown": found, "state": state, "yaml": F.dump(found["document"]),
        "state_names": STATE_NAMES})


def _edit_page(request: Request, lib: Lib, text: str, *, effective_from: str,
               errors: list[dict[str, Any]] | None = None, notice: str | None = None,
               status: int = 200) -> Response:
    errors = errors or []
    fields = F.fields_of(F.load(text))
    for name, field in fields["scalars"].items():
        field["errors"] = errors_at(errors, field["path"])
        field["name"] = name
    for tier in fields["tiers"]:
        tier["errors"] = [e["msg"] for e in errors
                          if e["where"].startswith(f"tiers.levels.{tier['index']}")]
    return render(request, "console/program_edit.html", {
        "editor": editor(text, errors), "fields": fields, "effective_from": effective_from,
        "notice": notice, "now": local_minute(lib.clock.now())}, status=status)


def _current_text(lib: Kopilka) -> str:
    try:
        return F.dump(lib.program()["document"])
    except NotFound:
        return ""


@router.get("/program/edit")
def edit(request: Request, who: Editor, lib: Lib) -> Response:
    return _edit_page(request, lib, _current_text(lib),
                      effective_from=local_minute(lib.clock.now()))


def _parsed(text: str) -> Program:
    return parse_program(text, content_type="application/yaml")


@router.post("/program/edit")
def save(request: Request, who: Editor, lib: Lib, form: Form) -> Response:
    text = str(form.get("document", "")).replace("\r\n", "\n")
    action = form.get("action", "check")
    effective_from = str(form.get("effective_from", ""))
    if action == "fields":
        document = F.load(text)
        if document is None:
            error = {"loc": [], "where": "", "msg": N_("Fix the YAML first: the form reads "
                                                        "its fields from it."), "line": None}
            return _edit_page(request, lib, text, effective_from=effective_from,
                              errors=[error], status=422)
        text = F.dump(F.apply(document, form))
    try:
        program = _parsed(text)
        if action != "save":
            notice = N_("The document is valid.") if action == "check" else \
                N_("The fields are written into the YAML. Nothing is saved yet.")
            return _edit_page(request, lib, text, effective_from=effective_from,
                              notice=notice)
        starts = parse_local_minute(effective_from, lib.clock.now())
        result = lib.apply_program(replace(program, effective_from=starts),
                                   author=who.session.name or who.caller.name,
                                   caller=who.caller)
    except DomainError as exc:
        return _edit_page(request, lib, text, effective_from=effective_from,
                          errors=placed_errors(exc, text), status=422)
    return RedirectResponse(f"/console/program?saved={result.body['version']}",
                            status_code=303)


# --- preview --------------------------------------------------------------------------------

def _preview_page(request: Request, form: dict[str, Any], *, result: dict | None = None,
                  errors: list[dict[str, Any]] | None = None, status: int = 200) -> Response:
    rows = PF.form_lines(form) if form.get("sku") else []
    rows += [{"sku": "", "category": "", "price": "", "quantity": "1"}] * max(
        PF.FORM_LINES - len(rows), 1)
    draft = str(form.get("document", ""))
    return render(request, "console/program_preview.html", {
        "form": form, "rows": rows, "channels": PF.CHANNELS, "result": result,
        "errors": errors or [], "draft_editor": editor(draft, [
            e for e in errors or [] if e.get("source") == "draft"]),
        "use_draft": form.get("program") == "draft" or (
            bool(draft.strip()) and "program" not in form)}, status=status)


@router.get("/program/preview")
def preview_form(request: Request, who: Editor, lib: Lib) -> Response:
    return _preview_page(request, {})


@router.post("/program/preview")
def preview(request: Request, who: Editor, lib: Lib, form: Form) -> Response:
    if form.get("action") == "open_preview":  # from the editor: the draft, no receipt yet
        form = {"document": str(form.get("document", "")), "program": "draft"}
        return _preview_page(request, form)
    now = lib.clock.now()
    pasted = str(form.get("receipt_json", "")).strip()
    draft_text = str(form.get("document", "")).replace("\r\n", "\n")
    try:
        draft = None
        if form.get("program") == "draft":
            try:
                draft = _parsed(draft_text)
            except DomainError as exc:
                errors = [{**e, "source": "draft"} for e in placed_errors(exc, draft_text)]
                return _preview_page(request, form, errors=errors, status=422)
        body = PF.request_of_json(pasted, now) if pasted else PF.request_of_form(form, now)
        result = lib.preview_receipt(PF.receipt_of(body), draft=draft)
    except DomainError as exc:
        errors = [{**e, "source": "receipt"} for e in placed_errors(exc, pasted)]
        return _preview_page(request, form, errors=errors, status=422)
    return _preview_page(request, form, result=result)
