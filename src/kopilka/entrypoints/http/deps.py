"""Request-scoped dependencies: the library, the authenticated principal, the key header."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kopilka.app.library import Kopilka, Result
from kopilka.entrypoints.http.auth import KeyStore, Principal


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# Dependencies are async so FastAPI runs them on the event loop: a sync dependency costs a
# hop to the thread pool per request (measured: a third of the server's time per earn).

async def library(request: Request) -> Kopilka:
    return request.app.state.kopilka


async def principal(request: Request,
                    authorization: Annotated[str | None, Header()] = None) -> Principal:
    keys: KeyStore = request.app.state.keys
    key_id, secret = keys.parse(authorization)
    found, row = keys.cached(key_id)
    if found:
        return keys.check(row, secret)
    return await run_in_threadpool(keys.authenticate, authorization)  # database read


def scoped(*any_of: str) -> Any:
    """A dependency that authenticates and checks scopes before the body is even parsed, so
    an unauthorised caller learns nothing from validation errors (401/403 before 422)."""
    async def dependency(request: Request,
                         authorization: Annotated[str | None, Header()] = None) -> Principal:
        who = await principal(request, authorization)
        who.require(*any_of)
        return who
    return Depends(dependency)


Lib = Annotated[Kopilka, Depends(library)]
Auth = Annotated[Principal, Depends(principal)]
PosKey = Annotated[Principal, scoped("pos")]
ReadKey = Annotated[Principal, scoped("members:read")]
WriteKey = Annotated[Principal, scoped("members:write")]
AdminKey = Annotated[Principal, scoped("admin")]
PosOrReadKey = Annotated[Principal, scoped("pos", "members:read")]
PosOrWriteKey = Annotated[Principal, scoped("pos", "members:write")]
AnalyticsKey = Annotated[Principal, scoped("analytics")]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


def respond(result: Result) -> JSON:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSON(result.body, status_code=result.status, headers=headers)
