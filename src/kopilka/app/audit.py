"""The audit log (O5): every change a person makes — who, what, when, before and after.

A change made by a person (a staff member in the console, a member on their own page) carries
a `Person` on its caller. `Kopilka.mutate` then writes the audit row in the same transaction
as the change itself, so there is never a change without its record, nor a record of a change
that was rolled back. `before` is read inside that transaction, before the change.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from kopilka.app import members as M
from kopilka.app import programs, staff, views
from kopilka.app.ports import UnitOfWork, new_id
from kopilka.domain.errors import InvalidInput

MAX_AUDIT_PAGE = 500
EXPORT_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Person:
    """Who did it: a staff member (with their role) or a member on their own page."""

    kind: str  # staff, member
    id: str
    name: str
    role: str | None = None
    address: str | None = None  # the client's IP address as the web layer saw it


def _member_profile(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    member = M.require_member(uow, request[0])
    # str(): the row's keys are SQLAlchemy's quoted_name, which orjson refuses as keys
    return {str(k): views.iso(v) if hasattr(v, "isoformat") else v for k, v in member.items()
            if k in M.PROFILE_FIELDS or k == "status"}


def _cards(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    return views.cards_view(uow, request[0])


def _balances(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    balances = {cur.code: uow.ledger.balance(request[0], cur.code)
                for cur in uow.members.currencies()}
    return {code: {"available": b.available, "pending": b.pending, "on_hold": b.held}
            for code, b in balances.items()}


def _program(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    version = uow.programs.version_in_force(now)
    return None if version is None else programs.document_of(uow, version)


def _promotion(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    row = uow.promotions.get(request["promotion_id"])
    return None if row is None else {"status": row["status"], "document": row["document"]}


def _receipt(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    row = uow.receipts.get(request[0], request[1])
    return None if row is None else {"status": row["status"]}


def _staff_account(uow: UnitOfWork, request: Any, now: datetime) -> Any:
    row = uow.staff.by_id(request["staff_id"])
    return None if row is None else staff.view(row)


# operation -> reader of the state it changes, called inside the transaction before the change
BEFORE: dict[str, Callable[[UnitOfWork, Any, datetime], Any]] = {
    "update_member": _member_profile,
    "erase": _member_profile,
    "issue_card": _cards,
    "block_card": _cards,
    "replace_lost_card": _cards,
    "adjust": _balances,
    "reverse": _balances,
    "apply_program": _program,
    "update_promotion": _promotion,
    "cancel_receipt": _receipt,
    "return": _receipt,
    "staff_update": _staff_account,
}

# operation -> (object type, how to find its id in the request or the result)
_RECEIPT_OPS = {"cancel_receipt", "return", "confirm", "calculate_hold"}


def subject_of(operation: str, request: Any, body: Any) -> tuple[str, str | None]:
    """What a change was about: ("member", id), ("promotion", id), ("receipt", store/id)..."""
    body = body if isinstance(body, dict) else {}
    if operation in _RECEIPT_OPS:
        if isinstance(request, list | tuple) and len(request) >= 2:
            return "receipt", f"{request[0]}/{request[1]}"
        return "receipt", body.get("receipt_id")
    if operation == "apply_program":
        return "program", str(body.get("version")) if body.get("version") else None
    if isinstance(request, dict):
        for key, kind in (("promotion_id", "promotion"), ("staff_id", "staff"),
                          ("partner_id", "partner"), ("store_id", "store")):
            if request.get(key):
                return kind, str(request[key])
    if operation == "create_promotion":
        return "promotion", body.get("id")
    if operation.startswith("staff"):
        return "staff", body.get("staff_id")
    if isinstance(request, list | tuple) and request and isinstance(request[0], str):
        return "member", request[0]
    return "member" if body.get("member_id") else operation, body.get("member_id")


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def before_of(uow: UnitOfWork, operation: str, request: Any, now: datetime) -> Any:
    reader = BEFORE.get(operation)
    return None if reader is None else _jsonable(reader(uow, request, now))


def _secrets_removed(operation: str, body: Any) -> Any:
    """The audit log is read by auditors: single-use codes (secrets handed to customers) are
    summarised, never copied into it. The batch can be exported from the promotion itself."""
    if operation == "generate_codes" and isinstance(body, dict) and "codes" in body:
        return {**{k: v for k, v in body.items() if k != "codes"}, "codes": "(not logged)"}
    return body


def record(uow: UnitOfWork, person: Person, operation: str, request: Any, *, before: Any,
           after: Any, now: datetime) -> None:
    after = _secrets_removed(operation, after)
    object_type, object_id = subject_of(operation, request, after)
    uow.audit.add({
        "audit_id": new_id(), "at": now, "actor_kind": person.kind, "actor_id": person.id,
        "actor_name": person.name, "actor_role": person.role, "action": operation,
        "object_type": object_type, "object_id": object_id, "before": before,
        "after": _jsonable({"request": request, "result": after}),
        "address": person.address,
    })


# --- reading it back ------------------------------------------------------------------------

def entry_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"audit_id": row["audit_id"], "at": row["at"].isoformat(),
            "actor": {"kind": row["actor_kind"], "id": row["actor_id"],
                      "name": row["actor_name"], "role": row["actor_role"]},
            "action": row["action"], "object_type": row["object_type"],
            "object_id": row["object_id"], "before": row["before"], "after": row["after"],
            "address": row["address"]}


def _cursor(value: str | None) -> tuple[datetime, str] | None:
    if not value:
        return None
    at, _, audit_id = value.partition("~")
    try:
        return datetime.fromisoformat(at), audit_id
    except ValueError:
        raise InvalidInput("bad audit cursor", code="invalid_cursor") from None


def page(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None,
         **filters: Any) -> dict[str, Any]:
    if not 0 < limit <= MAX_AUDIT_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_AUDIT_PAGE}", code="invalid_limit")
    rows = uow.audit.page(limit=limit + 1, before=_cursor(cursor), **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    return {"items": [entry_view(r) for r in rows],
            "next_cursor": f"{last['at'].isoformat()}~{last['audit_id']}" if last else None}


CSV_COLUMNS = ["at", "actor_kind", "actor_id", "actor_name", "actor_role", "action",
               "object_type", "object_id", "before", "after", "address"]


def export_csv(uow: UnitOfWork, **filters: Any) -> str:
    """The whole (filtered) log as CSV, oldest last like the pages; JSON in before/after."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in uow.audit.page(limit=EXPORT_LIMIT, **filters):
        writer.writerow([row["at"].isoformat() if c == "at" else
                         orjson.dumps(row[c]).decode() if c in ("before", "after") else row[c]
                         for c in CSV_COLUMNS])
    return out.getvalue()
