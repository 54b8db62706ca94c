"""The dashboard of the admin console (SPEC A1, U2): members, sales, points and liability over
a period of local dates, with a day (or week) series for charts. Read-only.

What is counted, exactly:

- Calendar: local dates of the time zone of the program in force now (that of its
  `effective_from`), UTC when there is no program. A sale is dated by the receipt's
  `occurred_at`, a return by its own `occurred_at`, an enrolment by `members.created_at`, and a
  ledger movement by its booking time (`ledger_transactions.created_at`, as in a settlement:
  a closed period of the ledger never changes).
- Members: `enrolled` = members created before the period ends (whatever their status now);
  `new` = created in the period; `active` = distinct members with a receipt in the period
  that is confirmed (not cancelled; a returned receipt still counts). With a store: enrolled
  and new at that store (`enrolled_store_id`), active there.
- Sales (kopecks): `sales` = the sum of `total_payable` (money paid, after discounts and
  points) of the confirmed receipts of the period; `returns` = the money refunded by the
  returns made in the period (`refund`, after any deduction) on receipts still confirmed, the
  receipt's date notwithstanding; `net_sales` = sales - returns. A cancelled receipt counts
  nowhere (nor do its returns). `average_check` = sales / receipts, rounded half up. Members'
  and non-members' receipts are told apart by `receipts.member_id`; non-member figures (and
  the members' share) exist only when the tills send receipts without a member (one such
  receipt ever, at the store if one is chosen): kopilka records no store totals. The members'
  share = members' net sales / (members' + non-members' net sales), in percent.
- Points (the program's main currency), from the ledger's system accounts: `earned` = points
  credited by accruals (codes earn and bonus: purchases, rewards, badges, draws);
  `withdrawn` = earned points taken back (returns, cancels, reversals); `spent` = points
  redeemed (spend, capture); `restored` = redeemed points given back by returns and cancels;
  `expired` = everything burnt into `system.expired`; `adjusted` = manual adjustments (net);
  `donated` = points given to charity funds. With a store: the transactions booked by that
  store; expiry belongs to no store (None).
- Liability per currency at the end of the period: the member accounts (available, net of
  any debt, + pending + held) = the member balances now less what was booked since the end;
  its money value at the currency's value per point (floored). It is the program's, never a
  store's. `opening` is the same at the start, and
  opening + earned - withdrawn + adjusted - (spent - restored) - expired - donated = closing.
- Series: one row per day, per ISO week (Monday first, clipped to the period) beyond 92 days;
  its columns sum to the period's figures, active members aside (distinct per bucket).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from kopilka.app import programs
from kopilka.app.analytics_period import Period, make_period, zone_name
from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import NotFound
from kopilka.domain.ledger import Account, Code
from kopilka.domain.points import PointCurrency, Rounding, parse_money, round_to_int
from kopilka.domain.program import Program

NO_NON_MEMBER_RECEIPTS = (
    "no receipt without a member was ever confirmed (at this store): the tills send member "
    "receipts only and kopilka records no store totals, so non-member sales are unknown")
EXPIRY_HAS_NO_STORE = "expiry burns members' lots, not a store's sales: it has no store"
EARN_CODES = frozenset({Code.EARN.value, Code.BONUS.value})
SPEND_CODES = frozenset({Code.SPEND.value, Code.CAPTURE.value})


# --- what the SQL adapter returns ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReceiptTotal:
    bucket: int
    member: bool  # the receipt names a member
    status: str  # confirmed, cancelled
    count: int
    paid_kopecks: int


@dataclass(frozen=True, slots=True)
class Refund:
    bucket: int
    member: bool
    refund: str  # the return's refunded money, as its result records it ("12.50")


@dataclass(frozen=True, slots=True)
class LedgerFlow:
    bucket: int
    currency: str
    code: str
    account: str  # a system account
    amount: int  # the sum of its entries
    in_scope: bool = True  # booked by the chosen store (always, without a store)


@dataclass(frozen=True, slots=True)
class AccountPosition:
    currency: str
    account: str  # a member account
    now: int  # the sum of the member balances
    after_end: int  # booked at or after the end of the period


@dataclass(frozen=True, slots=True)
class MemberCounts:
    enrolled: int
    new_by_bucket: dict[int, int]


@dataclass(frozen=True, slots=True)
class ActiveMembers:
    total: int
    by_bucket: dict[int, int]


class AnalyticsReader(Protocol):
    """The read-only aggregates the dashboard needs (adapters.sql.analytics_repo)."""

    def snapshot(self) -> None:
        """Read everything that follows from one snapshot (first call of the transaction)."""

    def member_counts(self, period: Period, store_id: str | None) -> MemberCounts: ...

    def active_members(self, period: Period, store_id: str | None) -> ActiveMembers: ...

    def receipt_totals(self, period: Period, store_id: str | None) -> list[ReceiptTotal]: ...

    def records_non_member_receipts(self, store_id: str | None) -> bool: ...

    def refunds(self, period: Period, store_id: str | None) -> list[Refund]: ...

    def ledger_flows(self, period: Period, store_id: str | None) -> list[LedgerFlow]: ...

    def member_accounts(self, end_at: datetime) -> list[AccountPosition]: ...


# --- the use case ---------------------------------------------------------------------------

def dashboard(uow: UnitOfWork, start: date, end: date, *, store_id: str | None, now: datetime,
              default_currency: str) -> dict[str, Any]:
    """The dashboard of [start, end] (local dates), optionally of one store; every figure
    from one snapshot of the database, so they tie to each other exactly."""
    reader: AnalyticsReader = uow.analytics
    reader.snapshot()
    program = programs.in_force_or_none(uow, now)
    period = make_period(start, end, (program.effective_from.tzinfo or UTC) if program else UTC)
    if store_id is not None and uow.members.store(store_id) is None:
        raise NotFound(f"store {store_id} not found", code="store_not_found")
    currency = program.main_currency if program else default_currency
    members = reader.member_counts(period, store_id)
    active = reader.active_members(period, store_id)
    totals = reader.receipt_totals(period, store_id)
    refunds = reader.refunds(period, store_id)
    flows = reader.ledger_flows(period, store_id)  # every currency, every store
    positions = reader.member_accounts(period.end_at)
    points = [f for f in flows if f.currency == currency and f.in_scope]
    sales = sales_view(totals, refunds, reader.records_non_member_receipts(store_id))
    return {
        "period": period_view(period, program is not None),
        "store_id": store_id,
        "money_currency": program.money_currency if program else "RUB",
        "members": {"enrolled": members.enrolled,
                    "new": sum(members.new_by_bucket.values()), "active": active.total},
        "sales": sales,
        "points": points_view(points, currency, store_id),
        "liability": liability_view(positions, flows, _currencies(uow, program), currency),
        "series": series_view(period, members, active, totals, refunds, points, store_id),
    }


def period_view(period: Period, has_program: bool) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "days": period.days, "time_zone": zone_name(period.zone),
            "time_zone_source": "program" if has_program else "utc",
            "from": period.start_at.isoformat(), "to": period.end_at.isoformat(),
            "bucket": period.bucket}


def _currencies(uow: UnitOfWork, program: Program | None) -> dict[str, PointCurrency]:
    """Every currency's definition, the program's own first (its value per point)."""
    found = {c.code: c for c in uow.members.currencies()}
    if program is not None:
        found.update({c.code: c for c in program.currencies})
    return found


# --- sales ----------------------------------------------------------------------------------

def average(total: int, count: int) -> int | None:
    """total / count in whole kopecks, half up; None for no receipts."""
    if count == 0:
        return None
    return round_to_int(Decimal(total) / count, Rounding.HALF_UP)


def share_percent(part: int, whole: int) -> str | None:
    if whole <= 0:
        return None
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _sales_of(totals: Iterable[ReceiptTotal], refunds: Iterable[Refund],
              member: bool) -> dict[str, Any]:
    confirmed = [t for t in totals if t.member is member and t.status == "confirmed"]
    receipts = sum(t.count for t in confirmed)
    paid = sum(t.paid_kopecks for t in confirmed)
    returned = sum(parse_money(r.refund) for r in refunds if r.member is member)
    return {"receipts": receipts, "sales_kopecks": paid, "returns_kopecks": returned,
            "net_sales_kopecks": paid - returned, "average_check_kopecks": average(paid, receipts),
            "cancelled_receipts": sum(t.count for t in totals
                                      if t.member is member and t.status == "cancelled")}


def sales_view(totals: list[ReceiptTotal], refunds: list[Refund],
               non_members_recorded: bool) -> dict[str, Any]:
    """Members' sales; non-members' and the members' share only where tills send receipts
    without a member (a period without one then shows zero non-member sales)."""
    members = _sales_of(totals, refunds, True)
    others = _sales_of(totals, refunds, False)
    if not non_members_recorded:
        return {"members": members, "non_members": None, "non_members_reason":
                NO_NON_MEMBER_RECEIPTS, "members_share_percent": None,
                "members_share_reason": NO_NON_MEMBER_RECEIPTS}
    whole = members["net_sales_kopecks"] + others["net_sales_kopecks"]
    share = share_percent(members["net_sales_kopecks"], whole)
    return {"members": members, "non_members": others, "non_members_reason": None,
            "members_share_percent": share,
            "members_share_reason": None if share is not None else "no net sales in the period"}


# --- points and liability -------------------------------------------------------------------

def point_figures(flows: Iterable[LedgerFlow]) -> dict[str, int]:
    """The period's movements of the system accounts, as the dashboard names them."""
    f = defaultdict(int)
    for flow in flows:
        if flow.account == Account.ISSUED.value:
            if flow.code in EARN_CODES:
                f["earned"] -= flow.amount  # an accrual credits the member from system.issued
            else:
                f["withdrawn"] += flow.amount
        elif flow.account == Account.REDEEMED.value:
            if flow.code in SPEND_CODES:
                f["spent"] += flow.amount
            else:
                f["restored"] -= flow.amount
        elif flow.account == Account.EXPIRED.value:
            f["expired"] += flow.amount
        elif flow.account == Account.ADJUSTMENTS.value:
            f["adjusted"] -= flow.amount
        elif flow.account == Account.DONATIONS.value:
            f["donated"] += flow.amount
    names = ("earned", "withdrawn", "spent", "restored", "expired", "adjusted", "donated")
    return {name: f[name] for name in names}


