"""The members section in the browser, on the demo data: the support desk's main path.

An operator finds a customer by a phone typed the way people say it, opens the card, posts
an adjustment with a reason, and reissues a lost card; an auditor sees the same page with no
action at all; an admin erases a member after confirming; the pages work at 375 px in
Russian. The site is shared with other sections' tests, so each test picks its own member
from the end of the list (others start from the beginning) and never assumes fixed balances.
"""

from __future__ import annotations

import re
from typing import Any

from kopilka.app.library import Kopilka


def demo_member(lib: Kopilka, offset: int) -> dict[str, Any]:
    """An active demo member with a name and an active card, `offset` from the end."""
    with lib.db.read() as uow:
        rows = uow.members.page(limit=1000, after=None)
    candidates = [r for r in rows if r["status"] == "active" and r["last_name"]]
    chosen = candidates[-1 - offset]
    return lib.member(chosen["member_id"])


def spoken(phone: str) -> str:
    """+79161234567 as people write it: 8 (916) 123-45-67."""
    digits = phone[2:]
    return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def available(b: Any) -> int:
    text = b.page.locator("[data-testid=available]").inner_text()
    return int(re.sub(r"\D", "", text))


def test_operator_finds_by_phone_adjusts_and_reissues_a_card(open_page) -> None:
    b = open_page("operator")
    member = demo_member(b.site.lib, 3)
    member_id = member["member_id"]
    b.visit("/console/members", "members-empty")
    b.page.fill("#member-query", spoken(member["phone"]))  # live search, no submit
    row = b.page.locator(f"[data-member='{member_id}']")
    row.wait_for()
    assert b.page.locator("[data-member]").count() == 1
    assert member["last_name"] in row.inner_text()
    b.screenshot("members-search")
    row.locator("a").click()
    b.measure("member-card")
    assert b.page.url.endswith(f"/console/members/{member_id}")
    before = available(b)
    assert before == b.site.lib.balance(member_id)["available"]

    b.page.fill("input[name=points]", "+300")
    b.page.fill("input[name=reason]", "Compensation: receipt lost by the till")
    b.page.click("[data-testid=adjust-submit]")
    b.measure("member-adjusted")
    assert b.page.locator("[data-testid=done]").inner_text() == "The adjustment is posted."
    assert available(b) == before + 300
    newest = b.page.locator("#history tbody tr").first
    assert newest.get_attribute("data-code") == "adjust"
    assert "Compensation: receipt lost by the till" in newest.inner_text()
    assert "+300" in newest.inner_text()

    old = next(c["number"] for c in member["cards"] if c["status"] == "active")
    b.page.on("dialog", lambda dialog: dialog.accept())  # data-confirm asks first
    b.page.locator(f"tr[data-card='{old}'] [data-testid=reissue]").click()
    b.measure("card-reissued")
    assert "old one is blocked" in b.page.locator("[data-testid=done]").inner_text()
    assert b.page.locator(f"tr[data-card='{old}']").get_attribute("data-status") == "blocked"
    cards = b.site.lib.member(member_id)["cards"]
    new = next(c["number"] for c in cards if c["status"] == "active" and c["number"] != old)
    assert b.page.locator(f"tr[data-card='{new}']").get_attribute("data-status") == "active"
    assert available(b) == before + 300  # the balance stays with the member


def test_a_refused_adjustment_stays_on_the_page_with_its_reason(open_page) -> None:
    b = open_page("operator")
    member_id = demo_member(b.site.lib, 4)["member_id"]
    b.visit(f"/console/members/{member_id}", "member-before-refusal")
    before = available(b)
    b.page.fill("input[name=points]", "20000")
    b.page.fill("input[name=reason]", "Too generous")
    b.page.click("[data-testid=adjust-submit]")
    b.page.wait_for_load_state("load")
    assert "above your role's limit" in b.page.locator("[data-testid=adjust-error]").inner_text()
    assert b.page.input_value("input[name=reason]") == "Too generous"
    b.screenshot("adjustment-refused")
    assert b.site.lib.balance(member_id)["available"] == before


def test_the_auditor_sees_the_member_read_only(open_page) -> None:
    b = open_page("auditor")
    member_id = demo_member(b.site.lib, 5)["member_id"]
    b.visit(f"/console/members/{member_id}", "member-card-auditor")
    assert b.page.locator("[data-testid=history] tbody tr").count() >= 1
    assert b.page.locator("form[method=post][action^='/console/members']").count() == 0
    assert b.page.locator("[data-testid=adjust], [data-testid=erase]").count() == 0


def test_admin_erases_a_member_after_confirming(open_page) -> None:
    b = open_page("admin")
    member = demo_member(b.site.lib, 6)
    b.visit(f"/console/members/{member['member_id']}", "member-before-erasure")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()
    b.page.on("dialog", answer)
    with b.page.expect_navigation():  # the post and its redirect, before the screenshot
        b.page.click("[data-testid=erase-form] button")
    b.measure("member-erased")
    assert asked and "cannot be undone" in asked[0]
    assert b.page.locator("[data-testid=erased]").count() == 1
    assert member["last_name"] not in b.page.content()
    assert member["phone"] not in b.page.content()


def test_members_at_375_px_in_russian(open_page) -> None:
    b = open_page("operator", width=375, height=812, language="ru")
    member = demo_member(b.site.lib, 7)
    b.visit(f"/console/members?q={member['last_name']}", "members-search-375-ru")
    assert b.page.locator("h1").inner_text() == "Участники"
    assert b.page.locator(f"[data-member='{member['member_id']}']").count() == 1
    b.visit(f"/console/members/{member['member_id']}", "member-card-375-ru")
    assert b.page.locator("[data-testid=adjust] h2").inner_text() == "Корректировка баланса"
    assert b.page.locator("#history h2").inner_text() == "История баллов"
    overflow = b.page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= 375, f"the page is {overflow} px wide at 375 px"
