"""Every console page, for every role: shown exactly when the role holds its permission
(domain/staff.py), refused with 403 otherwise; a member's session opens no console page and a
staff session no member page."""

from __future__ import annotations

from pathlib import Path

from kopilka.app.program_document import parse_program
from kopilka.domain.program import Program
from kopilka.domain.staff import PERMISSIONS, Permission, Role
from tests.web.conftest import Web

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
P = Permission
PAGES: list[tuple[str, Permission]] = [
    ("/console/dashboard", P.DASHBOARD_VIEW),
    ("/console/members", P.MEMBERS_VIEW),
    ("/console/members?q=Ivan", P.MEMBERS_VIEW),
    ("/console/receipts", P.RECEIPTS_VIEW),
    ("/console/program", P.PROGRAM_VIEW),
    ("/console/program/edit", P.PROGRAM_EDIT),
    ("/console/program/preview", P.PROGRAM_EDIT),
    ("/console/promotions", P.PROMOTIONS_VIEW),
    ("/console/promotions/new", P.PROMOTIONS_EDIT),
    ("/console/audit", P.AUDIT_VIEW),
    ("/console/audit.csv", P.AUDIT_VIEW),
    ("/console/staff", P.STAFF_MANAGE),
]


def test_each_role_opens_exactly_the_pages_its_permissions_allow(web: Web) -> None:
    web.lib.apply_program(_program(), author="test")
    seen: dict[tuple[str, str], int] = {}
    for role in Role:
        client = web.client(role.value)
        for path, _permission in PAGES:
            seen[(role.value, path)] = client.get(path).status_code
    expected = {(role.value, path): 200 if permission in PERMISSIONS[role] else 403
                for role in Role for path, permission in PAGES}
    assert seen == expected


def test_signed_out_visitors_are_sent_to_sign_in_from_every_page(web: Web) -> None:
    client = web.client()
    for path, _permission in PAGES:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/sign-in?next=")


def _program() -> Program:
    return parse_program((EXAMPLES / "bonus.yaml").read_text())
