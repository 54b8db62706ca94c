"""The staff accounts page on both databases: admins only; create, change role, deactivate
and reactivate, set a password, each audited without the password; an admin cannot lock
themselves out; refused changes write nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import row_counts
from tests.web.conftest import Web

NEW = {"login": "olga", "display_name": "Olga Petrova", "role": "operator",
       "password": "a long phrase of hers 1"}


@pytest.mark.parametrize("role", ["operator", "marketer", "accountant", "auditor"])
def test_only_admins_manage_staff(web: Web, role: str) -> None:
    client = web.client(role)
    assert client.get("/console/staff").status_code == 403
    before = row_counts(web.lib)
    target = web.staff_ids["admin"]
    for path, data in (("/console/staff", NEW), (f"/console/staff/{target}/role",
                                                  {"role": "auditor"}),
                       (f"/console/staff/{target}/active", {"active": "0"}),
                       (f"/console/staff/{target}/password", {"password": "a new phrase!!"})):
        assert web.post(client, path, data).status_code == 403, path
    assert row_counts(web.lib) == before


def test_posts_without_the_csrf_token_are_refused(web: Web) -> None:
    client = web.client("admin")
    before = row_counts(web.lib)
    assert client.post("/console/staff", data=NEW).status_code == 403
    assert client.post(f"/console/staff/{web.staff_ids['operator']}/active",
                       data={"active": "0"}).status_code == 403
    assert row_counts(web.lib) == before


def test_an_admin_creates_an_account_and_its_owner_signs_in(web: Web) -> None:
    admin = web.client("admin")
    page = admin.get("/console/staff").text
    for login in ("admin", "marketer", "operator", "accountant", "auditor"):
        assert f'data-login="{login}"' in page
    response = web.post(admin, "/console/staff", NEW)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/staff?done=created&login=olga"
    assert 'data-login="olga"' in admin.get(response.headers["location"]).text
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["actor"]["id"]) == ("staff_create", web.staff_ids["admin"])
    assert entry["after"]["request"] == {"login": "olga", "role": "operator",
                                         "display_name": "Olga Petrova"}
    assert NEW["password"] not in web.lib.audit_csv()
    assert web.sign_in(web.client(), "olga", NEW["password"]).status_code == 303


@pytest.mark.parametrize(("form", "status", "code"), [
    ({**NEW, "password": "short"}, 422, "weak_password"),
    ({**NEW, "password": "my login olga inside"}, 422, "weak_password"),
    ({**NEW, "login": "operator"}, 409, "login_taken"),
    ({**NEW, "login": "o l g a"}, 422, "invalid_login"),
    ({**NEW, "role": "boss"}, 422, "invalid_role"),
])
def test_bad_accounts_are_refused_at_the_form(web: Web, form: dict[str, str], status: int,
                                              code: str) -> None:
    admin = web.client("admin")
    before = row_counts(web.lib)
    response = web.post(admin, "/console/staff", form)
    assert response.status_code == status
    assert f'data-testid="create-error" data-code="{code}"' in response.text
    assert f'value="{form["login"]}"' in response.text  # what was typed is kept
    assert form["password"] not in response.text
    assert row_counts(web.lib) == before


def test_role_changes_are_audited_with_before_and_after_and_end_sessions(web: Web) -> None:
    operator = web.client("operator")
    admin = web.client("admin")
    target = web.staff_ids["operator"]
    response = web.post(admin, f"/console/staff/{target}/role", {"role": "auditor"})
    assert response.status_code == 303
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("staff_update", "staff", target)
    assert (entry["before"]["role"], entry["after"]["result"]["role"]) == ("operator", "auditor")
    assert operator.get("/console/receipts").status_code == 303  # signed out
    assert web.sign_in(web.client(), "operator").status_code == 303
    assert web.client("operator").get("/console/audit").status_code == 200  # now an auditor


def test_deactivate_reactivate_and_set_a_password(web: Web) -> None:
    admin = web.client("admin")
    target = web.staff_ids["accountant"]
    assert web.post(admin, f"/console/staff/{target}/active", {"active": "0"}).status_code == 303
    assert web.sign_in(web.client(), "accountant").status_code == 401
    assert web.lib.audit_log(limit=1)["items"][0]["before"]["active"] is True
    assert web.post(admin, f"/console/staff/{target}/active", {"active": "1"}).status_code == 303
    assert web.post(admin, f"/console/staff/{target}/password",
                    {"password": "a fresh secret phrase"}).status_code == 303
    assert web.sign_in(web.client(), "accountant").status_code == 401
    assert web.sign_in(web.client(), "accountant", "a fresh secret phrase").status_code == 303
    entry = web.lib.audit_log(limit=1, action="staff_update")["items"][0]
    assert entry["after"]["request"]["changes"] == {"password": "***"}
    assert "a fresh secret phrase" not in web.lib.audit_csv()


def test_an_admin_cannot_deactivate_or_demote_themselves(web: Web) -> None:
    admin = web.client("admin")
    me = web.staff_ids["admin"]
    page = admin.get("/console/staff").text
    mine = page[page.index('data-login="admin"'):page.index('data-login="auditor"')]
    assert "/active" not in mine and "/role" not in mine  # no such controls on one's own row
    before = row_counts(web.lib)
    off = web.post(admin, f"/console/staff/{me}/active", {"active": "0"})
    assert off.status_code == 409
    assert "You cannot deactivate your own account" in off.text
    demoted = web.post(admin, f"/console/staff/{me}/role", {"role": "auditor"})
    assert demoted.status_code == 409
    assert "You cannot change your own role" in demoted.text
    assert row_counts(web.lib) == before
    assert admin.get("/console/staff").status_code == 200  # still signed in, still an admin
    missing = web.post(admin, "/console/staff/nobody/role", {"role": "auditor"})
    assert missing.status_code == 404
