#!/usr/bin/env python3
"""Ceiling benchmark: how close is `kopilka serve` to the least any Python HTTP earn can do?

    .venv/bin/python bench/ceiling.py [--pg-url URL] [--connections 32] [--seconds 10]

In one run, on the same PostgreSQL and the same members, side by side:
1. pgbench TPC-B (the yardstick of the targets);
2. HTTP earn through `kopilka serve`;
3. HTTP earn through bench/floor_app.py, a raw ASGI app with no framework, no validation
   library and no ORM that does only what an earn must (idempotency claim, row lock, kopilka's
   own planner and hot-path statements in one pipeline, commit), under the same uvicorn with
   the same number of processes.
Both servers are driven by the same wrk script with 32 connections. The floor row answers
"is the target reachable from Python on this machine at all?"; the ratio of the two rows says
how much a leaner kopilka request path could still gain.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger import (  # noqa: E402 - the shared bench helpers
    DEFAULT_PARTNER,
    PGBENCH,
    TARGET_P99_MS,
    TARGET_RATIO,
    Report,
    Row,
    Scratch,
    Server,
    add_shared_args,
    console,
    create_database,
    create_key,
    describe_machine,
    drop_database,
    enrol_members,
    log,
    make_library,
    print_machine,
    run_pgbench,
    run_wrk,
    stop_on_signals,
    stop_process,
)

try:
    from rich.table import Table
except ImportError as exc:  # pragma: no cover - a hint for the wrong interpreter
    sys.exit(f"bench/ceiling.py: {exc}. Run it with the project's venv (make install first).")

BENCH_DB = "kopilka_ceiling_bench"
PGBENCH_DB = "kopilka_ceiling_pgbench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_shared_args(p)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--members", type=int, default=2000)
    args = p.parse_args(argv)
    args.seconds = args.seconds or 10.0
    args.warmup = 1.0
    return args


def measure(scratch: Scratch, tmp: Path, report: Report, wrk: str, name: str, url: str,
            members: list[str], token: str, args: argparse.Namespace, **server: object) -> Row:
    srv = Server(scratch, tmp, url, args.pg_workers, args.server_pool, **server)
    ready = srv.wait_ready()
    log(f"{name}: ready in {ready:.1f} s; warm-up {args.warmup:g} s, then {args.seconds:g} s")
    run_wrk(wrk, srv, tmp, Row(name, "HTTP", "warm-up", "", ""), op="earn", ids=members,
            token=token, connections=args.connections, seconds=args.warmup, db=BENCH_DB)
    row = run_wrk(wrk, srv, tmp, Row(name, "HTTP", "earn", f"{args.connections} conns",
                                     f"{len(members):,} random"), op="earn", ids=members,
                  token=token, connections=args.connections, seconds=args.seconds,
                  db=BENCH_DB)
    stop_process(srv.proc)
    log(f"  {row.rate:,.0f} req/s, p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms"
        + (f", {row.errors} errors ({row.note})" if row.errors else ""))
    report.rows.append(row)
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    wrk = shutil.which("wrk")
    if wrk is None or not Path(PGBENCH).exists():
        sys.exit("bench/ceiling.py needs wrk and pgbench (apt-get install -y wrk postgresql)")
    report, scratch = Report(), Scratch()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="kopilka-ceiling-"))
        scratch.callback(shutil.rmtree, tmp, True, what=f"temp dir {tmp}")
        describe_machine(report, args.pg_url, wrk)
        run_pgbench(scratch, report, args.pg_url, args, db=PGBENCH_DB)
        url = create_database(scratch, args.pg_url, BENCH_DB)
        k = make_library(url, 16)
        members = enrol_members(k, args.members, threads=8)
        token = create_key(k.db, name="ceiling", partner_id=DEFAULT_PARTNER, scopes=["pos"],
                           now=datetime.now(UTC))
        k.db.dispose()
        kopilka = measure(scratch, tmp, report, wrk, "kopilka serve", url, members, token,
                          args)
        floor_app = [sys.executable, "-m", "uvicorn", "--factory", "floor_app:create",
                     "--app-dir", str(Path(__file__).parent), "--no-access-log",
                     "--log-level", "warning"]
        floor = measure(scratch, tmp, report, wrk, "floor (raw ASGI)", url, members, token,
                        args, app=floor_app,
                        env={"KOPILKA_FLOOR_URL": url, "KOPILKA_FLOOR_TOKEN": token,
                             "POOL": str(args.server_pool)})
        drop_database(args.pg_url, BENCH_DB)
    finally:
        scratch.close()
    print_machine(report, args)
    table = Table(title=f"HTTP earn on PostgreSQL, {args.connections} connections, "
                        f"{args.pg_workers} server processes, {args.seconds:g} s")
    for column in ("server", "req/s", "p50 ms", "p99 ms", "errors", "/ pgbench",
                   f"CPU % app/pg/load/other/all (of {len(os.sched_getaffinity(0)) * 100})"):
        table.add_column(column)
    for row in (kopilka, floor):
        table.add_row(row.backend, f"{row.rate:,.0f}", f"{row.p50_ms:.2f}", f"{row.p99_ms:.2f}",
                      str(row.errors), f"{row.rate / report.pgbench_tps:.2f}", row.cpu)
    console.print(table)
    share = kopilka.rate / max(floor.rate, 1e-9)
    console.print(f"kopilka / floor: {share:.2f} of the floor's rate. "
                  f"Targets: >= {TARGET_RATIO} x pgbench and p99 <= {TARGET_P99_MS:g} ms.")
    reachable = floor.rate / report.pgbench_tps >= TARGET_RATIO and \
        floor.p99_ms <= TARGET_P99_MS
    console.print("The floor itself " + ("[green]meets[/green]" if reachable else
                  "[red]does not meet[/red]") + " the targets on this machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
