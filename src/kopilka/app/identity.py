"""Normalising the identifiers people type: phone numbers to E.164, emails to canonical form."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from kopilka.domain.errors import InvalidInput

DEFAULT_REGION = "RU"
PHONE_CHARACTERS = re.compile(r"[0-9+\-() .]+")


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """'8 (916) 123-45-67' -> '+79161234567'; refuses anything that is not a real number."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise InvalidInput("phone is required", code="invalid_phone")
    if not PHONE_CHARACTERS.fullmatch(raw):
        raise InvalidInput(f"{raw!r}: a phone number has digits, spaces, +, -, ( and ) only",
                           code="invalid_phone")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{raw!r} is not a phone number", code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{raw!r} is not a valid phone number", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email: {exc}", code="invalid_email") from exc
