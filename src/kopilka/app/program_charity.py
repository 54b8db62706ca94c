"""The `charity:` section of the program document (SPEC P9): checks, conversion to the domain
`Charity` and back.

```yaml
charity:
  funds:
    - id: children
      name: Children's hospital
      currency: points                  # default: the main currency
      min_donation: 10                  # of a donation the member makes (whole units)
      share_of_purchase_percent: "5"    # optional: of each purchase's earned points, for
                                        # members whose attribute charity_fund names the fund
```

A share of purchase is paid in the points a purchase earns, so a fund with one must be in the
main currency.
"""

from __future__ import annotations

from typing import Any

from kopilka.app.program_coalition import main_currency
from kopilka.app.program_rewards import _minor
from kopilka.app.program_schema import ProgramDoc
from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Charity, Fund, Program

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
MEMBER_ATTRIBUTE = "charity_fund"  # the member's chosen fund for shares of purchase


def check_charity(doc: ProgramDoc) -> list[Issue]:
    if doc.charity is None:
        return []
    issues: list[Issue] = []
    scales = {c.code: c.scale for c in doc.point_currencies}
    main = main_currency(doc)
    seen: dict[str, int] = {}
    for index, fund in enumerate(doc.charity.funds):
        loc: Loc = ("charity", "funds", index)
        if fund.id in seen:
            issues.append(((*loc, "id"), f"duplicate fund id {fund.id!r} "
                                         f"(already at charity.funds.{seen[fund.id]})"))
        seen.setdefault(fund.id, index)
        currency = fund.currency or main
        if currency not in scales:
            issues.append(((*loc, "currency"), f"unknown currency {currency!r} "
                                               f"(known: {', '.join(sorted(scales))})"))
            continue
        try:
            if _minor(fund.min_donation, scales[currency]) < 0:
                issues.append(((*loc, "min_donation"), "cannot be negative"))
        except ValueError as exc:
            issues.append(((*loc, "min_donation"), str(exc)))
        share = fund.share_of_purchase_percent
        if share is not None and share == 0:
            issues.append(((*loc, "share_of_purchase_percent"),
                           "must be greater than 0 (leave it out for no share)"))
        if share is not None and currency != main:
            issues.append(((*loc, "share_of_purchase_percent"),
                           f"a share of purchase is paid in the main currency {main!r}: "
                           f"the fund's currency is {currency!r}"))
    return issues


# --- document -> domain ---------------------------------------------------------------------

def charity_of(doc: ProgramDoc) -> Charity | None:
    """The domain charity of a checked document."""
    if doc.charity is None:
        return None
    scales = {c.code: c.scale for c in doc.point_currencies}
    main = main_currency(doc)
    return Charity(funds=tuple(
        Fund(fund_id=f.id, name=f.name, currency=f.currency or main,
             share_of_purchase_percent=f.share_of_purchase_percent,
             min_donation=_minor(f.min_donation, scales[f.currency or main]))
        for f in doc.charity.funds))


# --- domain -> document ---------------------------------------------------------------------

def charity_document(charity: Charity, program: Program) -> dict[str, Any]:
    return {"funds": [_fund_document(f, program.currency(f.currency)) for f in charity.funds]}


def _fund_document(fund: Fund, cur: PointCurrency) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": fund.fund_id, "name": fund.name, "currency": fund.currency,
                           "min_donation": cur.format(fund.min_donation)}
    if fund.share_of_purchase_percent is not None:
        doc["share_of_purchase_percent"] = format(fund.share_of_purchase_percent, "f")
    return doc
