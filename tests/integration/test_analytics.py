"""The dashboard (app.analytics) on SQLite and PostgreSQL, against figures computed by hand.

The scenario (times in Moscow, the program's +03:00; the clock is moved to each time, so a
receipt is booked when it occurs):

  02-20 10:00  A enrols at S1 (msk-001)
  02-28 23:59  r1  A  1000.00 at S1             earns 100   (February: outside March)
  03-01 00:01  r2  A  1500.00 + 500.00 at S1    earns 200
  03-02 10:00  A is given 40 points by hand that expire on 03-05 10:00 (no store)
  03-05 10:00  B enrols at S2 (msk-002)
  03-06 03:00  the expiry job burns A's 40
  03-10 01:30  r3  B  500.00 at S2              earns 50    (03-09 in UTC)
  03-12 12:00  r8  no member, 400.00 at S1
  03-14 12:00  r1 returned in full              refund 1000.00, 100 points taken back
  03-15 12:00  r4  A  1000.00, 200 points paid  pays 800.00, earns 80
  03-20 12:00  r5  B  200.00 + 100.00 at S1     earns 30; its 100.00 line returned at
               12:05 (10 back), the receipt cancelled at 12:10 (20 back): counts nowhere
  03-25 12:00  r2's 500.00 line returned        refund 500.00, 50 points taken back
  03-31 23:30  C enrols at S1
  03-31 23:59  r6  A  100.00 at S1              earns 10
  04-01 00:01  r7  B  100.00 at S2              earns 10    (April)
  04-01 00:30  D enrols at S1                               (April)
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kopilka.adapters.sql.verify import verify
from kopilka.app import jobs
from kopilka.app.analytics import NO_NON_MEMBER_RECEIPTS
from kopilka.app.analytics_period import make_period
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.bootstrap import DEFAULT_PARTNER
from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import Line
from kopilka.domain.points import parse_money
from kopilka.entrypoints.cli.demo import generate
from tests.conftest import make_library

MSK = timezone(timedelta(hours=3))
S1, S2 = "msk-001", "msk-002"
PROGRAM = """\
name: Analytics test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
burn: {id: pay, max_share_percent: "50"}
returns: {spent_earned_points: negative_balance}
"""


def dashboard(k: Kopilka, start: date, end: date, store_id: str | None = None) -> dict:
    return k.dashboard(start, end, store_id)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


class Till:
    """Moves the clock to each step's time and acts through the library."""

    def __init__(self, k: Kopilka, clock: FixedClock) -> None:
        self.k, self.clock, self.phones = k, clock, iter(range(1_000_000, 9_999_999))

    def enrol(self, when: datetime, store_id: str) -> str:
        self.clock.at = when
        phone = f"+7916{next(self.phones):07d}"
        return self.k.enrol(Enrolment(phone=phone, consents={"personal_data": True},
                                      store_id=store_id)).body["member_id"]

    def buy(self, when: datetime, receipt_id: str, member_id: str | None, *prices: str,
            store_id: str = S1, redeem: int = 0) -> dict[str, Any]:
        self.clock.at = when
        lines = tuple(Line(line_id=str(i + 1), sku=f"SKU-{i + 1}", quantity=Decimal(1),
                           unit_price=int(Decimal(p) * 100)) for i, p in enumerate(prices))
        return self.k.confirm(ReceiptInput(
            store_id=store_id, receipt_id=receipt_id, occurred_at=when, lines=lines,
            member={"member_id": member_id} if member_id else None,
            redeem_points=redeem)).body


