"""The digital card's QR token as the member reference over HTTP: lookup, calculate and
confirm take `{"qr": ...}`; an expired, forged or blocked card's token is a problem+json 4xx
with its code, and writes nothing."""

from __future__ import annotations

from tests.e2e.conftest import Api, assert_problem

LOOKUP = "/v1/members/lookup"
PROGRAM = """\
name: QR test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
"""


def receipt(member: dict, receipt_id: str = "qr-1") -> dict:
    return {"store_id": "msk-001", "receipt_id": receipt_id,
            "occurred_at": "2026-03-01T12:00:00+03:00", "member": member,
            "lines": [{"line_id": "1", "sku": "CAM-100", "quantity": "1",
                       "unit_price": "1000.00"}]}


def test_lookup_and_the_till_take_a_qr_token(api: Api) -> None:
    r = api.post("/v1/program/versions", content=PROGRAM.encode(),
                 headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    member = api.enrol()
    api.earn(member["member_id"], 250)
    token = api.lib.card_token(member["member_id"])
    assert token["card"] == member["cards"][0]["number"]

    found = api.post(LOOKUP, json={"qr": token["token"]}, as_="pos")
    assert found.status_code == 200, found.text
    assert found.json() == api.post(LOOKUP, json={"card": token["card"]}, as_="pos").json()
    assert found.json()["member_id"] == member["member_id"]
    assert found.json()["balance"]["available"] == 250

    calc = api.post("/v1/receipts/calculate", json=receipt({"qr": token["token"]}), as_="pos")
    assert calc.status_code == 200, calc.text
    assert (calc.json()["member"]["member_id"], calc.json()["points_earned"]) == (
        member["member_id"], 100)
    confirmed = api.post("/v1/receipts", json=receipt({"qr": token["token"]}), as_="pos")
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["member_id"] == member["member_id"]
    assert api.balance(member["member_id"])["available"] == 350

    # a till retrying the confirmation after the token expired gets the first answer
    api.clock.advance(seconds=121)
    again = api.post("/v1/receipts", json=receipt({"qr": token["token"]}), as_="pos")
    assert (again.status_code, again.json()) == (200, confirmed.json())  # API.md: a replay
    assert again.headers["Idempotent-Replayed"] == "true"


def test_an_expired_forged_or_blocked_token_is_a_problem(api: Api) -> None:
    member = api.enrol()["member_id"]
    token = api.lib.card_token(member)["token"]
    api.clock.advance(seconds=121)
    before = api.counts()
    body = assert_problem(api.post(LOOKUP, json={"qr": token}, as_="read"), 422, "qr_expired")
    assert "expired" in body["detail"]
    fresh = api.lib.card_token(member)["token"]
    forged = fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")
    assert_problem(api.post(LOOKUP, json={"qr": forged}, as_="read"), 422, "qr_invalid")
    assert_problem(api.post(LOOKUP, json={"qr": "x" * 512}, as_="read"), 422, "qr_invalid")
    assert api.counts() == before

    assert api.lib.replace_lost_card(member).status == 201
    assert_problem(api.post(LOOKUP, json={"qr": fresh}, as_="pos"), 409, "card_blocked")
    newest = api.lib.card_token(member)["token"]
    assert api.post(LOOKUP, json={"qr": newest}, as_="pos").json()["member_id"] == member
