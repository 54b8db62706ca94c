"""Promotions, their counters, uses, promo codes and control-group audience in SQL."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kopilka.adapters.sql.hot import HotPath
from kopilka.adapters.sql.tables import (
    promo_codes,
    promotion_audience,
    promotion_counters,
    promotion_uses,
    promotions,
)
from kopilka.app.promotion_till import Since, TillReads

_p, _c, _u, _k, _a = (promotions.c, promotion_counters.c, promotion_uses.c, promo_codes.c,
                      promotion_audience.c)

# What every calculation with promotions reads, at DB-API level (as `hot.py` does for the
# points: a Core statement costs ~85 us of SQLAlchemy work, a cursor ~3 us). `{ids}` becomes
# one placeholder per id. `fingerprint` changes whenever any promotion does: each change of
# a promotion adds 1 to its revision, a new one adds a row, and none is ever deleted.
_FINGERPRINT = "count(*), COALESCE(SUM(revision), 0)"
_FROM = {  # where each read looks: shared by its own statement and its part of `_FOLDED`
    "counters": "FROM promotion_counters WHERE promotion_id IN ({ids})",
    "member_uses": "FROM promotion_uses WHERE member_id = :m AND status = 'used' "
                   "AND ({periods}) GROUP BY promotion_id",
    "store_uses": "FROM promotion_uses WHERE store_id = :st AND status = 'used' "
                  "AND ({periods}) GROUP BY promotion_id",
    "attributes": "FROM members WHERE member_id = :m",
    "purchased": "FROM receipts WHERE member_id = :m AND status = 'confirmed'",
}
_TILL = {
    "fingerprint": f"SELECT {_FINGERPRINT} FROM promotions",
    "stamps": "SELECT promotion_id, status, revision FROM promotions",
    "counters": "SELECT promotion_id, used_kopecks, used_points, used_count "
                f"{_FROM['counters']} ORDER BY promotion_id",
    "member_uses": f"SELECT promotion_id, count(*) {_FROM['member_uses']}",
    "store_uses": f"SELECT promotion_id, count(*) {_FROM['store_uses']}",
    "attributes": f"SELECT attributes {_FROM['attributes']}",
    "purchased": f"SELECT 1 {_FROM['purchased']} LIMIT 1",
    "code": "SELECT promotion_id, max_uses, max_uses_per_member, uses FROM promo_codes "
            "WHERE code = :code",
}
_till_sql: dict[tuple[str, str, int], str] = {}

# The reads of one calculation folded into one statement (`till_reads`): on PostgreSQL each
# round trip costs more CPU (client and server) than the small reads themselves. The parts
# asked for are joined by UNION ALL, every row tagged by its part and filling the same
# columns (kind, id, a, b, c). The NULLs are typed: PostgreSQL resolves a union's column
# types pair by pair, and two bare NULLs would make a text column that a later bigint one
# cannot join (SQLite accepts the casts and keeps the NULLs).
_N, _T = "CAST(NULL AS BIGINT)", "CAST(NULL AS TEXT)"
_FOLDED = {
    "f": f"SELECT 'f', {_T}, {_FINGERPRINT}, {_N} FROM promotions",
    "c": f"SELECT 'c', promotion_id, used_kopecks, used_points, used_count {_FROM['counters']}",
    "u": f"SELECT 'u', promotion_id, count(*), {_N}, {_N} {_FROM['member_uses']}",
    "a": f"SELECT 'a', {{segments}}, {_N}, {_N}, {_N} {_FROM['attributes']}",
    "p": f"SELECT 'p', {_T}, CASE WHEN EXISTS (SELECT 1 {_FROM['purchased']}) THEN 1 ELSE 0 "
         f"END, {_N}, {_N}",
}
_folded_sql: dict[tuple[str, tuple[str, ...], Periods, bool, bool], str] = {}
# The member's `segments` attribute when it is a string (else NULL), read as text: all the
# till needs of the attributes, without sending and parsing the whole JSON document.
_SEGMENTS = {
    "postgresql": "CASE WHEN jsonb_typeof(attributes -> 'segments') = 'string' "
                  "THEN attributes ->> 'segments' END",
    "sqlite": "CASE WHEN json_type(attributes, '$.segments') = 'text' "
              "THEN json_extract(attributes, '$.segments') END",
}

# A member's (or store's) uses are counted in the database, each promotion's since its own
# period start (None: ever), one condition per group of `Since` (a handful: today's, this
# week's, this month's, ever): `{periods}` becomes "(promotion_id IN ('a', 'b') AND used_at
# >= :s0) OR (promotion_id IN ('c'))". The promotion ids of the folded read and the uses are
# written into the statement as literals, not sent as parameters: they are the snapshot's,
# the same receipt after receipt, and each parameter costs the driver work on every receipt
# (20 of them did). A statement is made once per set of ids and kept (bounded); on
# PostgreSQL each is prepared by the driver after a few uses, as before.
Periods = tuple[tuple[tuple[str, ...], bool], ...]  # per group: its ids, whether it has a start
_uses_sql: dict[tuple[str, str, Periods], str] = {}
_STATEMENTS_LIMIT = 512  # kept statements per kind (folded, uses): a few per snapshot

# a string literal, or a :name parameter outside one
_TOKENS = re.compile(r"'(?:[^']|'')*'|:(\w+)")


def _in_dialect(dialect: str, sql: str) -> str:
    """`:name` parameters as the dialect's driver takes them (psycopg: `%(name)s`, and a `%`
    in a literal doubled). String literals are left as they are (an id may hold a colon)."""
    if dialect != "postgresql":
        return sql
    return _TOKENS.sub(lambda m: f"%({m.group(1)})s" if m.group(1)
                       else m.group(0).replace("%", "%%"), sql)


def _literals(ids: Iterable[str]) -> str:
    """The ids as SQL string literals, comma-separated (quotes doubled)."""
    return ", ".join("'" + pid.replace("'", "''") + "'" for pid in ids)


def _kept(cache: dict[Any, str], key: Any, make: Callable[[], str]) -> str:
    sql = cache.get(key)
    if sql is None:
        if len(cache) >= _STATEMENTS_LIMIT:
            cache.clear()
        sql = cache[key] = make()
    return sql


def _with_ids(sql: str, prefix: str, count: int) -> str:
    return sql.replace("{ids}", ", ".join(f":{prefix}{i}" for i in range(count)))


def _till_statement(dialect: str, name: str, count: int = 0, *, lock: bool = False) -> str:
    """The statement `name` for `count` ids in the dialect's parameter style (made once)."""
    key = (dialect, name + (" lock" if lock else ""), count)
    sql = _till_sql.get(key)
    if sql is None:
        sql = _in_dialect(dialect, _with_ids(_TILL[name], "i", count))
        if dialect == "postgresql" and lock:
            sql += " FOR UPDATE"
        _till_sql[key] = sql
    return sql


