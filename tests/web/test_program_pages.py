"""The console's program pages: the version in force, history and schedule; the editor with
errors at their lines; saving (audited) and scheduling; the preview under a draft, which
writes nothing. Both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kopilka.app.members import Enrolment
from kopilka.app.program_document import parse_program
from kopilka.entrypoints.web.routes.document_editor import local_minute
from tests.e2e.conftest import row_counts
from tests.web.conftest import Web

PROGRAM = """\
name: Test program
effective_from: 2026-01-01T00:00:00+03:00
point_currencies:
  - {code: points, name: Points, value: "1.00"}
earn:
  - id: base
    percent: "5"
    pending_days: 0
    expiry: {after_days: 180}
burn:
  id: pay
  max_share_percent: "30"
discount:
  id: discount
  percent: "0"
tiers:
  id: tiers
  measure: spend
  levels:
    - {code: base, name: Base, threshold: "0.00"}
    - {code: gold, name: Gold, threshold: "10000.00", discount_percent: "10"}
"""
READERS = ["operator", "accountant", "auditor"]
EDITORS = ["marketer", "admin"]


@pytest.fixture
def program(web: Web) -> dict:
    return web.lib.apply_program(parse_program(PROGRAM), author="setup").body


def _draft(percent: str = "5") -> str:
    return PROGRAM.replace('percent: "5"', f'percent: "{percent}"')


def _save(web: Web, client, text: str, **extra) -> object:  # noqa: ANN001
    return web.post(client, "/console/program/edit",
                    {"document": text, "action": "save", **extra})


@pytest.mark.parametrize("role", READERS + EDITORS)
def test_every_role_sees_the_version_in_force_readably(web: Web, program: dict,
                                                       role: str) -> None:
    page = web.client(role).get("/console/program")
    assert page.status_code == 200
    html = page.text
    assert "In force: version 1" in html and "Test program" in html
    assert re.search(r"Gold <code>gold</code></td><td class=\"num\">10,000.00 RUB</td>"
                     r"<td class=\"num\">10%</td>", html)
    assert "<code>base</code>" in html and "180 days after earning" in html
    assert "At most 30% of a receipt" in html
    assert 'data-version="1" data-state="in_force"' in html
    assert ("/console/program/edit" in html) is (role in EDITORS)
    version = web.client(role).get("/console/program/versions/1")
    assert version.status_code == 200 and "max_share_percent: &#39;30&#39;" in version.text


@pytest.mark.parametrize("role", READERS)
def test_a_reader_cannot_edit_or_save_and_nothing_is_written(web: Web, program: dict,
                                                             role: str) -> None:
    client = web.client(role)
    assert client.get("/console/program/edit").status_code == 403
    assert client.get("/console/program/preview").status_code == 403
    before = row_counts(web.lib)
    refused = _save(web, client, _draft("7"))
    assert refused.status_code == 403
    assert row_counts(web.lib) == before
    assert len(web.lib.program_versions()) == 1


def test_the_editor_is_prefilled_with_the_document_in_force(web: Web, program: dict) -> None:
    page = web.client("marketer").get("/console/program/edit")
    assert page.status_code == 200
    assert "name: Test program" in page.text
    assert 'name="f_earn_percent" value="5"' in page.text
    assert 'data-testid="tier-gold-threshold" inputmode="decimal"' in page.text \
        or 'value="10000.00"' in page.text
    assert f'value="{local_minute(web.clock.now())}"' in page.text  # effective from: now


def test_a_validation_error_is_shown_at_its_line_and_nothing_is_written(web: Web,
                                                                        program: dict) -> None:
    client = web.client("marketer")
    text = PROGRAM.replace('max_share_percent: "30"', 'max_share_percent: "130"')
    line = text.split("\n").index('  max_share_percent: "130"') + 1
    before = row_counts(web.lib)
    page = _save(web, client, text)
    assert page.status_code == 422
    assert row_counts(web.lib) == before
    html = page.text
    assert f'data-line="{line}" data-where="burn.max_share_percent"' in html
    assert "must be between 0 and 100" in html
    assert f'data-testid="bad-line-{line}"' in html  # the line is highlighted in the editor
    assert f'data-bad-lines="{line}"' in html
    assert f'{line} |   max_share_percent: &#34;130&#34;' in html  # the line quoted
    assert "max_share_percent: &#34;130&#34;" in html  # the text is kept as typed


def test_a_yaml_syntax_error_names_its_line(web: Web, program: dict) -> None:
    text = PROGRAM.replace("  id: pay\n", "  id: pay\n   oops: [\n")
    page = _save(web, web.client("admin"), text)
    assert page.status_code == 422
    assert "YAML syntax error at line" in page.text
    assert re.search(r'data-line="(\d+)" data-where=""', page.text)


def test_the_small_form_writes_its_fields_into_the_yaml_without_saving(web: Web,
                                                                       program: dict) -> None:
    client = web.client("marketer")
    page = web.post(client, "/console/program/edit", {
        "document": PROGRAM, "action": "fields", "f_name": "Autumn program",
        "f_earn_percent": "7.5", "f_tier_1_threshold": "12000.00",
        "f_tier_1_discount_percent": "12"})
    assert page.status_code == 200
    assert "The fields are written into the YAML. Nothing is saved yet." in page.text
    assert "name: Autumn program" in page.text
    assert "percent: &#39;7.5&#39;" in page.text
    assert "threshold: &#39;12000.00&#39;" in page.text
    assert len(web.lib.program_versions()) == 1


def test_a_field_error_is_shown_at_the_field(web: Web, program: dict) -> None:
    page = web.post(web.client("marketer"), "/console/program/edit", {
        "document": PROGRAM, "action": "fields", "f_burn_share": "abc"})
    assert page.status_code == 422  # the fields were written, the document is refused
    assert re.search(r'name="f_burn_share" value="abc" aria-invalid="true"[^>]*>\s*'
                     r'<small class="field-error">must be a decimal string', page.text)


def test_a_valid_edit_in_the_future_is_scheduled_and_audited(web: Web, program: dict) -> None:
    client = web.client("marketer")
    later = web.clock.now() + timedelta(days=10)
    saved = _save(web, client, _draft("7"), effective_from=local_minute(later))
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/program?saved=2"
    assert web.lib.program()["version"] == 1  # still in force until then
    assert web.lib.program(later + timedelta(minutes=1))["version"] == 2
    page = client.get(saved.headers["location"])
    assert "Version 2 saved." in page.text and "In force: version 1" in page.text
    assert 'data-testid="scheduled"' in page.text
    assert 'data-version="2" data-state="scheduled"' in page.text
    assert "Test marketer" in page.text  # the author
    entry = web.lib.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("apply_program", "program", "2")
    assert entry["actor"]["id"] == web.staff_ids["marketer"]
    assert entry["before"]["version"] == 1
    assert entry["before"]["document"]["earn"][0]["percent"] == "5"
    assert entry["after"]["result"]["document"]["earn"][0]["percent"] == "7"
    web.clock.advance(days=11)
    after = web.client("auditor").get("/console/program").text  # (sessions end meanwhile)
    assert 'data-version="2" data-state="in_force"' in after and "In force: version 2" in after


def test_saving_with_effective_from_in_the_past_is_refused(web: Web, program: dict) -> None:
    client = web.client("admin")
    before = row_counts(web.lib)
    page = _save(web, client, _draft("7"),
                 effective_from=local_minute(web.clock.now() - timedelta(days=1)))
    assert page.status_code == 422
    assert "Effective from must not be in the past." in page.text
    assert row_counts(web.lib) == before


def test_saving_now_puts_the_version_in_force(web: Web, program: dict) -> None:
    assert _save(web, web.client("admin"), _draft("6")).status_code == 303
    current = web.lib.program()
    assert current["version"] == 2 and current["created_by"] == "Test admin"
    assert current["document"]["earn"][0]["percent"] == "6"


def test_the_first_version_can_be_written_in_the_console(web: Web) -> None:
    client = web.client("admin")
    assert "No program version is in force yet." in client.get("/console/program").text
    assert _save(web, client, PROGRAM).status_code == 303
    assert web.lib.program()["version"] == 1


# --- preview --------------------------------------------------------------------------------

RECEIPT = {"sku": ["milk", "cake"], "category": ["dairy", "sweets"],
           "price": ["100.00", "300.00"], "quantity": ["2", "1"]}


def test_a_preview_under_a_draft_names_its_rules_and_writes_nothing(web: Web,
                                                                    program: dict) -> None:
    member = web.lib.enrol(Enrolment(phone="+79001234567",
                                     consents={"personal_data": True})).body
    web.lib.earn(member["member_id"], 200)
    client = web.client("marketer")
    before = row_counts(web.lib)
    page = web.post(client, "/console/program/preview", {
        **RECEIPT, "program": "draft", "document": _draft("10"), "member": "+7 900 123-45-67",
        "redeem_points": "50", "channel": "offline", "store_id": "msk-1"})
    assert page.status_code == 200, page.text[:3000]
    assert row_counts(web.lib) == before
    html = page.text
    assert 'data-testid="preview-result"' in html and ">draft<" in html
    assert 'data-rule="base"' in html and 'data-rule="pay"' in html  # earn and burn rules
    assert 'data-testid="total-payable">450.00 RUB' in html  # 500 - 50 points
    assert 'data-testid="points-earned">45<' in html  # 10% of 450 (the draft's rate)
    in_force = web.post(client, "/console/program/preview", {
        **RECEIPT, "program": "in_force", "member": "+79001234567", "redeem_points": "50"})
    assert 'data-testid="points-earned">22<' in in_force.text  # 5% of 450 in force
    assert row_counts(web.lib) == before


def test_a_pasted_calculate_request_is_previewed(web: Web, program: dict) -> None:
    body = ('{"store_id": "s1", "channel": "online", "lines": [{"line_id": "a", '
            '"sku": "x", "quantity": "3", "unit_price": "1000.00"}]}')
    page = web.post(web.client("admin"), "/console/program/preview",
                    {"program": "in_force", "receipt_json": body})
    assert page.status_code == 200
    assert 'data-testid="total-payable">3,000.00 RUB' in page.text
    assert "version 1" in page.text


def test_a_bad_receipt_or_draft_is_explained(web: Web, program: dict) -> None:
    client = web.client("marketer")
    bad_json = web.post(client, "/console/program/preview",
                        {"program": "in_force", "receipt_json": '{"lines": [}'})
    assert bad_json.status_code == 422 and "line 1" in bad_json.text \
        and "Expecting value" in bad_json.text
    bad_price = web.post(client, "/console/program/preview",
                         {**RECEIPT, "price": ["1.234", "1"], "program": "in_force"})
    assert bad_price.status_code == 422 and "<code>lines.0.unit_price</code>" in bad_price.text
    bad_draft = web.post(client, "/console/program/preview",
                         {**RECEIPT, "program": "draft",
                          "document": _draft("5").replace('"30"', '"300"')})
    assert bad_draft.status_code == 422 and 'data-where="burn.max_share_percent"' in \
        bad_draft.text


def test_the_editor_opens_the_preview_with_its_draft(web: Web, program: dict) -> None:
    page = web.post(web.client("marketer"), "/console/program/preview",
                    {"action": "open_preview", "document": _draft("9")})
    assert page.status_code == 200
    assert 'value="draft" checked' in page.text and "percent: &#34;9&#34;" in page.text
