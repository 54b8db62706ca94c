"""Promotions of API.md: the catalogue, promo codes and their check for a member and cart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from kopilka.domain.errors import InvalidInput
from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.deps import (
    JSON,
    AdminKey,
    IdempotencyKey,
    Lib,
    PathId,
    PosKey,
    respond,
    scoped,
)
from kopilka.entrypoints.http.routers.receipts import receipt_input

router = APIRouter(tags=["promotions"])
AdminOrPosKey = Annotated[Any, scoped("admin", "pos")]
Document = Annotated[dict[str, Any], Body(description="the promotion document")]


@router.post("/v1/promotions", status_code=201)
def create(document: Document, lib: Lib, who: AdminKey, key: IdempotencyKey = None,
           status: Annotated[str, Query(pattern="^(active|paused)$")] = "active") -> JSON:
    return respond(lib.create_promotion(document, status=status, caller=who.caller,
                                        idempotency_key=key))


@router.get("/v1/promotions")
def catalogue(lib: Lib, who: AdminOrPosKey,
              status: Annotated[str | None, Query(pattern="^(active|paused)$")] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100,
              cursor: Annotated[str | None, Query(max_length=64)] = None) -> JSON:
    return JSON(lib.promotions(status=status, limit=limit, cursor=cursor))


@router.get("/v1/promotions/{promotion_id}")
def one(promotion_id: PathId, lib: Lib, who: AdminOrPosKey) -> JSON:
    return JSON(lib.promotion(promotion_id, caller=who.caller))


@router.patch("/v1/promotions/{promotion_id}")
def change(promotion_id: PathId, patch: Document, lib: Lib, who: AdminKey,
           key: IdempotencyKey = None) -> JSON:
    """Top-level fields of the document replace theirs; `status` pauses or resumes."""
    return respond(lib.update_promotion(promotion_id, patch, caller=who.caller,
                                        idempotency_key=key))


@router.post("/v1/promotions/{promotion_id}/codes", status_code=201)
def codes(promotion_id: PathId, body: S.CodesIn, lib: Lib, who: AdminKey,
          key: IdempotencyKey = None) -> JSON:
    if (body.code is None) == (body.count is None):
        raise InvalidInput("give either count (a batch of unique codes) or code (a shared one)",
                           code="validation_error",
                           errors=[{"loc": ["body"], "msg": "count or code"}])
    if body.code is not None:
        return respond(lib.add_promo_code(promotion_id, code=body.code, max_uses=body.max_uses,
                                          max_uses_per_member=body.max_uses_per_member,
                                          caller=who.caller, idempotency_key=key))
    return respond(lib.generate_codes(promotion_id, count=body.count, prefix=body.prefix,
                                      caller=who.caller, idempotency_key=key))


@router.get("/v1/promotions/{promotion_id}/codes.csv")
def codes_csv(promotion_id: PathId, lib: Lib, who: AdminKey,
              batch_id: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    text = lib.promo_codes_csv(promotion_id, batch_id=batch_id, caller=who.caller)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{promotion_id}-codes.csv"'})


@router.get("/v1/promo-codes/{code}")
def check_code(code: PathId, lib: Lib, who: AdminOrPosKey,
               member_id: Annotated[str | None, Query(max_length=64)] = None) -> JSON:
    """Whether a code can be used now (by this member): the code's own limits."""
    return JSON(lib.check_promo_code(code, member_id=member_id))


@router.post("/v1/promo-codes/{code}/check")
def check_code_on_cart(code: PathId, body: S.ReceiptIn, lib: Lib, who: PosKey) -> JSON:
    """The code's promotion evaluated on this member and cart (nothing is written)."""
    who.require_store(body.store_id)
    return JSON(lib.check_promo_code_on_cart(code, receipt_input(body), caller=who.caller))
