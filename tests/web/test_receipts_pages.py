"""The receipts pages on both databases: search, the receipt, cancel and return as each role
may (or may not), every change audited with before and after, errors at the form (4xx)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kopilka.entrypoints.web.routes import receipts as receipt_pages
from tests.e2e.conftest import row_counts
from tests.integration.test_till_flow import apply, enrol, line, receipt
from tests.web.conftest import SignedIn, Web

PAGE = "/console/receipts/msk-001/r-1"
TOKEN = re.compile(r'name="return_token" value="([^"]+)"')
READERS = ("accountant", "auditor", "marketer")


@pytest.fixture
def shop(web: Web) -> dict[str, str]:
    """A program, a member and two confirmed receipts: r-1 (3 x 100.00 + 50.00), r-2."""
    apply(web.lib)
    member = enrol(web.lib)
    web.lib.confirm(receipt("r-1", member, line("1", "100.00", "3"), line("2", "50.00")))
    web.lib.confirm(receipt("r-2", member, line("1", "20.00")))
    return {"member": member, "phone": web.lib.member(member)["phone"]}


def rows(html: str) -> list[str]:
    return re.findall(r'data-receipt="([^"]+)"', html)


def token_of(client: SignedIn, path: str = PAGE) -> str:
    return TOKEN.search(client.get(path).text).group(1)  # type: ignore[union-attr]


def test_the_list_finds_receipts_by_member_phone_status_and_receipt_number(
        web: Web, shop: dict[str, str]) -> None:
    client = web.client("operator")
    assert rows(client.get("/console/receipts").text) == ["msk-001/r-2", "msk-001/r-1"]
    found = client.get("/console/receipts", params={"member": shop["phone"]})
    assert rows(found.text) == ["msk-001/r-2", "msk-001/r-1"]
    assert f'href="/console/members/{shop["member"]}"' in found.text
    assert rows(client.get("/console/receipts", params={"receipt": "r-1"}).text) == \
        ["msk-001/r-1"]
    assert rows(client.get("/console/receipts", params={"status": "cancelled"}).text) == []
    assert rows(client.get("/console/receipts",
                           params={"from": "2026-03-01", "to": "2026-03-01"}).text) == \
        ["msk-001/r-2", "msk-001/r-1"]
    assert rows(client.get("/console/receipts", params={"from": "2026-03-02"}).text) == []
    nobody = client.get("/console/receipts", params={"member": "+79990000000"})
    assert nobody.status_code == 200 and "No member matches" in nobody.text


def test_bad_filters_are_explained_not_crashed(web: Web, shop: dict[str, str]) -> None:
    client = web.client("accountant")
    for params, text in (({"member": "who?"}, "Give the member as a member id"),
                         ({"from": "01.03.2026"}, "Dates are YYYY-MM-DD."),
                         ({"from": "2026-03-02", "to": "2026-03-01"},
                          "The period ends before it starts."),
                         ({"cursor": "nonsense"}, "bad receipt cursor")):
        response = client.get("/console/receipts", params=params)
        assert response.status_code == 422, params
        assert text in response.text


def test_older_receipts_come_in_keyset_pages(web: Web, shop: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipt_pages, "PAGE_SIZE", 1)
    client = web.client("auditor")
    first = client.get("/console/receipts", params={"member": shop["member"]})
    assert rows(first.text) == ["msk-001/r-2"]
    older = re.search(r'href="([^"]+)" data-testid="receipts-older"', first.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert rows(second.text) == ["msk-001/r-1"]
    assert 'data-testid="receipts-older"' not in second.text


def test_the_receipt_shows_lines_totals_member_effects_and_returns(
        web: Web, shop: dict[str, str]) -> None:
    web.lib.return_receipt("msk-001", "r-1", "first", [("1", Decimal("1"))])
    page = web.client("accountant").get(PAGE)
    assert page.status_code == 200
    text = page.text
    assert 'data-status="confirmed"' in text
    assert f'href="/console/members/{shop["member"]}"' in text
    assert "SKU-1" in text and "SKU-2" in text
    assert '<dd data-testid="total-payable">350.00 RUB</dd>' in text
    assert 'data-kind="points_earned"' in text  # the earn rule's effect, with its rule
    assert "<code>first</code>" in text  # the return
    assert 'data-testid="return-form"' not in text and 'data-testid="cancel-form"' not in text
    assert web.client("admin").get("/console/receipts/msk-001/nope").status_code == 404


@pytest.mark.parametrize("role", READERS)
def test_readers_see_receipts_but_cannot_cancel_or_return(web: Web, shop: dict[str, str],
                                                          role: str) -> None:
    client = web.client(role)
    assert client.get("/console/receipts").status_code == 200
    assert client.get(PAGE).status_code == 200
    before = row_counts(web.lib)
    cancel = web.post(client, PAGE + "/cancel")
    give_back = web.post(client, PAGE + "/return", {"return_token": "x" * 20, "qty-1": "1"})
    assert (cancel.status_code, give_back.status_code) == (403, 403)
    assert row_counts(web.lib) == before
    assert web.lib.receipt("msk-001", "r-1")["status"] == "confirmed"


def test_posts_without_the_csrf_token_are_refused(web: Web, shop: dict[str, str]) -> None:
    client = web.client("operator")
    before = row_counts(web.lib)
    assert client.post(PAGE + "/cancel", data={}).status_code == 403
    assert client.post(PAGE + "/return", data={"return_token": token_of(client),
                                               "qty-1": "1"}).status_code == 403
    assert client.post(PAGE + "/cancel", data={"csrf_token": "forged"}).status_code == 403
    assert row_counts(web.lib) == before


def test_an_operator_cancels_a_receipt_and_the_audit_log_has_before_and_after(
        web: Web, shop: dict[str, str]) -> None:
    client = web.client("operator")
    page = client.get(PAGE).text
    assert 'data-confirm="Cancel receipt r-1?' in page
    response = web.post(client, PAGE + "/cancel")
    assert response.status_code == 303
    assert response.headers["location"] == PAGE + "?done=cancelled"
    assert web.lib.receipt("msk-001", "r-1")["status"] == "cancelled"
    assert web.lib.balance(shop["member"])["available"] == 2  # r-2's 10% of 20.00 stays
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("cancel_receipt", "receipt", "msk-001/r-1")
    assert (entry["actor"]["id"], entry["actor"]["role"]) == \
        (web.staff_ids["operator"], "operator")
    assert entry["before"] == {"status": "confirmed"}
    assert entry["after"]["result"]["status"] == "cancelled"
    shown = client.get(PAGE + "?done=cancelled").text
    assert 'data-status="cancelled"' in shown and 'data-testid="done"' in shown
    assert 'data-testid="cancel-form"' not in shown and 'data-testid="return-form"' not in shown


def test_cancelling_twice_is_refused_at_the_form_and_writes_nothing(
        web: Web, shop: dict[str, str]) -> None:
    client = web.client("admin")
    assert web.post(client, PAGE + "/cancel").status_code == 303
    before = row_counts(web.lib)
    again = web.post(client, PAGE + "/cancel")
    assert again.status_code == 409
    assert 'data-testid="cancel-error" data-code="already_cancelled"' in again.text
    assert "This receipt is already cancelled." in again.text
    assert row_counts(web.lib) == before


def test_an_operator_returns_one_line_once_even_if_the_form_is_sent_twice(
        web: Web, shop: dict[str, str]) -> None:
    client = web.client("operator")
    token = token_of(client)
    form = {"return_token": token, "qty-1": "2", "qty-2": ""}
    first = web.post(client, PAGE + "/return", form)
    assert first.status_code == 303
    assert first.headers["location"] == PAGE + f"?done=returned&return_id=web-{token}"
    counts = row_counts(web.lib)
    again = web.post(client, PAGE + "/return", form)  # a double click
    assert again.status_code == 303
    assert row_counts(web.lib) == counts
    detail = web.lib.receipt_detail("msk-001", "r-1")
    assert [r["return_id"] for r in detail["returns"]] == [f"web-{token}"]
    assert [(x["line_id"], x["left"]) for x in detail["lines"]] == [("1", "1"), ("2", "1")]
    entry = web.lib.audit_log(limit=1, action="return")["items"][0]
    assert entry["object_id"] == "msk-001/r-1" and entry["before"] == {"status": "confirmed"}
    assert entry["actor"]["id"] == web.staff_ids["operator"]
    assert entry["after"]["request"][3] == [["1", "2"]]
    page = client.get(first.headers["location"]).text
    assert 'data-testid="new-return"' in page and 'data-testid="done"' in page


@pytest.mark.parametrize(("form", "status", "code"), [
    ({"qty-1": "4"}, 422, "return_exceeds_receipt"),
    ({"qty-1": "", "qty-2": "0"}, 422, "nothing_to_return"),
    ({"qty-1": "one"}, 422, "invalid_quantity"),
    ({"qty-1": "-1"}, 422, "invalid_quantity"),
    ({"qty-9": "1"}, 422, "unknown_line"),
])
def test_bad_returns_are_refused_at_the_form_and_write_nothing(
        web: Web, shop: dict[str, str], form: dict[str, str], status: int, code: str) -> None:
    client = web.client("operator")
    before = row_counts(web.lib)
    response = web.post(client, PAGE + "/return", {"return_token": token_of(client), **form})
    assert response.status_code == status
    assert f'data-testid="return-error" data-code="{code}"' in response.text
    assert row_counts(web.lib) == before


def test_a_return_needs_the_forms_token_and_a_confirmed_receipt(
        web: Web, shop: dict[str, str]) -> None:
    client = web.client("operator")
    before = row_counts(web.lib)
    missing = web.post(client, PAGE + "/return", {"qty-1": "1"})
    assert missing.status_code == 422 and "invalid_return_token" in missing.text
    assert row_counts(web.lib) == before
    token = token_of(client)
    web.lib.cancel_receipt("msk-001", "r-1")
    late = web.post(client, PAGE + "/return", {"return_token": token, "qty-1": "1"})
    assert late.status_code == 409
    assert "This receipt is cancelled: it takes no returns." in late.text
    more = web.post(client, PAGE + "/return", {"return_token": token, "qty-1": "1"})
    assert more.status_code == 409
