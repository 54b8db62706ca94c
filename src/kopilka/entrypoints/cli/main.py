"""The `kopilka` command line: init, migrate, serve, demo, apikey, verify, jobs."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kopilka.adapters.sql import migrate as migrations
from kopilka.adapters.sql.database import SqlDatabase
from kopilka.adapters.sql.verify import summary, verify
from kopilka.bootstrap import DEFAULT_PARTNER, build, init_database
from kopilka.config import Settings, get_settings
from kopilka.domain.errors import DomainError
from kopilka.entrypoints.cli.partners import partners_app
from kopilka.entrypoints.cli.staff import staff_app

app = typer.Typer(help="kopilka: a loyalty-program platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
apikey_app = typer.Typer(help="API keys for tills, shops and partners.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs (expiry, activation, holds).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
app.add_typer(jobs_app, name="jobs")
program_app = typer.Typer(help="The program document: apply a new version, show it.",
                          no_args_is_help=True)
app.add_typer(program_app, name="program")
currency_app = typer.Typer(help="Point currencies of the program.", no_args_is_help=True)
app.add_typer(currency_app, name="currency")
app.add_typer(partners_app, name="partners")
app.add_typer(staff_app, name="staff")
console = Console()
err = Console(stderr=True)


def _db(settings: Settings) -> SqlDatabase:
    return SqlDatabase(settings.database_url, pool_size=settings.db_pool_size)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err)


@app.command()
def init(if_missing: Annotated[bool, typer.Option(help="Succeed quietly if it exists")] = False,
         ) -> None:
    """Create (or upgrade) the database and add the reference data."""
    settings = get_settings()
    db = _db(settings)
    init_database(db)
    err.print(f"[green]database ready[/green]: {db.engine.url.render_as_string()}")


@app.command()
def migrate() -> None:
    """Apply pending Alembic migrations."""
    db = _db(get_settings())
    migrations.upgrade(db.engine)
    err.print("[green]migrations applied[/green]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int | None, typer.Option(
              help="Processes; default 1 on SQLite, 2 per CPU on PostgreSQL")] = None,
          access_log: bool = False) -> None:
    """Run the HTTP API (uvicorn).

    A request spends much of its time waiting for the database with its process's GIL free,
    so on PostgreSQL two processes per CPU serve more than one (measured: 710 -> 1,164 HTTP
    earns/s from 2 to 4 processes on 2 cores)."""
    import os

    import uvicorn

    settings = get_settings()
    if workers is None:
        workers = 1 if settings.is_sqlite else 2 * (os.cpu_count() or 1)
    if settings.is_sqlite and workers > 1:
        err.print("[yellow]SQLite has one writer: running 1 worker[/yellow]")
        workers = 1
    _configure_logging(settings.log_level, access_log)
    console.print(f"kopilka API on [bold]http://{host}:{port}[/bold] — docs at "
                  f"http://{host}:{port}/docs, OpenAPI at /openapi.json, metrics at /metrics; "
                  f"staff console at http://{host}:{port}/console/, member page at "
                  f"http://{host}:{port}/me/")
    uvicorn.run("kopilka.entrypoints.http.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False)


def _configure_logging(level: str, access: bool) -> None:
    from kopilka.entrypoints.http.observability import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("kopilka.access").setLevel(logging.INFO if access else logging.WARNING)


@apikey_app.command("create")
def apikey_create(
        name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'till 3 msk-001'")] = "api",
        partner: str = DEFAULT_PARTNER,
        scopes: Annotated[str, typer.Option(help="Comma-separated: pos,members:read,"
                                                  "members:write,admin,analytics")] = "pos",
        store: str | None = None, till: str | None = None) -> None:
    """Create an API key; prints the token once (only its hash is stored)."""
    from kopilka.entrypoints.http.auth import create_key

    db = _db(get_settings())
    try:
        token = create_key(db, name=name, partner_id=partner, store_id=store, till_id=till,
                           scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                           now=datetime.now(UTC))
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {escape(exc.detail)}")
        raise typer.Exit(2) from exc
    console.print(token)


@program_app.command("apply")
def program_apply(path: Annotated[str, typer.Argument(help="YAML or JSON program document")]
                  ) -> None:
    """Validate a program document and store it as the next version."""
    from pathlib import Path

    from kopilka.app.program_document import parse_program

    try:
        program = parse_program(Path(path).read_text(encoding="utf-8"))
        result = build(get_settings()).apply_program(program, author="cli")
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {escape(exc.detail)}")
        for error in exc.extra.get("errors", []):
            where = ".".join(str(part) for part in error["loc"])
            line = f" (line {error['line']})" if error.get("line") else ""
            err.print(f"  {escape(where)}{line}: {escape(error['msg'])}")
        raise typer.Exit(2) from exc
    console.print(f"program version {result.body['version']} stored, effective from "
                  f"{result.body['effective_from']}")


@program_app.command("show")
def program_show(version: Annotated[int | None, typer.Option(help="A version number")] = None,
                 ) -> None:
    """Print the version in force now (or the given version) as YAML."""
    import yaml

    from kopilka.app import programs

    kopilka = build(get_settings())
    try:
        if version is None:
            document = kopilka.program()
        else:
            with kopilka.db.read() as uow:
                document = programs.document_of(uow, version)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {escape(exc.detail)}")
        raise typer.Exit(2) from exc
    console.print(f"# version {document['version']}, created {document['created_at']} by "
                  f"{document['created_by']}", markup=False)
    console.print(yaml.safe_dump(document["document"], allow_unicode=True, sort_keys=False),
                  markup=False)


@program_app.command("versions")
def program_versions() -> None:
    """List every program version."""
    table = Table("version", "name", "effective from", "created", "by")
    for v in build(get_settings()).program_versions():
        table.add_row(str(v["version"]), v["name"], v["effective_from"], v["created_at"],
                      v["created_by"])
    console.print(table)


@currency_app.command("add")
def currency_add(code: str, name: str,
                 scale: Annotated[int, typer.Option(help="Decimal places (0: whole points)")] = 0,
                 unit_value_kopecks: Annotated[int, typer.Option(
                     help="Money value of one whole point in kopecks")] = 100,
                 rounding: Annotated[str, typer.Option(help="floor|ceiling|half_up|half_even"
                                                       )] = "floor") -> None:
    """Add a point currency, e.g. `kopilka currency add stars Stars --unit-value-kopecks 0`."""
    from kopilka.domain.points import PointCurrency, Rounding

    try:
        currency = PointCurrency(code, name, scale, unit_value_kopecks, Rounding(rounding))
        build(get_settings()).add_currency(currency)
    except (DomainError, ValueError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"currency {code} added")


@currency_app.command("list")
def currency_list() -> None:
    """List the point currencies."""
    table = Table("code", "name", "scale", "kopecks per point", "rounding")
    for c in build(get_settings()).currencies():
        table.add_row(c.code, c.name, str(c.scale), str(c.unit_value_kopecks), c.earn_rounding)
    console.print(table)


@app.command("verify")
def verify_ledger() -> None:
    """Recompute every balance from the ledger entries and check every invariant."""
    db = _db(get_settings())
    with db.engine.connect() as conn:
        problems = verify(conn)
        facts = summary(conn)
    table = Table(title="ledger")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in facts.items():
        table.add_row(name, str(value))
    console.print(table)
    if problems:
        for problem in problems:
            err.print(f"[red]{escape(str(problem))}[/red]")
        err.print(f"[red bold]{len(problems)} problem(s) found[/red bold]")
        raise typer.Exit(1)
    console.print("[green bold]ledger verified: every invariant holds[/green bold]")


@jobs_app.command("run")
def jobs_run() -> None:
    """Run every due job once (activation, expiry, hold expiry, tier review, birthday
    rewards), in bounded chunks."""
    from kopilka.app.jobs import run_all

    kopilka = build(get_settings())
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def tick(name: str, n: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=None)
            progress.advance(tasks[name], n)

        reports = run_all(kopilka, progress=tick)
    for report in reports:
        console.print(f"{report.name}: {report.done} done, {report.skipped} already done")


@app.command()
def worker(interval: Annotated[float, typer.Option(help="Seconds between rounds")] = 60.0,
           rounds: Annotated[int, typer.Option(help="Stop after N rounds (0: run forever)")] = 0,
           ) -> None:
    """Run the background jobs on a schedule (activation, expiry, holds, tier review,
    birthday rewards).

    Every job is idempotent and re-checks each item under the member's lock, so several
    workers may run at once and a killed worker loses nothing: the next round resumes."""
    import time

    from kopilka.app.jobs import run_all

    kopilka = build(get_settings())
    done = 0
    while rounds == 0 or done < rounds:
        started = time.monotonic()
        for report in run_all(kopilka):
            if report.done:
                console.print(f"{report.name}: {report.done} done")
        done += 1
        if rounds and done >= rounds:
            break
        time.sleep(max(interval - (time.monotonic() - started), 0))


@app.command()
def demo(members: Annotated[int, typer.Option(min=1, max=1_000_000)] = 300,
         seed: int = 7,
         if_empty: Annotated[bool, typer.Option(help="Do nothing if members exist")] = False,
         ) -> None:
    """Fill the database with synthetic members, cards and ledger operations, and one console
    account per role."""
    from kopilka.entrypoints.cli.demo import demo_staff, generate

    settings = get_settings()
    if settings.env == "prod":
        err.print("[red]refused[/red]: demo data and demo passwords are not for production")
        raise typer.Exit(2)
    db = _db(settings)
    init_database(db)
    kopilka = build(settings, db=db)
    with db.read() as uow:
        existing = uow.members.count()
    if if_empty and existing:
        err.print(f"demo data present ({existing} members): skipping")
        return
    with _progress() as progress:
        task = progress.add_task("demo members", total=members)
        token = generate(kopilka, members=members, seed=seed,
                         advance=lambda: progress.advance(task))
    if db.engine.dialect.name == "postgresql":  # fresh tables: give the planner statistics
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    console.print(f"{members} demo members created. Demo API key (all scopes): [bold]{token}"
                  f"[/bold]")
    table = Table("console login", "password", title="Console: http://HOST:PORT/console/")
    for login, password in demo_staff(kopilka).items():
        table.add_row(login, password)
    console.print(table)


if __name__ == "__main__":
    app()
