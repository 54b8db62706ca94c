#!/usr/bin/env python3
"""Ledger benchmark: earn and spend on PostgreSQL and SQLite, in-process and over HTTP.

    .venv/bin/python bench/ledger.py [--quick] [--pg-url URL] [--connections 32] [--seconds 10]

One run prints the machine and versions, pgbench TPC-B on the same PostgreSQL as a yardstick,
rate and p50/p99 latency of earn and spend through the library and through a real
`kopilka serve` driven by wrk, and a summary against the targets. Everything it creates
(databases kopilka_bench and kopilka_bench_pgbench, the server, temp files) is removed at the
end, also on Ctrl-C or an error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

try:
    import sqlalchemy as sa
    from rich.console import Console
    from rich.table import Table

    import kopilka
    from kopilka.adapters.sql.database import SqlDatabase
    from kopilka.adapters.sql.engine import normalise_url
    from kopilka.adapters.sql.verify import summary as ledger_summary
    from kopilka.adapters.sql.verify import verify as ledger_verify
    from kopilka.app.library import Caller, Kopilka
    from kopilka.app.members import Enrolment
    from kopilka.bootstrap import DEFAULT_PARTNER, build, init_database
    from kopilka.config import Settings
    from kopilka.entrypoints.http.auth import create_key
except ImportError as exc:  # pragma: no cover - a hint for the wrong interpreter
    sys.exit(f"bench/ledger.py: {exc}. Run it with the project's venv: "
             f".venv/bin/python bench/ledger.py (make install first).")

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "kopilka_bench"
PGBENCH_DB = "kopilka_bench_pgbench"
PGBENCH_SCALE = 10
PGBENCH = "/usr/bin/pgbench"
TARGET_RATIO = 0.5          # HTTP earn on PostgreSQL / pgbench TPC-B tps
TARGET_P99_MS = 25.0        # HTTP earn p99 at 32 connections
TARGET_SQLITE_EARN = 5_000  # in-process earns per second on SQLite
EARN_POINTS = 10
SPEND_POINTS = 1
FUND_POINTS = 1_000_000         # each member, so spends never run dry
HOT_FUND_POINTS = 1_000_000_000  # the hot member
BENCH_CALLER = Caller(name="bench", partner_id=DEFAULT_PARTNER)
console = Console(highlight=False, width=max(170, shutil.get_terminal_size((170, 40)).columns))


def log(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


# --- measurements ---------------------------------------------------------------------------

@dataclass
class Row:
    backend: str
    path: str          # in-process / HTTP
    operation: str
    concurrency: str
    members: str
    ops: int = 0
    seconds: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    errors: int = 0
    cpu: str = ""
    other_cpu: float = 0.0
    note: str = ""

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Report:
    machine: list[tuple[str, str]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    pgbench_tps: float | None = None
    pgbench_latency_ms: float | None = None
    pgbench_cpu: str = ""
    notes: list[str] = field(default_factory=list)

    def find(self, backend: str, path: str, operation: str, concurrency: str,
             members: str | None = None) -> Row | None:
        for row in self.rows:
            if (row.backend, row.path, row.operation, row.concurrency) == (
                    backend, path, operation, concurrency) and members in (None, row.members):
                return row
        return None


def percentile(sorted_values: list[int], q: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1] / 1e6


# --- CPU accounting (2 cores are shared by the app, PostgreSQL and the load generator) -------

CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_ADDRESS = re.compile(r"^(\[local\]|[\d.:a-f]+\(\d+\))$")


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (comm, ppid, cpu seconds) for every process."""
    table: dict[int, tuple[str, int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        close = stat.rfind(")")
        comm = stat[stat.find("(") + 1:close]
        rest = stat[close + 2:].split()
        table[int(entry.name)] = (comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK)
    return table


def _postgres_kind(pid: int, db: str | None) -> str:
    """'ours' (a backend of `db` or a shared background process) or 'other' (another db)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "other"
    is_backend = any(CLIENT_ADDRESS.match(token) for token in title)
    if not is_backend:
        return "ours"  # postmaster, walwriter, checkpointer...: shared, counted as PostgreSQL
    return "ours" if db is not None and db in title else "other"


def _descendants(table: dict[int, tuple[str, int, float]], root: int) -> set[int]:
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found & table.keys()


def _cpu_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def machine_busy(seconds: float = 1.0) -> float:
    """How busy the machine is right now, in % of one core."""
    before = _cpu_busy()
    time.sleep(seconds)
    after = _cpu_busy()
    share = (after[0] - before[0]) / max(1, after[1] - before[1])
    return 100 * share * (os.cpu_count() or 1)


class CpuMeter:
    """CPU used during a phase, in % of one core, split into: app (this process, or the server
    and its workers), pg (PostgreSQL backends of our database plus its background processes),
    load (wrk or pgbench: reaped children) and other (everything else on the machine, e.g. other
    databases' backends and other people's processes)."""

    SAMPLE_SECONDS = 0.5  # processes that exit mid-phase (pgbench's backends) are seen

    def __init__(self, app_root: int | None, db: str | None) -> None:
        self.app_root = app_root  # None: this process (in-process phases)
        self.db = db
        self._kinds: dict[int, str] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _snapshot(self) -> dict:
        table = _processes()
        app_pids = _descendants(table, self.app_root) if self.app_root else set()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        pg = {}
        for pid, (name, _, cpu) in table.items():
            if name == "postgres":
                if pid not in self._kinds:
                    self._kinds[pid] = _postgres_kind(pid, self.db)
                if self._kinds[pid] == "ours":
                    pg[pid] = cpu
        return {"wall": time.perf_counter(), "busy": _cpu_busy(),
                "self": sum(os.times()[:2]), "children": children.ru_utime + children.ru_stime,
                "app": {p: table[p][2] for p in app_pids}, "pg": pg}

    def _merge(self, snap: dict) -> None:
        for key in ("app", "pg"):
            seen = self.seen[key]
            for pid, cpu in snap[key].items():
                seen[pid] = max(cpu, seen.get(pid, 0.0))

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_SECONDS):
            self._merge(self._snapshot())

    def __enter__(self) -> CpuMeter:
        self.start = self._snapshot()
        self.seen: dict[str, dict[int, float]] = {"app": {}, "pg": {}}
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self.end = self._snapshot()
        self._merge(self.end)

    def shares(self) -> dict[str, float]:
        s, e = self.start, self.end
        wall = max(1e-9, e["wall"] - s["wall"])

        def delta(key: str) -> float:
            return sum(c - s[key].get(p, 0.0) for p, c in self.seen[key].items())

        app = e["self"] - s["self"] if self.app_root is None else delta("app")
        pg, load = delta("pg"), e["children"] - s["children"]
        busy = (e["busy"][0] - s["busy"][0]) / max(1, e["busy"][1] - s["busy"][1])
        total = 100 * busy * (os.cpu_count() or 1)
        out = {"app": 100 * app / wall, "pg": 100 * pg / wall, "load": 100 * load / wall}
        out["other"] = max(0.0, total - sum(out.values()))
        out["all"] = total
        return out

    def summary(self) -> str:
        return "/".join(f"{v:.0f}" for v in self.shares().values())


# --- resources and cleanup --------------------------------------------------------------------

class Scratch:
    """Everything the run creates, removed in reverse order however the run ends."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()

    def callback(self, fn: Callable[..., object], *args: object, what: str) -> None:
        def safe() -> None:
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - keep cleaning up the rest
                console.print(f"[red]cleanup of {what} failed: {exc}[/red]")
        self.stack.callback(safe)

    def close(self) -> None:
        self.stack.close()


def admin_engine(pg_url: str) -> sa.Engine:
    return sa.create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT",
                            poolclass=sa.pool.NullPool)


def drop_database(pg_url: str, name: str) -> None:
    engine = admin_engine(pg_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def create_database(scratch: Scratch, pg_url: str, name: str) -> str:
    """A fresh database (a leftover of an interrupted run is dropped first); its URL."""
    drop_database(pg_url, name)
    engine = admin_engine(pg_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    scratch.callback(drop_database, pg_url, name, what=f"database {name}")
    return sa.make_url(normalise_url(pg_url)).set(database=name).render_as_string(
        hide_password=False)


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process we started in its own session, with everything it forked."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stray workers of a parent already gone
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- machine and versions ---------------------------------------------------------------------

def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _ram() -> str:
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def tool_version(cmd: list[str]) -> str:
    """The first line a tool prints of its version, or "not found"."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "?"


ENGINE_STATES = {"compiled": "compiled by mypyc (make install)",
                 "source": "Python source (not compiled, or KOPILKA_ENGINE=source)",
                 "stale": "Python source: the compiled build is older than its source"}


def describe_machine(report: Report, pg_url: str | None, wrk: str | None, *,
                     load_tools: bool = True) -> None:
    """The machine and versions for the report; `load_tools`: also pgbench and wrk (`wrk`:
    its path, None when missing), for the benches that run them."""
    ncpu = os.cpu_count() or 1
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    busy = machine_busy()
    m = report.machine
    m.append(("CPUs (nproc)", f"{len(os.sched_getaffinity(0))} of {ncpu}"))
    m.append(("CPU model", _cpu_model()))
    m.append(("RAM", _ram()))
    m.append(("OS", f"{platform.system()} {platform.release()}"))
    m.append(("load at start", f"load average {load}; CPU busy {busy:.0f}% of "
                               f"{ncpu * 100}% over 1 s before the run"))
    m.append(("Python", f"{platform.python_version()} ({sys.executable})"))
    m.append(("SQLite", f"{sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"))
    m.append(("promotions engine", ENGINE_STATES.get(kopilka.ENGINE_STATE, kopilka.ENGINE_STATE)))
    for package in ("kopilka", "sqlalchemy", "psycopg", "psycopg-binary", "fastapi", "uvicorn",
                    "uvloop", "httptools"):
        m.append((package, _version(package)))
    if load_tools:
        m.append(("pgbench", tool_version([PGBENCH, "--version"])))
        m.append(("wrk", tool_version([wrk, "--version"]) if wrk else "not found"))
    if pg_url:
        try:
            engine = admin_engine(pg_url)
            with engine.connect() as conn:
                version = conn.exec_driver_sql("SHOW server_version").scalar_one()
                settings = {name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                            for name in ("max_connections", "shared_buffers",
                                         "synchronous_commit", "fsync")}
            engine.dispose()
            m.append(("PostgreSQL", f"{version} at {sa.make_url(pg_url).host}:"
                                    f"{sa.make_url(pg_url).port or 5432}"))
            m.append(("PostgreSQL settings", ", ".join(f"{k}={v}" for k, v in settings.items())))
        except sa.exc.SQLAlchemyError as exc:
            m.append(("PostgreSQL", f"unreachable: {exc.__class__.__name__}"))


# --- pgbench ----------------------------------------------------------------------------------

def run_pgbench(scratch: Scratch, report: Report, pg_url: str, args: argparse.Namespace,
                *, db: str = PGBENCH_DB) -> None:
    """pgbench TPC-B in a scratch database `db` (dropped afterwards): report.pgbench_*."""
    url = sa.make_url(normalise_url(pg_url))
    conn_args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                 "-U", url.username or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    create_database(scratch, pg_url, db)
    log(f"pgbench: initialising scale {PGBENCH_SCALE} in {db}")
    init = subprocess.run([PGBENCH, "-i", "-s", str(PGBENCH_SCALE), "-q", *conn_args,
                           db], env=env, capture_output=True, text=True)
    if init.returncode != 0:
        raise RuntimeError(f"pgbench -i failed ({init.returncode}):\n{init.stderr}")
    log(f"pgbench: TPC-B, {args.connections} clients, 2 threads, {args.seconds:g} s, prepared")
    with CpuMeter(None, db) as cpu:
        out = subprocess.run([PGBENCH, "-c", str(args.connections), "-j", "2",
                              "-T", str(max(1, round(args.seconds))), "-M", "prepared",
                              *conn_args, db],
                             env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    shares = cpu.shares()
    report.pgbench_cpu = (f"pg {shares['pg']:.0f}, pgbench {shares['load']:.0f}, other "
                          f"{shares['other']:.0f}, all {shares['all']:.0f}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    if tps is None:
        raise RuntimeError(f"could not parse pgbench output:\n{out.stdout}\n{out.stderr}")
    report.pgbench_tps = float(tps.group(1))
    report.pgbench_latency_ms = float(lat.group(1)) if lat else None
    drop_database(pg_url, db)  # free its disk and buffers before our phases
    log(f"pgbench: {report.pgbench_tps:,.0f} tps")


# --- the library, in-process ------------------------------------------------------------------

def make_library(url: str, pool_size: int) -> Kopilka:
    db = SqlDatabase(url, pool_size=pool_size)
    init_database(db)
    settings = Settings(database_url=url, env="test", otp_sender="memory",
                        db_pool_size=pool_size)
    return build(settings, db=db)


def enrol_members(k: Kopilka, count: int, threads: int) -> list[str]:
    """Enrol and fund `count` members through the library; the first is the hot member."""
    def one(i: int) -> str:
        cmd = Enrolment(phone=f"+7999{i:07d}", consents={"personal_data": True})
        member_id = k.enrol(cmd, caller=BENCH_CALLER).body["member_id"]
        k.earn(member_id, HOT_FUND_POINTS if i == 0 else FUND_POINTS, caller=BENCH_CALLER,
               reason="bench funding")
        return member_id

    if threads <= 1:
        return [one(i) for i in range(count)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def run_in_process(label: Row, work: Callable[[random.Random, str], object], *, threads: int,
                   seconds: float, warmup: float, db: str | None) -> Row:
    """Call `work` in a closed loop from `threads` threads; time each call."""
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)
    samples: list[list[int]] = [[] for _ in range(threads)]
    errors = [0] * threads
    first_error: list[str] = []
    window: dict[str, float] = {}

    def worker(t: int) -> None:
        rng = random.Random(t * 7919 + 1)
        lat = samples[t]
        counter = itertools.count()
        barrier.wait()
        measure_from, end = window["from"], window["end"]
        while not stop.is_set():
            begin = time.perf_counter()
            if begin >= end:
                break
            try:
                work(rng, f"{t}-{next(counter)}")
                ok = True
            except Exception as exc:  # noqa: BLE001 - counted and reported
                ok = False
                if not first_error:
                    first_error.append(f"{exc.__class__.__name__}: {exc}"[:200])
            if begin >= measure_from:
                if ok:
                    lat.append(int((time.perf_counter() - begin) * 1e9))
                else:
                    errors[t] += 1

    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for th in pool:
        th.start()
    try:
        with CpuMeter(None, db) as cpu:
            now = time.perf_counter()
            window["from"], window["end"] = now + warmup, now + warmup + seconds
            barrier.wait()
            for th in pool:
                while th.is_alive():
                    th.join(0.2)
    finally:
        stop.set()
    all_samples = sorted(itertools.chain.from_iterable(samples))
    label.ops = len(all_samples)
    label.seconds = seconds
    label.p50_ms, label.p99_ms = percentile(all_samples, 50), percentile(all_samples, 99)
    label.errors = sum(errors)
    label.cpu = cpu.summary()
    label.other_cpu = cpu.shares()["other"]
    if first_error:
        label.note = first_error[0]
    return label


def in_process_phases(report: Report, backend: str, k: Kopilka, members: list[str],
                      args: argparse.Namespace, thread_counts: tuple[int, ...],
                      db: str | None) -> None:
    run = uuid.uuid4().hex[:8]
    n = len(members)
    who = f"{n:,} random"

    def earn(rng: random.Random, _seq: str) -> None:
        k.earn(members[rng.randrange(n)], EARN_POINTS, caller=BENCH_CALLER)

    def earn_keyed(rng: random.Random, seq: str) -> None:
        k.earn(members[rng.randrange(n)], EARN_POINTS, caller=BENCH_CALLER,
               idempotency_key=f"{run}-e-{seq}")

    def spend(rng: random.Random, _seq: str) -> None:
        k.spend(members[rng.randrange(n)], SPEND_POINTS, caller=BENCH_CALLER)

    phases: list[tuple[str, Callable[[random.Random, str], None], int]] = []
    phases += [("earn", earn, t) for t in thread_counts]
    if not args.quick:  # the HTTP phases exercise idempotency keys in --quick too
        phases.append(("earn + Idempotency-Key", earn_keyed, 1))
    phases += [("spend", spend, t) for t in thread_counts]
    for operation, work, threads in phases:
        concurrency = f"{threads} thread" + ("s" if threads > 1 else "")
        log(f"{backend} in-process {operation}, {concurrency}, {args.seconds:g} s")
        row = run_in_process(Row(backend, "in-process", operation, concurrency, who), work,
                             threads=threads, seconds=args.seconds, warmup=args.warmup, db=db)
        report.rows.append(row)
        log(f"  {row.rate:,.0f} ops/s, p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms"
            + (f", {row.errors} errors ({row.note})" if row.errors else ""))


# --- HTTP: a real server driven by wrk ----------------------------------------------------------

WRK_SCRIPT = """
local ids = {%(ids)s}
local token = "%(token)s"
local path = "/points/%(op)s"
local run = "%(run)s"
local body = '{"points": %(points)d}'
local counter = 0

function init(args)
  math.randomseed(os.time() * 1000 + tonumber(tag or "0") * 7919)
end

function request()
  counter = counter + 1
  local id = ids[math.random(#ids)]
  return wrk.format("POST", "/v1/members/" .. id .. path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = run .. "-" .. (tag or "0") .. "-" .. counter,
  }, body)
end
"""

# Shared by every wrk script (bench/till.py too): numbers each thread ("tag"), keeps the
# first error body, and prints one KOPILKA_BENCH line that `run_wrk_script` parses.
WRK_REPORT = """
local threads = {}
first_error = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("tag", tostring(#threads))
end

function response(status, headers, body)
  if status >= 300 and first_error == "" then
    first_error = status .. " " .. string.sub(body or "", 1, 200)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  for _, t in ipairs(threads) do
    local first = t:get("first_error")
    if first and first ~= "" then
      io.write("KOPILKA_FIRST_ERROR " .. string.gsub(first, "\\n", " ") .. "\\n")
      break
    end
  end
  io.write(string.format(
    "KOPILKA_BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
    "connect=%d read=%d write=%d timeout=%d status=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


class Server:
    """`kopilka serve` in its own session, so that it and its workers can be stopped."""

    def __init__(self, scratch: Scratch, tmp: Path, url: str, workers: int,
                 pool_size: int, *, app: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        """`app`: another server command to run instead of `kopilka serve` (it gets
        `--host`, `--port` and `--workers` appended), with `env` added to the environment."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        env = dict(os.environ, KOPILKA_DATABASE_URL=url, KOPILKA_DB_POOL_SIZE=str(pool_size),
                   KOPILKA_LOG_LEVEL="WARNING", KOPILKA_OTP_SENDER="memory", **(env or {}))
        cmd = [*(app or [sys.executable, "-m", "kopilka.entrypoints.cli.main", "serve"]),
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed by the scratch stack
        scratch.callback(self.log_file.close, what="server log")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        scratch.callback(stop_process, self.proc, what=f"server pid {self.proc.pid}")

    def wait_ready(self, timeout: float = 60.0) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout:g} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_wrk(wrk: str, server: Server, tmp: Path, label: Row, *, op: str, ids: list[str],
            token: str, connections: int, seconds: float, db: str | None) -> Row:
    script = WRK_SCRIPT % {
        "ids": ",".join(f'"{i}"' for i in ids), "token": token, "op": op,
        "run": uuid.uuid4().hex[:12], "points": EARN_POINTS if op == "earn" else SPEND_POINTS}
    return run_wrk_script(wrk, server, tmp, label, script=script, connections=connections,
                          seconds=seconds, db=db)


def run_wrk_script(wrk: str, server: Server, tmp: Path, label: Row, *, script: str,
                   connections: int, seconds: float, db: str | None) -> Row:
    """Run wrk with a Lua `script` (WRK_REPORT is appended) and fill `label` from its report."""
    path = tmp / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    path.write_text(script + WRK_REPORT, encoding="utf-8")
    duration = max(1, round(seconds))
    cmd = [wrk, "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
           "-s", str(path), server.base]
    with CpuMeter(server.proc.pid, db) as cpu:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    path.unlink(missing_ok=True)
    found = re.search(r"KOPILKA_BENCH (.*)", out.stdout)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    values = {k: int(v) for k, v in (kv.split("=") for kv in found.group(1).split())}
    errors = values["status"] + values["connect"] + values["read"] + values["write"] + \
        values["timeout"]
    label.ops = values["requests"] - values["status"]
    label.seconds = values["duration_us"] / 1e6
    label.p50_ms, label.p99_ms = values["p50_us"] / 1e3, values["p99_us"] / 1e3
    label.errors = errors
    label.cpu = cpu.summary()
    label.other_cpu = cpu.shares()["other"]
    if errors:
        label.note = ", ".join(f"{k} {values[k]}" for k in
                               ("status", "connect", "read", "write", "timeout") if values[k])
        first = re.search(r"KOPILKA_FIRST_ERROR (.*)", out.stdout)
        if first:
            label.note += f"; first: {first.group(1)}"
    return label


def server_errors(text: str) -> dict[str, int]:
    """The exceptions in a server log (the last line of each traceback), counted."""
    found: dict[str, int] = {}
    in_traceback = False
    for line in text.splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace() and not line.startswith(
                ("During handling", "The above exception")):
            found[line] = found.get(line, 0) + 1
            in_traceback = False
        elif '"level": "ERROR"' in line and "Traceback" not in line:
            found[line] = found.get(line, 0) + 1
    return found


def http_phases(report: Report, scratch: Scratch, tmp: Path, backend: str, url: str,
                k: Kopilka, members: list[str], args: argparse.Namespace, workers: int,
                db: str | None) -> None:
    token = create_key(k.db, name="bench", partner_id=DEFAULT_PARTNER, scopes=["pos"],
                       now=datetime.now(UTC))
    k.db.dispose()  # leave PostgreSQL's connections to the server
    log(f"{backend}: starting kopilka serve --workers {workers} "
        f"(KOPILKA_DB_POOL_SIZE={args.server_pool})")
    server = Server(scratch, tmp, url, workers, args.server_pool)
    ready = server.wait_ready()
    log(f"  ready in {ready:.1f} s at {server.base}; warming up {args.warmup:g} s")
    if args.warmup > 0:
        run_wrk(args.wrk, server, tmp, Row(backend, "HTTP", "warm-up", "", ""), op="earn",
                ids=members, token=token, connections=args.connections, seconds=args.warmup,
                db=db)
    conns = f"{args.connections} conns"
    hot = members[:1]
    for op, ids, who in (("earn", members, f"{len(members):,} random"),
                         ("spend", members, f"{len(members):,} random"),
                         ("spend", hot, "1 hot member")):
        log(f"{backend} HTTP {op}, {conns}, {who}, {args.seconds:g} s")
        row = run_wrk(args.wrk, server, tmp, Row(backend, "HTTP", op, conns, who), op=op,
                      ids=ids, token=token, connections=args.connections, seconds=args.seconds,
                      db=db)
        report.rows.append(row)
        log(f"  {row.rate:,.0f} req/s, p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms"
            + (f", {row.errors} errors ({row.note})" if row.errors else ""))
    if server.proc.poll() is not None:
        report.notes.append(f"{backend} server died during the run:\n{server.tail()}")
    stop_process(server.proc)
    errors = server_errors(server.log_path.read_text(errors="replace"))
    if errors:
        report.notes.append(f"[red]{backend} server logged {sum(errors.values())} error(s): "
                            + "; ".join(f"{n} x {e[:200]}" for e, n in errors.items()) + "[/red]")


def check_ledger(report: Report, backend: str, k: Kopilka) -> None:
    log(f"{backend}: verifying the ledger")
    with k.db.engine.connect() as conn:
        problems = ledger_verify(conn)
        facts = ledger_summary(conn)
    k.db.dispose()
    text = (f"{backend} ledger after the run: {facts['transactions']:,} transactions, "
            f"{facts['lots']:,} lots; verify: ")
    text += "every invariant holds" if not problems else \
        f"{len(problems)} PROBLEM(S), first: {problems[0]}"
    report.notes.append(text)


# --- the two backends -------------------------------------------------------------------------

def bench_backend(report: Report, scratch: Scratch, tmp: Path, backend: str, url: str,
                  args: argparse.Namespace) -> None:
    postgres = backend == "PostgreSQL"
    db = sa.make_url(url).database if postgres else None
    pool = max(args.connections, 10) if postgres else 8
    k = make_library(url, pool)
    scratch.callback(k.db.dispose, what=f"{backend} engine")
    started = time.perf_counter()
    members = enrol_members(k, args.members, threads=8 if postgres else 1)
    log(f"{backend}: {len(members):,} members enrolled and funded in "
        f"{time.perf_counter() - started:.1f} s")
    threads = (1, args.connections) if postgres else (1,)
    in_process_phases(report, backend, k, members, args, threads, db)
    if args.wrk:
        http_phases(report, scratch, tmp, backend, url, k, members, args,
                    workers=args.pg_workers if postgres else 1, db=db)
    check_ledger(report, backend, k)


# --- output -------------------------------------------------------------------------------------

def fmt_ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def print_machine(report: Report, args: argparse.Namespace) -> None:
    """The machine and versions table and the pgbench line (bench/till.py prints them too)."""
    ncpu = len(os.sched_getaffinity(0))
    machine = Table(title="Machine and versions", show_header=False)
    machine.add_column(style="bold")
    machine.add_column()
    for name, value in report.machine:
        machine.add_row(name, value)
    console.print(machine)
    if ncpu <= 2:
        console.print(f"[yellow]Note: only {ncpu} CPU core(s). The kopilka server (or the "
                      "benchmarking process), PostgreSQL and the load generator share them, "
                      "so every figure below is CPU-bound on a shared budget; a production "
                      "box with the database on its own host would do better.[/yellow]")

    if report.pgbench_tps is not None:
        console.print(f"pgbench TPC-B (scale {PGBENCH_SCALE}, -c {args.connections} -j 2 -T "
                      f"{max(1, round(args.seconds))} -M prepared): "
                      f"[bold]{report.pgbench_tps:,.0f} tps[/bold] (excluding connection "
                      f"time), latency average {report.pgbench_latency_ms} ms; CPU % "
                      f"{report.pgbench_cpu} (of {ncpu * 100})")


def print_report(report: Report, args: argparse.Namespace) -> None:
    ncpu = len(os.sched_getaffinity(0))
    print_machine(report, args)

    table = Table(title=f"Ledger operations ({args.seconds:g} s per phase, "
                        f"{args.warmup:g} s warm-up excluded)")
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
    console.print(table)
    console.print("[dim]CPU: app = this process (in-process rows) or the kopilka server and "
                  "its workers (HTTP rows); pg = PostgreSQL backends of the bench database and "
                  "PostgreSQL's background processes; load = wrk; other = everything else on "
                  "the machine (if high, someone else was using the CPU and the row is "
                  "pessimistic); all = whole machine. Each HTTP request carries a unique "
                  "Idempotency-Key; in-process rows call the library directly.[/dim]")
    if report.rows:
        other = sum(r.other_cpu for r in report.rows) / len(report.rows)
        if other >= 25:
            console.print(f"[yellow bold]Warning: other processes used {other:.0f}% CPU (of "
                          f"{ncpu * 100}%) on average during the phases: the machine was not "
                          f"idle, so these figures are pessimistic and noisy.[/yellow bold]")
    for row in report.rows:
        if row.errors:
            console.print(f"[red]{row.backend} {row.path} {row.operation} "
                          f"({row.concurrency}, {row.members}): {row.errors} errors: "
                          f"{row.note}[/red]")
    for note in report.notes:
        console.print(note)

    summary = Table(title="Summary against the targets")
    for name in ("figure", "measured", "target", "status"):
        summary.add_column(name)
    http_earn = report.find("PostgreSQL", "HTTP", "earn", f"{args.connections} conns")

    def status(ok: bool | None) -> str:
        if ok is None:
            return "[yellow]NOT MEASURED[/yellow]"
        return "[green]MET[/green]" if ok else "[red]NOT MET[/red]"

    if http_earn and report.pgbench_tps:
        ratio = http_earn.rate / report.pgbench_tps
        summary.add_row("HTTP earn on PostgreSQL / pgbench TPC-B",
                        f"{ratio:.2f} ({http_earn.rate:,.0f} / {report.pgbench_tps:,.0f} tps)",
                        f">= {TARGET_RATIO}", status(ratio >= TARGET_RATIO))
    else:
        summary.add_row("HTTP earn on PostgreSQL / pgbench TPC-B", "-", f">= {TARGET_RATIO}",
                        status(None))
    if http_earn:
        summary.add_row(f"HTTP earn on PostgreSQL p99 at {args.connections} connections",
                        f"{http_earn.p99_ms:.1f} ms", f"<= {TARGET_P99_MS:g} ms",
                        status(http_earn.p99_ms <= TARGET_P99_MS))
    else:
        summary.add_row("HTTP earn on PostgreSQL p99", "-", f"<= {TARGET_P99_MS:g} ms",
                        status(None))
    sqlite_earn = report.find("SQLite", "in-process", "earn", "1 thread")
    summary.add_row("SQLite in-process earns/s (1 thread)",
                    f"{sqlite_earn.rate:,.0f}/s" if sqlite_earn else "-",
                    f">= {TARGET_SQLITE_EARN:,}/s",
                    status(sqlite_earn.rate >= TARGET_SQLITE_EARN if sqlite_earn else None))
    console.print(summary)
    print_caveats(args)


def add_shared_args(p: argparse.ArgumentParser) -> None:
    """Options both benches take the same way (bench/till.py imports this)."""
    p.add_argument("--pg-url", default=os.environ.get("KOPILKA_BENCH_PG_URL", DEFAULT_PG_URL),
                   help="an admin URL of the PostgreSQL server (default %(default)s); the "
                        f"bench creates and drops {BENCH_DB} and {PGBENCH_DB} on it")
    p.add_argument("--seconds", type=float, default=None, help="per phase (default 10; 2 quick)")
    p.add_argument("--pg-workers", type=int, default=2 * (os.cpu_count() or 1),
                   help="server workers on PostgreSQL (default: 2 per CPU, as kopilka serve)")
    p.add_argument("--server-pool", type=int, default=20,
                   help="KOPILKA_DB_POOL_SIZE of the server (per worker)")
    p.add_argument("--no-postgres", action="store_true", help="skip pgbench and PostgreSQL")


def print_caveats(args: argparse.Namespace) -> None:
    if args.quick:
        console.print("[yellow]--quick: short phases and few members; a smoke check, not "
                      "figures to quote.[/yellow]")
    if args.connections != 32:
        console.print(f"[yellow]the targets are stated for 32 connections; this run used "
                      f"{args.connections}.[/yellow]")


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals() -> None:
    """SIGTERM and SIGINT end the run through the cleanup stack (even if SIGINT was ignored
    by whoever started us)."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)


# --- main ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="2 s phases and 200 members: a smoke check in under a minute")
    add_shared_args(p)
    p.add_argument("--connections", type=int, default=32,
                   help="concurrent HTTP connections, pgbench clients, in-process threads")
    p.add_argument("--members", type=int, default=None,
                   help="members to enrol and spread load over (default 2000; 200 quick)")
    p.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP phases (no wrk)")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.members is None:
        args.members = 200 if args.quick else 2000
    args.warmup = 0.5 if args.quick else 1.0
    if args.members < 1 or args.connections < 1 or args.seconds <= 0:
        p.error("--members, --connections and --seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    args.wrk = None if args.no_http else shutil.which("wrk")
    report = Report()
    scratch = Scratch()
    started = time.perf_counter()
    failed = False
    try:
        tmp = Path(tempfile.mkdtemp(prefix="kopilka-bench-"))
        scratch.callback(shutil.rmtree, tmp, True, what=f"temp dir {tmp}")
        pg_url = None if args.no_postgres else args.pg_url
        describe_machine(report, pg_url, args.wrk)
        if not args.wrk and not args.no_http:
            report.notes.append("[red]wrk not found: HTTP phases skipped. Install it: "
                                "apt-get install -y wrk[/red]")
        if pg_url:
            if Path(PGBENCH).exists():
                run_pgbench(scratch, report, pg_url, args)
            else:
                report.notes.append(f"[red]{PGBENCH} not found: no pgbench baseline[/red]")
            url = create_database(scratch, pg_url, BENCH_DB)
            bench_backend(report, scratch, tmp, "PostgreSQL", url, args)
            drop_database(pg_url, BENCH_DB)
        if not args.no_sqlite:
            bench_backend(report, scratch, tmp, "SQLite", f"sqlite:///{tmp / 'bench.db'}", args)
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
    if report.rows or report.pgbench_tps is not None:
        print_report(report, args)
    log(f"done in {time.perf_counter() - started:.0f} s; databases, server and temp files "
        f"removed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
