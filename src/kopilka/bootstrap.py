"""The composition root: builds the library from settings, creates and seeds the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kopilka.adapters.sql import migrate
from kopilka.adapters.sql.database import SqlDatabase
from kopilka.app.library import Kopilka, LogCodeSender, MemoryCodeSender
from kopilka.app.ports import Clock
from kopilka.config import Settings, get_settings
from kopilka.domain.points import DEFAULT_CURRENCY, PointCurrency

DEFAULT_PARTNER = "main"


def build(settings: Settings | None = None, *, clock: Clock | None = None,
          db: SqlDatabase | None = None) -> Kopilka:
    settings = settings or get_settings()
    db = db or SqlDatabase(settings.database_url, pool_size=settings.db_pool_size)
    sender = MemoryCodeSender() if settings.otp_sender == "memory" else LogCodeSender()
    kopilka = Kopilka(db, clock=clock, secret_key=settings.secret_key,
                      default_currency=settings.default_currency,
                      hold_ttl=timedelta(seconds=settings.hold_ttl_seconds), code_sender=sender)
    kopilka.card_token_ttl = timedelta(seconds=settings.card_token_seconds)
    return kopilka


def init_database(db: SqlDatabase, *, currencies: tuple[PointCurrency, ...] = (DEFAULT_CURRENCY,),
                  partner: str = DEFAULT_PARTNER) -> None:
    """Migrate to head and add the reference data a fresh install needs (idempotent)."""
    migrate.upgrade(db.engine)
    with db.write() as uow:
        for cur in currencies:
            if uow.members.currency(cur.code) is None:
                uow.members.add_currency(cur)
        if uow.members.partner(partner) is None:
            uow.members.add_partner(partner, "Main brand", datetime.now(UTC))
