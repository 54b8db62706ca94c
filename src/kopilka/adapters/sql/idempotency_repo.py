"""Stored responses of idempotent calls, written in the same transaction as their effect.

`claim` inserts the key with ON CONFLICT DO NOTHING: a concurrent duplicate waits on the
unique index until the first transaction commits (then it finds the stored response) or rolls
back (then it claims the key itself). So an effect and its stored response exist together or
not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import idempotency_keys


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_sha256: str
    status_code: int
    response: Any


class SqlIdempotency:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert

    def claim(self, scope: str, key: str, request_sha256: str, now: datetime) -> StoredResponse | None:
        """Claim the key for this call; None when claimed, else what the first call stored."""
        c = idempotency_keys.c
        stmt = self.insert(idempotency_keys).values(
            scope=scope, key=key, request_sha256=request_sha256, status_code=0, response={},
            created_at=now).on_conflict_do_nothing().returning(c.key)
        if self.conn.execute(stmt).first() is not None:
            return None
        row = self.conn.execute(sa.select(c.request_sha256, c.status_code, c.response).where(
            c.scope == scope, c.key == key)).one()
        return StoredResponse(row.request_sha256, row.status_code, row.response)

    def store(self, scope: str, key: str, status_code: int, response: Any) -> None:
        c = idempotency_keys.c
        self.conn.execute(idempotency_keys.update().where(c.scope == scope, c.key == key)
                          .values(status_code=status_code, response=response))

    def purge(self, older_than: datetime) -> int:
        result = self.conn.execute(idempotency_keys.delete().where(
            idempotency_keys.c.created_at < older_than))
        return result.rowcount or 0
