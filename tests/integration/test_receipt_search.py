"""Finding receipts for the back office (`Kopilka.receipts_search`, `SqlReceipts.search`) and
the receipt with its lines' names and returned quantities (`Kopilka.receipt_detail`), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from kopilka.app.library import Kopilka
from kopilka.app.receipt_search import ReceiptQuery
from kopilka.domain.errors import DomainError
from tests.e2e.conftest import row_counts
from tests.integration.test_till_flow import MSK, apply, enrol, line, receipt

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=MSK)


def ids(found: dict) -> list[str]:
    return [f"{r['store_id']}/{r['receipt_id']}" for r in found["items"]]


def test_newest_first_in_keyset_pages_that_never_skip_or_repeat(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    # three receipts at the very same time in different stores: the key breaks the tie
    for store in ("a-store", "b-store", "c-store"):
        kopilka.confirm(receipt("same-time", member, at=NOON, store_id=store))
    kopilka.confirm(receipt("earlier", member, at=NOON - timedelta(hours=1)))
    kopilka.confirm(receipt("later", member, at=NOON + timedelta(hours=1)))
    seen, cursor, pages = [], None, 0
    while True:
        found = kopilka.receipts_search(ReceiptQuery(), limit=2, cursor=cursor)
        seen += ids(found)
        pages += 1
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert seen == ["msk-001/later", "c-store/same-time", "b-store/same-time",
                    "a-store/same-time", "msk-001/earlier"]
    assert pages == 3
    first = kopilka.receipts_search(ReceiptQuery(), limit=1)["items"][0]
    assert first == {"store_id": "msk-001", "receipt_id": "later", "member_id": member,
                     "partner_id": None, "status": "confirmed",
                     "occurred_at": first["occurred_at"], "total_payable": "1000.00",
                     "returns": 0}
    assert datetime.fromisoformat(first["occurred_at"]) == NOON + timedelta(hours=1)


def test_filters_by_store_prefix_status_days_and_counts_returns(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.confirm(receipt("A-100", member, line("1", "10.00", "2"), at=NOON))
    kopilka.confirm(receipt("A-200", member, at=NOON + timedelta(days=1)))
    kopilka.confirm(receipt("A_1", member, at=NOON, store_id="spb-001"))
    kopilka.confirm(receipt("B-100", None, at=NOON + timedelta(days=2)))
    kopilka.cancel_receipt("msk-001", "A-200")
    kopilka.return_receipt("msk-001", "A-100", "r1", [("1", Decimal("1"))])

    def find(**query: object) -> list[str]:
        return ids(kopilka.receipts_search(ReceiptQuery(**query)))  # type: ignore[arg-type]

    assert find(store_id="spb-001") == ["spb-001/A_1"]
    assert find(receipt_id="A-") == ["msk-001/A-200", "msk-001/A-100"]
    # the prefix is found in any case, on both databases (PostgreSQL's LIKE is case-sensitive)
    assert find(receipt_id="a-") == ["msk-001/A-200", "msk-001/A-100"]
    # LIKE wildcards are taken literally: "A_" is not "A" + any character
    assert find(receipt_id="A_") == ["spb-001/A_1"]
    assert find(receipt_id="%") == []
    assert find(status="cancelled") == ["msk-001/A-200"]
    assert find(since=NOON + timedelta(days=1), until=NOON + timedelta(days=2)) == \
        ["msk-001/A-200"]
    assert find(member=member) == ["msk-001/A-200", "spb-001/A_1", "msk-001/A-100"]
    returned = kopilka.receipts_search(ReceiptQuery(receipt_id="A-100"))["items"][0]
    assert returned["returns"] == 1


def test_the_member_is_found_by_phone_card_or_id_even_with_a_blocked_card(
        kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    other = enrol(kopilka)
    kopilka.confirm(receipt("mine", member))
    kopilka.confirm(receipt("theirs", other))
    phone = kopilka.member(member)["phone"]
    card = kopilka.issue_card(member).body["number"]
    kopilka.block_card(member, card)
    national = "8 " + phone[2:5] + " " + phone[5:8] + "-" + phone[8:10] + "-" + phone[10:]
    for reference in (member, member.upper(), phone, national, card):
        found = kopilka.receipts_search(ReceiptQuery(member=reference))
        assert ids(found) == ["msk-001/mine"], reference
        assert found["member_found"] is True
    nobody = kopilka.receipts_search(ReceiptQuery(member="+79990000000"))
    assert nobody == {"items": [], "next_cursor": None, "member_found": False}


@pytest.mark.parametrize(("query", "limit", "cursor", "code"), [
    (ReceiptQuery(member="not a phone"), 10, None, "invalid_member_reference"),
    (ReceiptQuery(status="lost"), 10, None, "invalid_status"),
    (ReceiptQuery(), 0, None, "invalid_limit"),
    (ReceiptQuery(), 101, None, "invalid_limit"),
    (ReceiptQuery(), 10, "garbage", "invalid_cursor"),
    (ReceiptQuery(store_id="x" * 65), 10, None, "invalid_store_id"),
    (ReceiptQuery(since=NOON, until=NOON), 10, None, "invalid_period"),
])
def test_bad_searches_are_refused(kopilka: Kopilka, query: ReceiptQuery, limit: int,
                                  cursor: str | None, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        kopilka.receipts_search(query, limit=limit, cursor=cursor)
    assert refused.value.code == code


def test_the_detail_names_lines_and_tracks_what_is_left_to_return(kopilka: Kopilka) -> None:
    apply(kopilka)
    member = enrol(kopilka)
    kopilka.confirm(receipt("r-1", member, line("1", "100.00", "3"), line("2", "50.00")))
    kopilka.return_receipt("msk-001", "r-1", "back-1", [("1", Decimal("2"))])
    before = row_counts(kopilka)
    detail = kopilka.receipt_detail("msk-001", "r-1")
    assert row_counts(kopilka) == before
    assert [(x["line_id"], x["sku"], x["quantity"], x["returned"], x["left"])
            for x in detail["lines"]] == [("1", "SKU-1", "3", "2", "1"), ("2", "SKU-2", "1",
                                                                          "0", "1")]
    assert detail["returnable"] is True
    assert [r["return_id"] for r in detail["returns"]] == ["back-1"]
    # 10% of 350.00 = 35 points, 20 of them on the two returned units of line 1
    assert detail["undo"]["accruals"] == [{"rule": "base", "currency": "points", "points": 35,
                                           "withdrawn": 20}]
    kopilka.cancel_receipt("msk-001", "r-1")
    cancelled = kopilka.receipt_detail("msk-001", "r-1")
    assert cancelled["status"] == "cancelled" and cancelled["returnable"] is False
    assert cancelled["undo"]["accruals"][0]["withdrawn"] == 35
