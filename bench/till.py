#!/usr/bin/env python3
"""Till benchmark: calculate and confirm realistic receipts over HTTP on PostgreSQL, and the
pure receipt evaluation on one core.

    .venv/bin/python bench/till.py [--quick] [--pg-url URL] [--connections 32] [--seconds 10]
    .venv/bin/python bench/till.py --pure-only [--seconds 5] [--profile]

One run prints the machine and versions, pgbench TPC-B on the same PostgreSQL as a yardstick,
rate and p50/p99 latency of `POST /v1/receipts/calculate` and `POST /v1/receipts` (confirm)
against a real `kopilka serve` driven by wrk with 32 connections, the same against a
one-process `kopilka serve` on SQLite (as `make run` serves), the in-process calculate and
confirm on SQLite, the rate of `evaluate(program, receipt, member_state)` alone, and a summary
against the targets. Members have a year of history (`kopilka demo`'s generator: two program
versions, tiers, balances, returns); receipts have 5-30 lines from the demo catalogue and a
third of them redeem points. Everything it creates (databases kopilka_till_bench and
kopilka_till_pgbench, the server, temp files) is removed at the end, also on Ctrl-C or an error.
Shared machinery (pgbench, CPU accounting, the server, wrk, cleanup) comes from bench/ledger.py.
`--pure-only` runs only what the pure evaluation needs (members with history on SQLite in a temp
dir, then the pure phase and its report): a quick loop for work on `evaluate`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import random
import shutil
import signal
import statistics
import string
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import (  # noqa: E402 - after the path is set
    PGBENCH,
    Report,
    Row,
    Scratch,
    Server,
    add_shared_args,
    admin_engine,
    check_ledger,
    console,
    create_database,
    describe_machine,
    drop_database,
    fmt_ms,
    log,
    make_library,
    percentile,
    print_caveats,
    print_machine,
    run_in_process,
    run_pgbench,
    run_wrk_script,
    server_errors,
    stop_on_signals,
    stop_process,
)

try:
    import sqlalchemy as sa
    from rich.table import Table

    from kopilka.app import receipts as R
    from kopilka.app.library import Caller, Kopilka
    from kopilka.bootstrap import DEFAULT_PARTNER
    from kopilka.domain.evaluation import Line, evaluate
    from kopilka.entrypoints.cli.demo import CATALOGUE, STORES, Product, generate
    from kopilka.entrypoints.http.auth import create_key
except ImportError as exc:  # pragma: no cover - a hint for the wrong interpreter
    sys.exit(f"bench/till.py: {exc}. Run it with the project's venv: "
             f".venv/bin/python bench/till.py (make install first).")

BENCH_DB = "kopilka_till_bench"
PGBENCH_DB = "kopilka_till_pgbench"
TARGET_CONFIRM_RATIO = 0.5   # HTTP confirm on PostgreSQL / pgbench TPC-B tps
TARGET_CALCULATE_RATIO = 1.0  # HTTP calculate on PostgreSQL / pgbench TPC-B tps
TARGET_P99_MS = 25.0          # HTTP p99 at 32 connections (calculate and confirm)
TARGET_EVALUATIONS = 20_000   # pure evaluations per second on one core
TARGET_PROMOTED = 0.8         # HTTP calculate on PostgreSQL with PROMOTIONS active / without
# The target is on the calculate a till makes in production: over HTTP (API.md) on PostgreSQL,
# where this bench's other targets are. The SQLite pairs (the embedded database of `make run`,
# over HTTP and the library in process) are printed beside it for information: the same
# promotions' work weighs more on their cheaper base (bench/README.md).
INFORMATION = {"HTTP": "none: SQLite is the embedded database",
               "in-process": "none: a till calls over HTTP"}
PROMOTIONS = 50
MIN_LINES, MAX_LINES = 5, 30
REDEEM_MAX, REDEEM_NUMBER = 0.25, 0.10  # shares of receipts redeeming "max" / 100-500 points
SEED = 7
TILL = Caller(name="bench-till", partner_id=DEFAULT_PARTNER)

# Basket goods: everything a supermarket basket of 5-30 lines holds (groceries, household,
# tobacco, cheap electronics accessories), not cameras or phones.
BASKET: tuple[Product, ...] = tuple(
    p for p in CATALOGUE
    if not p.category.startswith("electronics/") or p.price <= 5_000_00)


# --- promotions ---------------------------------------------------------------------------------

def promotion_documents() -> list[dict[str, Any]]:
    """PROMOTIONS promotions over the basket's categories, of every reward kind, some with
    budgets, per-member limits, codes nobody presents, tiers or segments: what a busy
    retailer runs at once."""
    categories = sorted({p.category for p in BASKET})
    docs = []
    for i in range(PROMOTIONS):
        goods = {"categories": [categories[i % len(categories)]]}
        reward = [
            {"type": "percent_off", "percent": str(5 + i % 4 * 5), "goods": goods},
            {"type": "buy_x_get_y", "buy": {**goods, "quantity": 2},
             "get": {**goods, "quantity": 1}},
            {"type": "extra_points", "points": 50 + i},
            {"type": "points_multiplier", "factor": "2", "goods": goods},
            {"type": "amount_off", "amount": "100.00", "goods": goods},
            {"type": "cheapest_free", "group_size": 3, "goods": goods},
        ][i % 6]
        doc: dict[str, Any] = {"id": f"bench-{i:02d}", "name": f"Bench promotion {i}",
                               "priority": i % 7, "reward": reward}
        if i % 5 == 0:
            doc["limits"] = {"budget": "1000000.00", "per_member": {"count": 3,
                                                                    "period": "month"}}
        if i % 7 == 0:
            doc["exclusivity_group"] = f"group-{i % 3}"
        if i % 9 == 0:
            doc["requires_code"] = True
        if i % 11 == 0:
            doc["conditions"] = {"min_receipt": "3000.00"}
        if i % 13 == 0:
            doc["conditions"] = {"segments": ["vip"]}
        docs.append(doc)
    return docs


def pause_promotions(k: Kopilka) -> None:
    """Pause what the demo history left running: the baseline has no promotions."""
    for item in k.promotions(status="active", limit=500)["items"]:
        k.update_promotion(item["id"], {"status": "paused"})


def add_promotions(k: Kopilka) -> None:
    """The bench promotions, created paused (`set_promotions` switches them)."""
    for doc in promotion_documents():
        k.create_promotion(doc, status="paused")


def set_promotions(k: Kopilka, active: bool) -> None:
    for doc in promotion_documents():
        k.update_promotion(doc["id"], {"status": "active" if active else "paused"})


def promoted_and_plain(scratch: Scratch, pg_url: str, members: int, on_db: str,
                       off_db: str) -> tuple[str, str, list[str]]:
    """Two databases of the same history: `on_db` with the bench promotions active and a copy
    of it, `off_db`, with them paused, so neither is switched while measured (both dropped
    at the end). Their URLs and the members' ids."""
    on_url = create_database(scratch, pg_url, on_db)
    k = make_library(on_url, 4)
    ids = with_history(k, "PostgreSQL", members)
    pause_promotions(k)
    add_promotions(k)
    set_promotions(k, True)
    k.db.dispose()
    drop_database(pg_url, off_db)  # a leftover of an interrupted run
    engine = admin_engine(pg_url)
    with engine.connect() as conn:  # a copy of the whole history, promotions switched off
        conn.exec_driver_sql(f'CREATE DATABASE "{off_db}" TEMPLATE "{on_db}"')
    engine.dispose()
    scratch.callback(drop_database, pg_url, off_db, what=f"database {off_db}")
    off_url = sa.make_url(on_url).set(database=off_db).render_as_string(hide_password=False)
    k = make_library(off_url, 4)
    set_promotions(k, False)
    k.db.dispose()
    return on_url, off_url, ids


