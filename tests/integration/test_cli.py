"""The command line: init, apikey create, demo, verify (which fails loudly on a broken ledger)."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from kopilka.adapters.sql.engine import make_engine
from kopilka.config import get_settings
from kopilka.entrypoints.cli.main import app

runner = CliRunner()


def _run(monkeypatch, url: str, *args: str):  # noqa: ANN001, ANN202
    monkeypatch.setenv("KOPILKA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def test_init_demo_verify_and_apikey(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    assert _run(monkeypatch, db_url, "init").exit_code == 0
    demo = _run(monkeypatch, db_url, "demo", "--members", "15", "--seed", "3")
    assert demo.exit_code == 0, demo.output
    assert "kp_" in demo.output
    again = _run(monkeypatch, db_url, "demo", "--members", "15", "--if-empty")
    assert again.exit_code == 0 and "skipping" in again.output
    verified = _run(monkeypatch, db_url, "verify")
    assert verified.exit_code == 0, verified.output
    assert "every invariant holds" in verified.output
    key = _run(monkeypatch, db_url, "apikey", "create", "--scopes", "pos,members:read")
    assert key.exit_code == 0 and key.output.strip().startswith("kp_")
    bad = _run(monkeypatch, db_url, "apikey", "create", "--scopes", "root")
    assert bad.exit_code == 2 and "invalid_scope" in bad.output
    jobs = _run(monkeypatch, db_url, "jobs", "run")
    assert jobs.exit_code == 0 and "expire_lots" in jobs.output


def test_verify_fails_and_names_the_problem_when_a_balance_is_tampered(
        db_url: str, monkeypatch) -> None:  # noqa: ANN001
    _run(monkeypatch, db_url, "demo", "--members", "5")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE member_balances SET available = available + 7"))
    engine.dispose()
    result = _run(monkeypatch, db_url, "verify")
    assert result.exit_code == 1
    assert "[balances]" in result.output and "problem(s) found" in result.output


def test_currency_add_and_list(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    _run(monkeypatch, db_url, "init")
    added = _run(monkeypatch, db_url, "currency", "add", "stars", "Stars", "--scale", "1",
                 "--unit-value-kopecks", "0")
    assert added.exit_code == 0, added.output
    listed = _run(monkeypatch, db_url, "currency", "list")
    assert "stars" in listed.output and "points" in listed.output
    again = _run(monkeypatch, db_url, "currency", "add", "stars", "Stars")
    assert again.exit_code == 2 and "exists" in again.output


def test_program_apply_show_versions_and_errors(db_url: str, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    _run(monkeypatch, db_url, "init")
    applied = _run(monkeypatch, db_url, "program", "apply", "examples/bonus.yaml")
    assert applied.exit_code == 0, applied.output
    assert "program version 1 stored" in applied.output
    shown = _run(monkeypatch, db_url, "program", "show")
    assert shown.exit_code == 0 and "max_share_percent" in shown.output
    assert "# version 1" in shown.output
    listed = _run(monkeypatch, db_url, "program", "versions")
    assert "Bonus program" in listed.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\neffective_from: 2026-01-01T00:00:00+03:00\npoint_currencies: []\n")
    refused = _run(monkeypatch, db_url, "program", "apply", str(bad))
    assert refused.exit_code == 2
    assert "invalid_program" in refused.output and "point_currencies" in refused.output
    worker = _run(monkeypatch, db_url, "worker", "--rounds", "1", "--interval", "0")
    assert worker.exit_code == 0, worker.output
