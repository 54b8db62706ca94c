"""The member's own pages (/me) on both databases: sign-in by phone and one-time code (no
member enumeration, throttled), sessions kept apart from the console's, CSRF, the home page,
consent and profile changes audited as the member's, the card and the lost-card flow."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kopilka.app import members as M
from kopilka.domain.errors import DomainError
from kopilka.domain.staff import MAX_FAILURES_PER_LOGIN
from tests.e2e.conftest import row_counts
from tests.web.conftest import CSRF, FORM_TOKEN, SignedIn, Web

PHONE = "+79161234567"
UNKNOWN_PHONE = "+79169876543"
CHALLENGE = re.compile(r'name="challenge" value="([^"]+)"')
HIDDEN_VALUES = re.compile(r'name="(form_token|challenge|csrf_token)" value="[^"]+"')


def enrol(web: Web, phone: str = PHONE, **profile: Any) -> str:
    consents = {"personal_data": True, "marketing_email": True, "marketing_sms": False}
    made = web.lib.enrol(M.Enrolment(phone=phone, consents=consents, **profile))
    return str(made.body["member_id"])


def request_code(client: SignedIn, phone: str) -> httpx.Response:
    page = client.get("/me/sign-in")
    token = FORM_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    return client.post("/me/sign-in", data={"phone": phone, "form_token": token})


def enter_code(client: SignedIn, code_page: httpx.Response, phone: str,
               code: str) -> httpx.Response:
    return client.post("/me/sign-in/code", data={
        "phone": phone, "code": code,
        "challenge": CHALLENGE.search(code_page.text).group(1),  # type: ignore[union-attr]
        "form_token": FORM_TOKEN.search(code_page.text).group(1)})  # type: ignore[union-attr]


def last_code(web: Web) -> str:
    return web.lib.code_sender.sent[-1][2]  # type: ignore[attr-defined]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def signed_in_member(web: Web, phone: str = PHONE) -> SignedIn:
    client = web.client()
    page = request_code(client, phone)
    assert enter_code(client, page, phone, last_code(web)).status_code == 303
    home = client.get("/me/")
    client.csrf = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
    return client


# --- sign-in ------------------------------------------------------------------------------

def test_the_right_code_signs_the_member_in(web: Web) -> None:
    member_id = enrol(web, first_name="Anna")
    client = web.client()
    page = request_code(client, "8 (916) 123-45-67")  # any format: normalised
    assert page.status_code == 200
    assert web.lib.code_sender.sent[-1][:2] == ("phone", PHONE)  # type: ignore[attr-defined]
    response = enter_code(client, page, PHONE, last_code(web))
    assert response.status_code == 303 and response.headers["location"] == "/me/"
    cookie = response.headers["set-cookie"]
    assert "kopilka_member=" in cookie and "HttpOnly" in cookie and "Path=/me" in cookie
    home = client.get("/me/")
    assert home.status_code == 200 and "Hello, Anna!" in home.text
    assert web.lib.member(member_id)["phone_verified"] is True


def test_a_wrong_code_is_refused_and_opens_no_session(web: Web) -> None:
    enrol(web)
    client = web.client()
    page = request_code(client, PHONE)
    response = enter_code(client, page, PHONE, wrong(last_code(web)))
    assert response.status_code == 401
    assert "The code is wrong or has expired." in response.text
    assert "kopilka_member" not in response.headers.get("set-cookie", "")
    assert client.get("/me/").status_code == 303  # still not signed in
    again = enter_code(client, response, PHONE, last_code(web))  # the same code, right now
    assert again.status_code == 303


def test_an_expired_code_is_refused(web: Web) -> None:
    enrol(web)
    client = web.client()
    page = request_code(client, PHONE)
    web.clock.advance(minutes=11)
    assert enter_code(client, page, PHONE, last_code(web)).status_code == 401


def _comparable(response: httpx.Response, phone: str) -> str:
    return HIDDEN_VALUES.sub("", response.text.replace(phone, "PHONE"))


def test_an_unknown_phone_gets_the_same_page_and_answer_as_a_known_one(web: Web) -> None:
    enrol(web)
    known, unknown = web.client(), web.client()
    known_page = request_code(known, PHONE)
    sent = len(web.lib.code_sender.sent)  # type: ignore[attr-defined]
    unknown_page = request_code(unknown, UNKNOWN_PHONE)
    assert len(web.lib.code_sender.sent) == sent  # type: ignore[attr-defined]  # no code sent
    assert known_page.status_code == unknown_page.status_code == 200
    assert _comparable(known_page, PHONE) == _comparable(unknown_page, UNKNOWN_PHONE)
    assert "If PHONE is registered with us, we have sent" in _comparable(known_page, PHONE)
    known_wrong = enter_code(known, known_page, PHONE, "000000")
    unknown_wrong = enter_code(unknown, unknown_page, UNKNOWN_PHONE, "000000")
    assert known_wrong.status_code == unknown_wrong.status_code == 401
    assert _comparable(known_wrong, PHONE) == _comparable(unknown_wrong, UNKNOWN_PHONE)


def test_the_dummy_challenge_never_succeeds_even_once_the_number_is_enrolled(web: Web) -> None:
    client = web.client()
    page = request_code(client, UNKNOWN_PHONE)
    enrol(web, UNKNOWN_PHONE)
    for code in ("000000", "123456"):
        page = enter_code(client, page, UNKNOWN_PHONE, code)
        assert page.status_code == 401


def test_repeated_wrong_codes_throttle_the_phone(web: Web) -> None:
    enrol(web)
    client = web.client()
    page = request_code(client, PHONE)
    code = last_code(web)
    for _ in range(MAX_FAILURES_PER_LOGIN):
        page = enter_code(client, page, PHONE, wrong(code))
        assert page.status_code == 401
    refused = enter_code(client, page, PHONE, code)  # even the right code now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many wrong codes" in refused.text
    sent = len(web.lib.code_sender.sent)  # type: ignore[attr-defined]
    assert request_code(web.client(), PHONE).status_code == 429  # and no new code either
    assert len(web.lib.code_sender.sent) == sent  # type: ignore[attr-defined]
    web.clock.advance(minutes=16)
    assert signed_in_member(web).get("/me/").status_code == 200


def test_sign_in_forms_need_their_double_submit_token(web: Web) -> None:
    enrol(web)
    client = web.client()
    sent = len(web.lib.code_sender.sent)  # type: ignore[attr-defined]
    refused = client.post("/me/sign-in", data={"phone": PHONE, "form_token": "forged"})
    assert refused.status_code == 403
    assert len(web.lib.code_sender.sent) == sent  # type: ignore[attr-defined]
    page = request_code(client, PHONE)
    forged = client.post("/me/sign-in/code", data={
        "phone": PHONE, "code": last_code(web), "form_token": "forged",
        "challenge": CHALLENGE.search(page.text).group(1)})  # type: ignore[union-attr]
    assert forged.status_code == 403
    assert "kopilka_member" not in forged.headers.get("set-cookie", "")


def test_a_bad_phone_number_is_asked_again(web: Web) -> None:
    response = request_code(web.client(), "call me")
    assert response.status_code == 422
    assert "Enter a mobile phone number" in response.text


def test_sign_out_ends_the_member_session(web: Web) -> None:
    enrol(web)
    client = signed_in_member(web)
    stolen = dict(client.cookies)
    assert web.post(client, "/me/sign-out").status_code == 303
    other = web.client()
    other.cookies.update(stolen)
    assert other.get("/me/").headers["location"] == "/me/sign-in?next=/me/"


# --- sessions kept apart ------------------------------------------------------------------

def test_a_member_session_cannot_open_the_console(web: Web) -> None:
    enrol(web)
    member_token = signed_in_member(web).cookies["kopilka_member"]
    intruder = web.client()
    intruder.cookies.set("kopilka_staff", member_token)
    for path in ("/console/members", "/console/dashboard", "/console/audit"):
        response = intruder.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in")


def test_a_staff_session_cannot_open_the_member_pages(web: Web) -> None:
    staff_token = web.client("admin").cookies["kopilka_staff"]
    intruder = web.client()
    intruder.cookies.set("kopilka_member", staff_token)
    for path in ("/me/", "/me/card", "/me/card/lost"):
        response = intruder.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/me/sign-in")


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(web: Web) -> None:
    enrol(web)
    client = signed_in_member(web)
    before = row_counts(web.lib)
    for path, data in (("/me/consents", {"marketing_sms": "true"}),
                       ("/me/profile", {"first_name": "Mallory"}),
                       ("/me/card/lost", {"idempotency_key": "k" * 24}),
                       ("/me/sign-out", {})):
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    assert row_counts(web.lib) == before
    assert client.get("/me/").status_code == 200


# --- the home page ------------------------------------------------------------------------

def test_the_home_page_shows_only_the_members_own_points_and_history(web: Web) -> None:
    member_id = enrol(web, first_name="Anna")
    other_id = enrol(web, UNKNOWN_PHONE, first_name="Boris")
    web.lib.earn(member_id, 1234, expires_at=web.clock.now() + timedelta(days=30))
    web.lib.earn(member_id, 50, activates_at=web.clock.now() + timedelta(days=14))
    web.lib.earn(other_id, 777_777)
    page = signed_in_member(web).get("/me/")
    assert re.search(r'data-testid="balance">1,234<', page.text)
    assert re.search(r'data-testid="pending-total">50<', page.text)
    assert "available from Mar 15, 2026" in page.text
    assert "expire on Mar 31, 2026" in page.text
    assert "777,777" not in page.text and "Boris" not in page.text
    assert member_id not in page.text  # no member id on the page, let alone in a URL


def test_history_is_paginated_with_a_link_to_earlier_items(web: Web) -> None:
    member_id = enrol(web)
    for points in range(1, 13):
        web.lib.earn(member_id, points)
    client = signed_in_member(web)
    page = client.get("/me/")
    assert page.text.count('class="history-item"') == 10
    more = re.search(r'hx-get="(/me/history\?cursor=[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    rest = client.get(more, headers={"HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text
    assert rest.text.count('class="history-item"') == 2
    assert "+1<" in rest.text and "+2<" in rest.text and "history-more" not in rest.text
    assert "<html" in client.get(more).text  # without htmx: a page of its own


def test_a_consent_change_is_recorded_with_history_and_audited_as_the_members(web: Web) -> None:
    member_id = enrol(web)
    client = signed_in_member(web)
    response = web.post(client, "/me/consents", {"marketing_sms": "true"})
    assert response.status_code == 303
    assert response.headers["location"] == "/me/?saved=consents#consents"
    consents = web.lib.member(member_id)["consents"]
    assert (consents["marketing_email"], consents["marketing_sms"],
            consents["marketing_push"], consents["personal_data"]) == (False, True, False, True)
    history = web.lib.consent_history(member_id)
    assert {(c["consent"], c["granted"]) for c in history
            if c["source"] == f"member:{member_id}"} == \
        {("marketing_email", False), ("marketing_sms", True),
         ("marketing_push", False)}  # push was never asked at enrolment: now it is recorded
    assert ("marketing_email", True) in {(c["consent"], c["granted"]) for c in history}
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["actor"]["kind"], entry["actor"]["id"],
            entry["object_type"], entry["object_id"]) == \
        ("update_member", "member", member_id, "member", member_id)
    assert entry["after"]["request"][2] == {"marketing_email": False, "marketing_sms": True,
                                            "marketing_push": False}
    assert entry["after"]["result"]["consents"]["marketing_sms"] is True
    assert "Your choice of offers is saved." in client.get("/me/?saved=consents").text


def test_a_profile_change_is_audited_with_before_and_after(web: Web) -> None:
    member_id = enrol(web, first_name="Anna")
    client = signed_in_member(web)
    response = web.post(client, "/me/profile", {"first_name": "Anya", "last_name": "Petrova",
                                                "email": "Anya@Example.com"})
    assert response.status_code == 303
    member = web.lib.member(member_id)
    assert (member["first_name"], member["last_name"], member["email"]) == \
        ("Anya", "Petrova", "Anya@example.com")
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["actor"]["kind"], entry["actor"]["id"]) == \
        ("update_member", "member", member_id)
    assert (entry["before"]["first_name"], entry["before"]["email"]) == ("Anna", None)
    refused = web.post(client, "/me/profile", {"first_name": "Anya", "email": "not an email"})
    assert refused.status_code == 422
    assert "This email address does not look right." in refused.text
    assert web.lib.member(member_id)["email"] == "Anya@example.com"


# --- the card -----------------------------------------------------------------------------

def test_the_card_page_shows_the_newest_card_and_refreshes_its_codes(web: Web) -> None:
    member_id = enrol(web)
    card = web.lib.member(member_id)["cards"][0]["number"]
    client = signed_in_member(web)
    page = client.get("/me/card")
    assert page.status_code == 200
    assert f'data-card="{card}"' in page.text
    assert 'hx-get="/me/card/codes" hx-trigger="every 60s"' in page.text
    assert page.text.count("<svg") == 2 and "<script>" not in page.text
    fragment = client.get("/me/card/codes", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<div")
    assert f'data-card="{card}"' in fragment.text
    assert member_id not in page.text


def test_a_lost_card_is_blocked_and_replaced_once_keeping_the_points(web: Web) -> None:
    member_id = enrol(web)
    web.lib.earn(member_id, 500)
    old = web.lib.member(member_id)["cards"][0]["number"]
    client = signed_in_member(web)
    page = client.get("/me/card/lost")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = web.post(client, "/me/card/lost", {"idempotency_key": key})
    assert response.status_code == 303
    assert response.headers["location"] == "/me/card?replaced=true"
    assert web.post(client, "/me/card/lost", {"idempotency_key": key}).status_code == 303
    cards = web.lib.member(member_id)["cards"]
    assert [c["status"] for c in cards] == ["blocked", "active"]  # one new card, not two
    new = cards[1]["number"]
    assert cards[0]["replaced_by"] == new
    with pytest.raises(DomainError) as blocked:
        web.lib.resolve({"card": old})
    assert blocked.value.code == "card_blocked"
    assert web.lib.balance(member_id)["available"] == 500
    shown = client.get("/me/card?replaced=true")
    assert f'data-card="{new}"' in shown.text and "Your old card is blocked." in shown.text
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["actor"]["kind"], entry["actor"]["id"]) == \
        ("replace_lost_card", "member", member_id)
    assert [c["status"] for c in entry["before"]] == ["active"]
