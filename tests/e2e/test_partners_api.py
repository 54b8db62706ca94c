"""Partners over HTTP: the list, adding one (admin, idempotent), the settlement statement
(admin or analytics; a partner's analytics key sees its own rows), and what another partner's
key may see of a member (SPEC P5: personal data only with the partner_transfer consent)."""

from __future__ import annotations

import pytest

from kopilka.entrypoints.http.auth import create_key
from tests.e2e.conftest import FOREIGN_STORE, Api, assert_problem

MARCH = {"from": "2026-03-01T00:00:00+00:00", "to": "2026-04-01T00:00:00+00:00"}


def other_key(api: Api, role: str, scopes: list[str]) -> str:
    """A key of the partner "other" (the e2e app has "main" and "other")."""
    api.keys[role] = create_key(api.lib.db, name=f"e2e-{role}", partner_id="other",
                                scopes=scopes, now=api.clock.now())
    return role


def test_partners_are_listed_with_their_stores_for_any_key(api: Api) -> None:
    r = api.get("/v1/partners", as_="pos")
    assert r.status_code == 200, r.text
    items = {p["partner_id"]: p for p in r.json()["items"]}
    assert set(items) == {"main", "other"} and r.json()["next_cursor"] is None
    assert [s["store_id"] for s in items["other"]["stores"]] == [FOREIGN_STORE]
    first = api.get("/v1/partners?limit=1").json()
    assert [p["partner_id"] for p in first["items"]] == ["main"]
    rest = api.get(f"/v1/partners?limit=1&cursor={first['next_cursor']}").json()
    assert [p["partner_id"] for p in rest["items"]] == ["other"]
    assert_problem(api.get("/v1/partners", as_=None), 401, "missing_api_key")


