"""The promotion catalogue: create, read, change, pause; promo codes and their export.

A promotion is stored as its validated document (`app.promotion_document`) with a status
(`active` or `paused`) and the partner that runs it. Its counters row (what it has given) is
created with it; the till locks that row to stay within the budget (`app.promotion_till`).
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime
from typing import Any

from kopilka.app.ports import UnitOfWork, new_id
from kopilka.app.promotion_document import parse_promotion, promotion_to_document
from kopilka.domain.errors import Conflict, InvalidInput, NotFound
from kopilka.domain.points import format_money

STATUSES = ("active", "paused")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till
CODE_LENGTH = 10  # 32**10 ~ 1e15: guessing a live code of a 100,000 batch is ~1e-10
MAX_BATCH = 100_000
MAX_PREFIX = 16
MAX_CODE = 64


def normalise_code(code: str) -> str:
    return code.strip().upper()


def parse_and_render(document: Any) -> dict[str, Any]:
    """A document as it is stored (validated, normalised)."""
    return promotion_to_document(parse_promotion(document))


def create(uow: UnitOfWork, document: Any, *, status: str, partner_id: str | None,
           now: datetime, author: str) -> dict[str, Any]:
    promotion = parse_promotion(document)
    _check_status(status)
    if not uow.promotions.add(promotion_id=promotion.promotion_id, partner_id=partner_id,
                              status=status, document=promotion_to_document(promotion),
                              now=now, author=author):
        raise Conflict(f"promotion {promotion.promotion_id} exists", code="promotion_exists")
    return view(uow, promotion.promotion_id)


def update(uow: UnitOfWork, promotion_id: str, patch: dict[str, Any], *,
           partner_id: str | None, now: datetime, author: str) -> dict[str, Any]:
    """Change fields of the document (top-level keys replace theirs) and/or the status."""
    row = _own(uow, promotion_id, partner_id, lock=True)
    patch = dict(patch)
    values: dict[str, Any] = {}
    if "status" in patch:
        values["status"] = _check_status(patch.pop("status"))
    if "id" in patch and patch["id"] != promotion_id:
        raise InvalidInput("a promotion's id cannot change", code="validation_error",
                           errors=[{"loc": ["body", "id"], "msg": "cannot change"}])
    if patch:
        values["document"] = promotion_to_document(parse_promotion({**row["document"],
                                                                    **patch}))
    if values:
        uow.promotions.update(promotion_id, now=now, author=author, **values)
    return view(uow, promotion_id)


def view(uow: UnitOfWork, promotion_id: str, partner_id: str | None = None) -> dict[str, Any]:
    row = _own(uow, promotion_id, partner_id)
    kopecks, points, count = uow.promotions.counters([promotion_id], lock=False).get(
        promotion_id, (0, 0, 0))
    return {**row["document"], "status": row["status"], "partner_id": row["partner_id"],
            "used": {"amount": format_money(kopecks), "points": points, "count": count},
            "codes": uow.promotions.code_counts(promotion_id),
            "audience": uow.promotions.audience(promotion_id),
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(), "updated_by": row["updated_by"]}


def page(uow: UnitOfWork, *, status: str | None, limit: int,
         cursor: str | None) -> dict[str, Any]:
    if status is not None:
        _check_status(status)
    rows = uow.promotions.page(status=status, limit=limit + 1, after=cursor)
    items = [{**r["document"], "status": r["status"], "partner_id": r["partner_id"],
              "updated_at": r["updated_at"].isoformat()} for r in rows[:limit]]
    return {"items": items,
            "next_cursor": rows[limit - 1]["promotion_id"] if len(rows) > limit else None}


def _own(uow: UnitOfWork, promotion_id: str, partner_id: str | None,
         lock: bool = False) -> dict[str, Any]:
    """The promotion, if the caller's partner may see it (its own, or one run by nobody in
    particular); another partner's promotion is not found rather than forbidden."""
    row = uow.promotions.get(promotion_id, lock=lock)
    if row is None or (partner_id is not None and row["partner_id"] not in (None, partner_id)):
        raise NotFound(f"promotion {promotion_id} not found", code="promotion_not_found")
    return row


def _check_status(status: object) -> str:
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}",
                           code="validation_error",
                           errors=[{"loc": ["body", "status"], "msg": "active or paused"}])
    return str(status)


# --- promo codes -----------------------------------------------------------------------------

