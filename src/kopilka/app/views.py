"""Read models: members, balances and history as the API (and the library) return them.

Every value is JSON-ready: times RFC 3339, points integers (or decimal strings for a currency
with decimals), money decimal strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kopilka.app.ports import UnitOfWork
from kopilka.domain import consent as C
from kopilka.domain.ledger import Balance
from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Program

HISTORY_KINDS = {
    "earn": "earn", "bonus": "bonus", "activate": "earn", "cancel_pending": "refund_earn",
    "spend": "spend", "hold": "spend", "capture": "spend", "release": "spend",
    "expire": "expire", "adjust": "adjust", "reversal": "adjust",
    "refund_earn": "refund_earn", "refund_spend": "refund_spend", "donate": "donate",
}


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def balance_view(uow: UnitOfWork, member_id: str, cur: PointCurrency,
                 known: Balance | None = None) -> dict[str, Any]:
    """The balance as the API shows it; `known` saves the read when the caller has it."""
    b = known or uow.ledger.balance(member_id, cur.code)
    return {
        "available": cur.format(b.available), "pending": cur.format(b.pending),
        "on_hold": cur.format(b.held), "currency": cur.code,
        "expiring": [{"points": cur.format(points), "expires_at": iso(at)}
                     for points, at in uow.ledger.expiring(member_id, cur.code)],
    }


def consents_view(records: list[C.ConsentRecord]) -> dict[str, Any]:
    state = C.current(records)
    return {name: state.get(name, False) for name in C.CONSENT_FIELDS}


def consent_history(records: list[C.ConsentRecord]) -> list[dict[str, Any]]:
    return [{"consent": r.field, "granted": r.granted, "recorded_at": iso(r.recorded_at),
             "source": r.source, "text_version": r.text_version} for r in records]


def cards_view(uow: UnitOfWork, member_id: str) -> list[dict[str, Any]]:
    return [{"number": c["number"], "status": c["status"], "issued_at": iso(c["issued_at"]),
             "replaced_by": c["replaced_by"]} for c in uow.members.cards_of(member_id)]


def tier_view(member: dict[str, Any], program: Program | None) -> dict[str, Any] | None:
    """The member's tier with its name from the program in force (the entry tier when the
    program has tiers and the member has not moved yet)."""
    if program is None or program.tiers is None:
        code = member["tier_code"]
        return {"code": code, "name": code} if code else None
    tier = program.tiers.level(member["tier_code"])
    return {"code": tier.code, "name": tier.name}


def discount_percent(member: dict[str, Any], program: Program | None) -> str:
    """The discount the member gets on a plain receipt: the tier's, else the program's."""
    if program is None:
        return "0"
    if program.tiers is not None:
        tier = program.tiers.level(member["tier_code"])
        if tier.discount_percent is not None:
            return str(tier.discount_percent)
    if program.discount is not None:
        return str(program.discount.ladder.percent_for(0))
    return "0"


def member_view(uow: UnitOfWork, member: dict[str, Any], cur: PointCurrency,
                program: Program | None = None) -> dict[str, Any]:
    member_id = member["member_id"]
    return {
        "member_id": member_id, "phone": member["phone"], "email": member["email"],
        "first_name": member["first_name"], "last_name": member["last_name"],
        "birth_date": iso(member["birth_date"]), "gender": member["gender"],
        "city": member["city"], "attributes": member["attributes"] or {},
        "status": member["status"],
        "tier": tier_view(member, program),
        "cards": cards_view(uow, member_id),
        "balance": balance_view(uow, member_id, cur),
        "consents": consents_view(uow.members.consents_of(member_id)),
        "referral_code": member["referral_code"],
        "time_zone": member.get("time_zone"),
        "phone_verified": member["phone_verified_at"] is not None,
        "email_verified": member["email_verified_at"] is not None,
        "created_at": iso(member["created_at"]),
    }


def summary_view(uow: UnitOfWork, member: dict[str, Any], cur: PointCurrency,
                 program: Program | None = None) -> dict[str, Any]:
    return {
        "member_id": member["member_id"], "first_name": member["first_name"],
        "tier": tier_view(member, program),
        "balance": balance_view(uow, member["member_id"], cur),
        "discount_percent": discount_percent(member, program),
    }


def operation_view(row: Any, cur: PointCurrency) -> dict[str, Any]:
    return {
        "operation_id": row.transaction_id, "kind": HISTORY_KINDS.get(row.code, row.code),
        "code": row.code, "points": cur.format(row.points), "currency": row.currency,
        "created_at": iso(row.created_at), "effective_at": iso(row.effective_at),
        "receipt_id": row.receipt_id, "store_id": row.store_id, "reason": row.reason,
        "author": row.author, "hold_id": row.hold_id, "reverses_id": row.reverses_id,
    }
