"""Gamification over HTTP (SPEC P7): challenges and badges of a member, a receipt's
engagement in the till's answer, and the sticker exchange with its idempotency and its
refusals (problem+json, nothing written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import STORE, Api, assert_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def eng_api(api: Api) -> Api:
    text = (EXAMPLES / "engagement.yaml").read_text(encoding="utf-8")
    r = api.post("/v1/program/versions", content=text.encode(),
                 headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    return api


def receipt(member_id: str, receipt_id: str, price: str = "5000.00",
            category: str = "electronics/tv") -> dict[str, Any]:
    return {"store_id": STORE, "receipt_id": receipt_id, "occurred_at": "2026-03-01T12:00:00+03:00",
            "member": {"member_id": member_id},
            "lines": [{"line_id": "1", "sku": "TV-1", "category": category, "quantity": "1",
                       "unit_price": price}]}


def exchange(api: Api, member_id: str, body: Any, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post(f"/v1/members/{member_id}/stickers/exchange", json=body, as_="pos",
                    headers=headers)


def test_challenges_progress_and_badges(eng_api: Api) -> None:
    api = eng_api
    member = api.enrol()["member_id"]
    for i in range(2):
        r = api.post("/v1/receipts", json=receipt(member, f"r{i}"), as_="pos")
        assert r.status_code == 201, r.text
        assert {c["id"] for c in r.json()["engagement"]["challenges"]} == {
            "five-a-month", "gadget-fan"}
    r = api.get(f"/v1/members/{member}/challenges", as_="read")
    assert r.status_code == 200, r.text
    items = {c["id"]: c for c in r.json()["items"]}
    assert (items["five-a-month"]["progress"], items["five-a-month"]["target"]) == (2, 5)
    assert (items["gadget-fan"]["progress"], items["gadget-fan"]["completed"]) == (
        "10000.00", True)
    assert [b["badge"] for b in r.json()["badges"]] == ["Gadget fan"]
    assert_problem(api.get("/v1/members/nobody/challenges", as_="read"), 404)
    assert_problem(api.get(f"/v1/members/{member}/challenges", as_=None), 401)


def test_stickers_exchange_once_and_refusals_write_nothing(eng_api: Api) -> None:
    api = eng_api
    member = api.enrol()["member_id"]
    for i in range(2):  # 2 x 5,000.00: 20 stickers
        assert api.post("/v1/receipts", json=receipt(member, f"s{i}", category="food"),
                        as_="pos").status_code == 201
    before = api.counts()
    for body in ({}, {"offer_id": ""}, {"offer_id": "pan", "extra": 1}, {"offer_id": 5},
                 {"offer_id": "a" * 65}):
        assert_problem(exchange(api, member, body, key="bad"), 422)
    assert_problem(exchange(api, member, {"offer_id": "kettle"}), 422, "unknown_sticker_offer")
    assert_problem(exchange(api, "nobody", {"offer_id": "pan"}), 404)
    assert api.counts() == before
    first = exchange(api, member, {"offer_id": "pan"}, key="ex-1")
    assert first.status_code == 201, first.text
    assert first.json()["voucher"]["sku"] == "PAN-28"
    assert first.json()["balance"]["available"] == 0
    replay = exchange(api, member, {"offer_id": "pan"}, key="ex-1")
    assert (replay.status_code, replay.headers[REPLAYED], replay.json()) == (
        201, "true", first.json())
    after = api.counts()
    assert_problem(exchange(api, member, {"offer_id": "knife"}, key="ex-2"), 422,
                   "insufficient_points")
    assert api.counts() == after
