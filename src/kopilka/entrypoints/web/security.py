"""Who is signed in, what they may do, and CSRF, as FastAPI dependencies.

A session is an HttpOnly, SameSite=Lax cookie holding a random token (the database keeps its
sha256). Every state-changing request must also carry the session's CSRF token, in the form
field `csrf_token` or the `X-CSRF-Token` header (htmx sends the header from `hx-headers` on
<body>); without it the request is refused with 403 and nothing is changed. The sign-in form,
before any session exists, uses a double-submit cookie instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kopilka.app.audit import Person
from kopilka.app.library import Caller, Kopilka
from kopilka.app.staff import Session
from kopilka.domain.staff import Permission, Role, allowed
from kopilka.entrypoints.web.i18n import N_

STAFF_COOKIE = "kopilka_staff"
MEMBER_COOKIE = "kopilka_member"
SIGN_IN_CSRF_COOKIE = "kopilka_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_NAMES = (N_("admin"), N_("marketer"), N_("operator"), N_("accountant"), N_("auditor"))


class SignInRequired(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class NotPermitted(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfRefused(Exception):
    pass


def library(request: Request) -> Kopilka:
    return request.app.state.kopilka


def client_address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def local_path(value: str | None, default: str) -> str:
    """A redirect target only if it stays on this site (no open redirects)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def cookie_options(request: Request, path: str) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "path": path,
            "secure": request.url.scheme == "https"}


async def check_csrf(request: Request, expected: str) -> None:
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not given or not secrets.compare_digest(given, expected):
        raise CsrfRefused()


@dataclass(frozen=True)
class StaffContext:
    session: Session
    person: Person
    caller: Caller

    @property
    def role(self) -> Role:
        return Role(self.session.role or "")

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def can(self, permission: Permission | str) -> bool:
        return allowed(self.role, Permission(permission))

    def require(self, permission: Permission | str) -> None:
        if not self.can(permission):
            raise NotPermitted(str(Permission(permission).value))


@dataclass(frozen=True)
class MemberContext:
    session: Session
    person: Person
    caller: Caller

    @property
    def member_id(self) -> str:
        return self.session.subject_id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


async def _session(request: Request, cookie: str, kind: str) -> Session:
    token = request.cookies.get(cookie)
    found = await run_in_threadpool(library(request).web_session, token) if token else None
    if found is None or found.kind != kind:
        raise SignInRequired(kind)
    await check_csrf(request, found.csrf_token)
    return found


async def staff(request: Request) -> StaffContext:
    session = await _session(request, STAFF_COOKIE, "staff")
    person = Person("staff", session.subject_id, session.name, session.role,
                    client_address(request))
    # staff act for the platform's operator: they see every partner's data (ADR 0006)
    who = StaffContext(session, person,
                       Caller(name=f"staff:{session.subject_id}", admin=True, person=person))
    request.state.page = {"staff": who, "can": who.can, "csrf_token": session.csrf_token,
                          "Permission": Permission}
    return who


async def member(request: Request) -> MemberContext:
    session = await _session(request, MEMBER_COOKIE, "member")
    person = Person("member", session.subject_id, "member", None, client_address(request))
    who = MemberContext(session, person,
                        Caller(name=f"member:{session.subject_id}", person=person))
    request.state.page = {"member_session": who, "csrf_token": session.csrf_token}
    return who


def permitted(permission: Permission) -> Any:
    """A dependency: the signed-in staff member, who must hold `permission`."""
    async def dependency(who: Annotated[StaffContext, Depends(staff)]) -> StaffContext:
        who.require(permission)
        return who
    return Depends(dependency)


Staff = Annotated[StaffContext, Depends(staff)]
Member = Annotated[MemberContext, Depends(member)]
Lib = Annotated[Kopilka, Depends(library)]
