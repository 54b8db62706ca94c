"""Partners of API.md: the list, adding one, and the settlement statement between them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.auth import Principal
from kopilka.entrypoints.http.deps import JSON, AdminKey, Auth, IdempotencyKey, Lib, respond, scoped

router = APIRouter(prefix="/v1/partners", tags=["partners"])
AdminOrAnalyticsKey = Annotated[Principal, scoped("admin", "analytics")]


@router.get("")
def partners(lib: Lib, who: Auth, limit: Annotated[int, Query(ge=1, le=500)] = 100,
             cursor: Annotated[str | None, Query(max_length=64)] = None) -> JSON:
    """Every partner (brand) with its stores; any valid key."""
    return JSON(lib.partners(limit=limit, cursor=cursor))


@router.post("", status_code=201)
def add(body: S.PartnerIn, lib: Lib, who: AdminKey, key: IdempotencyKey = None) -> JSON:
    return respond(lib.add_partner(body.partner_id, body.name, caller=who.caller,
                                   idempotency_key=key))


@router.get("/settlement")
def settlement(lib: Lib, who: AdminOrAnalyticsKey,
               start: Annotated[str, Query(alias="from", min_length=1, max_length=64)],
               end: Annotated[str, Query(alias="to", min_length=1, max_length=64)]) -> JSON:
    """Who owes whom for points earned at one partner and spent at another, booked in
    [from, to) (ADR 0006). An `analytics` key (not `admin`) sees its own partner's rows."""
    return JSON(lib.settlement(start, end, caller=who.caller))
