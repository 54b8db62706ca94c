"""Receipts in the browser on the demo data: an operator finds a member's receipt, opens it,
returns one line and cancels another receipt; a reader sees no actions; a phone in Russian."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kopilka.app.receipt_search import ReceiptQuery
from kopilka.entrypoints.web.rendering import DISPLAY_TZ


def demo_receipts(b: Any, month: int, count: int) -> list[dict[str, Any]]:
    """Confirmed, never returned member receipts of one month of the demo year with at least
    two lines (each test takes its own month: the site is shared with other tests)."""
    lib = b.site.lib
    since = datetime(2026, month, 1, tzinfo=DISPLAY_TZ)
    until = datetime(2026, month + 1, 1, tzinfo=DISPLAY_TZ)
    found = lib.receipts_search(ReceiptQuery(status="confirmed", since=since, until=until),
                                limit=100)["items"]
    chosen = []
    for item in found:
        if item["member_id"] and not item["returns"]:
            detail = lib.receipt_detail(item["store_id"], item["receipt_id"])
            if len(detail["lines"]) >= 2:
                chosen.append(detail)
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"no demo receipts to use in month {month}")


def test_an_operator_finds_a_receipt_returns_a_line_and_cancels_another(open_page) -> None:
    b = open_page("operator")
    first, second = demo_receipts(b, 4, 2)
    phone = b.site.lib.member(first["member_id"])["phone"]
    b.visit("/console/receipts", "receipts")
    day = datetime.fromisoformat(first["occurred_at"]).astimezone(DISPLAY_TZ).date().isoformat()
    b.page.fill("input[name=member]", phone)
    b.page.fill("input[name=from]", day)
    b.page.fill("input[name=to]", day)
    b.page.click("[data-testid=receipt-find]")
    b.measure("receipts-of-a-member")
    row = b.page.locator(f"tr[data-receipt='{first['store_id']}/{first['receipt_id']}']")
    assert row.count() == 1
    row.locator("a", has_text=first["receipt_id"]).click()
    b.measure("receipt")
    assert b.page.locator("h1").inner_text().startswith(f"Receipt {first['receipt_id']}")
    line = first["lines"][0]
    b.page.fill(f"input[name='qty-{line['line_id']}']", line["quantity"])
    b.page.click("[data-testid=return-submit]")
    b.measure("receipt-after-return")
    assert b.page.locator("[data-testid=done]").inner_text() == "The return is recorded."
    assert b.page.locator("[data-testid=new-return]").count() == 1
    after = b.site.lib.receipt_detail(first["store_id"], first["receipt_id"])
    assert Decimal(after["lines"][0]["left"]) == 0 and len(after["returns"]) == 1
    audit = b.site.lib.audit_log(limit=5, action="return",
                                 object_id=f"{first['store_id']}/{first['receipt_id']}")
    assert audit["items"][0]["actor"]["role"] == "operator"

    b.visit(f"/console/receipts/{second['store_id']}/{second['receipt_id']}", "to-cancel")
    b.page.once("dialog", lambda dialog: dialog.accept())
    b.page.click("[data-testid=cancel-submit]")
    b.measure("receipt-cancelled")
    assert b.page.locator("[data-testid=receipt-status]").get_attribute("data-status") == \
        "cancelled"
    assert b.site.lib.receipt(second["store_id"], second["receipt_id"])["status"] == \
        "cancelled"


def test_a_quantity_above_what_is_left_is_refused_at_the_form(open_page) -> None:
    b = open_page("admin")
    (receipt,) = demo_receipts(b, 5, 1)
    b.visit(f"/console/receipts/{receipt['store_id']}/{receipt['receipt_id']}", "receipt")
    line = receipt["lines"][-1]
    box = b.page.locator(f"input[name='qty-{line['line_id']}']")
    box.evaluate("input => input.removeAttribute('max')")  # as if typed past the hint
    box.fill(str(Decimal(line["quantity"]) + 1))
    b.page.click("[data-testid=return-submit]")
    b.page.wait_for_load_state("load")
    error = b.page.locator("[data-testid=return-error]")
    assert error.get_attribute("data-code") == "return_exceeds_receipt"
    b.screenshot("refused-return")
    assert b.site.lib.receipt_detail(receipt["store_id"], receipt["receipt_id"])["returns"] == []


def test_an_accountant_reads_receipts_without_actions(open_page) -> None:
    b = open_page("accountant")
    b.visit("/console/receipts", "receipts")
    assert b.page.locator("[data-testid=receipt-list] tbody tr").count() == 50
    b.page.click("[data-testid=receipts-older]")
    b.measure("older-receipts")
    b.page.locator("[data-testid=receipt-list] tbody tr a").first.click()
    b.measure("receipt")
    assert b.page.locator("[data-testid=receipt-lines]").count() == 1
    assert b.page.locator("[data-testid=return-form], [data-testid=cancel-form]").count() == 0


def test_receipts_on_a_phone_in_russian(open_page) -> None:
    b = open_page("operator", width=375, height=812, language="ru")
    (receipt,) = demo_receipts(b, 6, 1)
    b.visit("/console/receipts?status=confirmed", "receipts-375-ru")
    assert b.page.locator("h1").inner_text() == "Чеки"
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
    b.visit(f"/console/receipts/{receipt['store_id']}/{receipt['receipt_id']}", "receipt-375-ru")
    assert b.page.locator("[data-testid=return-submit]").inner_text() == "Оформить возврат"
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
