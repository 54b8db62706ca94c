"""The till's promotion reads folded into one statement (`SqlPromotions.till_reads`), on
SQLite and PostgreSQL: a calculation with promotions makes as many round trips as one without,
what the folded read returns is what the separate reads return, and what another node changes
(a promotion created, paused; a budget spent) is what the next calculation here sees."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.adapters.sql import hot
from kopilka.adapters.sql.promotions_repo import SqlPromotions
from kopilka.adapters.sql.tables import promotion_uses
from kopilka.app import promotion_till as PT
from kopilka.app.library import Kopilka
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from tests.conftest import another_node
from tests.integration.test_promotion_till import PROGRAM, applied, promote, rejected_codes
from tests.integration.test_till_flow import enrol, line, receipt

MSK = timezone(timedelta(hours=3))
YESTERDAY = datetime(2026, 2, 28, 12, 0, tzinfo=MSK)  # the day before the receipts' day


@pytest.fixture
def k(kopilka: Kopilka) -> Kopilka:
    kopilka.apply_program(parse_program(PROGRAM))
    return kopilka


@pytest.fixture
def till(k: Kopilka, db_url: str, clock: FixedClock) -> Iterator[Kopilka]:
    with another_node(db_url, clock) as other:
        yield other


class _Counted:
    """A DB-API cursor that counts what it executes."""

    def __init__(self, cursor: Any, seen: list[str]) -> None:
        self._cursor, self._seen = cursor, seen

    def execute(self, sql: str, *args: Any) -> Any:
        self._seen.append(sql)
        return self._cursor.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._seen.append(sql)
        return self._cursor.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def statements(k: Kopilka, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement executed meanwhile: on the hot paths' DB-API cursors and through
    SQLAlchemy (which executes on cursors of its own)."""
    seen: list[str] = []
    init = hot.HotPath.__init__

    def counting(self: hot.HotPath, conn: Any) -> None:
        init(self, conn)
        self.cursor = _Counted(self.cursor, seen)

    def core(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql)

    with monkeypatch.context() as patch:
        patch.setattr(hot.HotPath, "__init__", counting)
        sa.event.listen(k.db.engine, "before_cursor_execute", core)
        try:
            yield seen
        finally:
            sa.event.remove(k.db.engine, "before_cursor_execute", core)


def executed(k: Kopilka, monkeypatch: pytest.MonkeyPatch, work: Callable[[], Any]) -> list[str]:
    with statements(k, monkeypatch) as seen:
        work()
    return seen


def every_kind_of_read(k: Kopilka) -> None:
    """Promotions that make a calculation read each thing: a budget (the counters), a
    per-member limit in a period and one for ever (the member's uses), a segment (the
    member's attributes) and a first purchase (the member's receipts)."""
    promote(k, id="budget", name="Budget", reward={"type": "percent_off", "percent": "10"},
            limits={"budget": "150.00"})
    promote(k, id="monthly", name="Monthly", reward={"type": "extra_points", "points": 5},
            limits={"per_member": {"count": 1, "period": "month"}})
    promote(k, id="once", name="Once", reward={"type": "extra_points", "points": 7},
            limits={"per_member": {"count": 1, "period": "ever"}})
    promote(k, id="club", name="Club", conditions={"segments": ["vip"]},
            reward={"type": "extra_points", "points": 3})
    promote(k, id="welcome", name="Welcome", conditions={"first_purchase": True},
            reward={"type": "extra_points", "points": 11})


@pytest.mark.parametrize("known", [True, False], ids=["member", "anonymous"])
def test_a_calculation_with_promotions_makes_as_many_round_trips_as_one_without(
        k: Kopilka, monkeypatch: pytest.MonkeyPatch, known: bool) -> None:
    member = enrol(k) if known else None

    def calculate() -> dict[str, Any]:
        return k.calculate(receipt("r", member, line("1", "1000.00"))).body

    calculate()  # this node's first snapshot (of no promotion) is taken
    without = executed(k, monkeypatch, calculate)
    every_kind_of_read(k)
    calculate()  # the snapshot is rebuilt
    body: dict[str, Any] = {}
    with_promotions = executed(k, monkeypatch, lambda: body.update(calculate()))
    assert applied(body, "budget") is not None  # the promotions were in force
    assert (applied(body, "welcome") is not None) is known
    assert len(with_promotions) == len(without), "\n".join(with_promotions)


