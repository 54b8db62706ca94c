"""The library's reads for the console's program and promotion pages (mixed into `Kopilka`):
one program version, a preview of a receipt under a draft, promotions with their budget use,
and the code batches of a promotion. None of these writes anything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kopilka.app import program_preview, programs
from kopilka.app import promotion_admin as A
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.points import format_money
from kopilka.domain.program import Program

MAX_PROMOTION_PAGE = 100


class MarketingMixin:
    """Program versions, receipt previews, promotions' budget use and code batches."""

    def program_version(self, number: int) -> dict[str, Any]:
        """One stored version with its document (any version: past, in force, scheduled)."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return programs.document_of(uow, number)

    def preview_receipt(self, receipt: ReceiptInput, *,
                        draft: Program | None = None) -> dict[str, Any]:
        """The calculation of a receipt under a draft program (or the one in force): read
        only, nothing locked, held or stored."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return program_preview.preview(
                uow, receipt, self.clock.now(), draft=draft,  # type: ignore[attr-defined]
                qr_verifier=self.card_of_token)  # type: ignore[attr-defined]

    def promotions_with_use(self, *, status: str | None = None, limit: int = 50,
                            cursor: str | None = None) -> dict[str, Any]:
        """A page of promotions, each with what it has given (`used`) next to its limits."""
        limit = max(1, min(limit, MAX_PROMOTION_PAGE))
        with self.db.read() as uow:  # type: ignore[attr-defined]
            found = A.page(uow, status=status, limit=limit, cursor=cursor)
            counters = uow.promotions.counters([p["id"] for p in found["items"]], lock=False)
        for item in found["items"]:
            kopecks, points, count = counters.get(item["id"], (0, 0, 0))
            item["used"] = {"amount": format_money(kopecks), "points": points, "count": count}
        return found

    def promotion_batches(self, promotion_id: str) -> list[dict[str, Any]]:
        """The promotion's codes by batch (shared codes one by one), newest batch first."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            A.view(uow, promotion_id)  # not found -> NotFound
            return _batches(uow.promotions.codes_of(promotion_id))


def _batches(codes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    batches: dict[str, dict[str, Any]] = {}
    for row in codes:
        key = row["batch_id"] or f"shared:{row['code']}"
        batch = batches.setdefault(key, {
            "batch_id": row["batch_id"], "kind": row["kind"],
            "code": None if row["batch_id"] else row["code"], "codes": 0, "uses": 0,
            "max_uses": row["max_uses"], "created_at": row["created_at"]})
        batch["codes"] += 1
        batch["uses"] += row["uses"]
        batch["created_at"] = min(batch["created_at"], row["created_at"])
    return sorted(batches.values(), key=lambda b: b["created_at"], reverse=True)
