"""A receipt evaluated by the program in force or by a draft, for the console's preview.

The preview runs the same path as the till's calculate (promotions, then the program's own
rules, the member's tier, balance and tier progress as of now) but it never writes: the member
is read without locks, no hold is taken, and a draft is a `Program` that was parsed and
validated but never stored. Every effect in the answer names the rule behind it (ADR 0005).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import members as M
from kopilka.app import programs
from kopilka.app import promotion_till as PT
from kopilka.app.ports import UnitOfWork
from kopilka.app.program_coalition import store_program
from kopilka.app.receipt_views import evaluation_view
from kopilka.app.receipts import ReceiptInput, member_state
from kopilka.domain.errors import DomainError
from kopilka.domain.program import Program


def preview(uow: UnitOfWork, receipt: ReceiptInput, now: datetime, *,
            draft: Program | None = None,
            qr_verifier: M.QrVerifier | None = None) -> dict[str, Any]:
    """The calculation of `receipt` under `draft` (or the version in force at its time)."""
    base = draft if draft is not None else programs.in_force(uow, receipt.occurred_at)
    program = store_program(uow, base, receipt.store_id)
    member = state = None
    if receipt.member:
        member = M.resolve_brief(uow, receipt.member, qr_verifier=qr_verifier)
        if member["status"] != "active":
            raise DomainError(f"member {member['member_id']} is {member['status']}",
                              code="member_not_active", status=409)
        state = member_state(uow, program, member, receipt.occurred_at, now, lock=False)
    _prepared, _outcome, evaluation = PT.evaluate_receipt(uow, program, member, state,
                                                          receipt, confirm=False)
    body = evaluation_view(evaluation, program)
    body["draft"] = draft is not None
    body["program_name"] = program.name
    body["member"] = None if member is None else {
        "member_id": member["member_id"], "tier_code": member["tier_code"],
        "spendable": state.spendable if state else 0}
    return body
