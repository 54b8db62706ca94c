"""Staff sign-in in the browser: each role lands on its first section and sees only its
sections; wrong passwords are refused; sign-out ends the session; pages work at 375 px."""

from __future__ import annotations

import pytest

from kopilka.domain.staff import Role

SECTIONS = {"Dashboard": "/console/dashboard", "Members": "/console/members",
            "Receipts": "/console/receipts", "Program": "/console/program",
            "Promotions": "/console/promotions", "Audit log": "/console/audit",
            "Staff": "/console/staff"}
VISIBLE = {
    "admin": set(SECTIONS),
    "marketer": {"Dashboard", "Members", "Receipts", "Program", "Promotions"},
    "operator": {"Members", "Receipts", "Program", "Promotions"},
    "accountant": {"Dashboard", "Members", "Receipts", "Program", "Promotions"},
    "auditor": {"Dashboard", "Members", "Receipts", "Program", "Promotions", "Audit log"},
}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_signs_in_and_sees_exactly_its_sections(open_page, role: str) -> None:
    b = open_page()
    b.visit("/console/sign-in", f"sign-in-{role}")
    b.page.fill("input[name=login]", role)
    b.page.fill("input[name=password]", b.site.passwords[role])
    b.page.click("button[type=submit]")
    b.measure(f"home-{role}")
    shown = {name for name in SECTIONS
             if b.page.locator(f"header nav .sections a[href='{SECTIONS[name]}']").count()}
    assert shown == VISIBLE[role]
    assert b.page.locator("header .who").inner_text().endswith(role)


def test_a_wrong_password_is_refused_and_nobody_is_signed_in(open_page) -> None:
    b = open_page()
    b.visit("/console/sign-in", "sign-in")
    b.page.fill("input[name=login]", "admin")
    b.page.fill("input[name=password]", "not the password at all")
    b.page.click("button[type=submit]")
    b.page.wait_for_load_state("load")
    assert b.page.locator("[data-testid=error]").inner_text() == "Wrong login or password."
    b.screenshot("wrong-password")
    b.page.goto(b.site.url + "/console/", wait_until="load")
    assert "/console/sign-in" in b.page.url


def test_sign_out_ends_the_session(open_page) -> None:
    b = open_page("marketer")
    b.page.click("[data-testid=sign-out]")
    b.page.wait_for_load_state("load")
    assert b.page.url.endswith("/console/sign-in")
    b.page.go_back()
    b.page.goto(b.site.url + "/console/dashboard", wait_until="load")
    assert "/console/sign-in?next=/console/dashboard" in b.page.url


def test_the_console_speaks_russian_when_asked(open_page) -> None:
    b = open_page(language="ru")
    b.visit("/console/sign-in", "sign-in-ru")
    assert b.page.locator("h1").inner_text() == "Вход в консоль"
    b.page.click("a[hreflang=en]")
    b.page.wait_for_load_state("load")
    assert b.page.locator("h1").inner_text() == "Sign in to the console"


def test_sign_in_works_on_a_375_px_phone(open_page) -> None:
    b = open_page(width=375, height=812)
    b.visit("/console/sign-in", "sign-in-375")
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
    b.sign_in("operator")
    b.measure("home-375")
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
