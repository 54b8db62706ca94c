"""The till's per-process snapshot of the promotions in force (`promotion_till.active`), on
SQLite and PostgreSQL: it is checked against the database on every calculation, so what one
API node (here: one library instance) creates, edits, pauses or resumes is what the next
calculation on another node sees; and it is rebuilt only when some promotion changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.adapters.sql.promotions_repo import SqlPromotions
from kopilka.app import promotion_till as PT
from kopilka.app.library import Kopilka
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.domain.errors import InvalidInput
from tests.conftest import another_node, make_library
from tests.integration.test_promotion_till import PROGRAM, applied, rejected_codes
from tests.integration.test_till_flow import enrol, line, receipt


@pytest.fixture
def admin(kopilka: Kopilka) -> Kopilka:
    """The node promotions are managed through."""
    kopilka.apply_program(parse_program(PROGRAM))
    return kopilka


@pytest.fixture
def till(admin: Kopilka, db_url: str, clock: FixedClock) -> Iterator[Kopilka]:
    with another_node(db_url, clock) as other:
        yield other


def discount(k: Kopilka, member_id: str, receipt_id: str = "r") -> str:
    return k.calculate(receipt(receipt_id, member_id, line("1", "1000.00"))).body[
        "discount_total"]


def test_what_one_node_changes_the_next_calculation_on_another_sees(
        admin: Kopilka, till: Kopilka) -> None:
    member = enrol(admin)
    assert discount(till, member) == "0.00"  # the snapshot of no promotion is taken

    admin.create_promotion({"id": "ten", "name": "Ten", "reward": {
        "type": "percent_off", "percent": "10"}})
    assert discount(till, member) == "100.00"

    admin.update_promotion("ten", {"reward": {"type": "percent_off", "percent": "15"}})
    assert discount(till, member) == "150.00"

    admin.update_promotion("ten", {"status": "paused"})
    assert discount(till, member) == "0.00"

    admin.update_promotion("ten", {"status": "active"})
    assert discount(till, member) == "150.00"

    admin.create_promotion({"id": "later", "name": "Later", "reward": {
        "type": "amount_off", "amount": "20.00"}}, status="paused")
    assert discount(till, member) == "150.00"
    admin.update_promotion("later", {"status": "active"})
    assert discount(till, member) == "170.00"


def test_a_swap_that_keeps_the_count_of_active_promotions_is_seen(
        admin: Kopilka, till: Kopilka) -> None:
    """Pausing one and resuming another in one go leaves as many active: still seen."""
    member = enrol(admin)
    admin.create_promotion({"id": "a", "name": "A", "reward": {
        "type": "percent_off", "percent": "10"}})
    admin.create_promotion({"id": "b", "name": "B", "reward": {
        "type": "percent_off", "percent": "20"}}, status="paused")
    assert discount(till, member) == "100.00"
    admin.update_promotion("a", {"status": "paused"})
    admin.update_promotion("b", {"status": "active"})
    body = till.calculate(receipt("r", member, line("1", "1000.00"))).body
    assert body["discount_total"] == "200.00"
    assert applied(body, "b") is not None and applied(body, "a") is None


def test_limits_and_segments_follow_an_edit_on_another_node(
        admin: Kopilka, till: Kopilka) -> None:
    """What the snapshot works out once (which promotions read counters, per-member uses,
    segments) is worked out again for the edited promotion."""
    member = enrol(admin)
    admin.create_promotion({"id": "club", "name": "Club", "reward": {
        "type": "percent_off", "percent": "10"}})
    assert discount(till, member) == "100.00"
    admin.update_promotion("club", {"conditions": {"segments": ["vip"]}})
    body = till.calculate(receipt("r", member, line("1", "1000.00"))).body
    assert (body["discount_total"], rejected_codes(body, "club")) == ("0.00", ["segment"])
    admin.update_member(member, {"attributes": {"segments": "vip"}})
    assert discount(till, member) == "100.00"

    admin.update_promotion("club", {"conditions": {}, "limits": {"per_member": {
        "count": 1, "period": "month"}}})
    assert till.confirm(receipt("c1", member, line("1", "1000.00"))).body[
        "discount_total"] == "100.00"
    body = till.calculate(receipt("r", member, line("1", "1000.00"))).body
    assert (body["discount_total"], rejected_codes(body, "club")) == (
        "0.00", ["member_limit"])


def test_the_snapshot_is_rebuilt_only_when_a_promotion_changed(
        admin: Kopilka, till: Kopilka, monkeypatch: pytest.MonkeyPatch) -> None:
    member = enrol(admin)
    admin.create_promotion({"id": "ten", "name": "Ten", "reward": {
        "type": "percent_off", "percent": "10"}})
    reads: list[Any] = []
    stamps = SqlPromotions.stamps

    def counted(self: SqlPromotions) -> Any:
        reads.append(1)
        return stamps(self)

    monkeypatch.setattr(SqlPromotions, "stamps", counted)
    for n in range(3):
        assert discount(till, member, f"r{n}") == "100.00"
    assert len(reads) == 1  # the first calculation on this node; then the fingerprint held
    admin.update_promotion("ten", {"name": "Ten again"})
    assert discount(till, member) == "100.00"
    assert len(reads) == 2


def test_a_promotion_paused_and_resumed_is_the_object_parsed_before(
        admin: Kopilka, till: Kopilka) -> None:
    """What the engine keeps per Promotion object stays warm across a pause: the document
    did not change, so the promotion is not parsed again; an edited one is."""
    member = enrol(admin)
    admin.create_promotion({"id": "ten", "name": "Ten", "reward": {
        "type": "percent_off", "percent": "10"}})

    def snapshot() -> Any:
        discount(till, member)
        return PT._active[till.db.engine].promotions

    (first,) = snapshot()
    admin.update_promotion("ten", {"status": "paused"})
    assert snapshot() == ()
    admin.update_promotion("ten", {"status": "active"})
    (again,) = snapshot()
    assert again is first
    admin.update_promotion("ten", {"reward": {"type": "percent_off", "percent": "15"}})
    (edited,) = snapshot()
    assert edited is not first and discount(till, member) == "150.00"
    admin.update_promotion("ten", {"status": "paused"})
    admin.update_promotion("ten", {"status": "active"})
    assert snapshot() == (edited,) and snapshot()[0] is edited


def test_the_fingerprint_grows_with_every_change(admin: Kopilka) -> None:
    def fingerprint() -> tuple[int, int]:
        with admin.db.read() as uow:
            found = uow.promotions.fingerprint()
            assert uow.promotions.stamps()[0] == found  # what a rebuilt snapshot is keyed by
            return found

    seen = [fingerprint()]
    admin.create_promotion({"id": "p", "name": "P", "reward": {
        "type": "percent_off", "percent": "10"}})
    seen.append(fingerprint())
    admin.update_promotion("p", {"status": "paused"})
    seen.append(fingerprint())
    admin.update_promotion("p", {"status": "active"})
    seen.append(fingerprint())
    admin.update_promotion("p", {"name": "Renamed"})
    seen.append(fingerprint())
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen)


# --- a property: the snapshot never changes an answer -----------------------------------------

CHANGES = st.lists(st.tuples(
    st.sampled_from(["create", "percent", "segments", "limit", "pause", "resume"]),
    st.integers(0, 2), st.integers(1, 30)), min_size=1, max_size=8)


def _change(admin: Kopilka, created: set[str], change: tuple[str, int, int]) -> None:
    kind, n, value = change
    pid = f"p{n}"
    if kind == "create" or pid not in created:
        if pid not in created:
            admin.create_promotion({"id": pid, "name": pid.upper(), "priority": n, "reward": {
                "type": "percent_off", "percent": str(value)}})
            created.add(pid)
        return
    patch: dict[str, Any] = {
        "percent": {"reward": {"type": "percent_off", "percent": str(value)}},
        "segments": {"conditions": {"segments": ["vip"]} if value % 2 else {}},
        "limit": {"limits": {"budget": f"{value}.00"}},
        "pause": {"status": "paused"},
        "resume": {"status": "active"},
    }[kind]
    admin.update_promotion(pid, patch)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES)
def test_a_snapshot_backed_calculation_equals_one_without_a_snapshot(
        tmp_path_factory: pytest.TempPathFactory, clock: FixedClock,
        changes: list[tuple[str, int, int]]) -> None:
    """Whatever one node changes, another node's calculation (through its snapshot, kept
    across the changes) is the one made with no snapshot at all (one dropped before it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('snapshot') / 'kopilka.db'}"
    admin, till = make_library(url, clock), make_library(url, clock)
    try:
        admin.apply_program(parse_program(PROGRAM))
        member = enrol(admin)
        admin.update_member(member, {"attributes": {"segments": "vip"}})
        created: set[str] = set()
        for change in changes:
            _change(admin, created, change)
            rcpt = receipt("r", member, line("1", "1000.00"), line("2", "250.00"))
            kept = till.calculate(rcpt).body
            PT._active.pop(till.db.engine, None)
            PT._PARSED.clear()  # nothing parsed before either
            assert till.calculate(rcpt).body == kept
    finally:
        admin.db.dispose()
        till.db.dispose()


def test_only_the_very_same_document_is_reused() -> None:
    """Documents are compared as canonical JSON: a copy is the same document, while 1 and
    1.0, equal in Python, are not: 1.0 is parsed again (and refused as a priority)."""
    PT._PARSED.clear()
    document = {"id": "p", "name": "P", "priority": 1,
                "reward": {"type": "percent_off", "percent": "10"}}
    first = PT._parsed("p", document)
    assert PT._parsed("p", json.loads(json.dumps(document))) is first
    with pytest.raises(InvalidInput, match="priority"):
        PT._parsed("p", {**document, "priority": 1.0})
    assert PT._parsed("p", {**document, "name": "Q"}).name == "Q"
