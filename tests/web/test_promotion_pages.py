"""The console's promotion pages: list with budget use and filters, detail, create and edit as
YAML with errors at their lines, pause/resume, code batches and their CSV; who may do what,
and the audit of every change. Both databases."""

from __future__ import annotations

import csv
import io
import re

import pytest

from kopilka.entrypoints.web.routes.promotions import NEW_PROMOTION
from tests.e2e.conftest import row_counts
from tests.web.conftest import Web

READERS = ["operator", "accountant", "auditor"]
EDITORS = ["marketer", "admin"]


@pytest.fixture
def promotion(web: Web) -> dict:
    return web.lib.create_promotion({
        "id": "milk-5", "name": "Milk -5%", "priority": 3,
        "reward": {"type": "percent_off", "percent": "5"},
        "limits": {"budget": "1000.00", "count": 40}}).body


@pytest.mark.parametrize("role", READERS + EDITORS)
def test_every_role_sees_the_list_with_budget_use(web: Web, promotion: dict, role: str) -> None:
    page = web.client(role).get("/console/promotions")
    assert page.status_code == 200
    row = re.search(r'<tr data-promotion="milk-5" data-status="active">.*?</tr>', page.text,
                    re.S).group(0)
    assert "Milk -5%" in row and "state-running" in row
    assert '<td class="num">3</td>' in row
    assert "0.00 RUB / 1,000.00 RUB" in row and "0 / 40" in row
    assert ("/console/promotions/new" in page.text) is (role in EDITORS)
    detail = web.client(role).get("/console/promotions/milk-5")
    assert detail.status_code == 200 and "percent: &#39;5&#39;" in detail.text
    assert ('data-testid="pause"' in detail.text) is (role in EDITORS)


def test_the_list_filters_by_status(web: Web, promotion: dict) -> None:
    web.lib.create_promotion({"id": "later", "name": "Later",
                              "reward": {"type": "percent_off", "percent": "1"}},
                             status="paused")
    client = web.client("auditor")
    paused = client.get("/console/promotions?status=paused").text
    assert 'data-promotion="later"' in paused and 'data-promotion="milk-5"' not in paused
    active = client.get("/console/promotions?status=active").text
    assert 'data-promotion="milk-5"' in active and 'data-promotion="later"' not in active


@pytest.mark.parametrize("role", READERS)
def test_a_reader_cannot_change_anything(web: Web, promotion: dict, role: str) -> None:
    client = web.client(role)
    assert client.get("/console/promotions/new").status_code == 403
    assert client.get("/console/promotions/milk-5/codes.csv").status_code == 403
    before = row_counts(web.lib)
    for path, data in [("/console/promotions/new", {"document": NEW_PROMOTION}),
                       ("/console/promotions/milk-5/status", {"status": "paused"}),
                       ("/console/promotions/milk-5/edit", {"document": "id: milk-5"}),
                       ("/console/promotions/milk-5/codes", {"count": "5"})]:
        assert web.post(client, path, data).status_code == 403, path
    assert row_counts(web.lib) == before
    assert web.lib.promotion("milk-5")["status"] == "active"


def test_a_post_without_csrf_is_refused(web: Web, promotion: dict) -> None:
    client = web.client("marketer")
    before = row_counts(web.lib)
    assert client.post("/console/promotions/milk-5/status",
                       data={"status": "paused"}).status_code == 403
    assert row_counts(web.lib) == before


def test_create_shows_errors_at_their_lines_then_creates_and_audits(web: Web) -> None:
    client = web.client("marketer")
    bad = NEW_PROMOTION.replace("percent: '10'", "percent: 10.5")
    line = bad.split("\n").index("  percent: 10.5") + 1
    before = row_counts(web.lib)
    page = web.post(client, "/console/promotions/new", {"document": bad, "status": "paused"})
    assert page.status_code == 422
    assert row_counts(web.lib) == before
    assert f'data-line="{line}" data-where="reward.percent"' in page.text
    assert "floats are inexact" in page.text
    assert f'data-testid="bad-line-{line}"' in page.text
    made = web.post(client, "/console/promotions/new",
                    {"document": NEW_PROMOTION, "status": "paused"})
    assert made.status_code == 303
    assert made.headers["location"] == "/console/promotions/autumn-coffee?saved=1"
    stored = web.lib.promotion("autumn-coffee")
    assert stored["status"] == "paused" and stored["reward"]["percent"] == "10"
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("create_promotion", "promotion", "autumn-coffee")
    assert entry["actor"]["id"] == web.staff_ids["marketer"] and entry["before"] is None
    assert entry["after"]["result"]["name"] == "Autumn coffee -10%"


