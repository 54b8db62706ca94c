"""The promotion catalogue through the library, on SQLite and PostgreSQL: create, read,
change, pause, partner ownership, promo codes (batches and shared), CSV export, code checks."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from kopilka.app.library import Caller, Kopilka
from kopilka.domain.errors import DomainError

PARTNER_A = Caller(name="a-admin", partner_id="default")
PARTNER_B = Caller(name="b-admin", partner_id="other")


def autumn(**overrides: Any) -> dict[str, Any]:
    return {"id": "autumn10", "name": "Autumn 10%", "priority": 10,
            "reward": {"type": "percent_off", "percent": "10"},
            "limits": {"budget": "500.00", "count": 100}, **overrides}


def test_create_read_change_and_pause(kopilka: Kopilka) -> None:
    created = kopilka.create_promotion(autumn(), caller=PARTNER_A)
    assert created.status == 201
    body = created.body
    assert body["id"] == "autumn10" and body["status"] == "active"
    assert body["used"] == {"amount": "0.00", "points": 0, "count": 0}
    assert body["partner_id"] == "default"

    changed = kopilka.update_promotion("autumn10", {"name": "Autumn 15%", "reward": {
        "type": "percent_off", "percent": "15"}}, caller=PARTNER_A).body
    assert changed["name"] == "Autumn 15%" and changed["reward"]["percent"] == "15"
    assert changed["limits"]["budget"] == "500.00"  # untouched fields stay

    paused = kopilka.update_promotion("autumn10", {"status": "paused"}, caller=PARTNER_A).body
    assert paused["status"] == "paused"
    assert [p["id"] for p in kopilka.promotions(status="paused")["items"]] == ["autumn10"]
    assert kopilka.promotions(status="active")["items"] == []


def test_duplicate_id_conflicts_and_bad_documents_write_nothing(kopilka: Kopilka) -> None:
    kopilka.create_promotion(autumn())
    with pytest.raises(DomainError) as err:
        kopilka.create_promotion(autumn())
    assert err.value.code == "promotion_exists"
    with pytest.raises(DomainError) as err:
        kopilka.create_promotion(autumn(id="broken", reward={"type": "percent_off",
                                                             "percent": "150"}))
    assert err.value.code == "invalid_promotion"
    assert any(e["loc"][:2] == ["reward", "percent"] for e in err.value.extra["errors"])
    assert [p["id"] for p in kopilka.promotions()["items"]] == ["autumn10"]
    with pytest.raises(DomainError) as err:
        kopilka.update_promotion("autumn10", {"id": "renamed"})
    assert err.value.status == 422
    with pytest.raises(DomainError) as err:
        kopilka.update_promotion("autumn10", {"status": "deleted"})
    assert err.value.status == 422


def test_another_partner_cannot_see_or_change_a_promotion(kopilka: Kopilka) -> None:
    kopilka.create_promotion(autumn(), caller=PARTNER_A)
    for call in (lambda: kopilka.promotion("autumn10", caller=PARTNER_B),
                 lambda: kopilka.update_promotion("autumn10", {"status": "paused"},
                                                  caller=PARTNER_B),
                 lambda: kopilka.generate_codes("autumn10", count=1, caller=PARTNER_B)):
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.code == "promotion_not_found"
    assert kopilka.promotion("autumn10")["status"] == "active"


def test_a_batch_of_unique_codes_is_unique_prefixed_and_exported(kopilka: Kopilka) -> None:
    kopilka.create_promotion(autumn(requires_code=True))
    batch = kopilka.generate_codes("autumn10", count=500, prefix="aut-").body
    codes = batch["codes"]
    assert batch["count"] == 500 and len(set(codes)) == 500
    assert all(c.startswith("AUT-") and len(c) == 14 for c in codes)
    rows = list(csv.DictReader(io.StringIO(kopilka.promo_codes_csv("autumn10"))))
    assert sorted(r["code"] for r in rows) == sorted(codes)
    assert {r["kind"] for r in rows} == {"unique"} and {r["max_uses"] for r in rows} == {"1"}
    assert kopilka.promotion("autumn10")["codes"] == {"codes": 500, "uses": 0}
    check = kopilka.check_promo_code(codes[0].lower())
    assert check["valid"] is True and check["promotion_id"] == "autumn10"


def test_shared_code_and_its_checks(kopilka: Kopilka) -> None:
    kopilka.create_promotion(autumn(requires_code=True))
    kopilka.add_promo_code("autumn10", code="autumn", max_uses=10, max_uses_per_member=1)
    with pytest.raises(DomainError) as err:
        kopilka.add_promo_code("autumn10", code="AUTUMN")
    assert err.value.code == "promo_code_exists"
    assert kopilka.check_promo_code("AUTUMN")["valid"] is True
    kopilka.update_promotion("autumn10", {"status": "paused"})
    check = kopilka.check_promo_code("AUTUMN")
    assert check["valid"] is False and check["reason"]["code"] == "promotion_paused"
    with pytest.raises(DomainError) as err:
        kopilka.check_promo_code("NOPE")
    assert err.value.code == "promo_code_not_found"


def test_an_idempotent_create_replays(kopilka: Kopilka) -> None:
    first = kopilka.create_promotion(autumn(), idempotency_key="k1")
    again = kopilka.create_promotion(autumn(), idempotency_key="k1")
    assert again.replayed and again.body == first.body
