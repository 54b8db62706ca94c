"""Members sign in with their phone number and a one-time code, and sign out (SPEC U3, O6).

The page never tells whether a number belongs to a member: for any valid number it shows the
same "we sent a code if the number is registered" form. For a number nobody has, the form
carries a random challenge id that matches no challenge, so no code can ever succeed with it.
Failed codes count towards the same throttle as staff passwords (per normalised phone and
per address). Before any session exists the forms are protected by a double-submit cookie.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.identity import normalise_phone
from kopilka.app.library import Kopilka
from kopilka.app.ports import new_id
from kopilka.app.staff import MEMBER_SESSION_TTL
from kopilka.domain.errors import DomainError
from kopilka.domain.verification import CODE_DIGITS, CODE_TTL
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.security import (
    MEMBER_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    Lib,
    Member,
    client_address,
    cookie_options,
    local_path,
)

router = APIRouter()
HOME = "/me/"
COOKIE_PATH = "/me"
FORM_EXPIRED = N_("The form has expired: please try again.")
BAD_PHONE = N_("Enter a mobile phone number, for example +7 916 123-45-67.")
TOO_MANY = N_("Too many wrong codes: try again in a few minutes.")
WRONG_CODE = N_("The code is wrong or has expired. Check it or ask for a new code.")


def _next(value: str | None) -> str:
    """Where to go after signing in: a page of the member's own site only."""
    target = local_path(value, HOME)
    return target if target.startswith(HOME) else HOME


def _form(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
          retry_after: int | None = None) -> Response:
    """A sign-in form with a fresh double-submit token (cookie + hidden field)."""
    token = secrets.token_urlsafe(24)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    response = render(request, template, {**context, "form_token": token}, status=status,
                      headers=headers)
    response.set_cookie(SIGN_IN_CSRF_COOKIE, token, max_age=3600,
                        **cookie_options(request, COOKIE_PATH))
    return response


def _phone_form(request: Request, *, next_: str, phone: str = "", error: str | None = None,
                status: int = 200, retry_after: int | None = None) -> Response:
    return _form(request, "member/sign_in.html",
                 {"next": next_, "phone": phone, "error": error},
                 status=status, retry_after=retry_after)


def _code_form(request: Request, *, next_: str, phone: str, challenge: str,
               error: str | None = None, status: int = 200,
               retry_after: int | None = None) -> Response:
    return _form(request, "member/sign_in_code.html",
                 {"next": next_, "phone": phone, "challenge": challenge, "error": error,
                  "code_digits": CODE_DIGITS, "code_minutes": int(CODE_TTL.total_seconds() // 60)},
                 status=status, retry_after=retry_after)


def _form_token_ok(request: Request, given: str) -> bool:
    cookie = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    return bool(cookie) and secrets.compare_digest(cookie, given)


def _throttled(lib: Kopilka, login: str, address: str) -> int | None:
    """Seconds to wait while the phone or the address is throttled, else None."""
    try:
        lib.check_sign_in_allowed(login, address=address)
    except DomainError as exc:
        return int(exc.extra.get("retry_after") or 60)
    return None


def _send_code(lib: Kopilka, phone: str) -> str:
    """The challenge id of a code sent to the member with this phone; for a number no (active)
    member has, a random id of the same shape that matches no challenge."""
    try:
        member_id = lib.resolve({"phone": phone})
        return str(lib.start_verification(member_id, "phone").body["challenge_id"])
    except DomainError:
        return new_id()


def _confirmed_member(lib: Kopilka, phone: str, challenge: str, code: str) -> str | None:
    """The member whose code this is, or None (unknown number, wrong, used or expired code,
    a challenge that is not theirs): one answer for all, so nothing is revealed."""
    try:
        member_id = lib.resolve({"phone": phone})
        lib.confirm_verification(member_id, challenge, code)
    except DomainError:
        return None
    return member_id


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _phone_form(request, next_=_next(next))


@router.post("/sign-in")
def request_code(request: Request, lib: Lib, phone: Annotated[str, Form(max_length=40)] = "",
                 form_token: Annotated[str, Form(max_length=64)] = "",
                 next: Annotated[str, Form(max_length=500)] = HOME) -> Response:
    next_ = _next(next)
    if not _form_token_ok(request, form_token):
        return _phone_form(request, next_=next_, phone=phone, error=FORM_EXPIRED, status=403)
    try:
        login = normalise_phone(phone)
    except DomainError:
        return _phone_form(request, next_=next_, phone=phone, error=BAD_PHONE, status=422)
    address = client_address(request)
    # codes sent to one number are limited like failed sign-ins (no SMS flooding); every
    # request counts, known number or not, so the limit reveals nothing either
    sends = f"code:{login}"
    wait = _throttled(lib, login, address) or _throttled(lib, sends, address)
    if wait is not None:
        return _phone_form(request, next_=next_, phone=phone, error=TOO_MANY, status=429,
                           retry_after=wait)
    lib.record_sign_in_attempt(sends, address=address, succeeded=False)
    return _code_form(request, next_=next_, phone=login, challenge=_send_code(lib, login))


@router.post("/sign-in/code")
def confirm_code(request: Request, lib: Lib, phone: Annotated[str, Form(max_length=40)] = "",
                 challenge: Annotated[str, Form(max_length=64)] = "",
                 code: Annotated[str, Form(max_length=16)] = "",
                 form_token: Annotated[str, Form(max_length=64)] = "",
                 next: Annotated[str, Form(max_length=500)] = HOME) -> Response:
    next_ = _next(next)
    form = {"next_": next_, "phone": phone, "challenge": challenge}
    if not _form_token_ok(request, form_token):
        return _code_form(request, **form, error=FORM_EXPIRED, status=403)
    try:
        login = normalise_phone(phone)
    except DomainError:
        return _phone_form(request, next_=next_, error=BAD_PHONE, status=422)
    address = client_address(request)
    wait = _throttled(lib, login, address)
    if wait is not None:
        return _code_form(request, **form, error=TOO_MANY, status=429, retry_after=wait)
    member_id = _confirmed_member(lib, login, challenge, code.strip())
    lib.record_sign_in_attempt(login, address=address, succeeded=member_id is not None)
    if member_id is None:
        return _code_form(request, **form, error=WRONG_CODE, status=401)
    opened = lib.open_member_session(member_id)
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(MEMBER_COOKIE, opened.token,
                        max_age=int(MEMBER_SESSION_TTL.total_seconds()),
                        **cookie_options(request, COOKIE_PATH))
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
def sign_out(request: Request, lib: Lib, who: Member) -> Response:
    lib.sign_out(request.cookies.get(MEMBER_COOKIE, ""), person=who.person)
    response = RedirectResponse("/me/sign-in", status_code=303)
    response.delete_cookie(MEMBER_COOKIE, path=COOKIE_PATH)
    return response
