"""Gamification endpoints (SPEC P7): a member's challenges and badges, sticker exchange."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from kopilka.entrypoints.http.deps import (
    JSON,
    IdempotencyKey,
    Lib,
    PathId,
    PosOrReadKey,
    PosOrWriteKey,
    respond,
)
from kopilka.entrypoints.http.schemas import Strict

router = APIRouter(prefix="/v1/members", tags=["engagement"])


class StickerExchangeIn(Strict):
    offer_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


@router.get("/{member_id}/challenges")
def member_challenges(member_id: PathId, lib: Lib, who: PosOrReadKey) -> JSON:
    """The challenges in force with the member's progress in the current period, and the
    badges the member has."""
    return JSON(lib.challenges(member_id))


@router.post("/{member_id}/stickers/exchange", status_code=201)
def exchange_stickers(
    member_id: PathId, body: StickerExchangeIn, lib: Lib, who: PosOrWriteKey,
    key: IdempotencyKey = None,
) -> JSON:
    """Spend an offer's stickers for a single-use voucher (422 `unknown_sticker_offer`, 409/422
    when the stickers do not suffice; nothing is written then)."""
    return respond(lib.exchange_stickers(member_id, body.offer_id, caller=who.caller,
                                         idempotency_key=key))