def test_what_the_folded_read_returns_decides_the_calculation(k: Kopilka) -> None:
    every_kind_of_read(k)
    member, other = enrol(k), enrol(k)

    def calculate(member_id: str) -> dict[str, Any]:
        return k.calculate(receipt("r", member_id, line("1", "1000.00"))).body

    first = calculate(member)
    assert applied(first, "budget")["amount"] == "100.00"
    assert applied(first, "monthly") and applied(first, "once") and applied(first, "welcome")
    assert rejected_codes(first, "club") == ["segment"]

    k.confirm(receipt("feb", member, line("1", "1000.00"), at=YESTERDAY))  # in February
    k.update_member(member, {"attributes": {"segments": "vip"}})
    then = calculate(member)
    assert applied(then, "budget")["amount"] == "50.00"  # 100.00 of the budget spent
    assert applied(then, "monthly")  # February's use is not in March
    assert rejected_codes(then, "once") == ["member_limit"]  # but it is for ever
    assert applied(then, "club")
    assert rejected_codes(then, "welcome") == ["first_purchase"]

    theirs = calculate(other)  # another member's uses are their own
    assert applied(theirs, "once") and applied(theirs, "welcome")
    assert rejected_codes(theirs, "club") == ["segment"]

    k.confirm(receipt("mar", member, line("1", "100.00")))
    assert rejected_codes(calculate(member), "monthly") == ["member_limit"]


def test_what_another_node_changes_the_next_calculation_here_sees(
        k: Kopilka, till: Kopilka) -> None:
    member, other = enrol(k), enrol(k)

    def discount(member_id: str = member) -> str:
        return till.calculate(receipt("r", member_id, line("1", "1000.00"))).body[
            "discount_total"]

    assert discount() == "0.00"
    promote(k, id="ten", name="Ten", reward={"type": "percent_off", "percent": "10"},
            limits={"budget": "150.00", "per_member": {"count": 1, "period": "month"}})
    assert discount() == "100.00"
    k.confirm(receipt("c1", other, line("1", "1000.00")))  # the budget, not the promotion
    assert discount() == "50.00"
    k.confirm(receipt("c2", member, line("1", "100.00")))
    assert discount() == "0.00"  # this member's use for the month
    k.update_promotion("ten", {"limits": {}})
    assert discount() == "100.00"
    k.update_promotion("ten", {"status": "paused"})
    assert discount() == "0.00"
    promote(k, id="club", name="Club", conditions={"segments": ["vip"]},
            reward={"type": "percent_off", "percent": "20"})
    assert discount() == "0.00"
    k.update_member(member, {"attributes": {"segments": "vip"}})
    assert discount() == "200.00"
    assert discount(other) == "0.00"


