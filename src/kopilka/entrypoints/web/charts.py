"""Chart.js configurations of the dashboard's series, built on the server.

Pure functions: the series of `Kopilka.dashboard` in, plain dicts out (`static/app.js`
draws each one on its `<canvas data-chart="spec-id">`). Labels and dataset names are
translated by the callable passed in; money is charted in whole currency units as `Decimal`
(kopecks / 100, exact) and written to JSON as a number by `spec_json`, so the axis reads
"1 234.5", never kopecks. Every number charted is also on the page as text (the tables
under the charts), so the charts carry no information of their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from kopilka.entrypoints.web.i18n import N_

Translate = Callable[[str], str]
BucketLabel = Callable[[date, date], str]  # (first day, last day) of a bucket -> its label

SALES_CHART = "chart-sales"
POINTS_CHART = "chart-points"
MEMBERS_CHART = "chart-members"
# colour-blind-safe pairs (Okabe-Ito), the same colour for a figure on every chart
COLOURS = {"net_sales": "#0072B2", "receipts": "#E69F00", "earned": "#009E73",
           "spent": "#D55E00", "expired": "#999999", "active": "#CC79A7", "new": "#56B4E9"}


def iso_label(first: date, last: date) -> str:
    """A bucket's label without a language: its day, or its first and last days."""
    return first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"


def _same(text: str) -> str:
    return text


def rubles(kopecks: int) -> Decimal:
    """Kopecks as an exact decimal of the currency unit: 123456 -> Decimal('1234.56')."""
    return Decimal(kopecks).scaleb(-2)


def labels(series: Mapping[str, Any], label: BucketLabel = iso_label) -> list[str]:
    return [label(date.fromisoformat(r["start"]), date.fromisoformat(r["end"]))
            for r in series["rows"]]


def _dataset(name: str, values: list[Any], colour: str, **extra: Any) -> dict[str, Any]:
    return {"label": name, "data": values, "borderColor": colour, "backgroundColor": colour,
            **extra}


def _line(name: str, values: list[Any], colour: str, **extra: Any) -> dict[str, Any]:
    """A line that never overshoots its points (monotone: no dip below zero between two
    zero days)."""
    return _dataset(name, values, colour, cubicInterpolationMode="monotone", pointRadius=2,
                    borderWidth=2, **extra)


def _options(**scales: Any) -> dict[str, Any]:
    return {"interaction": {"mode": "index", "intersect": False},
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"x": {"ticks": {"autoSkip": True, "autoSkipPadding": 16,
                                           "maxRotation": 0}}, **scales}}


def _axis(title: str, *, position: str = "left", integers: bool = False,
          grid: bool = True) -> dict[str, Any]:
    axis: dict[str, Any] = {"type": "linear", "position": position, "beginAtZero": True,
                            "title": {"display": True, "text": title}}
    if integers:
        axis["ticks"] = {"precision": 0}
    if not grid:
        axis["grid"] = {"drawOnChartArea": False}
    return axis


def sales_chart(series: Mapping[str, Any], currency: str, translate: Translate = _same,
                label: BucketLabel = iso_label) -> dict[str, Any]:
    """Members' net sales (money, left axis) and receipts (count, right axis) per bucket."""
    rows = series["rows"]
    net = _line(translate(N_("Net sales")), [rubles(r["net_sales_kopecks"]) for r in rows],
                COLOURS["net_sales"], yAxisID="y")
    receipts = _line(translate(N_("Receipts")), [r["receipts"] for r in rows],
                     COLOURS["receipts"], yAxisID="y1")
    return {"type": "line", "data": {"labels": labels(series, label),
                                     "datasets": [net, receipts]},
            "options": _options(y=_axis(f"{translate(N_('Net sales'))}, {currency}"),
                                y1=_axis(translate(N_("Receipts")), position="right",
                                         integers=True, grid=False))}


def points_chart(series: Mapping[str, Any], translate: Translate = _same,
                 label: BucketLabel = iso_label) -> dict[str, Any]:
    """Points earned, spent and expired per bucket (expired left out for one store, where
    the series has none: expiry belongs to no store)."""
    rows = series["rows"]
    datasets = [
        _dataset(translate(N_("Points earned")), [r["points_earned"] for r in rows],
                 COLOURS["earned"]),
        _dataset(translate(N_("Points spent")), [r["points_spent"] for r in rows],
                 COLOURS["spent"])]
    if not any(r["points_expired"] is None for r in rows):
        datasets.append(_dataset(translate(N_("Points expired")),
                                 [r["points_expired"] for r in rows], COLOURS["expired"]))
    return {"type": "bar", "data": {"labels": labels(series, label), "datasets": datasets},
            "options": _options(y=_axis(translate(N_("Points")), integers=True))}


def members_chart(series: Mapping[str, Any], translate: Translate = _same,
                  label: BucketLabel = iso_label) -> dict[str, Any]:
    """Active (bought) and new (enrolled) members per bucket."""
    rows = series["rows"]
    active = _line(translate(N_("Active members")), [r["active_members"] for r in rows],
                   COLOURS["active"])
    new = _line(translate(N_("New members")), [r["new_members"] for r in rows], COLOURS["new"])
    return {"type": "line", "data": {"labels": labels(series, label),
                                     "datasets": [active, new]},
            "options": _options(y=_axis(translate(N_("Members")), integers=True))}


def dashboard_charts(series: Mapping[str, Any], currency: str, translate: Translate = _same,
                     label: BucketLabel = iso_label) -> dict[str, dict[str, Any]]:
    """Every chart of the dashboard by the id of its JSON script element."""
    return {SALES_CHART: sales_chart(series, currency, translate, label),
            POINTS_CHART: points_chart(series, translate, label),
            MEMBERS_CHART: members_chart(series, translate, label)}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # two decimals: the float's shortest repr is the same digits
    raise TypeError(f"{type(value).__name__} is not JSON")


def spec_json(spec: Mapping[str, Any]) -> str:
    """The spec as JSON that is safe inside <script type="application/json"> (no "</",
    no "<!--"; the HTML parser does not decode entities there, so nothing else is escaped)."""
    text = json.dumps(spec, default=_number, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
