"""The library's partner methods (mixed into `Kopilka`): partners, stores, settlement."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from kopilka.app import settlement
from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import Conflict, InvalidInput, NotFound

PARTNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
MAX_PAGE = 500


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not PARTNER_ID.fullmatch(value):
        raise InvalidInput(f"{what} must be 1-64 letters, digits, '_', '-', '.' or ':', "
                           "starting with a letter or digit", code="invalid_partner")
    return value


def _check_name(value: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not 0 < len(name) <= 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInput("name must be 1-200 characters without control characters",
                           code="invalid_partner")
    return name


def partner_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"partner_id": row["partner_id"], "name": row["name"],
            "created_at": row["created_at"].isoformat(),
            "stores": [{"store_id": s["store_id"], "name": s["name"],
                        "timezone": s["timezone"]} for s in row.get("stores", [])]}


class PartnersMixin:
    """Partners (brands of a coalition), their stores, and the settlement between them."""

    def partners(self, *, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        if not 0 < limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}", code="invalid_limit")
        with self.db.read() as uow:
            rows = uow.members.partners(limit=limit + 1, after=cursor)
        more = len(rows) > limit
        return {"items": [partner_view(r) for r in rows[:limit]],
                "next_cursor": rows[limit - 1]["partner_id"] if more else None}

    def add_partner(self, partner_id: str, name: str, *, caller: Any = None,
                    idempotency_key: str | None = None) -> Any:
        """Add a partner (a brand); 409 `partner_exists` when the id is taken."""
        from kopilka.app.library import LIBRARY, Result

        _check_id(partner_id, "partner_id")
        name = _check_name(name)

        def work(uow: UnitOfWork, now: datetime) -> Result:
            if uow.members.partner(partner_id) is not None:
                raise Conflict(f"partner {partner_id} exists", code="partner_exists")
            uow.members.add_partner(partner_id, name, now)
            return Result(201, partner_view(uow.members.partner(partner_id)))
        return self.mutate("add_partner", [partner_id, name], work, caller=caller or LIBRARY,
                           idempotency_key=idempotency_key)

    def add_store(self, store_id: str, partner_id: str, name: str, *, caller: Any = None,
                  idempotency_key: str | None = None) -> Any:
        """Add a store (a point of sale) to a partner; 409 `store_exists` when taken."""
        from kopilka.app.library import LIBRARY, Result

        _check_id(store_id, "store_id")
        name = _check_name(name)

        def work(uow: UnitOfWork, now: datetime) -> Result:
            if uow.members.partner(partner_id) is None:
                raise NotFound(f"partner {partner_id} not found", code="partner_not_found")
            if uow.members.store(store_id) is not None:
                raise Conflict(f"store {store_id} exists", code="store_exists")
            uow.members.add_store(store_id, partner_id, name)
            store = uow.members.store(store_id)
            return Result(201, {"store_id": store_id, "partner_id": partner_id, "name": name,
                                "timezone": store["timezone"]})
        return self.mutate("add_store", [store_id, partner_id, name], work,
                           caller=caller or LIBRARY, idempotency_key=idempotency_key)

    def settlement(self, start: str | datetime, end: str | datetime, *,
                   caller: Any = None) -> dict[str, Any]:
        """Who owes whom for points earned at one partner and spent at another in
        [start, end), by booking time (ADR 0006). A partner's key that is not `admin` gets
        only its own partner's rows."""
        partner = getattr(caller, "partner_id", None)
        if getattr(caller, "admin", False):
            partner = None
        with self.db.read() as uow:
            settled = settlement.settle(uow, start, end)
            names = uow.members.partner_names()
            currencies = {c.code: c for c in uow.members.currencies()}
        return settlement.statement_view(settled, names=names, currencies=currencies,
                                         partner=partner)
