"""Background jobs: activation of pending points, expiry of lots, hold expiry, tier review
and birthday rewards.

Each job is idempotent and resumable: it finds what is due, handles each item in its own
short transaction (so the till never waits long for a member lock), re-checks the item under
the lock, and works in bounded chunks. Run it again and it does only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

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


def expire_lots(k: Kopilka, *, chunk: int = P.JOB_CHUNK,
                progress: Progress | None = None) -> JobReport:
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


def review_tiers(k: Kopilka, *, chunk: int = P.JOB_CHUNK,
                 progress: Progress | None = None) -> JobReport:
    """Scheduled downgrade: members whose qualifying value no longer holds their tier move
    down (after the program's grace days). Idempotent: a second run finds nothing to do."""
    from kopilka.app import programs
    from kopilka.domain.program import reviewed_tier, window_bounds

    report = JobReport("review_tiers")
    after = None
    while True:
        now = k.clock.now()
        with k.db.read() as uow:
            if uow.programs.in_force(now) is None:
                return report
            program = programs.in_force(uow, now)
            tiers = program.tiers
            now = program.local(now)  # periods are counted in the program's time zone
            batch = uow.members.with_tier(after=after, limit=chunk) if tiers else []
        for member_id, tier_code in batch:
            with k.db.write() as uow:
                start, end = window_bounds(tiers.window, now)
                prev_start, _ = window_bounds(tiers.window, start - timedelta(microseconds=1))
                grace_start, _ = window_bounds(tiers.window,
                                               prev_start - timedelta(microseconds=1))
                total = uow.receipts.qualifying_total
                kept = reviewed_tier(
                    tiers, tier_code, value_now=total(member_id, start, end),
                    value_before=total(member_id, prev_start, start),
                    in_grace=now < start + timedelta(days=tiers.downgrade_grace_days),
                    value_grace=total(member_id, grace_start, prev_start))
                if kept.code != tiers.level(tier_code).code:
                    uow.members.update(member_id, {"tier_code": kept.code, "updated_at": now})
                    report.done += 1
                else:
                    report.skipped += 1
            if progress:
                progress(report.name, 1)
        if len(batch) < chunk:
            return report
        after = batch[-1][0]


def birthday(k: Kopilka, *, chunk: int = P.JOB_CHUNK,
             progress: Progress | None = None) -> JobReport:
    """Birthday rewards (SPEC R6) of members whose birthday window holds today in their own
    time zone. Idempotent (one grant per rule and birthday year: a second run, or a run the
    next day of the window, gives nothing) and resumable; members come from the birthday
    index (`birth_month_day`), in bounded chunks, each in its own short transaction."""
    from kopilka.app import programs, rewards
    from kopilka.domain.rewards import Trigger, birthday_month_days

    report = JobReport("birthday")
    now = k.clock.now()
    with k.db.read() as uow:
        program = programs.in_force_or_none(uow, now)
    rules = program.rewards.of(Trigger.BIRTHDAY) if program and program.rewards else ()
    if not rules:
        return report
    month_days = birthday_month_days(rules, now)
    after = None
    while True:
        with k.db.read() as uow:
            batch = uow.rewards.with_birthday(month_days, after=after, limit=chunk)
        for member_id in batch:
            with k.db.write() as uow:
                given = rewards.birthday_step(uow, program, member_id, now)
            report.done += given
            report.skipped += 0 if given else 1
            if progress:
                progress(report.name, 1)
        if len(batch) < chunk:
            return report
        after = batch[-1]


ALL_JOBS = {"activate_pending": activate_pending, "expire_lots": expire_lots,
            "expire_holds": expire_holds, "review_tiers": review_tiers, "birthday": birthday}


def run_all(k: Kopilka, *, progress: Progress | None = None) -> list[JobReport]:
    return [job(k, progress=progress) for job in ALL_JOBS.values()]
