"""Consent records: append-only facts of what a member allowed, when, where and on which text.

The current state of a consent is its latest record; withdrawal is a new record, so the whole
history stays. Joining requires consent to the processing of personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kopilka.domain.errors import InvalidInput


class Purpose(StrEnum):
    PERSONAL_DATA = "personal_data"
    MARKETING = "marketing"
    PARTNER_TRANSFER = "partner_transfer"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


# The API's flat consent field names and the (purpose, channel) each stands for.
CONSENT_FIELDS: dict[str, tuple[Purpose, Channel | None]] = {
    "personal_data": (Purpose.PERSONAL_DATA, None),
    "marketing_email": (Purpose.MARKETING, Channel.EMAIL),
    "marketing_sms": (Purpose.MARKETING, Channel.SMS),
    "marketing_push": (Purpose.MARKETING, Channel.PUSH),
    "partner_transfer": (Purpose.PARTNER_TRANSFER, None),
}


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    purpose: Purpose
    channel: Channel | None
    granted: bool
    recorded_at: datetime
    source: str
    text_version: str

    @property
    def field(self) -> str:
        for name, key in CONSENT_FIELDS.items():
            if key == (self.purpose, self.channel):
                return name
        raise AssertionError("unknown consent")  # unreachable: records come from the fields


def records_from_fields(fields: Mapping[str, bool], *, at: datetime, source: str,
                        text_version: str) -> list[ConsentRecord]:
    """Turn the API's flat consent fields into records, refusing unknown names."""
    unknown = sorted(set(fields) - set(CONSENT_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown consent: {', '.join(unknown)}", code="unknown_consent")
    return [ConsentRecord(*CONSENT_FIELDS[name], granted=bool(value), recorded_at=at,
                          source=source, text_version=text_version)
            for name, value in fields.items()]


def require_personal_data(records: Iterable[ConsentRecord]) -> None:
    if not current(records).get("personal_data", False):
        raise InvalidInput("consent to the processing of personal data is required to join",
                           code="consent_required")


def current(records: Iterable[ConsentRecord]) -> dict[str, bool]:
    """The state now: the latest record per field (records in the order they were made)."""
    state: dict[str, bool] = {}
    for record in sorted(records, key=lambda r: r.recorded_at):
        state[record.field] = record.granted
    return state


def changes(records: Iterable[ConsentRecord], new: Iterable[ConsentRecord]) -> list[ConsentRecord]:
    """Only the new records that change the current state (no duplicate history)."""
    state = current(records)
    return [r for r in new if state.get(r.field) != r.granted]


def may_send_marketing(records: Iterable[ConsentRecord], channel: Channel) -> bool:
    return current(records).get(f"marketing_{channel.value}", False)
