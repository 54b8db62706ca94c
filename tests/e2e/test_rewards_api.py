"""One-time rewards over HTTP (SPEC R6, API.md Members): the events endpoint with its
idempotency and its refusals (problem+json, nothing written), enrolment with a referral code,
and the referral paid on the friend's first receipt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import STORE, Api, assert_problem, new_phone

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def rewards_api(api: Api) -> Api:
    """The API with the bonus example (welcome, birthday, referral, review, subscription,
    profile, first app order and recycling rewards) in force."""
    text = (EXAMPLES / "bonus.yaml").read_text(encoding="utf-8")
    r = api.post("/v1/program/versions", content=text.encode(),
                 headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    return api


def event(api: Api, member_id: str, body: dict[str, Any], *, key: str | None = None,
          as_: str = "pos") -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post(f"/v1/members/{member_id}/events", json=body, as_=as_, headers=headers)


def receipt(member_id: str, receipt_id: str, channel: str = "offline") -> dict[str, Any]:
    return {"store_id": STORE, "receipt_id": receipt_id, "occurred_at": "2026-03-01T12:00:00+03:00",
            "channel": channel, "member": {"member_id": member_id},
            "lines": [{"line_id": "1", "sku": "CAM-100", "quantity": "1",
                       "unit_price": "1000.00"}]}


def test_an_event_gives_its_reward_once_and_replays_its_answer(rewards_api: Api) -> None:
    api = rewards_api
    member = api.enrol()["member_id"]
    body = {"type": "recycling", "occurred_at": "2026-03-01T11:00:00+03:00",
            "attributes": {"items": 3, "kind": "old phone"}}
    first = event(api, member, body, key="recycle-1")
    assert first.status_code == 201, first.text
    given = first.json()
    assert given["event"] == {"type": "recycling", "occurred_at": "2026-03-01T11:00:00+03:00"}
    assert [(r["rule_id"], r["points"], r["status"]) for r in given["rewards"]] == [
        ("recycling", 150, "available")]
    assert given["balance"]["available"] == 150
    counts = api.counts()
    replay = event(api, member, body, key="recycle-1")
    assert (replay.status_code, replay.headers[REPLAYED], replay.json()) == (201, "true", given)
    again = event(api, member, {**body, "attributes": {}}, key="recycle-2")
    assert again.status_code == 200, again.text
    assert (again.json()["rewards"], again.json()["already_granted"]) == ([], ["recycling"])
    conflict = event(api, member, {"type": "review"}, key="recycle-1")
    assert_problem(conflict, 409, "idempotency_conflict")
    assert api.counts()["ledger_transactions"] == counts["ledger_transactions"]
    history = api.get(f"/v1/members/{member}/history", as_="read").json()["items"]
    assert [(op["kind"], op["reason"], op["points"]) for op in history] == [
        ("bonus", "recycling", 150), ("bonus", "welcome", 100)]
    listed = api.get(f"/v1/members/{member}/rewards", as_="read").json()["items"]
    assert sorted(g["rule_id"] for g in listed) == ["recycling", "welcome"]
    exported = api.get(f"/v1/members/{member}/export").json()
    assert sorted(g["rule_id"] for g in exported["rewards"]) == ["recycling", "welcome"]


def test_every_posted_reward_of_the_bonus_example(rewards_api: Api) -> None:
    api = rewards_api
    member = api.enrol()["member_id"]
    for kind, points in (("review", 50), ("subscription", 50), ("profile_completed", 100)):
        r = event(api, member, {"type": kind}, as_="write")
        assert r.status_code == 201, r.text
        assert [g["points"] for g in r.json()["rewards"]] == [points]
    assert api.balance(member)["available"] == 200


def _bad_events(member: str) -> list[tuple[str, str, dict[str, Any], int, str]]:
    long_attributes = {f"a{i}": i for i in range(51)}
    return [
        ("unknown type", member, {"type": "app_install"}, 422, "unknown_event_type"),
        ("a typo", member, {"type": "reveiw"}, 422, "unknown_event_type"),
        ("not posted", member, {"type": "birthday"}, 422, "unknown_event_type"),
        ("no type", member, {"attributes": {}}, 422, "validation_error"),
        ("type with spaces", member, {"type": "re view"}, 422, "validation_error"),
        ("type as a number", member, {"type": 5}, 422, "validation_error"),
        ("naive time", member, {"type": "review", "occurred_at": "2026-03-01T10:00:00"}, 422,
         "validation_error"),
        ("future time", member, {"type": "review", "occurred_at": "2030-01-01T00:00:00Z"}, 422,
         "invalid_occurred_at"),
        ("attributes not an object", member, {"type": "review", "attributes": [1]}, 422,
         "validation_error"),
        ("too many attributes", member, {"type": "review", "attributes": long_attributes}, 422,
         "invalid_attributes"),
        ("unknown field", member, {"type": "review", "points": 1000}, 422, "validation_error"),
        ("no such member", "nobody", {"type": "review"}, 404, "member_not_found"),
    ]


def test_bad_events_are_refused_with_problems_and_write_nothing(rewards_api: Api) -> None:
    api = rewards_api
    member = api.enrol()["member_id"]
    counts = api.counts()
    for name, target, body, status, code in _bad_events(member):
        r = event(api, target, body, key=f"bad-{name}")
        assert_problem(r, status, code)
    assert_problem(event(api, member, {"type": "review"}, as_="read"), 403)
    r = api.post(f"/v1/members/{member}/events", json={"type": "review"}, as_=None)
    assert_problem(r, 401)
    assert api.counts() == counts
    assert event(api, member, {"type": "review"}, key="bad-unknown type").status_code == 201


def test_an_erased_member_gets_no_rewards(rewards_api: Api) -> None:
    api = rewards_api
    member = api.enrol()["member_id"]
    assert api.post(f"/v1/members/{member}/erase").status_code == 200
    counts = api.counts()
    assert_problem(event(api, member, {"type": "review"}), 409, "member_not_active")
    assert api.counts() == counts


def test_enrolment_with_a_referral_code_pays_both_after_the_first_receipt(
        rewards_api: Api) -> None:
    api = rewards_api
    referrer = api.enrol(time_zone="Asia/Vladivostok")
    assert referrer["time_zone"] == "Asia/Vladivostok" and referrer["referral_code"]
    assert [(r["rule_id"], r["status"]) for r in referrer["rewards"]] == [("welcome", "pending")]
    friend = api.enrol(referral_code=referrer["referral_code"])
    assert api.get(f"/v1/members/{friend['member_id']}", as_="read").json()["referral_code"] \
        == friend["referral_code"]
    first = api.post("/v1/receipts", json=receipt(friend["member_id"], "f-1", "app"), as_="pos")
    assert first.status_code == 201, first.text
    paid = {(r["member_id"], r["rule_id"], r["points"]) for r in first.json()["rewards"]}
    assert paid == {(friend["member_id"], "referral", 300),
                    (referrer["member_id"], "referral", 300),
                    (friend["member_id"], "first-app-order", 200)}
    second = api.post("/v1/receipts", json=receipt(friend["member_id"], "f-2", "app"), as_="pos")
    assert second.status_code == 201 and "rewards" not in second.json()
    assert api.balance(referrer["member_id"])["available"] == 300
    # the friend: 300 + 200 now; 5% of each 1,000.00 pending for 14 days, the welcome too
    assert (api.balance(friend["member_id"])["available"],
            api.balance(friend["member_id"])["pending"]) == (500, 100 + 50 + 50)


def test_bad_referral_codes_and_time_zones_are_refused_and_write_nothing(
        rewards_api: Api) -> None:
    api = rewards_api
    referrer = api.enrol()
    counts = api.counts()
    cases = [({"referral_code": "NOSUCH99"}, "invalid_referral_code"),
             ({"referral_code": "X" * 17}, "validation_error"),
             ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
             ({"time_zone": "Europe/Moscow; DROP"}, "validation_error")]
    for fields, code in cases:
        body = {"phone": new_phone(), "consents": {"personal_data": True}, **fields}
        assert_problem(api.post("/v1/members", json=body), 422, code)
    again = {"phone": referrer["phone"], "consents": {"personal_data": True},
             "referral_code": referrer["referral_code"]}
    assert_problem(api.post("/v1/members", json=again), 409, "member_exists")
    patch = api.patch(f"/v1/members/{referrer['member_id']}", json={"time_zone": "Nowhere/X"})
    assert_problem(patch, 422, "invalid_time_zone")
    assert api.counts() == counts
    changed = api.patch(f"/v1/members/{referrer['member_id']}",
                        json={"time_zone": "Europe/Kaliningrad"})
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Europe/Kaliningrad"
