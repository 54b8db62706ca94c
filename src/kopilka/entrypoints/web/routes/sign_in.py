"""Staff sign-in, sign-out and the console's front door."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from kopilka.domain.errors import DomainError
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.security import (
    SIGN_IN_CSRF_COOKIE,
    STAFF_COOKIE,
    Lib,
    SignInRequired,
    Staff,
    client_address,
    cookie_options,
    local_path,
)

router = APIRouter()
HOME = "/console/"
# the first section a role may see is its home page
SECTIONS = ((Permission.DASHBOARD_VIEW, "/console/dashboard"),
            (Permission.MEMBERS_VIEW, "/console/members"),
            (Permission.RECEIPTS_VIEW, "/console/receipts"),
            (Permission.PROGRAM_VIEW, "/console/program"))


def _form(request: Request, *, next_: str, error: str | None = None, login: str = "",
          status: int = 200, headers: dict[str, str] | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "console/sign_in.html",
                      {"form_token": token, "next": next_, "error": error, "login": login},
                      status=status, headers=headers)
    response.set_cookie(SIGN_IN_CSRF_COOKIE, token, max_age=3600,
                        **cookie_options(request, "/console"))
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _form(request, next_=local_path(next, HOME))


@router.post("/sign-in")
def sign_in(request: Request, lib: Lib, login: Annotated[str, Form(max_length=254)],
            password: Annotated[str, Form(max_length=256)],
            form_token: Annotated[str, Form(max_length=64)] = "",
            next: Annotated[str, Form(max_length=500)] = HOME) -> Response:
    next_ = local_path(next, HOME)
    cookie = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, form_token):
        return _form(request, next_=next_, login=login, status=403,
                     error=N_("The form has expired: please sign in again."))
    try:
        opened = lib.sign_in_staff(login, password, address=client_address(request))
    except DomainError as exc:
        wait = exc.extra.get("retry_after")
        error = N_("Too many failed sign-ins: try again later.") if wait else \
            N_("Wrong login or password.")
        return _form(request, next_=next_, login=login, status=exc.status, error=error,
                     headers={"Retry-After": str(wait)} if wait else None)
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(STAFF_COOKIE, opened.token, **cookie_options(request, "/console"))
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(request: Request, lib: Lib, who: Staff) -> Response:
    lib.sign_out(request.cookies.get(STAFF_COOKIE, ""), person=who.person)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/console")
    return response


@router.get("/")
def home(who: Staff) -> Response:
    for permission, path in SECTIONS:
        if who.can(permission):
            return RedirectResponse(path, status_code=303)
    raise SignInRequired("staff")  # every role can see at least one section
