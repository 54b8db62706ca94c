"""A readable difference between the before and after of an audit entry.

`before` is the state the change read first (e.g. `{"status": "confirmed"}`); `after` is
`{"request": ..., "result": ...}`. The difference compares `before` with the parts of the
result that have the same top-level keys, path by path (`lines.0.quantity`), so a cancel
reads "status: confirmed -> cancelled" rather than a wall of JSON. What was asked (the
request) is listed on its own. Everything is bounded: an entry may hold a whole program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

MAX_ROWS = 60
VALUE_MAX = 160
RAW_MAX = 6000
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: str | None  # None: the key did not exist
    new: str | None


@dataclass
class EntryDiff:
    changes: list[Change] = field(default_factory=list)
    request: list[tuple[str, str]] = field(default_factory=list)
    hidden: int = 0  # rows left out to stay bounded
    raw_before: str = ""
    raw_after: str = ""

    @property
    def empty(self) -> bool:
        return not self.changes and not self.request


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Scalars at dotted paths; an empty dict or list is a value of its own."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix: value}


def shown(value: Any) -> str:
    """A value as a person reads it: strings bare, the rest as JSON, long ones cut."""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX - 1] + "…"


def _raw(value: Any) -> str:
    if value is None:
        return ""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()
    return text if len(text) <= RAW_MAX else text[:RAW_MAX - 1] + "…"


def _split(after: Any) -> tuple[Any, Any]:
    """(request, result) of a stored `after`."""
    if isinstance(after, dict) and set(after) == {"request", "result"}:
        return after["request"], after["result"]
    return None, after


def changes(before: Any, result: Any) -> list[Change]:
    """Paths whose value differs between `before` and `result`, limited to the top-level
    keys `before` has and `result` also reports (a result has many keys of its own)."""
    if before is None:
        return []
    old, new = flatten(before), flatten(result)
    if isinstance(before, dict) and isinstance(result, dict):
        roots = set(before) & set(result)
        paths = sorted(p for p in old.keys() | new.keys() if p.split(".")[0] in roots)
    else:
        paths = sorted(old.keys() | new.keys())
    found = []
    for path in paths:
        was, now = old.get(path, _MISSING), new.get(path, _MISSING)
        if was != now:
            found.append(Change(path, None if was is _MISSING else shown(was),
                                None if now is _MISSING else shown(now)))
    return found


def entry_diff(entry: dict[str, Any]) -> EntryDiff:
    request, result = _split(entry.get("after"))
    found = changes(entry.get("before"), result)
    asked = [(path, shown(value)) for path, value in sorted(flatten(request).items())] \
        if request not in (None, {}, []) else []
    hidden = max(len(found) - MAX_ROWS, 0) + max(len(asked) - MAX_ROWS, 0)
    return EntryDiff(found[:MAX_ROWS], asked[:MAX_ROWS], hidden,
                     _raw(entry.get("before")), _raw(entry.get("after")))