def test_an_admin_adds_a_partner_once(api: Api) -> None:
    body = {"partner_id": "cafe", "name": "Cafe Lipa"}
    headers = {"Idempotency-Key": "add-cafe"}
    r = api.post("/v1/partners", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["partner_id"], r.json()["name"], r.json()["stores"]) == (
        "cafe", "Cafe Lipa", [])
    again = api.post("/v1/partners", json=body, headers=headers)
    assert (again.status_code, again.json()) == (201, r.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    before = api.counts()
    assert_problem(api.post("/v1/partners", json=body), 409, "partner_exists")
    assert_problem(api.post("/v1/partners", json={**body, "name": "Other"}, headers=headers),
                   409, "idempotency_conflict")
    assert api.counts() == before


@pytest.mark.parametrize(("role", "body", "status", "code"), [
    (None, {"partner_id": "x", "name": "X"}, 401, "missing_api_key"),
    ("write", {"partner_id": "x", "name": "X"}, 403, "insufficient_scope"),
    ("pos", {"partner_id": "x", "name": "X"}, 403, "insufficient_scope"),
    ("admin", {"partner_id": "-x", "name": "X"}, 422, "validation_error"),
    ("admin", {"partner_id": "x" * 65, "name": "X"}, 422, "validation_error"),
    ("admin", {"partner_id": "x", "name": ""}, 422, "validation_error"),
    ("admin", {"partner_id": "x", "name": "X\x00"}, 422, "validation_error"),
    ("admin", {"partner_id": "x"}, 422, "validation_error"),
    ("admin", {"partner_id": "x", "name": "X", "rate": "1"}, 422, "validation_error"),
])
def test_a_refused_partner_writes_nothing(shared_api: Api, role: str | None, body: dict,
                                          status: int, code: str) -> None:
    before = shared_api.counts()
    assert_problem(shared_api.post("/v1/partners", json=body, as_=role), status, code)
    assert shared_api.counts() == before


@pytest.mark.parametrize(("role", "query", "status", "code", "loc"), [
    (None, MARCH, 401, "missing_api_key", None),
    ("pos", MARCH, 403, "insufficient_scope", None),
    ("read", MARCH, 403, "insufficient_scope", None),
    ("admin", {"from": "2026-03-01", "to": MARCH["to"]}, 422, "validation_error",
     ["query", "from"]),
    ("admin", {"from": MARCH["from"], "to": "next month"}, 422, "validation_error",
     ["query", "to"]),
    ("admin", {"from": MARCH["to"], "to": MARCH["from"]}, 422, "validation_error",
     ["query", "to"]),
    ("admin", {"to": MARCH["to"]}, 422, "validation_error", ["query", "from"]),
])
def test_settlement_refusals_are_problems(shared_api: Api, role: str | None, query: dict,
                                          status: int, code: str, loc: list | None) -> None:
    body = assert_problem(shared_api.get("/v1/partners/settlement", params=query, as_=role),
                          status, code)
    if loc is not None:
        assert body["errors"][0]["loc"] == loc, body


def test_settlement_over_http_and_a_partners_own_view(api: Api) -> None:
    api.clock.at = api.clock.at.replace(month=3, day=2)
    other_pos = other_key(api, "other_pos", ["pos"])
    mid = api.enrol()["member_id"]
    api.earn(mid, 100)  # issued by "main"
    r = api.post(f"/v1/members/{mid}/points/spend", json={"points": 40}, as_=other_pos)
    assert r.status_code == 201, r.text
    full = api.get("/v1/partners/settlement", params=MARCH)
    assert full.status_code == 200, full.text
    view = full.json()
    assert [(p["issuer"], p["redeemer"], p["points"], p["rate"], p["money"])
            for p in view["pairs"]] == [("main", "other", 40, "1.00", "40.00")]
    assert [(n["debtor"], n["creditor"], n["money"]) for n in view["nets"]] == [
        ("main", "other", "40.00")]
    assert view["totals"] == [{"currency": "points", "issued": 100, "redeemed": 40}]
    assert {p["partner_id"]: p["net"] for p in view["partners"]} == {
        "main": "-40.00", "other": "40.00"}
    analytics = other_key(api, "other_analytics", ["analytics"])
    own = api.get("/v1/partners/settlement", params=MARCH, as_=analytics).json()
    assert own["partner_id"] == "other" and own["totals"] is None
    assert [p["partner_id"] for p in own["partners"]] == ["other"]
    assert own["pairs"] == view["pairs"]


def test_another_partners_key_sees_a_member_without_personal_data(api: Api) -> None:
    member = api.enrol(first_name="Anna", last_name="Petrova", email="anna@example.com",
                       birth_date="1990-05-01", city="Moscow")
    mid = member["member_id"]
    api.earn(mid, 70)
    reader = other_key(api, "other_read", ["members:read", "pos"])
    seen = api.get(f"/v1/members/{mid}", as_=reader).json()
    assert seen["personal_data_withheld"] is True
    for name in ("phone", "email", "first_name", "last_name", "birth_date", "gender", "city",
                 "attributes"):
        assert seen[name] is None, name
    assert seen["balance"]["available"] == 70 and seen["cards"] == member["cards"]
    summary = api.post("/v1/members/lookup", json={"card": member["cards"][0]["number"]},
                       as_=reader).json()
    assert (summary["first_name"], summary["personal_data_withheld"]) == (None, True)
    assert summary["balance"]["available"] == 70
    own = api.get(f"/v1/members/{mid}", as_="read").json()
    assert (own["first_name"], own["personal_data_withheld"]) == ("Anna", False)
    admin = other_key(api, "other_admin", ["admin"])
    assert api.get(f"/v1/members/{mid}", as_=admin).json()["first_name"] == "Anna"
    # the member consents to partner transfer: every partner sees the data
    r = api.patch(f"/v1/members/{mid}", json={"consents": {"partner_transfer": True}})
    assert r.status_code == 200, r.text
    assert api.get(f"/v1/members/{mid}", as_=reader).json()["first_name"] == "Anna"


def test_another_partners_history_hides_where_and_why_without_consent(api: Api) -> None:
    mid = api.enrol()["member_id"]
    api.post(f"/v1/members/{mid}/points/earn", json={"points": 50, "reason": "welcome"},
             as_="store_pos")
    reader = other_key(api, "other_reader", ["members:read", "pos"])
    r = api.post(f"/v1/members/{mid}/points/spend", json={"points": 5, "reason": "coffee"},
                 as_=reader)
    assert r.status_code == 201, r.text
    items = api.get(f"/v1/members/{mid}/history", as_=reader).json()["items"]
    assert [(i["kind"], i["points"]) for i in items] == [("spend", -5), ("earn", 50)]
    assert items[0]["reason"] == "coffee"  # its own operation
    assert (items[1]["reason"], items[1]["store_id"], items[1]["author"]) == (None, None, None)
    mine = api.get(f"/v1/members/{mid}/history", as_="read").json()["items"]
    assert mine[1]["reason"] == "welcome" and mine[1]["store_id"] is not None


def test_another_partner_cannot_adjust_or_capture_anothers_hold(api: Api) -> None:
    mid = api.enrol()["member_id"]
    api.earn(mid, 30)
    hold = api.post(f"/v1/members/{mid}/holds", json={"points": 10}, as_="pos").json()
    other = other_key(api, "other_writer", ["pos", "members:write"])
    before = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/adjustments",
                            json={"points": 5, "reason": "gift"}, as_=other),
                   403, "insufficient_scope")
    assert_problem(api.post(f"/v1/holds/{hold['hold_id']}/capture", json={"points": 10},
                            as_=other), 404, "hold_not_found")
    assert_problem(api.delete(f"/v1/holds/{hold['hold_id']}", as_=other), 404,
                   "hold_not_found")
    assert api.counts() == before


def test_another_partners_till_gets_the_member_without_a_name(api: Api) -> None:
    from kopilka.app.program_document import parse_program

    api.lib.apply_program(parse_program(
        "name: P\neffective_from: 2026-01-01T00:00:00+00:00\n"
        "point_currencies: [{code: points, name: Points}]\nburn: {id: pay}\n"))
    member = api.enrol(first_name="Anna")
    till = other_key(api, "other_till", ["pos"])
    body = {"store_id": FOREIGN_STORE, "receipt_id": "r-1",
            "occurred_at": "2026-03-01T12:00:00+03:00",
            "member": {"card": member["cards"][0]["number"]},
            "lines": [{"line_id": "1", "sku": "A", "quantity": "1", "unit_price": "10.00"}]}
    seen = api.post("/v1/receipts/calculate", json=body, as_=till).json()["member"]
    assert (seen["first_name"], seen["personal_data_withheld"]) == (None, True)
    own = api.post("/v1/receipts/calculate", json={**body, "store_id": "msk-001"},
                   as_="pos").json()["member"]
    assert (own["first_name"], own["personal_data_withheld"]) == ("Anna", False)