def merge(total: Row, part: Row, p50s: list[float]) -> None:
    """Add one round's measurement to `total`: operations, time and errors add up, p50 is the
    median of the rounds' (`p50s`, this one appended), p99 the worst, CPU the last round's."""
    total.ops += part.ops
    total.seconds += part.seconds
    total.errors += part.errors
    total.note = "; ".join(n for n in (total.note, part.note) if n)
    total.p99_ms = part.p99_ms if math.isnan(total.p99_ms) else max(total.p99_ms, part.p99_ms)
    total.cpu, total.other_cpu = part.cpu, part.other_cpu
    p50s.append(part.p50_ms)
    total.p50_ms = statistics.median(p50s)


def alternate(plain: Row, promoted: Row, rounds: int, k: Kopilka,
              measure: Callable[[Row, float], Row], seconds: float) -> list[float]:
    """Calculate without and with the bench promotions in alternating rounds of
    seconds / rounds each, so that both see the same machine (a neighbour's load, the
    database's growth) and their ratio is measured side by side. Returns each round's
    ratio (with / without)."""
    p50s: dict[str, list[float]] = {plain.operation: [], promoted.operation: []}
    ratios = []
    for n in range(rounds):
        rates = []
        for row, active in ((plain, False), (promoted, True)):
            set_promotions(k, active)
            part = measure(Row(row.backend, row.path, row.operation, row.concurrency,
                               row.members), seconds / rounds)
            merge(row, part, p50s[row.operation])
            rates.append(part.rate)
            log(f"  round {n + 1}/{rounds}, {row.operation}: {part.rate:,.0f} ops/s, "
                f"p50 {part.p50_ms:.2f} ms")
        ratios.append(rates[1] / rates[0] if rates[0] else math.nan)
    set_promotions(k, False)
    return ratios


