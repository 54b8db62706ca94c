"""Templates: one Jinja2 environment per language (thread-safe: nothing is swapped per
request), filters that format money, points and times the way the reader's language does."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from kopilka.entrypoints.web import i18n

TEMPLATES_DIR = Path(__file__).parent / "templates"
DISPLAY_TZ = ZoneInfo("Europe/Moscow")


def _money(kopecks: int | str | Decimal | None, language: str, currency: str = "RUB") -> str:
    """Kopecks (int) or a decimal string as '1 234,50 ₽' / '1,234.50 RUB'."""
    if kopecks is None or kopecks == "":
        return "—"
    amount = Decimal(kopecks) / 100 if isinstance(kopecks, int) else Decimal(str(kopecks))
    text = format_decimal(amount, format="#,##0.00", locale=language)
    return f"{text} ₽" if currency == "RUB" and language == "ru" else f"{text} {currency}"


def _number(value: Any, language: str) -> str:
    if value is None or value == "":
        return "—"
    return format_decimal(Decimal(str(value)), locale=language)


def _when(value: datetime | date | str | None, language: str, *, with_time: bool = True) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if not with_time:
            return format_date(value.astimezone(DISPLAY_TZ).date(), format="medium",
                               locale=language)
        return format_datetime(value.astimezone(DISPLAY_TZ), format="dd.MM.yyyy HH:mm",
                               locale=language)
    return format_date(value, format="medium", locale=language)


@cache
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = lambda v, currency="RUB": _money(v, language, currency)
    env.filters["number"] = lambda v: _number(v, language)
    env.filters["when"] = lambda v: _when(v, language)
    env.filters["day"] = lambda v: _when(v, language, with_time=False)
    env.globals["language"] = language
    env.globals["languages"] = i18n.LANGUAGES
    return env


def language_of(request: Request) -> str:
    return i18n.choose_language(request.cookies.get(i18n.LANGUAGE_COOKIE),
                                request.headers.get("accept-language"))


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page (or, for an htmx request, whatever fragment the template is)."""
    language = language_of(request)
    base = {"request": request, "path": request.url.path,
            "htmx": request.headers.get("hx-request") == "true"}
    base.update(getattr(request.state, "page", {}))  # who is signed in, csrf token, can()
    base.update(context or {})
    html = environment(language).get_template(template).render(base)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers.setdefault("Content-Language", language)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
