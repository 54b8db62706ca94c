"""What several console pages read the same way: the posted form, a filter form's query
fields, and the store list for a picker."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from kopilka.app.library import Kopilka

STORE_PAGES = 20  # of 100 stores each


async def form_of(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_of)]


def query_fields(request: Request, names: tuple[str, ...] | list[str],
                 limit: int) -> dict[str, str]:
    """The named query parameters, trimmed and cut to `limit` characters ("" when absent)."""
    return {name: (request.query_params.get(name) or "").strip()[:limit] for name in names}


def stores(lib: Kopilka) -> list[dict[str, str]]:
    """Every store (id and name), by name."""
    found: list[dict[str, str]] = []
    cursor = None
    for _ in range(STORE_PAGES):
        page = lib.partners(limit=100, cursor=cursor)
        found += [{"store_id": s["store_id"], "name": s["name"]}
                  for p in page["items"] for s in p["stores"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return sorted(found, key=lambda s: (s["name"].lower(), s["store_id"]))
