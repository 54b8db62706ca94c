"""`kopilka staff`: console accounts (admin, marketer, operator, accountant, auditor)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kopilka.bootstrap import build
from kopilka.config import get_settings
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import Role

staff_app = typer.Typer(help="Staff accounts of the web console.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@staff_app.command("create")
def create(login: Annotated[str, typer.Argument(help="sign-in name, e.g. anna.petrova")],
           role: Annotated[Role, typer.Option(help="what the person may do")],
           name: Annotated[str, typer.Option(help="name shown in the console")] = "",
           password: Annotated[str, typer.Option(
               prompt=True, hide_input=True, confirmation_prompt=True,
               envvar="KOPILKA_STAFF_PASSWORD", help="at least 10 characters")] = "",
           ) -> None:
    """Create a staff account (the change is written to the audit log)."""
    kopilka = build(get_settings())
    try:
        made = kopilka.create_staff(login=login, password=password, role=role.value,
                                    display_name=name)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from None
    console.print(f"staff account [bold]{made['login']}[/bold] ({made['role']}) created")


@staff_app.command("list")
def list_() -> None:
    """List staff accounts."""
    table = Table("login", "name", "role", "active", "created")
    for row in build(get_settings()).staff_members():
        table.add_row(row["login"], row["display_name"], row["role"], str(row["active"]),
                      row["created_at"][:19])
    console.print(table)
