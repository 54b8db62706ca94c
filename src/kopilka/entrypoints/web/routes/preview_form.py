"""The preview's receipt: pasted JSON (the calculate request of API.md) or the small form
(lines, store, channel, member by phone or card, points to redeem, promo codes), read into
the till's `ReceiptInput` with the API's own schema, so a preview means what a till's
calculate means."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kopilka.app.receipts import ReceiptInput
from kopilka.domain.cards import is_valid_card_number
from kopilka.domain.errors import InvalidInput
from kopilka.entrypoints.http.routers.receipts import receipt_input
from kopilka.entrypoints.http.schemas import ReceiptIn

FORM_LINES = 4  # rows the form starts with (the page's script adds more)
MAX_FORM_LINES = 50
CHANNELS = ("offline", "online", "app")
PREVIEW_ID = "console-preview"


def form_lines(form: dict[str, Any]) -> list[dict[str, str]]:
    """The line rows as typed (also to show the form again), empty rows dropped."""
    skus, categories = form.get("sku", []), form.get("category", [])
    prices, quantities = form.get("price", []), form.get("quantity", [])
    rows = []
    for index in range(min(len(skus), MAX_FORM_LINES)):
        row = {"sku": skus[index].strip(),
               "category": categories[index].strip() if index < len(categories) else "",
               "price": prices[index].strip().replace(",", ".") if index < len(prices) else "",
               "quantity": (quantities[index].strip().replace(",", ".")
                            if index < len(quantities) else "") or "1"}
        if row["sku"] or row["price"]:
            rows.append(row)
    return rows


def member_ref(value: str) -> dict[str, str] | None:
    """A card number when it is a valid one (`is_valid_card_number`, as the receipt search
    decides), else a phone number in any format: "79001234567" is a phone."""
    value = value.strip()
    if not value:
        return None
    return {"card": value} if is_valid_card_number(value) else {"phone": value}


def request_of_form(form: dict[str, Any], now: datetime) -> dict[str, Any]:
    lines = [{"line_id": str(n), "sku": row["sku"], "unit_price": row["price"],
              "quantity": row["quantity"], **({"category": row["category"]}
                                              if row["category"] else {})}
             for n, row in enumerate(form_lines(form), start=1)]
    redeem = str(form.get("redeem_points", "")).strip()
    body: dict[str, Any] = {
        "store_id": str(form.get("store_id", "")).strip() or PREVIEW_ID,
        "receipt_id": PREVIEW_ID, "occurred_at": now.isoformat(),
        "channel": str(form.get("channel", "offline")), "lines": lines,
        "redeem_points": "max" if redeem == "max" else int(redeem) if redeem.isdigit() else 0,
        "promo_codes": [c.strip() for c in str(form.get("promo_codes", "")).split(",")
                        if c.strip()]}
    member = member_ref(str(form.get("member", "")))
    if member:
        body["member"] = member
    return body


def request_of_json(text: str, now: datetime) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"JSON syntax error at line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}", errors=[{"loc": [], "msg": exc.msg,
                                                  "line": exc.lineno}]) from None
    if not isinstance(body, dict):
        raise InvalidInput("the receipt must be a JSON object",
                           errors=[{"loc": [], "msg": "must be a JSON object"}])
    body.setdefault("store_id", PREVIEW_ID)
    body.setdefault("receipt_id", PREVIEW_ID)
    body.setdefault("occurred_at", now.isoformat())
    body.pop("hold", None)  # a preview never holds
    return body


def receipt_of(body: dict[str, Any]) -> ReceiptInput:
    """The request validated by the API's schema; its errors as the editor shows them."""
    try:
        return receipt_input(ReceiptIn.model_validate_json(json.dumps(body)))
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in err["loc"]], "msg": err["msg"]}
                  for err in exc.errors(include_url=False, include_input=False)]
        where = ".".join(errors[0]["loc"]) if errors else "receipt"
        raise InvalidInput(f"receipt: {where}: {errors[0]['msg'] if errors else 'invalid'}",
                           errors=errors) from None
