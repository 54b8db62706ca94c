"""The till flow of API.md: calculate, confirm, get, cancel, returns."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line
from kopilka.domain.points import parse_money
from kopilka.entrypoints.http import schemas as S
from kopilka.entrypoints.http.deps import JSON, IdempotencyKey, Lib, PathId, PosKey, respond

router = APIRouter(prefix="/v1/receipts", tags=["receipts"])


def receipt_input(body: S.ReceiptIn) -> ReceiptInput:
    lines = tuple(Line(line_id=line.line_id, sku=line.sku, name=line.name,
                       category=line.category, quantity=Decimal(line.quantity),
                       unit_price=parse_money(line.unit_price),
                       discountable=line.discountable) for line in body.lines)
    member = body.member.model_dump(exclude_none=True) if body.member else None
    return ReceiptInput(store_id=body.store_id, receipt_id=body.receipt_id,
                        occurred_at=body.occurred_at, lines=lines, member=member,
                        channel=body.channel, payment_methods=tuple(body.payment_methods),
                        redeem_points=body.redeem_points, till_id=body.till_id,
                        cashier_id=body.cashier_id, promo_codes=tuple(body.promo_codes),
                        hold_id=body.hold_id)


@router.post("/calculate")
def calculate(body: S.ReceiptIn, lib: Lib, who: PosKey, key: IdempotencyKey = None) -> JSON:
    who.require_store(body.store_id)
    return respond(lib.calculate(receipt_input(body), hold=body.hold, caller=who.caller,
                                 idempotency_key=key))


@router.post("", status_code=201)
def confirm(body: S.ReceiptIn, lib: Lib, who: PosKey) -> JSON:
    who.require_store(body.store_id)
    result = lib.confirm(receipt_input(body), caller=who.caller)
    if result.replayed:  # API.md: a repeat returns 200 with the first result
        return JSON(result.body, status_code=200, headers={"Idempotent-Replayed": "true"})
    return respond(result)


@router.get("/{store_id}/{receipt_id}")
def get_receipt(store_id: PathId, receipt_id: PathId, lib: Lib, who: PosKey) -> JSON:
    who.require_store(store_id)
    return JSON(lib.receipt(store_id, receipt_id, caller=who.caller))


@router.post("/{store_id}/{receipt_id}/cancel")
def cancel(store_id: PathId, receipt_id: PathId, lib: Lib, who: PosKey,
           key: IdempotencyKey = None) -> JSON:
    who.require_store(store_id)
    return respond(lib.cancel_receipt(store_id, receipt_id, caller=who.caller,
                                      idempotency_key=key))


@router.post("/{store_id}/{receipt_id}/returns", status_code=201)
def returns(store_id: PathId, receipt_id: PathId, body: S.ReturnIn, lib: Lib,
            who: PosKey) -> JSON:
    who.require_store(store_id)
    lines = [(line.line_id, Decimal(line.quantity)) for line in body.lines]
    result = lib.return_receipt(store_id, receipt_id, body.return_id, lines,
                                occurred_at=body.occurred_at, caller=who.caller)
    if result.replayed:
        return JSON(result.body, status_code=200, headers={"Idempotent-Replayed": "true"})
    return respond(result)