def measure_phases(report: Report, k: Kopilka, label: Row, args: argparse.Namespace,
                   unit: str, measure: Callable[[Row, float, Any], Row], *, confirm: Any,
                   calculate: Any) -> None:
    """Confirm (the bench promotions made by the caller, and paused), then calculate without
    and with them in alternating rounds; `measure(row, seconds, what)` runs one phase of
    `what` (a wrk script, or a function to call) and fills `row`. The three rows go to the
    report."""
    where = f"{label.backend} {label.path}"
    log(f"{where} confirm, {label.concurrency}, {args.seconds:g} s")
    confirmed = measure(replace(label, operation="confirm"), args.seconds, confirm)
    plain = replace(label, operation="calculate")
    promoted = replace(label, operation=f"calculate, {PROMOTIONS} promotions")
    log(f"{where} calculate without and with {PROMOTIONS} promotions, {label.concurrency}, "
        f"{args.rounds} alternating rounds of {args.seconds / args.rounds:g} s each")
    ratios = alternate(plain, promoted, args.rounds, k,
                       lambda row, seconds: measure(row, seconds, calculate), args.seconds)
    report.notes.append(f"{where} calculate, {PROMOTIONS} promotions / none, round by round: "
                        + ", ".join(f"{r:.2f}" for r in ratios)
                        + f" (median {statistics.median(ratios):.2f}; the summary divides "
                        "the rounds' sums)")
    for row in (plain, promoted, confirmed):
        report.rows.append(row)
        log(f"  {row.operation}: {row.rate:,.0f} {unit}, p50 {row.p50_ms:.2f} ms, p99 "
            f"{row.p99_ms:.2f} ms" + (f", {row.errors} errors ({row.note})" if row.errors
                                      else ""))


# --- receipts -----------------------------------------------------------------------------------

def basket(rng: random.Random) -> tuple[Line, ...]:
    """5-30 distinct goods; weighed goods by the gram, others 1-3 pieces (as the Lua does)."""
    chosen = rng.sample(BASKET, rng.randint(MIN_LINES, MAX_LINES))
    return tuple(Line(line_id=str(i), sku=p.sku, name=p.name, category=p.category,
                      unit_price=p.price, discountable=p.discountable,
                      quantity=Decimal(f"{0.2 + rng.random() * 1.5:.3f}") if p.weighed
                      else Decimal(rng.randint(1, 3)))
                 for i, p in enumerate(chosen, 1))


def redeem(rng: random.Random) -> int | str:
    draw = rng.random()
    if draw < REDEEM_MAX:
        return "max"
    if draw < REDEEM_MAX + REDEEM_NUMBER:
        return 100 * rng.randint(1, 5)
    return 0


def receipt(rng: random.Random, member_id: str, receipt_id: str) -> R.ReceiptInput:
    return R.ReceiptInput(store_id=rng.choice(STORES)[0], receipt_id=receipt_id,
                          occurred_at=datetime.now(UTC).replace(microsecond=0),
                          lines=basket(rng), member={"member_id": member_id},
                          payment_methods=("card",), redeem_points=redeem(rng))