@pytest.fixture
def scenario(kopilka: Kopilka, clock: FixedClock) -> dict[str, str]:
    till = Till(kopilka, clock)
    clock.at = at(2, 20, 9)
    kopilka.add_store(S1, DEFAULT_PARTNER, "Тверская")
    kopilka.add_store(S2, DEFAULT_PARTNER, "Европейский")
    kopilka.apply_program(parse_program(PROGRAM))
    a = till.enrol(at(2, 20, 10), S1)
    assert till.buy(at(2, 28, 23, 59), "r1", a, "1000.00")["points_earned"] == 100
    assert till.buy(at(3, 1, 0, 1), "r2", a, "1500.00", "500.00")["points_earned"] == 200
    clock.at = at(3, 2, 10)
    kopilka.earn(a, 40, expires_at=at(3, 5, 10))
    b = till.enrol(at(3, 5, 10), S2)
    clock.at = at(3, 6, 3)
    assert jobs.expire_lots(kopilka).done == 1
    till.buy(at(3, 10, 1, 30), "r3", b, "500.00", store_id=S2)
    till.buy(at(3, 12, 12), "r8", None, "400.00")
    clock.at = at(3, 14, 12)
    assert kopilka.return_receipt(S1, "r1", "ret1", [("1", Decimal(1))]).body["refund"] == \
        "1000.00"
    r4 = till.buy(at(3, 15, 12), "r4", a, "1000.00", redeem=200)
    assert (r4["total_payable"], r4["points_earned"]) == ("800.00", 80)
    till.buy(at(3, 20, 12), "r5", b, "200.00", "100.00")
    clock.at = at(3, 20, 12, 5)
    assert kopilka.return_receipt(S1, "r5", "ret1", [("2", Decimal(1))]).body["refund"] == \
        "100.00"
    clock.at = at(3, 20, 12, 10)
    kopilka.cancel_receipt(S1, "r5")
    clock.at = at(3, 25, 12)
    assert kopilka.return_receipt(S1, "r2", "ret1", [("2", Decimal(1))]).body["refund"] == \
        "500.00"
    c = till.enrol(at(3, 31, 23, 30), S1)
    till.buy(at(3, 31, 23, 59), "r6", a, "100.00")
    till.buy(at(4, 1, 0, 1), "r7", b, "100.00", store_id=S2)
    d = till.enrol(at(4, 1, 0, 30), S1)
    clock.at = at(4, 2, 12)
    with kopilka.db.engine.connect() as conn:
        assert verify(conn) == []
    return {"a": a, "b": b, "c": c, "d": d}


def test_march_figures_are_the_hand_computed_ones(kopilka: Kopilka, scenario: dict) -> None:
    d = dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 31))
    assert d["period"] == {"start": "2026-03-01", "end": "2026-03-31", "days": 31,
                           "time_zone": "+03:00", "time_zone_source": "program",
                           "from": "2026-02-28T21:00:00+00:00",
                           "to": "2026-03-31T21:00:00+00:00", "bucket": "day"}
    assert (d["store_id"], d["money_currency"]) == (None, "RUB")
    # A and B enrolled by the end (C at 23:30 too; D in April); B and C new; A and B bought
    assert d["members"] == {"enrolled": 3, "new": 2, "active": 2}
    # r2 2000 + r3 500 + r4 800 + r6 100 (r5 cancelled, r1 in February, r7 in April);
    # returns made in March: r1's 1000 (a February receipt) and r2's 500
    assert d["sales"]["members"] == {
        "receipts": 4, "sales_kopecks": 340_000, "returns_kopecks": 150_000,
        "net_sales_kopecks": 190_000, "average_check_kopecks": 85_000, "cancelled_receipts": 1}
    assert d["sales"]["non_members"] == {
        "receipts": 1, "sales_kopecks": 40_000, "returns_kopecks": 0,
        "net_sales_kopecks": 40_000, "average_check_kopecks": 40_000, "cancelled_receipts": 0}
    # 190,000 / (190,000 + 40,000) = 82.608...%
    assert (d["sales"]["members_share_percent"], d["sales"]["members_share_reason"],
            d["sales"]["non_members_reason"]) == ("82.61", None, None)
    # earned: r2 200 + 40 by hand + r3 50 + r4 80 + r5 30 + r6 10; taken back: r1's 100,
    # the cancelled r5's 30, r2's returned line 50
    assert d["points"] == {"currency": "points", "earned": 410, "withdrawn": 180, "spent": 200,
                           "restored": 0, "expired": 40, "adjusted": 0, "donated": 0,
                           "expired_reason": None}
    # A: 100 + 200 + 40 - 40 - 100 - 200 + 80 - 50 + 10 = 40; B: 50 + 30 - 30 = 50
    # (r7's 10 is booked in April)
    assert d["liability"] == {"scope": "program", "value_kopecks": 9_000, "currencies": [
        {"currency": "points", "points": 90, "available": 90, "pending": 0, "held": 0,
         "opening_points": 100, "value_kopecks": 9_000, "unit_value_kopecks": 100}]}


