"""Staff accounts, web sessions, sign-in attempts and the audit log in SQL.

Sessions and attempts live in the database, not in a process, so any API node can serve any
browser and a node that dies loses nothing (O2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.tables import audit_log, login_attempts, staff_users, web_sessions

_s = staff_users.c
_w = web_sessions.c
_a = login_attempts.c
_l = audit_log.c


class SqlStaff:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(staff_users.insert().values(**row))

    def by_login(self, login: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(staff_users).where(_s.login == login)).mappings().first()
        return dict(row) if row else None

    def by_id(self, staff_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            sa.select(staff_users).where(_s.staff_id == staff_id)).mappings().first()
        return dict(row) if row else None

    def all(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(staff_users).order_by(_s.login)).mappings()
        return [dict(r) for r in rows]

    def update(self, staff_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(staff_users.update().where(_s.staff_id == staff_id).values(**values))

    # --- sessions ---------------------------------------------------------------------------

    def open_session(self, row: dict[str, Any]) -> None:
        self.conn.execute(web_sessions.insert().values(**row))

    def session(self, token_sha256: str, now: datetime) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(web_sessions).where(
            _w.token_sha256 == token_sha256, _w.ended_at.is_(None),
            _w.expires_at > now)).mappings().first()
        return dict(row) if row else None

    def end_session(self, token_sha256: str, now: datetime) -> None:
        self.conn.execute(web_sessions.update().where(
            _w.token_sha256 == token_sha256, _w.ended_at.is_(None)).values(ended_at=now))

    def end_sessions_of(self, kind: str, subject_id: str, now: datetime) -> None:
        self.conn.execute(web_sessions.update().where(
            _w.kind == kind, _w.subject_id == subject_id, _w.ended_at.is_(None))
            .values(ended_at=now))

    # --- sign-in attempts -------------------------------------------------------------------

    def record_attempt(self, row: dict[str, Any]) -> None:
        self.conn.execute(login_attempts.insert().values(**row))

    def failures_since(self, *, login: str | None = None, address: str | None = None,
                       since: datetime) -> list[datetime]:
        where = [_a.succeeded.is_(False), _a.at >= since]
        where.append(_a.login == login if login is not None else _a.address == address)
        return list(self.conn.execute(sa.select(_a.at).where(*where)).scalars())


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(audit_log.insert().values(**row))

    def page(self, *, limit: int, before: tuple[datetime, str] | None = None,
             actor_id: str | None = None, action: str | None = None,
             object_type: str | None = None, object_id: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             ) -> list[dict[str, Any]]:
        """Newest first; `before` is the (at, audit_id) of the last row of the previous page."""
        stmt = sa.select(audit_log)
        if before is not None:
            stmt = stmt.where(sa.tuple_(_l.at, _l.audit_id) < sa.tuple_(*before))
        for column, value in ((_l.actor_id, actor_id), (_l.action, action),
                              (_l.object_type, object_type), (_l.object_id, object_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if since is not None:
            stmt = stmt.where(_l.at >= since)
        if until is not None:
            stmt = stmt.where(_l.at < until)
        stmt = stmt.order_by(_l.at.desc(), _l.audit_id.desc()).limit(limit)
        return [dict(r) for r in self.conn.execute(stmt).mappings()]
