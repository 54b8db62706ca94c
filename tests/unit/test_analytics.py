"""The dashboard's pure parts: the period's calendar and the figures built from aggregates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kopilka.app.analytics import (
    AccountPosition,
    LedgerFlow,
    ReceiptTotal,
    Refund,
    average,
    liability_view,
    point_figures,
    sales_view,
    share_percent,
)
from kopilka.app.analytics_period import OffsetSegment, make_period, zone_name
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import PointCurrency

MSK = timezone(timedelta(hours=3))
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_short_period_is_cut_by_day_in_its_zone() -> None:
    p = make_period(date(2026, 3, 1), date(2026, 3, 3), MSK)
    assert (p.start_at, p.end_at) == (datetime(2026, 2, 28, 21, tzinfo=UTC),
                                      datetime(2026, 3, 3, 21, tzinfo=UTC))
    assert (p.bucket, p.days, p.offsets) == ("day", 3, (OffsetSegment(None, 10_800),))
    assert [(b.index, b.first, b.last) for b in p.buckets()] == [
        (0, date(2026, 3, 1), date(2026, 3, 1)), (1, date(2026, 3, 2), date(2026, 3, 2)),
        (2, date(2026, 3, 3), date(2026, 3, 3))]
    assert p.bucket_of(datetime(2026, 2, 28, 21, 1, tzinfo=UTC)) == 0  # 00:01 in Moscow
    assert p.bucket_of(datetime(2026, 3, 3, 20, 59, tzinfo=UTC)) == 2  # 23:59 in Moscow


def test_92_days_are_daily_93_are_weekly_from_monday() -> None:
    assert make_period(date(2026, 1, 1), date(2026, 4, 2)).bucket == "day"
    p = make_period(date(2026, 1, 1), date(2026, 4, 3))  # a Thursday to a Friday
    assert (p.bucket, p.origin) == ("week", date(2025, 12, 29))
    buckets = p.buckets()
    assert (buckets[0].first, buckets[0].last) == (date(2026, 1, 1), date(2026, 1, 4))
    assert (buckets[1].first, buckets[1].last) == (date(2026, 1, 5), date(2026, 1, 11))
    assert (buckets[-1].first, buckets[-1].last) == (date(2026, 3, 30), date(2026, 4, 3))
    assert len(buckets) == 14
    assert p.bucket_of(datetime(2026, 1, 11, 23, 59, tzinfo=UTC)) == 1
    assert p.bucket_of(datetime(2026, 1, 12, 0, 0, tzinfo=UTC)) == 2


def test_the_sql_arithmetic_gives_the_same_bucket_as_the_calendar() -> None:
    p = make_period(date(2026, 3, 1), date(2026, 5, 31), BERLIN)  # weekly, with a change
    for hours in range(0, 92 * 24, 7):
        instant = p.start_at + timedelta(hours=hours, minutes=13)
        epoch = int(instant.timestamp())
        offset = next(s.offset_seconds for s in p.offsets
                      if s.until is None or instant < s.until)
        assert (epoch + offset - p.origin_seconds) // p.bucket_seconds == p.bucket_of(instant)


def test_summer_time_splits_the_offsets_to_the_second() -> None:
    p = make_period(date(2026, 3, 1), date(2026, 10, 31), BERLIN)
    assert p.offsets == (
        OffsetSegment(datetime(2026, 3, 29, 1, tzinfo=UTC), 3_600),
        OffsetSegment(datetime(2026, 10, 25, 1, tzinfo=UTC), 7_200),
        OffsetSegment(None, 3_600))
    assert (p.start_at, p.end_at) == (datetime(2026, 2, 28, 23, tzinfo=UTC),
                                      datetime(2026, 10, 31, 23, tzinfo=UTC))


def test_366_days_are_the_limit() -> None:
    assert make_period(date(2024, 1, 1), date(2024, 12, 31)).days == 366
    with pytest.raises(InvalidInput) as caught:
        make_period(date(2025, 1, 1), date(2026, 1, 2))
    assert caught.value.code == "period_too_long"


@pytest.mark.parametrize(("start", "end"), [
    (date(2026, 3, 2), date(2026, 3, 1)),
    (datetime(2026, 3, 1, tzinfo=UTC), date(2026, 3, 2)),
    ("2026-03-01", date(2026, 3, 2)),
])
def test_bad_periods(start: object, end: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_period(start, end)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_period"


def test_zone_names() -> None:
    assert [zone_name(z) for z in (MSK, UTC, BERLIN, timezone(-timedelta(hours=3, minutes=30)))
            ] == ["+03:00", "+00:00", "Europe/Berlin", "-03:30"]


def test_average_and_share_round_half_up() -> None:
    assert [average(290_000, 3), average(5, 2), average(7, 2), average(0, 0)] == \
        [96_667, 3, 4, None]
    assert [share_percent(140_000, 180_000), share_percent(1, 8), share_percent(1, 0)] == \
        ["77.78", "12.50", None]


def test_point_figures_name_each_system_account_and_code() -> None:
    flows = [LedgerFlow(0, "points", "earn", "system.issued", -200),
             LedgerFlow(0, "points", "bonus", "system.issued", -5),
             LedgerFlow(1, "points", "refund_earn", "system.issued", 30),
             LedgerFlow(1, "points", "cancel_pending", "system.issued", 7),
             LedgerFlow(1, "points", "reversal", "system.issued", 5),
             LedgerFlow(1, "points", "spend", "system.redeemed", 100),
             LedgerFlow(1, "points", "capture", "system.redeemed", 20),
             LedgerFlow(2, "points", "refund_spend", "system.redeemed", -15),
             LedgerFlow(2, "points", "refund_spend", "system.expired", 3),
             LedgerFlow(2, "points", "expire", "system.expired", 40),
             LedgerFlow(2, "points", "adjust", "system.adjustments", -12),
             LedgerFlow(2, "points", "adjust", "system.adjustments", 2),
             LedgerFlow(3, "points", "donate", "system.donations", 9)]
    assert point_figures(flows) == {"earned": 205, "withdrawn": 42, "spent": 120,
                                    "restored": 15, "expired": 43, "adjusted": 10,
                                    "donated": 9}
    assert point_figures([]) == dict.fromkeys(
        ("earned", "withdrawn", "spent", "restored", "expired", "adjusted", "donated"), 0)


def test_non_member_figures_exist_only_where_tills_send_them() -> None:
    totals = [ReceiptTotal(0, True, "confirmed", 2, 1_000),
              ReceiptTotal(1, True, "cancelled", 1, 50)]
    sales = sales_view(totals, [Refund(1, True, "2.50")], non_members_recorded=False)
    assert sales["members"] == {"receipts": 2, "sales_kopecks": 1_000, "returns_kopecks": 250,
                                "net_sales_kopecks": 750, "average_check_kopecks": 500,
                                "cancelled_receipts": 1}
    assert sales["non_members"] is None and sales["members_share_percent"] is None
    assert "no store totals" in sales["non_members_reason"]
    with_others = sales_view([*totals, ReceiptTotal(0, False, "confirmed", 1, 250)], [],
                             non_members_recorded=True)
    assert with_others["non_members"]["average_check_kopecks"] == 250
    assert with_others["members_share_percent"] == "80.00"  # 1,000 / 1,250
    none_this_time = sales_view(totals, [], non_members_recorded=True)
    assert none_this_time["non_members"]["receipts"] == 0
    assert none_this_time["non_members"]["average_check_kopecks"] is None
    assert none_this_time["members_share_percent"] == "100.00"


def test_liability_per_currency_closes_at_the_end_of_the_period() -> None:
    positions = [AccountPosition("points", "member.available", now=100, after_end=10),
                 AccountPosition("points", "member.pending", now=20, after_end=0),
                 AccountPosition("points", "member.held", now=5, after_end=5),
                 AccountPosition("stars", "member.available", now=7, after_end=0)]
    # in the period: 60 points issued and 5 redeemed (any store), 7 stars issued
    flows = [LedgerFlow(0, "points", "earn", "system.issued", -60, in_scope=False),
             LedgerFlow(1, "points", "spend", "system.redeemed", 5),
             LedgerFlow(1, "stars", "earn", "system.issued", -7)]
    currencies = {"points": PointCurrency("points", "Points", unit_value_kopecks=50),
                  "stars": PointCurrency("stars", "Stars", unit_value_kopecks=0)}
    view = liability_view(positions, flows, currencies, "points")
    assert view == {"scope": "program", "value_kopecks": 5_500, "currencies": [
        {"currency": "points", "points": 110, "available": 90, "pending": 20, "held": 0,
         "opening_points": 55, "value_kopecks": 5_500, "unit_value_kopecks": 50},
        {"currency": "stars", "points": 7, "available": 7, "pending": 0, "held": 0,
         "opening_points": 0, "value_kopecks": None, "unit_value_kopecks": 0}]}
