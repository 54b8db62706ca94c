"""The `coalition:` section of the program document (SPEC P5, P6): checks, conversion to the
domain `Coalition` and back.

```yaml
coalition:
  currency: points            # the point currency the rates price (default: the main one)
  default_rate: "1.00"        # money per whole point (default: the currency's own value)
  rates:                      # per ordered pair: points issued at `issuer`, spent at `redeemer`
    - {issuer: cafe, redeemer: books, money_per_point: "0.80"}
  partners:                   # per redeeming partner; and its own discount at its stores (P6)
    - {partner_id: books, money_per_point: "0.90", discount_percent: "7"}
```

A settlement values a point at the first rate found: the pair's, the redeeming partner's,
`default_rate`, else the currency's own money value. Partner ids are not checked against the
partners table here: the document is data, validated on its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.app.ports import UnitOfWork
from kopilka.app.program_schema import CoalitionDoc, ProgramDoc
from kopilka.domain.program import Coalition, CoalitionPartner, PairRate, Program, for_partner

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
_BRANDS_LIMIT = 1024
# (id of a version's Program, partner) -> (that Program, the brand's Program): evaluation
# prepares each Program object once, so a brand's program is made once too (and the base
# object is held, so its id is not reused while cached)
_brands: dict[tuple[int, str], tuple[Program, Program]] = {}


def main_currency(doc: ProgramDoc) -> str:
    """The document's main currency, as `Program.main_currency` decides it."""
    default = doc.point_currencies[0].code
    if doc.burn is not None:
        return doc.burn.currency or default
    if doc.earn:
        return doc.earn[0].currency or default
    return default


def check_coalition(doc: ProgramDoc) -> list[Issue]:
    section = doc.coalition
    if section is None:
        return []
    issues: list[Issue] = []
    known = {c.code for c in doc.point_currencies}
    if section.currency is not None and section.currency not in known:
        issues.append((("coalition", "currency"), f"unknown currency {section.currency!r} "
                                                  f"(known: {', '.join(sorted(known))})"))
    seen_pairs: dict[tuple[str, str], int] = {}
    for index, rate in enumerate(section.rates):
        loc: Loc = ("coalition", "rates", index)
        pair = (rate.issuer, rate.redeemer)
        if rate.issuer == rate.redeemer:
            issues.append(((*loc, "redeemer"), "a partner's own points owe nothing: the "
                                               "redeemer must differ from the issuer"))
        elif pair in seen_pairs:
            issues.append(((*loc, "redeemer"), f"duplicate rate for {rate.issuer} -> "
                                               f"{rate.redeemer} (already at rates."
                                               f"{seen_pairs[pair]})"))
        seen_pairs.setdefault(pair, index)
    seen: dict[str, int] = {}
    for index, partner in enumerate(section.partners):
        loc = ("coalition", "partners", index)
        if partner.partner_id in seen:
            first = seen[partner.partner_id]
            issues.append(((*loc, "partner_id"), f"duplicate partner {partner.partner_id!r} "
                                                 f"(already at partners.{first})"))
        seen.setdefault(partner.partner_id, index)
        if partner.money_per_point is None and partner.discount_percent is None:
            issues.append((loc, "give money_per_point, discount_percent or both"))
    return issues


def coalition_of(doc: ProgramDoc) -> Coalition | None:
    section: CoalitionDoc | None = doc.coalition
    if section is None:
        return None
    return Coalition(
        currency=section.currency or main_currency(doc),
        default_rate=section.default_rate,
        rates=tuple(PairRate(r.issuer, r.redeemer, r.money_per_point) for r in section.rates),
        partners=tuple(CoalitionPartner(p.partner_id, p.money_per_point, p.discount_percent)
                       for p in section.partners))


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def coalition_document(coalition: Coalition) -> dict[str, Any]:
    doc: dict[str, Any] = {"currency": coalition.currency}
    if coalition.default_rate is not None:
        doc["default_rate"] = _decimal(coalition.default_rate)
    if coalition.rates:
        doc["rates"] = [{"issuer": r.issuer, "redeemer": r.redeemer,
                         "money_per_point": _decimal(r.money_per_point)}
                        for r in coalition.rates]
    if coalition.partners:
        partners = []
        for p in coalition.partners:
            item: dict[str, Any] = {"partner_id": p.partner_id}
            if p.money_per_point is not None:
                item["money_per_point"] = _decimal(p.money_per_point)
            if p.discount_percent is not None:
                item["discount_percent"] = _decimal(p.discount_percent)
            partners.append(item)
        doc["partners"] = partners
    return doc


# --- the program as a brand applies it (P6) -------------------------------------------------

def brand_program(program: Program, partner_id: str | None) -> Program:
    """`domain.program.for_partner`, made once per program version and partner."""
    if program.coalition is None or partner_id is None:
        return program
    key = (id(program), partner_id)
    hit = _brands.get(key)
    if hit is not None and hit[0] is program:
        return hit[1]
    if len(_brands) >= _BRANDS_LIMIT:
        _brands.clear()
    derived = for_partner(program, partner_id)
    _brands[key] = (program, derived)
    return derived


def store_program(uow: UnitOfWork, program: Program, store_id: str) -> Program:
    """The program as the partner owning `store_id` applies it (its own discount, P6). Only
    a program with brand discounts costs the store's read; an unknown store gets the
    program as it is."""
    coalition = program.coalition
    if coalition is None or all(p.discount_percent is None for p in coalition.partners):
        return program
    store = uow.members.store(store_id)
    return brand_program(program, store["partner_id"]) if store is not None else program