def test_march_series_by_day(kopilka: Kopilka, scenario: dict) -> None:
    series = dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 31))["series"]
    assert series["bucket"] == "day" and len(series["rows"]) == 31
    rows = {r["start"]: r for r in series["rows"]}
    assert all(r["start"] == r["end"] for r in series["rows"])
    busy = {day: {k: v for k, v in row.items() if v and k not in ("start", "end")}
            for day, row in rows.items()}
    assert {day: figures for day, figures in busy.items() if figures} == {
        "2026-03-01": {"sales_kopecks": 200_000, "net_sales_kopecks": 200_000, "receipts": 1,
                       "active_members": 1, "points_earned": 200},
        "2026-03-02": {"points_earned": 40},
        "2026-03-05": {"new_members": 1},
        "2026-03-06": {"points_expired": 40},
        "2026-03-10": {"sales_kopecks": 50_000, "net_sales_kopecks": 50_000, "receipts": 1,
                       "active_members": 1, "points_earned": 50},
        "2026-03-14": {"returns_kopecks": 100_000, "net_sales_kopecks": -100_000},
        "2026-03-15": {"sales_kopecks": 80_000, "net_sales_kopecks": 80_000, "receipts": 1,
                       "active_members": 1, "points_earned": 80, "points_spent": 200},
        "2026-03-20": {"points_earned": 30},
        "2026-03-25": {"returns_kopecks": 50_000, "net_sales_kopecks": -50_000},
        "2026-03-31": {"sales_kopecks": 10_000, "net_sales_kopecks": 10_000, "receipts": 1,
                       "active_members": 1, "new_members": 1, "points_earned": 10}}


def test_one_store(kopilka: Kopilka, scenario: dict) -> None:
    d = dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 31), S1)
    assert d["store_id"] == S1
    # enrolled at S1: A and C (D in April); new: C; active at S1: A (B's r5 was cancelled)
    assert d["members"] == {"enrolled": 2, "new": 1, "active": 1}
    # r2 2000 + r4 800 + r6 100; 290,000 / 3 = 96,666.67 -> 96,667
    assert d["sales"]["members"] == {
        "receipts": 3, "sales_kopecks": 290_000, "returns_kopecks": 150_000,
        "net_sales_kopecks": 140_000, "average_check_kopecks": 96_667, "cancelled_receipts": 1}
    assert d["sales"]["members_share_percent"] == "77.78"  # 140,000 / 180,000
    # booked by S1: earned r2 200, r4 80, r5 30, r6 10; back r1 100, r5 30, r2 50; spent r4 200
    assert d["points"] == {"currency": "points", "earned": 320, "withdrawn": 180, "spent": 200,
                           "restored": 0, "expired": None, "adjusted": 0, "donated": 0,
                           "expired_reason": "expiry burns members' lots, not a store's sales: "
                                             "it has no store"}
    assert d["liability"]["currencies"][0]["points"] == 90  # the program's, whatever the store
    assert {r["points_expired"] for r in d["series"]["rows"]} == {None}
    other = dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 31), S2)
    assert other["members"] == {"enrolled": 1, "new": 1, "active": 1}
    assert other["sales"]["members"]["sales_kopecks"] == 50_000
    # no receipt without a member was ever sent from S2: nothing to compare members with
    assert other["sales"]["non_members"] is None
    assert other["sales"]["members_share_percent"] is None
    assert other["sales"]["non_members_reason"] == NO_NON_MEMBER_RECEIPTS
    assert other["sales"]["members_share_reason"] == NO_NON_MEMBER_RECEIPTS


