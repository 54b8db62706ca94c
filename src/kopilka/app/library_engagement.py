"""The library's gamification methods (mixed into `Kopilka`): challenges, sticker exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import engagement
from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import InvalidInput

MAX_OFFER_ID = 64


class EngagementMixin:
    """SPEC P7: a member's challenges and badges; stickers exchanged for a voucher."""

    def challenges(self, member_id: str) -> dict[str, Any]:
        """The challenges in force with the member's progress, and the member's badges."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return engagement.challenges_view(uow, member_id, self.clock.now())  # type: ignore[attr-defined]

    def exchange_stickers(self, member_id: str, offer_id: str, *, caller: Any = None,
                          idempotency_key: str | None = None) -> Any:
        """Spend an offer's stickers for a single-use voucher (201); at most once per
        Idempotency-Key."""
        from kopilka.app.library import LIBRARY, Result

        if not isinstance(offer_id, str) or not 0 < len(offer_id) <= MAX_OFFER_ID:
            raise InvalidInput(f"offer_id must be 1..{MAX_OFFER_ID} characters",
                               code="validation_error")
        caller = caller or LIBRARY

        def work(uow: UnitOfWork, now: datetime) -> Result:
            return Result(201, engagement.exchange(
                uow, member_id, offer_id, now=now,
                meta=self._meta(caller, now)))  # type: ignore[attr-defined]
        return self.mutate("sticker_exchange", [member_id, offer_id], work,  # type: ignore[attr-defined]
                           caller=caller, idempotency_key=idempotency_key)
