"""Program endpoints of API.md: the version in force, history, new versions; tier progress."""

from __future__ import annotations

from fastapi import APIRouter, Request

from kopilka.app.program_document import parse_program
from kopilka.entrypoints.http.deps import (
    JSON,
    AdminKey,
    IdempotencyKey,
    Lib,
    PathId,
    PosOrReadKey,
    ReadKey,
    respond,
)

router = APIRouter(tags=["program"])
MAX_DOCUMENT_BYTES = 256 * 1024


@router.get("/v1/program")
def current(lib: Lib, who: PosOrReadKey) -> JSON:
    return JSON(lib.program())


@router.get("/v1/program/versions")
def versions(lib: Lib, who: PosOrReadKey) -> JSON:
    return JSON({"items": lib.program_versions()})


@router.post("/v1/program/versions", status_code=201)
async def new_version(request: Request, lib: Lib, who: AdminKey,
                      key: IdempotencyKey = None) -> JSON:
    """The program document as YAML or JSON; 422 with precise locations when invalid."""
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    text = raw.decode("utf-8", errors="replace")
    program = parse_program(text, content_type=request.headers.get("content-type"))
    result = await run_in_threadpool(lib.apply_program, program, author=who.name,
                                     caller=who.caller, idempotency_key=key)
    return respond(result)


@router.get("/v1/members/{member_id}/tier")
def tier(member_id: PathId, lib: Lib, who: ReadKey) -> JSON:
    return JSON(lib.tier(member_id))