# The same receipts in Lua: each wrk thread builds 512 baskets of JSON lines at start, and every
# request picks one, a random member, store and redemption, and a receipt id unique per run,
# thread and request. $-placeholders are filled by string.Template.
WRK_TILL = string.Template("""
local ids = {$ids}
local stores = {$stores}
local products = {
$products
}
local token = "$token"
local path = "$path"
local run = "$run"
local counter = 0
local baskets = {}

function init(args)
  math.randomseed(os.time() * 1000 + tonumber(tag or "0") * 7919)
  for b = 1, 512 do
    local n = math.random($min_lines, $max_lines)
    local used, parts = {}, {}
    while #parts < n do
      local i = math.random(#products)
      if not used[i] then
        used[i] = true
        local p = products[i]
        local qty
        if p[2] then
          qty = string.format("%.3f", 0.2 + math.random() * 1.5)
        else
          qty = tostring(math.random(1, 3))
        end
        parts[#parts + 1] = '{"line_id":"' .. (#parts + 1) .. '",' .. p[1] ..
          ',"quantity":"' .. qty .. '"}'
      end
    end
    baskets[b] = table.concat(parts, ",")
  end
end

function request()
  counter = counter + 1
  local draw = math.random()
  local redeem = ""
  if draw < $redeem_max then
    redeem = ',"redeem_points":"max"'
  elseif draw < $redeem_any then
    redeem = ',"redeem_points":' .. (100 * math.random(1, 5))
  end
  local body = '{"store_id":"' .. stores[math.random(#stores)] ..
    '","receipt_id":"' .. run .. "-" .. (tag or "0") .. "-" .. counter ..
    '","occurred_at":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ") ..
    '","member":{"member_id":"' .. ids[math.random(#ids)] ..
    '"},"payment_methods":["card"],"lines":[' .. baskets[math.random(#baskets)] .. "]" ..
    redeem .. "}"
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
""")


def lua_product(p: Product) -> str:
    """{[==[<JSON members of a line>]==], weighed} (a long bracket string: no escaping)."""
    fields = json.dumps({"sku": p.sku, "name": p.name, "category": p.category,
                         "unit_price": f"{p.price // 100}.{p.price % 100:02d}",
                         "discountable": p.discountable}, ensure_ascii=False)[1:-1]
    assert "]==]" not in fields
    return f"  {{[==[{fields}]==], {'true' if p.weighed else 'false'}}},"


def till_script(path: str, ids: list[str], token: str) -> str:
    return WRK_TILL.substitute(
        ids=",".join(f'"{i}"' for i in ids), stores=",".join(f'"{s}"' for s, _ in STORES),
        products="\n".join(lua_product(p) for p in BASKET), token=token, path=path,
        run=uuid.uuid4().hex[:12], min_lines=MIN_LINES, max_lines=MAX_LINES,
        redeem_max=REDEEM_MAX, redeem_any=REDEEM_MAX + REDEEM_NUMBER)


# --- members with a year of history -------------------------------------------------------------

def with_history(k: Kopilka, backend: str, members: int) -> list[str]:
    """`kopilka demo`'s year of history for `members` members; their ids."""
    log(f"{backend}: a year of demo history for {members:,} members")
    started = time.perf_counter()
    done = [0]

    def advance() -> None:
        done[0] += 1
        if done[0] % max(1, members // 4) == 0:
            elapsed = time.perf_counter() - started
            log(f"  {done[0] * 100 // members}% of the year ({elapsed:.0f} s)")

    generate(k, members=members, seed=SEED, advance=advance)
    with k.db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT member_id FROM members WHERE status = 'active' ORDER BY member_id"))]
        facts = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT program_version) FROM receipts")).one()
    log(f"  {len(ids):,} members, {facts[0]:,} receipts under {facts[1]} program versions, "
        f"in {time.perf_counter() - started:.1f} s")
    return ids


def stored_receipts(k: Kopilka) -> int:
    with k.db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM receipts")).scalar_one()


# --- over HTTP: PostgreSQL, and SQLite as `make run` serves it ----------------------------------

