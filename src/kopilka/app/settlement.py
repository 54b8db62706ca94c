"""The coalition settlement statement of a period (SPEC P5, F3; ADR 0006).

The period [from, to) is cut where a program version takes effect, so every redemption is
valued with the coalition terms in force when it was booked; the pure `domain.settlement`
does the arithmetic. The view is the API's JSON (money as decimal strings); `statement_csv`
is the same statement for an accounting system (1C): semicolon-separated, decimal point,
written as UTF-8 with a byte order mark by whoever stores it.

Who sees what: the library and `admin` keys (the coalition operator) see the whole statement;
any other key sees only the pairs, nets and position of its own partner, without the
coalition's totals.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kopilka.app import programs
from kopilka.app.ports import UnitOfWork
from kopilka.domain import settlement as S
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import PointCurrency, format_money

CSV_COLUMNS = ("period_from", "period_to", "row", "payer_id", "payer_name", "payee_id",
               "payee_name", "point_currency", "points", "rate", "amount", "money_currency")


def parse_period(start: str | datetime, end: str | datetime) -> tuple[datetime, datetime]:
    """[from, to) from RFC 3339 date-times with an offset; every problem reported at once."""
    errors: list[dict[str, Any]] = []
    moments: list[datetime] = []
    for name, value in (("from", start), ("to", end)):
        moment = value
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            errors.append({"loc": ["query", name], "msg": "must be an RFC 3339 date-time "
                                                          "with an offset, e.g. "
                                                          "2026-03-01T00:00:00+03:00"})
        else:
            moments.append(moment)
    if not errors and moments[1] <= moments[0]:
        errors.append({"loc": ["query", "to"], "msg": "must be after from"})
    if errors:
        first = errors[0]
        raise InvalidInput(f"{first['loc'][-1]}: {first['msg']}", errors=errors)
    return moments[0], moments[1]


def segments(uow: UnitOfWork, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at every program version's effective_from inside it."""
    cuts = sorted({row["effective_from"] for row in uow.programs.all()
                   if start < row["effective_from"] < end})
    bounds = [start, *cuts, end]
    return list(zip(bounds, bounds[1:], strict=False))


@dataclass(frozen=True, slots=True)
class Settlement:
    start: datetime
    end: datetime
    statement: S.Statement
    versions: tuple[int, ...]  # the program versions whose terms priced it
    money_currency: str


def settle(uow: UnitOfWork, start: str | datetime, end: str | datetime) -> Settlement:
    """The statement of [start, end), each segment priced by the version then in force."""
    start, end = parse_period(start, end)
    currencies = {c.code: c for c in uow.members.currencies()}
    priced: list[tuple[S.Terms, list[S.Flow]]] = []
    versions: list[int] = []
    money_currency = "RUB"
    for a, b in segments(uow, start, end):
        program = programs.in_force_or_none(uow, a)
        if program is not None:
            money_currency = program.money_currency
            if program.version not in versions:
                versions.append(program.version)
        terms = S.Terms(currencies, program.coalition if program is not None else None)
        priced.append((terms, uow.settlement.redemptions(a, b)))
    found = S.settle(priced, uow.settlement.issued(start, end))
    return Settlement(start, end, found, tuple(versions), money_currency)


def statement_view(settled: Settlement, *, names: dict[str, str],
                   currencies: dict[str, PointCurrency],
                   partner: str | None = None) -> dict[str, Any]:
    """The statement as the API returns it; `partner` restricts it to that partner's rows."""
    found = settled.statement if partner is None else settled.statement.involving(partner)

    def points(currency: str, value: int) -> int | str:
        cur = currencies.get(currency)
        return value if cur is None else cur.format(value)

    view: dict[str, Any] = {
        "from": settled.start.isoformat(), "to": settled.end.isoformat(),
        "basis": "booked_at", "money_currency": settled.money_currency,
        "program_versions": list(settled.versions),
        "partner_id": partner,
        "pairs": [{"issuer": p.issuer, "issuer_name": names.get(p.issuer or ""),
                   "redeemer": p.redeemer, "redeemer_name": names.get(p.redeemer or ""),
                   "currency": p.currency, "points": points(p.currency, p.points),
                   "rate": None if p.rate is None else format(p.rate, "f"),
                   "money": format_money(p.money), "settled": p.rate is not None}
                  for p in found.pairs],
        "nets": [{"partners": sorted((n.debtor, n.creditor)), "debtor": n.debtor,
                  "debtor_name": names.get(n.debtor), "creditor": n.creditor,
                  "creditor_name": names.get(n.creditor), "money": format_money(n.money)}
                 for n in found.nets],
        "partners": [{"partner_id": pos.partner, "name": names.get(pos.partner or ""),
                      "points": [{"currency": p.currency,
                                  "issued": points(p.currency, p.issued),
                                  "redeemed_own": points(p.currency, p.redeemed_own),
                                  "redeemed_others": points(p.currency, p.redeemed_others),
                                  "redeemed_elsewhere": points(p.currency, p.redeemed_elsewhere)}
                                 for p in pos.points],
                      "receivable": format_money(pos.receivable),
                      "payable": format_money(pos.payable), "net": format_money(pos.net)}
                     for pos in found.positions],
        "totals": None,
    }
    if partner is None:
        view["totals"] = [{"currency": c, "issued": points(c, found.issued(c)),
                           "redeemed": points(c, found.redeemed(c))}
                          for c in found.currencies()]
    return view


def statement_csv(view: dict[str, Any]) -> str:
    """The money rows of a statement view for an accounting system: one `gross` row per
    settled ordered pair (the issuer pays the redeemer for the points at the rate), then one
    `net` row per pair of partners (what is left to pay once both directions are offset).
    Columns are `CSV_COLUMNS`; semicolons, decimal point, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    period = [view["from"], view["to"]]
    for pair in view["pairs"]:
        if pair["settled"]:
            writer.writerow([*period, "gross", pair["issuer"], pair["issuer_name"] or "",
                             pair["redeemer"], pair["redeemer_name"] or "", pair["currency"],
                             pair["points"], pair["rate"], pair["money"],
                             view["money_currency"]])
    for net in view["nets"]:
        writer.writerow([*period, "net", net["debtor"], net["debtor_name"] or "",
                         net["creditor"], net["creditor_name"] or "", "", "", "",
                         net["money"], view["money_currency"]])
    return out.getvalue()
