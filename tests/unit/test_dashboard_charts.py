"""The dashboard's chart specs (entrypoints.web.charts) and period presets, without a server:
labels and datasets equal the series, money in exact currency units, empty periods."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from kopilka.domain.errors import InvalidInput
from kopilka.entrypoints.web import charts
from kopilka.entrypoints.web.routes.dashboard import Choice, choose, preset_days


def row(start: str, end: str | None = None, **figures: int | None) -> dict:
    base = {"start": start, "end": end or start, "sales_kopecks": 0, "returns_kopecks": 0,
            "net_sales_kopecks": 0, "receipts": 0, "active_members": 0, "new_members": 0,
            "points_earned": 0, "points_spent": 0, "points_expired": 0}
    return {**base, **figures}


SERIES = {"bucket": "day", "rows": [
    row("2026-03-01", net_sales_kopecks=123_456, receipts=3, active_members=2, new_members=1,
        points_earned=120, points_spent=40, points_expired=5),
    row("2026-03-02", net_sales_kopecks=-50_001, receipts=0, points_earned=7),
    row("2026-03-03", net_sales_kopecks=1, receipts=1, active_members=1, points_spent=3)]}


def datasets(spec: dict) -> dict[str, list]:
    return {d["label"]: d["data"] for d in spec["data"]["datasets"]}


def test_sales_chart_has_net_sales_in_exact_rubles_and_receipts_on_a_second_axis() -> None:
    spec = charts.sales_chart(SERIES, "RUB")
    assert spec["type"] == "line"
    assert spec["data"]["labels"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert datasets(spec) == {"Net sales": [Decimal("1234.56"), Decimal("-500.01"),
                                            Decimal("0.01")],
                              "Receipts": [3, 0, 1]}
    assert [d["yAxisID"] for d in spec["data"]["datasets"]] == ["y", "y1"]
    scales = spec["options"]["scales"]
    assert scales["y"]["title"]["text"] == "Net sales, RUB"
    assert (scales["y1"]["position"], scales["y1"]["ticks"]) == ("right", {"precision": 0})


def test_points_chart_has_earned_spent_and_expired_per_bucket() -> None:
    spec = charts.points_chart(SERIES)
    assert spec["type"] == "bar"
    assert datasets(spec) == {"Points earned": [120, 7, 0], "Points spent": [40, 0, 3],
                              "Points expired": [5, 0, 0]}


def test_points_chart_of_one_store_leaves_expiry_out() -> None:
    store = {"bucket": "day", "rows": [row("2026-03-01", points_earned=9, points_expired=None)]}
    assert list(datasets(charts.points_chart(store))) == ["Points earned", "Points spent"]


def test_members_chart_has_active_and_new_members() -> None:
    assert datasets(charts.members_chart(SERIES)) == {"Active members": [2, 0, 1],
                                                      "New members": [1, 0, 0]}


def test_labels_and_names_are_translated_by_the_callables_given() -> None:
    weekly = {"bucket": "week", "rows": [row("2026-03-02", "2026-03-08", receipts=4)]}
    specs = charts.dashboard_charts(weekly, "₽", translate=str.upper,
                                    label=lambda first, last: f"{first.day}..{last.day}")
    assert set(specs) == {"chart-sales", "chart-points", "chart-members"}
    sales = specs["chart-sales"]
    assert sales["data"]["labels"] == ["2..8"]
    assert [d["label"] for d in sales["data"]["datasets"]] == ["NET SALES", "RECEIPTS"]
    assert sales["options"]["scales"]["y"]["title"]["text"] == "NET SALES, ₽"
    assert charts.labels(weekly) == ["2026-03-02 – 2026-03-08"]


def test_an_empty_period_gives_empty_charts() -> None:
    specs = charts.dashboard_charts({"bucket": "day", "rows": []}, "RUB")
    for spec in specs.values():
        assert spec["data"]["labels"] == []
        assert all(d["data"] == [] for d in spec["data"]["datasets"])
    assert json.loads(charts.spec_json(specs["chart-sales"]))["data"]["labels"] == []


def test_spec_json_writes_money_as_numbers_and_cannot_close_the_script_element() -> None:
    spec = charts.sales_chart({"bucket": "day", "rows": [
        row("2026-03-01", net_sales_kopecks=123_456, receipts=2)]}, "</script><b>&")
    text = charts.spec_json(spec)
    assert "</" not in text and "<b>" not in text and "&" not in text
    assert '"data":[1234.56]' in text
    parsed = json.loads(text)
    assert parsed["options"]["scales"]["y"]["title"]["text"] == "Net sales, </script><b>&"
    assert parsed["data"]["datasets"][0]["data"] == [1234.56]


@pytest.mark.parametrize(("name", "today", "first", "last"), [
    ("7d", date(2026, 3, 10), date(2026, 3, 4), date(2026, 3, 10)),
    ("30d", date(2026, 3, 10), date(2026, 2, 9), date(2026, 3, 10)),
    ("90d", date(2026, 3, 10), date(2025, 12, 11), date(2026, 3, 10)),
    ("month", date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 1)),
    ("last_month", date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),
    ("year", date(2026, 3, 10), date(2025, 3, 11), date(2026, 3, 10)),  # 365 days
    ("year", date(2028, 2, 29), date(2027, 3, 1), date(2028, 2, 29)),  # 366 days
    ("year", date(2028, 3, 1), date(2027, 3, 2), date(2028, 3, 1)),  # 366 days over 29 Feb
])
def test_presets(name: str, today: date, first: date, last: date) -> None:
    assert preset_days(name, today) == (first, last)
    assert (last - first).days + 1 <= 366


def params(**given: str) -> dict[str, str]:
    return {"period": "", "from": "", "to": "", "store": "", **given}


def test_choose_a_preset_typed_days_or_the_default() -> None:
    today = date(2026, 3, 10)
    assert choose(params(), today) == Choice(date(2026, 2, 9), today, "30d", None)
    assert choose(params(period="7d", store="s1", **{"from": "2020-01-01"}), today) == \
        Choice(date(2026, 3, 4), today, "7d", "s1")
    assert choose(params(**{"from": "2026-02-01", "to": "2026-02-28"}), today) == \
        Choice(date(2026, 2, 1), date(2026, 2, 28), "last_month", None)
    assert choose(params(**{"from": "2026-02-02", "to": "2026-02-28"}), today).preset is None
    # the order and the length are the library's to check
    assert choose(params(**{"from": "2026-03-02", "to": "2026-03-01"}), today).start == \
        date(2026, 3, 2)


@pytest.mark.parametrize(("given", "code"), [
    ({"period": "week"}, "unknown_preset"),
    ({"from": "2026-03-01"}, "missing_date"),
    ({"to": "2026-03-01"}, "missing_date"),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "invalid_date"),
    ({"from": "1999-12-31", "to": "2000-01-01"}, "date_out_of_range"),
    ({"from": "2999-12-31", "to": "3000-01-01"}, "date_out_of_range"),
])
def test_choose_refuses_what_is_no_period(given: dict, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        choose(params(**given), date(2026, 3, 10))
    assert refused.value.code == code
