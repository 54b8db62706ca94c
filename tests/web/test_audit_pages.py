"""The audit log page and its CSV on both databases: who may see it, filters, keyset pages,
the readable before -> after of each entry; and the difference function itself."""

from __future__ import annotations

import csv
import io
import re

import pytest

from kopilka.entrypoints.web.routes import audit as audit_pages
from kopilka.entrypoints.web.routes.audit_diff import MAX_ROWS, Change, changes, entry_diff
from tests.integration.test_till_flow import apply, enrol, receipt
from tests.web.conftest import Web


def actions(html: str) -> list[str]:
    return re.findall(r'data-action="([^"]+)"', html)


@pytest.fixture
def history(web: Web) -> Web:
    """Signed-in staff, a staff account change and a receipt cancelled by the operator."""
    apply(web.lib)
    web.lib.confirm(receipt("r-1", enrol(web.lib)))
    operator = web.client("operator")
    web.post(operator, "/console/receipts/msk-001/r-1/cancel")
    admin = web.client("admin")
    web.post(admin, f"/console/staff/{web.staff_ids['marketer']}/role", {"role": "accountant"})
    return web


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_auditors_and_admins_read_the_log_newest_first(history: Web, role: str) -> None:
    page = history.client(role).get("/console/audit")
    assert page.status_code == 200
    shown = actions(page.text)
    assert shown[0] == "sign_in"  # this very reader's sign-in is the newest
    assert shown[1:4] == ["staff_update", "sign_in", "cancel_receipt"]


@pytest.mark.parametrize("role", ["operator", "marketer", "accountant"])
def test_other_roles_may_not_read_or_export_the_log(history: Web, role: str) -> None:
    client = history.client(role)
    assert client.get("/console/audit").status_code == 403
    export = client.get("/console/audit.csv")
    assert export.status_code == 403 and "text/csv" not in export.headers["content-type"]


def test_filters_by_action_person_object_and_days(history: Web) -> None:
    client = history.client("auditor")
    cancels = client.get("/console/audit", params={"action": "cancel_receipt"}).text
    assert actions(cancels) == ["cancel_receipt"]
    by_operator = client.get("/console/audit",
                             params={"actor": history.staff_ids["operator"]}).text
    assert actions(by_operator) == ["cancel_receipt", "sign_in"]
    receipt_entries = client.get("/console/audit", params={
        "object_type": "receipt", "object_id": "msk-001/r-1"}).text
    assert actions(receipt_entries) == ["cancel_receipt"]
    today = client.get("/console/audit", params={"from": "2026-03-01", "to": "2026-03-01"})
    assert "cancel_receipt" in actions(today.text)
    tomorrow = client.get("/console/audit", params={"from": "2026-03-02"})
    assert actions(tomorrow.text) == [] and "No entries match these filters." in tomorrow.text
    bad = client.get("/console/audit", params={"from": "yesterday"})
    assert bad.status_code == 422 and 'data-testid="filter-error"' in bad.text


def test_an_entry_opens_to_a_readable_difference(history: Web) -> None:
    html = history.client("auditor").get("/console/audit",
                                         params={"action": "cancel_receipt"}).text
    diff = html[html.index('data-testid="audit-diff"'):]
    row = re.search(r"<code>status</code></td>\s*<td class=\"old\">(.*?)</td>\s*"
                    r"<td class=\"new\">(.*?)</td>", diff)
    assert row is not None and row.groups() == ("confirmed", "cancelled")
    staff = history.client("auditor").get("/console/audit",
                                          params={"action": "staff_update"}).text
    row = re.search(r"<code>role</code></td>\s*<td class=\"old\">(.*?)</td>\s*"
                    r"<td class=\"new\">(.*?)</td>", staff)
    assert row is not None and row.groups() == ("marketer", "accountant")


def test_older_entries_come_in_keyset_pages(history: Web,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_pages, "PAGE_SIZE", 2)
    client = history.client("auditor")
    seen, path = [], "/console/audit?object_type=staff"
    while path:
        html = client.get(path).text
        seen += actions(html)
        older = re.search(r'href="([^"]+)" data-testid="audit-older"', html)
        path = older.group(1).replace("&amp;", "&") if older else ""
    # the auditor's, admin's and operator's sign-ins, the role change, five accounts made
    assert seen == ["sign_in", "staff_update", "sign_in", "sign_in"] + ["staff_create"] * 5
    assert seen == [e["action"] for e in history.lib.audit_log(object_type="staff")["items"]]


def test_the_csv_export_is_the_filtered_log_as_a_download(history: Web) -> None:
    response = history.client("auditor").get("/console/audit.csv",
                                              params={"action": "cancel_receipt"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == \
        'attachment; filename="audit-20260301-0900.csv"'
    assert response.content.startswith("\ufeff".encode())  # spreadsheets: this is UTF-8
    table = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(table) == 1
    row = table[0]
    assert (row["action"], row["object_id"], row["actor_role"], row["before"]) == \
        ("cancel_receipt", "msk-001/r-1", "operator", '{"status":"confirmed"}')
    everything = history.client("admin").get("/console/audit.csv").text
    assert len(list(csv.DictReader(io.StringIO(everything.lstrip("\ufeff"))))) == \
        len(history.lib.audit_log(limit=500)["items"])


# --- the difference, without a database ------------------------------------------------------

def test_changes_compare_the_keys_the_before_state_has() -> None:
    before = {"status": "confirmed", "lines": [{"q": "1"}, {"q": "2"}]}
    result = {"status": "cancelled", "lines": [{"q": "1"}], "receipt_key": "k"}
    assert changes(before, result) == [Change("lines.1.q", "2", None),
                                       Change("status", "confirmed", "cancelled")]
    assert changes(None, result) == []
    assert changes({"points": {"available": 5}}, {"operation_id": "x"}) == []
    assert changes([1, 2], [1, 3]) == [Change("1", "2", "3")]


def test_an_entry_lists_what_was_asked_and_stays_bounded() -> None:
    entry = {"before": None, "after": {"request": {"login": "olga", "role": "operator"},
                                       "result": {"staff_id": "s"}}}
    diff = entry_diff(entry)
    assert diff.request == [("login", "olga"), ("role", "operator")] and not diff.changes
    big = {"before": {"doc": {str(i): i for i in range(200)}},
           "after": {"request": None, "result": {"doc": {str(i): i + 1 for i in range(200)}}}}
    bounded = entry_diff(big)
    assert len(bounded.changes) == MAX_ROWS and bounded.hidden == 200 - MAX_ROWS
    long = entry_diff({"before": {"a": "x" * 1000}, "after": {"a": "y"}})
    assert long.changes[0].old is not None and len(long.changes[0].old) == 160
    assert entry_diff({"before": None, "after": None}).empty
