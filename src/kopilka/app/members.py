"""Use cases for members: enrolment, profile, consent, cards, verification, privacy."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kopilka.app.identity import normalise_email, normalise_phone
from kopilka.app.ports import UnitOfWork, new_id
from kopilka.domain import consent as C
from kopilka.domain import rewards as R
from kopilka.domain import verification as V
from kopilka.domain.cards import CardStatus, card_number, is_valid_card_number
from kopilka.domain.errors import Conflict, DomainError, InvalidInput, NotFound

GENDERS = frozenset({"male", "female", "other", "unspecified"})
PROFILE_FIELDS = ("email", "first_name", "last_name", "birth_date", "gender", "city",
                  "attributes", "time_zone")
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTES_JSON = 8_000
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PHONE_VERIFIED_EVENT = "phone_verified"
QrVerifier = Callable[[str], str]  # a QR token -> the card number it carries (or raises)


@dataclass
class Enrolment:
    phone: str
    consents: dict[str, bool]
    consent_text_version: str = "1"
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    city: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    store_id: str | None = None
    referral_code: str | None = None
    time_zone: str | None = None  # IANA; None: the program's (birthdays, reward periods)


def _check_attributes(attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise InvalidInput("attributes must be an object", code="invalid_attributes")
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidInput(f"at most {MAX_ATTRIBUTES} attributes", code="invalid_attributes")
    for key, value in attributes.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise InvalidInput("attribute names are 1..64 characters", code="invalid_attributes")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidInput(f"attribute {key!r} must be a string, number or boolean",
                               code="invalid_attributes")
    if len(json.dumps(attributes, ensure_ascii=False)) > MAX_ATTRIBUTES_JSON:
        raise InvalidInput("attributes are too large", code="invalid_attributes")
    return attributes


def _profile_values(changes: dict[str, Any], today: date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            raise InvalidInput(f"{name} cannot be changed here", code="invalid_field")
        if value is None or name in ("first_name", "last_name", "city"):
            values[name] = value.strip() if isinstance(value, str) else value
        elif name == "email":
            values[name] = normalise_email(value)
        elif name == "birth_date":
            if value > today or value.year < 1900:
                raise InvalidInput("birth_date is not plausible", code="invalid_birth_date")
            values[name] = value
        elif name == "gender":
            if value not in GENDERS:
                raise InvalidInput(f"gender is one of {sorted(GENDERS)}", code="invalid_gender")
            values[name] = value
        elif name == "attributes":
            values[name] = _check_attributes(value)
        elif name == "time_zone":
            if not R.is_time_zone(value):
                raise InvalidInput(f"{value!r} is not an IANA time zone such as Europe/Moscow",
                                   code="invalid_time_zone")
            values[name] = value
    return values


def _referral_code(uow: UnitOfWork) -> str:
    for _ in range(20):
        code = "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))
        if not uow.members.referral_code_taken(code):
            return code
    raise DomainError("could not allocate a referral code", code="referral_code_exhausted")


def enrol(uow: UnitOfWork, cmd: Enrolment, *, now: datetime, partner_id: str | None,
          source: str, currency: str) -> str:
    phone = normalise_phone(cmd.phone)
    records = C.records_from_fields(cmd.consents, at=now, source=source,
                                    text_version=cmd.consent_text_version)
    C.require_personal_data(records)
    profile = {name: getattr(cmd, name) for name in PROFILE_FIELDS
               if getattr(cmd, name) not in (None, {})}
    values = _profile_values(profile, now.date())
    if cmd.store_id is not None:
        store = uow.members.store(cmd.store_id)
        if store is None:
            raise NotFound(f"store {cmd.store_id} not found", code="store_not_found")
        if partner_id is not None and store["partner_id"] != partner_id:
            raise DomainError(f"store {cmd.store_id} belongs to another partner",
                              code="store_forbidden", status=403)
    if uow.members.id_by_phone(phone) is not None:
        raise Conflict("a member with this phone is already enrolled", code="member_exists")
    member_id = new_id()
    referred_by = _referrer(uow, cmd.referral_code, R.Party(member_id, phone))
    uow.members.add({"member_id": member_id, "phone": phone, "attributes": {}, **values,
                     "status": "active", "referral_code": _referral_code(uow),
                     "referred_by": referred_by,
                     "enrolled_store_id": cmd.store_id, "enrolled_partner_id": partner_id,
                     "created_at": now, "updated_at": now})
    uow.members.add_consents(member_id, records)
    issue_card(uow, member_id, now=now)
    uow.ledger.ensure_balance_row(member_id, currency, now)
    return member_id


def _referrer(uow: UnitOfWork, code: str | None, friend: R.Party) -> str | None:
    """The member whose referral code the new member gave (refused if unknown, inactive or
    the new member's own phone). A member is referred at enrolment only, so once."""
    if code is None or not code.strip():
        return None
    referrer_id = uow.members.id_by_referral_code(code.strip().upper())
    referrer = uow.members.get(referrer_id) if referrer_id is not None else None
    if referrer is None:
        raise InvalidInput("no member has this referral code", code="invalid_referral_code")
    R.check_referral(R.Party(referrer_id, referrer["phone"],
                             active=referrer["status"] == "active"), friend)
    return referrer_id


def require_member(uow: UnitOfWork, member_id: str, *, lock: bool = False) -> dict[str, Any]:
    member = uow.members.get(member_id, lock=lock)
    if member is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    return member


def require_active(uow: UnitOfWork, member_id: str, *, lock: bool = False) -> dict[str, Any]:
    member = require_member(uow, member_id, lock=lock)
    if member["status"] != "active":
        raise DomainError(f"member {member_id} is {member['status']}", code="member_not_active",
                          status=409)
    return member


def update_profile(uow: UnitOfWork, member_id: str, changes: dict[str, Any],
                   consents: dict[str, bool] | None, *, now: datetime, source: str,
                   text_version: str = "1") -> None:
    require_active(uow, member_id, lock=True)
    values = _profile_values(changes, now.date())
    if values:
        uow.members.update(member_id, {**values, "updated_at": now})
    if consents:
        new = C.records_from_fields(consents, at=now, source=source, text_version=text_version)
        existing = uow.members.consents_of(member_id)
        if not C.current([*existing, *new]).get("personal_data", False):
            raise InvalidInput("withdrawing consent to personal data processing is done by "
                               "erasure (POST /erase)", code="consent_required")
        uow.members.add_consents(member_id, C.changes(existing, new))


def issue_card(uow: UnitOfWork, member_id: str, *, now: datetime,
               replace: str | None = None) -> str:
    """A new card for the member; `replace` blocks that old card. Points stay with the member."""
    require_active(uow, member_id, lock=True)
    if replace is not None:
        owner = uow.members.id_by_card(replace)
        if owner is None or owner[0] != member_id:
            raise NotFound(f"card {replace} is not this member's", code="card_not_found")
        if owner[1] != CardStatus.ACTIVE:
            raise DomainError(f"card {replace} is already blocked", code="card_blocked",
                              status=409)
    number = card_number(uow.members.next_card_serial(now))
    uow.members.add_card(member_id, number, now)
    if replace is not None:
        uow.members.block_card(replace, now, number)
    return number


def block_card(uow: UnitOfWork, member_id: str, number: str, *, now: datetime) -> None:
    """Block a card (lost, stolen) without a replacement; points stay with the member."""
    require_member(uow, member_id, lock=True)
    owner = uow.members.id_by_card(number)
    if owner is None or owner[0] != member_id:
        raise NotFound(f"card {number} is not this member's", code="card_not_found")
    if owner[1] != CardStatus.ACTIVE:
        raise DomainError(f"card {number} is already blocked", code="card_blocked", status=409)
    uow.members.block_card(number, now, None)


def resolve(uow: UnitOfWork, ref: dict[str, str], *,
            qr_verifier: QrVerifier | None = None) -> str:
    """A member reference (exactly one of member_id, card, phone, qr) to a member id.

    A QR token (the member's digital card) is checked by `qr_verifier`, which knows the
    library's key, and then resolves exactly as its card would (a blocked card is refused)."""
    given = {k: v for k, v in ref.items() if v is not None}
    if len(given) != 1 or next(iter(given)) not in ("member_id", "card", "phone", "qr"):
        raise InvalidInput("give exactly one of member_id, card, phone, qr",
                           code="invalid_member_reference")
    kind, value = next(iter(given.items()))
    if kind == "qr":
        if qr_verifier is None:
            raise InvalidInput("QR tokens are not accepted here", code="qr_not_supported")
        kind, value = "card", qr_verifier(value)
    member_id: str | None
    if kind == "member_id":
        member_id = value if uow.members.brief(value) else None
    elif kind == "card":
        if not is_valid_card_number(value):
            raise InvalidInput(f"{value} is not a valid card number (check digit)",
                               code="invalid_card")
        found = uow.members.id_by_card(value)
        if found is not None and found[1] != CardStatus.ACTIVE:
            raise DomainError(f"card {value} is blocked", code="card_blocked", status=409)
        member_id = found[0] if found else None
    else:
        member_id = uow.members.id_by_phone(normalise_phone(value))
    if member_id is None:
        raise NotFound("no member matches this reference", code="member_not_found")
    return member_id


def resolve_brief(uow: UnitOfWork, ref: dict[str, str], *,
                  qr_verifier: QrVerifier | None = None) -> dict[str, Any]:
    """The till's view of the referenced member (one read when the reference is the id)."""
    member_id = ref.get("member_id")
    if member_id is not None and len([v for v in ref.values() if v is not None]) == 1:
        brief = uow.members.brief(member_id)
        if brief is None:
            raise NotFound("no member matches this reference", code="member_not_found")
        return brief
    return uow.members.brief(resolve(uow, ref, qr_verifier=qr_verifier))


def start_verification(uow: UnitOfWork, member_id: str, target: V.Target, *, now: datetime,
                       key: bytes) -> tuple[V.Challenge, str]:
    """Create a challenge; returns it and the code to deliver (after commit)."""
    member = require_active(uow, member_id)
    address = member["phone"] if target is V.Target.PHONE else member["email"]
    if not address:
        raise InvalidInput(f"the member has no {target.value}", code="nothing_to_verify")
    challenge_id = new_id()
    code = V.make_code(secrets.randbelow(10**V.CODE_DIGITS))
    challenge = V.Challenge(challenge_id, target, address,
                            V.code_hash(code, key=key, challenge_id=challenge_id),
                            now + V.CODE_TTL)
    uow.members.add_challenge(member_id, challenge, now)
    return challenge, code


def confirm_verification(uow: UnitOfWork, member_id: str, challenge_id: str, code: str, *,
                         now: datetime, key: bytes) -> V.Target | None:
    """The verified target, or None for a wrong code (the failed attempt is to be committed)."""
    require_active(uow, member_id, lock=True)
    challenge = uow.members.challenge(member_id, challenge_id)
    if challenge is None:
        raise NotFound("no such verification", code="verification_not_found")
    if not V.check(challenge, code, key=key, now=now):
        uow.members.mark_challenge(challenge_id, failed=True, now=now)
        return None
    uow.members.mark_challenge(challenge_id, failed=False, now=now)
    uow.members.update(member_id, {f"{challenge.target.value}_verified_at": now})
    return challenge.target


def event_happened(uow: UnitOfWork, member_id: str, event: str) -> bool:
    """Whether an activation event the member's points may wait for has already happened."""
    if event != PHONE_VERIFIED_EVENT:
        return False
    member = uow.members.get(member_id)
    return member is not None and member["phone_verified_at"] is not None


def erase(uow: UnitOfWork, member_id: str, *, now: datetime) -> None:
    """Anonymise personal data; the ledger and the member id stay so reports still add up."""
    member = require_member(uow, member_id, lock=True)
    if member["status"] == "erased":
        return
    for card in uow.members.cards_of(member_id):
        if card["status"] == CardStatus.ACTIVE:
            uow.members.block_card(card["number"], now, None)
    uow.members.update(member_id, {
        "phone": None, "email": None, "first_name": None, "last_name": None,
        "birth_date": None, "gender": None, "city": None, "attributes": {}, "time_zone": None,
        "status": "erased", "updated_at": now})
    uow.members.delete_challenges(member_id)
    uow.idempotency.redact_member(member_id, {"member_id": member_id, "status": "erased",
                                              "redacted": "personal data erased"})
