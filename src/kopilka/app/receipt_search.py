"""Finding receipts for the back office: by store, receipt id, member, status and time,
newest first, in keyset pages (a page never costs more than its size, however deep).

The member may be given as their id, a phone number in any format or a card number (a
blocked card still finds its receipts: the back office looks at history, not at a till).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kopilka.app.identity import normalise_phone
from kopilka.app.ports import UnitOfWork
from kopilka.domain.cards import is_valid_card_number
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import format_money

MAX_RECEIPT_PAGE = 100
STATUSES = ("confirmed", "cancelled")
MEMBER_ID_LENGTH = 32
TEXT_MAX = 64  # store and receipt ids are at most 64 characters


@dataclass(frozen=True, slots=True)
class ReceiptQuery:
    """What to look for; None (or empty) means "any"."""

    store_id: str | None = None
    receipt_id: str | None = None  # a prefix of the receipt id
    member: str | None = None      # member id, phone or card number
    status: str | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before


def _text(value: str | None, name: str) -> str | None:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise InvalidInput(f"{name} has at most {TEXT_MAX} characters",
                           code=f"invalid_{name}")
    return value or None


def member_id_of(uow: UnitOfWork, reference: str) -> str | None:
    """A member id, card number or phone number to the member's id (None: nobody)."""
    text = reference.strip()
    if len(text) == MEMBER_ID_LENGTH and all(ch in "0123456789abcdef" for ch in text.lower()):
        return text.lower() if uow.members.brief(text.lower()) else None
    if is_valid_card_number(text):
        found = uow.members.id_by_card(text)
        return found[0] if found else None
    try:
        phone = normalise_phone(text)
    except InvalidInput:
        raise InvalidInput("give a member id, a phone number or a card number",
                           code="invalid_member_reference") from None
    return uow.members.id_by_phone(phone)


def _cursor(value: str | None) -> tuple[datetime, str, str] | None:
    if not value:
        return None
    parts = value.split("~")
    try:
        if len(parts) != 3:
            raise ValueError(value)
        return datetime.fromisoformat(parts[0]), parts[1], parts[2]
    except ValueError:
        raise InvalidInput("bad receipt cursor", code="invalid_cursor") from None


def _cursor_of(row: dict[str, Any]) -> str:
    return f"{row['occurred_at'].isoformat()}~{row['store_id']}~{row['receipt_id']}"


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {"store_id": row["store_id"], "receipt_id": row["receipt_id"],
            "member_id": row["member_id"], "partner_id": row["partner_id"],
            "status": row["status"], "occurred_at": row["occurred_at"].isoformat(),
            "total_payable": format_money(row["total_payable"]),
            "returns": int(row["returns"])}


def search(uow: UnitOfWork, query: ReceiptQuery, *, limit: int = 50,
           cursor: str | None = None) -> dict[str, Any]:
    """One page of matching receipts and the cursor of the next (None on the last page).
    `member_found` is False when the member reference matches nobody."""
    if not 0 < limit <= MAX_RECEIPT_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_RECEIPT_PAGE}", code="invalid_limit")
    if query.status is not None and query.status not in STATUSES:
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
    if query.since and query.until and query.since >= query.until:
        raise InvalidInput("the period ends before it starts", code="invalid_period")
    member_id = None
    member_text = _text(query.member, "member")
    if member_text is not None:
        member_id = member_id_of(uow, member_text)
        if member_id is None:
            return {"items": [], "next_cursor": None, "member_found": False}
    rows = uow.receipts.search(
        limit=limit + 1, before=_cursor(cursor), store_id=_text(query.store_id, "store_id"),
        receipt_id_prefix=_text(query.receipt_id, "receipt_id"), member_id=member_id,
        status=query.status, since=query.since, until=query.until)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_item(r) for r in rows],
            "next_cursor": _cursor_of(rows[-1]) if more else None,
            "member_found": True if member_id else None}