def postgres_phases(report: Report, scratch: Scratch, tmp: Path, url: str,
                    args: argparse.Namespace) -> None:
    k = make_library(url, 10)
    scratch.callback(k.db.dispose, what="PostgreSQL engine")
    ids = with_history(k, "PostgreSQL", args.members)
    pause_promotions(k)
    add_promotions(k)
    http_phases(report, scratch, tmp, "PostgreSQL", url, k, ids, args,
                workers=args.pg_workers, db=sa.make_url(url).database)
    check_ledger(report, "PostgreSQL", k)


def http_phases(report: Report, scratch: Scratch, tmp: Path, backend: str, url: str,
                k: Kopilka, ids: list[str], args: argparse.Namespace, *, workers: int,
                db: str | None) -> None:
    """Confirm, then calculate without and with the bench promotions (made by the caller,
    paused), against a `kopilka serve` of `workers` processes on `url`; `db` is the
    PostgreSQL database whose backends the CPU column counts (None on SQLite)."""
    token = create_key(k.db, name="bench till", partner_id=DEFAULT_PARTNER, scopes=["pos"],
                       now=datetime.now(UTC))
    before = stored_receipts(k)
    k.db.dispose()  # leave the database's connections to the server
    log(f"{backend}: starting kopilka serve --workers {workers} "
        f"(KOPILKA_DB_POOL_SIZE={args.server_pool})")
    server = Server(scratch, tmp, url, workers, args.server_pool)
    ready = server.wait_ready()
    log(f"  ready in {ready:.1f} s at {server.base}; warming up {args.warmup:g} s")
    calculate, confirm = "/v1/receipts/calculate", "/v1/receipts"
    run_wrk_script(args.wrk, server, tmp, Row(backend, "HTTP", "warm-up", "", ""),
                   script=till_script(calculate, ids, token), connections=args.connections,
                   seconds=args.warmup, db=db)
    conns = f"{args.connections} conns"
    who = f"{len(ids):,} with history"
    warm_ups: list[str] = []
    warm_seconds = max(1, round(args.warmup))  # wrk runs whole seconds
    warm_confirms = 0  # answers to the confirm phase's warm-up (its receipts are stored too)

    def measure(label: Row, seconds: float, path: str) -> Row:
        """One phase of requests to `path`, after a warm-up that is not counted (as every
        in-process phase has): after the promotions are switched, every worker reads them
        again. The warm-up's rate is logged and reported. Each run has its own script, so
        its own receipt ids (a confirm must never repeat one the warm-up stored)."""
        nonlocal warm_confirms
        warm = run_wrk_script(args.wrk, server, tmp, replace(label, operation="warm-up"),
                              script=till_script(path, ids, token),
                              connections=args.connections, seconds=warm_seconds, db=db)
        warm_ups.append(f"{label.operation} {warm.rate:,.0f}")
        if path == confirm:
            warm_confirms += warm.ops
        return run_wrk_script(args.wrk, server, tmp, label, script=till_script(path, ids, token),
                              connections=args.connections, seconds=seconds, db=db)

    measure_phases(report, k, Row(backend, "HTTP", "", conns, who), args, "req/s",
                   measure, confirm=confirm, calculate=calculate)
    report.notes.append(f"HTTP phases on {backend} each began with {warm_seconds} s of "
                        "warm-up, not counted (req/s, in run order): " + "; ".join(warm_ups))
    if server.proc.poll() is not None:
        report.notes.append(f"{backend} server died during the run:\n{server.tail()}")
    stop_process(server.proc)
    errors = server_errors(server.log_path.read_text(errors="replace"))
    if errors:
        report.notes.append(f"[red]the {backend} server logged "
                            f"{sum(errors.values())} error(s): "
                            + "; ".join(f"{n} x {e[:200]}" for e, n in errors.items()) + "[/red]")
    confirmed = report.find(backend, "HTTP", "confirm", conns)
    added = stored_receipts(k) - before
    report.notes.append(f"{backend} receipts stored by the HTTP confirm phase and its warm-up: "
                        f"{added:,} (wrk counted {confirmed.ops if confirmed else 0:,} + "
                        f"{warm_confirms:,} answers; requests still in flight when wrk "
                        f"stops, up to one per connection each run, commit uncounted)")


# --- SQLite in-process, and the pure evaluation -------------------------------------------------

