"""The YAML editor shared by the program and promotion pages: the text split into numbered
lines, the lines with errors marked, and each error placed at its line and field path.

Validation errors come from `InvalidInput.extra["errors"]`: `{"loc": [...], "msg": ...,
"line": n}` (`line` when the text was YAML and the path was found in it); a syntax error has
no `loc` and names its line in the message, which is read back from there.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from kopilka.domain.errors import DomainError
from kopilka.entrypoints.web.i18n import N_
from kopilka.entrypoints.web.rendering import DISPLAY_TZ

SYNTAX_LINE = re.compile(r"\bline (\d+)")
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"
PAST_GRACE = timedelta(minutes=10)  # "now" typed a few minutes ago still means now


def placed_errors(exc: DomainError, text: str) -> list[dict[str, Any]]:
    """The errors of a refused document, each with its path, line and that line's text."""
    lines = text.split("\n")
    raw = exc.extra.get("errors") or [{"loc": [], "msg": exc.detail}]
    placed = []
    for error in raw:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        line = error.get("line")
        if line is None and not loc:
            found = SYNTAX_LINE.search(str(error.get("msg", "")))
            line = int(found.group(1)) if found else None
        placed.append({"loc": loc, "where": ".".join(loc), "msg": str(error.get("msg", "")),
                       "line": line,
                       "excerpt": lines[line - 1] if line and 0 < line <= len(lines) else None})
    return placed


def editor(text: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the editor template needs: the text, its lines and the lines to highlight."""
    errors = errors or []
    return {"text": text, "lines": text.split("\n"),
            "bad_lines": sorted({e["line"] for e in errors if e.get("line")}),
            "errors": errors}


def errors_at(errors: list[dict[str, Any]], *paths: str) -> list[str]:
    """The messages of the errors about one of `paths` (a field of the quick form)."""
    return [e["msg"] for e in errors if e["where"] in paths]


def local_minute(moment: datetime) -> str:
    """A moment as the value of a datetime-local input (the console's time zone)."""
    return moment.astimezone(DISPLAY_TZ).strftime(LOCAL_MINUTE)


def parse_local_minute(value: str | None, now: datetime) -> datetime:
    """A datetime-local value (console time zone) as an aware moment; empty means now.
    A moment in the past is refused (a version must not rewrite what receipts already got),
    except a few minutes, which mean now."""
    if not value or not value.strip():
        return now
    try:
        moment = datetime.strptime(value.strip()[:16], LOCAL_MINUTE).replace(tzinfo=DISPLAY_TZ)
    except ValueError:
        raise DomainError(N_("Effective from is not a date and time."),
                          code="invalid_effective_from", status=422) from None
    if moment < now - PAST_GRACE:
        raise DomainError(N_("Effective from must not be in the past."),
                          code="effective_from_in_past", status=422)
    return max(moment, now)
