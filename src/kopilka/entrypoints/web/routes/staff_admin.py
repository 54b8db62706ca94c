"""Staff accounts (issue 5 item 1): list, create, change role, deactivate and reactivate,
set a new password. Admins only (STAFF_MANAGE). Every change goes through the library with
the admin's caller, so it is audited (the password never is); an admin may not deactivate or
demote themselves (`Kopilka.change_staff` refuses), so the console always keeps a manager."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import PASSWORD_MIN_LENGTH, Permission, Role
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes.common import Form
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
Admin = Annotated[StaffContext, permitted(Permission.STAFF_MANAGE)]
FIELD_MAX = 200
PASSWORD_FIELD_MAX = 1000  # longer than any valid password: the rules refuse it whole
ROLE_HINTS = {
    Role.ADMIN: N_("everything, including staff accounts and erasure"),
    Role.MARKETER: N_("program and promotions; reads the rest"),
    Role.OPERATOR: N_("members, cards, adjustments, cancels and returns"),
    Role.ACCOUNTANT: N_("reads everything, changes nothing"),
    Role.AUDITOR: N_("reads everything and the audit log"),
}
MESSAGES = {
    "weak_password": N_("A password has 10 to 256 characters and must not contain the login."),
    "login_taken": N_("This login is taken."),
    "invalid_login": N_("A login has 1 to 64 letters, digits or the characters . _ - @"),
    "invalid_role": N_("Choose a role from the list."),
    "self_deactivation": N_("You cannot deactivate your own account: ask another admin."),
    "self_demotion": N_("You cannot change your own role: ask another admin."),
}
DONE = {"created": N_("The account is created: its owner can sign in now."),
        "role": N_("The role is changed; the person's open sessions were ended."),
        "deactivated": N_("The account is deactivated; its sessions were ended."),
        "reactivated": N_("The account is active again."),
        "password": N_("The password is set; the person's open sessions were ended.")}


def _field(form: FormData, name: str, limit: int = FIELD_MAX) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _page(request: Request, who: StaffContext, lib: Kopilka, *, status: int = 200,
          error: dict[str, Any] | None = None, entered: dict[str, str] | None = None,
          ) -> Response:
    accounts = sorted(lib.staff_members(), key=lambda s: (not s["active"], s["login"]))
    done = request.query_params.get("done")
    return render(request, "console/staff.html", {
        "accounts": accounts, "roles": [r.value for r in Role],
        "role_hints": {r.value: h for r, h in ROLE_HINTS.items()},
        "me": who.session.subject_id, "error": error, "entered": entered or {},
        "done": DONE.get(done or ""), "done_login": request.query_params.get("login", ""),
        "password_min": PASSWORD_MIN_LENGTH}, status=status)


def _refused(request: Request, who: StaffContext, lib: Kopilka, exc: DomainError,
             form: str, entered: dict[str, str] | None = None) -> Response:
    if exc.status == 404:
        raise exc
    return _page(request, who, lib, status=exc.status, entered=entered, error={
        "form": form, "code": exc.code, "detail": exc.detail,
        "message": MESSAGES.get(exc.code)})


def _done(what: str, login: str) -> Response:
    return RedirectResponse(f"/console/staff?{urlencode({'done': what, 'login': login})}",
                            status_code=303)


@router.get("/staff")
def index(request: Request, who: Admin, lib: Lib) -> Response:
    return _page(request, who, lib)


@router.post("/staff")
def create(request: Request, who: Admin, lib: Lib, form: Form) -> Response:
    entered = {k: _field(form, k) for k in ("login", "display_name", "role")}
    try:
        password = _field(form, "password", PASSWORD_FIELD_MAX)
        made = lib.create_staff(login=entered["login"], password=password,
                                role=entered["role"], display_name=entered["display_name"],
                                caller=who.caller)
    except DomainError as exc:
        return _refused(request, who, lib, exc, "create", entered)
    return _done("created", made["login"])


def _change(request: Request, who: StaffContext, lib: Kopilka, staff_id: str,
            changes: dict[str, Any], what: str) -> Response:
    try:
        changed = lib.change_staff(staff_id, changes, caller=who.caller)
    except DomainError as exc:
        return _refused(request, who, lib, exc, staff_id)
    return _done(what, changed["login"])


@router.post("/staff/{staff_id}/role")
def change_role(request: Request, staff_id: str, who: Admin, lib: Lib, form: Form) -> Response:
    return _change(request, who, lib, staff_id, {"role": _field(form, "role")}, "role")


@router.post("/staff/{staff_id}/active")
def change_active(request: Request, staff_id: str, who: Admin, lib: Lib,
                  form: Form) -> Response:
    active = _field(form, "active") == "1"
    return _change(request, who, lib, staff_id, {"active": active},
                   "reactivated" if active else "deactivated")


@router.post("/staff/{staff_id}/password")
def set_password(request: Request, staff_id: str, who: Admin, lib: Lib,
                 form: Form) -> Response:
    password = _field(form, "password", PASSWORD_FIELD_MAX)
    return _change(request, who, lib, staff_id, {"password": password}, "password")
