"""Promotion documents as YAML text (the console's editor), with errors at their lines.

The promotion schema validates decoded JSON; here the text is read the way the program
document is (bounded size and depth, duplicate keys refused) so that every problem can carry
the YAML line of its `loc`, like the program editor's.
"""

from __future__ import annotations

from typing import Any

import yaml

from kopilka.app.program_document import _line, _load  # the program document's YAML reader
from kopilka.app.promotion_admin import parse_and_render
from kopilka.domain.errors import InvalidInput

# What a top-level key left out of an edited document means: the schema's default. An update
# merges top-level keys into the stored document, so a removed key must be sent explicitly.
REMOVED_KEY_DEFAULTS: dict[str, Any] = {
    "priority": 0, "exclusivity_group": None, "combinable_with_points": True,
    "stackable": True, "requires_code": False, "starts_at": None, "ends_at": None,
    "control_share_percent": "0", "conditions": {}, "limits": {},
}


def promotion_yaml(document: dict[str, Any]) -> str:
    """A stored (JSON-ready) promotion document as YAML, in the document's own key order."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def parse_promotion_yaml(text: str) -> dict[str, Any]:
    """Validate YAML text as a promotion; the document as it will be stored. Refused with
    `InvalidInput(code="invalid_promotion", errors=[{loc, msg, line}])`."""
    try:
        data, root = _load(text, "application/yaml")
    except InvalidInput as exc:
        raise InvalidInput(exc.detail.replace("program document", "promotion"),
                           code="invalid_promotion", errors=exc.extra.get("errors", [])) from None
    try:
        return parse_and_render(data)
    except InvalidInput as exc:
        errors = []
        for error in exc.extra.get("errors", []):
            line = _line(root, tuple(error["loc"]))
            errors.append({**error, **({"line": line} if line is not None else {})})
        raise InvalidInput(exc.detail, code=exc.code, errors=errors) from None


def update_patch(stored: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The patch that makes the stored document the edited one (keys removed included)."""
    patch = {k: v for k, v in edited.items() if k != "id"}
    for key in stored:
        if key not in edited and key in REMOVED_KEY_DEFAULTS:
            patch[key] = REMOVED_KEY_DEFAULTS[key]
    return patch
