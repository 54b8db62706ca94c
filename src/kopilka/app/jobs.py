"""Background jobs of the ledger: activation of pending points, expiry of lots, hold expiry.

Each job is idempotent and resumable: it finds what is due, handles each item in its own
short transaction (so the till never waits long for a member lock), re-checks the item under
the lock, and works in bounded chunks. Run it again and it does only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kopilka.app import points as P
from kopilka.app.library import Kopilka
from kopilka.app.ports import TransactionMeta

Progress = Callable[[str, int], None]


@dataclass
class JobReport:
    name: str
    done: int = 0
    skipped: int = 0


def _run_lots(k: Kopilka, kind: str, chunk: int, progress: Progress | None) -> JobReport:
    report = JobReport("expire_lots" if kind == "expire" else "activate_pending")
    after = None
    while True:
        now = k.clock.now()
        with k.db.read() as uow:
            due = uow.ledger.due_lots(now=now, kind=kind, limit=chunk, after=after)
        for member_id, currency, lot_id in due:
            with k.db.write() as uow:
                step = P.expire_lot if kind == "expire" else P.activate_lot
                if step(uow, member_id, currency, lot_id, now):
                    report.done += 1
                else:
                    report.skipped += 1
            if progress:
                progress(report.name, 1)
        if len(due) < chunk:
            return report
        after = (due[-1][0], due[-1][2])


def expire_lots(k: Kopilka, *, chunk: int = P.JOB_CHUNK, progress: Progress | None = None) -> JobReport:
    return _run_lots(k, "expire", chunk, progress)


def activate_pending(k: Kopilka, *, chunk: int = P.JOB_CHUNK,
                     progress: Progress | None = None) -> JobReport:
    return _run_lots(k, "activate", chunk, progress)


def expire_holds(k: Kopilka, *, chunk: int = P.JOB_CHUNK,
                 progress: Progress | None = None) -> JobReport:
    report = JobReport("expire_holds")
    while True:
        now = k.clock.now()
        with k.db.read() as uow:
            due = uow.ledger.expired_holds(now, chunk)
        for row in due:
            with k.db.write() as uow:
                current = uow.ledger.find_hold(row.hold_id)
                if current is None or current.status != "active":
                    report.skipped += 1
                    continue
                P.release(uow, row.hold_id, now=now, status="expired",
                          meta=TransactionMeta(effective_at=row.expires_at,
                                               reason="hold expired", author="jobs"))
                report.done += 1
            if progress:
                progress(report.name, 1)
        if len(due) < chunk:
            return report


ALL_JOBS = {"activate_pending": activate_pending, "expire_lots": expire_lots,
            "expire_holds": expire_holds}


def run_all(k: Kopilka, *, progress: Progress | None = None) -> list[JobReport]:
    return [job(k, progress=progress) for job in ALL_JOBS.values()]