def points_view(flows: list[LedgerFlow], currency: str, store_id: str | None) -> dict[str, Any]:
    figures: dict[str, Any] = point_figures(flows)
    if store_id is not None:
        figures["expired"] = None
    return {"currency": currency, **figures,
            "expired_reason": EXPIRY_HAS_NO_STORE if store_id is not None else None}


def liability_view(positions: list[AccountPosition], flows: list[LedgerFlow],
                   currencies: dict[str, PointCurrency], main: str) -> dict[str, Any]:
    """Per currency (the main one first) the points owed at the end of the period and their
    money value; the total value over currencies that have one. The opening is the closing
    less the period's member movements, which are minus its system ones (every transaction
    sums to zero), all stores counted."""
    closing: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in positions:
        closing[p.currency][p.account.removeprefix("member.")] += p.now - p.after_end
    system_moved: dict[str, int] = defaultdict(int)
    for flow in flows:
        system_moved[flow.currency] += flow.amount
    items = []
    for code in sorted(closing.keys() | system_moved.keys(), key=lambda c: (c != main, c)):
        sums = closing[code]
        points = sums["available"] + sums["pending"] + sums["held"]
        cur = currencies.get(code)
        value = cur.money_value_kopecks(points) if cur and cur.unit_value_kopecks else None
        items.append({"currency": code, "points": points, "available": sums["available"],
                      "pending": sums["pending"], "held": sums["held"],
                      "opening_points": points + system_moved[code], "value_kopecks": value,
                      "unit_value_kopecks": cur.unit_value_kopecks if cur else None})
    total = sum(i["value_kopecks"] for i in items if i["value_kopecks"] is not None)
    return {"scope": "program", "currencies": items, "value_kopecks": total}