def test_period_boundaries_are_local_midnights(kopilka: Kopilka, scenario: dict) -> None:
    """r1 at 23:59 on 28 February belongs to February, r2 at 00:01 on 1 March to March, r6
    at 23:59 on 31 March to March and r7 at 00:01 on 1 April to April (Moscow time, while
    in UTC r2 and r6 fall on the day before)."""
    february = dashboard(kopilka, date(2026, 2, 1), date(2026, 2, 28))
    assert february["sales"]["members"]["sales_kopecks"] == 100_000
    assert february["series"]["rows"][-1]["receipts"] == 1
    assert february["points"]["earned"] == 100
    # the tills do send receipts without a member (r8 in March): none in February
    assert february["sales"]["non_members"] == {
        "receipts": 0, "sales_kopecks": 0, "returns_kopecks": 0, "net_sales_kopecks": 0,
        "average_check_kopecks": None, "cancelled_receipts": 0}
    assert february["sales"]["members_share_percent"] == "100.00"
    assert february["liability"]["currencies"][0]["points"] == 100
    first = dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 1))
    assert first["sales"]["members"]["sales_kopecks"] == 200_000
    last = dashboard(kopilka, date(2026, 3, 31), date(2026, 3, 31))
    assert last["sales"]["members"]["sales_kopecks"] == 10_000
    assert last["members"] == {"enrolled": 3, "new": 1, "active": 1}
    april = dashboard(kopilka, date(2026, 4, 1), date(2026, 4, 1))
    assert april["sales"]["members"]["sales_kopecks"] == 10_000
    assert april["members"] == {"enrolled": 4, "new": 1, "active": 1}


def test_liability_ending_now_is_the_sum_of_member_balances(kopilka: Kopilka,
                                                            scenario: dict) -> None:
    today = kopilka.clock.now().astimezone(MSK).date()
    d = dashboard(kopilka, today - timedelta(days=365), today)
    balances = [kopilka.balance(m) for m in scenario.values()]
    owed = sum(b["available"] + b["pending"] + b["on_hold"] for b in balances)
    assert owed == 100  # A 40, B 50 + r7's 10
    liability = d["liability"]["currencies"][0]
    assert liability["points"] == owed and liability["opening_points"] == 0
    assert d["liability"]["value_kopecks"] == owed * 100
    p = d["points"]  # the period's movements explain the whole liability
    assert liability["opening_points"] + p["earned"] - p["withdrawn"] + p["adjusted"] \
        - (p["spent"] - p["restored"]) - p["expired"] - p["donated"] == owed
    assert d["series"]["bucket"] == "week"
    rows = d["series"]["rows"]
    assert sum(r["points_earned"] for r in rows) == p["earned"] == 520
    assert sum(r["net_sales_kopecks"] for r in rows) == \
        d["sales"]["members"]["net_sales_kopecks"] == 100_000 + 340_000 + 10_000 - 150_000


