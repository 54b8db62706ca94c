"""The library's digital-card methods (mixed into `Kopilka`): the member's QR token and card
images for the self-service pages, the till's token check, and the lost-phone replacement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kopilka.app import digital_card as D
from kopilka.app import members as M
from kopilka.app import views
from kopilka.app.ports import UnitOfWork
from kopilka.domain.cards import CardStatus


def _active_cards(uow: UnitOfWork, member_id: str) -> list[str]:
    """The member's active card numbers, oldest first (the newest is the one to show)."""
    return [c["number"] for c in uow.members.cards_of(member_id)
            if c["status"] == CardStatus.ACTIVE]


class CardsMixin:
    """SPEC U3/M5: the digital card. The QR carries a token valid `card_token_ttl`."""

    card_token_ttl: timedelta = D.DEFAULT_TTL  # set on an instance to change it

    @property
    def card_tokens(self) -> D.CardTokens:
        return D.CardTokens(self.key, self.clock,  # type: ignore[attr-defined]
                            ttl=self.card_token_ttl)

    def card_of_token(self, token: str) -> str:
        """The card number a QR token carries (`members.QrVerifier`): 422 `qr_invalid`,
        `qr_expired`. Whether the card is still active is the resolver's question."""
        return self.card_tokens.verify(token)

    def card_token(self, member_id: str) -> dict[str, Any]:
        """A fresh QR token for the member's newest active card; a member without an active
        card (all blocked) gets one issued first. 409 `member_not_active`."""
        issued = self.card_tokens.issue(self._card_to_show(member_id))
        return {"token": issued.token, "expires_at": D.expires_at_iso(issued),
                "card": issued.card}

    def card_images(self, member_id: str, *, qr_label: str | None = None,
                    barcode_label: str | None = None) -> dict[str, Any]:
        """The digital card: the number as a Code 128 and the token as a QR code, both
        inline SVG. Labels (the accessible names) may be given in the page's language."""
        token = self.card_token(member_id)
        card = token["card"]
        return {**token,
                "code128_svg": D.code128_svg(card, label=barcode_label),
                "qr_svg": D.qr_svg(token["token"], label=qr_label or f"QR code of card {card}")}

    def replace_lost_card(self, member_id: str, *, caller: Any = None,
                          idempotency_key: str | None = None) -> Any:
        """Lost phone or card: block every active card of the member and issue a new one,
        in one transaction (exactly once per idempotency key). Balance, tier and history
        belong to the member, so they stay; a QR token of an old card now gets
        `card_blocked`. 201 with the new card; 409 `member_not_active`."""
        from kopilka.app.library import LIBRARY, Result

        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.require_active(uow, member_id, lock=True)
            old = _active_cards(uow, member_id)
            # the newest old card records its replacement; any others are simply blocked
            number = M.issue_card(uow, member_id, now=now, replace=old[-1] if old else None)
            for other in old[:-1]:
                M.block_card(uow, member_id, other, now=now)
            return Result(201, {"member_id": member_id, "card": number, "blocked": old,
                                "cards": views.cards_view(uow, member_id)})
        return self.mutate("replace_lost_card", [member_id], work,  # type: ignore[attr-defined]
                           caller=caller or LIBRARY, idempotency_key=idempotency_key)

    def _card_to_show(self, member_id: str) -> str:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            M.require_active(uow, member_id)
            cards = _active_cards(uow, member_id)
        if cards:
            return cards[-1]
        from kopilka.app.library import Result

        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.require_active(uow, member_id, lock=True)  # two page loads issue one card
            found = _active_cards(uow, member_id)
            number = found[-1] if found else M.issue_card(uow, member_id, now=now)
            return Result(201, {"member_id": member_id, "card": number})
        result = self.mutate("issue_missing_card", [member_id], work)  # type: ignore[attr-defined]
        return str(result.body["card"])
