"""One-time codes that prove a member controls a phone or an email.

The code is random, only its keyed hash is stored, it expires and allows a few attempts.
Randomness, the key and the time come from outside, so this stays pure and testable.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kopilka.domain.errors import DomainError

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class Target(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


def make_code(random_below: int) -> str:
    """A zero-padded code from a random integer in [0, 10**CODE_DIGITS)."""
    if not 0 <= random_below < 10**CODE_DIGITS:
        raise ValueError("random value out of range")
    return f"{random_below:0{CODE_DIGITS}d}"


def code_hash(code: str, *, key: bytes, challenge_id: str) -> str:
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge_id: str
    target: Target
    address: str
    code_hash: str
    expires_at: datetime
    attempts: int = 0
    verified_at: datetime | None = None


def check(challenge: Challenge, code: str, *, key: bytes, now: datetime) -> bool:
    """True when the code is right; raises when the challenge can no longer be answered."""
    if challenge.verified_at is not None:
        raise DomainError("this code was already used", code="code_used", status=409)
    if challenge.expires_at <= now:
        raise DomainError("the code has expired; ask for a new one", code="code_expired")
    if challenge.attempts >= MAX_ATTEMPTS:
        raise DomainError("too many wrong codes; ask for a new one", code="too_many_attempts",
                          status=429)
    expected = code_hash(code, key=key, challenge_id=challenge.challenge_id)
    return hmac.compare_digest(expected, challenge.code_hash)
