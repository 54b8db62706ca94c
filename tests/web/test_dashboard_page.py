"""The dashboard page on both databases: who may see it, the figures equal the library's,
presets and custom periods, one store, the chart specs on the page, bad periods refused with
the error shown (4xx, never 500)."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kopilka.app.program_document import parse_program
from kopilka.bootstrap import DEFAULT_PARTNER
from kopilka.entrypoints.web.charts import rubles
from tests.integration.test_analytics import PROGRAM, Till
from tests.web.conftest import Web

MSK = timezone(timedelta(hours=3))
S1, S2 = "msk-001", "msk-002"
TODAY = date(2026, 3, 10)
KPI = re.compile(r'data-kpi="(\w+)" data-value="([^"]*)"')


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=MSK)


@pytest.fixture
def shop(web: Web) -> Web:
    """Two stores; A (S1) and B (S2) buy, a receipt without a member at S1, a payment with
    points and a return; the clock ends on 10 March 2026, 12:00 Moscow time."""
    lib, till = web.lib, Till(web.lib, web.clock)
    web.clock.at = at(1, 10)
    lib.add_store(S1, DEFAULT_PARTNER, "Тверская")
    lib.add_store(S2, DEFAULT_PARTNER, "Европейский")
    lib.apply_program(parse_program(PROGRAM))
    a, b = till.enrol(at(2), S1), till.enrol(at(3), S2)
    till.buy(at(5), "r1", a, "600.00", "400.00")
    till.buy(at(6), "r2", b, "500.00", store_id=S2)
    till.buy(at(7), "r3", None, "400.00")
    till.buy(at(8), "r4", a, "300.00", redeem=50)
    web.clock.at = at(9)
    lib.return_receipt(S1, "r1", "ret1", [("2", Decimal(1))])
    web.clock.at = at(10)
    return web


def kpis(page: str) -> dict[str, str]:
    return dict(KPI.findall(page))


def expected_kpis(d: dict) -> dict[str, str]:
    s, others = d["sales"]["members"], d["sales"]["non_members"]

    def text(value: object) -> str:
        return "" if value is None else str(value)
    return {
        "members": text(d["members"]["enrolled"]), "active_members": text(d["members"]["active"]),
        "new_members": text(d["members"]["new"]), "net_sales": text(s["net_sales_kopecks"]),
        "receipts": text(s["receipts"]), "average_check": text(s["average_check_kopecks"]),
        "average_check_non_members": text(others and others["average_check_kopecks"]),
        "members_share": text(d["sales"]["members_share_percent"]),
        "points_earned": text(d["points"]["earned"]), "points_spent": text(d["points"]["spent"]),
        "points_expired": text(d["points"]["expired"]),
        "liability": text(d["liability"]["currencies"][0]["points"]),
        "liability_value": text(d["liability"]["value_kopecks"])}


def form_days(page: str) -> tuple[str, str]:
    first = re.search(r'name="from" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    last = re.search(r'name="to" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    return first, last


def spec(page: str, spec_id: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{spec_id}">(.*?)</script>', page,
                      re.S)
    assert found, spec_id
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", ["admin", "marketer", "accountant", "auditor"])
def test_roles_with_the_dashboard_permission_see_it(shop: Web, role: str) -> None:
    page = shop.client(role).get("/console/dashboard")
    assert page.status_code == 200
    assert '<h1>Dashboard</h1>' in page.text and 'data-kpi="net_sales"' in page.text


def test_an_operator_may_not_see_the_dashboard(shop: Web) -> None:
    page = shop.client("operator").get("/console/dashboard")
    assert page.status_code == 403
    assert 'data-kpi=' not in page.text and "Your role may not do this." in page.text


def test_signed_out_readers_are_sent_to_sign_in(shop: Web) -> None:
    page = shop.client().get("/console/dashboard")
    assert (page.status_code, page.headers["location"]) == (
        303, "/console/sign-in?next=/console/dashboard")


def test_the_default_is_the_last_30_days_of_all_stores_with_the_library_figures(
        shop: Web) -> None:
    page = shop.client("accountant").get("/console/dashboard").text
    d = shop.lib.dashboard(date(2026, 2, 9), TODAY)
    assert form_days(page) == ("2026-02-09", "2026-03-10")
    assert kpis(page) == expected_kpis(d)
    # by hand: A and B enrolled and bought; paid r1 1000 + r2 500 + r4 250 (50 points), 400
    # of r1 returned; r3 (no member) 400; earned 100 + 50 + 25 (on what r4 paid), 40 taken
    # back; owed: A 100 - 50 + 25 - 40, B 50
    assert kpis(page) == {
        "members": "2", "active_members": "2", "new_members": "2", "net_sales": "135000",
        "receipts": "3", "average_check": "58333", "average_check_non_members": "40000",
        "members_share": "77.14", "points_earned": "175", "points_spent": "50",
        "points_expired": "0", "liability": "85", "liability_value": "8500"}
    assert "1,350.00 RUB" in page and "583.33 RUB" in page
    assert "non-members: 400.00 RUB" in page and "77.14 %" in page
    assert 'aria-current="true"' in page and 'data-testid="preset-30d"' in page
    current = re.search(r'data-testid="preset-(\w+)" aria-current="true"', page)
    assert current and current.group(1) == "30d"
    assert "Charted by day." in page


def test_one_store_shows_its_figures_and_why_some_are_missing(shop: Web) -> None:
    page = html.unescape(shop.client("marketer").get("/console/dashboard", params={
        "period": "month", "store": S2}).text)
    d = shop.lib.dashboard(date(2026, 3, 1), TODAY, S2)
    assert kpis(page) == expected_kpis(d)
    assert kpis(page)["net_sales"] == "50000" and kpis(page)["points_expired"] == ""
    # S2 never sent a receipt without a member; expiry belongs to no store
    assert "non-members: Unknown: the tills send only members' receipts" in page
    assert "it belongs to no store." in page
    assert f'<option value="{S2}" selected>Европейский</option>' in page
    assert "store Европейский" in page
    # the preset links keep the store
    assert f'href="/console/dashboard?period=year&store={S2}"' in page
    points = spec(page, "chart-points")
    assert [s["label"] for s in points["data"]["datasets"]] == ["Points earned", "Points spent"]


PRESET_DAYS = {"7d": ("2026-03-04", "2026-03-10"), "30d": ("2026-02-09", "2026-03-10"),
               "month": ("2026-03-01", "2026-03-10"), "last_month": ("2026-02-01", "2026-02-28"),
               "90d": ("2025-12-11", "2026-03-10"), "year": ("2025-03-11", "2026-03-10")}


def test_presets_end_today_in_moscow(shop: Web) -> None:
    client = shop.client("auditor")
    for preset, (first, last) in PRESET_DAYS.items():
        page = client.get("/console/dashboard", params={"period": preset}).text
        assert form_days(page) == (first, last), preset
        d = shop.lib.dashboard(date.fromisoformat(first), date.fromisoformat(last))
        assert kpis(page) == expected_kpis(d), preset
        assert re.search(rf'data-testid="preset-{preset}" aria-current="true"', page), preset


def test_a_year_is_charted_by_week_and_the_charts_carry_the_series(shop: Web) -> None:
    page = shop.client("admin").get("/console/dashboard", params={"period": "year"}).text
    rows = shop.lib.dashboard(date(2025, 3, 11), TODAY)["series"]["rows"]
    assert "Charted by week (Monday to Sunday)." in page
    sales = spec(page, "chart-sales")
    assert len(sales["data"]["labels"]) == len(rows) == 53
    assert sales["data"]["labels"][-1] == "9 Mar – 10 Mar"  # the last week, clipped to today
    net, receipts = sales["data"]["datasets"]
    assert net["data"] == [float(rubles(r["net_sales_kopecks"])) for r in rows]
    assert receipts["data"] == [r["receipts"] for r in rows]
    members = spec(page, "chart-members")
    assert members["data"]["datasets"][0]["data"] == [r["active_members"] for r in rows]
    # the tables under the charts: one row per week
    table = page.split('data-testid="table-sales"')[1].split("</details>")[0]
    assert table.count("<tr><td>") == 53


def test_typed_days_equal_to_a_preset_show_it_as_chosen(shop: Web) -> None:
    page = shop.client("admin").get("/console/dashboard", params={
        "from": "2026-03-04", "to": "2026-03-10", "store": ""}).text
    assert re.search(r'data-testid="preset-7d" aria-current="true"', page)
    other = shop.client("admin").get("/console/dashboard", params={
        "from": "2026-03-05", "to": "2026-03-06"}).text
    assert 'aria-current="true"' not in other.split("<main")[1]
    assert kpis(other)["receipts"] == "2"  # r1 on the 5th, r2 on the 6th


BAD_INPUT = [
    ({"from": "2026-03-10", "to": "2026-03-01"}, 422, "must not end before it starts"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, 422, "at most 366 days"),
    ({"from": "2026-13-01", "to": "2026-03-01"}, 422, "A date is written YYYY-MM-DD"),
    ({"from": "yesterday", "to": "2026-03-01"}, 422, "A date is written YYYY-MM-DD"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, 422, "between the years 2000 and 2999"),
    ({"from": "9999-12-30", "to": "9999-12-31"}, 422, "between the years 2000 and 2999"),
    ({"from": "2026-03-01"}, 422, "Give both the first and the last day"),
    ({"period": "forever"}, 422, "There is no such period preset."),
    ({"period": "7d", "store": "nowhere"}, 404, "There is no such store."),
]


def test_bad_periods_show_the_error_on_the_page(shop: Web) -> None:
    client = shop.client("accountant")
    for params, status, message in BAD_INPUT:
        page = client.get("/console/dashboard", params=params)
        assert page.status_code == status, params
        assert message in html.unescape(page.text), params
        assert 'data-testid="dashboard-error"' in page.text
        assert 'data-testid="dashboard-filter"' in page.text and "data-kpi=" not in page.text
        assert f'value="{params.get("from", "")}"' in page.text  # what was typed stays


def test_russian_page(shop: Web) -> None:
    client = shop.client("accountant")
    client.headers["Accept-Language"] = "ru"
    page = client.get("/console/dashboard", params={"period": "month", "store": S2}).text
    assert "<h1>Сводка</h1>" in page
    assert "500,00 ₽" in page  # net sales at S2
    assert "Неизвестно" in page  # why there are no non-member figures
    sales = spec(page, "chart-sales")
    assert sales["data"]["labels"][0] == "1 мар."
    assert sales["options"]["scales"]["y"]["title"]["text"] == "Чистые продажи, ₽"


def test_without_a_program_or_receipts_the_page_shows_zeros(web: Web) -> None:
    page = web.client("admin").get("/console/dashboard")
    assert page.status_code == 200
    found = kpis(page.text)
    assert (found["members"], found["net_sales"], found["average_check"]) == ("0", "0", "")
    assert spec(page.text, "chart-points")["data"]["datasets"][0]["data"] == [0] * 30

