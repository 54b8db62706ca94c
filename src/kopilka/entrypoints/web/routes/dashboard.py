"""The dashboard (issue 5 item 2): members, sales, points and liability over a period of days,
for all stores or one, as figures, charts and the charts' numbers as tables.

The period is a preset (`?period=30d`, relative to today in the console's time zone) or two
days typed in the form (`?from=YYYY-MM-DD&to=YYYY-MM-DD`); neither: the last 30 days. A
period the library refuses (start after end, over 366 days), a date that is not one, or an
unknown store shows the page again with the error and a 4xx status. The figures themselves
are `Kopilka.dashboard`'s (definitions: `app.analytics`). DASHBOARD_VIEW only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from kopilka.app import analytics
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.staff import Permission
from kopilka.entrypoints.web import charts, i18n
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import DISPLAY_TZ, language_of, render
from kopilka.entrypoints.web.routes.common import query_fields, stores
from kopilka.entrypoints.web.routes.period_filter import day
from kopilka.entrypoints.web.security import Lib, StaffContext, permitted

router = APIRouter()
Viewer = Annotated[StaffContext, permitted(Permission.DASHBOARD_VIEW)]
PRESETS = {"7d": N_("Last 7 days"), "30d": N_("Last 30 days"), "month": N_("This month"),
           "last_month": N_("Last month"), "90d": N_("Last 90 days"), "year": N_("Last year")}
DEFAULT_PRESET = "30d"
FIELD_MAX = 100
ERRORS = {
    "invalid_date": N_("A date is written YYYY-MM-DD (for example 2026-03-31)."),
    "date_out_of_range": N_("Dates must be between the years 2000 and 2999."),
    "missing_date": N_("Give both the first and the last day of the period."),
    "unknown_preset": N_("There is no such period preset."),
    "invalid_period": N_("The period must not end before it starts."),
    "period_too_long": N_("The period is too long: at most 366 days."),
    "store_not_found": N_("There is no such store."),
}
REASONS = {
    analytics.NO_NON_MEMBER_RECEIPTS: N_(
        "Unknown: the tills send only members' receipts, so sales without a card are not "
        "recorded."),
    "no net sales in the period": N_("No net sales in the period."),
    analytics.EXPIRY_HAS_NO_STORE: N_("Expiry burns members' points, not a store's sales: "
                                      "it belongs to no store."),
}


@dataclass(frozen=True)
class Choice:
    """What the reader asked for: the days, the preset they are (if any) and the store."""

    start: date
    end: date
    preset: str | None
    store_id: str | None


def preset_days(name: str, today: date) -> tuple[date, date]:
    """The first and last day of a preset period ending today (last month: the whole one)."""
    if name == "month":
        return today.replace(day=1), today
    if name == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if name == "year":  # the same day a year ago is left out: 365 days, or 366 over 29 Feb
        try:
            return today.replace(year=today.year - 1) + timedelta(days=1), today
        except ValueError:  # today is 29 February
            return today.replace(year=today.year - 1, day=28) + timedelta(days=1), today
    days = {"7d": 7, "30d": 30, "90d": 90}[name]
    return today - timedelta(days=days - 1), today


def choose(params: dict[str, str], today: date) -> Choice:
    """The period and store from the query; InvalidInput for what cannot be a period (the
    library checks the order and the length)."""
    store_id = params["store"] or None
    if params["period"]:
        if params["period"] not in PRESETS:
            raise InvalidInput(f"unknown preset {params['period']!r}", code="unknown_preset")
        start, end = preset_days(params["period"], today)
    elif params["from"] or params["to"]:
        if not (params["from"] and params["to"]):
            raise InvalidInput("both days of the period are needed", code="missing_date")
        start, end = day(params["from"], "from"), day(params["to"], "to")
    else:
        start, end = preset_days(DEFAULT_PRESET, today)
    preset = next((name for name in PRESETS if preset_days(name, today) == (start, end)), None)
    return Choice(start, end, preset, store_id)


def bucket_label(language: str) -> charts.BucketLabel:
    """'24 Nov' for a day, '17 Nov – 23 Nov' for a week, in the reader's language."""
    def label(first: date, last: date) -> str:
        one = format_date(first, format="d MMM", locale=language)
        return one if first == last else \
            f"{one} – {format_date(last, format='d MMM', locale=language)}"
    return label


def _chart_specs(request: Request, found: dict[str, Any]) -> dict[str, Markup]:
    language = language_of(request)
    currency = "₽" if found["money_currency"] == "RUB" and language == "ru" \
        else found["money_currency"]
    specs = charts.dashboard_charts(found["series"], currency, i18n.gettext_for(language),
                                    bucket_label(language))
    return {spec_id: Markup(charts.spec_json(spec)) for spec_id, spec in specs.items()}


@router.get("/dashboard")
def index(request: Request, who: Viewer, lib: Lib) -> Response:
    params = query_fields(request, ("period", "from", "to", "store"), FIELD_MAX)
    today = lib.clock.now().astimezone(DISPLAY_TZ).date()
    context: dict[str, Any] = {"params": params, "presets": PRESETS, "stores": stores(lib),
                               "reasons": REASONS, "today": today, "choice": None,
                               "d": None, "specs": {}, "error": None}
    try:
        choice = choose(params, today)
        context["choice"] = choice
        found = lib.dashboard(choice.start, choice.end, choice.store_id)
    except DomainError as error:
        context["error"] = ERRORS.get(error.code, N_("This period cannot be shown."))
        return render(request, "console/dashboard.html", context, status=error.status)
    context["d"] = found
    context["specs"] = _chart_specs(request, found)
    context["store_name"] = next((s["name"] for s in context["stores"]
                                  if s["store_id"] == choice.store_id), None)
    return render(request, "console/dashboard.html", context)
