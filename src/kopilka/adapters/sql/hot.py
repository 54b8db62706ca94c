"""The few statements every points change runs, at DB-API level.

Measured on SQLite: a Core statement costs ~85 us of SQLAlchemy work per execution on top of
~30 us in the database (cache key, bind processing, result set-up); a DB-API cursor on the same
connection costs ~3 us. So the hot path (lock, post, idempotency) talks to the cursor directly,
inside the transaction SQLAlchemy opened. Everything else stays on Core.

Statements are written once with `:name` parameters (sqlite3's named style) and converted to
psycopg's `%(name)s`. Timestamps are stored exactly as SQLAlchemy's types store them, so Core
reads what this writes: UTC text on SQLite, timestamptz on PostgreSQL.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection

SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"

STATEMENTS = {
    "lock": "SELECT b.available, b.pending, b.held, b.debt, m.status FROM member_balances b "
            "JOIN members m ON m.member_id = b.member_id "
            "WHERE b.member_id = :m AND b.currency = :cur",
    "insert_tx": "INSERT INTO ledger_transactions (member_id, transaction_id, currency, code, "
                 "points, created_at, effective_at, reason, author, partner_id, store_id, "
                 "receipt_id, hold_id, reverses_id) VALUES (:member_id, :transaction_id, "
                 ":currency, :code, :points, :created_at, :effective_at, :reason, :author, "
                 ":partner_id, :store_id, :receipt_id, :hold_id, :reverses_id)",
    "insert_entry": "INSERT INTO ledger_entries (member_id, transaction_id, line, currency, "
                    "account, partner_id, lot_id, amount) VALUES (:member_id, "
                    ":transaction_id, :line, :currency, :account, :partner_id, :lot_id, "
                    ":amount)",
    "insert_lot": "INSERT INTO point_lots (member_id, lot_id, currency, amount, available, "
                  "pending, state, created_at, expires_at, activates_at, activation_event, "
                  "transaction_id) VALUES (:member_id, :lot_id, :currency, :amount, "
                  ":available, :pending, :state, :created_at, :expires_at, :activates_at, "
                  ":activation_event, :transaction_id)",
    "update_lot": "UPDATE point_lots SET available = available + :a, pending = pending + :p "
                  "WHERE member_id = :m AND lot_id = :l",
    "update_balance": "UPDATE member_balances SET available = available + :da, "
                      "pending = pending + :dp, held = held + :dh, debt = debt + :dd, "
                      "updated_at = :now WHERE member_id = :m AND currency = :cur",
    "claim_key": "INSERT INTO idempotency_keys (scope, key, request_sha256, status_code, "
                 "response, created_at) VALUES (:scope, :key, :sha, 0, :empty, :now) "
                 "ON CONFLICT DO NOTHING RETURNING key",
    "read_key": "SELECT request_sha256, status_code, response FROM idempotency_keys "
                "WHERE scope = :scope AND key = :key",
    "store_key": "UPDATE idempotency_keys SET status_code = :status, response = :response, "
                 "member_id = :member_id WHERE scope = :scope AND key = :key",
    "member_brief": "SELECT member_id, first_name, tier_code, status, enrolled_partner_id "
                    "FROM members WHERE member_id = :m",
    "balance": "SELECT available, pending, held, debt FROM member_balances "
               "WHERE member_id = :m AND currency = :cur",
    "open_lots": "SELECT lot_id, amount, state, created_at, expires_at, activates_at, "
                 "activation_event, available, pending FROM point_lots WHERE member_id = :m "
                 "AND currency = :cur AND state = 'active' AND available > 0",
    "qualifying": "SELECT COALESCE(SUM(qualifying_value), 0) FROM receipts "
                  "WHERE member_id = :m AND status = 'confirmed' AND occurred_at >= :start "
                  "AND occurred_at < :end",
    "program_in_force": "SELECT version FROM program_versions WHERE effective_from <= :at "
                        "ORDER BY effective_from DESC, version DESC LIMIT 1",
    "insert_receipt": "INSERT INTO receipts (store_id, receipt_id, receipt_key, member_id, "
                      "partner_id, status, occurred_at, program_version, request_sha256, "
                      "request, result, effects, total_payable, qualifying_value, created_at, "
                      "updated_at) VALUES (:store_id, :receipt_id, :receipt_key, :member_id, "
                      ":partner_id, :status, :occurred_at, :program_version, :request_sha256, "
                      ":request, :result, :effects, :total_payable, :qualifying_value, "
                      ":created_at, :updated_at)",
    "expiring": "SELECT expires_at, SUM(available) FROM point_lots WHERE member_id = :m "
                "AND currency = :cur AND state = 'active' AND available > 0 "
                "AND expires_at IS NOT NULL GROUP BY expires_at ORDER BY expires_at LIMIT 20",
}
PG_ONLY = {"lock": " FOR UPDATE OF b"}


def _pg(sql: str) -> str:
    return re.sub(r":(\w+)", r"%(\1)s", sql)


SQL = {
    "sqlite": STATEMENTS,
    "postgresql": {name: _pg(sql) + PG_ONLY.get(name, "") for name, sql in STATEMENTS.items()},
}


class HotPath:
    """DB-API access to the hot statements, sharing the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect.name
        self.sql = SQL[self.dialect]
        self.dbapi = conn.connection.dbapi_connection
        self.cursor = self.dbapi.cursor()
        if self.dialect == "postgresql":
            from psycopg.types.json import Jsonb
            self.json = Jsonb
            self.ts = _identity
        else:
            self.json = _json_text
            self.ts = _sqlite_ts

    def one(self, name: str, params: dict[str, Any]) -> tuple | None:
        self.cursor.execute(self.sql[name], params)
        return self.cursor.fetchone()

    def run(self, name: str, params: dict[str, Any]) -> None:
        self.cursor.execute(self.sql[name], params)

    def many(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.cursor.executemany(self.sql[name], rows)

    def batch(self) -> AbstractContextManager[Any]:
        """Send the statements inside in one round trip (psycopg pipeline mode); errors
        surface at the end of the block. SQLite has no round trips to save."""
        return self.dbapi.pipeline() if self.dialect == "postgresql" else nullcontext()

    def all(self, name: str, params: dict[str, Any]) -> list[tuple]:
        self.cursor.execute(self.sql[name], params)
        return self.cursor.fetchall()

    def read_ts(self, value: Any) -> datetime:
        """A timestamp as read from the cursor (SQLite gives back the text it stored)."""
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def load_json(self, value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value


def _identity(value: datetime | None) -> datetime | None:
    return value


def _sqlite_ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime(SQLITE_TS)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()
