"""Charity endpoints (SPEC P9): a member's donation to a fund, and the report per fund."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.auth import Principal
from kopilka.entrypoints.http.deps import (
    JSON,
    IdempotencyKey,
    Lib,
    PathId,
    PosOrWriteKey,
    respond,
    scoped,
)

router = APIRouter(tags=["charity"])
AdminOrAnalyticsKey = Annotated[Principal, scoped("admin", "analytics")]


@router.post("/v1/members/{member_id}/donations", status_code=201)
def donate(member_id: PathId, body: S.DonationIn, lib: Lib, who: PosOrWriteKey,
           key: IdempotencyKey = None) -> JSON:
    """Give points to a fund of the program in force: 201 with the operation (kind `donate`)
    and the balance after. 422 `unknown_fund`, `insufficient_points`,
    `donation_below_minimum`; 404 `member_not_found`."""
    return respond(lib.donate(member_id, body.fund_id, body.points, caller=who.caller,
                              idempotency_key=key))


@router.get("/v1/charity/funds/report")
def fund_report(lib: Lib, who: AdminOrAnalyticsKey,
                start: Annotated[str, Query(alias="from", min_length=1, max_length=64)],
                end: Annotated[str, Query(alias="to", min_length=1, max_length=64)]) -> JSON:
    """Per fund: donations, donors, points and their money value booked in [from, to)."""
    return JSON(lib.fund_report(start, end))
