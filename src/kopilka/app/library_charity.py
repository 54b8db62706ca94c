"""The library's charity methods (mixed into `Kopilka`): donations and the report per fund."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import charity, programs
from kopilka.app.ports import UnitOfWork


class CharityMixin:
    """SPEC P9: a member donates points to a fund; the funds' report over a period."""

    def donate(self, member_id: str, fund_id: str, points: int, *, caller: Any = None,
               idempotency_key: str | None = None) -> Any:
        """Give `points` (minor units of the fund's currency) to a fund of the program in
        force: 201 with the operation and the balance after. 422 `unknown_fund`,
        `insufficient_points`, `donation_below_minimum`; 404 `member_not_found`."""
        from kopilka.app.library import LIBRARY, Result

        caller = caller or LIBRARY

        def work(uow: UnitOfWork, now: datetime) -> Result:
            program = programs.in_force_or_none(uow, now)
            posted, fund, cur = charity.donate(
                uow, program, member_id, fund_id, points, now=now,
                meta=self._meta(caller, now))  # type: ignore[attr-defined]
            result = self._points_result(uow, member_id, posted, cur)  # type: ignore[attr-defined]
            return Result(201, {**result.body, "fund_id": fund.fund_id, "fund_name": fund.name})
        return self.mutate("donate", [member_id, fund_id, points], work,  # type: ignore[attr-defined]
                           caller=caller, idempotency_key=idempotency_key)

    def fund_report(self, from_: str | datetime, to: str | datetime) -> dict[str, Any]:
        """Donations per fund booked in [from_, to): count, donors, points, money value."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            program = programs.in_force_or_none(uow, self.clock.now())  # type: ignore[attr-defined]
            return charity.fund_report(uow, program, from_, to)
