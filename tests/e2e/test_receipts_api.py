"""The till flow and the program over HTTP, as API.md promises them: status codes, bodies,
idempotent replays, problem+json refusals that write nothing, and tier progress."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import OTHER_STORE, STORE, Api, assert_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPLAYED = "Idempotent-Replayed"
YAML = {"content-type": "application/yaml"}
AT = "2026-03-01T12:00:00+03:00"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def apply(api: Api, text: str, **headers: str) -> dict:
    r = api.post("/v1/program/versions", content=text.encode(), headers={**YAML, **headers})
    assert r.status_code == 201, r.text
    return r.json()


def body(member: dict | None, *lines: dict, receipt_id: str = "000123-45",
         store_id: str = STORE, **extra: Any) -> dict:
    return {"store_id": store_id, "till_id": "3", "cashier_id": "77", "receipt_id": receipt_id,
            "occurred_at": AT, "channel": "offline", "member": member,
            "lines": list(lines) or [camera()], "payment_methods": ["card"], **extra}


def camera(price: str = "1000.00", quantity: str = "1", line_id: str = "1") -> dict:
    return {"line_id": line_id, "sku": "CAM-100", "name": "Camera",
            "category": "electronics/cameras", "quantity": quantity, "unit_price": price,
            "discountable": True}


def confirm(api: Api, payload: dict, status: int = 201) -> dict:
    r = api.post("/v1/receipts", json=payload, as_="pos")
    assert r.status_code == status, r.text
    return r.json()


# --- program --------------------------------------------------------------------------------

def test_program_versions_are_applied_listed_and_shown(api: Api) -> None:
    assert_problem(api.get("/v1/program", as_="pos"), 404, "no_program")
    first = apply(api, example("bonus.yaml"))
    assert first["version"] == 1
    assert first["document"]["earn"][0]["id"] == "base"
    assert datetime.fromisoformat(first["effective_from"]) == datetime(
        2026, 1, 1, tzinfo=timezone(timedelta(hours=3)))
    # JSON works as well, and a repeat with the same Idempotency-Key replays
    document = copy.deepcopy(first["document"])
    document["name"] = "Bonus program, v2"
    headers = {"Idempotency-Key": "program-v2"}
    second = api.post("/v1/program/versions", json=document, headers=headers)
    assert second.status_code == 201, second.text
    counts = api.counts()
    again = api.post("/v1/program/versions", json=document, headers=headers)
    assert (again.status_code, again.headers[REPLAYED]) == (201, "true")
    assert again.json() == second.json() and api.counts() == counts

    current = api.get("/v1/program", as_="pos")
    assert current.status_code == 200
    assert current.json()["version"] == 2
    assert current.json()["document"]["name"] == "Bonus program, v2"
    versions = api.get("/v1/program/versions", as_="read").json()["items"]
    assert [(v["version"], v["name"]) for v in versions] == [
        (1, "Bonus program"), (2, "Bonus program, v2")]
    # a till key cannot change the program; without a key nothing is shown
    assert_problem(api.post("/v1/program/versions", content=example("bonus.yaml").encode(),
                            headers=YAML, as_="pos"), 403)
    assert_problem(api.get("/v1/program", as_=None), 401)
    assert api.counts() == counts


def test_a_bad_program_document_is_422_with_precise_locations(api: Api) -> None:
    text = (example("bonus.yaml")
            .replace('- {from: "3000.00", percent: "10"}', '- {from: "3000.00", percent: "110"}')
            .replace('max_share_percent: "30"', 'max_share_percent: 30.5')
            .replace("pending_days: 14", "pending_days: -1"))
    before = api.counts()
    r = api.post("/v1/program/versions", content=text.encode(), headers=YAML)
    problem = assert_problem(r, 422, "invalid_program")
    locs = {tuple(e["loc"]): e for e in problem["errors"]}
    assert set(locs) == {("earn", 0, "ladder", 1, "percent"), ("earn", 0, "pending_days"),
                         ("burn", "max_share_percent")}
    lines = text.splitlines()
    for error in problem["errors"]:
        assert error["msg"]
        # the reported YAML line holds the offending key
        assert str(error["loc"][-1]) in lines[error["line"] - 1], error
    assert problem["detail"].startswith("invalid program document: ")
    assert "(and 2 more)" in problem["detail"]

    # cross-reference checks point at the value too
    ladder = example("bonus.yaml").replace('{from: "3000.00"', '{from: "0.00"')
    problem = assert_problem(api.post("/v1/program/versions", content=ladder.encode(),
                                      headers=YAML), 422, "invalid_program")
    assert [e["loc"] for e in problem["errors"]] == [["earn", 0, "ladder", 1, "from"]]

    syntax = assert_problem(api.post("/v1/program/versions", content=b"name: [unclosed",
                                     headers=YAML), 422, "invalid_program")
    assert "YAML syntax error" in syntax["detail"]
    assert_problem(api.post("/v1/program/versions", content=b"<program/>",
                            headers={"content-type": "text/html"}), 415)
    assert api.counts() == before


# --- receipts -------------------------------------------------------------------------------

def test_calculate_confirm_get_return_cancel(api: Api) -> None:
    apply(api, example("bonus.yaml"))
    member = api.enrol(first_name="Olga")
    mid, card = member["member_id"], member["cards"][0]["number"]
    api.earn(mid, 500)
    before = api.counts()

    payload = body({"card": card}, camera("45000.00"),
                   {"line_id": "2", "sku": "CIG-1", "category": "tobacco", "quantity": "2",
                    "unit_price": "250.00"}, redeem_points="max")
    calc = api.post("/v1/receipts/calculate", json=payload, as_="pos")
    assert calc.status_code == 200, calc.text
    result = calc.json()
    # 45,500.00; the camera may take 30% of 45,500 = 13,650 points, the balance is 500
    assert result["subtotal"] == "45500.00"
    assert (result["points_redeemed"], result["max_redeemable_points"]) == (500, 500)
    assert result["points_redeemed_value"] == "500.00"
    assert result["total_payable"] == "45000.00"
    # 10% (from 3,000) of the 44,500 paid for the camera; tobacco earns nothing
    assert (result["points_earned"], result["points_earned_pending"]) == (4450, 4450)
    assert [(x["line_id"], x["unit_price"], x["quantity"], x["discount"],
             x["points_redeemed_value"], x["total"], x["points_earned"])
            for x in result["lines"]] == [
        ("1", "45000.00", "1", "0.00", "500.00", "44500.00", 4450),
        ("2", "250.00", "2", "0.00", "0.00", "500.00", 0)]
    assert sum(float(x["total"]) for x in result["lines"]) == float(result["total_payable"])
    applied = {a["kind"]: a for a in result["applied"]}
    assert set(applied) == {"points_redeemed", "points_earned"}
    assert set(applied["points_earned"]) >= {"kind", "code", "name", "amount", "points",
                                             "line_ids", "rule"}
    assert applied["points_redeemed"]["line_ids"] == ["1"]
    assert result["rejected"] == [] and result["messages"] == []
    assert result["member"]["member_id"] == mid
    assert api.counts() == before  # calculate changes nothing

    first = api.post("/v1/receipts", json=payload, as_="pos")
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    confirmed = first.json()
    assert confirmed["status"] == "confirmed" and confirmed["receipt_key"]
    assert confirmed["total_payable"] == "45000.00"
    # pending: the 4,450 earned and the example's welcome bonus (waiting for the phone)
    assert (confirmed["balance"]["available"], confirmed["balance"]["pending"]) == (0, 4550)
    after = api.counts()
    repeat = api.post("/v1/receipts", json=payload, as_="pos")
    assert repeat.status_code == 200
    assert repeat.headers[REPLAYED] == "true"
    assert repeat.json() == confirmed
    assert api.counts() == after
    changed = {**payload, "lines": [camera("45000.00")]}
    assert_problem(api.post("/v1/receipts", json=changed, as_="pos"), 409, "receipt_conflict")

    stored = api.get(f"/v1/receipts/{STORE}/000123-45", as_="pos")
    assert stored.status_code == 200
    assert stored.json()["status"] == "confirmed"
    assert stored.json()["receipt_key"] == confirmed["receipt_key"]
    assert stored.json()["returns"] == []
    assert_problem(api.get(f"/v1/receipts/{STORE}/nope", as_="pos"), 404, "receipt_not_found")

    ret = {"return_id": "ret-1", "occurred_at": "2026-03-02T10:00:00+03:00",
           "lines": [{"line_id": "2", "quantity": "1"}]}
    url = f"/v1/receipts/{STORE}/000123-45/returns"
    returned = api.post(url, json=ret, as_="pos")
    assert returned.status_code == 201, returned.text
    assert returned.json()["refund"] == "250.00"
    assert returned.json()["points_withdrawn"] == 0  # tobacco earned nothing
    again = api.post(url, json=ret, as_="pos")
    assert (again.status_code, again.headers[REPLAYED]) == (200, "true")
    assert again.json() == returned.json()
    too_much = {"return_id": "ret-2", "lines": [{"line_id": "2", "quantity": "2"}]}
    assert_problem(api.post(url, json=too_much, as_="pos"), 422, "return_exceeds_receipt")
    assert [r["return_id"] for r in api.get(f"/v1/receipts/{STORE}/000123-45",
                                            as_="pos").json()["returns"]] == ["ret-1"]

    cancel = api.post(f"/v1/receipts/{STORE}/000123-45/cancel", as_="pos")
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    assert api.post(f"/v1/receipts/{STORE}/000123-45/cancel", as_="pos").status_code == 200
    balance = api.balance(mid)
    assert (balance["available"], balance["pending"], balance["on_hold"]) == (500, 100, 0)
    assert api.get(f"/v1/receipts/{STORE}/000123-45", as_="pos").json()["status"] == "cancelled"
    assert_problem(api.post(url, json=too_much, as_="pos"), 409, "receipt_cancelled")
    assert_problem(api.post(f"/v1/receipts/{STORE}/nope/cancel", as_="pos"), 404,
                   "receipt_not_found")


def test_hold_then_confirm_with_the_hold(api: Api) -> None:
    apply(api, example("bonus.yaml"))
    mid = api.enrol()["member_id"]
    api.earn(mid, 500)
    payload = body({"member_id": mid}, redeem_points=200)
    held = api.post("/v1/receipts/calculate", json={**payload, "hold": True}, as_="pos")
    assert held.status_code == 200, held.text
    hold_id = held.json()["hold_id"]
    assert hold_id
    assert (api.balance(mid)["available"], api.balance(mid)["on_hold"]) == (300, 200)
    confirmed = confirm(api, {**payload, "hold_id": hold_id})
    assert confirmed["points_redeemed"] == 200
    assert (confirmed["balance"]["available"], confirmed["balance"]["on_hold"]) == (300, 0)
    assert_problem(api.post("/v1/receipts", json={**payload, "receipt_id": "other",
                                                  "hold_id": hold_id}, as_="pos"),
                   409, "hold_not_active")


def test_receipts_without_a_member_and_with_a_store_bound_key(api: Api) -> None:
    apply(api, example("bonus.yaml"))
    anonymous = confirm(api, body(None))
    assert anonymous["member_id"] is None
    assert [r["code"] for r in anonymous["rejected"]] == ["no_member"]
    r = api.post("/v1/receipts", json=body(None, receipt_id="x1"), as_="store_pos")
    assert r.status_code == 201, r.text
    before = api.counts()
    foreign = body(None, receipt_id="x2", store_id=OTHER_STORE)
    assert_problem(api.post("/v1/receipts", json=foreign, as_="store_pos"), 403)
    assert_problem(api.post("/v1/receipts/calculate", json=foreign, as_="store_pos"), 403)
    assert_problem(api.get(f"/v1/receipts/{STORE}/x1", as_="read"), 403)
    assert_problem(api.post("/v1/receipts", json=foreign, as_=None), 401)
    assert api.counts() == before


def _bad_bodies(mid: str) -> list[tuple[str, dict | bytes, int, str, list | None]]:
    good = body({"member_id": mid})
    line = good["lines"][0]

    def with_line(**changes: Any) -> dict:
        return {**good, "lines": [{**line, **changes}]}

    def without(name: str) -> dict:
        return {k: v for k, v in good.items() if k != name}
    return [
        ("no lines", without("lines"), 422, "validation_error", ["lines"]),
        ("empty lines", {**good, "lines": []}, 422, "validation_error", ["lines"]),
        ("too many lines", {**good, "lines": [{**line, "line_id": str(i)} for i in range(501)]},
         422, "validation_error", ["lines"]),
        ("no store", without("store_id"), 422, "validation_error", ["store_id"]),
        ("long store", {**good, "store_id": "s" * 65}, 422, "validation_error", ["store_id"]),
        ("naive time", {**good, "occurred_at": "2026-03-01T12:00:00"}, 422, "validation_error",
         ["occurred_at"]),
        ("bad channel", {**good, "channel": "telegram"}, 422, "validation_error", ["channel"]),
        ("unknown field", {**good, "discount": "10"}, 422, "validation_error", ["discount"]),
        ("price fraction", with_line(unit_price="10.001"), 422, "validation_error",
         ["lines", 0, "unit_price"]),
        ("price float", with_line(unit_price=10.5), 422, "validation_error",
         ["lines", 0, "unit_price"]),
        # (where it is reported is checked by test_a_negative_price_is_reported_at_its_line)
        ("price negative", with_line(unit_price="-1.00"), 422, "validation_error", None),
        ("quantity negative", with_line(quantity="-1"), 422, "validation_error",
         ["lines", 0, "quantity"]),
        ("quantity text", with_line(quantity="one"), 422, "validation_error",
         ["lines", 0, "quantity"]),
        ("empty line id", with_line(line_id=""), 422, "validation_error",
         ["lines", 0, "line_id"]),
        ("discountable text", with_line(discountable="yes"), 422, "validation_error",
         ["lines", 0, "discountable"]),
        ("redeem negative", {**good, "redeem_points": -5}, 422, "validation_error",
         ["redeem_points"]),
        ("redeem word", {**good, "redeem_points": "all"}, 422, "validation_error",
         ["redeem_points"]),
        ("malformed json", b'{"store_id": "msk-001",', 422, "validation_error", ["body"]),
        ("zero quantity", with_line(quantity="0"), 422, "invalid_line", None),
        ("duplicate lines", {**good, "lines": [line, line]}, 422, "duplicate_line_id", None),
        ("two member refs", {**good, "member": {"member_id": mid, "phone": "+79160000000"}},
         422, "invalid_member_reference", None),
        ("unknown member", {**good, "member": {"member_id": "0" * 32}}, 404,
         "member_not_found", None),
        ("unknown hold", {**good, "hold_id": "nohold"}, 404, "hold_not_found", None),
    ]


def test_bad_receipt_bodies_are_422_problems_and_write_nothing(api: Api) -> None:
    apply(api, example("bonus.yaml"))
    mid = api.enrol()["member_id"]
    api.earn(mid, 100)
    before = api.counts()
    for name, payload, status, code, loc in _bad_bodies(mid):
        for path in ("/v1/receipts/calculate", "/v1/receipts"):
            if name == "unknown hold" and path.endswith("calculate"):
                continue
            if isinstance(payload, bytes):
                r = api.post(path, content=payload, as_="pos",
                             headers={"content-type": "application/json"})
            else:
                r = api.post(path, json=payload, as_="pos")
            problem = _problem(r, status, code, (name, path))
            if loc is not None:
                locs = [e["loc"] for e in problem["errors"]]
                assert any(found[:len(loc)] == loc for found in locs), (name, path, locs)
        assert api.counts() == before, name
    assert api.balance(mid)["available"] == 100


def _problem(r: httpx.Response, status: int, code: str, where: Any) -> dict:
    assert r.status_code == status, (where, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), where
    problem = r.json()
    assert problem["code"] == code, (where, problem)
    assert problem["status"] == status and problem["detail"] and problem["title"]
    return problem


def test_bad_return_bodies_are_refused_and_write_nothing(api: Api) -> None:
    apply(api, example("bonus.yaml"))
    mid = api.enrol()["member_id"]
    confirm(api, body({"member_id": mid}))
    url = f"/v1/receipts/{STORE}/000123-45/returns"
    before = api.counts()
    for payload, loc in [
        ({"lines": [{"line_id": "1", "quantity": "1"}]}, ["return_id"]),
        ({"return_id": "r", "lines": []}, ["lines"]),
        ({"return_id": "r", "lines": [{"line_id": "1", "quantity": "-1"}]},
         ["lines", 0, "quantity"]),
        ({"return_id": "r", "lines": [{"line_id": "1", "quantity": "1"}], "x": 1}, ["x"]),
        ({"return_id": "r", "occurred_at": "yesterday",
          "lines": [{"line_id": "1", "quantity": "1"}]}, ["occurred_at"]),
    ]:
        problem = assert_problem(api.post(url, json=payload, as_="pos"), 422, "validation_error")
        assert any(e["loc"][:len(loc)] == loc for e in problem["errors"]), (payload, problem)
    assert_problem(api.post(url, json={"return_id": "r", "lines": [{"line_id": "9",
                                                                     "quantity": "1"}]},
                            as_="pos"), 422, "unknown_line")
    assert_problem(api.post(url, json={"return_id": "r", "lines": [{"line_id": "1",
                                                                     "quantity": "1.5"}]},
                            as_="pos"), 422, "return_exceeds_receipt")
    assert api.counts() == before


def test_a_negative_price_is_reported_at_its_line(api: Api) -> None:
    """API.md: validation_error comes with errors: [{loc, msg}]."""
    apply(api, example("bonus.yaml"))
    payload = body(None, camera("-1.00"))
    problem = assert_problem(api.post("/v1/receipts/calculate", json=payload, as_="pos"), 422,
                             "validation_error")
    assert [e["loc"] for e in problem.get("errors", [])] == [["lines", 0, "unit_price"]]


# --- tiers ----------------------------------------------------------------------------------

def test_tier_upgrade_and_progress_over_http(api: Api) -> None:
    apply(api, example("tiers-discount.yaml"))
    mid = api.enrol()["member_id"]
    tier_url = f"/v1/members/{mid}/tier"
    start = api.get(tier_url, as_="read")
    assert start.status_code == 200
    assert start.json()["qualifying_value"] == "0.00"
    assert start.json()["next_tier"]["missing"] == "5000.00"

    upgrade = confirm(api, body({"member_id": mid}, camera("6000.00")))
    assert upgrade["tier"]["before"] == "base" and upgrade["tier"]["after"] == "silver"
    assert upgrade["messages"] == ["Buy for 4000.00 more to reach Gold"]
    progress = api.get(tier_url, as_="read").json()
    assert progress["tier"] == {"code": "silver", "name": "Silver"}
    assert progress["qualifying_value"] == "6000.00"
    assert progress["next_tier"] == {"code": "gold", "name": "Gold", "threshold": "10000.00",
                                     "missing": "4000.00"}
    assert progress["next_review_at"]

    discounted = confirm(api, body({"member_id": mid}, camera("2000.00"), receipt_id="2"))
    assert (discounted["discount_total"], discounted["total_payable"]) == ("100.00", "1900.00")
    assert discounted["applied"][0]["rule"] == "5% off by the tier Silver"
    assert api.get(tier_url, as_="read").json()["next_tier"]["missing"] == "2100.00"

    assert_problem(api.get(tier_url, as_="pos"), 403)  # tier progress needs members:read
    assert_problem(api.get(f"/v1/members/{'0' * 32}/tier", as_="read"), 404, "member_not_found")


def test_the_member_shows_the_tier_name_and_its_discount(api: Api) -> None:
    """API.md: the member's `tier` is `{code, name}`; lookup returns `discount_percent`."""
    apply(api, example("tiers-discount.yaml"))
    member = api.enrol()
    mid = member["member_id"]
    confirm(api, body({"member_id": mid}, camera("6000.00")))
    shown = api.get(f"/v1/members/{mid}", as_="read").json()
    assert shown["tier"] == {"code": "silver", "name": "Silver"}
    summary = api.post("/v1/members/lookup", json={"member_id": mid}, as_="pos").json()
    assert summary["discount_percent"] == "5"


def test_the_receipts_tier_progress_is_money_for_a_spend_measure(api: Api) -> None:
    """API.md: money is a decimal string; the receipt's tier progress of a spend measure is
    money, as GET /tier shows it."""
    apply(api, example("tiers-discount.yaml"))
    mid = api.enrol()["member_id"]
    calc = api.post("/v1/receipts/calculate", json=body({"member_id": mid}, camera("6000.00")),
                    as_="pos").json()
    assert calc["tier"]["qualifying_value"] == "6000.00"
