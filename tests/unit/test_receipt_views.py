"""The receipt view formats money as format_money does, whatever it has kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kopilka.app import receipt_views as RV
from kopilka.domain.evaluation import Accrual, Effect, LineResult
from kopilka.domain.points import format_money

AMOUNTS = [0, 1, 5, 99, 100, 101, 123450, -1, -100, -123456, 10**15]


def test_amounts_are_formatted_as_format_money_kept_or_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RV, "_TEXTS", {})
    monkeypatch.setattr(RV, "_TEXTS_LIMIT", 4)  # kept ones are dropped every few amounts
    for _ in range(2):
        assert [RV._money(a) for a in AMOUNTS] == [format_money(a) for a in AMOUNTS]
        assert len(RV._TEXTS) <= 4


def test_lines_and_effects_show_each_amount() -> None:
    line = LineResult("1", 12345, Decimal("1.500"), 18518, 1851, 100, 100, 16567, 16)
    assert RV._lines((line,)) == [{
        "line_id": "1", "unit_price": "123.45", "quantity": "1.500", "amount": "185.18",
        "discount": "18.51", "points_redeemed": 100, "points_redeemed_value": "1.00",
        "total": "165.67", "points_earned": 16}]
    effect = Effect("discount", "d", "10% discount", amount=-5, line_ids=("1",), rule="r")
    assert RV._applied((effect,)) == [{
        "kind": "discount", "code": "d", "name": "10% discount", "amount": "-0.05",
        "points": 0, "line_ids": ["1"], "rule": "r"}]


def test_accrual_dates_are_each_accruals_own() -> None:
    """Accruals sharing date objects, and ones with other or no dates, in any order."""
    day = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    later, equal = day + timedelta(days=30), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    accruals = [Accrual("a", "pts", 1, day, later), Accrual("b", "pts", 2, day, later),
                Accrual("c", "pts", 3, None, later), Accrual("d", "pts", 4, equal, None),
                Accrual("e", "pts", 5, day, None), Accrual("f", "pts", 6, None, None)]
    assert [(a["activates_at"], a["expires_at"]) for a in RV._accruals(tuple(accruals))] == [
        (None if a.activates_at is None else a.activates_at.isoformat(),
         None if a.expires_at is None else a.expires_at.isoformat()) for a in accruals]


def test_equal_dates_in_other_zones_or_folds_are_formatted_their_own_way() -> None:
    """A date's text is reused for an equal date only in the same zone object and fold: the
    same instant in Moscow, or the repeated hour of a DST change, reads differently."""
    from zoneinfo import ZoneInfo

    utc = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    moscow = utc.astimezone(ZoneInfo("Europe/Moscow"))  # == utc, +03:00
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=berlin)  # the repeated hour: +02:00, then
    second = first.replace(fold=1)  # +01:00
    same_utc = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # equal, another object
    dates = [utc, moscow, same_utc, first, second, first]
    accruals = tuple(Accrual(str(i), "pts", 1, d, d) for i, d in enumerate(dates))
    shown = RV._accruals(accruals)
    assert [a["activates_at"] for a in shown] == [d.isoformat() for d in dates]
    assert [a["expires_at"] for a in shown] == [d.isoformat() for d in dates]
    assert shown[1]["activates_at"] != shown[0]["activates_at"]  # the case that matters
    assert shown[4]["activates_at"] != shown[3]["activates_at"]
