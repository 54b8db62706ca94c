"""Charity over HTTP (SPEC P9): a donation with its idempotency and refusals (problem+json,
nothing written), the share of a receipt's points for a member who chose a fund, and the
report per fund with its scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopilka.adapters.sql.verify import verify
from kopilka.entrypoints.http.auth import create_key
from tests.e2e.conftest import STORE, Api, assert_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPLAYED = "Idempotent-Replayed"
REPORT = "/v1/charity/funds/report?from=2026-03-01T00:00:00%2B03:00&to=2026-03-02T00:00:00%2B03:00"


@pytest.fixture
def charity_api(api: Api) -> Api:
    """The API with the bonus example in force: fund `children` (minimum 10, a 5% share)."""
    text = (EXAMPLES / "bonus.yaml").read_text(encoding="utf-8")
    r = api.post("/v1/program/versions", content=text.encode(),
                 headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    return api


def donate(api: Api, member_id: str, body: Any, *, key: str | None = None,
           as_: str = "pos") -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post(f"/v1/members/{member_id}/donations", json=body, as_=as_, headers=headers)


def test_a_donation_happens_once_and_shows_in_history_and_report(charity_api: Api) -> None:
    api = charity_api
    member = api.enrol()["member_id"]
    api.earn(member, 100)
    body = {"fund_id": "children", "points": 30}
    first = donate(api, member, body, key="give-1")
    assert first.status_code == 201, first.text
    given = first.json()
    assert (given["kind"], given["points"], given["fund_id"], given["balance"]["available"]) == (
        "donate", -30, "children", 70)
    replay = donate(api, member, body, key="give-1")
    assert (replay.status_code, replay.headers[REPLAYED], replay.json()) == (201, "true", given)
    assert_problem(donate(api, member, {**body, "points": 31}, key="give-1"), 409,
                   "idempotency_conflict")
    assert donate(api, member, body, as_="write").status_code == 201  # members:write may too
    history = api.get(f"/v1/members/{member}/history", as_="read").json()["items"]
    assert [(op["kind"], op["points"], op["reason"]) for op in history[:2]] == [
        ("donate", -30, "fund:children"), ("donate", -30, "fund:children")]

    report = api.get(REPORT)
    assert report.status_code == 200, report.text
    assert report.json()["funds"] == [
        {"fund_id": "children", "name": "Children's hospital", "currency": "points",
         "donations": 2, "donors": 1, "points": 60, "value": "60.00"}]
    with api.lib.db.engine.connect() as conn:
        assert verify(conn) == []


def test_a_receipt_gives_its_share_to_the_chosen_fund(charity_api: Api) -> None:
    api = charity_api
    member = api.enrol(attributes={"charity_fund": "children"})["member_id"]
    r = api.post("/v1/receipts", as_="pos", json={
        "store_id": STORE, "receipt_id": "r-1", "occurred_at": "2026-03-01T12:00:00+03:00",
        "member": {"member_id": member},
        "lines": [{"line_id": "1", "sku": "CAM-100", "quantity": "1",
                   "unit_price": "1000.00"}]})
    assert r.status_code == 201, r.text
    earned = r.json()["points_earned"]  # 5% of 1000.00 is 50 points, pending 14 days
    assert earned == 50
    # floor(50 * 5%) = 2 to the fund, from the receipt's own lot (the welcome 100 untouched)
    assert api.balance(member)["pending"] == 100 + 50 - 2
    assert api.get(REPORT).json()["funds"][0]["points"] == 2


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"fund_id": "nowhere", "points": 10}, 422, "unknown_fund"),
    ({"fund_id": "children", "points": 1000}, 422, "insufficient_points"),
    ({"fund_id": "children", "points": 5}, 422, "donation_below_minimum"),
    ({"fund_id": "children", "points": 0}, 422, "validation_error"),
    ({"fund_id": "children", "points": "10"}, 422, "validation_error"),
    ({"fund_id": "children"}, 422, "validation_error"),
    ({"fund_id": "children", "points": 10, "extra": 1}, 422, "validation_error"),
    ({"fund_id": "bad id", "points": 10}, 422, "validation_error"),
    ([], 422, "validation_error"),
])
def test_a_bad_donation_is_a_problem_and_writes_nothing(charity_api: Api, body: Any,
                                                        status: int, code: str) -> None:
    api = charity_api
    member = api.enrol()["member_id"]
    api.earn(member, 100)
    before = api.counts()
    assert_problem(donate(api, member, body, key="bad"), status, code)
    assert api.counts() == before


def test_an_unknown_member_and_wrong_scopes_are_refused(charity_api: Api) -> None:
    api = charity_api
    before = api.counts()
    assert_problem(donate(api, "nobody", {"fund_id": "children", "points": 10}), 404,
                   "member_not_found")
    assert_problem(donate(api, "nobody", {"fund_id": "children", "points": 10}, as_="read"),
                   403)
    assert_problem(donate(api, "nobody", {"fund_id": "children", "points": 10}, as_=None), 401)
    assert api.counts() == before
    for role in ("pos", "read", "write"):
        assert_problem(api.get(REPORT, as_=role), 403)
    api.keys["analytics"] = create_key(api.lib.db, name="e2e-analytics", partner_id="main",
                                       scopes=["analytics"], now=api.clock.now())
    assert api.get(REPORT, as_="analytics").status_code == 200
    assert_problem(api.get("/v1/charity/funds/report?from=2026-03-02T00:00:00%2B03:00"
                           "&to=2026-03-01T00:00:00%2B03:00"), 422, "validation_error")
    assert_problem(api.get("/v1/charity/funds/report?from=yesterday&to=today"), 422,
                   "validation_error")
    assert_problem(api.get("/v1/charity/funds/report"), 422, "validation_error")
