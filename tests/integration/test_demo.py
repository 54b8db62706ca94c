"""The demo data: a seeded year of receipts under two program versions that the ledger's
verification accepts."""

from __future__ import annotations

import sqlalchemy as sa

from kopilka.adapters.sql.verify import verify
from kopilka.entrypoints.cli.demo import CATALOGUE, COMPLEMENTS, STORES, generate
from tests.conftest import make_library


def test_catalogue_is_consistent() -> None:
    skus = {p.sku for p in CATALOGUE}
    assert len(skus) == len(CATALOGUE) >= 100
    assert all(p.price > 0 for p in CATALOGUE)
    assert all(key in skus and set(follow) <= skus for key, follow in COMPLEMENTS.items())
    assert any(p.category == "tobacco" and not p.discountable for p in CATALOGUE)


def test_a_year_of_demo_history_verifies(db_url: str) -> None:
    k = make_library(db_url)
    ticks: list[int] = []
    try:
        token = generate(k, members=20, seed=11, advance=lambda: ticks.append(1))
        with k.db.engine.connect() as conn:
            assert verify(conn) == []
            q = conn.exec_driver_sql
            versions = dict(q("SELECT program_version, count(*) FROM receipts "
                              "GROUP BY program_version").all())
            returns = q("SELECT count(*) FROM receipt_returns").scalar_one()
            tiers = {t for (t,) in q("SELECT tier_code FROM members").all() if t}
            balances = [b for (b,) in q("SELECT available FROM member_balances").all()]
            stores = q("SELECT count(*) FROM stores").scalar_one()
            redeemed = q("SELECT count(*) FROM ledger_transactions WHERE code = 'spend' "
                         "OR code = 'capture'").scalar_one()
    finally:
        k.db.dispose()
    assert token.startswith("kp_")
    assert len(ticks) == 20
    assert stores >= len(STORES)
    assert len(versions) >= 2 and all(n > 0 for n in versions.values())
    assert sum(versions.values()) > 100
    assert returns > 0
    assert redeemed > 0
    assert len(tiers) >= 2
    assert len(set(balances)) >= 5


def test_demo_is_seeded(db_url: str, tmp_path) -> None:  # noqa: ANN001
    """The same seed gives the same people."""
    if not db_url.startswith("sqlite"):
        return  # one database kind is enough for this
    phones = []
    for name in ("a", "b"):
        k = make_library(f"sqlite:///{tmp_path / name}.db")
        try:
            generate(k, members=3, seed=5, advance=lambda: None)
            with k.db.engine.connect() as conn:
                phones.append(sorted(r[0] for r in conn.execute(sa.text(
                    "SELECT phone FROM members")).all()))
        finally:
            k.db.dispose()
    assert phones[0] == phones[1] and len(phones[0]) == 3
