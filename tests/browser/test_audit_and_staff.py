"""The audit log and staff accounts in the browser: an auditor filters the log by action,
opens an entry's difference and downloads the CSV; an admin creates an account and its
owner signs in; the log on a phone in Russian."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime

from kopilka.app.audit import Person
from kopilka.app.library import Caller
from kopilka.app.receipt_search import ReceiptQuery
from kopilka.entrypoints.web.rendering import DISPLAY_TZ


def cancel_a_demo_receipt(lib, operator_id: str) -> str:  # noqa: ANN001
    """A demo receipt of July cancelled by the operator through the library (audited)."""
    since, until = datetime(2026, 7, 1, tzinfo=DISPLAY_TZ), datetime(2026, 8, 1, tzinfo=DISPLAY_TZ)
    item = next(r for r in lib.receipts_search(ReceiptQuery(status="confirmed", since=since,
                                                            until=until), limit=20)["items"]
                if not r["returns"])
    person = Person("staff", operator_id, "Demo operator", "operator", "127.0.0.1")
    lib.cancel_receipt(item["store_id"], item["receipt_id"],
                       caller=Caller(name=f"staff:{operator_id}", admin=True, person=person))
    return f"{item['store_id']}/{item['receipt_id']}"


def test_an_auditor_filters_the_log_opens_a_diff_and_downloads_the_csv(open_page) -> None:
    b = open_page("auditor")
    operator = b.site.lib.staff_by_login("operator")["staff_id"]
    cancelled = cancel_a_demo_receipt(b.site.lib, operator)
    b.visit("/console/audit", "audit-log")
    assert b.page.locator("[data-testid=audit-entry]").first.get_attribute("data-action") == \
        "cancel_receipt"  # made after the auditor signed in: the newest entry
    b.page.select_option("select[name=action]", "cancel_receipt")
    b.page.click("[data-testid=audit-filter]")
    b.measure("audit-cancels")
    entries = b.page.locator("[data-testid=audit-entry]")
    assert {entries.nth(i).get_attribute("data-action") for i in range(entries.count())} == \
        {"cancel_receipt"}
    newest = entries.first
    assert cancelled in newest.locator(":scope > summary").inner_text()
    newest.locator(":scope > summary").click()
    diff = newest.locator("[data-testid=audit-diff] tbody tr", has_text="status")
    assert diff.locator("td").all_inner_texts() == ["status", "confirmed", "cancelled"]
    b.screenshot("audit-diff-open")
    with b.page.expect_download() as waiting:
        b.page.click("[data-testid=audit-csv]")
    download = waiting.value
    assert download.suggested_filename.startswith("audit-")
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["action"] for r in rows} == {"cancel_receipt"}
    assert rows[0]["object_id"] == cancelled and rows[0]["actor_id"] == operator


def test_an_admin_creates_an_account_and_the_new_person_signs_in(open_page) -> None:
    b = open_page("admin")
    login = f"cashier-{secrets.token_hex(3)}"
    password = "a long enough phrase 42"
    b.visit("/console/staff", "staff")
    b.page.fill("[data-testid=create-form] input[name=login]", login)
    b.page.fill("[data-testid=create-form] input[name=display_name]", "Irina Cashier")
    b.page.select_option("[data-testid=create-form] select[name=role]", "operator")
    b.page.fill("[data-testid=create-form] input[name=password]", password)
    b.page.click("[data-testid=create-submit]")
    b.measure("staff-created")
    assert b.page.locator(f"tr[data-login='{login}']").count() == 1
    assert "The account is created" in b.page.locator("[data-testid=done]").inner_text()
    mine = b.page.locator("tr[data-login='admin']")
    assert mine.locator("[data-testid=active-form], [data-testid=role-form]").count() == 0

    newcomer = open_page()
    b.site.passwords[login] = password
    newcomer.sign_in(login)
    newcomer.measure("newcomer-home")
    assert newcomer.page.locator("header .who").inner_text() == "Irina Cashier · operator"
    newcomer.visit("/console/receipts", "newcomer-receipts")
    newcomer.visit("/console/staff", "newcomer-no-staff", expect_status=403)


def test_the_audit_log_and_staff_on_a_phone_in_russian(open_page) -> None:
    b = open_page("admin", width=375, height=812, language="ru")
    b.visit("/console/audit", "audit-375-ru")
    assert b.page.locator("h1").inner_text() == "Журнал аудита"
    b.page.locator("[data-testid=audit-entry] > summary").first.click()
    b.screenshot("audit-375-ru-open")
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
    b.visit("/console/staff", "staff-375-ru")
    assert b.page.locator("h1").inner_text() == "Учётные записи сотрудников"
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