def test_while_promotions_keep_changing_the_calculation_reads_apart(
        k: Kopilka, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folded read whose fingerprint never matches the snapshot (a promotion changed after
    every rebuild) ends, after a bounded number of rebuilds, in the separate reads."""
    every_kind_of_read(k)
    member = enrol(k)
    k.update_member(member, {"attributes": {"segments": "vip"}})
    expected = k.calculate(receipt("r", member, line("1", "1000.00"))).body
    folded, rebuilt = SqlPromotions.till_reads, []
    stamps = SqlPromotions.stamps

    def changing(self: SqlPromotions, *args: Any, **kwargs: Any) -> Any:
        return replace(folded(self, *args, **kwargs), fingerprint=(-2, -2))

    def counted(self: SqlPromotions) -> Any:
        rebuilt.append(1)
        return stamps(self)

    monkeypatch.setattr(SqlPromotions, "till_reads", changing)
    monkeypatch.setattr(SqlPromotions, "stamps", counted)
    assert k.calculate(receipt("r", member, line("1", "1000.00"))).body == expected
    assert len(rebuilt) == PT.FOLDED_TRIES


# --- a property: the folded read is the separate reads ----------------------------------------

# (ids are written into the folded statement as literals: one holds a colon, which a
# statement must not take for a parameter, and one a dot)
PROMOTIONS = [*(f"p{n}" for n in range(4)), "club:p4", "p.5"]
SINCE = st.one_of(st.none(), st.sampled_from([
    datetime(2026, 2, 1, tzinfo=MSK), datetime(2026, 2, 28, tzinfo=MSK),
    datetime(2026, 3, 1, tzinfo=MSK), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]))
USES = st.lists(st.tuples(
    st.sampled_from(PROMOTIONS), st.sampled_from(["m1", "m2"]),
    st.integers(-30 * 24, 24).map(lambda h: datetime(2026, 3, 1, 9, tzinfo=UTC)
                                  + timedelta(hours=h)),
    st.booleans()), max_size=6)
ASKS = st.tuples(st.lists(st.sampled_from([*PROMOTIONS, "none"]), unique=True),
                 st.sampled_from(["m1", "m2", "m3", "nobody", None]),
                 st.dictionaries(st.sampled_from([*PROMOTIONS, "none"]), SINCE, max_size=5),
                 st.booleans(), st.booleans())


@pytest.fixture
def members(k: Kopilka) -> dict[str, str]:
    """The promotions whose counters and uses the property writes, and three members: m1 in
    segments and with a purchase, m2 new, m3 with a `segments` attribute that is not a string
    (no segments). (Made once: every example adds to this state.)"""
    for pid in PROMOTIONS:
        promote(k, id=pid, name=pid.upper(), reward={"type": "percent_off", "percent": "5"},
                limits={"budget": "100000.00"})
    found = {"m1": enrol(k), "m2": enrol(k), "m3": enrol(k)}
    k.update_member(found["m1"], {"attributes": {"segments": "vip,coffee"}})
    k.update_member(found["m3"], {"attributes": {"segments": 7, "tier_hint": "gold"}})
    k.confirm(receipt("first", found["m1"], line("1", "10.00")))
    return found


def record_uses(k: Kopilka, uses: list[tuple[str, str, datetime, bool]],
                store_id: str = "s") -> None:
    """(promotion, member id, used at, returned since) rows, as confirms and returns make."""
    with k.db.write() as uow:
        for pid, member_id, used_at, returned in uses:
            key = uuid.uuid4().hex[:16]
            uow.promotions.record_use(member_id=member_id, receipt_key=key, store_id=store_id,
                                      used_at=used_at, promotion_id=pid, kopecks=1, points=0,
                                      count=1, code=None)
            if returned:
                uow.promotions.return_use(member_id, key, pid, used_at)


def grouped(since: dict[str, datetime | None]) -> PT.Since:
    """Promotion ids by period start, as the till asks for their uses."""
    groups: dict[datetime | None, list[str]] = {}
    for pid, start in since.items():
        groups.setdefault(start, []).append(pid)
    return tuple((start, tuple(ids)) for start, ids in groups.items())


def counted_here(k: Kopilka, since: PT.Since, *, member_id: str | None = None,
                 store_id: str | None = None) -> dict[str, int]:
    """The member's (or store's) uses per promotion of `since`, each since its start,
    counted in Python from every stored row: what the database's count must say."""
    u = promotion_uses.c
    whose = u.member_id == member_id if member_id is not None else u.store_id == store_id
    with k.db.read() as uow:
        rows = uow.conn.execute(sa.select(u.promotion_id, u.used_at).where(
            whose, u.status == "used")).all()
    return {pid: sum(1 for used, at in rows if used == pid and (start is None or at >= start))
            for start, ids in since for pid in ids}


def test_uses_are_counted_since_each_promotions_own_period_start(
        k: Kopilka, members: dict[str, str]) -> None:
    """Counted in the database: a use at the very start of a period counts, one a microsecond
    before does not; a start in another time zone is the same instant (Moscow's March begins
    at 21:00 UTC on February 28th); returned uses and other members' (stores') do not count;
    two periods may start at the same instant (a week and a month)."""
    m1, m2 = enrol(k), enrol(k)  # no uses yet (members' m1 has its first receipt's)
    march = datetime(2026, 3, 1, tzinfo=MSK)
    today = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    record_uses(k, [
        ("p0", m1, march - tick, False), ("p0", m1, march, False),
        ("p0", m1, datetime(2026, 2, 28, 22, 0, tzinfo=UTC), False),  # March in Moscow
        ("p0", m1, march + timedelta(days=3), True),  # returned
        ("p1", m1, today - tick, False), ("p1", m1, today, False),
        ("p2", m1, datetime(2025, 1, 1, tzinfo=UTC), False), ("p2", m1, today, True),
    ], store_id="s1")
    record_uses(k, [("p0", m2, march, False), ("p3", m2, march, False)], store_id="s2")
    since = ((march, ("p0",)), (today, ("p1",)), (None, ("p2",)), (march, ("p3",)))
    expected = {"p0": 2, "p1": 1, "p2": 1, "p3": 0}
    assert counted_here(k, since, member_id=m1) == expected
    assert counted_here(k, since, store_id="s1") == expected
    with k.db.read() as uow:
        repo = uow.promotions
        assert repo.member_use_counts(m1, since) == expected
        assert repo.till_reads([], m1, since=since).member_uses == expected
        assert repo.store_use_counts("s1", since) == expected
        assert repo.till_reads(["p0"], m1, since=((None, ("p0",)),)).member_uses == {"p0": 3}
        assert repo.member_use_counts(m2, ((march, ("p0", "p3")), (None, ("p1",)))) == {
            "p0": 1, "p3": 1, "p1": 0}
        assert repo.store_use_counts("s2", ((today, ("p0", "p3")),)) == {"p0": 0, "p3": 0}
        assert repo.member_use_counts(m1, ()) == repo.store_use_counts("s1", ()) == {}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spent=st.lists(st.tuples(st.sampled_from(PROMOTIONS), st.integers(0, 10**6),
                                st.integers(0, 500), st.integers(0, 3)), max_size=4),
       uses=USES, asks=st.lists(ASKS, min_size=1, max_size=3))
