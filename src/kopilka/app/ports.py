"""What the use cases need from the outside world, as Protocols (adapters implement them)."""

from __future__ import annotations

import os
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


def new_id() -> str:
    """A 32-hex-digit id ordered by creation time (48-bit milliseconds + 80 random bits)."""
    millis = time.time_ns() // 1_000_000
    return f"{millis:012x}{os.urandom(10).hex()}"


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
    conn: Any


class Database(Protocol):
    def write(self) -> AbstractContextManager[UnitOfWork]: ...

    def read(self) -> AbstractContextManager[UnitOfWork]: ...
