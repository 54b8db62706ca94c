"""The member's digital card (SPEC U3): the card number as a Code 128 barcode and a QR code
carrying a short-lived signed token; the codes refresh themselves through htmx (a fragment
fetched every minute, well inside the token's time to live). A lost phone or card: block the
old card and issue a new one, exactly once per form (a random idempotency key in it)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from kopilka.app.library import Kopilka
from kopilka.entrypoints.web.i18n import N_, gettext_for
from kopilka.entrypoints.web.rendering import language_of, render
from kopilka.entrypoints.web.security import Lib, Member, MemberContext

router = APIRouter()
REFRESH_SECONDS = 60


def _codes(request: Request, lib: Kopilka, who: MemberContext) -> dict[str, Any]:
    """The card's images with accessible names in the page's language."""
    _ = gettext_for(language_of(request))
    return lib.card_images(who.member_id, qr_label=_(N_("QR code of your card")),
                           barcode_label=_(N_("Barcode of your card number")))


def _grouped(card: str) -> str:
    """'2000000000015' -> '2 000000 000015' as printed under an EAN-13 (no-break spaces:
    the number never wraps)."""
    return f"{card[0]}\u00a0{card[1:7]}\u00a0{card[7:]}" if len(card) == 13 else card


@router.get("/card")
def card(request: Request, lib: Lib, who: Member, replaced: bool = False) -> Response:
    return render(request, "member/card.html", {
        "codes": _codes(request, lib, who), "grouped": _grouped, "replaced": replaced,
        "refresh_seconds": REFRESH_SECONDS})


@router.get("/card/codes")
def card_codes(request: Request, lib: Lib, who: Member) -> Response:
    """The codes alone, for htmx to swap in before the QR token expires."""
    return render(request, "member/_card_codes.html", {
        "codes": _codes(request, lib, who), "grouped": _grouped,
        "refresh_seconds": REFRESH_SECONDS})


@router.get("/card/lost")
def card_lost_page(request: Request, lib: Lib, who: Member) -> Response:
    token = lib.card_token(who.member_id)
    return render(request, "member/card_lost.html", {
        "card": token["card"], "grouped": _grouped,
        "idempotency_key": secrets.token_urlsafe(18)})


@router.post("/card/lost")
def replace_lost_card(lib: Lib, who: Member,
                      idempotency_key: Annotated[str, Form(min_length=16, max_length=64)],
                      ) -> Response:
    lib.replace_lost_card(who.member_id, caller=who.caller, idempotency_key=idempotency_key)
    return RedirectResponse("/me/card?replaced=true", status_code=303)
