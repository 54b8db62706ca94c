"""Receipt calculations as the API returns them (money as decimal strings)."""

from __future__ import annotations

from typing import Any

from kopilka.domain.evaluation import Evaluation
from kopilka.domain.points import format_money
from kopilka.domain.program import Program


def evaluation_view(e: Evaluation, program: Program) -> dict[str, Any]:
    return {
        "subtotal": format_money(e.subtotal),
        "discount_total": format_money(e.discount_total),
        "points_redeemed": e.points_redeemed,
        "points_redeemed_value": format_money(e.points_redeemed_value),
        "total_payable": format_money(e.total_payable),
        "points_earned": e.points_earned,
        "points_earned_pending": e.points_earned_pending,
        "max_redeemable_points": e.max_redeemable_points,
        "lines": [{"line_id": line.line_id, "unit_price": format_money(line.unit_price),
                   "quantity": str(line.quantity), "amount": format_money(line.amount),
                   "discount": format_money(line.discount),
                   "points_redeemed": line.points_redeemed,
                   "points_redeemed_value": format_money(line.points_redeemed_value),
                   "total": format_money(line.total), "points_earned": line.points_earned}
                  for line in e.lines],
        "applied": [{"kind": a.kind, "code": a.code, "name": a.name,
                     "amount": format_money(a.amount), "points": a.points,
                     "line_ids": list(a.line_ids), "rule": a.rule} for a in e.applied],
        "rejected": [{"code": r.code, "reason": r.reason,
                      **({"promotion_id": r.rule} if r.rule else {})} for r in e.rejected],
        "messages": list(e.messages),
        "accruals": [{"rule": a.rule_id, "currency": a.currency, "points": a.points,
                      "activates_at": a.activates_at.isoformat() if a.activates_at else None,
                      "expires_at": a.expires_at.isoformat() if a.expires_at else None}
                     for a in e.accruals],
        "tier": {"before": e.tier_before, "after": e.tier_after,
                 "qualifying_value": format_money(e.qualifying_value)
                 if program.tiers.measure.value == "spend" else e.qualifying_value}
        if program.tiers else None,
        "program_version": e.program_version,
    }
