"""The members section of the console: search, the member page, and who may change what.

Both databases. Every change is checked in the ledger or the cards AND in the audit log (with
its before/after); every refusal is checked to have written nothing.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from kopilka.app.members import Enrolment
from kopilka.domain.staff import ADJUSTMENT_LIMIT_POINTS, Role
from tests.e2e.conftest import row_counts
from tests.web.conftest import Web

OPERATOR_LIMIT = ADJUSTMENT_LIMIT_POINTS[Role.OPERATOR]


def enrol(web: Web, phone: str, first: str, last: str, **extra: Any) -> str:
    body = web.lib.enrol(Enrolment(phone=phone, consents={"personal_data": True,
                                                         "marketing_sms": True},
                                   first_name=first, last_name=last, **extra)).body
    return body["member_id"]


@pytest.fixture
def anna(web: Web) -> str:
    member_id = enrol(web, "+79161234567", "Анна", "Иванова", email="anna@example.com")
    web.lib.earn(member_id, 1_000, reason="welcome")
    return member_id


def card_of(web: Web, member_id: str) -> str:
    return next(c["number"] for c in web.lib.member(member_id)["cards"]
                if c["status"] == "active")


def latest_audit(web: Web) -> dict[str, Any]:
    return web.lib.audit_log(limit=1)["items"][0]


def ledger_rows(web: Web) -> int:
    counts = row_counts(web.lib)
    return counts["ledger_transactions"] + counts["ledger_entries"]


# --- search ---------------------------------------------------------------------------------

def test_search_by_phone_in_any_format_or_its_last_digits(web: Web, anna: str) -> None:
    enrol(web, "+79030000000", "Борис", "Петров")
    client = web.client("operator")
    for typed in ("8 (916) 123-45-67", "+7 916 1234567", "89161234567", "4567", "916 123"):
        page = client.get("/console/members", params={"q": typed})
        assert page.status_code == 200
        assert re.findall(r'data-member="(\w+)"', page.text) == [anna], typed
        assert "Иванова Анна" in page.text and "+79161234567" in page.text
        assert card_of(web, anna) in page.text


def test_search_by_card_number_finds_a_blocked_card_too(web: Web, anna: str) -> None:
    old = card_of(web, anna)
    web.lib.issue_card(anna, replace=old)
    page = web.client("operator").get("/console/members", params={"q": old})
    assert re.findall(r'data-member="(\w+)"', page.text) == [anna]


def test_search_by_name_ignores_case(web: Web, anna: str) -> None:
    enrol(web, "+79030000000", "Борис", "Петров")
    latin = enrol(web, "+79030000001", "Anna", "Ivanova")
    client = web.client("operator")
    for typed, expected in (("иванова", anna), ("ИВАН", anna), ("Анна Иван", anna),
                            ("ванов", anna), ("anna ivanova", latin), ("IVAN", latin)):
        page = client.get("/console/members", params={"q": typed})
        assert re.findall(r'data-member="(\w+)"', page.text) == [expected], typed


def test_search_is_bounded_and_asks_to_refine(web: Web) -> None:
    for n in range(52):
        enrol(web, f"+7903000{n:04d}", f"Иван{n}", "Смирнов")
    found = web.lib.search_members("смирнов")
    assert len(found["items"]) == 50 and found["more"] is True
    page = web.client("operator").get("/console/members", params={"q": "Смирнов"})
    assert page.text.count('data-member="') == 50
    assert 'data-testid="refine"' in page.text
    assert "refine your search" in page.text


def test_search_explains_a_too_short_query_and_finds_nothing_quietly(web: Web,
                                                                      anna: str) -> None:
    client = web.client("operator")
    short = client.get("/console/members", params={"q": "45"})
    assert short.status_code == 200 and "at least 4 digits" in short.text
    none = client.get("/console/members", params={"q": "Сидоров"})
    assert 'data-testid="no-members"' in none.text and 'data-member="' not in none.text
    wild = client.get("/console/members", params={"q": "%"})
    assert 'data-member="' not in wild.text  # a LIKE wildcard is a plain character


def test_live_search_returns_the_results_fragment_only(web: Web, anna: str) -> None:
    page = web.client("operator").get("/console/members", params={"q": "Иванова"},
                                      headers={"HX-Request": "true",
                                               "HX-Target": "member-results"})
    assert page.text.lstrip().startswith('<section id="member-results"')
    assert f'data-member="{anna}"' in page.text and "<html" not in page.text


def test_the_search_is_in_russian_for_a_russian_reader(web: Web, anna: str) -> None:
    client = web.client("operator")
    client.headers["Accept-Language"] = "ru"
    page = client.get("/console/members", params={"q": "Иванова"})
    assert "Телефон" in page.text and "Доступно баллов" in page.text


# --- the member page ------------------------------------------------------------------------

def test_member_page_shows_profile_consents_cards_balance_and_history(web: Web,
                                                                      anna: str) -> None:
    web.lib.update_member(anna, {}, {"marketing_sms": False})
    page = web.client("auditor").get(f"/console/members/{anna}")
    assert page.status_code == 200
    text = page.text
    assert "Иванова Анна" in text and "anna@example.com" in text
    assert card_of(web, anna) in text
    assert re.search(r'data-testid="available">1,000<', text)
    assert 'data-consent="marketing_sms" data-granted="false"' in text
    assert text.count("marketing by SMS") == 3  # the current state, given, withdrawn
    assert 'data-code="earn"' in text and "welcome" in text


def test_history_pages_by_cursor(web: Web, anna: str) -> None:
    for n in range(25):
        web.lib.earn(anna, n + 1, reason=f"gift {n}")
    client = web.client("operator")
    first = client.get(f"/console/members/{anna}")
    assert first.text.count('data-operation="') == 20
    older = re.search(r'href="(/console/members/\w+\?cursor=[^"#]+)#history"', first.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count('data-operation="') == 6  # 26 operations in all
    assert "welcome" in second.text and "welcome" not in first.text
    forged = client.get(f"/console/members/{anna}", params={"cursor": "nonsense"})
    assert forged.status_code == 200


def test_an_unknown_member_is_a_404_page(web: Web) -> None:
    page = web.client("operator").get("/console/members/nobody")
    assert page.status_code == 404 and 'data-code="member_not_found"' in page.text


def test_the_auditor_sees_the_page_without_any_action_form(web: Web, anna: str) -> None:
    page = web.client("auditor").get(f"/console/members/{anna}")
    assert page.status_code == 200
    for form in ("adjust-form", "erase-form", "export-form", "profile-form",
                 'data-testid="block"', 'data-testid="reissue"'):
        assert form not in page.text
    assert 'method="post" action="/console/members' not in page.text


def test_the_operator_sees_the_forms_but_not_erasure(web: Web, anna: str) -> None:
    text = web.client("operator").get(f"/console/members/{anna}").text
    for form in ("adjust-form", "export-form", "profile-form", 'data-testid="block"',
                 'data-testid="reissue"'):
        assert form in text
    assert "erase-form" not in text
    assert "up to 10,000 points" in text


# --- adjustments ----------------------------------------------------------------------------

def test_operator_adjusts_within_the_limit_and_it_is_audited(web: Web, anna: str) -> None:
    client = web.client("operator")
    response = web.post(client, f"/console/members/{anna}/adjust",
                        {"points": "+250", "reason": "lost receipt, checked"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/members/{anna}?done=adjusted"
    assert web.lib.balance(anna)["available"] == 1_250
    op = web.lib.history(anna, limit=1)["items"][0]
    assert (op["code"], op["points"], op["reason"], op["author"]) == \
        ("adjust", 250, "lost receipt, checked", "Test operator")
    entry = latest_audit(web)
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("adjust", "member", anna)
    assert entry["actor"]["id"] == web.staff_ids["operator"]
    assert entry["before"] == {"points": {"available": 1000, "pending": 0, "on_hold": 0}}
    assert entry["after"]["result"]["balance"]["available"] == 1_250
    page = client.get(response.headers["location"])
    assert "The adjustment is posted." in page.text and "lost receipt, checked" in page.text


def test_operator_at_the_limit_may_take_points_away(web: Web, anna: str) -> None:
    web.lib.earn(anna, OPERATOR_LIMIT, reason="big")
    client = web.client("operator")
    response = web.post(client, f"/console/members/{anna}/adjust",
                        {"points": f"-{OPERATOR_LIMIT}", "reason": "duplicate accrual"})
    assert response.status_code == 303
    assert web.lib.balance(anna)["available"] == 1_000


def test_operator_above_the_limit_is_refused_and_nothing_is_written(web: Web,
                                                                     anna: str) -> None:
    client = web.client("operator")
    before = row_counts(web.lib)
    response = web.post(client, f"/console/members/{anna}/adjust",
                        {"points": str(OPERATOR_LIMIT + 1), "reason": "generous"})
    assert response.status_code == 403
    assert 'data-testid="adjust-error"' in response.text and "need" in response.text
    assert 'value="generous"' in response.text  # what was typed stays in the form
    assert row_counts(web.lib) == before


def test_admin_has_no_limit(web: Web, anna: str) -> None:
    client = web.client("admin")
    response = web.post(client, f"/console/members/{anna}/adjust",
                        {"points": "50 000", "reason": "compensation"})
    assert response.status_code == 303
    assert web.lib.balance(anna)["available"] == 51_000


def test_roles_without_adjustment_are_refused_and_nothing_is_written(web: Web,
                                                                      anna: str) -> None:
    for role in ("marketer", "accountant", "auditor"):
        client = web.client(role)
        before = row_counts(web.lib)
        response = web.post(client, f"/console/members/{anna}/adjust",
                            {"points": "10", "reason": "why not"})
        assert response.status_code == 403, role
        assert row_counts(web.lib) == before


def test_a_bad_adjustment_is_shown_at_its_form(web: Web, anna: str) -> None:
    client = web.client("operator")
    before = ledger_rows(web)
    for form, message in (({"points": "100", "reason": "   "}, "Give the reason"),
                          ({"points": "ten", "reason": "typo"}, "whole number"),
                          ({"points": "0", "reason": "nothing"}, "whole number"),
                          ({"points": "-5000", "reason": "too much"},
                           "does not have that many")):
        response = web.post(client, f"/console/members/{anna}/adjust", form)
        assert response.status_code == 422, (form, response.status_code)
        error = re.search(r'data-testid="adjust-error">([^<]+)<', response.text)
        assert error is not None and message in error.group(1), form
    assert ledger_rows(web) == before


def test_an_adjustment_without_the_csrf_token_is_refused(web: Web, anna: str) -> None:
    client = web.client("admin")
    before = row_counts(web.lib)
    response = client.post(f"/console/members/{anna}/adjust",
                           data={"points": "10", "reason": "forged"})
    assert response.status_code == 403 and "csrf_refused" in response.text
    assert row_counts(web.lib) == before


# --- cards ----------------------------------------------------------------------------------

def test_reissue_blocks_the_old_card_keeps_the_balance_and_is_audited(web: Web,
                                                                       anna: str) -> None:
    old = card_of(web, anna)
    client = web.client("operator")
    response = web.post(client, f"/console/members/{anna}/cards/{old}/reissue")
    assert response.headers["location"] == f"/console/members/{anna}?done=reissued"
    cards = web.lib.member(anna)["cards"]
    assert [(c["number"] == old, c["status"]) for c in cards] == \
        [(True, "blocked"), (False, "active")]
    assert cards[0]["replaced_by"] == cards[1]["number"]
    assert web.lib.balance(anna)["available"] == 1_000
    entry = latest_audit(web)
    assert entry["action"] == "issue_card" and entry["object_id"] == anna
    assert [c["status"] for c in entry["before"]] == ["active"]
    assert [c["status"] for c in entry["after"]["result"]["cards"]] == ["blocked", "active"]


def test_block_and_a_second_block_is_refused_at_the_cards(web: Web, anna: str) -> None:
    number = card_of(web, anna)
    client = web.client("operator")
    assert web.post(client, f"/console/members/{anna}/cards/{number}/block"
                    ).status_code == 303
    entry = latest_audit(web)
    assert (entry["action"], entry["before"][0]["status"]) == ("block_card", "active")
    again = web.post(client, f"/console/members/{anna}/cards/{number}/block")
    assert again.status_code == 409 and 'data-testid="cards-error"' in again.text
    issued = web.post(client, f"/console/members/{anna}/cards")
    assert issued.status_code == 303
    assert [c["status"] for c in web.lib.member(anna)["cards"]] == ["blocked", "active"]


def test_someone_elses_card_is_refused(web: Web, anna: str) -> None:
    boris = enrol(web, "+79030000000", "Борис", "Петров")
    client = web.client("operator")
    before = row_counts(web.lib)
    response = web.post(client, f"/console/members/{anna}/cards/{card_of(web, boris)}/block")
    assert response.status_code == 404 and "not the member" in response.text
    assert row_counts(web.lib) == before


def test_roles_without_card_management_are_refused(web: Web, anna: str) -> None:
    number = card_of(web, anna)
    for role in ("marketer", "accountant", "auditor"):
        client = web.client(role)
        before = row_counts(web.lib)
        for action in ("reissue", "block"):
            response = web.post(client, f"/console/members/{anna}/cards/{number}/{action}")
            assert response.status_code == 403, (role, action)
        assert web.post(client, f"/console/members/{anna}/cards").status_code == 403
        assert row_counts(web.lib) == before


# --- export and erasure ---------------------------------------------------------------------

def test_export_is_a_json_download_and_is_audited(web: Web, anna: str) -> None:
    response = web.post(web.client("operator"), f"/console/members/{anna}/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert f'filename="member-{anna}.json"' in response.headers["content-disposition"]
    data = response.json()
    assert data["phone"] == "+79161234567" and data["history"][0]["points"] == 1_000
    entry = latest_audit(web)
    assert (entry["action"], entry["object_id"]) == ("export_member", anna)


def test_export_needs_its_permission_and_erasure_is_for_admins_only(web: Web,
                                                                     anna: str) -> None:
    for role in ("operator", "marketer", "accountant", "auditor"):
        client = web.client(role)
        before = row_counts(web.lib)
        assert web.post(client, f"/console/members/{anna}/erase").status_code == 403, role
        if role != "operator":
            assert web.post(client, f"/console/members/{anna}/export"
                            ).status_code == 403, role
        assert row_counts(web.lib) == before
    assert web.lib.member(anna)["status"] == "active"


def test_admin_erases_and_the_page_shows_the_anonymised_member(web: Web, anna: str) -> None:
    client = web.client("admin")
    page = client.get(f"/console/members/{anna}")
    assert re.search(r'<form method="post" action="/console/members/\w+/erase" '
                     r'data-confirm="[^"]+"', page.text)
    response = web.post(client, f"/console/members/{anna}/erase")
    assert response.headers["location"] == f"/console/members/{anna}?done=erased"
    after = client.get(response.headers["location"]).text
    assert 'data-testid="erased"' in after
    assert "Иванова" not in after and "+79161234567" not in after
    assert "anna@example.com" not in after
    assert 'data-status="blocked"' in after and 'data-status="active"' not in after
    assert "adjust-form" not in after and "erase-form" not in after
    entry = latest_audit(web)
    assert entry["action"] == "erase" and entry["before"]["first_name"] == "Анна"
    assert entry["before"]["status"] == "active"
    assert web.lib.balance(anna)["available"] == 1_000  # the ledger stays


# --- profile --------------------------------------------------------------------------------

def test_operator_edits_the_profile_and_consents_and_it_is_audited(web: Web,
                                                                   anna: str) -> None:
    client = web.client("operator")
    response = web.post(client, f"/console/members/{anna}/profile", {
        "first_name": "Анна", "last_name": "Петрова", "email": "anna@example.com",
        "city": "Казань", "birth_date": "1990-05-17", "marketing_email": "1"})
    assert response.headers["location"] == f"/console/members/{anna}?done=updated"
    member = web.lib.member(anna)
    assert (member["last_name"], member["city"], member["birth_date"]) == \
        ("Петрова", "Казань", "1990-05-17")
    assert member["consents"]["marketing_email"] is True
    assert member["consents"]["marketing_sms"] is False  # unticked: withdrawn
    entry = latest_audit(web)
    assert entry["action"] == "update_member"
    assert (entry["before"]["last_name"], entry["before"]["city"]) == ("Иванова", None)
    assert entry["after"]["request"][1] == {"last_name": "Петрова", "city": "Казань",
                                            "birth_date": "1990-05-17"}
    history = web.lib.consent_history(anna)
    assert [(h["consent"], h["granted"], h["source"]) for h in history[-2:]] == [
        ("marketing_email", True, f"staff:{web.staff_ids['operator']}"),
        ("marketing_sms", False, f"staff:{web.staff_ids['operator']}")]


def test_a_bad_email_is_shown_at_the_profile_form(web: Web, anna: str) -> None:
    client = web.client("operator")
    before = row_counts(web.lib)
    response = web.post(client, f"/console/members/{anna}/profile", {
        "first_name": "Анна", "last_name": "Иванова", "email": "not-an-email",
        "city": "", "birth_date": "", "marketing_sms": "1"})
    assert response.status_code == 422 and 'data-testid="profile-error"' in response.text
    assert 'value="not-an-email"' in response.text
    assert row_counts(web.lib) == before


def test_the_auditor_may_not_edit_the_profile(web: Web, anna: str) -> None:
    client = web.client("auditor")
    before = row_counts(web.lib)
    response = web.post(client, f"/console/members/{anna}/profile",
                        {"first_name": "X", "last_name": "", "email": "", "city": "",
                         "birth_date": str(date(1990, 1, 1))})
    assert response.status_code == 403
    assert row_counts(web.lib) == before
