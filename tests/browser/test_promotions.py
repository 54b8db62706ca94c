"""Promotions in the browser: a marketer creates a promotion, pauses it, generates a batch of
codes and downloads them as CSV; the list at 375 px and in Russian."""

from __future__ import annotations

import csv
import io
import uuid

from kopilka.entrypoints.web.routes.promotions import NEW_PROMOTION


def test_marketer_creates_pauses_and_hands_out_codes(open_page) -> None:
    b = open_page("marketer")
    pid = f"browser-{uuid.uuid4().hex[:8]}"
    b.visit("/console/promotions", "promotions")
    b.page.click("[data-testid=new-promotion]")
    b.measure("promotion-new")
    text = NEW_PROMOTION.replace("id: autumn-coffee", f"id: {pid}") \
        .replace("starts_at: '2026-09-01T00:00:00+03:00'\n", "")
    b.page.fill("textarea[name=document]", text.replace("percent: '10'", "percent: 10.5"))
    b.page.check("[data-testid=status-active]")
    b.page.click("[data-testid=save]")
    b.measure("promotion-new-error")
    assert "floats are inexact" in b.page.locator("[data-testid=editor-errors]").inner_text()
    b.page.fill("textarea[name=document]", text)
    b.page.click("[data-testid=save]")
    b.measure("promotion-detail")
    assert b.page.url.endswith(f"/console/promotions/{pid}?saved=1")
    assert b.site.lib.promotion(pid)["status"] == "active"
    b.page.once("dialog", lambda dialog: dialog.accept())
    b.page.click("[data-testid=pause]")
    b.measure("promotion-paused")
    assert b.site.lib.promotion(pid)["status"] == "paused"
    assert b.page.locator("[data-testid=resume]").count() == 1
    b.page.fill("input[name=count]", "30")
    b.page.fill("input[name=prefix]", "BRW-")
    b.page.click("[data-testid=generate]")
    b.measure("promotion-codes")
    assert b.page.locator("[data-testid=new-batch]").count() == 1
    with b.page.expect_download() as info:
        b.page.click("[data-testid=new-batch] [data-testid=download-batch]")
    download = info.value
    assert download.suggested_filename.startswith(pid) and download.suggested_filename.endswith(
        ".csv")
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert len(rows) == 30 and all(r["code"].startswith("BRW-") for r in rows)
    b.visit("/console/promotions?status=paused", "promotions-paused")
    assert b.page.locator(f"tr[data-promotion='{pid}']").count() == 1


def test_the_promotions_list_at_375_px_in_russian(open_page) -> None:
    b = open_page("operator", width=375, height=812, language="ru")
    b.visit("/console/promotions", "promotions-375-ru")
    assert b.page.locator("h1").inner_text() == "Акции"
    assert b.page.locator("[data-testid=new-promotion]").count() == 0  # operators only read
    assert b.page.evaluate("() => document.documentElement.scrollWidth") <= 375
