"""Program versions: apply a new document, find the version in force at a time.

Versions are append-only; each has an `effective_from`. A receipt is always evaluated with the
version in force at its `occurred_at`, so late receipts from offline tills get the old rules.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import NotFound
from kopilka.domain.program import Program

_cache: dict[tuple[str, int], Program] = {}  # parsed versions; a stored version never changes


def apply(uow: UnitOfWork, program: Program, *, now: datetime, author: str) -> Program:
    """Store a validated program as the next version; its point currencies are created."""
    from kopilka.app.program_document import program_to_document

    for cur in program.currencies:
        existing = uow.members.currency(cur.code)
        if existing is None:
            uow.members.add_currency(cur)
    document = program_to_document(program)
    version = uow.programs.add(name=program.name, effective_from=program.effective_from,
                               document=document, now=now, author=author)
    return replace(program, version=version)


def _program(row: dict[str, Any], db_key: str) -> Program:
    from kopilka.app.program_document import parse_program

    key = (db_key, row["version"])
    if key not in _cache:
        _cache[key] = replace(parse_program(json.dumps(row["document"])), version=row["version"])
    return _cache[key]


def in_force(uow: UnitOfWork, at: datetime) -> Program:
    number = uow.programs.version_in_force(at)
    if number is None:
        raise NotFound(f"no program version is in force at {at.isoformat()}",
                       code="no_program")
    return version(uow, number)


def in_force_or_none(uow: UnitOfWork, at: datetime) -> Program | None:
    number = uow.programs.version_in_force(at)
    return None if number is None else version(uow, number)


def version(uow: UnitOfWork, number: int) -> Program:
    cached = _cache.get((str(uow.conn.engine.url), number))
    if cached is not None:
        return cached
    row = uow.programs.get(number)
    if row is None:
        raise NotFound(f"program version {number} not found", code="program_version_not_found")
    return _program(row, str(uow.conn.engine.url))


def document_of(uow: UnitOfWork, number: int) -> dict[str, Any]:
    row = uow.programs.get(number)
    if row is None:
        raise NotFound(f"program version {number} not found", code="program_version_not_found")
    return {"version": row["version"], "effective_from": row["effective_from"].isoformat(),
            "created_at": row["created_at"].isoformat(), "created_by": row["created_by"],
            "document": row["document"]}
