"""Days typed in a filter form (YYYY-MM-DD, the console's time zone) as a half-open period
[first day 00:00, day after the last 00:00), which is how the library filters by time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from kopilka.domain.errors import InvalidInput
from kopilka.entrypoints.web.rendering import DISPLAY_TZ

EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # beyond: no calendar to speak of


def day(text: str, name: str = "date") -> date:
    """A typed day, refused (422, never a 500 later in date arithmetic) unless it is a real
    YYYY-MM-DD date between EARLIEST and LATEST."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{name}: not a date (YYYY-MM-DD): {text!r}",
                           code="invalid_date") from None
    if not EARLIEST <= value <= LATEST:
        raise InvalidInput(f"{name}: out of range: {value}", code="date_out_of_range")
    return value


def _day(text: str | None, name: str) -> date | None:
    return day(text, name) if text and text.strip() else None


def period(first: str | None, last: str | None) -> tuple[datetime | None, datetime | None]:
    """(since, until) for the days from `first` to `last`, both included; None: open."""
    start, end = _day(first, "from"), _day(last, "to")
    if start and end and end < start:
        raise InvalidInput("the period ends before it starts", code="invalid_period")
    since = datetime.combine(start, time(), DISPLAY_TZ) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), DISPLAY_TZ) if end else None
    return since, until
