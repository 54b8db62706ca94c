"""Members, cards, consent records, verification challenges and API keys in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.engine import like_pattern
from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import (
    api_keys,
    card_serial,
    cards,
    consents,
    currencies,
    member_balances,
    members,
    partners,
    stores,
    verification_challenges,
)
from kopilka.app.ports import new_id
from kopilka.domain.consent import Channel, ConsentRecord, Purpose
from kopilka.domain.points import PointCurrency, Rounding
from kopilka.domain.rewards import month_day
from kopilka.domain.verification import Challenge, Target


def _with_birth_month_day(values: dict[str, Any]) -> dict[str, Any]:
    """Keep `birth_month_day` (the birthday job's index) in step with `birth_date`."""
    if "birth_date" not in values:
        return values
    birth = values["birth_date"]
    return {**values, "birth_month_day": month_day(birth) if birth is not None else None}


def _search_condition(phone: str | None, digits: str | None, card: str | None,
                      words: tuple[tuple[str, ...], ...]) -> Any:
    c = members.c
    if phone is not None:
        return c.phone == phone
    if card is not None:
        return c.member_id.in_(sa.select(cards.c.member_id).where(cards.c.number == card))
    if digits is not None:
        by_card = sa.select(cards.c.member_id).where(
            cards.c.number.like(like_pattern(digits, anywhere=False), escape="\\"))
        return sa.or_(c.phone.like(like_pattern(digits), escape="\\"), c.member_id.in_(by_card))
    if not words:
        return sa.false()
    return sa.and_(*(sa.or_(*(column.ilike(like_pattern(variant), escape="\\")
                              for variant in variants
                              for column in (c.first_name, c.last_name)))
                     for variants in words))


class SqlMembers:
    def __init__(self, conn: Connection, hot: HotPath | None = None) -> None:
        self.conn = conn
        self.hot = hot or HotPath(conn)

    def brief(self, member_id: str) -> dict[str, Any] | None:
        """member_id, first_name, tier_code, status, enrolled_partner_id: what the till
        needs (hot path)."""
        row = self.hot.one("member_brief", {"m": member_id})
        return None if row is None else dict(zip(("member_id", "first_name", "tier_code",
                                                   "status", "enrolled_partner_id"), row,
                                                  strict=True))

    # --- members ---------------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(members.insert().values(**_with_birth_month_day(row)))

    def get(self, member_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(members).where(members.c.member_id == member_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def attributes(self, member_id: str) -> dict[str, Any]:
        """The member's custom attributes alone (the till asks for segments)."""
        found = self.conn.execute(sa.select(members.c.attributes).where(
            members.c.member_id == member_id)).scalar()
        return found if isinstance(found, dict) else {}

    def id_by_phone(self, phone: str) -> str | None:
        return self.conn.execute(sa.select(members.c.member_id).where(
            members.c.phone == phone)).scalar()

    def id_by_card(self, number: str) -> tuple[str, str] | None:
        row = self.conn.execute(sa.select(cards.c.member_id, cards.c.status).where(
            cards.c.number == number)).first()
        return None if row is None else (row.member_id, row.status)

    def id_by_referral_code(self, code: str) -> str | None:
        return self.conn.execute(sa.select(members.c.member_id).where(
            members.c.referral_code == code)).scalar()

    def referral_code_taken(self, code: str) -> bool:
        return self.conn.execute(sa.select(members.c.member_id).where(
            members.c.referral_code == code)).first() is not None

    def update(self, member_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(members.update().where(members.c.member_id == member_id)
                          .values(**_with_birth_month_day(values)))

    def page(self, *, limit: int, after: str | None) -> list[dict[str, Any]]:
        query = sa.select(members).order_by(members.c.member_id).limit(limit)
        if after:
            query = query.where(members.c.member_id > after)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def with_tier(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(member_id, tier_code) of active members holding a tier, in id order."""
        c = members.c
        query = (sa.select(c.member_id, c.tier_code)
                 .where(c.tier_code.is_not(None), c.status == "active")
                 .order_by(c.member_id).limit(limit))
        if after:
            query = query.where(c.member_id > after)
        return [(r.member_id, r.tier_code) for r in self.conn.execute(query)]

    def count(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(members)).scalar_one()

    def search(self, *, currency: str, limit: int, phone: str | None = None,
               digits: str | None = None, card: str | None = None,
               words: tuple[tuple[str, ...], ...] = ()) -> list[dict[str, Any]]:
        """Members for the support desk, by name, at most `limit`, each with its cards and
        its balance in `currency`. Exactly one way to search: `phone` (E.164, exact),
        `digits` (found anywhere in the phone, or the start of a card number), `card` (a
        whole number, blocked cards too) or `words` (each word, given in its case variants,
        found in the first or the last name)."""
        c = members.c
        b = member_balances.c
        query = (sa.select(c.member_id, c.phone, c.first_name, c.last_name, c.tier_code,
                           c.status, b.available, b.pending)
                 .outerjoin(member_balances, sa.and_(b.member_id == c.member_id,
                                                     b.currency == currency))
                 .order_by(c.last_name, c.first_name, c.member_id).limit(limit))
        query = query.where(_search_condition(phone, digits, card, words))
        found = [dict(r) for r in self.conn.execute(query).mappings()]
        ids = [m["member_id"] for m in found]
        numbers: dict[str, list[dict[str, Any]]] = {}
        if ids:
            rows = self.conn.execute(sa.select(cards.c.member_id, cards.c.number,
                                               cards.c.status)
                                     .where(cards.c.member_id.in_(ids))
                                     .order_by(cards.c.issued_at, cards.c.number))
            for row in rows:
                numbers.setdefault(row.member_id, []).append(
                    {"number": row.number, "status": row.status})
        return [{**m, "available": m["available"] or 0, "pending": m["pending"] or 0,
                 "cards": numbers.get(m["member_id"], [])} for m in found]

    # --- cards -----------------------------------------------------------------------------

    def next_card_serial(self, now: datetime) -> int:
        result = self.conn.execute(card_serial.insert().values(issued_at=now))
        return int(result.inserted_primary_key[0])

    def add_card(self, member_id: str, number: str, now: datetime) -> None:
        self.conn.execute(cards.insert().values(number=number, member_id=member_id,
                                                status="active", issued_at=now))

    def cards_of(self, member_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(cards).where(cards.c.member_id == member_id)
                                 .order_by(cards.c.issued_at, cards.c.number)).mappings()
        return [dict(r) for r in rows]

    def block_card(self, number: str, now: datetime, replaced_by: str | None) -> None:
        self.conn.execute(cards.update().where(cards.c.number == number).values(
            status="blocked", blocked_at=now, replaced_by=replaced_by))

    # --- consents --------------------------------------------------------------------------

    def add_consents(self, member_id: str, records: Iterable[ConsentRecord]) -> None:
        rows = [{"member_id": member_id, "consent_id": new_id(), "purpose": r.purpose.value,
                 "channel": r.channel.value if r.channel else None, "granted": r.granted,
                 "source": r.source, "text_version": r.text_version,
                 "recorded_at": r.recorded_at} for r in records]
        if rows:
            self.conn.execute(consents.insert(), rows)

    def consents_of(self, member_id: str) -> list[ConsentRecord]:
        rows = self.conn.execute(sa.select(consents).where(consents.c.member_id == member_id)
                                 .order_by(consents.c.recorded_at, consents.c.consent_id))
        return [ConsentRecord(Purpose(r.purpose), Channel(r.channel) if r.channel else None,
                              r.granted, r.recorded_at, r.source, r.text_version) for r in rows]

    # --- verification ----------------------------------------------------------------------

    def add_challenge(self, member_id: str, ch: Challenge, now: datetime) -> None:
        self.conn.execute(verification_challenges.insert().values(
            challenge_id=ch.challenge_id, member_id=member_id, target=ch.target.value,
            address=ch.address, code_hash=ch.code_hash, expires_at=ch.expires_at,
            attempts=0, created_at=now))

    def challenge(self, member_id: str, challenge_id: str) -> Challenge | None:
        c = verification_challenges.c
        r = self.conn.execute(sa.select(verification_challenges).where(
            c.member_id == member_id, c.challenge_id == challenge_id)).first()
        return None if r is None else Challenge(r.challenge_id, Target(r.target), r.address,
                                                r.code_hash, r.expires_at, r.attempts,
                                                r.verified_at)

    def delete_challenges(self, member_id: str) -> None:
        self.conn.execute(verification_challenges.delete().where(
            verification_challenges.c.member_id == member_id))

    def mark_challenge(self, challenge_id: str, *, failed: bool, now: datetime) -> None:
        c = verification_challenges.c
        values = {"attempts": c.attempts + 1} if failed else {"verified_at": now}
        self.conn.execute(verification_challenges.update().where(
            c.challenge_id == challenge_id).values(**values))

    # --- reference data --------------------------------------------------------------------

    def currency(self, code: str) -> PointCurrency | None:
        r = self.conn.execute(sa.select(currencies).where(currencies.c.code == code)).first()
        return None if r is None else PointCurrency(
            r.code, r.name, r.scale, r.unit_value_kopecks, Rounding(r.earn_rounding),
            r.min_available)

    def currencies(self) -> list[PointCurrency]:
        rows = self.conn.execute(sa.select(currencies).order_by(currencies.c.code))
        return [PointCurrency(r.code, r.name, r.scale, r.unit_value_kopecks,
                              Rounding(r.earn_rounding), r.min_available) for r in rows]

    def add_currency(self, cur: PointCurrency) -> None:
        self.conn.execute(currencies.insert().values(
            code=cur.code, name=cur.name, scale=cur.scale,
            unit_value_kopecks=cur.unit_value_kopecks, earn_rounding=cur.earn_rounding.value,
            min_available=cur.min_available))

    def partner(self, partner_id: str) -> dict[str, Any] | None:
        r = self.conn.execute(sa.select(partners).where(
            partners.c.partner_id == partner_id)).mappings().first()
        return dict(r) if r else None

    def add_partner(self, partner_id: str, name: str, now: datetime) -> None:
        self.conn.execute(partners.insert().values(partner_id=partner_id, name=name,
                                                   created_at=now))

    def store(self, store_id: str) -> dict[str, Any] | None:
        r = self.conn.execute(sa.select(stores).where(stores.c.store_id == store_id)
                              ).mappings().first()
        return dict(r) if r else None

    def add_store(self, store_id: str, partner_id: str, name: str) -> None:
        self.conn.execute(stores.insert().values(store_id=store_id, partner_id=partner_id,
                                                 name=name))

    def add_api_key(self, row: dict[str, Any]) -> None:
        self.conn.execute(api_keys.insert().values(**row))

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        r = self.conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)
                              ).mappings().first()
        return dict(r) if r else None

    def partners(self, *, limit: int, after: str | None = None) -> list[dict[str, Any]]:
        """Partners in id order, each with its stores."""
        query = sa.select(partners).order_by(partners.c.partner_id).limit(limit)
        if after is not None:
            query = query.where(partners.c.partner_id > after)
        found = [dict(r) for r in self.conn.execute(query).mappings()]
        ids = [p["partner_id"] for p in found]
        rows = self.conn.execute(sa.select(stores).where(stores.c.partner_id.in_(ids))
                                 .order_by(stores.c.store_id)).mappings() if ids else []
        by_partner: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_partner.setdefault(row["partner_id"], []).append(dict(row))
        return [{**p, "stores": by_partner.get(p["partner_id"], [])} for p in found]

    def partner_names(self) -> dict[str, str]:
        rows = self.conn.execute(sa.select(partners.c.partner_id, partners.c.name))
        return {r.partner_id: r.name for r in rows}
