"""Staff accounts, sessions, CSRF, throttled sign-in and the audit of it, on both databases."""

from __future__ import annotations

import pytest

from kopilka.domain.errors import DomainError
from kopilka.domain.staff import MAX_FAILURES_PER_LOGIN, Permission, Role, allowed
from tests.e2e.conftest import row_counts
from tests.web.conftest import PASSWORD, Web


def test_signing_in_sets_an_http_only_cookie_and_records_the_sign_in(web: Web) -> None:
    client = web.client()
    response = web.sign_in(client, "operator")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "kopilka_staff=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/console" in cookie and "Secure" in cookie  # served over https here
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["actor"]["id"], entry["actor"]["role"]) == \
        ("sign_in", web.staff_ids["operator"], "operator")


def test_pages_need_a_session(web: Web) -> None:
    response = web.client().get("/console/members")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=/console/members"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web: Web) -> None:
    client = web.client("admin")
    before = row_counts(web.lib)
    response = client.post("/console/sign-out", data={})
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    wrong = client.post("/console/sign-out", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert row_counts(web.lib) == before
    assert client.get("/console/").status_code == 303  # still signed in: went to a section
    assert client.get("/console/", follow_redirects=True).url.path == "/console/dashboard"


def test_the_sign_in_form_needs_its_own_token(web: Web) -> None:
    client = web.client()
    response = client.post("/console/sign-in", data={"login": "admin", "password": PASSWORD,
                                                     "form_token": "made-up"})
    assert response.status_code == 403
    assert "kopilka_staff" not in response.headers.get("set-cookie", "")


def test_sign_out_ends_the_session_on_the_server(web: Web) -> None:
    client = web.client("marketer")
    stolen = dict(client.cookies)
    assert web.post(client, "/console/sign-out").status_code == 303
    other = web.client()
    other.cookies.update(stolen)  # the old cookie, replayed
    assert other.get("/console/dashboard").status_code == 303


def test_guessing_is_slowed_down_per_login(web: Web) -> None:
    client = web.client()
    for _ in range(MAX_FAILURES_PER_LOGIN):
        assert web.sign_in(client, "admin", "wrong password!").status_code == 401
    refused = web.sign_in(client, "admin", PASSWORD)  # even the right password now
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.text
    web.clock.advance(minutes=16)
    assert web.sign_in(client, "admin", PASSWORD).status_code == 303
    assert web.sign_in(web.client(), "operator").status_code == 303  # others unaffected


def test_unknown_logins_are_refused_like_wrong_passwords(web: Web) -> None:
    response = web.sign_in(web.client(), "nobody", PASSWORD)
    assert response.status_code == 401
    assert "Wrong login or password." in response.text


def test_demoting_someone_ends_their_sessions(web: Web) -> None:
    client = web.client("operator")
    assert client.get("/console/members").status_code == 200
    web.lib.update_staff(web.staff_ids["operator"], {"role": "auditor"})
    assert client.get("/console/members").status_code == 303  # signed out
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert entry["action"] == "staff_update" and entry["object_id"] == web.staff_ids["operator"]


def test_a_disabled_account_cannot_sign_in(web: Web) -> None:
    web.lib.update_staff(web.staff_ids["accountant"], {"active": False})
    assert web.sign_in(web.client(), "accountant").status_code == 401


def test_passwords_are_hashed_and_rules_enforced(web: Web) -> None:
    with web.lib.db.read() as uow:
        row = uow.staff.by_login("admin")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    with pytest.raises(DomainError) as short:
        web.lib.create_staff(login="ivan", password="short", role="operator")
    assert short.value.code == "weak_password"
    with pytest.raises(DomainError) as taken:
        web.lib.create_staff(login="ADMIN", password="long enough password", role="operator")
    assert taken.value.code == "login_taken"
    with pytest.raises(DomainError) as role:
        web.lib.create_staff(login="ivan", password="long enough password", role="boss")
    assert role.value.code == "invalid_role"


def test_the_audit_log_never_holds_a_password(web: Web) -> None:
    web.lib.create_staff(login="olga", password="my secret phrase", role="marketer")
    web.lib.update_staff(web.staff_ids["admin"], {"password": "a brand new phrase"})
    csv = web.lib.audit_csv()
    assert "secret phrase" not in csv and "brand new phrase" not in csv
    assert "staff_create" in csv and "staff_update" in csv


def test_role_matrix_is_what_the_console_promises() -> None:
    assert all(allowed(Role.ADMIN, p) for p in Permission)
    assert not allowed(Role.AUDITOR, Permission.POINTS_ADJUST)
    assert allowed(Role.AUDITOR, Permission.AUDIT_VIEW)
    assert not allowed(Role.MARKETER, Permission.AUDIT_VIEW)
    assert not allowed(Role.OPERATOR, Permission.PROGRAM_EDIT)
    assert allowed(Role.OPERATOR, Permission.CARDS_MANAGE)
    assert not allowed(Role.ACCOUNTANT, Permission.RECEIPTS_MANAGE)
    assert [r for r in Role if allowed(r, Permission.MEMBERS_ERASE)] == [Role.ADMIN]
    assert [r for r in Role if allowed(r, Permission.STAFF_MANAGE)] == [Role.ADMIN]