@dataclass
class Pure:
    receipts: int = 0
    seconds: float = 0.0
    p50_us: float = math.nan
    p99_us: float = math.nan
    lines: float = 0.0
    profile: str = ""

    @property
    def rate(self) -> float:
        return self.receipts / self.seconds if self.seconds else 0.0


def sqlite_phases(report: Report, scratch: Scratch, tmp: Path,
                  args: argparse.Namespace) -> Pure:
    url = f"sqlite:///{tmp / 'till.db'}"
    k = make_library(url, 8)
    scratch.callback(k.db.dispose, what="SQLite engine")
    ids = with_history(k, "SQLite", args.sqlite_members)
    pause_promotions(k)
    add_promotions(k)
    if args.wrk:  # as `make run` serves: one process (SQLite has one writer)
        http_phases(report, scratch, tmp, "SQLite", url, k, ids, args, workers=1, db=None)
    else:
        report.notes.append("[red]wrk not found: HTTP phases on SQLite skipped. Install it: "
                            "apt-get install -y wrk[/red]")
    who = f"{len(ids):,} with history"
    run = uuid.uuid4().hex[:8]

    def calculate(rng: random.Random, _seq: str) -> None:
        k.calculate(receipt(rng, rng.choice(ids), "calc"), caller=TILL)

    def confirm(rng: random.Random, seq: str) -> None:
        k.confirm(receipt(rng, rng.choice(ids), f"{run}-{seq}"), caller=TILL)

    measure_phases(report, k, Row("SQLite", "in-process", "", "1 thread", who), args, "ops/s",
                   lambda label, seconds, work: run_in_process(
                       label, work, threads=1, seconds=seconds,
                       warmup=args.warmup * seconds / args.seconds, db=None),
                   confirm=confirm, calculate=calculate)
    pure = pure_evaluation(k, ids, args)
    check_ledger(report, "SQLite", k)
    return pure


def pure_phase_only(scratch: Scratch, tmp: Path, args: argparse.Namespace) -> Pure:
    """--pure-only: the SQLite members and program versions the pure phase reads, then the pure
    phase (no HTTP, no in-process till phases, no ledger check)."""
    url = f"sqlite:///{tmp / 'till.db'}"
    k = make_library(url, 8)
    scratch.callback(k.db.dispose, what="SQLite engine")
    ids = with_history(k, "SQLite", args.sqlite_members)
    return pure_evaluation(k, ids, args)


