"""Days typed in a filter form (YYYY-MM-DD, the console's time zone) as a half-open period
[first day 00:00, day after the last 00:00), which is how the library filters by time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from kopilka.domain.errors import InvalidInput
from kopilka.entrypoints.web.rendering import DISPLAY_TZ


def _day(text: str | None, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: a date is YYYY-MM-DD", code="invalid_date") from None


def period(first: str | None, last: str | None) -> tuple[datetime | None, datetime | None]:
    """(since, until) for the days from `first` to `last`, both included; None: open."""
    start, end = _day(first, "from"), _day(last, "to")
    if start and end and end < start:
        raise InvalidInput("the period ends before it starts", code="invalid_period")
    since = datetime.combine(start, time(), DISPLAY_TZ) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), DISPLAY_TZ) if end else None
    return since, until
