"""`kopilka partners`: add and list partners and stores; the settlement statement (F3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kopilka.app import programs
from kopilka.app.library import Kopilka
from kopilka.app.settlement import CSV_COLUMNS, statement_csv
from kopilka.bootstrap import build
from kopilka.config import get_settings
from kopilka.domain.errors import DomainError

partners_app = typer.Typer(help="Partners (brands), their stores, and the settlement between "
                                "them.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
CSV_HELP = ("Also write the statement for an accounting system (1C): UTF-8 with BOM, ';' "
            "separated, decimal point; columns " + ", ".join(CSV_COLUMNS) + ". One 'gross' row "
            "per ordered pair (the issuer pays the redeemer), one 'net' row per pair.")


def _fail(exc: DomainError) -> typer.Exit:
    err.print(f"[red]{exc.code}[/red]: {escape(exc.detail)}")
    for error in exc.extra.get("errors", []):
        err.print(f"  {escape('.'.join(map(str, error['loc'])))}: {escape(error['msg'])}")
    return typer.Exit(2)


@partners_app.command("add")
def add(partner_id: str, name: str) -> None:
    """Add a partner, e.g. `kopilka partners add cafe "Cafe Lipa"`."""
    try:
        build(get_settings()).add_partner(partner_id, name)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"partner {escape(partner_id)} added")


@partners_app.command("add-store")
def add_store(partner_id: str, store_id: str, name: str) -> None:
    """Add a store (point of sale) to a partner."""
    try:
        build(get_settings()).add_store(store_id, partner_id, name)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"store {escape(store_id)} added to {escape(partner_id)}")


@partners_app.command("list")
def list_partners() -> None:
    """List the partners with their stores."""
    kopilka = build(get_settings())
    table = Table("partner", "name", "stores", "created")
    cursor = None
    while True:
        page = kopilka.partners(limit=500, cursor=cursor)
        for p in page["items"]:
            stores = ", ".join(s["store_id"] for s in p["stores"])
            table.add_row(p["partner_id"], p["name"], stores, p["created_at"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    console.print(table)


def _moment(kopilka: Kopilka, text: str) -> datetime | str:
    """An RFC 3339 date-time as it is; a bare date is midnight in the program's time zone."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return text
    if day is None:
        return text
    with kopilka.db.read() as uow:
        program = programs.in_force_or_none(uow, datetime.combine(day, time(12), UTC))
    zone = program.effective_from.tzinfo if program is not None else UTC
    return datetime.combine(day, time(), zone)


@partners_app.command("settle")
def settle(start: Annotated[str, typer.Option("--from", help="Start (a date, or RFC 3339)")],
           end: Annotated[str, typer.Option("--to", help="End, excluded")],
           csv_file: Annotated[Path | None, typer.Option("--csv", help=CSV_HELP)] = None,
           ) -> None:
    """The settlement statement of [from, to): who owes whom, by booking time (ADR 0006)."""
    kopilka = build(get_settings())
    try:
        view = kopilka.settlement(_moment(kopilka, start), _moment(kopilka, end))
    except DomainError as exc:
        raise _fail(exc) from exc
    _print(view)
    if csv_file is not None:
        csv_file.write_text(statement_csv(view), encoding="utf-8-sig", newline="")
        console.print(f"CSV written to {escape(str(csv_file))}")


def _print(view: dict[str, Any]) -> None:
    money = view["money_currency"]
    title = f"{view['from']} .. {view['to']} (booked), versions {view['program_versions']}"
    pairs = Table("issuer (pays)", "redeemer", "currency", "points", "rate", f"money, {money}",
                  title=f"Points earned at one partner, spent at another: {title}")
    for p in view["pairs"]:
        pairs.add_row(p["issuer"] or "-", p["redeemer"] or "-", p["currency"], str(p["points"]),
                      p["rate"] or "not settled", p["money"])
    console.print(pairs)
    nets = Table("debtor", "creditor", f"net, {money}", title="Net per pair of partners")
    for n in view["nets"]:
        nets.add_row(n["debtor"], n["creditor"], n["money"])
    console.print(nets)
    points = Table("partner", "currency", "issued", "redeemed: own", "others' here",
                   "its own elsewhere", title="Points per partner")
    positions = Table("partner", f"receivable, {money}", f"payable, {money}", f"net, {money}",
                      title="Positions (net = receivable - payable; they sum to zero)")
    for pos in view["partners"]:
        name = pos["partner_id"] or "-"
        for p in pos["points"]:
            points.add_row(name, p["currency"], str(p["issued"]), str(p["redeemed_own"]),
                           str(p["redeemed_others"]), str(p["redeemed_elsewhere"]))
        positions.add_row(name, pos["receivable"], pos["payable"], pos["net"])
    console.print(points)
    console.print(positions)
    for total in view["totals"] or []:
        console.print(f"{total['currency']}: issued {total['issued']}, redeemed "
                      f"{total['redeemed']}")
