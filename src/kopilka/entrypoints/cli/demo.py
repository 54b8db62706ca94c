"""Synthetic demo data: members with Russian names and phones, cards, and ledger history.

Seeded, so the same seed gives the same people. The rich receipt history arrives with the
rules issue; this fills what the foundation has: enrolment, earn, spend, pending, holds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from faker import Faker

from kopilka.app.library import Caller, Kopilka
from kopilka.app.members import Enrolment
from kopilka.bootstrap import DEFAULT_PARTNER
from kopilka.entrypoints.http.auth import create_key

DEMO = Caller(name="demo", partner_id=DEFAULT_PARTNER)


def _phone(rng: random.Random) -> str:
    return f"+79{rng.randrange(10**9):09d}"


def generate(k: Kopilka, *, members: int, seed: int, advance: Callable[[], None]) -> str:
    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for _ in range(members):
        female = rng.random() < 0.55
        cmd = Enrolment(
            phone=_phone(rng),
            consents={"personal_data": True, "marketing_email": rng.random() < 0.6,
                      "marketing_sms": rng.random() < 0.4, "marketing_push": rng.random() < 0.3},
            first_name=fake.first_name_female() if female else fake.first_name_male(),
            last_name=fake.last_name_female() if female else fake.last_name_male(),
            gender="female" if female else "male", city=fake.city_name(),
            birth_date=fake.date_of_birth(minimum_age=18, maximum_age=80),
            email=fake.email() if rng.random() < 0.7 else None)
        result = k.enrol(cmd, caller=DEMO, idempotency_key=f"demo-enrol-{cmd.phone}")
        _history(k, result.body["member_id"], rng, now)
        advance()
    return create_key(k.db, name="demo (all scopes)", partner_id=DEFAULT_PARTNER,
                      scopes=["admin", "pos", "members:read", "members:write", "analytics"],
                      now=now)


def _history(k: Kopilka, member_id: str, rng: random.Random, now: datetime) -> None:
    for _ in range(rng.randrange(1, 6)):
        expires = now + timedelta(days=rng.randrange(5, 365)) if rng.random() < 0.8 else None
        k.earn(member_id, rng.randrange(10, 2000), expires_at=expires, caller=DEMO,
               reason="demo purchase")
    if rng.random() < 0.3:
        k.earn(member_id, rng.randrange(10, 500), activates_at=now + timedelta(days=14),
               caller=DEMO, reason="demo purchase, pending return window")
    balance = k.balance(member_id)["available"]
    if balance > 50 and rng.random() < 0.6:
        k.spend(member_id, rng.randrange(1, balance // 2), caller=DEMO, reason="demo redemption")
