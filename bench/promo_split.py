"""Where the 50 bench promotions' cost goes in a calculation, phase by phase, in process on
PostgreSQL, from one thread and from several (as a server worker runs its handler threads).

`bench/till.py` gives the rates with and without the promotions; this bench says why they
differ. It builds the demo history once into two databases, one with the 50 bench promotions
active and a copy of it with them paused, so neither is switched while measured (both stay
warm). Then, for each thread count, it calculates the same receipts on both in alternating
rounds and reports the thread CPU per calculation of each phase: `prepare` (the promotions'
reads), `apply` (the engine), `evaluate`, `view` and the rest (member, balances, program),
with and without the promotions, and their ratio. CPU per calculation is steadier than a
rate on a shared machine; the two sides are measured in turns, so a neighbour's load falls on
both.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table

from kopilka.app import library_till, promotion_till

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import (  # noqa: E402 - after the path is set
    Report,
    Scratch,
    console,
    describe_machine,
    log,
    make_library,
    print_machine,
    stop_on_signals,
)
from till import PROMOTIONS, TILL, promoted_and_plain, receipt  # noqa: E402

ON_DB, OFF_DB = "kopilka_split_on", "kopilka_split_off"
PHASES = ("prepare", "apply", "evaluate", "view")


class Phases:
    """Thread CPU per phase, summed over the calculations of one side (with or without)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.side = threading.local()
        self.cpu: dict[str, Counter[str]] = {"with": Counter(), "without": Counter()}
        self.calcs: Counter[str] = Counter()

    def timed(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(phase, time.thread_time() - start)
        return measured

    def add(self, phase: str, seconds: float) -> None:
        with self.lock:
            self.cpu[self.side.name][phase] += seconds

    def per_calc(self, side: str, phase: str) -> float:
        """Microseconds of thread CPU per calculation."""
        cpu = self.cpu[side]
        value = cpu["total"] - sum(cpu[p] for p in PHASES) if phase == "rest" else cpu[phase]
        return value / max(self.calcs[side], 1) * 1e6


# Where the till flow calls each phase (module attributes, looked up per call).
_TIMED = ((promotion_till, "prepare", "prepare"), (promotion_till, "apply_promotions", "apply"),
          (promotion_till, "evaluate", "evaluate"), (library_till, "evaluation_view", "view"))
_ORIGINALS = {(module, name): getattr(module, name) for module, name, _phase in _TIMED}


def instrument(phases: Phases) -> None:
    """Time the phases into `phases` (replacing an earlier measurement's timers)."""
    for module, name, phase in _TIMED:
        setattr(module, name, phases.timed(phase, _ORIGINALS[module, name]))


def run(phases: Phases, side: str, k: Any, ids: list[str], threads: int, seconds: float,
        seed: int) -> None:
    """`threads` threads calculating random receipts on `k` for `seconds`."""
    stop = time.perf_counter() + seconds

    def work(t: int) -> None:
        phases.side.name = side
        rng = random.Random(seed * 100 + t)
        while time.perf_counter() < stop:
            rcpt = receipt(rng, rng.choice(ids), "split")
            start = time.thread_time()
            k.calculate(rcpt, caller=TILL)
            phases.add("total", time.thread_time() - start)
            with phases.lock:
                phases.calcs[side] += 1

    pool = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()


def databases(scratch: Scratch, args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """The two databases (history, the bench promotions active in one, paused in the other)
    and the members' ids."""
    return promoted_and_plain(scratch, args.pg_url, args.members, ON_DB, OFF_DB)


def measure(args: argparse.Namespace, on_url: str, off_url: str, ids: list[str],
            threads: int) -> Phases:
    phases = Phases()
    instrument(phases)
    libraries = {"with": make_library(on_url, threads + 2),
                 "without": make_library(off_url, threads + 2)}
    try:
        for side, k in libraries.items():  # warm: snapshots, caches, prepared statements
            run(phases, side, k, ids, threads, 1.0, seed=0)
        phases.cpu = {"with": Counter(), "without": Counter()}
        phases.calcs.clear()
        for n in range(args.rounds):
            for side in ("without", "with"):
                run(phases, side, libraries[side], ids, threads, args.seconds / args.rounds,
                    seed=n + 1)
            log(f"  {threads} thread(s), round {n + 1}/{args.rounds}: "
                f"{phases.calcs['without']:,} / {phases.calcs['with']:,} calculations so far")
    finally:
        for k in libraries.values():
            k.db.dispose()
    return phases


def report_phases(results: dict[int, Phases], seconds: float) -> None:
    table = Table(title=f"Thread CPU per calculation (us), without / with {PROMOTIONS} "
                        "promotions, in process on PostgreSQL")
    table.add_column("threads", justify="right")
    table.add_column("calcs/s without / with", justify="right")
    for phase in (*PHASES, "rest", "total"):
        table.add_column(phase, justify="right")
    table.add_column("CPU ratio", justify="right")
    for threads, phases in results.items():
        cells = []
        for phase in (*PHASES, "rest", "total"):
            off, on = phases.per_calc("without", phase), phases.per_calc("with", phase)
            cells.append(f"{off:,.0f} / {on:,.0f} ([bold]+{on - off:,.0f}[/bold])")
        off, on = phases.per_calc("without", "total"), phases.per_calc("with", "total")
        rates = (f"{phases.calcs['without'] / seconds:,.0f} / "
                 f"{phases.calcs['with'] / seconds:,.0f}")
        table.add_row(str(threads), rates, *cells, f"{off / on:.2f}")
    console.print(table)
    console.print("CPU ratio: thread CPU per calculation without / with (what the rate ratio "
                  "would be if CPU were all there is). rest = the calculation's other work "
                  "(member, balances, program, transaction).")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help=f"an admin URL (default %(default)s); creates and drops {ON_DB} and "
                        f"{OFF_DB}")
    p.add_argument("--members", type=int, default=200, help="members with a year of history")
    p.add_argument("--threads", default="1,4",
                   help="thread counts to measure, comma-separated (default 1,4: one thread, "
                        "and a server worker's default http_threads)")
    p.add_argument("--seconds", type=float, default=12.0,
                   help="per side and thread count, shared by the rounds (default 12)")
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    args = p.parse_args(argv)
    args.thread_counts = [int(t) for t in args.threads.split(",")]
    if min(args.thread_counts + [args.members, args.rounds]) < 1 or args.seconds <= 0:
        p.error("--threads, --members, --rounds and --seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    report, scratch = Report(), Scratch()
    try:
        describe_machine(report, args.pg_url, None, load_tools=False)  # in process: no load tool
        on_url, off_url, ids = databases(scratch, args)
        results = {}
        for threads in args.thread_counts:
            log(f"{threads} thread(s): {args.rounds} alternating rounds, "
                f"{args.seconds:g} s per side")
            results[threads] = measure(args, on_url, off_url, ids, threads)
        print_machine(report, argparse.Namespace(quick=False))
        report_phases(results, args.seconds)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: cleaning up[/yellow]")
        return 1
    finally:
        scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
