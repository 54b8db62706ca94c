"""The Members and Points endpoints end to end: HTTP in, database out, exact bodies."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kopilka.adapters.sql.tables import metadata
from kopilka.adapters.sql.verify import verify
from kopilka.domain.cards import is_valid_card_number
from tests.conftest import START
from tests.e2e.conftest import Api, assert_problem, e164, new_phone

CONSENTS_NONE = {"personal_data": False, "marketing_email": False, "marketing_sms": False,
                 "marketing_push": False, "partner_transfer": False}
T0 = START.isoformat()
ZERO = {"available": 0, "pending": 0, "on_hold": 0, "expiring": [], "currency": "points"}


def _balance(available: int = 0, pending: int = 0, on_hold: int = 0,
             expiring: list | None = None) -> dict:
    return {"available": available, "pending": pending, "on_hold": on_hold,
            "expiring": expiring or [], "currency": "points"}


def _without_expiring(balance: dict) -> dict:
    return {k: v for k, v in balance.items() if k != "expiring"}


def _consents(items: list[dict]) -> list[tuple]:
    """Consent records as (recorded_at, consent, granted, text version), in time order; the
    records of one call share their timestamp, so within it they are ordered by name."""
    return sorted((c["recorded_at"], c["consent"], c["granted"], c["text_version"])
                  for c in items)


def _ledger_ok(api: Api) -> None:
    with api.lib.db.engine.connect() as conn:
        assert [str(p) for p in verify(conn)] == []


# --- enrolment and profile ------------------------------------------------------------------

def test_enrol_returns_the_member(api: Api) -> None:
    phone = new_phone()
    r = api.post("/v1/members", json={
        "phone": phone, "email": "Anna.Petrova@Example.COM", "first_name": " Anna ",
        "last_name": "Petrova", "birth_date": "1990-05-17", "gender": "female",
        "city": "Moscow", "attributes": {"pet": "cat", "kids": 2},
        "consents": {"personal_data": True, "marketing_sms": True,
                     "consent_text_version": "2026-01"},
        "store_id": "msk-001"})
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    m = r.json()
    assert len(m["member_id"]) == 32
    assert m["phone"] == e164(phone)
    assert m["phone"].startswith("+7916") and len(m["phone"]) == 12
    assert m["email"] == "Anna.Petrova@example.com"
    assert (m["first_name"], m["last_name"]) == ("Anna", "Petrova")
    assert m["birth_date"] == "1990-05-17"
    assert (m["gender"], m["city"]) == ("female", "Moscow")
    assert m["attributes"] == {"pet": "cat", "kids": 2}
    assert m["status"] == "active"
    assert m["tier"] is None
    assert len(m["cards"]) == 1
    card = m["cards"][0]
    assert card["status"] == "active" and card["replaced_by"] is None
    assert len(card["number"]) == 13 and card["number"].isdigit()
    assert is_valid_card_number(card["number"])
    assert m["balance"] == ZERO
    assert m["consents"] == {**CONSENTS_NONE, "personal_data": True, "marketing_sms": True}
    assert len(m["referral_code"]) == 8 and m["referral_code"].isalnum()
    assert m["phone_verified"] is False and m["email_verified"] is False
    assert m["created_at"] == START.isoformat()

    got = api.get(f"/v1/members/{m['member_id']}", as_="read")
    assert got.status_code == 200
    assert got.json() == m

    history = api.get(f"/v1/members/{m['member_id']}/consents", as_="read").json()["items"]
    assert _consents(history) == [(T0, "marketing_sms", True, "2026-01"),
                                  (T0, "personal_data", True, "2026-01")]


def test_enrol_duplicate_phone_in_another_notation(api: Api) -> None:
    phone = new_phone()
    api.enrol(phone)
    before = api.counts()
    r = api.post("/v1/members", json={"phone": e164(phone), "consents": {"personal_data": True}})
    assert_problem(r, 409, "member_exists")
    assert api.counts() == before


def test_get_unknown_member(api: Api) -> None:
    assert_problem(api.get("/v1/members/" + "0" * 32, as_="read"), 404, "member_not_found")


def test_patch_profile_and_append_consents(api: Api) -> None:
    m = api.enrol(first_name="Anna", consents={"personal_data": True, "marketing_email": True})
    mid = m["member_id"]
    api.clock.advance(days=1)
    r = api.patch(f"/v1/members/{mid}", as_="write", json={
        "first_name": "Anya", "city": "Kazan", "email": "anya@example.com",
        "consents": {"marketing_email": False, "marketing_push": True,
                     "consent_text_version": "2"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["first_name"], body["city"], body["email"]) == ("Anya", "Kazan",
                                                                 "anya@example.com")
    assert body["consents"] == {**CONSENTS_NONE, "personal_data": True,
                                "marketing_push": True}
    assert api.get(f"/v1/members/{mid}", as_="read").json() == body

    items = api.get(f"/v1/members/{mid}/consents", as_="read").json()["items"]
    assert [c["recorded_at"] for c in items] == sorted(c["recorded_at"] for c in items)
    assert _consents(items) == [
        (T0, "marketing_email", True, "1"),
        (T0, "personal_data", True, "1"),
        ("2026-03-02T09:00:00+00:00", "marketing_email", False, "2"),
        ("2026-03-02T09:00:00+00:00", "marketing_push", True, "2"),
    ]
    assert all(c["source"] for c in items)

    # repeating the current state appends nothing
    same = api.patch(f"/v1/members/{mid}", as_="write",
                     json={"consents": {"marketing_push": True}})
    assert same.status_code == 200
    assert len(api.get(f"/v1/members/{mid}/consents", as_="read").json()["items"]) == 4


def test_withdrawing_personal_data_consent_is_refused(api: Api) -> None:
    mid = api.enrol(first_name="Anna")["member_id"]
    before = api.counts()
    r = api.patch(f"/v1/members/{mid}", as_="write",
                  json={"first_name": "Changed", "consents": {"personal_data": False}})
    body = assert_problem(r, 422, "consent_required")
    assert "erase" in body["detail"].lower()
    assert api.counts() == before
    member = api.get(f"/v1/members/{mid}", as_="read").json()
    assert member["first_name"] == "Anna"
    assert member["consents"]["personal_data"] is True


# --- lookup and cards -----------------------------------------------------------------------

def test_lookup_by_every_reference(api: Api) -> None:
    phone = new_phone()
    m = api.enrol(phone, first_name="Boris")
    mid, card = m["member_id"], m["cards"][0]["number"]
    api.earn(mid, 120)
    expected = {"member_id": mid, "first_name": "Boris", "tier": None,
                "balance": _balance(120), "discount_percent": "0",
                "personal_data_withheld": False}
    for ref, roles in (({"member_id": mid}, ("pos", "read")), ({"card": card}, ("pos", "read")),
                       ({"phone": phone}, ("read",)), ({"phone": e164(phone)}, ("read",))):
        for role in roles:
            r = api.post("/v1/members/lookup", json=ref, as_=role)
            assert r.status_code == 200, (ref, role, r.text)
            assert r.json() == expected


def test_lookup_unknown_and_ambiguous(api: Api) -> None:
    m = api.enrol()
    for ref in ({"member_id": "0" * 32}, {"phone": "+79990000000"},
                {"card": "2000000099996"}):
        assert_problem(api.post("/v1/members/lookup", json=ref, as_="read"), 404,
                       "member_not_found")
    for ref in ({}, {"member_id": m["member_id"], "card": m["cards"][0]["number"]}):
        assert_problem(api.post("/v1/members/lookup", json=ref, as_="pos"), 422,
                       "invalid_member_reference")
    assert_problem(api.post("/v1/members/lookup", json={"card": "2000000000010"}, as_="pos"),
                   422, "invalid_card")


def test_card_reissue_keeps_the_balance(api: Api) -> None:
    m = api.enrol()
    mid, old = m["member_id"], m["cards"][0]["number"]
    api.earn(mid, 300)
    before = api.balance(mid)
    assert before == _balance(300)

    r = api.post(f"/v1/members/{mid}/cards", json={"replace": old}, as_="write")
    assert r.status_code == 201, r.text
    body = r.json()
    new = body["number"]
    assert new != old and is_valid_card_number(new)
    assert (body["status"], body["replaced"]) == ("active", old)
    cards = {c["number"]: c for c in body["cards"]}
    assert cards[old]["status"] == "blocked" and cards[old]["replaced_by"] == new
    assert cards[new]["status"] == "active"

    member = api.get(f"/v1/members/{mid}", as_="read").json()
    assert {c["number"]: c["status"] for c in member["cards"]} == {old: "blocked",
                                                                    new: "active"}
    assert api.balance(mid) == before
    assert_problem(api.post("/v1/members/lookup", json={"card": old}, as_="pos"), 409,
                   "card_blocked")
    found = api.post("/v1/members/lookup", json={"card": new}, as_="pos")
    assert found.status_code == 200 and found.json()["balance"] == before

    # replacing the blocked card again, or someone else's card, is refused
    other = api.enrol()["cards"][0]["number"]
    before_rows = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/cards", json={"replace": old}, as_="write"),
                   409, "card_blocked")
    assert_problem(api.post(f"/v1/members/{mid}/cards", json={"replace": other}, as_="write"),
                   404, "card_not_found")
    assert api.counts() == before_rows

    # an extra card without replacing anything
    extra = api.post(f"/v1/members/{mid}/cards", as_="write")
    assert extra.status_code == 201 and extra.json()["replaced"] is None
    assert len(extra.json()["cards"]) == 3


# --- history --------------------------------------------------------------------------------

def test_history_newest_first_with_pagination(api: Api) -> None:
    mid = api.enrol()["member_id"]
    ops = []
    for i in range(1, 6):
        api.clock.advance(minutes=1)
        ops.append(api.earn(mid, i * 10, reason=f"earn {i}")["operation_id"])
    api.clock.advance(minutes=1)
    spent = api.post(f"/v1/members/{mid}/points/spend", json={"points": 15}, as_="pos")
    assert spent.status_code == 201
    ops.append(spent.json()["operation_id"])

    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = api.get(f"/v1/members/{mid}/history", params=params, as_="read")
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2]
    items = [item for page in pages for item in page]
    ids = [item["operation_id"] for item in items]
    assert len(set(ids)) == len(ids) == 6
    assert ids == list(reversed(ops))
    assert [(i["kind"], i["points"]) for i in items] == [
        ("spend", -15), ("earn", 50), ("earn", 40), ("earn", 30), ("earn", 20), ("earn", 10)]
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)
    assert items[1]["reason"] == "earn 5"
    assert set(items[0]) >= {"operation_id", "kind", "points", "created_at", "effective_at",
                             "receipt_id", "store_id", "reason"}

    for bad in ({"limit": 0}, {"limit": 501}, {"limit": "ten"}):
        assert_problem(api.get(f"/v1/members/{mid}/history", params=bad, as_="read"), 422,
                       "validation_error")
    assert_problem(api.get(f"/v1/members/{'0' * 32}/history", as_="read"), 404,
                   "member_not_found")

    whole = api.get(f"/v1/members/{mid}/history", as_="read").json()
    assert [i["operation_id"] for i in whole["items"]] == ids
    assert whole["next_cursor"] is None


def test_history_of_store_bound_key_records_the_store(api: Api) -> None:
    mid = api.enrol()["member_id"]
    r = api.post(f"/v1/members/{mid}/points/earn", json={"points": 5}, as_="store_pos")
    assert r.status_code == 201, r.text
    item = api.get(f"/v1/members/{mid}/history", as_="read").json()["items"][0]
    assert item["store_id"] == "msk-001"


# --- point operations -----------------------------------------------------------------------

def test_earn_spend_hold_capture_release(api: Api) -> None:
    mid = api.enrol()["member_id"]
    earned = api.earn(mid, 1000, expires_at="2027-03-01T00:00:00+03:00", reason="welcome")
    assert earned["member_id"] == mid
    assert (earned["kind"], earned["code"], earned["points"]) == ("earn", "earn", 1000)
    assert earned["lot_id"] and earned["hold_id"] is None
    assert _without_expiring(earned["balance"]) == _without_expiring(_balance(1000))
    assert api.balance(mid) == _balance(
        1000, expiring=[{"points": 1000, "expires_at": "2027-02-28T21:00:00+00:00"}])

    spent = api.post(f"/v1/members/{mid}/points/spend", json={"points": 100}, as_="pos")
    assert spent.status_code == 201, spent.text
    assert (spent.json()["kind"], spent.json()["points"]) == ("spend", -100)
    assert spent.json()["balance"]["available"] == 900

    held = api.post(f"/v1/members/{mid}/holds", json={"points": 300}, as_="pos")
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold_id"]
    assert hold_id
    assert (held.json()["balance"]["available"], held.json()["balance"]["on_hold"]) == (600, 300)

    captured = api.post(f"/v1/holds/{hold_id}/capture", json={"points": 200}, as_="pos")
    assert captured.status_code == 200, captured.text
    assert captured.json()["hold_id"] == hold_id
    b = captured.json()["balance"]
    assert (b["available"], b["on_hold"]) == (700, 0)  # the uncaptured 100 returned
    assert_problem(api.post(f"/v1/holds/{hold_id}/capture", as_="pos"), 409, "hold_not_active")

    second = api.post(f"/v1/members/{mid}/holds", json={"points": 50, "ttl_seconds": 60},
                      as_="pos").json()["hold_id"]
    assert api.balance(mid)["on_hold"] == 50
    released = api.delete(f"/v1/holds/{second}", as_="pos")
    assert released.status_code == 200, released.text
    assert (released.json()["balance"]["available"], released.json()["balance"]["on_hold"]) \
        == (700, 0)
    assert_problem(api.delete(f"/v1/holds/{second}", as_="pos"), 409, "hold_not_active")
    assert_problem(api.delete(f"/v1/holds/{'0' * 32}", as_="pos"), 404, "hold_not_found")

    # an expired hold cannot be captured
    third = api.post(f"/v1/members/{mid}/holds", json={"points": 10, "ttl_seconds": 60},
                     as_="pos").json()["hold_id"]
    api.clock.advance(minutes=2)
    assert_problem(api.post(f"/v1/holds/{third}/capture", as_="pos"), 409, "hold_expired")

    assert api.balance(mid)["available"] == 690
    _ledger_ok(api)


def test_operation_responses_carry_the_whole_balance(api: Api) -> None:
    """`balance` has one shape everywhere (API.md: {available, pending, on_hold, expiring,
    currency}); a till reading it from an earn response must see the expiring points too."""
    mid = api.enrol()["member_id"]
    earned = api.earn(mid, 60, expires_at="2026-06-01T00:00:00+00:00")
    expected = _balance(60, expiring=[{"points": 60, "expires_at": "2026-06-01T00:00:00+00:00"}])
    assert api.balance(mid) == expected
    assert earned["balance"] == expected
    spent = api.post(f"/v1/members/{mid}/points/spend", json={"points": 10}, as_="pos").json()
    assert spent["balance"] == api.balance(mid)


def test_spends_are_not_reversible_by_hand(api: Api) -> None:
    mid = api.enrol()["member_id"]
    api.earn(mid, 20)
    op = api.post(f"/v1/members/{mid}/points/spend", json={"points": 5},
                  as_="pos").json()["operation_id"]
    before = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/operations/{op}/reverse",
                            json={"reason": "x"}), 409, "not_reversible")
    assert api.counts() == before


def test_balance_of_unknown_currency_or_member(api: Api) -> None:
    mid = api.enrol()["member_id"]
    assert_problem(api.get(f"/v1/members/{mid}/balance", params={"currency": "gold"},
                           as_="pos"), 404, "currency_not_found")
    assert_problem(api.get(f"/v1/members/{'0' * 32}/balance", as_="pos"), 404,
                   "member_not_found")


def test_spend_more_than_available_while_held(api: Api) -> None:
    mid = api.enrol()["member_id"]
    api.earn(mid, 100)
    assert api.post(f"/v1/members/{mid}/holds", json={"points": 80}, as_="pos").status_code == 201
    before = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/points/spend", json={"points": 21}, as_="pos"),
                   422, "insufficient_points")
    assert_problem(api.post(f"/v1/members/{mid}/holds", json={"points": 21}, as_="pos"),
                   422, "insufficient_points")
    assert api.counts() == before


def test_adjustments_and_reversal(api: Api) -> None:
    mid = api.enrol()["member_id"]
    plus = api.post(f"/v1/members/{mid}/adjustments",
                    json={"points": 500, "reason": "complaint #12"})
    assert plus.status_code == 201, plus.text
    assert (plus.json()["kind"], plus.json()["points"]) == ("adjust", 500)

    before = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/adjustments",
                            json={"points": -501, "reason": "too much"}),
                   422, "insufficient_points")
    body = assert_problem(api.post(f"/v1/members/{mid}/adjustments", json={"points": 5}),
                          422, "validation_error")
    assert body["errors"][0]["loc"] == ["reason"]
    assert_problem(api.post(f"/v1/members/{mid}/adjustments",
                            json={"points": 5, "reason": "   "}), 422)
    for role in ("pos", "write", "read", "store_pos"):
        assert_problem(api.post(f"/v1/members/{mid}/adjustments", as_=role,
                                json={"points": 5, "reason": "x"}), 403, "insufficient_scope")
    assert api.counts() == before

    minus = api.post(f"/v1/members/{mid}/adjustments",
                     json={"points": -200, "reason": "duplicate credit"})
    assert minus.status_code == 201, minus.text
    assert minus.json()["balance"]["available"] == 300

    op = minus.json()["operation_id"]
    rev = api.post(f"/v1/members/{mid}/operations/{op}/reverse", json={"reason": "mistake"})
    assert rev.status_code == 201, rev.text
    assert rev.json()["balance"]["available"] == 500
    assert rev.json()["kind"] == "adjust"
    before = api.counts()
    assert_problem(api.post(f"/v1/members/{mid}/operations/{op}/reverse",
                            json={"reason": "again"}), 409, "already_reversed")
    assert_problem(api.post(f"/v1/members/{mid}/operations/{'0' * 32}/reverse",
                            json={"reason": "x"}), 404, "operation_not_found")
    assert_problem(api.post(f"/v1/members/{mid}/operations/{op}/reverse", as_="pos",
                            json={"reason": "x"}), 403, "insufficient_scope")
    other = api.enrol()["member_id"]
    assert_problem(api.post(f"/v1/members/{other}/operations/{op}/reverse",
                            json={"reason": "x"}), 404, "operation_not_found")
    before = api.counts()
    assert api.counts() == before

    history = api.get(f"/v1/members/{mid}/history", as_="read").json()["items"]
    assert history[0]["reverses_id"] == op
    assert history[0]["reason"] == "mistake"
    assert history[1]["author"] == "e2e-admin" and history[1]["reason"] == "duplicate credit"
    _ledger_ok(api)


def test_reversing_an_earn_takes_the_points_back(api: Api) -> None:
    mid = api.enrol()["member_id"]
    op = api.earn(mid, 70)["operation_id"]
    r = api.post(f"/v1/members/{mid}/operations/{op}/reverse", json={"reason": "fraud"})
    assert r.status_code == 201, r.text
    assert r.json()["points"] == -70
    assert api.balance(mid) == _balance(0)
    _ledger_ok(api)


# --- privacy --------------------------------------------------------------------------------

def test_export_and_erase(api: Api) -> None:
    phone = new_phone()
    m = api.enrol(phone, first_name="Vera", email="vera@example.com",
                  birth_date="1985-01-02", consents={"personal_data": True,
                                                     "marketing_email": True})
    mid, card = m["member_id"], m["cards"][0]["number"]
    api.earn(mid, 40)
    api.clock.advance(hours=1)
    api.patch(f"/v1/members/{mid}", as_="write", json={"consents": {"marketing_email": False}})

    exported = api.get(f"/v1/members/{mid}/export")
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert data["member_id"] == mid and data["phone"] == e164(phone)
    assert data["first_name"] == "Vera" and data["email"] == "vera@example.com"
    assert [(h["kind"], h["points"]) for h in data["history"]] == [("earn", 40)]
    assert _consents(data["consent_history"]) == [
        (T0, "marketing_email", True, "1"), (T0, "personal_data", True, "1"),
        ("2026-03-01T10:00:00+00:00", "marketing_email", False, "1")]
    for role in ("pos", "read", "write"):
        assert_problem(api.get(f"/v1/members/{mid}/export", as_=role), 403, "insufficient_scope")
        assert_problem(api.post(f"/v1/members/{mid}/erase", as_=role), 403,
                       "insufficient_scope")

    erased = api.post(f"/v1/members/{mid}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"member_id": mid, "status": "erased"}

    after = api.get(f"/v1/members/{mid}", as_="read").json()
    assert after["status"] == "erased"
    for name in ("phone", "email", "first_name", "last_name", "birth_date", "gender", "city"):
        assert after[name] is None, name
    assert after["attributes"] == {}
    assert [(c["number"], c["status"]) for c in after["cards"]] == [(card, "blocked")]
    assert after["balance"]["available"] == 40  # the ledger stays

    history = api.get(f"/v1/members/{mid}/history", as_="read").json()["items"]
    assert [(h["kind"], h["points"]) for h in history] == [("earn", 40)]
    _ledger_ok(api)

    assert_problem(api.post("/v1/members/lookup", json={"phone": phone}, as_="read"), 404,
                   "member_not_found")
    assert_problem(api.post("/v1/members/lookup", json={"card": card}, as_="pos"), 409,
                   "card_blocked")
    assert_problem(api.post(f"/v1/members/{mid}/points/earn", json={"points": 1}, as_="pos"),
                   409, "member_not_active")
    # erasing again is harmless, and the phone may join again as a new member
    assert api.post(f"/v1/members/{mid}/erase").status_code == 200
    again = api.enrol(phone)
    assert again["member_id"] != mid and again["balance"] == ZERO


def test_erase_leaves_no_personal_data_anywhere(api: Api) -> None:
    """After erasure the phone, email and name are stored nowhere: not in the member row, not
    in stored idempotent responses, not in verification challenges."""
    phone = new_phone()
    enrolled = api.post("/v1/members", headers={"Idempotency-Key": "enrol-pii"}, json={
        "phone": phone, "email": "zoya.pii@example.com", "first_name": "Zoyapii",
        "last_name": "Kuznetsovapii", "consents": {"personal_data": True}})
    assert enrolled.status_code == 201, enrolled.text
    mid = enrolled.json()["member_id"]
    assert api.patch(f"/v1/members/{mid}", as_="write", headers={"Idempotency-Key": "p1"},
                     json={"city": "Pskovpii"}).status_code == 200
    assert api.post(f"/v1/members/{mid}/verifications", json={"target": "phone"},
                    as_="pos").status_code == 201
    assert api.post(f"/v1/members/{mid}/erase").status_code == 200

    needles = [e164(phone), e164(phone)[1:], "zoya.pii@example.com", "Zoyapii",
               "Kuznetsovapii", "Pskovpii"]
    found = []
    with api.lib.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                text = " ".join(str(v) for v in row.values())
                found += [f"{table.name}: {n}" for n in needles if n in text]
    assert not found, "personal data kept after erasure: " + ", ".join(sorted(set(found)))

    replay = api.post("/v1/members", headers={"Idempotency-Key": "enrol-pii"}, json={
        "phone": phone, "email": "zoya.pii@example.com", "first_name": "Zoyapii",
        "last_name": "Kuznetsovapii", "consents": {"personal_data": True}})
    assert not any(n in replay.text for n in needles), replay.text


# --- verification ---------------------------------------------------------------------------

def _start_phone_verification(api: Api, mid: str) -> tuple[str, str]:
    r = api.post(f"/v1/members/{mid}/verifications", json={"target": "phone"}, as_="pos")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["target"] == "phone" and body["expires_at"] > START.isoformat()
    target, address, code = api.lib.code_sender.sent[-1]
    assert target == "phone" and len(code) == 6 and code.isdigit()
    return body["challenge_id"], code


def test_phone_verification_activates_waiting_points(api: Api) -> None:
    phone = new_phone()
    mid = api.enrol(phone)["member_id"]
    earned = api.earn(mid, 250, activation_event="phone_verified")
    assert _without_expiring(earned["balance"]) == _without_expiring(_balance(0, pending=250))
    assert api.balance(mid) == _balance(0, pending=250)
    assert_problem(api.post(f"/v1/members/{mid}/points/spend", json={"points": 1}, as_="pos"),
                   422, "insufficient_points")

    challenge, code = _start_phone_verification(api, mid)
    assert api.lib.code_sender.sent[-1][1] == e164(phone)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/members/{mid}/verifications/{challenge}"
    assert_problem(api.post(url, json={"code": wrong}, as_="pos"), 422, "code_wrong")
    assert api.balance(mid) == _balance(0, pending=250)
    assert api.get(f"/v1/members/{mid}", as_="read").json()["phone_verified"] is False

    ok = api.post(url, json={"code": code}, as_="pos")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"verified": "phone", "activated_lots": 1}
    assert api.balance(mid) == _balance(250)
    assert api.get(f"/v1/members/{mid}", as_="read").json()["phone_verified"] is True
    assert_problem(api.post(url, json={"code": code}, as_="pos"), 409, "code_used")
    _ledger_ok(api)


def test_verification_code_expires_and_attempts_are_limited(api: Api) -> None:
    mid = api.enrol()["member_id"]
    challenge, code = _start_phone_verification(api, mid)
    url = f"/v1/members/{mid}/verifications/{challenge}"
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert_problem(api.post(url, json={"code": wrong}, as_="pos"), 422, "code_wrong")
    assert_problem(api.post(url, json={"code": code}, as_="pos"), 429, "too_many_attempts")

    challenge, code = _start_phone_verification(api, mid)
    api.clock.advance(minutes=11)
    assert_problem(api.post(f"/v1/members/{mid}/verifications/{challenge}",
                            json={"code": code}, as_="pos"), 422, "code_expired")
    assert_problem(api.post(f"/v1/members/{mid}/verifications/{'0' * 32}",
                            json={"code": code}, as_="pos"), 404, "verification_not_found")
    assert_problem(api.post(f"/v1/members/{mid}/verifications", json={"target": "email"},
                            as_="pos"), 422, "nothing_to_verify")


def test_points_waiting_for_an_event_that_already_happened_are_available(api: Api) -> None:
    """Phone verified first, then points 'until the phone is verified': nothing to wait for."""
    mid = api.enrol()["member_id"]
    challenge, code = _start_phone_verification(api, mid)
    assert api.post(f"/v1/members/{mid}/verifications/{challenge}", json={"code": code},
                    as_="pos").status_code == 200
    api.earn(mid, 40, activation_event="phone_verified")
    assert api.balance(mid) == _balance(40)


# --- service endpoints ----------------------------------------------------------------------

def test_service_endpoints(api: Api) -> None:
    health = api.get("/healthz", as_=None)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = api.get("/readyz", as_=None)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready",
                            "database": api.lib.db.engine.dialect.name}
    api.get("/v1/members/" + "0" * 32, as_="read")
    metrics = api.get("/metrics", as_=None)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "kopilka_http_requests_total" in metrics.text
    assert 'route="/v1/members/{member_id}"' in metrics.text
    spec = api.get("/openapi.json", as_=None)
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/v1/members", "/v1/members/lookup", "/v1/members/{member_id}",
                 "/v1/members/{member_id}/balance", "/v1/members/{member_id}/history",
                 "/v1/members/{member_id}/cards", "/v1/members/{member_id}/adjustments",
                 "/v1/members/{member_id}/export", "/v1/members/{member_id}/erase"):
        assert path in paths, path
    assert api.get("/docs", as_=None).status_code == 200


def test_unknown_route_and_method_are_problems(api: Api) -> None:
    assert_problem(api.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(api.request("PUT", "/v1/members"), 405, "method_not_allowed")


def test_birth_date_today_is_accepted(api: Api) -> None:
    m = api.enrol(birth_date=START.date().isoformat())
    assert m["birth_date"] == date(2026, 3, 1).isoformat()
