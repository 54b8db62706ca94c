"""Mounts the web pages on the API application: /console (staff), /me (members), /static.

Each part is its own sub-application, so its errors are pages (or htmx fragments), never
the API's problem+json, and none of it appears in the API's OpenAPI document.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from kopilka.app.library import Kopilka
from kopilka.domain.errors import DomainError
from kopilka.entrypoints.web import i18n
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.routes import (
    audit,
    dashboard,
    member_page,
    members,
    program,
    promotions,
    receipts,
    sign_in,
    staff_admin,
)
from kopilka.entrypoints.web.security import (
    CsrfRefused,
    NotPermitted,
    SignInRequired,
    cookie_options,
    local_path,
)

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
SIGN_IN_PAGES = {"staff": "/console/sign-in", "member": "/me/sign-in"}
# no inline scripts (behaviour hangs on data- attributes, see static/app.js); htmx adds an
# inline style for its indicators, hence 'unsafe-inline' for styles only
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _error_page(request: Request, status: int, message: str, code: str) -> Response:
    template = "member/error.html" if request.url.path.startswith("/me") else \
        "console/error.html"
    return render(request, template, {"status": status, "message": message, "code": code},
                  status=status)


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        target = f"{SIGN_IN_PAGES[exc.kind]}?next={request.url.path}"
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method != "GET":
            return _error_page(request, 401, N_("Your session has ended: sign in again."),
                               "sign_in_required")
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(NotPermitted)
    async def not_permitted(request: Request, exc: NotPermitted) -> Response:
        return _error_page(request, 403, N_("Your role may not do this."), exc.permission)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return _error_page(request, 403, N_("The form has expired or did not come from "
                              "this site: reload the page and try again."), "csrf_refused")

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error_page(request, exc.status, exc.detail, exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return _error_page(request, 422, f"{where}: {first.get('msg')}", "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_page(request, 500, N_("Something went wrong; it has been logged."),
                           "internal_error")


def _part(kopilka: Kopilka, *routers: object) -> FastAPI:
    part = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    part.state.kopilka = kopilka
    install_errors(part)

    @part.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
    for router in routers:
        part.include_router(router)  # type: ignore[arg-type]
    return part


def mount(app: FastAPI, kopilka: Kopilka) -> None:
    console = _part(kopilka, sign_in.router, dashboard.router, members.router,
                    receipts.router, program.router, promotions.router, audit.router,
                    staff_admin.router)
    app.mount("/console", console)
    app.mount("/me", _part(kopilka, member_page.router))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    @app.get("/language/{language}", include_in_schema=False)
    def language(request: Request, language: str, next: str | None = None) -> Response:
        response = RedirectResponse(local_path(next, "/console/"), status_code=303)
        if language in i18n.LANGUAGES:
            response.set_cookie(i18n.LANGUAGE_COOKIE, language, max_age=365 * 86400,
                                **cookie_options(request, "/"))
        return response