def pure_evaluation(k: Kopilka, ids: list[str], args: argparse.Namespace) -> Pure:
    """`evaluate` alone in a loop over pre-built receipts, with the program in force and each
    member's real state (tier, spendable points, tier progress) read once beforehand."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    cases = []
    with k.db.read() as uow:
        for i in range(args.pure_receipts):
            ri = receipt(rng, rng.choice(ids), f"pure-{i}")
            ctx = R.context(uow, ri, now, lock=False)
            cases.append((ctx.program, ri.domain(), ctx.state))
    result = Pure(lines=sum(len(c[1].lines) for c in cases) / len(cases))
    log(f"pure evaluation: {len(cases):,} receipts ({result.lines:.1f} lines on average), "
        f"1 thread, {args.seconds:g} s")
    for program, rcpt, state in cases[:200]:  # warm-up
        evaluate(program, rcpt, state)
    samples: list[int] = []
    clock = time.perf_counter_ns
    end = clock() + int(args.seconds * 1e9)
    started = clock()
    while True:
        for program, rcpt, state in cases:
            begin = clock()
            evaluate(program, rcpt, state)
            samples.append(clock() - begin)
        if clock() >= end:
            break
    result.seconds = (clock() - started) / 1e9
    result.receipts = len(samples)
    samples.sort()
    result.p50_us, result.p99_us = percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3
    log(f"  {result.rate:,.0f} receipts/s, p50 {result.p50_us:.0f} us, p99 {result.p99_us:.0f} us")
    if args.profile or result.rate < TARGET_EVALUATIONS:
        profiler = cProfile.Profile()
        profiler.enable()
        for program, rcpt, state in cases:
            evaluate(program, rcpt, state)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(18)
        result.profile = out.getvalue()
    return result


# --- output -------------------------------------------------------------------------------------

def print_report(report: Report, pure: Pure | None, args: argparse.Namespace) -> None:
    ncpu = len(os.sched_getaffinity(0))
    print_machine(report, args)
    table = Table(title=f"Till operations ({args.seconds:g} s per phase, {args.warmup:g} s "
                        f"warm-up excluded; receipts of {MIN_LINES}-{MAX_LINES} lines, "
                        f"{REDEEM_MAX + REDEEM_NUMBER:.0%} redeeming points)")
    for name, justify in (("backend", "left"), ("path", "left"), ("operation", "left"),
                          ("concurrency", "left"), ("members", "left"), ("ops", "right"),
                          ("rate ops/s", "right"), ("p50 ms", "right"), ("p99 ms", "right"),
                          ("errors", "right"),
                          (f"CPU % app/pg/load/other/all (of {ncpu * 100})", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in report.rows:
        table.add_row(r.backend, r.path, r.operation, r.concurrency, r.members, f"{r.ops:,}",
                      f"{r.rate:,.0f}", fmt_ms(r.p50_ms), fmt_ms(r.p99_ms),
                      f"[red]{r.errors:,}[/red]" if r.errors else "0", r.cpu)
    if pure is not None and pure.receipts:
        table.add_row("-", "pure evaluate()", "evaluate", "1 thread", "real states",
                      f"{pure.receipts:,}", f"{pure.rate:,.0f}", f"{pure.p50_us / 1e3:.3f}",
                      f"{pure.p99_us / 1e3:.3f}", "0", "")
    console.print(table)
    console.print("[dim]HTTP rows: wrk with one connection per simulated till, every request a "
                  "new receipt (confirm: a unique receipt_id), a random member with a year of "
                  "history; CPU: app = the server and its workers, pg = PostgreSQL backends of "
                  "the bench database and background processes, load = wrk, other = everything "
                  "else on the machine. In-process rows call the library from one thread on "
                  "SQLite. The pure row times evaluate(program, receipt, member_state) alone."
                  "[/dim]")
    for row in report.rows:
        if row.errors:
            console.print(f"[red]{row.backend} {row.path} {row.operation}: {row.errors} "
                          f"errors: {row.note}[/red]")
    for note in report.notes:
        console.print(note)
    if pure is not None and pure.profile:
        console.print("Profile of the pure evaluation (one pass over the pre-built receipts, "
                      "by own time):")
        console.print(pure.profile, markup=False, highlight=False)

    summary = Table(title="Summary against the targets")
    for name in ("figure", "measured", "target", "status"):
        summary.add_column(name)

    def status(ok: bool | None) -> str:
        if ok is None:
            return "[yellow]NOT MEASURED[/yellow]"
        return "[green]MET[/green]" if ok else "[red]NOT MET[/red]"

    conns = f"{args.connections} conns"
    tps = report.pgbench_tps
    http_targets = () if args.pure_only else (("confirm", TARGET_CONFIRM_RATIO),
                                              ("calculate", TARGET_CALCULATE_RATIO))
    for operation, target in http_targets:
        row = report.find("PostgreSQL", "HTTP", operation, conns)
        name = f"HTTP {operation} on PostgreSQL / pgbench TPC-B"
        if row and tps:
            ratio = row.rate / tps
            summary.add_row(name, f"{ratio:.2f} ({row.rate:,.0f} / {tps:,.0f} tps)",
                            f">= {target}", status(ratio >= target and not row.errors))
        else:
            summary.add_row(name, "-", f">= {target}", status(None))
    for operation in () if args.pure_only else ("calculate", "confirm"):
        row = report.find("PostgreSQL", "HTTP", operation, conns)
        summary.add_row(f"HTTP {operation} p99 at {args.connections} connections",
                        f"{row.p99_ms:.1f} ms" if row else "-", f"<= {TARGET_P99_MS:g} ms",
                        status(row.p99_ms <= TARGET_P99_MS if row else None))
    promoted = f"calculate, {PROMOTIONS} promotions"
    for backend, path, concurrency in (("PostgreSQL", "HTTP", conns),
                                       ("SQLite", "HTTP", conns),
                                       ("SQLite", "in-process", "1 thread")):
        base = report.find(backend, path, "calculate", concurrency)
        busy = report.find(backend, path, promoted, concurrency)
        name = f"{path} calculate on {backend}: {PROMOTIONS} promotions / none"
        target = backend == "PostgreSQL"
        wanted = f">= {TARGET_PROMOTED}" if target else INFORMATION[path]
        if base and busy and base.rate:
            ratio = busy.rate / base.rate
            summary.add_row(name, f"{ratio:.2f} ({busy.rate:,.0f} / {base.rate:,.0f})",
                            wanted, status(ratio >= TARGET_PROMOTED) if target
                            else "[dim]for information[/dim]")
        elif not args.pure_only and target:
            summary.add_row(name, "-", wanted, status(None))
    summary.add_row("pure evaluate() receipts/s, one core",
                    f"{pure.rate:,.0f}/s" if pure and pure.receipts else "-",
                    f">= {TARGET_EVALUATIONS:,}/s",
                    status(pure.rate >= TARGET_EVALUATIONS if pure and pure.receipts else None))
    console.print(summary)
    print_caveats(args)


# --- main ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="2 s phases, few members: a smoke check in about a minute")
    add_shared_args(p)
    p.add_argument("--connections", type=int, default=32,
                   help="concurrent HTTP connections and pgbench clients")
    p.add_argument("--members", type=int, default=None,
                   help="members with a year of history on PostgreSQL (default 400; 40 quick)")
    p.add_argument("--sqlite-members", type=int, default=None,
                   help="members with history on SQLite (default 150; 25 quick)")
    p.add_argument("--rounds", type=int, default=None,
                   help="alternating rounds of calculate without and with the promotions "
                        "(default 3; 2 quick), --seconds shared between them")
    p.add_argument("--pure-receipts", type=int, default=2000,
                   help="distinct pre-built receipts the pure evaluation cycles over")
    p.add_argument("--profile", action="store_true",
                   help="print the pure evaluation's profile even when the target is met")
    p.add_argument("--pure-only", action="store_true",
                   help="only the pure evaluation (and the SQLite members it reads); no "
                        "PostgreSQL, HTTP or in-process till phases")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.members is None:
        args.members = 40 if args.quick else 400
    if args.sqlite_members is None:
        args.sqlite_members = 25 if args.quick else 150
    args.warmup = 0.5 if args.quick else 1.0
    if args.rounds is None:
        args.rounds = 2 if args.quick else 3
    if min(args.members, args.sqlite_members, args.connections, args.pure_receipts,
           args.rounds) < 1 \
            or args.seconds <= 0:
        p.error("--members, --sqlite-members, --connections, --pure-receipts, --rounds and "
                "--seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    args.wrk = shutil.which("wrk")
    report = Report()
    pure: Pure | None = None
    scratch = Scratch()
    started = time.perf_counter()
    failed = False
    try:
        tmp = Path(tempfile.mkdtemp(prefix="kopilka-till-"))
        scratch.callback(shutil.rmtree, tmp, True, what=f"temp dir {tmp}")
        pg_url = None if args.no_postgres or args.pure_only else args.pg_url
        describe_machine(report, pg_url, args.wrk)
        if args.pure_only:
            pure = pure_phase_only(scratch, tmp, args)
        elif pg_url:
            if Path(PGBENCH).exists():
                run_pgbench(scratch, report, pg_url, args, db=PGBENCH_DB)
            else:
                report.notes.append(f"[red]{PGBENCH} not found: no pgbench baseline[/red]")
            if args.wrk:
                url = create_database(scratch, pg_url, BENCH_DB)
                postgres_phases(report, scratch, tmp, url, args)
                drop_database(pg_url, BENCH_DB)
            else:
                report.notes.append("[red]wrk not found: HTTP phases skipped. Install it: "
                                    "apt-get install -y wrk[/red]")
        if not args.pure_only:
            pure = sqlite_phases(report, scratch, tmp, args)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: cleaning up[/yellow]")
        failed = True
    except Exception:
        console.print_exception(max_frames=8)
        failed = True
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        scratch.close()
        signal.signal(signal.SIGINT, previous)
    if report.rows or report.pgbench_tps is not None or pure is not None:
        print_report(report, pure, args)
    log(f"done in {time.perf_counter() - started:.0f} s; databases, server and temp files "
        f"removed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
