"""Instructions per HTTP calculate, without and with the 50 bench promotions, counted by
callgrind in the server: a figure that does not move with the machine's load.

    .venv/bin/python bench/instructions.py [--pg-url URL] [--requests 300]

`bench/till.py` gives rates, which move by 2x from run to run on a shared 2-core machine;
this bench counts what the server executes. It builds the demo history into one database
with the 50 bench promotions active and a template copy with them paused, starts
`kopilka serve --workers 1` on each under `valgrind --tool=callgrind`, sends both the same
seeded receipts one at a time (a warm-up, then `--requests` measured, the counters zeroed in
between), and prints the instructions per request of each server and their ratio: what the
rate ratio would be if the server's instructions were all a request cost (PostgreSQL's work,
the client's and cache misses are not counted). The same code gives the same counts to
within about half a percent. The callgrind files are kept (`--keep DIR`) for
`callgrind_annotate`: where the instructions go, function by function. About 5 minutes.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import (  # noqa: E402 - after the path is set
    Report,
    Scratch,
    Server,
    console,
    describe_machine,
    log,
    make_library,
    print_machine,
    stop_on_signals,
    tool_version,
)
from till import PROMOTIONS, basket, promoted_and_plain, redeem  # noqa: E402

from kopilka.bootstrap import DEFAULT_PARTNER  # noqa: E402
from kopilka.entrypoints.cli.demo import STORES  # noqa: E402
from kopilka.entrypoints.http.auth import create_key  # noqa: E402

ON_DB, OFF_DB = "kopilka_instr_on", "kopilka_instr_off"
WARM_UP = 150  # requests before the counters are zeroed: snapshots, caches, prepared statements


def body(rng: random.Random, ids: list[str], n: int) -> dict:
    """A receipt as bench/till.py's wrk script sends it (5-30 lines, a third redeeming)."""
    lines = [{"line_id": line.line_id, "sku": line.sku, "name": line.name,
              "category": line.category,
              "unit_price": f"{line.unit_price // 100}.{line.unit_price % 100:02d}",
              "discountable": line.discountable, "quantity": str(line.quantity)}
             for line in basket(rng)]
    found = {"store_id": rng.choice(STORES)[0], "receipt_id": f"instr-{n}",
             "occurred_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
             "member": {"member_id": rng.choice(ids)}, "payment_methods": ["card"],
             "lines": lines}
    points = redeem(rng)
    if points:
        found["redeem_points"] = points
    return found


class CountedServer:
    """`kopilka serve --workers 1` (one process: no worker forked) under callgrind."""

    def __init__(self, scratch: Scratch, url: str, out: Path, name: str) -> None:
        self.out = out
        self.pattern = f"callgrind.{name}.%p"
        self.server = Server(scratch, out, url, 1, 8, app=[
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out / self.pattern}",
            sys.executable, "-m", "kopilka.entrypoints.cli.main", "serve"])
        self.port, self.proc = self.server.port, self.server.proc

    def wait_ready(self) -> None:
        self.server.wait_ready(timeout=300.0)  # about 60 s under callgrind

    def control(self, option: str) -> None:
        """callgrind_control -z (zero the counters) or -d (dump them to a file)."""
        subprocess.run(["callgrind_control", option, str(self.proc.pid)], check=True,
                       capture_output=True, timeout=120)

    def instructions(self) -> int:
        """The instructions of the last dump (taken after the zeroing)."""
        dumps = sorted(self.out.glob(self.pattern.replace("%p", f"{self.proc.pid}.*")))
        text = subprocess.run(["callgrind_annotate", str(dumps[-1])], capture_output=True,
                              text=True, check=True).stdout
        found = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text)
        if found is None:
            raise RuntimeError(f"no totals in {dumps[-1]}")
        return int(found.group(1).replace(",", ""))


def drive(server: CountedServer, token: str, ids: list[str], count: int, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=600,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for n in range(count):
            answer = client.post("/v1/receipts/calculate", json=body(rng, ids, n))
            if answer.status_code != 200:
                raise RuntimeError(f"calculate answered {answer.status_code}: "
                                   f"{answer.text[:300]}")


def databases(scratch: Scratch, args: argparse.Namespace,
              ) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The two databases (promotions active in one, paused in its copy), a till key for
    each, and the members' ids."""
    on_url, off_url, ids = promoted_and_plain(scratch, args.pg_url, args.members, ON_DB,
                                              OFF_DB)
    urls = {"with": on_url, "without": off_url}
    tokens = {}
    for side, url in urls.items():
        k = make_library(url, 1)
        tokens[side] = create_key(k.db, name="instructions bench", partner_id=DEFAULT_PARTNER,
                                  scopes=["pos"], now=datetime.now(UTC))
        k.db.dispose()
    return urls, tokens, ids


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help=f"an admin URL (default %(default)s); creates and drops {ON_DB} and "
                        f"{OFF_DB}")
    p.add_argument("--members", type=int, default=200, help="members with a year of history")
    p.add_argument("--requests", type=int, default=300, help="measured requests per server")
    p.add_argument("--keep", type=Path, default=None,
                   help="a directory to keep the callgrind files and server logs in")
    args = p.parse_args(argv)
    if min(args.members, args.requests) < 1:
        p.error("--members and --requests must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/instructions.py needs {tool} (Debian package valgrind)")
    stop_on_signals()
    report, scratch = Report(), Scratch()
    out = args.keep or Path(tempfile.mkdtemp(prefix="kopilka-instr-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.keep is None:
        scratch.callback(shutil.rmtree, out, True, what="callgrind files")
    try:
        describe_machine(report, args.pg_url, None, load_tools=False)
        report.machine.append(("valgrind", tool_version(["valgrind", "--version"])))
        urls, tokens, ids = databases(scratch, args)
        servers = {side: CountedServer(scratch, url, out, side) for side, url in urls.items()}
        log("two servers under callgrind: starting (a minute or two)")
        for server in servers.values():
            server.wait_ready()
        counts = {}
        for side, server in servers.items():  # one at a time: the other one idles
            log(f"{side} promotions: {WARM_UP} requests of warm-up, then {args.requests}")
            drive(server, tokens[side], ids, WARM_UP, seed=1)
            server.control("-z")
            drive(server, tokens[side], ids, args.requests, seed=2)
            server.control("-d")
            counts[side] = server.instructions() / args.requests
            server.proc.send_signal(signal.SIGTERM)
        print_machine(report, argparse.Namespace(quick=False))
        without, with_ = counts["without"], counts["with"]
        console.print(f"Instructions per HTTP calculate in the server (callgrind, "
                      f"{args.requests} requests, the same receipts on both):")
        console.print(f"  without promotions: {without / 1e6:.3f} M")
        console.print(f"  with {PROMOTIONS} promotions: {with_ / 1e6:.3f} M "
                      f"(+{(with_ - without) / 1e6:.3f} M)")
        console.print(f"  ratio without / with: [bold]{without / with_:.3f}[/bold] (the rate "
                      "ratio if the server's instructions were all a request cost)")
        if args.keep is not None:
            console.print(f"callgrind files in {out} (callgrind_annotate FILE)")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: cleaning up[/yellow]")
        return 1
    finally:
        scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