@pytest.mark.parametrize(("start", "end", "code"), [
    (date(2026, 3, 2), date(2026, 3, 1), "invalid_period"),
    (date(2025, 1, 1), date(2026, 1, 2), "period_too_long"),  # 367 days
    (datetime(2026, 3, 1, tzinfo=UTC), date(2026, 3, 2), "invalid_period"),
])
def test_bad_periods_are_refused(kopilka: Kopilka, start: date, end: date, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        dashboard(kopilka, start, end)
    assert (caught.value.code, caught.value.status) == (code, 422)


def test_unknown_store_is_not_found(kopilka: Kopilka) -> None:
    with pytest.raises(DomainError) as caught:
        dashboard(kopilka, date(2026, 3, 1), date(2026, 3, 2), "nowhere")
    assert (caught.value.code, caught.value.status) == ("store_not_found", 404)


def test_without_a_program_the_calendar_is_utc(kopilka: Kopilka) -> None:
    d = dashboard(kopilka, date(2025, 1, 1), date(2025, 12, 31))  # 365 days: accepted
    assert (d["period"]["time_zone"], d["period"]["time_zone_source"]) == ("+00:00", "utc")
    assert d["period"]["from"] == "2025-01-01T00:00:00+00:00"
    assert d["members"] == {"enrolled": 0, "new": 0, "active": 0}
    assert d["liability"] == {"scope": "program", "currencies": [], "value_kopecks": 0}
    assert d["series"]["rows"][0] == {
        "start": "2025-01-01", "end": "2025-01-05", "sales_kopecks": 0, "returns_kopecks": 0,
        "net_sales_kopecks": 0, "receipts": 0, "active_members": 0, "new_members": 0,
        "points_earned": 0, "points_spent": 0, "points_expired": 0}


def test_sql_buckets_follow_summer_time(kopilka: Kopilka, clock: FixedClock) -> None:
    """Berlin moves from +01:00 to +02:00 at 01:00 UTC on 29 March 2026: a receipt at 00:30
    and one at 23:30 local that day are both on the 29th, whatever their UTC dates."""
    kopilka.apply_program(parse_program(PROGRAM))
    kopilka.add_store(S1, DEFAULT_PARTNER, "Тверская")
    berlin = ZoneInfo("Europe/Berlin")
    till = Till(kopilka, clock)
    member = till.enrol(datetime(2026, 3, 1, tzinfo=UTC), S1)
    times = [datetime(2026, 3, 28, 23, 30), datetime(2026, 3, 29, 0, 30),
             datetime(2026, 3, 29, 23, 30), datetime(2026, 3, 30, 0, 30)]
    for i, local in enumerate(times):
        till.buy(local.replace(tzinfo=berlin), f"b{i}", member, f"{i + 1}00.00")
    period = make_period(date(2026, 3, 28), date(2026, 3, 30), berlin)
    assert len(period.offsets) == 2
    with kopilka.db.read() as uow:
        totals = uow.analytics.receipt_totals(period, None)
        flows = uow.analytics.ledger_flows(period, None)
    assert sorted((t.bucket, t.paid_kopecks) for t in totals) == [
        (0, 10_000), (1, 50_000), (2, 40_000)]
    assert [period.bucket_of(t.replace(tzinfo=berlin)) for t in times] == [0, 1, 1, 2]
    assert {f.bucket for f in flows} <= {0, 1, 2}


def test_a_year_of_demo_data_ties_to_the_ledger_and_answers_fast(db_url: str) -> None:
    """On the demo's year (20 members): closing liability = the member balances, the
    movements explain it from zero, sales = the confirmed receipts' totals less refunds."""
    k = make_library(db_url)
    try:
        generate(k, members=20, seed=3, advance=lambda: None)
        today = k.clock.now().astimezone(MSK).date()
        started = time.perf_counter()
        d = dashboard(k, today - timedelta(days=365), today)
        elapsed = time.perf_counter() - started
        with k.db.engine.connect() as conn:
            q = conn.exec_driver_sql
            owed = q("SELECT sum(available + pending + held) FROM member_balances").scalar_one()
            paid, count = q("SELECT sum(total_payable), count(*) FROM receipts "
                            "WHERE status = 'confirmed'").one()
            refunds = [r for (r,) in q("SELECT ret.result FROM receipt_returns ret JOIN "
                                       "receipts r USING (store_id, receipt_id) "
                                       "WHERE r.status = 'confirmed'").all()]
    finally:
        k.db.dispose()
    refunded = sum(parse_money((json.loads(r) if isinstance(r, str) else r)["refund"])
                   for r in refunds)
    liability, p = d["liability"]["currencies"][0], d["points"]
    assert liability["points"] == owed > 0 and liability["opening_points"] == 0
    assert p["earned"] - p["withdrawn"] + p["adjusted"] - (p["spent"] - p["restored"]) \
        - p["expired"] - p["donated"] == owed
    assert p["spent"] > 0 and p["expired"] >= 0 and p["withdrawn"] > 0
    members = d["sales"]["members"]
    assert (members["receipts"], members["sales_kopecks"]) == (count, paid)
    assert members["returns_kopecks"] == refunded > 0
    assert d["members"]["enrolled"] == 20
    assert elapsed < 1.0, f"the dashboard took {elapsed:.3f} s"


def test_the_dashboard_reads_one_snapshot(kopilka: Kopilka) -> None:
    """PostgreSQL would otherwise give each query its own snapshot (READ COMMITTED)."""
    with kopilka.db.read() as uow:
        uow.analytics.snapshot()
        if uow.conn.dialect.name == "postgresql":
            level = uow.conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
            assert level == "repeatable read"
            assert uow.conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on"
        assert uow.analytics.member_accounts(datetime(2026, 1, 1, tzinfo=UTC)) == []