def _folded_statement(dialect: str, counters: tuple[str, ...], uses: Periods,
                      attributes: bool, purchased: bool) -> str:
    """The folded read for the counters of `counters` and the member's uses in the periods
    `uses` (made once per set of ids): the fingerprint, then the parts asked for."""
    def make() -> str:
        parts = [_FOLDED["f"]]
        if counters:
            parts.append(_FOLDED["c"].replace("{ids}", _literals(counters)))
        if uses:
            parts.append(_with_periods(_FOLDED["u"], uses))
        parts += [_FOLDED[kind].replace("{segments}", _SEGMENTS[dialect])
                  for kind, asked in (("a", attributes), ("p", purchased)) if asked]
        return _in_dialect(dialect, " UNION ALL ".join(parts))
    return _kept(_folded_sql, (dialect, counters, uses, attributes, purchased), make)


def _uses_statement(dialect: str, name: str, periods: Periods) -> str:
    """The member's or store's (`name`) uses counted in `periods` (made once per set)."""
    return _kept(_uses_sql, (dialect, name, periods),
                 lambda: _in_dialect(dialect, _with_periods(_TILL[name], periods)))


def _with_periods(sql: str, periods: Periods) -> str:
    conditions = [f"(promotion_id IN ({_literals(ids)})"
                  + (f" AND used_at >= :s{group})" if has_start else ")")
                  for group, (ids, has_start) in enumerate(periods)]
    return sql.replace("{periods}", " OR ".join(conditions))


