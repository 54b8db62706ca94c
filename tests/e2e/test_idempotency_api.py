"""Idempotency-Key over HTTP: replays are byte-identical, conflicts refused, nothing doubled."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api, assert_problem, new_phone

REPLAYED = "Idempotent-Replayed"


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_enrol_replay_returns_the_stored_response(api: Api) -> None:
    body = {"phone": new_phone(), "first_name": "Gleb", "consents": {"personal_data": True}}
    first = api.post("/v1/members", json=body, headers=_key("enrol-1"))
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    after_first = api.counts()
    assert after_first["members"] == 1

    second = api.post("/v1/members", json=body, headers=_key("enrol-1"))
    assert second.status_code == 201
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert api.counts() == after_first

    # without the key the same body is a new request: the phone is taken
    assert_problem(api.post("/v1/members", json=body), 409, "member_exists")


def test_earn_replay_writes_one_transaction(api: Api) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/earn"
    first = api.post(url, json={"points": 100, "reason": "promo"}, as_="pos",
                     headers=_key("earn-42"))
    assert first.status_code == 201, first.text
    after_first = api.counts()
    for _ in range(3):
        again = api.post(url, json={"points": 100, "reason": "promo"}, as_="pos",
                         headers=_key("earn-42"))
        assert again.status_code == 201
        assert again.headers[REPLAYED] == "true"
        assert again.json() == first.json()  # JSONB (PostgreSQL) may reorder the keys
    assert api.counts() == after_first
    assert after_first["ledger_transactions"] == 1
    assert api.balance(mid)["available"] == 100
    history = api.get(f"/v1/members/{mid}/history", as_="read").json()["items"]
    assert [h["operation_id"] for h in history] == [first.json()["operation_id"]]


def test_replay_returns_the_first_result_even_after_later_changes(api: Api) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/earn"
    first = api.post(url, json={"points": 10}, as_="pos", headers=_key("k"))
    api.earn(mid, 5)
    again = api.post(url, json={"points": 10}, as_="pos", headers=_key("k"))
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert again.json()["balance"]["available"] == 10
    assert api.balance(mid)["available"] == 15


@pytest.mark.parametrize("other", [
    {"points": 101, "reason": "promo"},
    {"points": 100, "reason": "other"},
    {"points": 100},
])
def test_same_key_other_body_conflicts(api: Api, other: dict) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/earn"
    first = api.post(url, json={"points": 100, "reason": "promo"}, as_="pos",
                     headers=_key("same"))
    assert first.status_code == 201
    before = api.counts()
    r = api.post(url, json=other, as_="pos", headers=_key("same"))
    assert_problem(r, 409, "idempotency_conflict")
    assert REPLAYED not in r.headers
    assert api.counts() == before
    assert api.balance(mid)["available"] == 100


def test_same_key_for_another_member_conflicts(api: Api) -> None:
    a, b = api.enrol()["member_id"], api.enrol()["member_id"]
    assert api.post(f"/v1/members/{a}/points/earn", json={"points": 7}, as_="pos",
                    headers=_key("x")).status_code == 201
    before = api.counts()
    assert_problem(api.post(f"/v1/members/{b}/points/earn", json={"points": 7}, as_="pos",
                            headers=_key("x")), 409, "idempotency_conflict")
    assert api.counts() == before


def test_enrol_conflict_writes_nothing(api: Api) -> None:
    consents = {"personal_data": True}
    assert api.post("/v1/members", json={"phone": new_phone(), "consents": consents},
                    headers=_key("enrol-x")).status_code == 201
    before = api.counts()
    r = api.post("/v1/members", json={"phone": new_phone(), "consents": consents},
                 headers=_key("enrol-x"))
    assert_problem(r, 409, "idempotency_conflict")
    assert api.counts() == before


def test_key_length_limit(api: Api) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/earn"
    before = api.counts()
    body = assert_problem(api.post(url, json={"points": 1}, as_="pos",
                                   headers=_key("k" * 129)), 422, "validation_error")
    assert "Idempotency-Key" in body["detail"] or "idempotency" in body["detail"].lower()
    assert api.counts() == before
    ok = api.post(url, json={"points": 1}, as_="pos", headers=_key("k" * 128))
    assert ok.status_code == 201, ok.text
    replay = api.post(url, json={"points": 1}, as_="pos", headers=_key("k" * 128))
    assert replay.headers[REPLAYED] == "true"


def test_empty_key_is_refused(api: Api) -> None:
    mid = api.enrol()["member_id"]
    before = api.counts()
    r = api.post(f"/v1/members/{mid}/points/earn", json={"points": 1}, as_="pos",
                 headers=_key(""))
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert api.counts() == before


def test_same_key_on_different_endpoints_does_not_collide(api: Api) -> None:
    mid = api.enrol()["member_id"]
    key = _key("shared-key")
    earned = api.post(f"/v1/members/{mid}/points/earn", json={"points": 50}, as_="pos",
                      headers=key)
    assert earned.status_code == 201, earned.text
    spent = api.post(f"/v1/members/{mid}/points/spend", json={"points": 20}, as_="pos",
                     headers=key)
    assert spent.status_code == 201, spent.text
    assert REPLAYED not in spent.headers
    held = api.post(f"/v1/members/{mid}/holds", json={"points": 5}, as_="pos", headers=key)
    assert held.status_code == 201 and REPLAYED not in held.headers
    adjusted = api.post(f"/v1/members/{mid}/adjustments", json={"points": 3, "reason": "r"},
                        headers=key)
    assert adjusted.status_code == 201 and REPLAYED not in adjusted.headers
    enrolled = api.post("/v1/members", headers=key,
                        json={"phone": new_phone(), "consents": {"personal_data": True}})
    assert enrolled.status_code == 201 and REPLAYED not in enrolled.headers
    assert api.balance(mid) == {"available": 28, "pending": 0, "on_hold": 5, "expiring": [],
                                "currency": "points"}
    # and each still replays on its own endpoint
    again = api.post(f"/v1/members/{mid}/points/spend", json={"points": 20}, as_="pos",
                     headers=key)
    assert again.headers[REPLAYED] == "true" and again.json() == spent.json()


def test_same_key_string_from_two_api_keys_is_independent(api: Api) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/earn"
    a = api.post(url, json={"points": 10}, as_="pos", headers=_key("till-1"))
    b = api.post(url, json={"points": 10}, as_="store_pos", headers=_key("till-1"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert REPLAYED not in b.headers
    assert a.json()["operation_id"] != b.json()["operation_id"]
    assert api.balance(mid)["available"] == 20


def test_refused_request_does_not_burn_the_key(api: Api) -> None:
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/points/spend"
    assert_problem(api.post(url, json={"points": 30}, as_="pos", headers=_key("s")), 422,
                   "insufficient_points")
    api.earn(mid, 30)
    r = api.post(url, json={"points": 30}, as_="pos", headers=_key("s"))
    assert r.status_code == 201, r.text
    assert REPLAYED not in r.headers
    assert api.balance(mid)["available"] == 0


@pytest.mark.parametrize("step", ["capture", "release", "patch", "card", "reverse", "erase"])
def test_other_state_changes_replay(api: Api, step: str) -> None:
    mid = api.enrol()["member_id"]
    op = api.earn(mid, 100)["operation_id"]
    hold_id = api.post(f"/v1/members/{mid}/holds", json={"points": 10},
                       as_="pos").json()["hold_id"]
    calls = {
        "capture": ("POST", f"/v1/holds/{hold_id}/capture", {"points": 4}, "pos", 200),
        "release": ("DELETE", f"/v1/holds/{hold_id}", None, "pos", 200),
        "patch": ("PATCH", f"/v1/members/{mid}", {"first_name": "Ivan"}, "write", 200),
        "card": ("POST", f"/v1/members/{mid}/cards", None, "write", 201),
        "reverse": ("POST", f"/v1/members/{mid}/operations/{op}/reverse", {"reason": "x"},
                    "admin", 201),
        "erase": ("POST", f"/v1/members/{mid}/erase", None, "admin", 200),
    }
    method, url, body, role, status = calls[step]
    first = api.request(method, url, json=body, as_=role, headers=_key("step"))
    assert first.status_code == status, first.text
    after = api.counts()
    second = api.request(method, url, json=body, as_=role, headers=_key("step"))
    assert second.status_code == status, second.text
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert api.counts() == after


def test_verification_start_accepts_an_idempotency_key(api: Api) -> None:
    """Every state-changing POST accepts Idempotency-Key: a retried request for a code must
    not create a second challenge nor send a second SMS."""
    mid = api.enrol()["member_id"]
    url = f"/v1/members/{mid}/verifications"
    first = api.post(url, json={"target": "phone"}, as_="pos", headers=_key("otp-1"))
    assert first.status_code == 201, first.text
    after = api.counts()
    second = api.post(url, json={"target": "phone"}, as_="pos", headers=_key("otp-1"))
    assert second.status_code == 201
    assert second.headers.get(REPLAYED) == "true"
    assert second.json() == first.json()
    assert api.counts() == after
    assert len(api.lib.code_sender.sent) == 1
