"""The program editor's small form: the fields people change most, read from and written
into the same document the YAML editor holds (name, the base earn percent, the discount
percent, the share of a receipt payable with points, the tiers' names, thresholds and
discounts). Fields the document does not have (a ladder instead of a percent, no tiers) are
not offered."""

from __future__ import annotations

import copy
from typing import Any

import yaml

# field name -> the path of its value in the document (for errors shown at the field)
SCALARS = {
    "f_name": ("name",),
    "f_earn_percent": ("earn", "0", "percent"),
    "f_discount_percent": ("discount", "percent"),
    "f_burn_share": ("burn", "max_share_percent"),
}
MAX_LADDER_FIELDS = 10
TIER_PARTS = ("name", "threshold", "discount_percent")


def load(text: str) -> dict[str, Any] | None:
    """The document as data, or None if the text is not a YAML mapping (the editor then
    shows its errors; the small form waits until it parses)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def _at(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for part in path:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def scalar_paths(document: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The small form's single-value fields of this document: the fixed ones, and the
    percent of each step when the first earn rule is a ladder."""
    paths = dict(SCALARS)
    ladder = _at(document, ("earn", "0", "ladder"))
    for index, _step in enumerate(ladder[:MAX_LADDER_FIELDS] if isinstance(ladder, list) else []):
        paths[f"f_earn_step_{index}"] = ("earn", "0", "ladder", str(index), "percent")
    return paths


def fields_of(document: dict[str, Any] | None) -> dict[str, Any]:
    """The small form's fields and their values (only those the document has)."""
    if document is None:
        return {"scalars": {}, "tiers": []}
    scalars = {}
    for name, path in scalar_paths(document).items():
        value = _at(document, path)
        if value is not None and not isinstance(value, dict | list):
            step = _at(document, path[:-1]) if "ladder" in path else None
            scalars[name] = {"value": str(value), "path": ".".join(path),
                             "from": step.get("from") if isinstance(step, dict) else None}
    levels = _at(document, ("tiers", "levels"))
    tiers = []
    for index, level in enumerate(levels if isinstance(levels, list) else []):
        if isinstance(level, dict):
            tiers.append({"index": index, "code": str(level.get("code", "")),
                          **{part: "" if level.get(part) is None else str(level[part])
                             for part in TIER_PARTS}})
    return {"scalars": scalars, "tiers": tiers,
            "measure": _at(document, ("tiers", "measure"))}


def _typed(value: str, *, integer: bool) -> Any:
    value = value.strip()
    if integer and value.lstrip("-").isdigit():
        return int(value)
    return value


def apply(document: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """A copy of the document with the small form's values written in (what the form did
    not show stays as it is)."""
    changed = copy.deepcopy(document)
    for name, path in scalar_paths(changed).items():
        if name not in form or _at(changed, path) is None:
            continue
        parent = _at(changed, path[:-1])
        key: Any = int(path[-1]) if isinstance(parent, list) else path[-1]
        parent[key] = form[name].strip()
    levels = _at(changed, ("tiers", "levels"))
    counts = _at(changed, ("tiers", "measure")) != "spend"  # thresholds are integers then
    for index, level in enumerate(levels if isinstance(levels, list) else []):
        for part in TIER_PARTS:
            key = f"f_tier_{index}_{part}"
            if key not in form or not isinstance(level, dict):
                continue
            value = form[key].strip()
            if part == "discount_percent" and not value:
                level.pop(part, None)
            else:
                level[part] = _typed(value, integer=counts and part == "threshold")
    return changed
