"""One error contract: RFC 9457 problem+json with a stable machine `code`, mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kopilka.domain.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://kopilka.dev/problems/"
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                415: "unsupported_media_type", 422: "validation_error",
                429: "too_many_requests", 500: "internal_error", 503: "unavailable"}
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
          415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal error", 503: "Service unavailable"}


class ProblemResponse(Response):
    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem(status: int, code: str, detail: str, **extra: Any) -> ProblemResponse:
    body = {"type": PROBLEM_TYPE + code, "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ProblemResponse(body, status_code=status, headers=headers)


def _loc(loc: tuple[Any, ...]) -> list[Any]:
    return [part for part in loc if part != "body"] or ["body"]


def _error(err: dict[str, Any]) -> dict[str, Any]:
    if err.get("type") == "json_invalid":  # loc is (body, character position)
        position = err.get("loc", ("body", "?"))[-1]
        return {"loc": ["body"], "msg": f"malformed JSON at character {position}",
                "type": "json_invalid"}
    return {"loc": _loc(tuple(err.get("loc", ()))), "msg": err.get("msg", "invalid"),
            "type": err.get("type")}


def _jsonable(value: Any) -> Any:
    try:
        orjson.dumps(value)
        return value
    except TypeError:
        return str(value)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> Response:
        extra = {k: _jsonable(v) for k, v in exc.extra.items()}
        return problem(exc.status, exc.code, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        errors = [_error(err) for err in exc.errors()]
        first = errors[0] if errors else {"loc": ["body"], "msg": "invalid request"}
        detail = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        return problem(422, "validation_error", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, "error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "an internal error occurred; it has been logged")
