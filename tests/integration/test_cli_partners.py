"""`kopilka partners`: add, add-store, list, and settle with a CSV for an accounting system."""

from __future__ import annotations

from datetime import UTC, datetime

from kopilka.app.library import Caller
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from tests.conftest import make_library
from tests.integration.test_cli import _run

PROGRAM = """\
name: Coalition
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
burn: {id: pay}
coalition: {default_rate: "0.50"}
"""


def test_partners_add_list_and_settle_with_a_csv(db_url: str, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    assert _run(monkeypatch, db_url, "init").exit_code == 0
    for partner, name in (("a", "Brand A"), ("b", "Бренд Б")):
        added = _run(monkeypatch, db_url, "partners", "add", partner, name)
        assert added.exit_code == 0, added.output
    store = _run(monkeypatch, db_url, "partners", "add-store", "b", "b-1", "Store B1")
    assert store.exit_code == 0, store.output
    again = _run(monkeypatch, db_url, "partners", "add", "a", "Again")
    assert again.exit_code == 2 and "partner_exists" in again.output
    listed = _run(monkeypatch, db_url, "partners", "list")
    assert listed.exit_code == 0 and "Brand A" in listed.output and "b-1" in listed.output

    k = make_library(db_url, FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    try:
        k.apply_program(parse_program(PROGRAM))
        member = k.enrol(Enrolment(phone="+79160000001", consents={"personal_data": True}),
                         caller=Caller(partner_id="a")).body["member_id"]
        k.earn(member, 100, caller=Caller(partner_id="a"))
        k.spend(member, 41, caller=Caller(partner_id="b"))
    finally:
        k.db.dispose()

    out = tmp_path / "settlement.csv"
    settled = _run(monkeypatch, db_url, "partners", "settle", "--from", "2026-03-01",
                   "--to", "2026-04-01", "--csv", str(out))
    assert settled.exit_code == 0, settled.output
    assert "20.50" in settled.output and "-20.50" in settled.output
    period = "2026-03-01T00:00:00+03:00;2026-04-01T00:00:00+03:00"  # the program's zone
    assert out.read_bytes() == (
        "\ufeffperiod_from;period_to;row;payer_id;payer_name;payee_id;payee_name;"
        "point_currency;points;rate;amount;money_currency\r\n"
        f"{period};gross;a;Brand A;b;Бренд Б;points;41;0.50;20.50;RUB\r\n"
        f"{period};net;a;Brand A;b;Бренд Б;;;;20.50;RUB\r\n").encode()
    bad = _run(monkeypatch, db_url, "partners", "settle", "--from", "March", "--to",
               "2026-04-01")
    assert bad.exit_code == 2 and "validation_error" in bad.output and "from" in bad.output
