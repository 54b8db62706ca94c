"""The dashboard in the browser on the demo year: an accountant opens it (the charts are
drawn by Chart.js, the figures are the library's), switches to the last year and to one
store, each in under a second; at 375 px in Russian nothing scrolls sideways; an operator is
refused."""

from __future__ import annotations

from datetime import date, timedelta

from kopilka.entrypoints.web.rendering import DISPLAY_TZ
from kopilka.entrypoints.web.routes.dashboard import preset_days

CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(
    c => { const chart = window.Chart.getChart(c);
           return chart ? chart.data.datasets.length : 0; })"""


def kpi(page, name: str) -> str:  # noqa: ANN001
    return page.locator(f"[data-kpi={name}]").first.get_attribute("data-value")


def today(lib) -> date:  # noqa: ANN001
    return lib.clock.now().astimezone(DISPLAY_TZ).date()


def test_accountant_reads_the_dashboard_for_30_days_a_year_and_one_store(open_page) -> None:
    b = open_page("accountant")
    lib = b.site.lib
    b.visit("/console/dashboard", "dashboard")
    assert b.page.evaluate(CHARTS_DRAWN) == [2, 3, 2]  # sales, points, members
    end = today(lib)
    d = lib.dashboard(end - timedelta(days=29), end)
    assert d["members"]["enrolled"] >= 300 and d["sales"]["members"]["receipts"] > 0
    assert kpi(b.page, "members") == str(d["members"]["enrolled"])
    assert kpi(b.page, "net_sales") == str(d["sales"]["members"]["net_sales_kopecks"])
    assert kpi(b.page, "points_earned") == str(d["points"]["earned"])
    assert b.page.locator("[data-testid=preset-30d]").get_attribute("aria-current") == "true"
    b.page.locator("[data-testid=table-sales] summary").click()
    assert b.page.locator("[data-testid=table-sales] tbody tr").count() == 30

    b.page.click("[data-testid=preset-year]")
    b.measure("dashboard-year")
    assert "period=year" in b.page.url
    assert b.page.evaluate(CHARTS_DRAWN) == [2, 3, 2]
    year = lib.dashboard(*preset_days("year", end))
    assert year["series"]["bucket"] == "week"
    assert kpi(b.page, "net_sales") == str(year["sales"]["members"]["net_sales_kopecks"])
    assert kpi(b.page, "liability") == str(year["liability"]["currencies"][0]["points"])
    labels = b.page.evaluate("() => window.Chart.getChart("
                             "document.querySelector('canvas[data-chart=chart-sales]'))"
                             ".data.labels.length")
    assert labels == len(year["series"]["rows"])

    store = b.page.locator("[data-testid=store] option").nth(1)
    store_id, store_name = store.get_attribute("value"), store.inner_text()
    with b.page.expect_navigation():
        b.page.select_option("[data-testid=store]", store_id)  # shown at once (dashboard.js)
    b.measure("dashboard-store")
    assert f"store={store_id}" in b.page.url
    assert store_name in b.page.locator("[data-testid=dashboard-period]").inner_text()
    assert b.page.locator("[data-testid=preset-year]").get_attribute("aria-current") == "true"
    assert b.page.evaluate(CHARTS_DRAWN) == [2, 2, 2]  # expiry belongs to no store
    one = lib.dashboard(*preset_days("year", end), store_id)
    assert kpi(b.page, "net_sales") == str(one["sales"]["members"]["net_sales_kopecks"])
    assert kpi(b.page, "points_expired") == ""
    assert int(kpi(b.page, "receipts")) < year["sales"]["members"]["receipts"]


def test_the_dashboard_at_375_px_in_russian(open_page) -> None:
    b = open_page("accountant", width=375, height=812, language="ru")
    b.visit("/console/dashboard", "dashboard-375")
    assert b.page.locator("h1").inner_text() == "Сводка"
    assert b.page.evaluate(CHARTS_DRAWN) == [2, 3, 2]
    assert b.page.evaluate("() => document.documentElement.scrollWidth") <= 375
    b.page.locator("[data-testid=table-sales] summary").click()
    b.screenshot("dashboard-375-table")
    assert b.page.evaluate("() => document.documentElement.scrollWidth") <= 375


def test_an_operator_is_refused_and_bad_days_are_explained(open_page) -> None:
    b = open_page("operator")
    b.visit("/console/dashboard", "dashboard-operator", expect_status=403)
    assert b.page.locator("a[href='/console/dashboard']").count() == 0  # not in the menu
    a = open_page("auditor")
    a.visit("/console/dashboard?from=2026-03-10&to=2026-03-01", "dashboard-bad-period",
            expect_status=422)
    assert a.page.locator("[data-testid=dashboard-error]").inner_text() == \
        "The period must not end before it starts."
