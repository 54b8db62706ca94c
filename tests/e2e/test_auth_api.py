"""API keys over HTTP: 401 for missing or bad keys, 403 for missing scopes or foreign stores,
nothing written by a refused call, and secrets stored only as hashes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kopilka.adapters.sql.tables import api_keys
from kopilka.entrypoints.http.auth import create_key
from tests.e2e.conftest import FOREIGN_STORE, OTHER_STORE, STORE, Api, assert_problem, new_phone

ENROL_BODY = {"consents": {"personal_data": True}}


def _enrol_body(**extra: object) -> dict:
    return {"phone": new_phone(), **ENROL_BODY, **extra}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==",
                                           "bearer kp_abc_def", "Token kp_abc_def"])
def test_missing_api_key(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    before = api.counts()
    r = api.post("/v1/members", as_=None, headers=headers, json=_enrol_body())
    body = assert_problem(r, 401)
    assert body["code"] in ("missing_api_key", "invalid_api_key")
    if authorization in (None, "", "Basic dXNlcjpwdw==", "Token kp_abc_def"):
        assert body["code"] == "missing_api_key"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.counts() == before


def test_missing_key_on_every_member_endpoint(api: Api) -> None:
    mid = api.enrol()["member_id"]
    calls = [("GET", f"/v1/members/{mid}"), ("PATCH", f"/v1/members/{mid}"),
             ("POST", "/v1/members/lookup"), ("GET", f"/v1/members/{mid}/balance"),
             ("GET", f"/v1/members/{mid}/history"), ("GET", f"/v1/members/{mid}/consents"),
             ("POST", f"/v1/members/{mid}/cards"), ("POST", f"/v1/members/{mid}/adjustments"),
             ("GET", f"/v1/members/{mid}/export"), ("POST", f"/v1/members/{mid}/erase"),
             ("POST", f"/v1/members/{mid}/points/earn"),
             ("POST", f"/v1/members/{mid}/points/spend"), ("POST", f"/v1/members/{mid}/holds"),
             ("POST", f"/v1/holds/{'0' * 32}/capture"), ("DELETE", f"/v1/holds/{'0' * 32}")]
    before = api.counts()
    for method, path in calls:
        r = api.request(method, path, as_=None, json={"points": 1, "reason": "r"}
                        if method != "GET" else None)
        assert_problem(r, 401, "missing_api_key")
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), path
    assert api.counts() == before


@pytest.mark.parametrize("token", [
    "garbage", "kp_", "kp_onlyid", "xx_abc_def", "kp_" + "a" * 300,
    "kp_000000000000_secret", "kp_deadbeef_x",
])
def test_malformed_or_unknown_key(api: Api, token: str) -> None:
    before = api.counts()
    r = api.post("/v1/members", as_=None, headers={"Authorization": f"Bearer {token}"},
                 json=_enrol_body())
    assert_problem(r, 401, "invalid_api_key")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.counts() == before


def test_wrong_secret_for_a_real_key_id(api: Api) -> None:
    token = api.keys["admin"]
    _, key_id, secret = token.split("_", 2)
    other = "A" if secret[0] != "A" else "B"
    for bad in (f"kp_{key_id}_{other}{secret[1:]}", f"kp_{key_id}_{secret[:-1]}",
                f"kp_{key_id}_", f"kp_{key_id}_{secret}x"):
        r = api.get("/v1/members/" + "0" * 32, as_=None,
                    headers={"Authorization": f"Bearer {bad}"})
        assert_problem(r, 401, "invalid_api_key")
    # the real token still works
    assert_problem(api.get("/v1/members/" + "0" * 32), 404, "member_not_found")


def test_revoked_key_is_refused(api: Api) -> None:
    token = create_key(api.lib.db, name="temp", partner_id="main", scopes=["members:read"],
                       now=api.clock.now())
    key_id = token.split("_", 2)[1]
    with api.lib.db.engine.begin() as conn:
        conn.execute(api_keys.update().where(api_keys.c.key_id == key_id)
                     .values(revoked_at=api.clock.now()))
    r = api.get("/v1/members/" + "0" * 32, as_=None, headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401, "invalid_api_key")


def test_read_key_cannot_enrol_or_change(api: Api) -> None:
    mid = api.enrol()["member_id"]
    before = api.counts()
    for method, path, body in [
            ("POST", "/v1/members", _enrol_body()),
            ("PATCH", f"/v1/members/{mid}", {"first_name": "X"}),
            ("POST", f"/v1/members/{mid}/cards", None),
            ("POST", f"/v1/members/{mid}/points/earn", {"points": 5}),
            ("POST", f"/v1/members/{mid}/points/spend", {"points": 5}),
            ("POST", f"/v1/members/{mid}/holds", {"points": 5}),
            ("POST", f"/v1/members/{mid}/adjustments", {"points": 5, "reason": "r"}),
            ("POST", f"/v1/members/{mid}/erase", None),
            ("POST", f"/v1/members/{mid}/verifications", {"target": "phone"})]:
        r = api.request(method, path, as_="read", json=body)
        detail = assert_problem(r, 403, "insufficient_scope")["detail"]
        assert "scope" in detail, detail
    assert api.counts() == before


def test_pos_key_cannot_adjust_nor_read_profiles(api: Api) -> None:
    mid = api.enrol()["member_id"]
    api.earn(mid, 50)
    before = api.counts()
    for role in ("pos",):  # store_pos also has members:write, which includes reading
        assert_problem(api.post(f"/v1/members/{mid}/adjustments", as_=role,
                                json={"points": 500, "reason": "gift to myself"}),
                       403, "insufficient_scope")
        assert_problem(api.post(f"/v1/members/{mid}/operations/x/reverse", as_=role,
                                json={"reason": "r"}), 403, "insufficient_scope")
        for path in (f"/v1/members/{mid}", f"/v1/members/{mid}/history",
                     f"/v1/members/{mid}/consents", f"/v1/members/{mid}/export"):
            assert_problem(api.get(path, as_=role), 403, "insufficient_scope")
    assert_problem(api.patch(f"/v1/members/{mid}", as_="pos", json={"first_name": "X"}),
                   403, "insufficient_scope")
    assert api.counts() == before
    assert api.balance(mid)["available"] == 50


def test_write_key_cannot_move_points(api: Api) -> None:
    mid = api.enrol()["member_id"]
    before = api.counts()
    for path, body in ((f"/v1/members/{mid}/points/earn", {"points": 5}),
                       (f"/v1/members/{mid}/points/spend", {"points": 5}),
                       (f"/v1/members/{mid}/holds", {"points": 5})):
        assert_problem(api.post(path, as_="write", json=body), 403, "insufficient_scope")
    assert api.counts() == before


def test_store_bound_key_enrols_only_into_its_store(api: Api) -> None:
    before = api.counts()
    for store in (OTHER_STORE, FOREIGN_STORE):
        r = api.post("/v1/members", as_="store_pos", json=_enrol_body(store_id=store))
        body = assert_problem(r, 403, "store_forbidden")
        assert STORE in body["detail"]
    assert api.counts() == before

    own = api.post("/v1/members", as_="store_pos", json=_enrol_body(store_id=STORE))
    assert own.status_code == 201, own.text
    implicit = api.post("/v1/members", as_="store_pos", json=_enrol_body())
    assert implicit.status_code == 201, implicit.text
    with api.lib.db.engine.connect() as conn:
        stores = conn.execute(sa.text("SELECT enrolled_store_id FROM members")).scalars().all()
    assert stores == [STORE, STORE]


def test_key_cannot_enrol_into_another_partners_store(api: Api) -> None:
    """A key is outside a store of another partner: 403 (API.md, Conventions)."""
    before = api.counts()
    for role in ("admin", "write"):
        r = api.post("/v1/members", as_=role, json=_enrol_body(store_id=FOREIGN_STORE))
        assert_problem(r, 403, "store_forbidden")
    assert api.counts() == before


def test_no_enrolment_oracle_without_members_read(api: Api) -> None:
    """Without members:read a caller cannot learn whether a phone or member is enrolled."""
    phone = new_phone()
    mid = api.enrol(phone)["member_id"]
    missing = "0" * 32
    for role in ("pos",):  # members:write includes members:read (a 409 on enrol tells anyway)
        known = api.get(f"/v1/members/{mid}", as_=role)
        unknown = api.get(f"/v1/members/{missing}", as_=role)
        assert_problem(known, 403, "insufficient_scope")
        assert_problem(unknown, 403, "insufficient_scope")
        assert known.json() == unknown.json()
    for role in ("pos",):
        known = api.post("/v1/members/lookup", as_=role, json={"phone": phone})
        unknown = api.post("/v1/members/lookup", as_=role, json={"phone": "+79990001122"})
        assert_problem(known, 403, "insufficient_scope")
        assert known.json() == unknown.json()
    # with members:read (or members:write, which includes it) the answer is visible
    assert api.post("/v1/members/lookup", as_="read", json={"phone": phone}).status_code == 200
    assert api.post("/v1/members/lookup", as_="write", json={"phone": phone}).status_code == 200


def test_scopes_that_are_allowed(api: Api) -> None:
    """The positive side of the scope table: each role can do its own work."""
    m = api.enrol(as_="write")
    mid = m["member_id"]
    assert api.enrol(as_="store_pos")["status"] == "active"
    # a till alone does not enrol: a 409 member_exists would reveal who is enrolled
    assert_problem(api.post("/v1/members", as_="pos", json=_enrol_body()), 403,
                   "insufficient_scope")
    assert api.get(f"/v1/members/{mid}", as_="read").status_code == 200
    assert api.get(f"/v1/members/{mid}/balance", as_="pos").status_code == 200
    assert api.post("/v1/members/lookup", as_="pos",
                    json={"card": m["cards"][0]["number"]}).status_code == 200
    assert api.patch(f"/v1/members/{mid}", as_="write", json={"city": "Tula"}).status_code == 200
    assert api.post(f"/v1/members/{mid}/points/earn", as_="pos",
                    json={"points": 3}).status_code == 201
    # admin has every scope
    assert api.get(f"/v1/members/{mid}", as_="admin").status_code == 200
    assert api.post(f"/v1/members/{mid}/points/earn", as_="admin",
                    json={"points": 3}).status_code == 201


def test_secrets_are_stored_hashed(api: Api) -> None:
    with api.lib.db.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).mappings().all()
    assert len(rows) == len(api.keys)
    by_id = {row["key_id"]: row for row in rows}
    for token in api.keys.values():
        _, key_id, secret = token.split("_", 2)
        assert len(secret) >= 40
        row = by_id[key_id]
        for column, value in row.items():
            text = str(value)
            assert secret not in text, column
            assert token not in text, column
            assert secret[:16] not in text, column
        assert len(row["secret_sha256"]) == 64
        int(row["secret_sha256"], 16)
