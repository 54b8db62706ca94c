"""The library's one-time reward methods (mixed into `Kopilka`): events, a member's grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import members as M
from kopilka.app import rewards
from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import InvalidInput

MAX_EVENT_TYPE = 64


class RewardsMixin:
    """SPEC R6: events the integrator posts, and what a member has been given."""

    def record_event(self, member_id: str, event_type: str, *,
                     occurred_at: datetime | None = None,
                     attributes: dict[str, Any] | None = None, caller: Any = None,
                     idempotency_key: str | None = None) -> Any:
        """A member's event (review, subscription, ... or a type the program names): gives
        the one-time rewards it triggers, each at most once (201), or nothing new (200)."""
        from kopilka.app.library import LIBRARY, Result

        if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_EVENT_TYPE:
            raise InvalidInput(f"type must be 1..{MAX_EVENT_TYPE} characters",
                               code="validation_error")
        caller = caller or LIBRARY
        attributes = attributes or {}

        def work(uow: UnitOfWork, now: datetime) -> Result:
            status, body = rewards.on_event(uow, member_id, event_type,
                                            occurred_at=occurred_at or now,
                                            attributes=attributes, now=now,
                                            meta=self._meta(caller, now))  # type: ignore[attr-defined]
            return Result(status, body)
        request = [member_id, event_type, occurred_at, attributes]
        return self.mutate("event", request, work, caller=caller,  # type: ignore[attr-defined]
                           idempotency_key=idempotency_key)

    def rewards_of(self, member_id: str) -> list[dict[str, Any]]:
        """Every one-time reward the member has been given (and any revoked since)."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            M.require_member(uow, member_id)
            return rewards.granted_view(uow, member_id)
