"""Promotions over HTTP: the catalogue, promo codes, CSV export, code checks; auth and bad
input answered with problem+json and nothing written."""

from __future__ import annotations

import csv
import io
from typing import Any

from kopilka.app.program_document import parse_program
from tests.e2e.conftest import STORE, Api, assert_problem

PROGRAM = """\
name: Promotions API test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "5"}]
"""


def document(**overrides: Any) -> dict[str, Any]:
    return {"id": "coffee3", "name": "Third coffee free", "priority": 5,
            "reward": {"type": "buy_x_get_y", "buy": {"categories": ["coffee"], "quantity": 2},
                       "get": {"categories": ["coffee"], "quantity": 1}},
            **overrides}


def test_catalogue_round_trip(api: Api) -> None:
    created = api.post("/v1/promotions", json=document())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"
    listed = api.get("/v1/promotions", as_="pos")
    assert [p["id"] for p in listed.json()["items"]] == ["coffee3"]
    assert listed.json()["next_cursor"] is None
    paused = api.patch("/v1/promotions/coffee3", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    one = api.get("/v1/promotions/coffee3", as_="pos").json()
    assert one["status"] == "paused" and one["reward"]["type"] == "buy_x_get_y"
    assert api.get("/v1/promotions?status=active").json()["items"] == []


def test_pagination_by_cursor(api: Api) -> None:
    for i in range(3):
        assert api.post("/v1/promotions", json=document(id=f"p{i}")).status_code == 201
    first = api.get("/v1/promotions?limit=2").json()
    assert [p["id"] for p in first["items"]] == ["p0", "p1"]
    rest = api.get(f"/v1/promotions?limit=2&cursor={first['next_cursor']}").json()
    assert [p["id"] for p in rest["items"]] == ["p2"] and rest["next_cursor"] is None


def test_only_admin_keys_change_promotions(api: Api) -> None:
    before = api.counts()
    assert_problem(api.post("/v1/promotions", json=document(), as_="pos"), 403)
    assert_problem(api.post("/v1/promotions", json=document(), as_=None), 401)
    assert_problem(api.get("/v1/promotions", as_="read"), 403)
    assert api.counts() == before


def test_invalid_documents_get_precise_locations_and_write_nothing(api: Api) -> None:
    before = api.counts()
    bad = api.post("/v1/promotions", json=document(reward={"type": "percent_off",
                                                           "percent": "-5"}))
    body = assert_problem(bad, 422)
    assert any(e["loc"][:2] == ["reward", "percent"] for e in body["errors"]), body
    assert_problem(api.post("/v1/promotions", content=b"{not json",
                            headers={"Content-Type": "application/json"}), 422)
    assert_problem(api.post("/v1/promotions", json=[1, 2]), 422)
    assert_problem(api.post("/v1/promotions?status=deleted", json=document()), 422)
    assert api.counts() == before
    api.post("/v1/promotions", json=document())
    assert_problem(api.post("/v1/promotions", json=document()), 409, "promotion_exists")
    assert_problem(api.get("/v1/promotions/nope"), 404, "promotion_not_found")


def test_code_batches_shared_codes_csv_and_checks(api: Api) -> None:
    api.post("/v1/promotions", json=document(requires_code=True))
    batch = api.post("/v1/promotions/coffee3/codes", json={"count": 25, "prefix": "CF"},
                     headers={"Idempotency-Key": "batch-1"})
    assert batch.status_code == 201, batch.text
    codes = batch.json()["codes"]
    assert len(set(codes)) == 25
    again = api.post("/v1/promotions/coffee3/codes", json={"count": 25, "prefix": "CF"},
                     headers={"Idempotency-Key": "batch-1"})
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["codes"] == codes
    exported = api.get(f"/v1/promotions/coffee3/codes.csv?batch_id={batch.json()['batch_id']}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert sorted(r["code"] for r in csv.DictReader(io.StringIO(exported.text))) == \
        sorted(codes)

    shared = api.post("/v1/promotions/coffee3/codes", json={"code": "coffee", "max_uses": 2})
    assert shared.status_code == 201 and shared.json()["code"] == "COFFEE"
    check = api.get("/v1/promo-codes/COFFEE", as_="pos").json()
    assert check["valid"] is True and check["promotion_id"] == "coffee3"
    assert_problem(api.get("/v1/promo-codes/UNKNOWN", as_="pos"), 404, "promo_code_not_found")
    assert_problem(api.post("/v1/promotions/coffee3/codes", json={}), 422)
    assert_problem(api.post("/v1/promotions/coffee3/codes",
                            json={"count": 1, "code": "BOTH"}), 422)
    assert_problem(api.post("/v1/promotions/coffee3/codes", json={"count": 0}), 422)


def test_code_check_on_a_cart(api: Api) -> None:
    api.lib.apply_program(parse_program(PROGRAM))
    member = api.enrol()
    api.post("/v1/promotions", json=document(requires_code=True))
    api.post("/v1/promotions/coffee3/codes", json={"code": "COFFEE"})
    cart = {"store_id": STORE, "receipt_id": "chk-1", "occurred_at": "2026-03-01T12:00:00+03:00",
            "member": {"member_id": member["member_id"]},
            "lines": [{"line_id": "1", "sku": "ESP", "category": "coffee/espresso",
                       "quantity": "2", "unit_price": "150.00"}]}
    short = api.post("/v1/promo-codes/COFFEE/check", json=cart, as_="pos").json()
    assert short["applies"] is False
    assert any("1 more" in hint for hint in short["messages"]), short
    cart["lines"][0]["quantity"] = "3"
    full = api.post("/v1/promo-codes/COFFEE/check", json=cart, as_="pos").json()
    assert full["applies"] is True
    assert full["applied"][0]["amount"] == "150.00"
    assert api.get(f"/v1/receipts/{STORE}/chk-1", as_="pos").status_code == 404  # no write
