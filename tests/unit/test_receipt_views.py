"""The receipt view formats money as format_money does, whatever it has kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kopilka.app import receipt_views as RV
from kopilka.domain.evaluation import Effect, LineResult
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
