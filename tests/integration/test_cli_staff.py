"""`kopilka staff create|list`: accounts for the console, audited; weak passwords refused;
`kopilka demo` makes one account per role and refuses to run in production."""

from __future__ import annotations

from kopilka.bootstrap import build
from kopilka.config import Settings
from tests.integration.test_cli import _run


def test_staff_create_then_sign_in_and_the_audit_names_the_command_line(
        db_url: str, monkeypatch) -> None:  # noqa: ANN001
    assert _run(monkeypatch, db_url, "init").exit_code == 0
    monkeypatch.setenv("KOPILKA_STAFF_PASSWORD", "a long enough phrase")
    made = _run(monkeypatch, db_url, "staff", "create", "Anna.Petrova", "--role", "operator",
                "--name", "Anna Petrova")
    assert made.exit_code == 0, made.output
    assert "anna.petrova" in made.output and "operator" in made.output
    listed = _run(monkeypatch, db_url, "staff", "list")
    assert "anna.petrova" in listed.output and "Anna Petrova" in listed.output
    lib = build(Settings(database_url=db_url, env="test"))
    try:
        opened = lib.sign_in_staff("anna.petrova", "a long enough phrase", address="cli-test")
        assert opened.session.role == "operator"
        created = lib.audit_log(action="staff_create")["items"][0]
        assert created["actor"] == {"kind": "system", "id": "cli", "name": "command line",
                                    "role": None}
        assert "a long enough phrase" not in lib.audit_csv()
    finally:
        lib.db.dispose()


def test_staff_create_refuses_a_weak_password_and_an_unknown_role(
        db_url: str, monkeypatch) -> None:  # noqa: ANN001
    _run(monkeypatch, db_url, "init")
    monkeypatch.setenv("KOPILKA_STAFF_PASSWORD", "short")
    weak = _run(monkeypatch, db_url, "staff", "create", "ivan", "--role", "admin")
    assert weak.exit_code == 2 and "weak_password" in weak.output
    monkeypatch.setenv("KOPILKA_STAFF_PASSWORD", "a long enough phrase")
    role = _run(monkeypatch, db_url, "staff", "create", "ivan", "--role", "boss")
    assert role.exit_code == 2
    assert "ivan" not in _run(monkeypatch, db_url, "staff", "list").output


def test_demo_refuses_production(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("KOPILKA_ENV", "prod")
    monkeypatch.setenv("KOPILKA_SECRET_KEY", "a real secret for this test")
    refused = _run(monkeypatch, db_url, "demo", "--members", "3")
    assert refused.exit_code == 2 and "not for production" in refused.output


def test_demo_makes_one_console_account_per_role(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    demo = _run(monkeypatch, db_url, "demo", "--members", "3")
    assert demo.exit_code == 0, demo.output
    assert "kopilka-demo-2026" in demo.output
    lib = build(Settings(database_url=db_url, env="test"))
    try:
        assert {(s["login"], s["role"]) for s in lib.staff_members()} == {
            (r, r) for r in ("admin", "marketer", "operator", "accountant", "auditor")}
    finally:
        lib.db.dispose()
