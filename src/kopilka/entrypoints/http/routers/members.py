"""The Members endpoints of API.md: thin: parse, check scope, call the library, serialise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kopilka.app.members import Enrolment
from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.deps import (
    JSON,
    AdminKey,
    IdempotencyKey,
    Lib,
    PathId,
    PosOrReadKey,
    PosOrWriteKey,
    ReadKey,
    WriteKey,
    respond,
)

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post("", status_code=201)
def enrol(body: S.EnrolIn, lib: Lib, who: WriteKey, key: IdempotencyKey = None) -> JSON:
    who.require_store(body.store_id)
    cmd = Enrolment(
        phone=body.phone,
        consents=body.consents.fields(),
        consent_text_version=body.consent_text_version or body.consents.consent_text_version,
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        birth_date=body.birth_date,
        gender=body.gender,
        city=body.city,
        attributes=body.attributes,
        store_id=body.store_id or who.store_id,
        referral_code=body.referral_code,
        time_zone=body.time_zone,
    )
    return respond(lib.enrol(cmd, caller=who.caller, idempotency_key=key))


@router.post("/lookup")
def lookup(body: S.MemberRefIn, lib: Lib, who: PosOrReadKey) -> JSON:
    if body.phone is not None:
        who.require("members:read")  # never reveal to a till whether a phone is enrolled
    return JSON(lib.lookup(body.model_dump(), caller=who.caller))


@router.get("/{member_id}")
def get_member(member_id: PathId, lib: Lib, who: ReadKey) -> JSON:
    return JSON(lib.member(member_id, caller=who.caller))


@router.patch("/{member_id}")
def patch_member(
    member_id: PathId, body: S.PatchMemberIn, lib: Lib, who: WriteKey, key: IdempotencyKey = None
) -> JSON:
    changes = body.model_dump(exclude_unset=True, exclude={"consents"})
    consents = body.consents.fields() if body.consents else None
    version = body.consents.consent_text_version if body.consents else "1"
    return respond(
        lib.update_member(
            member_id,
            changes,
            consents,
            text_version=version,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.get("/{member_id}/balance")
def balance(
    member_id: PathId,
    lib: Lib,
    who: PosOrReadKey,
    currency: Annotated[str | None, Query(max_length=64)] = None,
) -> JSON:
    return JSON(lib.balance(member_id, currency))


@router.get("/{member_id}/history")
def history(
    member_id: PathId,
    lib: Lib,
    who: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSON:
    return JSON(lib.history(member_id, limit=limit, cursor=cursor, caller=who.caller))


@router.get("/{member_id}/consents")
def consent_history(member_id: PathId, lib: Lib, who: ReadKey) -> JSON:
    return JSON({"items": lib.consent_history(member_id)})


@router.post("/{member_id}/cards", status_code=201)
def issue_card(
    member_id: PathId,
    lib: Lib,
    who: WriteKey,
    body: S.CardIn | None = None,
    key: IdempotencyKey = None,
) -> JSON:
    replace = body.replace if body else None
    return respond(
        lib.issue_card(member_id, replace=replace, caller=who.caller, idempotency_key=key)
    )


@router.post("/{member_id}/cards/{number}/block")
def block_card(
    member_id: PathId, number: PathId, lib: Lib, who: WriteKey, key: IdempotencyKey = None
) -> JSON:
    return respond(lib.block_card(member_id, number, caller=who.caller, idempotency_key=key))


@router.post("/{member_id}/adjustments", status_code=201)
def adjust(
    member_id: PathId, body: S.AdjustmentIn, lib: Lib, who: AdminKey, key: IdempotencyKey = None
) -> JSON:
    return respond(
        lib.adjust(
            member_id,
            body.points,
            reason=body.reason,
            author=who.name,
            currency=body.currency,
            expires_at=body.expires_at,
            allow_debt=body.allow_negative_balance,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.post("/{member_id}/operations/{operation_id}/reverse", status_code=201)
def reverse(
    member_id: PathId,
    operation_id: PathId,
    body: S.ReversalIn,
    lib: Lib,
    who: AdminKey,
    key: IdempotencyKey = None,
) -> JSON:
    return respond(
        lib.reverse(
            member_id,
            operation_id,
            reason=body.reason,
            author=who.name,
            caller=who.caller,
            idempotency_key=key,
        )
    )


@router.post("/{member_id}/events", status_code=201)
def record_event(
    member_id: PathId, body: S.EventIn, lib: Lib, who: PosOrWriteKey, key: IdempotencyKey = None,
) -> JSON:
    """One-time rewards by event: 201 with the rewards given, 200 when each was given before;
    422 `unknown_event_type` for a type the program in force does not name."""
    return respond(lib.record_event(member_id, body.type, occurred_at=body.occurred_at,
                                    attributes=body.attributes, caller=who.caller,
                                    idempotency_key=key))


@router.get("/{member_id}/rewards")
def member_rewards(member_id: PathId, lib: Lib, who: ReadKey) -> JSON:
    return JSON({"items": lib.rewards_of(member_id)})


@router.post("/{member_id}/verifications", status_code=201)
def start_verification(
    member_id: PathId, body: S.VerificationIn, lib: Lib, who: PosOrWriteKey,
    key: IdempotencyKey = None,
) -> JSON:
    return respond(lib.start_verification(member_id, body.target, caller=who.caller,
                                          idempotency_key=key))


@router.post("/{member_id}/verifications/{challenge_id}")
def confirm_verification(
    member_id: PathId,
    challenge_id: PathId,
    body: S.VerificationCodeIn,
    lib: Lib,
    who: PosOrWriteKey,
) -> JSON:
    return JSON(lib.confirm_verification(member_id, challenge_id, body.code))


@router.get("/{member_id}/export")
def export(member_id: PathId, lib: Lib, who: AdminKey) -> JSON:
    return JSON(lib.export(member_id))


@router.post("/{member_id}/erase")
def erase(member_id: PathId, lib: Lib, who: AdminKey, key: IdempotencyKey = None) -> JSON:
    return respond(lib.erase(member_id, caller=who.caller, idempotency_key=key))
