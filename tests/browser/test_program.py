"""The program section in the browser: a marketer edits the program (an error shown at its
line, then fixed and scheduled), previews a receipt built in the form; the pages at 375 px
and in Russian."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from kopilka.adapters.sql.tables import members
from kopilka.entrypoints.web.routes.document_editor import local_minute


def _a_member_phone(lib) -> str:  # noqa: ANN001
    with lib.db.engine.connect() as conn:
        return conn.execute(sa.select(members.c.phone).where(
            members.c.status == "active", members.c.phone.is_not(None))
            .order_by(members.c.member_id).limit(1)).scalar_one()


def test_marketer_fixes_an_error_schedules_a_version_and_previews_a_receipt(open_page) -> None:
    b = open_page("marketer")
    lib = b.site.lib
    in_force = lib.program()["version"]
    versions = len(lib.program_versions())
    b.visit("/console/program", "program")
    assert b.page.locator("[data-testid=in-force] h2").inner_text().startswith(
        f"In force: version {in_force}")
    b.page.click("[data-testid=edit-program]")
    b.measure("program-edit")
    editor = b.page.locator("textarea[name=document]")
    good = editor.input_value()
    assert "max_share_percent: '20'" in good
    bad = good.replace("max_share_percent: '20'", "max_share_percent: '120'")
    line = bad.split("\n").index("  max_share_percent: '120'") + 1
    editor.fill(bad)
    b.page.click("[data-testid=check]")
    b.measure("program-edit-error")
    error = b.page.locator(f"[data-testid=editor-errors] li[data-line='{line}']")
    assert "must be between 0 and 100" in error.inner_text()
    assert b.page.locator(f"[data-testid=bad-line-{line}]").count() == 1
    error.locator("a.goto-line").click()  # puts the cursor on the line
    selected = b.page.evaluate(
        "() => { const t = document.querySelector('textarea[name=document]');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert selected == "  max_share_percent: '120'"
    assert len(lib.program_versions()) == versions  # nothing saved
    editor.fill(good)
    b.page.fill("[data-testid=f_burn_share]", "25")
    b.page.click("[data-testid=apply-fields]")
    b.measure("program-edit-fields")
    assert "max_share_percent: '25'" in editor.input_value()
    later = lib.clock.now() + timedelta(days=60)
    b.page.fill("[data-testid=effective-from]", local_minute(later))
    b.page.click("[data-testid=save]")
    b.measure("program-saved")
    assert "/console/program?saved=" in b.page.url
    assert len(lib.program_versions()) == versions + 1
    assert lib.program()["version"] == in_force  # scheduled, not yet in force
    assert b.page.locator("[data-testid=scheduled]").count() == 1

    b.visit("/console/program/preview", "program-preview-form")
    row = b.page.locator("tr.line-row").first
    row.locator("input[name=sku]").fill("COF-001")
    row.locator("input[name=category]").fill("coffee")
    row.locator("input[name=price]").fill("250.00")
    row.locator("input[name=quantity]").fill("2")
    b.page.fill("[data-testid=member]", _a_member_phone(lib))
    b.page.click("[data-add-line]")
    assert b.page.locator("tr.line-row").count() == 5
    b.page.click("[data-testid=calculate]")
    b.measure("program-preview")
    result = b.page.locator("[data-testid=preview-result]")
    assert "500.00" in result.locator("[data-testid=total-payable]").inner_text()
    assert int(result.locator("[data-testid=points-earned]").inner_text()) > 0
    assert b.page.locator("[data-testid=effects] tr[data-rule=base]").count() == 1


def test_the_program_pages_at_375_px_in_russian(open_page) -> None:
    b = open_page("admin", width=375, height=812, language="ru")
    b.visit("/console/program", "program-375-ru")
    assert b.page.locator("h1").inner_text() == "Программа"
    width = b.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide"
    b.visit("/console/program/edit", "program-edit-375-ru")
    assert b.page.locator("[data-testid=save]").inner_text() == "Сохранить новую версию"
    assert b.page.evaluate("() => document.documentElement.scrollWidth") <= 375
    b.visit("/console/program/preview", "program-preview-375-ru")
    assert b.page.evaluate("() => document.documentElement.scrollWidth") <= 375