# --- the chart series -----------------------------------------------------------------------

def series_view(period: Period, members: MemberCounts, active: ActiveMembers,
                totals: list[ReceiptTotal], refunds: list[Refund], flows: list[LedgerFlow],
                store_id: str | None) -> dict[str, Any]:
    """One row per bucket; each column sums (active members aside) to the period's figure."""
    paid, receipts, returned = defaultdict(int), defaultdict(int), defaultdict(int)
    for t in totals:
        if t.member and t.status == "confirmed":
            paid[t.bucket] += t.paid_kopecks
            receipts[t.bucket] += t.count
    for r in refunds:
        if r.member:
            returned[r.bucket] += parse_money(r.refund)
    flows_by_bucket: dict[int, list[LedgerFlow]] = defaultdict(list)
    for flow in flows:
        flows_by_bucket[flow.bucket].append(flow)
    rows = []
    for bucket in period.buckets():
        points = point_figures(flows_by_bucket[bucket.index])
        rows.append({
            "start": bucket.first.isoformat(), "end": bucket.last.isoformat(),
            "sales_kopecks": paid[bucket.index], "returns_kopecks": returned[bucket.index],
            "net_sales_kopecks": paid[bucket.index] - returned[bucket.index],
            "receipts": receipts[bucket.index],
            "active_members": active.by_bucket.get(bucket.index, 0),
            "new_members": members.new_by_bucket.get(bucket.index, 0),
            "points_earned": points["earned"], "points_spent": points["spent"],
            "points_expired": points["expired"] if store_id is None else None})
    return {"bucket": period.bucket, "rows": rows}
