"""What the use cases need from the outside world, as Protocols (adapters implement them)."""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and simulations: time moves only when told."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        from datetime import timedelta
        self.at = self.at + timedelta(**delta)


_id_lock = threading.Lock()
_id_last = [0, 0]  # last millisecond, sequence within it


def new_id() -> str:
    """A 32-hex-digit id ordered by creation time: 48-bit milliseconds, a 16-bit sequence
    (so ids made in one process in the same millisecond keep their order), 64 random bits."""
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _id_last[0]:
            millis, seq = _id_last[0], _id_last[1] + 1
            if seq > 0xFFFF:
                millis, seq = millis + 1, 0
        else:
            seq = 0
        _id_last[0], _id_last[1] = millis, seq
    return f"{millis:012x}{seq:04x}{os.urandom(8).hex()}"


class CodeSender(Protocol):
    """Delivers a one-time code to a phone or an email address."""

    def send_code(self, target: str, address: str, code: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TransactionMeta:
    """What a ledger transaction records besides its entries."""

    effective_at: datetime
    reason: str | None = None
    author: str | None = None
    partner_id: str | None = None
    store_id: str | None = None
    receipt_id: str | None = None
    hold_id: str | None = None
    reverses_id: str | None = None


@dataclass(frozen=True, slots=True)
class HoldRow:
    hold_id: str
    member_id: str
    currency: str
    points: int
    captured: int
    status: str
    created_at: datetime
    expires_at: datetime


class UnitOfWork(Protocol):
    """One database transaction with its repositories (SQL adapters implement it)."""

    ledger: Any
    members: Any
    idempotency: Any
    programs: Any
    receipts: Any
    rewards: Any
    settlement: Any
    promotions: Any
    charity: Any
    engagement: Any
    staff: Any
    audit: Any
    analytics: Any  # app.analytics.AnalyticsReader
    conn: Any


class Database(Protocol):
    def write(self) -> AbstractContextManager[UnitOfWork]: ...

    def read(self) -> AbstractContextManager[UnitOfWork]: ...