def generate_codes(uow: UnitOfWork, promotion_id: str, *, count: int, prefix: str,
                   partner_id: str | None, now: datetime) -> dict[str, Any]:
    """A batch of unique single-use codes: `prefix` + random characters."""
    _own(uow, promotion_id, partner_id)
    prefix = normalise_code(prefix)
    if not 1 <= count <= MAX_BATCH:
        raise InvalidInput(f"count must be 1..{MAX_BATCH}", code="validation_error",
                           errors=[{"loc": ["body", "count"], "msg": f"1..{MAX_BATCH}"}])
    if len(prefix) > MAX_PREFIX or not all(ch.isalnum() or ch == "-" for ch in prefix):
        raise InvalidInput(f"prefix: up to {MAX_PREFIX} letters, digits or '-'",
                           code="validation_error",
                           errors=[{"loc": ["body", "prefix"], "msg": "letters, digits, '-'"}])
    batch_id = new_id()
    made: list[str] = []
    while len(made) < count:
        wanted = count - len(made)
        codes = {prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                 for _ in range(wanted)}
        rows = [{"code": c, "promotion_id": promotion_id, "kind": "unique",
                 "batch_id": batch_id, "max_uses": 1, "max_uses_per_member": 1,
                 "uses": 0, "created_at": now} for c in sorted(codes)]
        uow.promotions.add_codes(rows)  # a clash with an existing code is skipped, redrawn
        made = [r["code"] for r in uow.promotions.codes_of(promotion_id, batch_id)]
    return {"promotion_id": promotion_id, "batch_id": batch_id, "count": len(made),
            "codes": made}


def add_shared_code(uow: UnitOfWork, promotion_id: str, *, code: str, max_uses: int | None,
                    max_uses_per_member: int | None, partner_id: str | None,
                    now: datetime) -> dict[str, Any]:
    """One code anybody may present (e.g. AUTUMN10), with optional limits."""
    _own(uow, promotion_id, partner_id)
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput(f"code: 1..{MAX_CODE} letters, digits, '-' or '_'",
                           code="validation_error",
                           errors=[{"loc": ["body", "code"], "msg": "letters, digits, '-', '_'"}])
    for name, value in (("max_uses", max_uses), ("max_uses_per_member", max_uses_per_member)):
        if value is not None and value < 1:
            raise InvalidInput(f"{name} must be at least 1", code="validation_error",
                               errors=[{"loc": ["body", name], "msg": "at least 1"}])
    inserted = uow.promotions.add_codes([{
        "code": code, "promotion_id": promotion_id, "kind": "shared", "batch_id": None,
        "max_uses": max_uses, "max_uses_per_member": max_uses_per_member, "uses": 0,
        "created_at": now}])
    if not inserted:
        raise Conflict(f"code {code} exists", code="promo_code_exists")
    return {"promotion_id": promotion_id, "code": code, "max_uses": max_uses,
            "max_uses_per_member": max_uses_per_member}


def codes_csv(uow: UnitOfWork, promotion_id: str, *, batch_id: str | None,
              partner_id: str | None) -> str:
    _own(uow, promotion_id, partner_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "promotion_id", "kind", "batch_id", "max_uses", "uses",
                     "created_at"])
    for row in uow.promotions.codes_of(promotion_id, batch_id):
        writer.writerow([row["code"], row["promotion_id"], row["kind"], row["batch_id"] or "",
                         "" if row["max_uses"] is None else row["max_uses"], row["uses"],
                         row["created_at"].isoformat()])
    return out.getvalue()


def check_code(uow: UnitOfWork, code: str, *, member_id: str | None,
               at: datetime) -> dict[str, Any]:
    """Whether a code can be used at `at` (by the member): the code's and the promotion's own
    limits, before any cart (the cart check is a calculation with the code)."""
    code = normalise_code(code)
    row = uow.promotions.code(code)
    promotion = uow.promotions.get(row["promotion_id"]) if row else None
    if row is None or promotion is None:
        raise NotFound(f"promo code {code} not found", code="promo_code_not_found")
    document = promotion["document"]
    reason = None
    if promotion["status"] != "active":
        reason = ("promotion_paused", "the promotion is paused")
    elif document.get("starts_at") and datetime.fromisoformat(document["starts_at"]) > at:
        reason = ("not_started", f"the promotion starts at {document['starts_at']}")
    elif document.get("ends_at") and datetime.fromisoformat(document["ends_at"]) <= at:
        reason = ("expired", f"the promotion ended at {document['ends_at']}")
    elif row["max_uses"] is not None and row["uses"] >= row["max_uses"]:
        reason = ("code_used_up", "the code has been used up")
    elif member_id is not None and row["max_uses_per_member"] is not None and \
            uow.promotions.code_uses_by_member(code, member_id) >= row["max_uses_per_member"]:
        reason = ("code_used_by_member", "the member has already used this code")
    return {"code": code, "promotion_id": row["promotion_id"], "name": document["name"],
            "kind": row["kind"], "uses": row["uses"], "max_uses": row["max_uses"],
            "valid": reason is None, "reason": None if reason is None else
            {"code": reason[0], "detail": reason[1]}}
