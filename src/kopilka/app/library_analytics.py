"""The library's analytics (mixed into `Kopilka`): the admin console's dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

from kopilka.app import analytics


class AnalyticsMixin:
    """SPEC A1/U2: read-only figures over a period of local dates, optionally of one store."""

    def dashboard(self, start: date, end: date, store_id: str | None = None) -> dict[str, Any]:
        """Members, sales, points and liability of [start, end] (inclusive local dates of the
        program's time zone, UTC without a program) with a day series (a week series beyond
        92 days); money in integer kopecks. 422 `invalid_period` (start after end, not dates),
        `period_too_long` (over 366 days); 404 `store_not_found`. Definitions:
        `app.analytics`."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return analytics.dashboard(
                uow, start, end, store_id=store_id,
                now=self.clock.now(),  # type: ignore[attr-defined]
                default_currency=self.default_currency)  # type: ignore[attr-defined]
