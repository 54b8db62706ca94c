"""Charity (SPEC P9): donations of points to the program's funds, shares of purchases, and the
report per fund.

A donation is a ledger transaction (code `donate`, reason `fund:<id>`) that debits the member
and credits `system.donations`. Donations are final: nothing reverses them, and a cancel or a
return of a purchase that paid a share leaves the share with the fund (the points the receipt
earned are taken back as if the member had spent the share: the returns policy decides).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from kopilka.app import members as M
from kopilka.app import points as P
from kopilka.app.ports import TransactionMeta, UnitOfWork
from kopilka.app.program_charity import MEMBER_ATTRIBUTE
from kopilka.app.settlement import parse_period
from kopilka.domain import ledger as L
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import PointCurrency, format_money
from kopilka.domain.program import Fund, Program

REASON_PREFIX = "fund:"


def reason(fund_id: str) -> str:
    return f"{REASON_PREFIX}{fund_id}"


def require_fund(program: Program | None, fund_id: str) -> Fund:
    fund = None
    if program is not None and program.charity is not None:
        fund = program.charity.fund(fund_id)
    if fund is None:
        raise InvalidInput(f"the program in force has no charity fund {fund_id!r}",
                           code="unknown_fund")
    return fund


def donate(uow: UnitOfWork, program: Program | None, member_id: str, fund_id: str,
           points: int, *, now: datetime,
           meta: TransactionMeta) -> tuple[P.Posted, Fund, PointCurrency]:
    """A member gives `points` (minor units of the fund's currency) to a fund."""
    M.require_member(uow, member_id)
    fund = require_fund(program, fund_id)
    L.check_amount(points)
    assert program is not None  # a fund was found in it
    cur = program.currency(fund.currency)
    if points < fund.min_donation:
        raise InvalidInput(f"the smallest donation to {fund_id} is "
                           f"{cur.format(fund.min_donation)}", code="donation_below_minimum")
    posted = P.donate(uow, member_id, cur, points, now=now,
                      meta=replace(meta, reason=reason(fund_id)))
    return posted, fund, cur


def on_purchase(uow: UnitOfWork, program: Program, member_id: str, effects: dict[str, Any],
                *, now: datetime, meta: TransactionMeta) -> None:
    """Inside a confirm, right after its accruals: the share of the earned points that goes to
    the fund the member chose (attribute `charity_fund`), if that fund takes one.

    Taken from the purchase's own lots first (pending ones too: the share leaves with the
    accrual), then from available points; never more than there is above the policy floor.
    Recorded in the receipt's `effects["donations"]`.
    """
    charity = program.charity
    if charity is None or not any(f.share_of_purchase_percent for f in charity.funds):
        return
    member = uow.members.get(member_id) or {}
    chosen = (member.get("attributes") or {}).get(MEMBER_ATTRIBUTE)
    fund = charity.fund(chosen) if isinstance(chosen, str) else None
    if fund is None or fund.share_of_purchase_percent is None:
        return
    accruals = [a for a in effects["accruals"] if a["currency"] == fund.currency]
    share = fund.share_of(sum(a["points"] for a in accruals))
    if share <= 0:
        return
    cur = program.currency(fund.currency)
    state = P.lock_state(uow, member_id, cur, now)  # re-read: the accruals moved it
    lots = uow.ledger.lots(member_id, [a["lot_id"] for a in accruals])
    pending = tuple(lot for lot in lots.values() if lot.state is L.LotState.PENDING)
    share = min(share, sum(lot.pending for lot in pending) + max(L.spendable(state, now), 0))
    if share <= 0:
        return
    posted = P.donate(uow, member_id, cur, share, now=now, locked=state, pending_lots=pending,
                      preferred_lot_ids=tuple(lots),
                      meta=replace(meta, reason=reason(fund.fund_id)))
    effects["donations"] = [{"operation_id": posted.transaction_id, "fund_id": fund.fund_id,
                             "currency": cur.code, "points": share}]


def fund_report(uow: UnitOfWork, program: Program | None, start: str | datetime,
                end: str | datetime) -> dict[str, Any]:
    """Per fund and currency: donations, donors, points and their money value, booked in
    [start, end) (by the transaction's created_at). Sums exactly to the period's
    `system.donations` entries; funds of `program` without donations are listed with zeros.
    Money is the points at their currency's unit value in `program` (floored to the kopeck
    for a scaled currency)."""
    start, end = parse_period(start, end)  # RFC 3339 with an offset, from < to
    currencies = {c.code: c for c in uow.members.currencies()}  # the program's value first
    if program is not None:
        currencies.update({c.code: c for c in program.currencies})
    funds = {f.fund_id: f for f in program.charity.funds} \
        if program is not None and program.charity is not None else {}
    items: list[dict[str, Any]] = []
    total_kopecks = total_donations = 0
    for why, code, count, donors, points in uow.charity.by_fund(start, end):
        fund_id = why[len(REASON_PREFIX):] if why and why.startswith(REASON_PREFIX) else why
        cur = currencies[code]
        kopecks = cur.money_value_kopecks(points)
        total_kopecks += kopecks
        total_donations += count
        fund = funds.get(fund_id or "")
        items.append({"fund_id": fund_id, "name": fund.name if fund else None,
                      "currency": code, "donations": count, "donors": donors,
                      "points": cur.format(points), "value": format_money(kopecks)})
    listed = {item["fund_id"] for item in items}
    items += [{"fund_id": f.fund_id, "name": f.name, "currency": f.currency, "donations": 0,
               "donors": 0, "points": 0, "value": format_money(0)}
              for f in funds.values() if f.fund_id not in listed]
    return {"from": start.isoformat(), "to": end.isoformat(), "funds": items,
            "total": {"donations": total_donations, "donors": uow.charity.donors(start, end),
                      "value": format_money(total_kopecks)}}
