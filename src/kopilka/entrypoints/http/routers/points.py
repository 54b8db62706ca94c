"""Direct point operations and holds (used by integrations without receipts, and by tills)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.deps import (
    JSON,
    IdempotencyKey,
    Lib,
    PathId,
    PosKey,
    respond,
)

router = APIRouter(tags=["points"])


@router.post("/v1/members/{member_id}/points/earn", status_code=201)
def earn(
    member_id: PathId, body: S.EarnIn, lib: Lib, who: PosKey, key: IdempotencyKey = None
) -> JSON:
    return respond(
        lib.earn(
            member_id,
            body.points,
            currency=body.currency,
            expires_at=body.expires_at,
            activates_at=body.activates_at,
            activation_event=body.activation_event,
            reason=body.reason,
            effective_at=body.effective_at,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.post("/v1/members/{member_id}/points/spend", status_code=201)
def spend(
    member_id: PathId, body: S.SpendIn, lib: Lib, who: PosKey, key: IdempotencyKey = None
) -> JSON:
    return respond(
        lib.spend(
            member_id,
            body.points,
            currency=body.currency,
            reason=body.reason,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.post("/v1/members/{member_id}/holds", status_code=201)
def hold(
    member_id: PathId, body: S.HoldIn, lib: Lib, who: PosKey, key: IdempotencyKey = None
) -> JSON:
    ttl = timedelta(seconds=body.ttl_seconds) if body.ttl_seconds else None
    return respond(
        lib.hold(
            member_id,
            body.points,
            currency=body.currency,
            ttl=ttl,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.post("/v1/holds/{hold_id}/capture")
def capture(
    hold_id: PathId,
    lib: Lib,
    who: PosKey,
    body: S.CaptureIn | None = None,
    key: IdempotencyKey = None,
) -> JSON:
    points = body.points if body else None
    return respond(lib.capture(hold_id, points, caller=who.caller, idempotency_key=key))


@router.delete("/v1/holds/{hold_id}")
def release(hold_id: PathId, lib: Lib, who: PosKey, key: IdempotencyKey = None) -> JSON:
    return respond(lib.release(hold_id, caller=who.caller, idempotency_key=key))