def test_the_folded_read_equals_the_separate_reads(
        k: Kopilka, members: dict[str, str], spent: list[tuple[str, int, int, int]],
        uses: list[tuple[str, str, datetime, bool]],
        asks: list[tuple[list[str], str | None, dict[str, datetime | None], bool, bool]],
        ) -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    with k.db.write() as uow:
        for pid, kopecks, points, count in spent:
            uow.promotions.consume(pid, kopecks=kopecks, points=points, count=count, now=now)
    record_uses(k, [(pid, members[member], used_at, returned)
                    for pid, member, used_at, returned in uses])
    with k.db.read() as uow:
        repo = uow.promotions
        for ids, who, starts, attributes, purchased in asks:
            member_id = members.get(who, who) if who is not None else None
            since = grouped(starts)
            folded = repo.till_reads(ids, member_id, since=since, attributes=attributes,
                                     purchased=purchased)
            known = member_id is not None
            assert folded.fingerprint == repo.fingerprint()
            assert folded.counters == repo.counters(ids, lock=False)
            assert folded.member_uses == (repo.member_use_counts(member_id, since)
                                          if known else {})
            if known:  # counted in the database as here, from the rows
                assert folded.member_uses == counted_here(k, since, member_id=member_id)
            assert folded.segments == (PT.segments_text(repo.member_attributes(member_id))
                                       if known and attributes else None)
            assert folded.purchased == (repo.has_purchases(member_id)
                                        if known and purchased else None)


def test_the_folded_read_gives_the_segments_attribute_only_when_a_string(
        k: Kopilka, members: dict[str, str]) -> None:
    """The folded read sends the `segments` text, not the attributes document: a string is
    read as it is, a number (or no such attribute) as none, and the till's segments follow."""
    with k.db.read() as uow:
        read = {who: uow.promotions.till_reads([], member_id, attributes=True).segments
                for who, member_id in members.items()}
    assert read == {"m1": "vip,coffee", "m2": None, "m3": None}
    assert PT.segment_names(read["m1"]) == {"vip", "coffee"}
    assert PT.segment_names(read["m3"]) == frozenset()


def test_ids_written_into_the_folded_read_are_literals_whatever_they_hold(
        k: Kopilka, members: dict[str, str]) -> None:
    """Ids may hold a colon or a dot: written into the statement, they stay literals (a
    colon is not read as a parameter), and the reads equal the separate ones."""
    m1, ids, since = members["m1"], ["club:p4", "p.5"], ((None, ("club:p4", "p.5")),)

    def folded() -> PT.TillReads:
        with k.db.read() as uow:
            repo = uow.promotions
            found = repo.till_reads(ids, m1, since=since)
            assert found.counters == repo.counters(ids, lock=False)
            assert found.member_uses == repo.member_use_counts(m1, since)
            return found

    before = folded()
    record_uses(k, [("club:p4", m1, datetime(2026, 3, 1, 9, tzinfo=UTC), False)])
    with k.db.write() as uow:
        uow.promotions.consume("club:p4", kopecks=7, points=1, count=1,
                               now=datetime(2026, 3, 1, tzinfo=UTC))
    after = folded()
    assert [a - b for a, b in zip(after.counters["club:p4"], before.counters["club:p4"],
                                  strict=True)] == [7, 1, 1]
    assert after.counters["p.5"] == before.counters["p.5"]
    assert after.member_uses == {"club:p4": before.member_uses["club:p4"] + 1,
                                 "p.5": before.member_uses["p.5"]}
