"""Request bodies of the HTTP API: strict, bounded, and refusing unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

# Control characters are refused in every text field: NUL breaks PostgreSQL text, and none of
# them belongs in a name, an id or a reason.
# A pattern is checked in pydantic's compiled core; a Python validator on every string field
# cost 7% of a till request (measured with py-spy).
Clean = Field(pattern=r"^[^\x00-\x1f\x7f]*$")
Name = Annotated[str, Field(min_length=1, max_length=100), Clean]
Id64 = Annotated[str, Field(min_length=1, max_length=64), Clean]
Reason = Annotated[str, Field(min_length=1, max_length=500), Clean]
Points = Annotated[StrictInt, Field(gt=0, le=10**12)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentsIn(Strict):
    personal_data: StrictBool | None = None
    marketing_email: StrictBool | None = None
    marketing_sms: StrictBool | None = None
    marketing_push: StrictBool | None = None
    partner_transfer: StrictBool | None = None
    consent_text_version: Annotated[str, Field(min_length=1, max_length=64), Clean] = "1"

    def fields(self) -> dict[str, bool]:
        return {k: v for k, v in self.model_dump(exclude={"consent_text_version"}).items()
                if v is not None}


class EnrolIn(Strict):
    phone: Annotated[str, Field(min_length=3, max_length=40), Clean]
    email: Annotated[str, Field(max_length=254), Clean] | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    birth_date: date | None = None
    gender: Annotated[str, Field(max_length=16), Clean] | None = None
    city: Name | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    consents: ConsentsIn
    consent_text_version: Annotated[str, Field(min_length=1, max_length=64), Clean] | None = None
    referral_code: Annotated[str, Field(max_length=16), Clean] | None = None
    store_id: Id64 | None = None
    time_zone: TimeZone | None = None


class PatchMemberIn(Strict):
    email: Annotated[str, Field(max_length=254), Clean] | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    birth_date: date | None = None
    gender: Annotated[str, Field(max_length=16), Clean] | None = None
    city: Name | None = None
    attributes: dict[str, Any] | None = None
    consents: ConsentsIn | None = None
    time_zone: TimeZone | None = None


class MemberRefIn(Strict):
    member_id: Annotated[str, Field(max_length=64), Clean] | None = None
    card: Annotated[str, Field(max_length=32), Clean] | None = None
    phone: Annotated[str, Field(max_length=40), Clean] | None = None
    qr: Annotated[str, Field(max_length=512), Clean] | None = None


class CardIn(Strict):
    replace: Annotated[str, Field(max_length=32), Clean] | None = None


class AdjustmentIn(Strict):
    points: Annotated[StrictInt, Field(ge=-(10**12), le=10**12)]
    reason: Reason
    currency: Id64 | None = None
    expires_at: AwareDatetime | None = None
    allow_negative_balance: StrictBool = False


class ReversalIn(Strict):
    reason: Reason


class EarnIn(Strict):
    points: Points
    currency: Id64 | None = None
    expires_at: AwareDatetime | None = None
    activates_at: AwareDatetime | None = None
    activation_event: Id64 | None = None
    reason: Reason | None = None
    effective_at: AwareDatetime | None = None


class SpendIn(Strict):
    points: Points
    currency: Id64 | None = None
    reason: Reason | None = None


class HoldIn(Strict):
    points: Points
    currency: Id64 | None = None
    ttl_seconds: Annotated[StrictInt, Field(gt=0, le=7 * 24 * 3600)] | None = None


class CaptureIn(Strict):
    points: Annotated[StrictInt, Field(ge=0, le=10**12)] | None = None


class DonationIn(Strict):
    """A member's donation to a charity fund (SPEC P9), in the fund currency's minor units."""

    fund_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    points: Points


class EventIn(Strict):
    """A member's event for one-time rewards (SPEC R6): review, subscription, ..."""

    type: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    occurred_at: AwareDatetime | None = None  # default: now
    attributes: dict[str, Any] = Field(default_factory=dict)


class VerificationIn(Strict):
    target: Annotated[str, Field(pattern="^(phone|email)$")] = "phone"


class VerificationCodeIn(Strict):
    code: Annotated[str, Field(min_length=1, max_length=12), Clean]


def dump_time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


Quantity = Annotated[str, Field(pattern=r"^\d{1,9}(\.\d{1,6})?$", max_length=16)]


class ReceiptLineIn(Strict):
    line_id: Id64
    sku: Id64
    name: Annotated[str, Field(max_length=200), Clean] | None = None
    category: Annotated[str, Field(max_length=200), Clean] | None = None
    quantity: Quantity
    unit_price: Annotated[str, Field(pattern=r"^\d{1,13}(\.\d{1,2})?$", max_length=16)]
    discountable: StrictBool = True


class ReceiptIn(Strict):
    store_id: Id64
    receipt_id: Id64
    till_id: Id64 | None = None
    cashier_id: Id64 | None = None
    occurred_at: AwareDatetime
    channel: Annotated[str, Field(pattern="^(offline|online|app)$")] = "offline"
    member: MemberRefIn | None = None
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=500)]
    promo_codes: Annotated[list[Id64], Field(max_length=20)] = Field(default_factory=list)
    redeem_points: Annotated[StrictInt, Field(ge=0, le=10**12)] | Annotated[
        str, Field(pattern="^max$")] = 0
    payment_methods: Annotated[list[Id64], Field(max_length=10)] = Field(default_factory=list)
    hold: StrictBool = False
    hold_id: Id64 | None = None


class ReturnLineIn(Strict):
    line_id: Id64
    quantity: Quantity


class ReturnIn(Strict):
    return_id: Id64
    occurred_at: AwareDatetime | None = None
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=500)]


class CodesIn(Strict):
    """A batch of unique single-use codes (`count`, `prefix`), or one shared `code`."""

    count: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    prefix: Annotated[str, Field(max_length=16), Clean] = ""
    code: Annotated[str, Field(min_length=1, max_length=64), Clean] | None = None
    max_uses: Annotated[StrictInt, Field(ge=1)] | None = None
    max_uses_per_member: Annotated[StrictInt, Field(ge=1)] | None = None


class PartnerIn(Strict):
    """A partner (brand) of the coalition."""

    partner_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=200), Clean]