def test_an_existing_id_is_refused(web: Web, promotion: dict) -> None:
    text = NEW_PROMOTION.replace("id: autumn-coffee", "id: milk-5")
    page = web.post(web.client("admin"), "/console/promotions/new", {"document": text})
    assert page.status_code == 422 and "promotion milk-5 exists" in page.text


def test_pause_and_resume_are_audited_with_before_and_after(web: Web, promotion: dict) -> None:
    client = web.client("marketer")
    paused = web.post(client, "/console/promotions/milk-5/status", {"status": "paused"})
    assert paused.status_code == 303
    assert web.lib.promotion("milk-5")["status"] == "paused"
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_id"]) == ("update_promotion", "milk-5")
    assert entry["before"]["status"] == "active"
    assert entry["after"]["result"]["status"] == "paused"
    page = client.get("/console/promotions/milk-5").text
    assert 'data-testid="resume"' in page and "state-paused" in page
    web.post(client, "/console/promotions/milk-5/status", {"status": "active"})
    assert web.lib.promotion("milk-5")["status"] == "active"


def test_edit_changes_and_removes_fields(web: Web, promotion: dict) -> None:
    client = web.client("admin")
    page = client.get("/console/promotions/milk-5/edit")
    assert "name: Milk -5%" in page.text and "count: 40" in page.text
    text = ("id: milk-5\nname: Milk -7%\npriority: 4\n"
            "reward:\n  type: percent_off\n  percent: '7'\n")  # no limits any more
    saved = web.post(client, "/console/promotions/milk-5/edit", {"document": text})
    assert saved.status_code == 303
    stored = web.lib.promotion("milk-5")
    assert (stored["name"], stored["priority"], stored["reward"]["percent"]) == \
        ("Milk -7%", 4, "7")
    assert "limits" not in stored or not stored["limits"]
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert entry["before"]["document"]["limits"] == {"budget": "1000.00", "count": 40}
    renamed = web.post(client, "/console/promotions/milk-5/edit",
                       {"document": text.replace("id: milk-5", "id: other")})
    assert renamed.status_code == 422 and "id cannot change" in renamed.text


def test_codes_are_generated_audited_and_downloaded_as_csv(web: Web, promotion: dict) -> None:
    client = web.client("marketer")
    made = web.post(client, "/console/promotions/milk-5/codes", {"count": "25",
                                                                 "prefix": "MLK-"})
    assert made.status_code == 303
    batch = made.headers["location"].split("batch=")[1]
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("generate_codes", "promotion", "milk-5")
    assert entry["after"]["result"]["batch_id"] == batch
    page = client.get(made.headers["location"]).text
    assert 'data-testid="new-batch"' in page and f"<code>{batch}</code>" in page
    assert "25 codes, used 0 times." in page
    download = client.get(f"/console/promotions/milk-5/codes.csv?batch_id={batch}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 25 and len({r["code"] for r in rows}) == 25
    assert all(r["code"].startswith("MLK-") and r["batch_id"] == batch for r in rows)


def test_a_batch_out_of_range_is_refused_and_writes_nothing(web: Web, promotion: dict) -> None:
    client = web.client("admin")
    before = row_counts(web.lib)
    for count in ("0", "10001", "lots"):
        page = web.post(client, "/console/promotions/milk-5/codes", {"count": count})
        assert page.status_code == 422
        assert "The number of codes must be between 1 and 10000." in page.text
    assert row_counts(web.lib) == before


def test_an_unknown_promotion_is_not_found(web: Web) -> None:
    assert web.client("auditor").get("/console/promotions/nope").status_code == 404
