"""Request-scoped dependencies: the library, the authenticated principal, the key header."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from starlette.responses import Response

from kopilka.app.library import Kopilka, Result
from kopilka.entrypoints.http.auth import KeyStore, Principal


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def library(request: Request) -> Kopilka:
    return request.app.state.kopilka


def principal(request: Request,
              authorization: Annotated[str | None, Header()] = None) -> Principal:
    keys: KeyStore = request.app.state.keys
    return keys.authenticate(authorization)


Lib = Annotated[Kopilka, Depends(library)]
Auth = Annotated[Principal, Depends(principal)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


def respond(result: Result) -> JSON:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSON(result.body, status_code=result.status, headers=headers)