def _period_params(since: Since,
                   ts: Callable[[datetime], Any]) -> tuple[Periods, dict[str, Any]]:
    """The condition's groups for `since` (their ids, whether each has a start) and its
    parameters: the starts, as the column stores them (`ts`)."""
    params = {f"s{group}": ts(start) for group, (start, _ids) in enumerate(since)
              if start is not None}
    return tuple((ids, start is not None) for start, ids in since), params


def _counted(since: Since, rows: Iterable[tuple[str, Any]]) -> dict[str, int]:
    """The (promotion id, count) rows as counts for every promotion of `since` (0: none)."""
    counts = {pid: 0 for _start, ids in since for pid in ids}
    counts.update((pid, int(n)) for pid, n in rows)
    return counts


def _id_params(ids: Sequence[str], prefix: str = "i") -> dict[str, Any]:
    return dict(zip(_names(prefix, len(ids)), ids, strict=True))


@functools.cache
def _names(prefix: str, count: int) -> tuple[str, ...]:
    """The parameter names prefix0 ... prefix{count - 1} (made once per count)."""
    return tuple(f"{prefix}{i}" for i in range(count))


class SqlPromotions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._hot: HotPath | None = None

    @property
    def hot(self) -> HotPath:
        """The transaction's DB-API cursor and value helpers (made when first needed)."""
        if self._hot is None:
            self._hot = HotPath(self.conn)
        return self._hot

    def _cursor(self, name: str, params: dict[str, Any], count: int = 0, *,
                lock: bool = False) -> Any:
        """Run a till statement on the transaction's DB-API cursor."""
        return self._run(_till_statement(self.dialect, name, count, lock=lock), params)

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        cursor = self.hot.cursor
        cursor.execute(sql, params)
        return cursor

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # --- the catalogue ---------------------------------------------------------------------

    def add(self, *, promotion_id: str, partner_id: str | None, status: str,
            document: dict[str, Any], now: datetime, author: str) -> bool:
        """Insert a promotion and its counter row; False when the id is taken."""
        inserted = self.conn.execute(self._insert(promotions).values(
            promotion_id=promotion_id, partner_id=partner_id, status=status, document=document,
            created_at=now, updated_at=now, updated_by=author).on_conflict_do_nothing()
            .returning(_p.promotion_id)).first()  # (rowcount is -1 here on psycopg)
        if inserted is None:
            return False
        self.conn.execute(promotion_counters.insert().values(promotion_id=promotion_id,
                                                             updated_at=now))
        return True

    def get(self, promotion_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(promotions).where(_p.promotion_id == promotion_id)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def update(self, promotion_id: str, *, now: datetime, author: str,
               **values: Any) -> None:
        self.conn.execute(promotions.update().where(_p.promotion_id == promotion_id).values(
            updated_at=now, updated_by=author, revision=_p.revision + 1, **values))

    def page(self, *, status: str | None, limit: int, after: str | None) -> list[dict[str, Any]]:
        query = sa.select(promotions).order_by(_p.promotion_id).limit(limit)
        if status is not None:
            query = query.where(_p.status == status)
        if after is not None:
            query = query.where(_p.promotion_id > after)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def fingerprint(self) -> tuple[int, int]:
        """(count, sum of revisions) of all promotions, active or not: it grows with every
        change to any promotion, so the same fingerprint means the same promotions."""
        count, total = self._cursor("fingerprint", {}).fetchone()
        return int(count), int(total)

    def stamps(self) -> tuple[tuple[int, int], list[tuple[str, int]]]:
        """The fingerprint and (id, revision) of the active promotions in id order, read
        together (one statement: they always describe the same state)."""
        rows = self._cursor("stamps", {}).fetchall()
        fingerprint = (len(rows), sum(int(r[2]) for r in rows))
        return fingerprint, sorted((r[0], int(r[2])) for r in rows if r[1] == "active")

    def documents(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        rows = self.conn.execute(sa.select(_p.promotion_id, _p.document)
                                 .where(_p.promotion_id.in_(sorted(ids))))
        return {r.promotion_id: r.document for r in rows}

    # --- budgets ---------------------------------------------------------------------------

    def counters(self, ids: Iterable[str], *, lock: bool) -> dict[str, tuple[int, int, int]]:
        """Used (kopecks, points, count) per promotion; `lock` takes their rows in id order
        (every confirm locks in the same order, so two never deadlock)."""
        ids = sorted(set(ids))
        if not ids:
            return {}
        rows = self._cursor("counters", _id_params(ids), len(ids),
                            lock=lock and self.dialect == "postgresql").fetchall()
        return {pid: (int(kopecks), int(points), int(count))
                for pid, kopecks, points, count in rows}

    def consume(self, promotion_id: str, *, kopecks: int, points: int, count: int,
                now: datetime) -> None:
        """Add to what a promotion has given (negative: give back)."""
        self.conn.execute(promotion_counters.update().where(_c.promotion_id == promotion_id)
                          .values(used_kopecks=_c.used_kopecks + kopecks,
                                  used_points=_c.used_points + points,
                                  used_count=_c.used_count + count, updated_at=now))

    def has_purchases(self, member_id: str) -> bool:
        """Whether the member has a confirmed receipt (for "first purchase" conditions)."""
        return self._cursor("purchased", {"m": member_id}).fetchone() is not None

    # --- uses ------------------------------------------------------------------------------

    def member_use_counts(self, member_id: str, since: Since) -> dict[str, int]:
        """The member's uses per promotion, each since its own period start: one query."""
        return self._use_counts("member_uses", {"m": member_id}, since)

    def store_use_counts(self, store_id: str, since: Since) -> dict[str, int]:
        """The store's uses per promotion, each since its own period start: one query."""
        return self._use_counts("store_uses", {"st": store_id}, since)

    def _use_counts(self, name: str, params: dict[str, Any], since: Since) -> dict[str, int]:
        if not since:
            return {}
        periods, period_params = _period_params(since, self.hot.ts)
        rows = self._run(_uses_statement(self.dialect, name, periods),
                         {**params, **period_params}).fetchall()
        return _counted(since, rows)

    def member_attributes(self, member_id: str) -> dict[str, Any]:
        """The member's custom attributes (the till reads segments from them)."""
        row = self._cursor("attributes", {"m": member_id}).fetchone()
        return self._attributes(None if row is None else row[0])

    def _attributes(self, value: Any) -> dict[str, Any]:
        found = None if value is None else self.hot.load_json(value)
        return found if isinstance(found, dict) else {}

    def till_reads(self, counters: Sequence[str], member_id: str | None = None, *,
                   since: Since = (), attributes: bool = False,
                   purchased: bool = False) -> TillReads:
        """What a calculation reads besides the promotions, in one statement (one round
        trip): the fingerprint of the promotions (to check the caller's snapshot against:
        read with the rest, it describes the state they were read in), the used budgets of
        `counters`, and of a known member: the uses of the promotions in `since`, each
        counted since its period start (as `member_use_counts`), the `segments` attribute
        (when a string) and whether they have a confirmed receipt, each when asked. No
        locks: FOR UPDATE admits no UNION, so confirming reads the counters it locks with
        `counters`."""
        member = member_id is not None
        uses = since if member else ()
        attributes, purchased = attributes and member, purchased and member
        if not (counters or uses or attributes or purchased):  # no promotion: as cheap as ever
            return TillReads(self.fingerprint(), {}, {}, None, None)
        periods, params = _period_params(uses, self.hot.ts)
        if member:
            params["m"] = member_id
        rows = self._run(_folded_statement(self.dialect, tuple(counters), periods, attributes,
                                           purchased), params).fetchall()
        fingerprint = (0, 0)
        used: dict[str, tuple[int, int, int]] = {}
        member_uses: list[tuple[str, int]] = []
        segments = bought = None
        for kind, pid, a, b, c in rows:
            if kind == "c":
                used[pid] = (int(a), int(b), int(c))
            elif kind == "u":
                member_uses.append((pid, a))
            elif kind == "f":
                fingerprint = (int(a), int(b))
            elif kind == "a":
                segments = pid  # the segments text, in the id column
            else:
                bought = bool(a)
        return TillReads(fingerprint, used, _counted(uses, member_uses), segments, bought)

    def code_uses_by_member(self, code: str, member_id: str) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).where(
            _u.code == code, _u.member_id == member_id, _u.status == "used")).scalar() or 0)

    def record_use(self, **row: Any) -> None:
        self.conn.execute(promotion_uses.insert().values(status="used", **row))

    def return_use(self, member_id: str, receipt_key: str, promotion_id: str,
                   now: datetime) -> None:
        self.conn.execute(promotion_uses.update().where(
            _u.member_id == member_id, _u.receipt_key == receipt_key,
            _u.promotion_id == promotion_id).values(status="returned", returned_at=now))

    def add_codes(self, rows: list[dict[str, Any]]) -> int:
        """Insert codes, skipping any that exist; how many were inserted."""
        if not rows:
            return 0
        result = self.conn.execute(
            self._insert(promo_codes).on_conflict_do_nothing().returning(_k.code), rows)
        return len(result.all())

    def code(self, code: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = sa.select(promo_codes).where(_k.code == code)
        if lock and self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return dict(row) if row else None

    def code_limits(self, code: str, *, lock: bool = False) -> dict[str, Any] | None:
        """What the till checks of a presented code (`code` as read on its DB-API cursor):
        its promotion, its use limits and uses; `lock` takes its row (PostgreSQL)."""
        row = self._cursor("code", {"code": code},
                           lock=lock and self.dialect == "postgresql").fetchone()
        if row is None:
            return None
        promotion_id, max_uses, per_member, uses = row
        return {"promotion_id": promotion_id, "max_uses": max_uses,
                "max_uses_per_member": per_member, "uses": uses}

    def use_code(self, code: str, delta: int) -> None:
        self.conn.execute(promo_codes.update().where(_k.code == code)
                          .values(uses=_k.uses + delta))

    def codes_of(self, promotion_id: str, batch_id: str | None = None) -> Iterator[dict]:
        query = sa.select(promo_codes).where(_k.promotion_id == promotion_id)
        if batch_id is not None:
            query = query.where(_k.batch_id == batch_id)
        for row in self.conn.execute(query.order_by(_k.created_at, _k.code)).mappings():
            yield dict(row)

    def code_counts(self, promotion_id: str) -> dict[str, int]:
        row = self.conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(_k.uses), 0))
            .where(_k.promotion_id == promotion_id)).one()
        return {"codes": int(row[0]), "uses": int(row[1])}

    # --- control groups --------------------------------------------------------------------

    def record_audience(self, promotion_id: str, member_id: str, held_back: bool,
                        now: datetime) -> None:
        """The first decision for a member stands (the hash is stable anyway)."""
        self.conn.execute(self._insert(promotion_audience).values(
            promotion_id=promotion_id, member_id=member_id, held_back=held_back,
            decided_at=now).on_conflict_do_nothing())

    def audience(self, promotion_id: str) -> dict[str, int]:
        rows = self.conn.execute(sa.select(_a.held_back, sa.func.count())
                                 .where(_a.promotion_id == promotion_id).group_by(_a.held_back))
        counts = {bool(held): int(n) for held, n in rows}
        return {"control": counts.get(True, 0), "exposed": counts.get(False, 0)}
