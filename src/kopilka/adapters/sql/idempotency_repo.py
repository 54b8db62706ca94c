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

from sqlalchemy.engine import Connection

from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import idempotency_keys


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_sha256: str
    status_code: int
    response: Any


class SqlIdempotency:
    def __init__(self, conn: Connection, hot: HotPath | None = None) -> None:
        self.conn = conn
        self.hot = hot or HotPath(conn)

    def claim(self, scope: str, key: str, request_sha256: str,
              now: datetime) -> StoredResponse | None:
        """Claim the key for this call; None when claimed, else what the first call stored."""
        hot = self.hot
        claimed = hot.one("claim_key", {"scope": scope, "key": key, "sha": request_sha256,
                                        "empty": hot.json({}), "now": hot.ts(now)})
        if claimed is not None:
            return None
        sha, status, response = hot.one("read_key", {"scope": scope, "key": key})
        return StoredResponse(sha, status, hot.load_json(response))

    def store(self, scope: str, key: str, status_code: int, response: Any,
              member_id: str | None = None) -> None:
        self.hot.run("store_key", {"scope": scope, "key": key, "status": status_code,
                                   "response": self.hot.json(response), "member_id": member_id})

    def redact_member(self, member_id: str, replacement: Any) -> None:
        """Erasure: stored responses about the member lose their personal data."""
        c = idempotency_keys.c
        self.conn.execute(idempotency_keys.update().where(c.member_id == member_id)
                          .values(response=replacement))

    def purge(self, older_than: datetime) -> int:
        result = self.conn.execute(idempotency_keys.delete().where(
            idempotency_keys.c.created_at < older_than))
        return result.rowcount or 0
