"""The calendar of a dashboard: a period of local dates cut into day or week buckets.

Pure arithmetic (no I/O, no clock). A period [start, end] is two inclusive local dates of a
time zone; it covers the UTC instants [start_at, end_at). SQL puts a timestamp into its bucket
with integer arithmetic only, so SQLite and PostgreSQL agree to the second:

    bucket = (epoch_seconds(ts) + offset_seconds(ts) - origin_seconds) // bucket_seconds

`epoch_seconds + offset_seconds` is the local wall-clock time counted from 1970-01-01, and
`offset_seconds` is the zone's UTC offset, constant between the `OffsetSegment` bounds (a
fixed-offset zone has one segment; a zone with summer time gets a segment per change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from kopilka.domain.errors import InvalidInput

MAX_PERIOD_DAYS = 366
DAILY_UP_TO_DAYS = 92  # a longer period is charted by week (at most 54 points)
_EPOCH = date(1970, 1, 1)
_DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    """The zone's UTC offset up to `until` (exclusive, UTC; None: to the end of the period)."""

    until: datetime | None
    offset_seconds: int


@dataclass(frozen=True, slots=True)
class Bucket:
    index: int
    first: date  # inclusive local dates, clipped to the period
    last: date


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    zone: tzinfo
    start_at: datetime  # UTC, inclusive
    end_at: datetime  # UTC, exclusive
    bucket_days: int  # 1 (day) or 7 (ISO week, Monday first)
    origin: date  # the first day of bucket 0: `start`, or the Monday on or before it
    offsets: tuple[OffsetSegment, ...]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bucket(self) -> str:
        return "day" if self.bucket_days == 1 else "week"

    @property
    def origin_seconds(self) -> int:
        """Local midnight of `origin`, as seconds of wall-clock time since 1970-01-01."""
        return (self.origin - _EPOCH).days * _DAY_SECONDS

    @property
    def bucket_seconds(self) -> int:
        return self.bucket_days * _DAY_SECONDS

    def buckets(self) -> list[Bucket]:
        found, first, index = [], self.origin, 0
        while first <= self.end:
            last = first + timedelta(days=self.bucket_days - 1)
            found.append(Bucket(index, max(first, self.start), min(last, self.end)))
            first, index = last + timedelta(days=1), index + 1
        return found

    def bucket_of(self, at: datetime) -> int:
        """The bucket of an instant (what the SQL expression computes), for checks."""
        return (at.astimezone(self.zone).date() - self.origin).days // self.bucket_days


def make_period(start: date, end: date, zone: tzinfo = UTC) -> Period:
    """Validate a dashboard period: dates (not date-times), start <= end, at most 366 days."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, datetime) or not isinstance(value, date):
            raise InvalidInput(f"{name} must be a date, got {value!r}", code="invalid_period")
    if start > end:
        raise InvalidInput(f"the period starts ({start}) after it ends ({end})",
                           code="invalid_period")
    days = (end - start).days + 1
    if days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"the period has {days} days; at most {MAX_PERIOD_DAYS}",
                           code="period_too_long")
    start_at, end_at = local_midnight(start, zone), local_midnight(end + timedelta(days=1), zone)
    bucket_days = 1 if days <= DAILY_UP_TO_DAYS else 7
    origin = start if bucket_days == 1 else start - timedelta(days=start.weekday())
    return Period(start, end, zone, start_at, end_at, bucket_days, origin,
                  offset_segments(zone, start_at, end_at))


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def zone_name(zone: tzinfo) -> str:
    """An IANA name when the zone has one ("Europe/Berlin"), else its offset ("+03:00")."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    offset = zone.utcoffset(None) or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _offset(zone: tzinfo, at: datetime) -> int:
    return int((at.astimezone(zone).utcoffset() or timedelta(0)).total_seconds())


def offset_segments(zone: tzinfo, start_at: datetime, end_at: datetime,
                    ) -> tuple[OffsetSegment, ...]:
    """The zone's offsets over [start_at, end_at): probed hourly, each change found to the
    second by bisection (real zones change at most a few times a year, on the hour or half)."""
    current = _offset(zone, start_at)
    if isinstance(zone, timezone):
        return (OffsetSegment(None, current),)
    segments: list[OffsetSegment] = []
    probe = start_at
    while probe < end_at:
        step = min(probe + timedelta(hours=1), end_at)
        if _offset(zone, step) != current:
            lo, hi = probe, step
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                lo, hi = (mid, hi) if _offset(zone, mid) == current else (lo, mid)
            segments.append(OffsetSegment(hi, current))
            current = _offset(zone, hi)
        probe = step
    return (*segments, OffsetSegment(None, current))
